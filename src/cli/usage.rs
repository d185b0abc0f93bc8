//! `provgate key usage <key-id>` and `provgate key usage --stale 30d`: what
//! each key's guard saw — when and from where the key was used and how its
//! requests ended — read through the edge's management API.

use super::edge::{self, EdgeUrl};
use super::list::text;
use super::{keys, store, Local, Where};
use crate::core::record::Status;
use crate::core::time::parse_duration;
use crate::core::usage::is_stale;
use crate::core::UnixMillis;
use clap::Args;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Args)]
pub struct UsageArgs {
    #[command(flatten)]
    target: Where,
    #[command(flatten)]
    local: Local,
    #[command(flatten)]
    edge: EdgeUrl,
    /// The key's id (`key_…`); omit it with --stale.
    #[arg(required_unless_present = "stale", conflicts_with = "stale")]
    key_id: Option<String>,
    /// List the keys not revoked and unused for at least this long (e.g. 30d): candidates to revoke.
    #[arg(long, value_parser = stale_duration)]
    stale: Option<Duration>,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

fn stale_duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).ok_or_else(|| format!("{text:?} is not a duration such as 30d, 12h or 90m"))
}

pub fn run(args: UsageArgs) -> Result<(), String> {
    let edge_url = args.edge.resolve(args.target.remote)?;
    let kv = store(args.target.remote, &args.local);
    match (args.stale, args.key_id) {
        (Some(unused_for), _) => stale(&kv, &edge_url, unused_for, args.json),
        (None, Some(key_id)) => one(&kv, &edge_url, &key_id, args.json),
        (None, None) => Err("give a key id or --stale".into()),
    }
}

/// Usage of many keys, by id (one API call each); `None` where the edge
/// could not answer for a key. A key never used has `last_used: null`.
pub fn fetch(edge_url: &str, ids: &[&str]) -> Result<BTreeMap<String, Option<Value>>, String> {
    let mut all = BTreeMap::new();
    for id in ids {
        let answer = match edge::call(edge_url, "GET", &format!("keys/{id}/usage")) {
            Ok(answer) => answer,
            // The edge itself cannot be reached: nothing else will answer either.
            Err(e) if !e.starts_with("the edge answered") => return Err(e),
            Err(_) => Value::Null,
        };
        let usage = match &answer["usage"] {
            Value::Null if answer["never_used"] == true => Some(json!({ "last_used": null })),
            Value::Null => None,
            report => Some(report.clone()),
        };
        all.insert((*id).to_owned(), usage);
    }
    Ok(all)
}

fn one(kv: &super::wrangler::Store, edge_url: &str, key_id: &str, as_json: bool) -> Result<(), String> {
    let stored = keys::load(kv, key_id)?;
    let id = stored.record.key_id.as_str();
    let usage = fetch(edge_url, &[id])?.remove(id).flatten().ok_or_else(|| format!("the edge could not read the usage of {id} (its guard did not answer)"))?;
    if as_json {
        println!("{}", json!({ "key_id": id, "label": stored.record.label, "usage": usage }));
        return Ok(());
    }
    println!("{id}  {}", stored.record.label);
    let when = |field: &str| usage[field].as_str().unwrap_or("never").to_owned();
    println!("{:<14} {}", "first used:", when("first_used"));
    println!("{:<14} {}{}", "last used:", when("last_used"), usage.get("last_source").map(from).unwrap_or_default());
    println!("{:<14} {}", "last allowed:", when("last_allowed"));
    match (&usage["last_origin_status"], usage["last_origin_at"].as_str()) {
        (Value::Number(status), Some(at)) => println!("{:<14} {status} at {at}", "last origin:"),
        (_, Some(at)) => println!("{:<14} no answer at {at}", "last origin:"),
        _ => println!("{:<14} -", "last origin:"),
    }
    println!();
    let columns = [("1h", &usage["windows"]["1h"]), ("24h", &usage["windows"]["24h"]), ("30d", &usage["windows"]["30d"]), ("total", &usage["total"])];
    println!("{:<20} {:>8} {:>8} {:>8} {:>10}", "OUTCOME", "1H", "24H", "30D", "TOTAL");
    let mut classes: Vec<&String> = columns.iter().filter_map(|(_, c)| c.as_object()).flat_map(|c| c.keys()).collect();
    classes.sort();
    classes.dedup();
    for class in classes {
        let n = |c: &Value| c[class.as_str()].as_u64().unwrap_or(0);
        println!("{class:<20} {:>8} {:>8} {:>8} {:>10}", n(columns[0].1), n(columns[1].1), n(columns[2].1), n(columns[3].1));
    }
    if let Some(sources) = usage["sources"].as_array().filter(|s| !s.is_empty()) {
        println!("\n{:<40} {:<8} {:<10} {:<21} {:<21} REQUESTS", "ADDRESS", "COUNTRY", "ASN", "FIRST SEEN", "LAST SEEN");
        for s in sources {
            let source = |f: &str| text(&s["source"], f);
            let seen = |f: &str| text(s, f);
            println!("{:<40} {:<8} {:<10} {:<21} {:<21} {}", source("ip"), source("country"), source("asn"), seen("first_seen"), seen("last_seen"), seen("count"));
        }
    }
    Ok(())
}

/// " from 192.0.2.1 (NZ, AS64500)"
fn from(source: &Value) -> String {
    let Some(ip) = source["ip"].as_str() else { return String::new() };
    let details: Vec<String> = [source["country"].as_str().map(str::to_owned), source["asn"].as_u64().map(|a| format!("AS{a}"))].into_iter().flatten().collect();
    if details.is_empty() {
        format!(" from {ip}")
    } else {
        format!(" from {ip} ({})", details.join(", "))
    }
}

fn stale(kv: &super::wrangler::Store, edge_url: &str, unused_for: Duration, as_json: bool) -> Result<(), String> {
    let now = keys::now();
    let loaded: Vec<keys::Stored> = keys::load_all(kv)?.into_iter().filter_map(|(_, k)| k.ok()).filter(|k| k.record.status != Status::Revoked).collect();
    let ids: Vec<&str> = loaded.iter().map(|k| k.record.key_id.as_str()).collect();
    let usage = fetch(edge_url, &ids)?;
    let mut unknown = Vec::new();
    if !as_json {
        println!("{:<22} {:<21} {:<21} LABEL", "KEY ID", "LAST USED", "CREATED");
    }
    for key in &loaded {
        let id = key.record.key_id.as_str();
        let Some(Some(report)) = usage.get(id) else {
            unknown.push(id);
            continue;
        };
        let last_used = report["last_used"].as_str().and_then(UnixMillis::parse_rfc3339);
        if !is_stale(last_used, key.record.created_at, now, unused_for) {
            continue;
        }
        let last = last_used.map_or("never".to_owned(), UnixMillis::to_rfc3339);
        if as_json {
            println!("{}", json!({ "key_id": id, "label": key.record.label, "last_used": last_used, "created_at": key.record.created_at }));
        } else {
            println!("{id:<22} {last:<21} {:<21} {}", key.record.created_at.to_rfc3339(), key.record.label);
        }
    }
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(format!("the edge could not read the usage of {}: the report leaves them out", unknown.join(", ")))
    }
}
