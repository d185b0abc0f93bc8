//! `provgate key delete <key-id>`: purge a revoked or expired key (or one
//! whose mint never finished) from KV (`DELETE /keys/{id}`). The edge
//! refuses an active key: revoke it first.

use super::api::Api;
use super::confirm::Yes;
use super::edge::EdgeArgs;
use super::fail::Fail;
use super::{output, parse, revoke};
use clap::Args;
use serde_json::json;

#[derive(Args)]
#[command(after_help = crate::api_env_help!())]
pub struct DeleteArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// The key's id (`key_…`).
    #[arg(value_parser = parse::KeyIdParser)]
    key_id: String,
    #[command(flatten)]
    yes: Yes,
    /// `{"key_id": …, "deleted": true}` as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: DeleteArgs) -> Result<(), Fail> {
    let api = Api::connect(&args.edge)?;
    args.yes.confirm("key delete", || format!("Delete {}? Its record and listing entries go for good.", revoke::named(&api, &args.key_id)))?;
    api.send("key delete", "DELETE", &format!("/keys/{}", args.key_id), &[], None)?;
    if args.json {
        return output::json(&json!({ "key_id": args.key_id, "deleted": true }));
    }
    println!("deleted {}", args.key_id);
    Ok(())
}
