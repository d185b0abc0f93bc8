//! `provgate key mint`: through the API (`POST /keys`), or offline with
//! `--emit json` for pipelines that write KV themselves (`offline`).

use super::api::Api;
use super::edge::EdgeArgs;
use super::fail::Fail;
use super::{offline, output, parse};
use clap::{Args, ValueEnum};
use serde_json::{json, Map, Value};

#[derive(Args)]
#[command(after_help = concat!(
    crate::api_env_help!(),
    "\n  PEPPER               with --emit json only: the edge's pepper (never needed otherwise)",
    "\n  PEPPER_ID            with --emit json only: the pepper's published fingerprint (or --pepper-id)",
))]
pub struct MintArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// What the key is for, e.g. "Okta production".
    #[arg(long, value_parser = parse::label)]
    pub label: String,
    /// The customer tenant the key belongs to (a tenant-restricted token implies its own).
    #[arg(long, value_parser = parse::tenant)]
    pub tenant: Option<String>,
    /// Comma-separated scopes: users:read,groups:write, bulk, me, or * (required: no broad default).
    #[arg(long, required = true, value_delimiter = ',', value_parser = parse::scope)]
    pub scopes: Vec<String>,
    /// Lifetime from now, e.g. 90d or 24h; without it (or --expires-at) the key does not expire.
    #[arg(long, value_name = "DURATION", value_parser = parse::positive_duration, conflicts_with = "expires_at")]
    pub expires: Option<String>,
    /// Expiry as an RFC 3339 time in UTC, e.g. 2027-01-31T00:00:00Z.
    #[arg(long, value_name = "TIME", value_parser = parse::timestamp)]
    pub expires_at: Option<String>,
    /// The key works from this RFC 3339 time on.
    #[arg(long, value_name = "TIME", value_parser = parse::timestamp)]
    pub not_before: Option<String>,
    /// Client networks allowed to use the key: comma-separated CIDRs or addresses; default anywhere.
    #[arg(long, value_name = "CIDR", value_delimiter = ',', value_parser = parse::network)]
    pub allow_ip: Vec<String>,
    /// Sustained requests per minute (default: the edge's RATE_PER_MINUTE).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate_per_minute: Option<u32>,
    /// Requests allowed at once from idle (default: the edge's BURST).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub burst: Option<u32>,
    /// The quota for an identity provider's traffic (entra, okta, onelogin, jumpcloud, google).
    #[arg(long, value_name = "IDP", value_parser = parse::preset, conflicts_with_all = ["rate_per_minute", "burst"])]
    pub preset: Option<String>,
    /// How the key may be used, comma-separated: bearer (the key on SCIM requests, the default),
    /// client_credentials, authorization_code (OAuth 2.0; without bearer the key works only through OAuth).
    #[arg(long, value_name = "MODE", value_delimiter = ',', value_parser = parse::auth_mode)]
    pub auth_modes: Vec<String>,
    /// Where OAuth authorization codes may be sent: an exact https:// URI (repeatable, at most 10).
    #[arg(long = "redirect-uri", value_name = "URI", value_parser = parse::redirect_uri)]
    pub redirect_uris: Vec<String>,
    /// OAuth authorization requests must carry a PKCE S256 challenge.
    #[arg(long)]
    pub pkce_required: bool,
    /// Your own label on the key, NAME=VALUE (repeatable; copied by rotation).
    #[arg(long = "metadata", value_name = "NAME=VALUE", value_parser = parse::metadata_entry, conflicts_with = "emit")]
    pub metadata: Vec<(String, String)>,
    /// A retried mint with the same key never makes a second key (e.g. a UUID per intended mint).
    #[arg(long, value_name = "KEY", value_parser = parse::idempotency_key)]
    idempotency_key: Option<String>,
    /// Print the API's answer as JSON (it holds the key: keep it out of logs).
    #[arg(long)]
    json: bool,
    /// Offline: print the KV entries (a `wrangler kv bulk put` array) instead of calling the API.
    #[arg(long, value_enum, conflicts_with_all = ["edge", "local", "idempotency_key", "json"])]
    pub emit: Option<Emit>,
    /// With --emit: the published fingerprint PEPPER must match (default: $PEPPER_ID).
    #[arg(long, value_name = "ID", requires = "emit")]
    pub pepper_id: Option<String>,
}

/// Output formats of `--emit`.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum Emit {
    /// A `wrangler kv bulk put` array.
    Json,
}

impl MintArgs {
    /// The quota the flags ask for: explicit numbers, or a preset's.
    /// The record's OAuth fields from the flags (the offline mint's record).
    pub fn auth(&self) -> Result<crate::core::oauth::policy::AuthPolicy, String> {
        use crate::core::oauth::policy::{AuthPolicy, Mode, RedirectUri};
        use crate::core::parsed::FromText;
        let modes = (!self.auth_modes.is_empty()).then(|| self.auth_modes.iter().filter_map(|m| Mode::from_text(m)).collect());
        let uris = self.redirect_uris.iter().filter_map(|u| RedirectUri::parse(u)).collect();
        AuthPolicy::from_fields(modes, uris, self.pkce_required).map_err(str::to_owned)
    }

    pub fn quota(&self) -> (Option<u32>, Option<u32>) {
        match self.preset.as_deref().and_then(crate::core::preset::named) {
            Some(q) => (Some(q.rate_per_minute.get()), Some(q.burst.get())),
            None => (self.rate_per_minute, self.burst),
        }
    }

    fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("label".into(), json!(self.label));
        body.insert("scopes".into(), json!(self.scopes));
        let (rate, burst) = self.quota();
        let optional = [
            ("tenant", self.tenant.as_ref().map(|t| json!(t))),
            ("expires_in", self.expires.as_ref().map(|d| json!(d))),
            ("expires_at", self.expires_at.as_ref().map(|t| json!(t))),
            ("not_before", self.not_before.as_ref().map(|t| json!(t))),
            ("allow_ips", (!self.allow_ip.is_empty()).then(|| json!(self.allow_ip))),
            ("rate_per_minute", rate.map(|r| json!(r))),
            ("burst", burst.map(|b| json!(b))),
            ("auth_modes", (!self.auth_modes.is_empty()).then(|| json!(self.auth_modes))),
            ("redirect_uris", (!self.redirect_uris.is_empty()).then(|| json!(self.redirect_uris))),
            ("pkce_required", self.pkce_required.then(|| json!(true))),
            ("metadata", (!self.metadata.is_empty()).then(|| Value::Object(self.metadata.iter().map(|(k, v)| (k.clone(), json!(v))).collect()))),
        ];
        for (name, value) in optional {
            if let Some(v) = value {
                body.insert(name.into(), v);
            }
        }
        Value::Object(body)
    }
}

pub fn run(args: MintArgs) -> Result<(), Fail> {
    if args.emit.is_some() {
        return offline::emit(&args);
    }
    let api = Api::connect(&args.edge)?;
    let headers: Vec<(&str, String)> = args.idempotency_key.iter().map(|k| ("idempotency-key", k.clone())).collect();
    let answer = api.send("key mint", "POST", "/keys", &headers, Some(&args.body()))?;
    if args.json {
        return output::json(&answer);
    }
    output::minted(&answer);
    Ok(())
}
