//! `provgate key mint`.

use super::{keys, secrets, store, Emit, Local, Target};
use crate::core::key::KeyId;
use crate::core::record::{parse_network, valid_tenant, KeyRecord, Status};
use crate::core::scope;
use crate::core::time::parse_duration;
use clap::Args;

#[derive(Args)]
pub struct MintArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    local: Local,
    /// What the key is for, e.g. "Okta production".
    #[arg(long)]
    label: String,
    /// The customer tenant the key belongs to.
    #[arg(long)]
    tenant: Option<String>,
    /// Comma-separated scopes: `users:read,groups:write`, `bulk`, `me`, or `*`.
    #[arg(long, default_value = "users:read,users:write,groups:read,groups:write")]
    scopes: String,
    /// Lifetime, e.g. `90d` or `24h`; without it the key does not expire.
    #[arg(long)]
    expires: Option<String>,
    /// Client networks allowed to use the key, comma-separated CIDRs or
    /// addresses (`203.0.113.0/24,2001:db8::/32`); default: anywhere.
    #[arg(long, value_delimiter = ',')]
    allow_ip: Vec<String>,
    /// Sustained requests per minute (default: the edge's RATE_PER_MINUTE).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    rate_per_minute: Option<u32>,
    /// Requests allowed at once from idle (default: the edge's BURST).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    burst: Option<u32>,
}

pub fn run(args: MintArgs) -> Result<(), String> {
    // Everything is validated before anything is written.
    let now = keys::now();
    let scopes = scope::parse_list(&args.scopes).map_err(|e| e.to_string())?;
    if scopes.is_empty() {
        return Err("--scopes is empty: a key that may do nothing is useless".into());
    }
    if let Some(t) = &args.tenant {
        if !valid_tenant(t) {
            return Err(format!("invalid --tenant {t:?}: a letter or digit, then letters, digits and ._- (at most 128)"));
        }
    }
    let expires_at = match &args.expires {
        None => None,
        Some(text) => Some(now.plus(parse_duration(text).ok_or_else(|| format!("invalid --expires {text:?}: use e.g. 90d, 24h"))?)),
    };
    let allow_ips = args
        .allow_ip
        .iter()
        .map(|n| parse_network(n).ok_or_else(|| format!("invalid --allow-ip {n:?}: use a CIDR such as 203.0.113.0/24 or an address")))
        .collect::<Result<Vec<_>, _>>()?;
    let pepper = secrets::load("PEPPER")?.into_bytes();

    let minted = keys::mint(
        &pepper,
        KeyRecord {
            key_id: KeyId::parse("key_0").expect("placeholder id"),
            label: args.label,
            tenant: args.tenant,
            scopes,
            status: Status::Active,
            created_at: now,
            not_before: None,
            expires_at,
            allow_ips,
            rate_per_minute: args.rate_per_minute,
            burst: args.burst,
            rotated_from: None,
            auth: Default::default(),
        },
    );
    match args.target.emit {
        Some(Emit::Json) => {
            println!("{}", keys::bulk_json(&minted.entries));
            // stdout is the pipeline's; the key goes to the operator only.
            eprintln!("key id: {}\nkey:    {}", minted.record.key_id, minted.key.expose());
        }
        None => {
            keys::write(&store(args.target.remote, &args.local), &minted.entries)?;
            println!("key id: {}\nkey:    {}", minted.record.key_id, minted.key.expose());
            eprintln!("The key is shown once: paste it into the IdP now. Only its HMAC is stored.");
        }
    }
    Ok(())
}
