//! `provgate key revoke <key-id>`: stop a key at once, everywhere
//! (`POST /keys/{id}/revoke`). The edge tells the key's guard first (the
//! next request anywhere is refused), then writes the record's status.

use super::api::Api;
use super::confirm::Yes;
use super::edge::EdgeArgs;
use super::fail::Fail;
use super::{output, parse};
use clap::Args;

#[derive(Args)]
#[command(after_help = crate::api_env_help!())]
pub struct RevokeArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// The key's id (`key_…`).
    #[arg(value_parser = parse::KeyIdParser)]
    key_id: String,
    #[command(flatten)]
    yes: Yes,
    /// The API's KeyView after revocation, as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(args: RevokeArgs) -> Result<(), Fail> {
    let api = Api::connect(&args.edge)?;
    args.yes.confirm("key revoke", || format!("Revoke {}? Every request with it is refused from now on; this cannot be undone.", named(&api, &args.key_id)))?;
    let view = api.send("key revoke", "POST", &format!("/keys/{}/revoke", args.key_id), &[], None)?;
    if args.json {
        return output::json(&view);
    }
    println!("revoked {}: refused at the edge from now on, everywhere", args.key_id);
    Ok(())
}

/// "key_… (label, tenant T)" for a confirmation question; the id alone if
/// the token may not read the key.
pub fn named(api: &Api, key_id: &str) -> String {
    match api.get("key show", &format!("/keys/{key_id}"), &[]) {
        Ok(a) => {
            let r = &a["record"];
            let tenant = r["tenant"].as_str().map(|t| format!(", tenant {t}")).unwrap_or_default();
            format!("{key_id} ({}{tenant}, {})", output::text(r, "label"), output::text(&a, "status"))
        }
        Err(_) => key_id.to_owned(),
    }
}
