//! Writing KV through `wrangler`, so the CLI needs no Cloudflare credentials
//! of its own and `--local` writes the very store `wrangler dev` reads.

use std::process::Command;

/// The KV binding the Worker reads records from.
pub const BINDING: &str = "KEYS";

/// `wrangler` from the project's node_modules, or `PROVGATE_WRANGLER`.
fn wrangler() -> Command {
    let program = std::env::var("PROVGATE_WRANGLER").unwrap_or_else(|_| "node_modules/.bin/wrangler".into());
    let mut cmd = Command::new(program);
    cmd.env("WRANGLER_SEND_METRICS", "false");
    cmd
}

/// `wrangler kv key put --local|--remote --binding=KEYS name value`.
pub fn put(remote: bool, name: &str, value: &str) -> Result<(), String> {
    let output = wrangler()
        .args(["kv", "key", "put", if remote { "--remote" } else { "--local" }])
        .arg(format!("--binding={BINDING}"))
        .args([name, value])
        .output()
        .map_err(|e| format!("could not run wrangler ({e}); run `make install` or set PROVGATE_WRANGLER"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("wrangler kv key put failed: {}", String::from_utf8_lossy(&output.stderr).trim()))
    }
}
