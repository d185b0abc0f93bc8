//! Calling the origin: one attempt, bounded in time (until the response
//! headers, and an unframed body's prefix), never retried (a SCIM POST is not
//! idempotent: a retry could create a user twice).

use super::deadline;
use crate::core::{relay, Outcome};
use futures_util::stream::{self, StreamExt};
use wasm_bindgen::JsCast;
use worker::js_sys::{Reflect, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{web_sys, AbortController, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Response, ResponseBody, ResponseBuilder};

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
    let answer = async {
        let response = fetch.send_with_signal(&signal).await.map_err(|_| Outcome::OriginUnreachable)?;
        settle(response).await
    };
    match deadline::within(req.timeout_ms, answer).await {
        Ok(answer) => answer,
        Err(deadline::TimedOut) => {
            controller.abort();
            Err(Outcome::OriginTimeout)
        }
    }
}

/// The origin's response, with a body of undeclared length read up to
/// `relay::UNFRAMED_PREFIX_BYTES` first, so that the origin failing within
/// it is a 502 rather than a truncated answer (see `core::relay`).
///
/// Read through the runtime's own reader, not workers-rs's stream wrapper:
/// a SCIM answer is usually one chunk, and the wrapper's reads and
/// `releaseLock` cost about a tenth of the edge's CPU per request (the
/// profile run, bench/profile.mjs).
async fn settle(response: Response) -> Result<Response, Outcome> {
    let length = response.headers().get("content-length").ok().flatten();
    if !relay::read_before_answering(length.as_deref()) || !matches!(response.body(), ResponseBody::Stream(_)) {
        return Ok(response);
    }
    let status = response.status_code();
    let headers = response.headers().clone();
    let raw = web_sys::Response::from(response);
    let Some(body) = raw.body() else { return Ok(ResponseBuilder::new().with_status(status).with_headers(headers).empty()) };
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut prefix = Vec::new();
    while prefix.len() <= relay::UNFRAMED_PREFIX_BYTES {
        let chunk = JsFuture::from(reader.read()).await.map_err(|_| Outcome::OriginUnreachable)?;
        if Reflect::get(&chunk, &"done".into()).map_err(|_| Outcome::OriginUnreachable)?.is_truthy() {
            return Ok(ResponseBuilder::new().with_status(status).with_headers(headers).fixed(prefix));
        }
        let value = Reflect::get(&chunk, &"value".into()).map_err(|_| Outcome::OriginUnreachable)?;
        let bytes = value.dyn_into::<Uint8Array>().map_err(|_| Outcome::OriginUnreachable)?;
        prefix.extend_from_slice(&bytes.to_vec());
    }
    // A long one: the prefix, then the rest as it comes.
    reader.release_lock();
    let rest = Response::from(raw).stream().map_err(|_| Outcome::OriginUnreachable)?;
    ResponseBuilder::new().with_status(status).with_headers(headers).from_stream(stream::once(async { Ok(prefix) }).chain(rest)).map_err(|_| Outcome::OriginUnreachable)
}
