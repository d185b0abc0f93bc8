//! Calling the edge's admin routes (`/_provgate/admin/…`) with `ADMIN_TOKEN`:
//! the one way in the CLI uses for what only the edge knows (instant
//! revocation, usage).

use super::secrets;
use clap::Args;
use std::time::Duration;

/// `--edge-url`: where the admin routes are.
#[derive(Args, Debug, Clone, Default)]
pub struct EdgeUrl {
    /// The edge's base URL for the admin routes (default with --local:
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

/// POSTs `body` to an admin route and returns its JSON answer.
pub fn post(edge_url: &str, route: &str, body: &serde_json::Value) -> Result<serde_json::Value, String> {
    let token = secrets::load("ADMIN_TOKEN")?;
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(30))).http_status_as_error(false).build(),
    );
    let mut response = agent
        .post(&format!("{edge_url}/_provgate/admin/{route}"))
        .header("authorization", &format!("Bearer {token}"))
        .header("content-type", "application/json")
        .send(body.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().map_err(|e| e.to_string())?;
    if status != 200 {
        let detail = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["detail"].as_str().map(str::to_owned));
        return Err(format!("the edge answered {status}{}", detail.map(|d| format!(": {d}")).unwrap_or_default()));
    }
    serde_json::from_str(&text).map_err(|e| format!("the edge's answer is not JSON: {e}"))
}
