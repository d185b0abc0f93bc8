//! `provgate key mint --emit json`: a key made on this machine, printed as
//! the KV entries that make it work (a `wrangler kv bulk put` array), for
//! pipelines that write KV themselves. It needs the edge's `PEPPER`, and
//! checks it against the published fingerprint (`PEPPER_ID`, the edge's
//! `[vars]`) before printing anything: a key hashed under another pepper
//! (a dev one) would be unknown at that edge.
//!
//! The entries are those the API's mint writes, in its write order: the
//! index (`id:`, with the key's listing summary as KV metadata), the
//! tenant's entry (`tenant:`), then the record (`hash:`) last; a pipeline
//! that stops midway leaves an index that points at nothing (listed as
//! incomplete), never a working key no id reaches.

use super::fail::{failed, usage, Fail};
use super::mint::MintArgs;
use crate::core::key::{KeyId, ProvisioningKey};
use crate::core::api::summary::Summary;
use crate::core::lookup::{index_name, pepper_id, record_name, tenant_entry, IndexEntry};
use crate::core::record::{parse_network, KeyRecord, Status};
use crate::core::scope::Scope;
use crate::core::UnixMillis;
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn emit(args: &MintArgs) -> Result<(), Fail> {
    let pepper = std::env::var("PEPPER").ok().filter(|p| !p.is_empty()).ok_or_else(|| usage("--emit json needs the edge's PEPPER in the environment"))?;
    let published = args
        .pepper_id
        .clone()
        .or_else(|| std::env::var("PEPPER_ID").ok())
        .filter(|p| !p.trim().is_empty())
        .ok_or_else(|| usage("--emit json needs the pepper's published fingerprint: PEPPER_ID (wrangler.toml [vars]) in the environment, or --pepper-id"))?;
    let ours = pepper_id(pepper.as_bytes());
    if ours != published.trim() {
        return Err(failed(format!(
            "PEPPER does not match PEPPER_ID {}: it is not the pepper that edge uses (its fingerprint is {ours}); nothing printed",
            published.trim()
        )));
    }

    let now = now();
    let (rate_per_minute, burst) = args.quota();
    let scopes = args.scopes.iter().map(|s| s.parse::<Scope>().map_err(|e| usage(e.to_string()))).collect::<Result<Vec<_>, _>>()?;
    let expires_at = match (&args.expires, &args.expires_at) {
        (Some(d), _) => Some(UnixMillis(now.0 + super::parse::duration_millis(d))),
        (None, Some(t)) => UnixMillis::parse_rfc3339(t),
        (None, None) => None,
    };
    let key = ProvisioningKey::generate(fill_random);
    let record = KeyRecord {
        exact_rate: false,
        key_id: KeyId::generate(fill_random),
        label: args.label.clone(),
        tenant: args.tenant.clone(),
        scopes,
        status: Status::Active,
        created_at: now,
        not_before: args.not_before.as_deref().and_then(UnixMillis::parse_rfc3339),
        expires_at,
        allow_ips: args.allow_ip.iter().filter_map(|n| parse_network(n)).collect(),
        rate_per_minute,
        burst,
        rotated_from: None,
        auth: args.auth().map_err(usage)?,
    };
    let name = record_name(pepper.as_bytes(), &key);
    let summary = Summary::of(&record, Some(&ours), None).to_json();
    let index = IndexEntry { v: 1, record: name.clone(), pepper: Some(ours) };
    let mut entries = vec![json!({ "key": index_name(record.key_id.as_str()), "value": serde_json::to_string(&index).expect("an index serialises"), "metadata": summary })];
    if let Some(tenant) = &record.tenant {
        entries.push(json!({ "key": tenant_entry(tenant, record.key_id.as_str()), "value": "", "metadata": summary }));
    }
    entries.push(json!({ "key": name, "value": record.encode() }));
    let entries = serde_json::Value::Array(entries);
    println!("{entries}");
    // stdout is the pipeline's; the key goes to the operator only.
    eprintln!("key id: {}\nkey:    {}", record.key_id, key.expose());
    Ok(())
}

fn fill_random(buf: &mut [u8]) {
    getrandom::getrandom(buf).expect("the operating system's random source is available");
}

/// Now, to the second (records keep whole seconds). `PROVGATE_NOW` (RFC
/// 3339) sets it, to mint records dated in the past or future (tests,
/// backfills).
fn now() -> UnixMillis {
    if let Some(at) = std::env::var("PROVGATE_NOW").ok().and_then(|t| UnixMillis::parse_rfc3339(&t)) {
        return UnixMillis(at.0 / 1000 * 1000);
    }
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    UnixMillis(ms / 1000 * 1000)
}
