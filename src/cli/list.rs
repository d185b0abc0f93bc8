//! `provgate key list` and `provgate key show <key-id>`: what an operator
//! needs to know about keys (`GET /keys`, `GET /keys/{id}`), and never a
//! key or a hash.

use super::api::Api;
use super::edge::EdgeArgs;
use super::fail::Fail;
use super::output::{self, text, when};
use super::page::{self, Paging};
use super::parse;
use clap::{Args, ValueEnum};

#[derive(Args)]
#[command(after_help = crate::api_env_help!())]
pub struct ListArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// Only this tenant's keys.
    #[arg(long, value_parser = parse::tenant)]
    tenant: Option<String>,
    /// Only keys in this state.
    #[arg(long, value_enum)]
    status: Option<ListedStatus>,
    /// Only active keys that expire within this duration, e.g. 30d.
    #[arg(long, value_name = "DURATION", value_parser = parse::positive_duration)]
    expiring: Option<String>,
    /// Only keys whose label starts with this (labels are summarised to 64 characters).
    #[arg(long, value_parser = label_prefix)]
    label_prefix: Option<String>,
    #[command(flatten)]
    paging: Paging,
    /// One JSON document: the API's KeyList with every page's items.
    #[arg(long)]
    json: bool,
}

/// The states `--status` filters on.
#[derive(ValueEnum, Debug, Clone, Copy)]
#[value(rename_all = "snake_case")]
enum ListedStatus {
    Active,
    Revoked,
    Expired,
    NotYetValid,
}

fn label_prefix(text: &str) -> Result<String, String> {
    (1..=64).contains(&text.chars().count()).then(|| text.to_owned()).ok_or_else(|| "1 to 64 characters".into())
}

#[derive(Args)]
#[command(after_help = crate::api_env_help!())]
pub struct ShowArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// The key's id (`key_…`).
    #[arg(value_parser = parse::KeyIdParser)]
    key_id: String,
    /// The API's KeyView as JSON.
    #[arg(long)]
    json: bool,
}

pub fn list(args: ListArgs) -> Result<(), Fail> {
    let api = Api::connect(&args.edge)?;
    let mut query = Vec::new();
    if let Some(t) = &args.tenant {
        query.push(("tenant", t.clone()));
    }
    if let Some(s) = args.status {
        query.push(("status", s.to_possible_value().expect("every status has a name").get_name().to_owned()));
    }
    if let Some(d) = &args.expiring {
        query.push(("expiring_within", d.clone()));
    }
    if let Some(p) = &args.label_prefix {
        query.push(("label_prefix", p.clone()));
    }
    let listing = page::all(&api, "key list", "/keys", &query, &args.paging)?;
    if args.json {
        return output::json(&listing);
    }
    println!("{:<22} {:<14} {:<16} {:<21} {:<21} {:<17} LABEL", "KEY ID", "STATUS", "TENANT", "EXPIRES", "LAST USED", "PEPPER");
    for item in listing["items"].as_array().into_iter().flatten() {
        println!(
            "{:<22} {:<14} {:<16} {:<21} {:<21} {:<17} {}",
            text(item, "key_id"),
            text(item, "status"),
            text(item, "tenant"),
            text(item, "expires_at"),
            when(item, "last_used_at"),
            text(item, "pepper"),
            text(item, "label")
        );
    }
    for error in listing["errors"].as_array().into_iter().flatten() {
        println!("{:<22} {:<14} {}", text(error, "key_id"), text(error, "problem"), text(error, "detail"));
    }
    if listing["errors"].as_array().is_some_and(|e| !e.is_empty()) {
        eprintln!("keys without a listing summary were written around the API: `provgate key update <id> --repair` writes it");
    }
    page::note_more(&listing, "keys");
    Ok(())
}

pub fn show(args: ShowArgs) -> Result<(), Fail> {
    let api = Api::connect(&args.edge)?;
    let view = api.get("key show", &format!("/keys/{}", args.key_id), &[])?;
    if args.json {
        return output::json(&view);
    }
    output::key_view(&view);
    Ok(())
}
