//! `POST /_provgate/api/v1/diagnostics/origin` (docs/api.md#diagnostics):
//! does the origin trust this edge? The management API (provgate-control)
//! authenticates the caller, checks its scope and names the tenant, and
//! writes the call's audit line; then this Worker, which alone holds the
//! origin's credential and the signing secret, makes one signed forward of
//! `GET <origin>/ServiceProviderConfig`, as a SCIM call is forwarded but
//! with no key, and answers what the origin's answer says.

use super::config::Config;
use super::{origin, respond};
use crate::core::api::diagnostics::{answer, Sent, PATH};
use crate::core::api::{Kind, Problem};
use crate::core::forward::{self, EdgeAssertions, RequestTarget};
use crate::core::{sign, Outcome, UnixMillis};
use worker::{Date, Env, Headers, Method, Request, Response};

/// The route, below the API's prefix.
pub const ROUTE: &str = "/_provgate/api/v1/diagnostics/origin";

/// Runs the check; `control` answers the API's part (`Err`: it failed).
pub async fn run(req: Request, env: &Env, control: worker::Fetcher) -> Option<Response> {
    // The URL as text: worker's parsed `Url` would link the url crate (and its IDNA tables) into the wasm.
    let url = req.inner().url();
    let granted = control.fetch_request(req).await.ok()?;
    // A refusal (no token, no scope, another tenant, a bad body) is the API's answer, as it is.
    if granted.status_code() != 200 {
        return Some(granted);
    }
    let request_id = granted.headers().get("x-request-id").ok().flatten().unwrap_or_default();
    let mut granted = granted;
    let grant: serde_json::Value = serde_json::from_str(&granted.text().await.ok()?).ok()?;
    let tenant = grant["tenant"].as_str().map(str::to_owned);
    let config = match Config::for_isolate(env) {
        Ok(c) => c,
        Err(outcome) => return Some(respond::error(&outcome, &request_id)),
    };
    let Ok(base) = forward::origin_base(&config.origin_url, tenant.as_deref()) else {
        let problem = Problem::field(Kind::InvalidField, "tenant", "ORIGIN_URL names {tenant}: say which tenant's origin to check");
        return Some(respond::error(&Outcome::Api(problem), &request_id));
    };
    let target = RequestTarget::parse(&url)?;
    let prefix = forward::forwarded_prefix(&config.base_path, &base);
    let mut headers = forward::origin_headers(
        &[],
        &[],
        &EdgeAssertions {
            request_id: &request_id,
            key_id: None,
            tenant: tenant.as_deref(),
            origin_authorization: config.origin_authorization.as_deref(),
            host: target.authority,
            proto: target.scheme,
            prefix: &prefix,
        },
    );
    let origin_url = forward::origin_url(&base, PATH, None);
    let now = UnixMillis(Date::now().as_millis());
    let forward = sign::Forward {
        method: "GET",
        target_uri: &origin_url,
        body: &[],
        key_id: None,
        tenant: tenant.as_deref(),
        nonce: &request_id,
        created: now.0 / 1000,
        lifetime: config.signature_ttl,
    };
    headers.extend(sign::headers(&config.signing_keys, &forward).into_iter().map(|(n, v)| (n.to_owned(), v)));
    let sent = origin::send(origin::OriginRequest { url: origin_url, method: Method::Get, headers, body: None, timeout_ms: config.origin_timeout_ms }).await;
    let sent = match sent {
        Ok(response) => Sent::Answered(response.status_code()),
        Err(Outcome::OriginTimeout) => Sent::TimedOut,
        Err(_) => Sent::Unreachable,
    };
    let body = answer(sent, tenant.as_deref(), config.origin_timeout_ms).to_string();
    let out = Headers::new();
    let _ = out.set("content-type", "application/json");
    respond::mark_edge_answer(&out, &request_id);
    Some(Response::builder().with_status(200).with_headers(out).fixed(body.into_bytes()))
}

/// Whether a request is this route (any other method is the API's 405).
pub fn is_route(req: &Request) -> bool {
    req.method() == Method::Post && req.path() == ROUTE
}
