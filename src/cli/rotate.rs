//! `provgate key rotate <key-id> --grace 24h`: zero-downtime replacement
//! (`POST /keys/{id}/rotate`). The edge mints the new key with the old
//! one's rights first, then shortens the old key's life to the grace
//! period (never past its own expiry): a failure midway leaves a spare
//! key, never an old key cut short with no successor.

use super::api::Api;
use super::confirm::Yes;
use super::edge::EdgeArgs;
use super::fail::Fail;
use super::{output, parse, revoke};
use clap::Args;
use serde_json::{json, Map, Value};

#[derive(Args)]
#[command(after_help = crate::api_env_help!())]
pub struct RotateArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// The key to replace (`key_…`).
    #[arg(value_parser = parse::KeyIdParser)]
    key_id: String,
    /// How long the old key keeps working, e.g. 24h (default 7d; 0s ends it now).
    #[arg(long, value_name = "DURATION", value_parser = parse::duration)]
    grace: Option<String>,
    /// A label for the new key (default: the old one's).
    #[arg(long, value_parser = parse::label)]
    label: Option<String>,
    /// A retried rotation with the same key never makes a second new key.
    #[arg(long, value_name = "KEY", value_parser = parse::idempotency_key)]
    idempotency_key: Option<String>,
    #[command(flatten)]
    yes: Yes,
    /// The API's answer as JSON (it holds the new key: keep it out of logs).
    #[arg(long)]
    json: bool,
}

pub fn run(args: RotateArgs) -> Result<(), Fail> {
    let api = Api::connect(&args.edge)?;
    let grace = args.grace.clone().unwrap_or_else(|| "7d".into());
    args.yes.confirm("key rotate", || {
        format!("Rotate {}? A new key gets its rights; the old one keeps working for {grace} (at most until its own expiry).", revoke::named(&api, &args.key_id))
    })?;
    let mut body = Map::new();
    if let Some(g) = &args.grace {
        body.insert("grace".into(), json!(g));
    }
    if let Some(l) = &args.label {
        body.insert("label".into(), json!(l));
    }
    let headers: Vec<(&str, String)> = args.idempotency_key.iter().map(|k| ("idempotency-key", k.clone())).collect();
    let answer = api.send("key rotate", "POST", &format!("/keys/{}/rotate", args.key_id), &headers, Some(&Value::Object(body)))?;
    if args.json {
        return output::json(&answer);
    }
    output::minted(&answer);
    Ok(())
}
