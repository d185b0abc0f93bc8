//! `provgate key update <key-id> …`: change what a key may do
//! (`PATCH /keys/{id}`), never the key itself and never its tenant.
//! Only the fields named on the command line are sent; the edge applies
//! them to the stored record one change at a time (no lost update).

use super::api::Api;
use super::edge::EdgeArgs;
use super::fail::{usage, Fail};
use super::{output, parse};
use crate::core::UnixMillis;
use clap::Args;
use serde_json::{json, Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Args)]
#[command(after_help = crate::api_env_help!())]
pub struct UpdateArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// The key's id (`key_…`).
    #[arg(value_parser = parse::KeyIdParser)]
    key_id: String,
    /// A new label.
    #[arg(long, value_parser = parse::label)]
    label: Option<String>,
    /// The new scopes, comma-separated (replaces the old ones).
    #[arg(long, value_delimiter = ',', value_parser = parse::scope)]
    scopes: Option<Vec<String>>,
    /// A new lifetime from now (e.g. 30d), or `never`.
    #[arg(long, value_name = "DURATION|never", value_parser = lifetime, conflicts_with = "expires_at")]
    expires: Option<Value>,
    /// A new expiry as an RFC 3339 time in UTC.
    #[arg(long, value_name = "TIME", value_parser = parse::timestamp)]
    expires_at: Option<String>,
    /// The key works from this RFC 3339 time on, or `none`.
    #[arg(long, value_name = "TIME|none", value_parser = not_before)]
    not_before: Option<Value>,
    /// The client networks allowed (replaces the list): CIDRs or addresses.
    #[arg(long, value_name = "CIDR", value_delimiter = ',', value_parser = parse::network, conflicts_with = "allow_any_ip")]
    allow_ip: Option<Vec<String>>,
    /// Allow the key from any address (clears the list).
    #[arg(long)]
    allow_any_ip: bool,
    /// Sustained requests per minute, or `default` (the edge's RATE_PER_MINUTE).
    #[arg(long, value_name = "N|default", value_parser = limit)]
    rate_per_minute: Option<Value>,
    /// Requests at once from idle, or `default` (the edge's BURST).
    #[arg(long, value_name = "N|default", value_parser = limit)]
    burst: Option<Value>,
    /// The quota for an identity provider's traffic (sets both numbers).
    #[arg(long, value_name = "IDP", value_parser = parse::preset, conflicts_with_all = ["rate_per_minute", "burst"])]
    preset: Option<String>,
    /// How the key may be used (replaces the set): bearer, client_credentials, authorization_code,
    /// comma-separated; `default` for bearer only.
    #[arg(long, value_name = "MODE,…|default", value_parser = auth_modes)]
    auth_modes: Option<Value>,
    /// The OAuth redirect URIs (repeatable; replaces the list).
    #[arg(long = "redirect-uri", value_name = "URI", value_parser = parse::redirect_uri, conflicts_with = "no_redirect_uris")]
    redirect_uris: Vec<String>,
    /// Remove every OAuth redirect URI.
    #[arg(long)]
    no_redirect_uris: bool,
    /// Whether OAuth authorization requests must carry a PKCE S256 challenge.
    #[arg(long, value_name = "BOOL")]
    pkce_required: Option<bool>,
    /// Set a metadata entry (repeatable).
    #[arg(long = "metadata", value_name = "NAME=VALUE", value_parser = parse::metadata_entry)]
    metadata: Vec<(String, String)>,
    /// Remove a metadata entry (repeatable).
    #[arg(long, value_name = "NAME", value_parser = parse::metadata_name)]
    unset_metadata: Vec<String>,
    /// Remove every metadata entry.
    #[arg(long, conflicts_with_all = ["metadata", "unset_metadata"])]
    clear_metadata: bool,
    /// Change only if the stored record still has this ETag (from `key show`).
    #[arg(long, value_name = "ETAG")]
    if_match: Option<String>,
    /// Change nothing: rewrite the record and its listing summaries (keys written around the API).
    #[arg(long, conflicts_with_all = ["label", "scopes", "expires", "expires_at", "not_before", "allow_ip", "allow_any_ip", "rate_per_minute", "burst", "preset", "metadata", "unset_metadata", "clear_metadata", "auth_modes", "redirect_uris", "no_redirect_uris", "pkce_required"])]
    repair: bool,
    /// The API's KeyView after the change, as JSON.
    #[arg(long)]
    json: bool,
}

fn lifetime(text: &str) -> Result<Value, String> {
    if text == "never" {
        return Ok(Value::Null);
    }
    let d = parse::positive_duration(text).map_err(|e| format!("{e}, or never"))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Ok(json!(UnixMillis((now + parse::duration_millis(&d)) / 1000 * 1000).to_rfc3339()))
}

fn not_before(text: &str) -> Result<Value, String> {
    if text == "none" {
        return Ok(Value::Null);
    }
    parse::timestamp(text).map(Value::String).map_err(|e| format!("{e}, or none"))
}

fn auth_modes(text: &str) -> Result<Value, String> {
    if text == "default" {
        return Ok(Value::Null);
    }
    text.split(',').map(parse::auth_mode).collect::<Result<Vec<_>, _>>().map(|m| json!(m)).map_err(|e| format!("{e}, comma-separated, or default"))
}

fn limit(text: &str) -> Result<Value, String> {
    if text == "default" {
        return Ok(Value::Null);
    }
    match text.parse::<u32>() {
        Ok(n) if n >= 1 => Ok(json!(n)),
        _ => Err("expected a number from 1 to 4294967295, or default".into()),
    }
}

impl UpdateArgs {
    fn patch(&self) -> Value {
        let mut patch = Map::new();
        let mut put = |name: &str, value: Option<Value>| {
            if let Some(v) = value {
                patch.insert(name.into(), v);
            }
        };
        put("label", self.label.as_ref().map(|l| json!(l)));
        put("scopes", self.scopes.as_ref().map(|s| json!(s)));
        put("expires_at", self.expires.clone().or_else(|| self.expires_at.as_ref().map(|t| json!(t))));
        put("not_before", self.not_before.clone());
        put("allow_ips", if self.allow_any_ip { Some(Value::Null) } else { self.allow_ip.as_ref().map(|n| json!(n)) });
        let preset = self.preset.as_deref().and_then(crate::core::preset::named);
        put("rate_per_minute", preset.map(|q| json!(q.rate_per_minute.get())).or_else(|| self.rate_per_minute.clone()));
        put("burst", preset.map(|q| json!(q.burst.get())).or_else(|| self.burst.clone()));
        put("auth_modes", self.auth_modes.clone());
        put("redirect_uris", if self.no_redirect_uris { Some(Value::Null) } else { (!self.redirect_uris.is_empty()).then(|| json!(self.redirect_uris)) });
        put("pkce_required", self.pkce_required.map(|p| json!(p)));
        if self.clear_metadata {
            put("metadata", Some(Value::Null));
        } else if !self.metadata.is_empty() || !self.unset_metadata.is_empty() {
            let mut m: Map<String, Value> = self.metadata.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
            m.extend(self.unset_metadata.iter().map(|k| (k.clone(), Value::Null)));
            put("metadata", Some(Value::Object(m)));
        }
        Value::Object(patch)
    }
}

pub fn run(args: UpdateArgs) -> Result<(), Fail> {
    let patch = args.patch();
    if patch.as_object().is_some_and(Map::is_empty) && !args.repair {
        return Err(usage("nothing to change: name a field (see --help), or --repair to rewrite the record and its listing summaries unchanged"));
    }
    let api = Api::connect(&args.edge)?;
    let headers: Vec<(&str, String)> = args.if_match.iter().map(|e| ("if-match", e.clone())).collect();
    let view = api.send("key update", "PATCH", &format!("/keys/{}", args.key_id), &headers, Some(&patch))?;
    if args.json {
        return output::json(&view);
    }
    output::key_view(&view);
    Ok(())
}
