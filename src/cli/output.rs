//! What commands print: one JSON document with `--json`, else text for
//! people. A key or token is printed only by the commands that create it,
//! on its own `key:` / `token:` line, once.

use super::fail::{failed, Fail};
use serde_json::Value;

/// Prints exactly one JSON document on stdout.
pub fn json(v: &Value) -> Result<(), Fail> {
    println!("{}", serde_json::to_string(v).map_err(|e| failed(e.to_string()))?);
    Ok(())
}

/// A field for a text table: `-` when absent or empty, lists joined by commas.
pub fn text(v: &Value, key: &str) -> String {
    cell(&v[key])
}

/// A value for a text table.
pub fn cell(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) if s.is_empty() => "-".into(),
        // One line each; nothing blanked: what the API answers is the operator's to see.
        Value::String(s) => s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Array(a) if a.is_empty() => "-".into(),
        Value::Array(a) => a.iter().map(cell).collect::<Vec<_>>().join(","),
        Value::Object(o) if o.is_empty() => "-".into(),
        Value::Object(o) => o.iter().map(|(k, v)| format!("{k}={}", cell(v))).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// A time, or `never`.
pub fn when(v: &Value, key: &str) -> String {
    v[key].as_str().map_or_else(|| "never".to_owned(), str::to_owned)
}

/// The answer of a mint or rotation (`MintedKey`): the id, the key once,
/// and when it works everywhere; a replay has no key to show.
pub fn minted(answer: &Value) {
    println!("key id: {}", text(answer, "key_id"));
    match answer["key"].as_str() {
        Some(key) => {
            println!("key:    {key}");
            if let Some(old) = answer["rotated_from"].as_str() {
                println!("replaces {old} (valid until {})", text(answer, "previous_expires_at"));
            }
            println!("usable everywhere by {}", text(answer, "usable_everywhere_by"));
            eprintln!("The key is shown once: paste it into the IdP now (only its HMAC is stored).");
            eprintln!("Workers KV takes up to a minute to carry it to every Cloudflare location: a test before that time may be refused (key_unknown); test again after it.");
        }
        None => {
            if let Some(old) = answer["rotated_from"].as_str() {
                println!("replaces {old} (valid until {})", text(answer, "previous_expires_at"));
            }
            eprintln!(
                "Replayed: an earlier call with this --idempotency-key already made {}; its key is not stored and cannot be shown again. \
                 If it was lost, rotate {0} with --grace 0s.",
                text(answer, "key_id")
            );
        }
    }
}

/// `key show`'s lines for a `KeyView`.
pub fn key_view(view: &Value) {
    let record = &view["record"];
    let rows: [(&str, String); 19] = [
        ("key_id", text(view, "key_id")),
        ("status", text(view, "status")),
        ("label", text(record, "label")),
        ("tenant", text(record, "tenant")),
        ("scopes", text(record, "scopes")),
        ("created_at", text(record, "created_at")),
        ("not_before", text(record, "not_before")),
        ("expires_at", text(record, "expires_at")),
        ("allow_ips", text(record, "allow_ips")),
        ("rate_per_minute", record.get("rate_per_minute").map_or("edge default".into(), cell)),
        ("burst", record.get("burst").map_or("edge default".into(), cell)),
        ("rotated_from", text(record, "rotated_from")),
        ("metadata", text(record, "metadata")),
        ("auth_modes", record.get("auth_modes").map_or("bearer (default)".into(), cell)),
        ("redirect_uris", text(record, "redirect_uris")),
        ("pkce_required", record.get("pkce_required").map_or("no".into(), cell)),
        ("last_used_at", when(view, "last_used_at")),
        ("revoked_at_edge", text(view, "revoked_at_edge")),
        ("etag", text(view, "etag")),
    ];
    for (name, value) in rows {
        println!("{:<16} {value}", format!("{name}:"));
    }
    if record.is_null() {
        eprintln!("{}: its index points at no record (a mint that stopped midway, or one made under a minute ago elsewhere); delete it with `provgate key delete`", text(view, "key_id"));
    }
}
