//! The operator docs stay true: every `[vars]` entry and secret in
//! wrangler.toml and control.wrangler.toml is documented in
//! docs/configuration.md.
use std::fs;

fn read(path: &str) -> String {
    fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn every_var_and_secret_is_documented() {
    for config in ["wrangler.toml", "control.wrangler.toml"] {
        documented(config);
    }
}

fn documented(config: &str) {
    let toml = read(config);
    let docs = read("docs/configuration.md");
    let vars = toml.split("[vars]").nth(1).expect("wrangler.toml has [vars]");
    let mut names: Vec<&str> = vars
        .lines()
        .take_while(|l| !l.starts_with('['))
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
        .collect();
    let secrets: Vec<&str> = toml
        .lines()
        .filter_map(|l| l.strip_prefix("#   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    assert!(names.len() >= 3 && secrets.len() >= 3, "{config}: parsed {names:?} and {secrets:?}");
    names.extend(secrets);
    for name in names {
        assert!(docs.contains(&format!("| `{name}` |")), "docs/configuration.md does not document {name} ({config})");
    }
}

/// The edge serves the OpenAPI document as a static asset: it must be the
/// repository's contract, byte for byte.
#[test]
fn the_served_openapi_document_is_the_contract() {
    assert_eq!(read("www/_provgate/api/v1/openapi.yaml"), read("docs/openapi.yaml"), "cp docs/openapi.yaml www/_provgate/api/v1/openapi.yaml");
}
