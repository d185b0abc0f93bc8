//! Reading and writing KV through `wrangler`, so the CLI needs no Cloudflare
//! credentials of its own and `--local` uses the very store `wrangler dev`
//! reads.

use std::process::Command;

/// The KV binding the Worker reads records from.
pub const BINDING: &str = "KEYS";

/// Which KV store: the local dev store (optionally in another directory)
/// or the deployed namespace.
#[derive(Debug, Clone)]
pub struct Store {
    pub remote: bool,
    pub persist_to: Option<String>,
}

impl Store {
    fn command(&self, verb: &str) -> Command {
        let program = std::env::var("PROVGATE_WRANGLER").unwrap_or_else(|_| "node_modules/.bin/wrangler".into());
        let mut cmd = Command::new(program);
        cmd.env("WRANGLER_SEND_METRICS", "false");
        cmd.args(["kv", "key", verb, if self.remote { "--remote" } else { "--local" }]);
        cmd.arg(format!("--binding={BINDING}"));
        if let Some(dir) = &self.persist_to {
            cmd.args(["--persist-to", dir]);
        }
        cmd
    }

    fn run(mut cmd: Command, what: &str) -> Result<Vec<u8>, String> {
        let output = cmd.output().map_err(|e| format!("could not run wrangler ({e}); run `make install` or set PROVGATE_WRANGLER"))?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            Err(format!("wrangler kv key {what} failed: {}", String::from_utf8_lossy(&output.stderr).trim()))
        }
    }

    /// `wrangler kv key put name value`.
    pub fn put(&self, name: &str, value: &str) -> Result<(), String> {
        let mut cmd = self.command("put");
        cmd.args([name, value]);
        Self::run(cmd, "put").map(|_| ())
    }

    /// `wrangler kv key get name --text`; `None` when the key is absent.
    pub fn get(&self, name: &str) -> Result<Option<String>, String> {
        let mut cmd = self.command("get");
        cmd.args([name, "--text"]);
        let out = String::from_utf8(Self::run(cmd, "get")?).map_err(|_| format!("{name}: not UTF-8"))?;
        // wrangler prints "Value not found" for a missing key.
        Ok((!out.trim().is_empty() && out.trim() != "Value not found").then(|| out.trim_end_matches('\n').to_owned()))
    }
}
