//! `provgate key rotate <key-id> --grace 24h`: zero-downtime replacement.
//!
//! The new key copies the old one's label, tenant, scopes, limits and
//! allowlist (and its lifetime, if it had one). The old key keeps working
//! for the grace period, never past its own expiry. Write order: the new
//! key's index and record, then the old record's shortened expiry; a crash
//! midway leaves both keys valid (no outage), each reachable by its id.

use super::{keys, secrets, store, Emit, Local, Target};
use crate::core::record::Status;
use crate::core::time::parse_duration;
use clap::Args;

#[derive(Args)]
pub struct RotateArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    local: Local,
    /// The key to replace (`key_…`).
    key_id: String,
    /// How long the old key keeps working, e.g. `24h` (at most until its own expiry).
    #[arg(long, default_value = "24h")]
    grace: String,
}

pub fn run(args: RotateArgs) -> Result<(), String> {
    let grace = parse_duration(&args.grace).ok_or_else(|| format!("invalid --grace {:?}: use e.g. 24h, 7d", args.grace))?;
    let pepper = secrets::load("PEPPER")?.into_bytes();
    // --emit still reads the old key from a store: --local (default) or --remote.
    let kv = store(args.target.remote, &args.local);
    let old = keys::load(&kv, &args.key_id)?;
    if old.record.status == Status::Revoked {
        return Err(format!("{} is revoked: mint a new key instead", args.key_id));
    }
    let now = keys::now();
    if old.record.expires_at.is_some_and(|t| t <= now) {
        return Err(format!("{} has expired: mint a new key instead", args.key_id));
    }

    let mut template = old.record.clone();
    template.created_at = now;
    template.not_before = None;
    template.expires_at = old.record.expires_at.map(|t| now.plus(std::time::Duration::from_millis(t.0.saturating_sub(old.record.created_at.0))));
    template.rotated_from = Some(old.record.key_id.as_str().to_owned());
    let new = keys::mint(&pepper, template);

    let mut retiring = old.record.clone();
    let grace_end = now.plus(grace);
    retiring.expires_at = Some(retiring.expires_at.map_or(grace_end, |t| t.min(grace_end)));
    let mut entries = new.entries.to_vec();
    entries.push((old.index.record.clone(), retiring.encode()));

    let summary = format!(
        "key id: {}\nkey:    {}\nreplaces {} (valid until {})",
        new.record.key_id,
        new.key.expose(),
        old.record.key_id,
        retiring.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default()
    );
    match args.target.emit {
        Some(Emit::Json) => {
            println!("{}", keys::bulk_json(&entries));
            eprintln!("{summary}");
        }
        None => {
            keys::write(&kv, &entries)?;
            println!("{summary}");
            eprintln!("Paste the new key into the IdP now; it is shown once. The old key stops at the end of the grace period.");
        }
    }
    Ok(())
}
