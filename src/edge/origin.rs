//! Calling the origin: one attempt, bounded in time (until the response
//! headers, and an unframed body's prefix), never retried (a SCIM POST is not
//! idempotent: a retry could create a user twice).

use super::deadline;
use crate::core::{relay, Outcome};
use futures_util::stream::{self, StreamExt};
use wasm_bindgen::JsCast;
use worker::js_sys::{Reflect, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{web_sys, AbortController, ByteStream, Headers, Method, Response, ResponseBuilder};

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
    // Built on the runtime's own objects: a workers-rs `Request` reads the
    // request's `cf`, URL and method back across the boundary when made.
    let init = web_sys::RequestInit::new();
    init.set_method(req.method.as_ref());
    init.set_headers(&headers.0);
    // A redirect from the origin is the IdP's business, not the edge's:
    // following it could send the origin credential elsewhere.
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if let Some(body) = req.body.filter(|b| !b.is_empty()) {
        init.set_body(&Uint8Array::from(body.as_slice()));
    }
    let controller = AbortController::default();
    let signal = controller.signal();
    init.set_signal(Some(&signal));
    let answer = async {
        let global: web_sys::WorkerGlobalScope = worker::js_sys::global().unchecked_into();
        let sent = JsFuture::from(global.fetch_with_str_and_init(&req.url, &init)).await.map_err(|_| Outcome::OriginUnreachable)?;
        let response = sent.dyn_into::<web_sys::Response>().map_err(|_| Outcome::OriginUnreachable)?;
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
async fn settle(raw: web_sys::Response) -> Result<Response, Outcome> {
    // Adopted with a builder: workers-rs's `From` would also read the
    // response's `cf` and `webSocket` back across the boundary.
    let answer = || ResponseBuilder::new().with_status(raw.status()).with_headers(Headers(raw.headers()));
    let Some(body) = raw.body() else { return Ok(answer().empty()) };
    if !relay::read_before_answering(raw.headers().get("content-length").ok().flatten().as_deref()) {
        return Ok(answer().stream(body));
    }
    let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let mut prefix = Vec::new();
    while prefix.len() <= relay::UNFRAMED_PREFIX_BYTES {
        let chunk = JsFuture::from(reader.read()).await.map_err(|_| Outcome::OriginUnreachable)?;
        if Reflect::get(&chunk, &"done".into()).map_err(|_| Outcome::OriginUnreachable)?.is_truthy() {
            return Ok(answer().fixed(prefix));
        }
        let value = Reflect::get(&chunk, &"value".into()).map_err(|_| Outcome::OriginUnreachable)?;
        let bytes = value.dyn_into::<Uint8Array>().map_err(|_| Outcome::OriginUnreachable)?;
        let at = prefix.len();
        prefix.resize(at + bytes.length() as usize, 0);
        bytes.copy_to(&mut prefix[at..]);
    }
    // A long one: the prefix, then the rest as it comes.
    reader.release_lock();
    let rest = ByteStream::from(body);
    answer().from_stream(stream::once(async { Ok(prefix) }).chain(rest)).map_err(|_| Outcome::OriginUnreachable)
}
