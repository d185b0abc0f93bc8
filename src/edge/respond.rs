//! Turning an outcome into the IdP's response.

use crate::core::Outcome;
use worker::{Headers, Response};

/// The policy of the pages the edge writes itself: its stylesheet only.
pub const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The SCIM error response for a denial (problem+json for the management API).
#[inline(never)]
pub fn error(outcome: &Outcome, request_id: &str) -> Response {
    let body = outcome.error_body(request_id).unwrap_or_default();
    let headers = Headers::new();
    let api = if let Outcome::Api(problem) = outcome { Some(problem) } else { None };
    let _ = headers.set("content-type", outcome.content_type());
    if matches!(outcome, Outcome::OAuth(_)) {
        // RFC 6749 §5.1/§5.2: token endpoint answers are never cached.
        let _ = headers.set("pragma", "no-cache");
    }
    if matches!(outcome, Outcome::AuthorizePage(_)) {
        // The authorization endpoint's error page: nothing runs, nothing frames it.
        let _ = headers.set("content-security-policy", PAGE_POLICY);
        let _ = headers.set("referrer-policy", "no-referrer");
        let _ = headers.set("x-content-type-options", "nosniff");
    }
    if let Some(allow) = api.and_then(|p| p.allow) {
        let _ = headers.set("allow", allow);
    }
    mark_edge_answer(&headers, request_id);
    if let Some(seconds) = outcome.retry_after() {
        let _ = headers.set("retry-after", &seconds.to_string());
    }
    if let Some(challenge) = outcome.www_authenticate() {
        let _ = headers.set("www-authenticate", challenge);
    }
    Response::builder().with_status(outcome.status()).with_headers(headers).fixed(body.into_bytes())
}

/// The headers of every answer the edge writes itself (denials, API,
/// doctor): the request id to quote, and never cached.
pub fn mark_edge_answer(headers: &Headers, request_id: &str) {
    let _ = headers.set("cache-control", "no-store");
    let _ = headers.set("x-request-id", request_id);
}

/// The origin's response, unchanged except for the edge's request id and
/// its own headers (rate limit).
pub fn passthrough(origin: Response, request_id: &str, extra: &[(&str, String)]) -> Response {
    // A mutable copy made by the runtime in one call (the origin's own
    // headers are immutable), rather than entry by entry across the boundary.
    let headers = match worker::web_sys::Headers::new_with_headers(&origin.headers().0) {
        Ok(copy) => Headers(copy),
        Err(_) => {
            let headers = Headers::new();
            for (name, value) in origin.headers().entries() {
                let _ = headers.append(&name, &value);
            }
            headers
        }
    };
    let _ = headers.set("x-request-id", request_id);
    for (name, value) in extra {
        let _ = headers.set(name, value);
    }
    origin.with_headers(headers)
}
