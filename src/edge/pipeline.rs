//! The request pipeline, in order, in one place:
//!
//! parse → verify → authorize → forward → log
//!
//! Each phase is a call into the pure core or one I/O step; any phase can
//! end the request with an [`Outcome`], and every request, however it ends,
//! gets exactly one audit line. (Rate limiting will sit between authorize
//! and forward.)

use super::{config::Config, log, origin, respond, store};
use crate::core::audit::{AuditRecord, RequestFacts};
use crate::core::credential::from_authorization;
use crate::core::decide::{authorize, verify};
use crate::core::forward::{self, EdgeAssertions, RequestTarget};
use crate::core::lookup::record_name;
use crate::core::scim::classify;
use crate::core::{Outcome, UnixMillis};
use worker::{Date, Env, Request, Response};

pub async fn handle(mut req: Request, env: &Env) -> Response {
    let started = UnixMillis(Date::now().as_millis());
    let request_id = new_request_id();
    let mut facts = RequestFacts {
        method: req.method().to_string(),
        client_ip: req.headers().get("cf-connecting-ip").ok().flatten(),
        ..RequestFacts::default()
    };
    let (outcome, response) = match run(&mut req, env, started, &request_id, &mut facts).await {
        Ok(origin) => (Outcome::Forwarded { origin_status: origin.status_code() }, respond::passthrough(origin, &request_id)),
        Err(denied) => {
            let response = respond::error(&denied, &request_id);
            (denied, response)
        }
    };
    let finished = UnixMillis(Date::now().as_millis());
    log::emit(&AuditRecord::new(&request_id, facts, &outcome, started, finished));
    response
}

async fn run(req: &mut Request, env: &Env, now: UnixMillis, request_id: &str, facts: &mut RequestFacts) -> Result<Response, Outcome> {
    // parse: settings, target, SCIM shape, credential. No I/O yet.
    let config = Config::from_env(env)?;
    let url = req.inner().url();
    let target = RequestTarget::parse(&url).ok_or(Outcome::NotFound)?;
    let below_base = target.path.strip_prefix(config.base_path.as_str()).ok_or(Outcome::NotFound)?;
    if !below_base.is_empty() && !below_base.starts_with('/') {
        return Err(Outcome::NotFound);
    }
    let scim = classify(&facts.method, below_base)?;
    facts.resource = Some(scim.resource.scope_name());
    let header_names: Vec<String> = req.headers().keys().collect();
    if forward::has_method_override(header_names.iter().map(String::as_str)) {
        return Err(Outcome::MethodNotAllowed);
    }
    let key = from_authorization(req.headers().get("authorization").ok().flatten().as_deref())?;

    // verify: one KV read by the key's keyed hash.
    let stored = store::read(env, &record_name(&config.pepper, &key)).await?;
    let record = verify(stored.as_deref())?;
    facts.key_id = Some(record.key_id.as_str().to_owned());
    facts.tenant = record.tenant.clone();

    // authorize: status, validity window, scopes.
    let grant = authorize(&record, &scim, now)?;

    // forward: body only read from an authorized caller, and bounded.
    let body = read_body(req, config.max_body_bytes).await?;
    let incoming: Vec<(String, String)> = req.headers().entries().collect();
    let prefix = forward::forwarded_prefix(&config.base_path, &config.origin_url);
    let headers = forward::origin_headers(
        &incoming,
        &EdgeAssertions {
            request_id,
            key_id: &grant.key_id,
            tenant: grant.tenant.as_deref(),
            origin_authorization: config.origin_authorization.as_deref(),
            host: target.authority,
            proto: target.scheme,
            prefix: &prefix,
        },
    );
    origin::send(origin::OriginRequest {
        url: forward::origin_url(&config.origin_url, &scim.path, target.query),
        method: req.method(),
        headers,
        body,
        timeout_ms: config.origin_timeout_ms,
    })
    .await
}

async fn read_body(req: &mut Request, limit: usize) -> Result<Option<Vec<u8>>, Outcome> {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Outcome::BodyTooLarge);
    }
    if req.inner().body().is_none() {
        return Ok(None);
    }
    let body = req.bytes().await.map_err(|_| Outcome::BodyUnreadable)?;
    if body.len() > limit {
        return Err(Outcome::BodyTooLarge);
    }
    Ok(Some(body))
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 12];
    // Randomness failing is not a reason to drop a provisioning call; a
    // zero id is still logged and unique enough with the timestamp.
    let _ = getrandom::getrandom(&mut bytes);
    hex::encode(bytes)
}
