//! `provgate key list` and `provgate key show <key-id>`: what an operator
//! needs to know about keys, and never a key or a hash.

use super::edge::EdgeUrl;
use super::{keys, secrets, store, usage, Local, Where};
use crate::core::lookup::pepper_matches;
use crate::core::record::KeyRecord;
use crate::core::status::{self, KeyStatus};
use clap::Args;
use serde_json::json;

#[derive(Args)]
pub struct ListArgs {
    #[command(flatten)]
    target: Where,
    #[command(flatten)]
    local: Local,
    #[command(flatten)]
    edge: EdgeUrl,
    /// JSON lines instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ShowArgs {
    #[command(flatten)]
    target: Where,
    #[command(flatten)]
    local: Local,
    /// The key's id (`key_…`).
    key_id: String,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Which pepper named the record: "current", "previous", or "other".
fn pepper_state(index_pepper: Option<&str>) -> &'static str {
    let named = |stored: &str, name: &str| secrets::load(name).is_ok_and(|p| pepper_matches(stored, p.as_bytes()));
    match index_pepper {
        Some(p) if named(p, "PEPPER") => "current",
        Some(p) if named(p, "PEPPER_PREVIOUS") => "previous",
        _ => "other",
    }
}

fn describe(record: &KeyRecord, pepper: &str) -> serde_json::Value {
    let now = keys::now();
    // The request path's own function, so the listing never disagrees with the edge.
    let state = match status::of(record.status, record.not_before, record.expires_at, now) {
        KeyStatus::NotYetValid => "not yet valid",
        other => other.name(),
    };
    json!({
        "key_id": record.key_id.as_str(),
        "label": record.label,
        "tenant": record.tenant,
        "scopes": record.scopes.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "status": state,
        "created_at": record.created_at.to_rfc3339(),
        "not_before": record.not_before.map(|t| t.to_rfc3339()),
        "expires_at": record.expires_at.map(|t| t.to_rfc3339()),
        "allow_ips": record.allow_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "rate_per_minute": record.rate_per_minute,
        "burst": record.burst,
        "rotated_from": record.rotated_from,
        "pepper": pepper,
    })
}

/// A field for a text table: `-` when absent or empty, lists joined by commas.
pub(super) fn text(v: &serde_json::Value, key: &str) -> String {
    match &v[key] {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) if a.is_empty() => "-".into(),
        serde_json::Value::Array(a) => a.iter().map(|x| x.as_str().unwrap_or_default()).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

pub fn list(args: ListArgs) -> Result<(), String> {
    let kv = store(args.target.remote, &args.local);
    let all = keys::load_all(&kv)?;
    let last_used = last_used(&args, &all);
    if !args.json {
        println!("{:<22} {:<10} {:<14} {:<22} {:<8} {:<20} {:<21} {:<11} {:<8} LABEL", "KEY ID", "STATUS", "TENANT", "SCOPES", "PEPPER", "EXPIRES", "LAST USED", "RATE/MIN", "BURST");
    }
    for (id, loaded) in all {
        match loaded {
            Ok(stored) => {
                let mut v = describe(&stored.record, pepper_state(stored.index.pepper.as_deref()));
                v["last_used"] = last_used.as_ref().map_or(json!("unknown"), |known| known.get(&id).cloned().unwrap_or(json!("unknown")));
                if args.json {
                    println!("{v}");
                } else {
                    println!(
                        "{:<22} {:<10} {:<14} {:<22} {:<8} {:<20} {:<21} {:<11} {:<8} {}",
                        text(&v, "key_id"), text(&v, "status"), text(&v, "tenant"), text(&v, "scopes"), text(&v, "pepper"),
                        text(&v, "expires_at"), if v["last_used"].is_null() { "never".into() } else { text(&v, "last_used") }, text(&v, "rate_per_minute"), text(&v, "burst"), text(&v, "label")
                    );
                }
            }
            Err(problem) if args.json => println!("{}", json!({ "key_id": id, "status": "broken", "problem": problem })),
            Err(problem) => println!("{id:<22} {:<10} {problem}", "broken"),
        }
    }
    Ok(())
}

/// Each key's last use as the edge knows it (`null`: never used); `None`
/// when the edge cannot be asked, which the listing survives.
fn last_used(args: &ListArgs, all: &[(String, Result<keys::Stored, String>)]) -> Option<std::collections::BTreeMap<String, serde_json::Value>> {
    let ids: Vec<&str> = all.iter().filter(|(_, k)| k.is_ok()).map(|(id, _)| id.as_str()).collect();
    if ids.is_empty() {
        return Some(Default::default());
    }
    let fetched = args.edge.resolve(args.target.remote).and_then(|url| usage::fetch(&url, &ids));
    match fetched {
        Ok(usage) => Some(usage.into_iter().map(|(id, u)| (id, u.map_or(json!("unknown"), |u| u["last_used"].clone()))).collect()),
        Err(e) => {
            eprintln!("provgate: last use unknown ({e})");
            None
        }
    }
}

pub fn show(args: ShowArgs) -> Result<(), String> {
    let stored = keys::load(&store(args.target.remote, &args.local), &args.key_id)?;
    let v = describe(&stored.record, pepper_state(stored.index.pepper.as_deref()));
    if args.json {
        println!("{v}");
    } else {
        for key in ["key_id", "label", "status", "tenant", "scopes", "created_at", "not_before", "expires_at", "allow_ips", "rate_per_minute", "burst", "rotated_from", "pepper"] {
            println!("{:<16} {}", format!("{key}:"), text(&v, key));
        }
    }
    Ok(())
}
