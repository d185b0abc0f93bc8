//! The real `provgate` binary: what `key mint --emit json` prints is a KV
//! entry the Worker will find and accept.
use provgate::core::{key::ProvisioningKey, lookup::record_name, record::Status, KeyRecord};
use std::process::Command;

const PEPPER: &str = "0123456789abcdef0123456789abcdef-cli-test";

fn mint(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_provgate"))
        .args(["key", "mint", "--emit", "json"])
        .args(args)
        .env("PEPPER", PEPPER)
        .output()
        .unwrap()
}

#[test]
fn emitted_entry_names_the_keys_hash_and_holds_a_valid_record() {
    let out = mint(&[
        "--label", "Okta prod", "--tenant", "acme", "--scopes", "users:read,groups:write", "--expires", "90d",
        "--rate-per-minute", "120", "--burst", "10", "--allow-ip", "203.0.113.0/24",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let key_text = stderr.lines().find_map(|l| l.strip_prefix("key:")).unwrap().trim();
    let key_id = stderr.lines().find_map(|l| l.strip_prefix("key id:")).unwrap().trim();
    assert!(!stdout.contains(key_text), "the key never goes to the pipeline's stdout");

    let entries: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let key = ProvisioningKey::parse(key_text).ok().expect("minted key parses");
    // The index entry comes first (see the write order in cli/mint.rs), then the record.
    assert_eq!(entries[0]["key"], format!("id:{key_id}"));
    let index: serde_json::Value = serde_json::from_str(entries[0]["value"].as_str().unwrap()).unwrap();
    assert_eq!(index["record"], entries[1]["key"]);
    assert_eq!(entries[1]["key"], record_name(PEPPER.as_bytes(), &key));
    let record = KeyRecord::decode(entries[1]["value"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(record.key_id.as_str(), key_id);
    assert_eq!(record.label, "Okta prod");
    assert_eq!(record.tenant.as_deref(), Some("acme"));
    assert_eq!(record.status, Status::Active);
    assert_eq!(record.scopes.iter().map(ToString::to_string).collect::<Vec<_>>(), ["users:read", "groups:write"]);
    let lifetime = record.expires_at.unwrap().0 - record.created_at.0;
    assert_eq!(lifetime, 90 * 86_400_000);
    assert_eq!((record.rate_per_minute, record.burst), (Some(120), Some(10)));
    assert_eq!(record.allow_ips.iter().map(ToString::to_string).collect::<Vec<_>>(), ["203.0.113.0/24"]);
}

#[test]
fn bad_input_is_refused_with_a_clear_message() {
    for (args, needle) in [
        (vec!["--label", "x", "--scopes", "users:admin"], "invalid scope"),
        (vec!["--label", "x", "--tenant", "a b"], "invalid --tenant"),
        (vec!["--label", "x", "--expires", "soon"], "invalid --expires"),
        (vec!["--label", "x", "--allow-ip", "10.0.0.0/40"], "invalid --allow-ip"),
        (vec!["--label", "x", "--burst", "0"], "--burst"),
    ] {
        let out = mint(&args);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn two_mints_never_share_a_key_or_id() {
    let a = String::from_utf8(mint(&["--label", "a"]).stderr).unwrap();
    let b = String::from_utf8(mint(&["--label", "b"]).stderr).unwrap();
    assert_ne!(a, b);
}

fn provgate(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_provgate")).args(args).env("PEPPER", PEPPER).output().unwrap()
}

#[test]
fn every_command_has_help() {
    for cmd in [&["--help"][..], &["key", "--help"], &["key", "mint", "--help"], &["key", "list", "--help"], &["key", "show", "--help"], &["key", "rotate", "--help"], &["key", "revoke", "--help"], &["key", "usage", "--help"]] {
        let out = provgate(cmd);
        assert!(out.status.success(), "{cmd:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Usage:"), "{cmd:?}: {text}");
    }
    let top = String::from_utf8(provgate(&["--help"]).stdout).unwrap();
    assert!(top.contains("Exit codes"), "exit codes are documented in --help");
}

#[test]
fn usage_errors_exit_2_and_operation_errors_exit_1() {
    assert_eq!(provgate(&["key", "mint", "--label", "x"]).status.code(), Some(2), "no --local/--remote/--emit");
    assert_eq!(provgate(&["key", "mint", "--local", "--remote", "--label", "x"]).status.code(), Some(2));
    assert_eq!(provgate(&["key", "frobnicate"]).status.code(), Some(2));
    assert_eq!(provgate(&["key", "usage", "--local"]).status.code(), Some(2), "a key id or --stale");
    assert_eq!(provgate(&["key", "usage", "--local", "key_aaaaaaaaaaaaaaaa", "--stale", "30d"]).status.code(), Some(2), "not both");
    let bad_duration = provgate(&["key", "usage", "--local", "--stale", "soon"]);
    assert_eq!(bad_duration.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad_duration.stderr).contains("not a duration such as 30d"));
    let bad_id = provgate(&["key", "show", "--local", "pvk_notanid"]);
    assert_eq!(bad_id.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_id.stderr).contains("not a key id"));
    // A key pasted where its id belongs is not echoed back (scrollback, CI logs).
    let key = ProvisioningKey::generate(|b| b.fill(9));
    let pasted = provgate(&["key", "show", "--local", key.expose()]);
    assert_eq!(pasted.status.code(), Some(1));
    let said = String::from_utf8_lossy(&pasted.stderr);
    assert!(said.contains("not a key id") && !said.contains(key.expose()), "{said}");
    let bad_grace = provgate(&["key", "rotate", "--local", "key_abc", "--grace", "soon"]);
    assert_eq!(bad_grace.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_grace.stderr).contains("invalid --grace"));
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
