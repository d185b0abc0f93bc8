//! `provgate key revoke`: stop a key at once, everywhere.
//!
//! Two steps, in this order:
//! 1. revoke it through the edge's management API (instant: the next
//!    request anywhere gets 401; the API also writes the record);
//! 2. set the KV record's status to `revoked` (the durable truth; KV takes
//!    up to a minute to reach every location).
//!
//! If the edge cannot be reached, the record is still updated and the
//! command fails, saying the key stops only after KV propagation.

use super::edge::{self, EdgeUrl};
use super::{keys, store, Emit, Local, Target};
use crate::core::record::Status;
use clap::Args;

#[derive(Args)]
pub struct RevokeArgs {
    #[command(flatten)]
    target: Target,
    #[command(flatten)]
    local: Local,
    /// The key's id (`key_…`).
    key_id: String,
    #[command(flatten)]
    edge: EdgeUrl,
}

pub fn run(args: RevokeArgs) -> Result<(), String> {
    let kv = store(args.target.remote, &args.local);
    let keys::Stored { index, mut record } = keys::load(&kv, &args.key_id)?;
    let key_id = record.key_id.clone();
    record.status = Status::Revoked;
    if let Some(Emit::Json) = args.target.emit {
        // For pipelines that write KV themselves; the edge's guard is not told.
        println!("{}", keys::bulk_json(&[(index.record, record.encode())]));
        eprintln!("{key_id}: write this entry to revoke it (within KV propagation); `provgate key revoke --remote` also stops it at the edge at once");
        return Ok(());
    }

    let edge_url = args.edge.resolve(args.target.remote)?;
    let told_edge = edge::call(&edge_url, "POST", &format!("keys/{key_id}/revoke")).map(|_| ());
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
