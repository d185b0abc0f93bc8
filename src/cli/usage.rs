//! `provgate key usage <key-id>` (`GET /keys/{id}/usage`): when and from
//! where a key was used and how its requests ended, as its guard saw it;
//! `provgate key usage --stale 30d` (`GET /usage/stale`): the keys not
//! revoked and unused that long, candidates to revoke. A key the report
//! cannot read is named, never dropped, and makes the command fail.

use super::api::Api;
use super::edge::EdgeArgs;
use super::fail::{failed, Fail};
use super::output::{self, text, when};
use super::page::{self, Paging};
use super::parse;
use clap::Args;
use serde_json::Value;

#[derive(Args)]
#[command(after_help = crate::api_env_help!())]
pub struct UsageArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// The key's id (`key_…`); omit it with --stale.
    #[arg(value_parser = parse::KeyIdParser, required_unless_present = "stale", conflicts_with = "stale")]
    key_id: Option<String>,
    /// List the keys not revoked and unused for at least this long (e.g. 30d).
    #[arg(long, value_name = "DURATION", value_parser = parse::positive_duration)]
    stale: Option<String>,
    /// With --stale: only this tenant's keys.
    #[arg(long, value_parser = parse::tenant, requires = "stale")]
    tenant: Option<String>,
    #[command(flatten)]
    paging: Paging,
    /// One JSON document: the API's KeyUsage, or its StaleReport with every page.
    #[arg(long)]
    json: bool,
}

pub fn run(args: UsageArgs) -> Result<(), Fail> {
    let api = Api::connect(&args.edge)?;
    match (&args.stale, &args.key_id) {
        (Some(unused_for), _) => stale(&api, unused_for, &args),
        (None, Some(key_id)) => one(&api, key_id, args.json),
        (None, None) => unreachable!("clap requires a key id or --stale"),
    }
}

fn one(api: &Api, key_id: &str, as_json: bool) -> Result<(), Fail> {
    let answer = api.get("key usage", &format!("/keys/{key_id}/usage"), &[])?;
    if as_json {
        return output::json(&answer);
    }
    if answer["never_used"] == Value::Bool(true) || answer["usage"].is_null() {
        println!("{key_id} has never been used");
        eprintln!("(from the key's listing summary: a first use is seen there within seconds where the key's guard runs, within a minute elsewhere)");
        return Ok(());
    }
    let usage = &answer["usage"];
    println!("{key_id}");
    println!("{:<14} {}", "first used:", when(usage, "first_used"));
    println!("{:<14} {}{}", "last used:", when(usage, "last_used"), usage.get("last_source").map(from).unwrap_or_default());
    println!("{:<14} {}", "last allowed:", when(usage, "last_allowed"));
    match (&usage["last_origin_status"], usage["last_origin_at"].as_str()) {
        (Value::Number(status), Some(at)) => println!("{:<14} {status} at {at}", "last origin:"),
        (_, Some(at)) => println!("{:<14} no answer at {at}", "last origin:"),
        _ => println!("{:<14} -", "last origin:"),
    }
    if answer["revoked_at_edge"] == Value::Bool(true) {
        println!("{:<14} yes", "revoked:");
    }
    println!();
    let columns = [&usage["windows"]["1h"], &usage["windows"]["24h"], &usage["windows"]["30d"], &usage["total"]];
    println!("{:<20} {:>8} {:>8} {:>8} {:>10}", "OUTCOME", "1H", "24H", "30D", "TOTAL");
    let mut classes: Vec<&String> = columns.iter().filter_map(|c| c.as_object()).flat_map(|c| c.keys()).collect();
    classes.sort();
    classes.dedup();
    for class in classes {
        let n = |c: &Value| c[class.as_str()].as_u64().unwrap_or(0);
        println!("{class:<20} {:>8} {:>8} {:>8} {:>10}", n(columns[0]), n(columns[1]), n(columns[2]), n(columns[3]));
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

fn stale(api: &Api, unused_for: &str, args: &UsageArgs) -> Result<(), Fail> {
    let mut query = vec![("unused_for", unused_for.to_owned())];
    if let Some(t) = &args.tenant {
        query.push(("tenant", t.clone()));
    }
    let report = page::all(api, "key usage --stale", "/usage/stale", &query, &args.paging)?;
    if args.json {
        output::json(&report)?;
    } else {
        println!("{:<22} {:<14} {:<16} {:<21} {:<21} LABEL", "KEY ID", "STATUS", "TENANT", "LAST USED", "CREATED");
        for item in report["items"].as_array().into_iter().flatten() {
            println!(
                "{:<22} {:<14} {:<16} {:<21} {:<21} {}",
                text(item, "key_id"),
                text(item, "status"),
                text(item, "tenant"),
                when(item, "last_used_at"),
                text(item, "created_at"),
                text(item, "label")
            );
        }
        for error in report["errors"].as_array().into_iter().flatten() {
            println!("{:<22} {:<14} {}", text(error, "key_id"), text(error, "problem"), text(error, "detail"));
        }
        page::note_more(&report, "keys");
    }
    let unread: Vec<String> = report["errors"].as_array().into_iter().flatten().map(|e| text(e, "key_id")).collect();
    if unread.is_empty() {
        Ok(())
    } else {
        Err(failed(format!(
            "the report could not read {} ({}): they may be stale too; `provgate key update <id> --repair` rewrites a missing summary",
            if unread.len() == 1 { "1 key".to_owned() } else { format!("{} keys", unread.len()) },
            unread.join(", ")
        )))
    }
}
