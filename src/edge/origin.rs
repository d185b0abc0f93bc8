//! Calling the origin: one attempt, bounded in time, never retried (a SCIM
//! POST is not idempotent: a retry could create a user twice).

use crate::core::Outcome;
use futures_util::future::{select, Either};
use std::time::Duration;
use worker::{js_sys::Uint8Array, AbortController, Delay, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Response};

/// What to send; built by the pipeline from the core's forwarding plan.
pub struct OriginRequest {
    pub url: String,
    pub method: Method,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub timeout_ms: u64,
}

pub async fn send(req: OriginRequest) -> Result<Response, Outcome> {
    let headers = Headers::new();
    for (name, value) in &req.headers {
        headers.append(name, value).map_err(|_| Outcome::OriginUnreachable)?;
    }
    let mut init = RequestInit::new();
    init.with_method(req.method)
        .with_headers(headers)
        // A redirect from the origin is the IdP's business, not the edge's:
        // following it could send the origin credential elsewhere.
        .with_redirect(RequestRedirect::Manual);
    if let Some(body) = req.body.filter(|b| !b.is_empty()) {
        init.with_body(Some(Uint8Array::from(body.as_slice()).into()));
    }
    let request = Request::new_with_init(&req.url, &init).map_err(|_| Outcome::Misconfigured)?;

    let controller = AbortController::default();
    let signal = controller.signal();
    let fetch = Fetch::Request(request);
    let response = fetch.send_with_signal(&signal);
    let deadline = Delay::from(Duration::from_millis(req.timeout_ms));
    futures_util::pin_mut!(response, deadline);
    match select(response, deadline).await {
        Either::Left((Ok(resp), _)) => Ok(resp),
        Either::Left((Err(_), _)) => Err(Outcome::OriginUnreachable),
        Either::Right(_) => {
            controller.abort();
            Err(Outcome::OriginTimeout)
        }
    }
}
