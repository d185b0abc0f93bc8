//! The real `provgate` binary: command line parsing, exit codes, what it
//! reads from the environment and `.dev.vars`, what it sends, and the
//! offline `key mint --emit json` (a KV entry the Worker will accept).
//! Its calls to a real edge are tested end to end (tests/e2e/lifecycle.test.mjs).
use provgate::core::api::summary::Summary;
use provgate::core::{key::ProvisioningKey, lookup::pepper_id, lookup::record_name, record::Status, KeyRecord};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const PEPPER: &str = "0123456789abcdef0123456789abcdef-cli-test";

/// The CLI in an empty directory, with none of its variables inherited.
fn command(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_provgate"));
    cmd.current_dir(dir).stdin(Stdio::null());
    for var in ["PROVGATE_EDGE_URL", "PROVGATE_TOKEN", "PROVGATE_DEV_VARS", "PROVGATE_LOCAL_PORT", "PROVGATE_KEY", "PEPPER", "PEPPER_ID"] {
        cmd.env_remove(var);
    }
    cmd
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("provgate-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn provgate(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = temp_dir("plain");
    command(&dir).args(args).envs(env.iter().copied()).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn emit(args: &[&str]) -> Output {
    let pepper_id = pepper_id(PEPPER.as_bytes());
    let mut all = vec!["key", "mint", "--emit", "json"];
    all.extend_from_slice(args);
    provgate(&all, &[("PEPPER", PEPPER), ("PEPPER_ID", &pepper_id)])
}

#[test]
fn emitted_entry_names_the_keys_hash_and_holds_a_valid_record() {
    let out = emit(&[
        "--label", "Okta prod", "--tenant", "acme", "--scopes", "users:read,groups:write", "--expires", "90d",
        "--rate-per-minute", "120", "--burst", "10", "--allow-ip", "203.0.113.0/24",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let key_text = stderr.lines().find_map(|l| l.strip_prefix("key:")).unwrap().trim();
    let key_id = stderr.lines().find_map(|l| l.strip_prefix("key id:")).unwrap().trim();
    assert!(!stdout.contains(key_text), "the key never goes to the pipeline's stdout");

    let entries: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let key = ProvisioningKey::parse(key_text).ok().expect("minted key parses");
    // The API's write order: the index, the tenant's entry, then the record.
    assert_eq!(entries[0]["key"], format!("id:{key_id}"));
    let index: serde_json::Value = serde_json::from_str(entries[0]["value"].as_str().unwrap()).unwrap();
    assert_eq!(index["record"], entries[2]["key"]);
    assert_eq!(index["pepper"], pepper_id(PEPPER.as_bytes()));
    assert_eq!(entries[1]["key"], format!("tenant:acme:{key_id}"));
    assert_eq!(entries[1]["value"], "");
    assert_eq!(entries[2]["key"], record_name(PEPPER.as_bytes(), &key));
    let record = KeyRecord::decode(entries[2]["value"].as_str().unwrap().as_bytes()).unwrap();
    // Both listing entries carry the summary the API's listing reads.
    let summary = Summary::from_json(&entries[0]["metadata"]).expect("a summary");
    assert_eq!(summary, Summary::of(&record, Some(&pepper_id(PEPPER.as_bytes())), None));
    assert_eq!(entries[1]["metadata"], entries[0]["metadata"]);
    assert_eq!(record.key_id.as_str(), key_id);
    assert_eq!(record.label, "Okta prod");
    assert_eq!(record.tenant.as_deref(), Some("acme"));
    assert_eq!(record.status, Status::Active);
    assert_eq!(record.scopes.iter().map(ToString::to_string).collect::<Vec<_>>(), ["users:read", "groups:write"]);
    assert_eq!(record.expires_at.unwrap().0 - record.created_at.0, 90 * 86_400_000);
    assert_eq!((record.rate_per_minute, record.burst), (Some(120), Some(10)));
    assert_eq!(record.allow_ips.iter().map(ToString::to_string).collect::<Vec<_>>(), ["203.0.113.0/24"]);
}

#[test]
fn a_preset_sets_the_keys_quota() {
    let out = emit(&["--label", "Entra", "--scopes", "users:read", "--preset", "entra"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let entries: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(entries.as_array().unwrap().len(), 2, "no tenant, no tenant entry");
    let record = KeyRecord::decode(entries[1]["value"].as_str().unwrap().as_bytes()).unwrap();
    let entra = provgate::core::preset::named("entra").unwrap();
    assert_eq!((record.rate_per_minute, record.burst), (Some(entra.rate_per_minute.get()), Some(entra.burst.get())));
    let both = emit(&["--label", "x", "--scopes", "users:read", "--preset", "entra", "--burst", "5"]);
    assert_eq!(both.status.code(), Some(2), "a preset or numbers, not both");
    let unknown = emit(&["--label", "x", "--scopes", "users:read", "--preset", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(stderr(&unknown).contains("entra"), "the presets are named: {}", stderr(&unknown));
}

#[test]
fn the_offline_mint_checks_the_pepper_against_its_published_id_before_printing() {
    let base = ["key", "mint", "--emit", "json", "--label", "x", "--scopes", "users:read"];
    let wrong = provgate(&base, &[("PEPPER", "a-dev-pepper-that-production-does-not-use"), ("PEPPER_ID", &pepper_id(PEPPER.as_bytes()))]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(wrong.stdout.is_empty(), "nothing printed on a mismatch");
    assert!(stderr(&wrong).contains("does not match PEPPER_ID") && !stderr(&wrong).contains("key:"), "{}", stderr(&wrong));

    let missing_id = provgate(&base, &[("PEPPER", PEPPER)]);
    assert_eq!(missing_id.status.code(), Some(2));
    assert!(missing_id.stdout.is_empty() && stderr(&missing_id).contains("PEPPER_ID"));
    let missing_pepper = provgate(&base, &[("PEPPER_ID", &pepper_id(PEPPER.as_bytes()))]);
    assert_eq!(missing_pepper.status.code(), Some(2));
    assert!(stderr(&missing_pepper).contains("PEPPER"));

    let mut flag = base.to_vec();
    let id = pepper_id(PEPPER.as_bytes());
    flag.extend(["--pepper-id", id.as_str()]);
    let by_flag = provgate(&flag, &[("PEPPER", PEPPER)]);
    assert!(by_flag.status.success(), "{}", stderr(&by_flag));
    let a = stderr(&emit(&["--label", "a", "--scopes", "*"]));
    let b = stderr(&emit(&["--label", "b", "--scopes", "*"]));
    assert_ne!(a, b, "two mints never share a key or id");
}

#[test]
fn bad_values_exit_2_before_anything_is_sent() {
    let edge = [("PROVGATE_EDGE_URL", "https://edge.invalid"), ("PROVGATE_TOKEN", "t")];
    let key = ProvisioningKey::generate(|b| b.fill(9));
    for (args, needle) in [
        (vec!["key", "mint", "--label", "x", "--scopes", "users:admin"], "users:read"),
        (vec!["key", "mint", "--label", "x"], "--scopes"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--tenant", "a b"], "--tenant"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--expires", "soon"], "--expires"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--expires", "0d"], "zero"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--expires-at", "tomorrow"], "RFC 3339"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--allow-ip", "10.0.0.0/40"], "CIDR"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--burst", "0"], "--burst"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--metadata", "no-equals"], "NAME=VALUE"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--idempotency-key", ""], "printable"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--edge", "http://scim.example.com"], "https"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--edge", "https://u:p@scim.example.com"], "credentials"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--edge", "https://scim.example.com/scim/v2"], "without a path"),
        (vec!["key", "mint", "--label", "x", "--scopes", "*", "--edge", "https://a.example", "--local"], "cannot be used with"),
        (vec!["key", "show", "key_"], "not a key id"),
        (vec!["key", "show", "nonsense"], "not a key id"),
        (vec!["key", "show", key.expose()], "that is a provisioning key"),
        (vec!["key", "rotate", "key_abc", "--grace", "soon"], "--grace"),
        (vec!["key", "usage"], "<KEY_ID>"),
        (vec!["key", "usage", "key_abc", "--stale", "30d"], "cannot be used with"),
        (vec!["key", "usage", "--stale", "soon"], "--stale"),
        (vec!["key", "list", "--page-size", "1001"], "--page-size"),
        (vec!["key", "list", "--status", "asleep"], "not_yet_valid"),
        (vec!["key", "list", "--expiring", "1 month"], "--expiring"),
        (vec!["key", "update", "key_abc", "--rate-per-minute", "fast"], "default"),
        (vec!["key", "update", "key_abc"], "nothing to change"),
        (vec!["key", "update", "key_abc", "--repair", "--label", "x"], "cannot be used with"),
        (vec!["token", "mint", "--label", "x", "--scopes", "keys:everything"], "tokens:admin"),
        (vec!["token", "show", "pvm_abc"], "that is a management token"),
        (vec!["doctor", "--scim-base", "scim"], "/scim/v2"),
        (vec!["key", "frobnicate"], "frobnicate"),
    ] {
        let out = provgate(&args, &edge);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(needle), "{args:?} should say {needle:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!stderr(&out).contains(key.expose()), "a pasted key is never echoed");
    }
}

#[test]
fn a_missing_edge_or_token_exits_2() {
    let no_edge = provgate(&["key", "list"], &[("PROVGATE_TOKEN", "t")]);
    assert_eq!(no_edge.status.code(), Some(2));
    assert!(stderr(&no_edge).contains("PROVGATE_EDGE_URL"), "{}", stderr(&no_edge));
    let no_token = provgate(&["key", "list", "--edge", "https://edge.invalid"], &[]);
    assert_eq!(no_token.status.code(), Some(2));
    assert!(stderr(&no_token).contains("PROVGATE_TOKEN"), "{}", stderr(&no_token));
    let bad_env = provgate(&["key", "list"], &[("PROVGATE_EDGE_URL", "http://scim.example.com"), ("PROVGATE_TOKEN", "t")]);
    assert_eq!(bad_env.status.code(), Some(2));
    assert!(stderr(&bad_env).contains("PROVGATE_EDGE_URL"), "{}", stderr(&bad_env));
    let no_dev_vars = provgate(&["key", "list", "--local"], &[]);
    assert_eq!(no_dev_vars.status.code(), Some(2));
    assert!(stderr(&no_dev_vars).contains(".dev.vars"), "{}", stderr(&no_dev_vars));
}

#[test]
fn irreversible_commands_need_yes_without_a_terminal() {
    // A listener that must never be called: the refusal comes first.
    let (port, requests) = serve(vec![]);
    let url = format!("http://127.0.0.1:{port}");
    for args in [vec!["key", "revoke", "key_abc"], vec!["key", "rotate", "key_abc"], vec!["key", "delete", "key_abc"], vec!["token", "revoke", "tok_abc"]] {
        let out = provgate(&args, &[("PROVGATE_EDGE_URL", url.as_str()), ("PROVGATE_TOKEN", "t")]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("--yes") && stderr(&out).contains("no terminal"), "{args:?}: {}", stderr(&out));
    }
    assert!(requests.recv_timeout(Duration::from_millis(200)).is_err(), "nothing was sent");
}

#[test]
fn every_command_has_help_naming_the_environment_it_reads() {
    let api = ["PROVGATE_EDGE_URL", "PROVGATE_TOKEN", "PROVGATE_DEV_VARS", "PROVGATE_LOCAL_PORT"];
    for cmd in [
        &["key", "mint"][..], &["key", "list"], &["key", "show"], &["key", "update"], &["key", "rotate"], &["key", "revoke"],
        &["key", "delete"], &["key", "usage"], &["token", "mint"], &["token", "list"], &["token", "show"], &["token", "revoke"], &["doctor"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let out = provgate(&args, &[]);
        assert!(out.status.success(), "{cmd:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage:"), "{cmd:?}: {text}");
        for var in api {
            assert!(text.contains(var), "{cmd:?} --help names {var}");
        }
    }
    let mint = String::from_utf8(provgate(&["key", "mint", "--help"], &[]).stdout).unwrap();
    assert!(mint.contains("PEPPER_ID") && mint.contains("PEPPER "), "{mint}");
    assert!(String::from_utf8(provgate(&["doctor", "--help"], &[]).stdout).unwrap().contains("PROVGATE_KEY"));
    let top = String::from_utf8(provgate(&["--help"], &[]).stdout).unwrap();
    assert!(top.contains("Exit codes"), "exit codes are documented in --help");
    for cmd in [&["--help"][..], &["key", "--help"], &["token", "--help"]] {
        assert!(provgate(cmd, &[]).status.success(), "{cmd:?}");
    }
}

/// A loopback server answering each connection with the next canned
/// answer (a 401 problem once they run out); each request's head is sent
/// on the channel.
fn serve(answers: Vec<(u16, String)>) -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut answers = answers.into_iter();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = tx.send(format!("{head}\r\n{}", String::from_utf8_lossy(&body)));
            let (status, body) = answers.next().unwrap_or((401, problem("unauthorized", "Not authenticated", "")));
            let kind = if status >= 400 { "application/problem+json" } else { "application/json" };
            let _ = write!(stream, "HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        }
    });
    (port, rx)
}

fn problem(slug: &str, title: &str, extra: &str) -> String {
    format!(r#"{{"type":"urn:provgate:problem:{slug}","title":"{title}","status":400,"detail":"Detail of {slug}.","request_id":"r1"{extra}}}"#)
}

#[test]
fn the_token_comes_from_the_environment_and_dev_vars_only_with_local() {
    let dir = temp_dir("devvars");
    std::fs::write(dir.join(".dev.vars"), "ROOT_TOKEN=dev-root-token-from-dev-vars\n").unwrap();
    let (port, requests) = serve(vec![]);
    let url = format!("http://127.0.0.1:{port}");

    // --edge with a .dev.vars present: no token is taken from it.
    let out = command(&dir).args(["key", "list", "--edge", &url]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("PROVGATE_TOKEN"));
    assert!(requests.recv_timeout(Duration::from_millis(200)).is_err(), "nothing was sent without a token");
    let out = command(&dir).args(["key", "list", "--edge", &url]).env("PROVGATE_TOKEN", "env-token").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let head = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.starts_with("GET /_provgate/api/v1/keys?limit=100 "), "{head}");
    assert!(head.to_ascii_lowercase().contains("authorization: bearer env-token\r\n") && !head.contains("dev-root-token"), "{head}");

    // --local: the dev edge's port, the token of .dev.vars (here, then from PROVGATE_DEV_VARS).
    let port_text = port.to_string();
    let out = command(&dir).args(["key", "list", "--local"]).env("PROVGATE_LOCAL_PORT", &port_text).env("PROVGATE_TOKEN", "env-token").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let head = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.contains("Bearer dev-root-token-from-dev-vars\r\n") || head.contains("bearer dev-root-token-from-dev-vars\r\n"), "{head}");
    let elsewhere = temp_dir("devvars-elsewhere");
    let out = command(&elsewhere).args(["key", "list", "--local"]).env("PROVGATE_LOCAL_PORT", &port_text).env("PROVGATE_DEV_VARS", dir.join(".dev.vars")).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(requests.recv_timeout(Duration::from_secs(5)).unwrap().contains("dev-root-token-from-dev-vars"));
    // The token is never said back.
    assert!(!stderr(&out).contains("dev-root-token"), "{}", stderr(&out));
}

#[test]
fn api_problems_are_one_line_naming_the_field_with_exit_1() {
    let key = ProvisioningKey::generate(|b| b.fill(3));
    let fields = format!(r#","errors":[{{"field":"scopes[0]","detail":"expected a scope, not {}"}}]"#, key.expose());
    let (port, requests) = serve(vec![(400, problem("invalid_field", "A field has an invalid value", &fields))]);
    let url = format!("http://127.0.0.1:{port}");
    let out = provgate(&["key", "mint", "--label", "x", "--scopes", "users:read", "--idempotency-key", "k-1"], &[("PROVGATE_EDGE_URL", &url), ("PROVGATE_TOKEN", "t")]);
    assert_eq!(out.status.code(), Some(1));
    let said = stderr(&out);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(said.contains("A field has an invalid value") && said.contains("scopes[0]") && said.contains("invalid_field"), "{said}");
    assert!(!said.contains(key.expose()), "a key in the answer is not repeated: {said}");
    assert!(out.stdout.is_empty());
    let head = requests.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(head.starts_with("POST /_provgate/api/v1/keys "), "{head}");
    assert!(head.to_ascii_lowercase().contains("idempotency-key: k-1\r\n"), "{head}");
    let body: serde_json::Value = serde_json::from_str(head.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body, serde_json::json!({ "label": "x", "scopes": ["users:read"] }), "only the fields given are sent");

    let (port, _) = serve(vec![]);
    let out = provgate(&["key", "show", "key_abc"], &[("PROVGATE_EDGE_URL", &format!("http://127.0.0.1:{port}")), ("PROVGATE_TOKEN", "t")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("PROVGATE_TOKEN is not a valid"), "{}", stderr(&out));

    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = provgate(&["key", "list"], &[("PROVGATE_EDGE_URL", &format!("http://127.0.0.1:{closed}")), ("PROVGATE_TOKEN", "t")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot reach the edge"), "{}", stderr(&out));
}

#[test]
fn the_offline_mint_refuses_a_pepper_that_is_not_the_published_one() {
    let run = |pepper_id: &str| {
        Command::new(env!("CARGO_BIN_EXE_provgate"))
            .args(["key", "mint", "--emit", "json", "--label", "x", "--scopes", "users:read"])
            .env("PEPPER", PEPPER)
            .env("PEPPER_ID", pepper_id)
            .output()
            .unwrap()
    };
    let wrong = run("0000000000000000");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(wrong.stdout.is_empty(), "nothing printed for the pipeline");
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("does not match PEPPER_ID"));
    let right = run(&provgate::core::lookup::pepper_id(PEPPER.as_bytes()));
    assert!(right.status.success(), "{}", String::from_utf8_lossy(&right.stderr));
}
