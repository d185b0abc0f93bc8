//! `provgate key revoke`: stop a key at once, everywhere.
//!
//! Two steps, in this order:
//! 1. tell the key's guard through the edge's admin route (instant: the
//!    next request anywhere gets 401);
//! 2. set the KV record's status to `revoked` (the durable truth; KV takes
//!    up to a minute to reach every location).
//!
//! If the edge cannot be reached, the record is still updated and the
//! command fails, saying the key stops only after KV propagation.

use super::{secrets, store, Local, Where};
use crate::core::key::KeyId;
use crate::core::lookup::{index_name, IndexEntry};
use crate::core::record::{KeyRecord, Status};
use clap::Args;

#[derive(Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    target: Where,
    #[command(flatten)]
    local: Local,
    /// The key's id (`key_…`).
    key_id: String,
    /// The edge's base URL for the admin route (default with --local:
    /// http://127.0.0.1:8787; with --remote: $PROVGATE_EDGE_URL).
    #[arg(long)]
    edge_url: Option<String>,
}

pub fn run(args: RevokeArgs) -> Result<(), String> {
    let key_id = KeyId::parse(&args.key_id).ok_or_else(|| format!("{:?} is not a key id (key_…)", args.key_id))?;
    let kv = store(args.target.remote, &args.local);
    let index = kv.get(&index_name(key_id.as_str()))?.ok_or_else(|| format!("no key {key_id} in this store"))?;
    let index: IndexEntry = serde_json::from_str(&index).map_err(|e| format!("index of {key_id} is unreadable: {e}"))?;
    let stored = kv.get(&index.record)?.ok_or_else(|| format!("the record of {key_id} is missing"))?;
    let mut record = KeyRecord::decode(stored.as_bytes()).map_err(|e| format!("the record of {key_id} is unreadable: {e}"))?;

    let edge_url = match (args.edge_url, args.target.remote) {
        (Some(url), _) => url,
        (None, false) => "http://127.0.0.1:8787".to_owned(),
        (None, true) => std::env::var("PROVGATE_EDGE_URL").map_err(|_| "--remote needs --edge-url or PROVGATE_EDGE_URL".to_owned())?,
    };
    let told_edge = tell_edge(&edge_url, key_id.as_str());

    record.status = Status::Revoked;
    kv.put(&index.record, &record.encode())?;
    match told_edge {
        Ok(()) => {
            println!("revoked {key_id}: refused at the edge now, and in the KV record");
            Ok(())
        }
        Err(e) => Err(format!(
            "the KV record of {key_id} says revoked, but the edge could not be told ({e}): \
             the key stops only when KV propagates (up to about 60 s). Retry to stop it at once."
        )),
    }
}

fn tell_edge(edge_url: &str, key_id: &str) -> Result<(), String> {
    let token = secrets::load("ADMIN_TOKEN")?;
    let url = format!("{}/_provgate/admin/revoke", edge_url.trim_end_matches('/'));
    let body = serde_json::json!({ "key_id": key_id }).to_string();
    let response = ureq::post(&url)
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "application/json")
        .send(body.as_bytes())
        .map_err(|e| e.to_string())?;
    if response.status() == 200 {
        Ok(())
    } else {
        Err(format!("the edge answered {}", response.status()))
    }
}
