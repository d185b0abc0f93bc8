//! One HTTP exchange with an edge (ureq over rustls): a status, headers and
//! a body read whole. Redirects are not followed, so a credential is never
//! carried to another address and the doctor sees what the edge answered.

use std::time::Duration;
use ureq::http::{HeaderMap, Request};
use ureq::Agent;
use url::Url;

/// What came back.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Reply {
    /// A header's value, if it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.text).ok()
    }
}

/// The client every command uses: 30 s per exchange, statuses as answers,
/// and a new connection for each exchange: a kept-alive one the edge closed
/// meanwhile fails with a reset, and a POST cannot safely be sent again.
pub fn agent() -> Agent {
    Agent::new_with_config(
        Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(30)))
            .max_idle_connections(0)
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("provgate-cli/", env!("CARGO_PKG_VERSION")))
            .build(),
    )
}

/// Sends one request; a transport failure is described without the URL's
/// query (the API's queries hold no secret, but a message should not grow).
pub fn send(agent: &Agent, method: &str, url: &Url, headers: &[(&str, String)], body: Option<Vec<u8>>) -> Result<Reply, String> {
    let mut builder = Request::builder().method(method).uri(url.as_str());
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    let response = match body {
        Some(bytes) => agent.run(builder.body(bytes).map_err(|e| e.to_string())?),
        None => agent.run(builder.body(()).map_err(|e| e.to_string())?),
    };
    let mut response = response.map_err(|e| describe(&e))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.body_mut().read_to_string().map_err(|e| describe(&e))?;
    Ok(Reply { status, headers, text })
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "no answer in time".into(),
        ureq::Error::HostNotFound => "the host name does not resolve".into(),
        ureq::Error::ConnectionFailed => "the connection was refused".into(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => "the connection was refused".into(),
        other => other.to_string(),
    }
}
