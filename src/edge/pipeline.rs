//! The request pipeline, in order, in one place:
//!
//! parse → verify → authorize → throttle → forward → log
//!
//! Each phase is a call into the pure core or one I/O step; any phase can
//! end the request with an [`Outcome`], and every request, however it ends,
//! gets exactly one audit line.

use super::{admin, check, config::Config, guard, log, origin, respond, store, throttle};
use crate::core::audit::{AuditRecord, RequestFacts};
use crate::core::bulk;
use crate::core::credential::{credential_in_query, from_authorization, CredentialError};
use crate::core::decide::{authorize, authorize_bulk, quota, verify, Context, Grant};
use crate::core::gcra;
use crate::core::sign;
use crate::core::guard::{retry_after_seconds, Answer, Ask};
use crate::core::outcome::KeyRejection;
use crate::core::forward::{self, EdgeAssertions, RequestTarget};
use crate::core::scim::{classify, Resource, ScimRequest};
use crate::core::{Outcome, UnixMillis};
use futures_util::StreamExt;
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
        Ok((outcome, mut response)) => {
            // The edge's own answers (admin, doctor) carry the request id too;
            // forwarded ones got it in passthrough.
            if !matches!(outcome, Outcome::Forwarded { .. }) {
                respond::mark_edge_answer(response.headers_mut(), &request_id);
            }
            (outcome, response)
        }
        Err(denied) => {
            drain_small_body(&mut req).await;
            let response = respond::error(&denied, &request_id);
            (denied, response)
        }
    };
    let finished = UnixMillis(Date::now().as_millis());
    log::emit(&AuditRecord::new(&request_id, facts, &outcome, started, finished));
    response
}

async fn run(
    req: &mut Request,
    env: &Env,
    now: UnixMillis,
    request_id: &str,
    facts: &mut RequestFacts,
) -> Result<(Outcome, Response), Outcome> {
    // parse: settings, target, SCIM shape. No I/O yet.
    let config = Config::for_isolate(env)?;
    let url = req.inner().url();
    let target = RequestTarget::parse(&url).ok_or(Outcome::NotFound)?;
    // Before any route: a key in a URL is refused, never forwarded or looked up.
    if target.query.is_some_and(credential_in_query) {
        return Err(Outcome::KeyInQuery);
    }
    if url.len() > forward::MAX_URL_BYTES {
        return Err(Outcome::UrlTooLong);
    }
    let ctx = Context {
        now,
        client_ip: facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()),
        resource_types: &config.resource_types,
    };
    match target.path {
        admin::REVOKE_PATH => return admin_revoke(req, env, &config, facts).await,
        check::CHECK_PATH => return check::run(req, env, &config, &target, &ctx, facts).await,
        _ => {}
    }
    // The request's headers, read across the wasm boundary once.
    let incoming: Vec<(String, String)> = req.headers().entries().collect();
    let scim = parse(&incoming, &config, &target, &facts.method)?;
    facts.resource = Some(scim.resource.scope_name());

    let authorization = req.headers().get("authorization").ok().flatten();
    let grant = if authorization.is_none() && is_public(&config, &scim, &facts.method) {
        None
    } else {
        // verify: format and checksum, then one KV read by the key's keyed hash.
        let record = match verify_key(env, &config, authorization.as_deref()).await {
            Ok(record) => record,
            Err(denial @ Outcome::InvalidKey(_)) => {
                return Err(throttle::charge_failure(env, facts.client_ip.as_deref(), denial, config.auth_failure_retry_after).await)
            }
            Err(other) => return Err(other),
        };
        facts.key_id = Some(record.key_id.as_str().to_owned());
        facts.tenant = record.tenant.clone();

        // authorize: status, validity window, address, scopes.
        let grant = authorize(&record, &scim, &ctx)?;
        Some((grant, record))
    };

    // throttle: the key's guard meters its rate and knows revocations at once.
    let mut meter = Meter::Unkeyed;
    if let Some((grant, record)) = &grant {
        meter = throttle_key(env, &config, &grant.key_id, quota(record, config.default_quota)).await?;
    }

    // forward: the body is read only from an authorized caller, bounded,
    // and for /Bulk every operation is authorized before anything is sent.
    let body = read_body(req, config.max_body_bytes).await?;
    if let (Resource::Bulk, Some((_, record))) = (&scim.resource, &grant) {
        let ops = bulk::operations(body.as_deref().unwrap_or_default()).map_err(|e| Outcome::BulkInvalid(e.to_string()))?;
        authorize_bulk(record, &ops, &ctx)?;
    }
    let grant: Option<Grant> = grant.map(|(g, _)| g);
    let tenant = grant.as_ref().and_then(|g| g.tenant.as_deref());
    let origin_base = forward::origin_base(&config.origin_url, tenant)?;
    let prefix = forward::forwarded_prefix(&config.base_path, &origin_base);
    let mut headers = forward::origin_headers(
        &incoming,
        &EdgeAssertions {
            request_id,
            key_id: grant.as_ref().map(|g| g.key_id.as_str()),
            tenant,
            origin_authorization: config.origin_authorization.as_deref(),
            host: target.authority,
            proto: target.scheme,
            prefix: &prefix,
        },
    );
    let url = forward::origin_url(&origin_base, &scim.path, target.query);
    let signed = sign::headers(
        &config.signing_keys,
        &sign::Forward {
            method: &facts.method,
            target_uri: &url,
            body: body.as_deref().unwrap_or_default(),
            key_id: grant.as_ref().map(|g| g.key_id.as_str()),
            tenant,
            nonce: request_id,
            created: now.0 / 1000,
            lifetime: config.signature_ttl,
        },
    );
    headers.extend(signed.into_iter().map(|(n, v)| (n.to_owned(), v)));
    let response = origin::send(origin::OriginRequest { url, method: req.method(), headers, body, timeout_ms: config.origin_timeout_ms }).await?;
    // A 401/403 here is about the edge's credential, not the IdP's key: never
    // pass it on as if the key were bad.
    if matches!(response.status_code(), 401 | 403) {
        return Err(Outcome::OriginRejectedEdge { origin_status: response.status_code() });
    }
    let outcome = Outcome::Forwarded { origin_status: response.status_code(), unmetered: matches!(meter, Meter::Unmetered) };
    let rate_headers = match meter {
        Meter::Metered { quota, remaining, reset_after_us } => gcra::headers(&quota, remaining, reset_after_us).to_vec(),
        Meter::Unkeyed | Meter::Unmetered => Vec::new(),
    };
    Ok((outcome, respond::passthrough(response, request_id, &rate_headers)))
}

/// What the throttle phase learned, for the response headers and the log.
enum Meter {
    /// No key (public discovery): nothing to meter.
    Unkeyed,
    /// Admitted by the key's guard.
    Metered { quota: gcra::Quota, remaining: u32, reset_after_us: u64 },
    /// The guard could not be asked and `RATE_LIMIT_FAILURE_MODE=open`.
    Unmetered,
}

async fn throttle_key(env: &Env, config: &Config, key_id: &str, quota: gcra::Quota) -> Result<Meter, Outcome> {
    match guard::check(env, key_id, Ask::from(quota)).await {
        Ok(Answer::Admit { remaining, reset_after_us }) => Ok(Meter::Metered { quota, remaining, reset_after_us }),
        Ok(Answer::Limit { retry_after_us, .. }) => Err(Outcome::RateLimited { retry_after: retry_after_seconds(retry_after_us) }),
        Ok(Answer::Revoked) => Err(Outcome::InvalidKey(KeyRejection::Revoked)),
        Err(_) if config.limiter_fails_open => Ok(Meter::Unmetered),
        Err(_) => Err(Outcome::LimiterUnavailable),
    }
}

async fn admin_revoke(req: &mut Request, env: &Env, config: &Config, facts: &mut RequestFacts) -> Result<(Outcome, Response), Outcome> {
    facts.resource = Some("admin".into());
    match admin::revoke(req, env, config.admin_token.as_deref()).await {
        Ok(key_id) => {
            let body = serde_json::json!({ "revoked": key_id }).to_string();
            facts.key_id = Some(key_id);
            let response = Response::ok(body).map_err(|_| Outcome::Misconfigured)?;
            Ok((Outcome::AdminRevoked, response))
        }
        Err(Outcome::AdminUnauthorized) => Err(throttle::charge_failure(
            env,
            facts.client_ip.as_deref(),
            Outcome::AdminUnauthorized,
            config.auth_failure_retry_after,
        )
        .await),
        Err(other) => Err(other),
    }
}

/// The SCIM request below the base path, refusing method overrides.
fn parse(headers: &[(String, String)], config: &Config, target: &RequestTarget<'_>, method: &str) -> Result<ScimRequest, Outcome> {
    let below_base = target.path.strip_prefix(config.base_path.as_str()).ok_or(Outcome::NotFound)?;
    if !below_base.is_empty() && !below_base.starts_with('/') {
        return Err(Outcome::NotFound);
    }
    let scim = classify(method, below_base)?;
    if forward::has_method_override(headers.iter().map(|(name, _)| name.as_str())) {
        return Err(Outcome::MethodNotAllowed);
    }
    Ok(scim)
}

/// `GET /ServiceProviderConfig` without a key, when `PUBLIC_DISCOVERY` allows it.
fn is_public(config: &Config, scim: &ScimRequest, method: &str) -> bool {
    config.public_discovery && scim.resource == Resource::ServiceProviderConfig && matches!(method, "GET" | "HEAD")
}

async fn verify_key(env: &Env, config: &Config, authorization: Option<&str>) -> Result<crate::core::KeyRecord, Outcome> {
    let key = from_authorization(authorization).map_err(|e: CredentialError| Outcome::from(e))?;
    let stored = store::read_record(env, config, &key).await?;
    verify(stored.as_deref())
}

async fn read_body(req: &mut Request, limit: usize) -> Result<Option<Vec<u8>>, Outcome> {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Outcome::BodyTooLarge);
    }
    if req.inner().body().is_none() {
        return Ok(None);
    }
    // The declared length may lie (or be absent with chunked bodies): the
    // limit is checked again on what actually arrived.
    let body = req.bytes().await.map_err(|_| Outcome::BodyUnreadable)?;
    if body.len() > limit {
        return Err(Outcome::BodyTooLarge);
    }
    Ok(Some(body))
}

/// workerd resets a keep-alive connection whose request body was left
/// unread, and clients that reuse it see "connection reset" on their next
/// call. Reading up to 64 KiB of body before answering a denial keeps the
/// connection usable; a larger body is left alone (the reset is then the
/// cheaper outcome).
async fn drain_small_body(req: &mut Request) {
    const DRAIN_LIMIT: usize = 64 * 1024;
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > DRAIN_LIMIT) || req.inner().body().is_none() || req.inner().body_used() {
        return;
    }
    let Ok(mut stream) = req.stream() else { return };
    let mut seen = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len();
        if seen > DRAIN_LIMIT {
            break;
        }
    }
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 12];
    // Randomness failing is not a reason to drop a provisioning call; a
    // zero id is still logged and unique enough with the timestamp.
    let _ = getrandom::getrandom(&mut bytes);
    hex::encode(bytes)
}
