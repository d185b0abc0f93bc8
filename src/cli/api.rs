//! The management API client: JSON in and out under `/_provgate/api/v1`,
//! with the token in `Authorization`; any answer that is not a success
//! becomes one line saying what to fix (see `problem`).

use super::edge::{EdgeArgs, Token};
use super::fail::{failed, Fail};
use super::{http, problem};
use serde_json::Value;
use ureq::Agent;
use url::Url;

/// Where the API lives on every edge.
pub const API_PREFIX: &str = "/_provgate/api/v1";

/// A connection to one edge's API.
pub struct Api {
    base: Url,
    token: Token,
    agent: Agent,
    local: bool,
}

impl Api {
    /// The edge and credential the command line and environment name.
    pub fn connect(edge: &EdgeArgs) -> Result<Self, Fail> {
        let base = edge.url()?;
        let token = edge.required_token()?;
        Ok(Self { base, token, agent: http::agent(), local: edge.local })
    }

    /// `GET path?query`: the answer's JSON.
    pub fn get(&self, what: &str, path: &str, query: &[(&str, String)]) -> Result<Value, Fail> {
        self.call(what, "GET", path, query, &[], None)
    }

    /// A request with a JSON body (or none) and extra headers: the answer's
    /// JSON (`null` for 204).
    pub fn send(&self, what: &str, method: &str, path: &str, headers: &[(&str, String)], body: Option<&Value>) -> Result<Value, Fail> {
        self.call(what, method, path, &[], headers, body)
    }

    fn call(&self, what: &str, method: &str, path: &str, query: &[(&str, String)], extra: &[(&str, String)], body: Option<&Value>) -> Result<Value, Fail> {
        let mut url = self.base.join(&format!("{API_PREFIX}{path}")).map_err(|e| failed(format!("{what}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        let mut headers = vec![("authorization", self.token.bearer()), ("accept", "application/json, application/problem+json".to_owned())];
        if body.is_some() {
            headers.push(("content-type", "application/json".to_owned()));
        }
        headers.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
        let bytes = body.map(|b| b.to_string().into_bytes());
        let reply = http::send(&self.agent, method, &url, &headers, bytes).map_err(|e| failed(self.unreachable(what, &e)))?;
        if !(200..300).contains(&reply.status) {
            return Err(failed(problem::describe(&reply, what)));
        }
        if reply.status == 204 || reply.text.is_empty() {
            return Ok(Value::Null);
        }
        reply.json().ok_or_else(|| failed(format!("{what}: the edge's answer is not JSON: is this a provgate edge?")))
    }

    fn unreachable(&self, what: &str, error: &str) -> String {
        let host = self.base.host_str().unwrap_or_default();
        let port = self.base.port_or_known_default().unwrap_or_default();
        let hint = if self.local { ": is `make dev` running?" } else { "" };
        format!("{what}: cannot reach the edge at {host}:{port} ({error}){hint}")
    }
}
