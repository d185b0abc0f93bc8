//! Calling the edge's management API (`/_provgate/api/v1/…`, docs/api.md)
//! for what only the edge knows (instant revocation, usage), with
//! `PROVGATE_TOKEN` (a management token) or else `ROOT_TOKEN` (from the
//! environment or `.dev.vars`).

use super::secrets;
use clap::Args;
use std::time::Duration;

/// `--edge-url`: where the management API is.
#[derive(Args, Debug, Clone, Default)]
pub struct EdgeUrl {
    /// The edge's base URL for the management API (default with --local:
    /// http://127.0.0.1:8787; with --remote: $PROVGATE_EDGE_URL).
    #[arg(long)]
    edge_url: Option<String>,
}

impl EdgeUrl {
    /// The base URL for a local or remote store.
    pub fn resolve(&self, remote: bool) -> Result<String, String> {
        match (&self.edge_url, remote) {
            (Some(url), _) => Ok(url.trim_end_matches('/').to_owned()),
            (None, false) => Ok("http://127.0.0.1:8787".to_owned()),
            (None, true) => std::env::var("PROVGATE_EDGE_URL")
                .map(|u| u.trim_end_matches('/').to_owned())
                .map_err(|_| "--remote needs --edge-url or PROVGATE_EDGE_URL".to_owned()),
        }
    }
}

/// Calls `method` on the API path `route` (below `/_provgate/api/v1/`) and
/// returns its JSON answer.
pub fn call(edge_url: &str, method: &str, route: &str) -> Result<serde_json::Value, String> {
    let token = match std::env::var("PROVGATE_TOKEN").ok().filter(|t| !t.is_empty()) {
        Some(token) => token,
        None => secrets::load("ROOT_TOKEN")?,
    };
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).http_status_as_error(false).build(),
    );
    let url = format!("{edge_url}/_provgate/api/v1/{route}");
    let authorization = format!("Bearer {token}");
    let sent = if method == "POST" {
        agent.post(&url).header("authorization", &authorization).send_empty()
    } else {
        agent.get(&url).header("authorization", &authorization).call()
    };
    let mut response = sent.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().map_err(|e| e.to_string())?;
    if status != 200 {
        let detail = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["detail"].as_str().map(str::to_owned));
        return Err(format!("the edge answered {status}{}", detail.map(|d| format!(": {d}")).unwrap_or_default()));
    }
    serde_json::from_str(&text).map_err(|e| format!("the edge's answer is not JSON: {e}"))
}
