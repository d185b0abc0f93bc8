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
        self.kv_command(&["key", verb])
    }

    fn kv_command(&self, words: &[&str]) -> Command {
        let program = std::env::var("PROVGATE_WRANGLER").unwrap_or_else(|_| "node_modules/.bin/wrangler".into());
        let mut cmd = Command::new(program);
        cmd.env("WRANGLER_SEND_METRICS", "false");
        cmd.arg("kv").args(words).arg(if self.remote { "--remote" } else { "--local" });
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

impl Store {
    /// Names with `prefix` (`wrangler kv key list --prefix`).
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, String> {
        let mut cmd = self.kv_command(&["key", "list"]);
        cmd.args(["--prefix", prefix]);
        let out = Self::run(cmd, "list")?;
        let names: Vec<serde_json::Value> =
            serde_json::from_slice(&out).map_err(|e| format!("wrangler kv key list printed no JSON: {e}"))?;
        Ok(names.iter().filter_map(|n| n["name"].as_str().map(str::to_owned)).collect())
    }

    /// Values of many names at once (`wrangler kv bulk get`); absent → `None`.
    pub fn bulk_get(&self, names: &[String]) -> Result<std::collections::HashMap<String, Option<String>>, String> {
        if names.is_empty() {
            return Ok(Default::default());
        }
        let file = std::env::temp_dir().join(format!("provgate-keys-{}.json", std::process::id()));
        std::fs::write(&file, serde_json::to_vec(names).expect("names serialise")).map_err(|e| e.to_string())?;
        let mut cmd = self.kv_command(&["bulk", "get"]);
        cmd.arg(&file);
        let out = Self::run(cmd, "bulk get");
        let _ = std::fs::remove_file(&file);
        let out = String::from_utf8(out?).map_err(|_| "wrangler printed non-UTF-8".to_owned())?;
        // The JSON object is followed by a "Success!" line.
        let json = out.get(..=out.rfind('}').unwrap_or(0)).unwrap_or_default();
        let map: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(json).map_err(|e| format!("wrangler kv bulk get printed no JSON: {e}"))?;
        Ok(map.into_iter().map(|(k, v)| (k, v["value"].as_str().map(str::to_owned))).collect())
    }
}
