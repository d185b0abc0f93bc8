//! `provgate token mint|list|show|revoke`: the management API's own
//! credentials (`/tokens`). A token is shown once, at mint; revoking one is
//! instant everywhere.

use super::api::Api;
use super::confirm::Yes;
use super::edge::EdgeArgs;
use super::fail::Fail;
use super::output::{self, text};
use super::page::{self, Paging};
use super::parse;
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Mint a management token: prints its id and the token (once).
    Mint(MintArgs),
    /// List management tokens (never a token or a hash).
    List(ListArgs),
    /// Show one management token by id.
    Show(IdArgs),
    /// Revoke a management token: refused everywhere from its next call on.
    Revoke(RevokeArgs),
}

#[derive(Args)]
#[command(after_help = crate::api_env_help!())]
pub struct MintArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// What the token is for, e.g. "admin UI for acme".
    #[arg(long, value_parser = parse::label)]
    label: String,
    /// Comma-separated: keys:read, keys:write, keys:revoke, usage:read, tokens:admin.
    #[arg(long, required = true, value_delimiter = ',', value_parser = parse::token_scope)]
    scopes: Vec<String>,
    /// Restrict the token to one tenant's keys.
    #[arg(long, value_parser = parse::tenant)]
    tenant: Option<String>,
    /// Lifetime from now, e.g. 365d; without it (or --expires-at) the token does not expire.
    #[arg(long, value_name = "DURATION", value_parser = parse::positive_duration, conflicts_with = "expires_at")]
    expires: Option<String>,
    /// Expiry as an RFC 3339 time in UTC.
    #[arg(long, value_name = "TIME", value_parser = parse::timestamp)]
    expires_at: Option<String>,
    /// The API's answer as JSON (it holds the token: keep it out of logs).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(after_help = crate::api_env_help!())]
pub struct ListArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    #[command(flatten)]
    paging: Paging,
    /// One JSON document: the API's TokenList with every page's items.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(after_help = crate::api_env_help!())]
pub struct IdArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// The token's id (`tok_…`).
    #[arg(value_parser = parse::TokenIdParser)]
    token_id: String,
    /// The API's TokenView as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(after_help = crate::api_env_help!())]
pub struct RevokeArgs {
    #[command(flatten)]
    id: IdArgs,
    #[command(flatten)]
    yes: Yes,
}

pub fn run(command: TokenCommand) -> Result<(), Fail> {
    match command {
        TokenCommand::Mint(args) => mint(args),
        TokenCommand::List(args) => list(args),
        TokenCommand::Show(args) => show(args),
        TokenCommand::Revoke(args) => revoke(args),
    }
}

fn mint(args: MintArgs) -> Result<(), Fail> {
    let api = Api::connect(&args.edge)?;
    let mut body = Map::new();
    body.insert("label".into(), json!(args.label));
    body.insert("scopes".into(), json!(args.scopes));
    for (name, value) in [("tenant", &args.tenant), ("expires_in", &args.expires), ("expires_at", &args.expires_at)] {
        if let Some(v) = value {
            body.insert(name.into(), json!(v));
        }
    }
    let answer = api.send("token mint", "POST", "/tokens", &[], Some(&Value::Object(body)))?;
    if args.json {
        return output::json(&answer);
    }
    println!("token id: {}", text(&answer, "token_id"));
    println!("token:    {}", answer["token"].as_str().unwrap_or("-"));
    eprintln!("The token is shown once: store it in your secret manager now (only its HMAC is stored). Tools read it from PROVGATE_TOKEN.");
    Ok(())
}

fn list(args: ListArgs) -> Result<(), Fail> {
    let api = Api::connect(&args.edge)?;
    let listing = page::all(&api, "token list", "/tokens", &[], &args.paging)?;
    if args.json {
        return output::json(&listing);
    }
    println!("{:<22} {:<9} {:<16} {:<44} {:<21} LABEL", "TOKEN ID", "STATUS", "TENANT", "SCOPES", "EXPIRES");
    for item in listing["items"].as_array().into_iter().flatten() {
        println!(
            "{:<22} {:<9} {:<16} {:<44} {:<21} {}",
            text(item, "token_id"),
            text(item, "status"),
            text(item, "tenant"),
            text(item, "scopes"),
            text(item, "expires_at"),
            text(item, "label")
        );
    }
    for error in listing["errors"].as_array().into_iter().flatten() {
        println!("{:<22} {:<9} {}", text(error, "token_id"), text(error, "problem"), text(error, "detail"));
    }
    page::note_more(&listing, "tokens");
    Ok(())
}

fn show(args: IdArgs) -> Result<(), Fail> {
    let api = Api::connect(&args.edge)?;
    let view = api.get("token show", &format!("/tokens/{}", args.token_id), &[])?;
    if args.json {
        return output::json(&view);
    }
    print_view(&view);
    Ok(())
}

fn revoke(args: RevokeArgs) -> Result<(), Fail> {
    let id = &args.id;
    let api = Api::connect(&id.edge)?;
    args.yes.confirm("token revoke", || {
        let label = api.get("token show", &format!("/tokens/{}", id.token_id), &[]).map(|a| format!(" ({})", text(&a["record"], "label"))).unwrap_or_default();
        format!("Revoke {}{label}? Every call with it is refused from now on; this cannot be undone.", id.token_id)
    })?;
    let view = api.send("token revoke", "POST", &format!("/tokens/{}/revoke", id.token_id), &[], None)?;
    if id.json {
        return output::json(&view);
    }
    println!("revoked {}: refused from its next call on, everywhere", id.token_id);
    Ok(())
}

fn print_view(view: &Value) {
    let record = &view["record"];
    for (name, value) in [
        ("token_id", text(view, "token_id")),
        ("status", text(view, "status")),
        ("label", text(record, "label")),
        ("scopes", text(record, "scopes")),
        ("tenant", text(record, "tenant")),
        ("created_at", text(record, "created_at")),
        ("created_by", text(record, "created_by")),
        ("expires_at", text(record, "expires_at")),
        ("revoked_at_edge", text(view, "revoked_at_edge")),
    ] {
        println!("{:<16} {value}", format!("{name}:"));
    }
}
