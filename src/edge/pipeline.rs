//! The request pipeline, in order, in one place:
//!
//! parse → verify → authorize → throttle → forward → log
//!
//! Each phase is a call into the pure core or one I/O step; any phase can
//! end the request with an [`Outcome`], and every request, however it ends,
//! gets exactly one audit line.

use super::{alert, check, cold, config::Config, guard, log, origin, respond, store, throttle};
use crate::core::audit::{AuditRecord, RequestFacts};
use crate::core::bulk;
use crate::core::credential::{credential_in_query, presented, secret_in_url, Presented};
use crate::core::decide::{authorize, authorize_bulk, quota, Context, Principal};
use crate::core::oauth::claims::AccessClaims;
use crate::core::oauth::policy::Mode;
use crate::core::oauth::access;
use crate::core::oauth::metadata::{self, Issuer, METADATA_PATH};
use crate::core::gcra;
use crate::core::sign;
use crate::core::guard::{retry_after_seconds, Answer, Ask, Reply};
use crate::core::usage::{Class, Source};
use crate::core::audit::NewSourceLine;
use crate::core::KeyRecord;
use crate::core::outcome::{KeyRejection, TokenRejection};
use crate::core::forward::{self, EdgeAssertions, HeaderRefusal, RequestTarget};
use crate::core::scim::{classify, Resource, ScimRequest};
use crate::core::screen;
use crate::core::{Outcome, UnixMillis};
use futures_util::StreamExt;
use std::rc::Rc;
use worker::{Date, Env, Request, Response};
use worker::Context as WorkerContext;

pub async fn handle(mut req: Request, env: &Env, worker_ctx: &WorkerContext) -> Response {
    let started = UnixMillis(Date::now().as_millis());
    let request_id = new_request_id();
    let mut facts = RequestFacts {
        // The raw method: workers-rs reads an unknown one as GET.
        method: screen::logged_method(&req.inner().method()).to_owned(),
        client_ip: req.headers().get("cf-connecting-ip").ok().flatten(),
        ..RequestFacts::default()
    };
    let (outcome, response) = match run(&mut req, env, worker_ctx, started, &request_id, &mut facts).await {
        Ok((outcome, mut response)) => {
            // The edge's own answers (API, doctor) carry the request id too;
            // forwarded ones got it in passthrough.
            if !matches!(outcome, Outcome::Forwarded { .. }) {
                respond::mark_edge_answer(response.headers_mut(), &request_id);
            }
            (outcome, response)
        }
        Err(denied) => {
            cold::out_of_line(drain_small_body(&mut req)).await;
            let response = respond::error(&denied, &request_id);
            (denied, response)
        }
    };
    let finished = UnixMillis(Date::now().as_millis());
    alert::after_request(worker_ctx, env, &outcome, &request_id, &facts, started);
    log::emit(&AuditRecord::new(&request_id, facts, &outcome, started, finished));
    response
}

async fn run(
    req: &mut Request,
    env: &Env,
    worker_ctx: &WorkerContext,
    now: UnixMillis,
    request_id: &str,
    facts: &mut RequestFacts,
) -> Result<(Outcome, Response), Outcome> {
    // parse: method, settings, target, scheme, SCIM shape. No I/O yet.
    let config = Config::for_isolate(env)?;
    let url = req.inner().url();
    let target = RequestTarget::parse(&url).ok_or(Outcome::NotFound)?;
    let ctx = Context {
        now,
        client_ip: facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()),
        resource_types: &config.resource_types,
    };
    if !screen::method_allowed(&req.inner().method()) {
        return Err(Outcome::MethodNotAllowed);
    }
    screen(&config, &url, &target, ctx.client_ip)?;
    if target.path == check::CHECK_PATH {
        return cold::out_of_line(check::run(req, env, &config, &target, &ctx, facts, request_id)).await;
    }
    if target.path == METADATA_PATH {
        return oauth_metadata(&config, &target, &facts.method);
    }

    // The request's headers, read across the wasm boundary once.
    let incoming: Vec<(String, String)> = req.headers().entries().collect();
    let scim = parse(req, &incoming, &config, &target, &facts.method)?;
    facts.resource = Some(scim.resource.audit_name().into_owned());

    let authorization = req.headers().get("authorization").ok().flatten();
    let (grant, meter, body) = if authorization.is_none() && is_public(&config, &scim, &facts.method) {
        cold::out_of_line(throttle::meter_discovery(env, facts.client_ip.as_deref())).await?;
        (None, Meter::Unkeyed, None)
    } else {
        // verify: a key by format and checksum, then its record by the key's
        // keyed hash (from KV, or from this isolate if read there within the
        // cache TTL); an access token by its MAC alone (no KV read, no record).
        let caller = match verify(env, &config, authorization.as_deref(), now).await {
            Ok(caller) => caller,
            Err(denial) if is_failed_attempt(&denial) => {
                return Err(cold::out_of_line(throttle::charge_failure(env, facts.client_ip.as_deref(), denial, config.auth_failure_retry_after)).await)
            }
            Err(other) => return Err(other),
        };
        let who = caller.principal();
        facts.key_id = Some(who.key_id().as_str().to_owned());
        facts.tenant = who.tenant().map(str::to_owned);
        facts.credential = Some(who.kind());
        if let Caller::Token(claims) = &caller {
            facts.tid = Some(claims.token_id.to_string());
            facts.family = claims.family.map(|f| f.to_string());
        }

        // authorize: the key may be sent as a bearer key (its auth_modes),
        // status, validity window, address, scopes (the same checks for a
        // token, from its claims); the body is read only from an authorized
        // caller, bounded, and for /Bulk every operation is authorized
        // before anything is sent.
        let authorized = match caller.bearer_allowed().and_then(|()| authorize(who, &scim, &ctx)) {
            Ok(grant) => authorize_body(req, &config, &scim, who, &ctx).await.map(|body| (grant, body)),
            Err(denial) => Err(denial),
        };

        // throttle: the key's guard meters its rate, knows revocations at
        // once and counts the request in the key's usage, denied or not;
        // a token is metered, revoked and counted as its key.
        let quota = quota(who, config.default_quota);
        let mut ask = Ask::from(quota);
        ask.denied = authorized.as_ref().err().map(Class::of_denial);
        ask.source = facts.client_ip.as_deref().and_then(|ip| source(req, ip));
        if let Caller::Token(claims) = &caller {
            ask.family = claims.family;
            ask.token_issued_at = Some(claims.issued_at);
        }
        // The lease serves keys whose record allows it; a token's claims do
        // not say whether its key's rate must be exact, so tokens always ask.
        let lease = match &caller {
            Caller::Key(record) if !record.exact_rate => config.guard_lease.as_ref(),
            _ => None,
        };
        let reply = guard::check_leased(env, who.key_id().as_str(), &mut ask, config.binding_timeout_ms, lease, now.0).await;
        if let (Ok(Reply { new_source: true, .. }), Some(source)) = (&reply, &ask.source) {
            log::new_source(&NewSourceLine::new(request_id, facts, source, now));
            alert::new_source(worker_ctx, env, source, request_id, facts, now);
        }
        let (grant, body) = authorized?;
        (Some(grant), throttle_key(&config, quota, reply)?, body)
    };

    // forward: the origin's credential and the edge's signature, never the IdP's key.
    let tenant = grant.as_ref().and_then(|g| g.tenant.as_deref());
    let origin_base = forward::origin_base(&config.origin_url, tenant)?;
    let prefix = forward::forwarded_prefix(&config.base_path, &origin_base);
    let mut headers = forward::origin_headers(
        &incoming,
        &config.forward_headers,
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
    let sent = origin::send(origin::OriginRequest { url, method: req.method(), headers, body, timeout_ms: config.origin_timeout_ms }).await;
    if let Some(grant) = &grant {
        let status = sent.as_ref().ok().map(Response::status_code);
        guard::note_origin(&grant.key_id, status, UnixMillis(Date::now().as_millis()));
    }
    let response = sent?;
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

/// Before any route, the management API's included: a secret anywhere in
/// the URL (refused, never forwarded or looked up), the URL's length,
/// plain HTTP. (Methods are screened by each route: the API answers an
/// unknown one with its own `Allow`.)
fn screen(config: &Config, url: &str, target: &RequestTarget<'_>, client_ip: Option<std::net::IpAddr>) -> Result<(), Outcome> {
    if secret_in_url(target.path) {
        return Err(Outcome::KeyInPath);
    }
    if target.query.is_some_and(credential_in_query) {
        return Err(Outcome::KeyInQuery);
    }
    if url.len() > forward::MAX_URL_BYTES {
        return Err(Outcome::UrlTooLong);
    }
    if screen::plain_http_refused(target.scheme, client_ip, config.require_https) {
        return Err(Outcome::HttpsRequired);
    }
    Ok(())
}

/// Whether a request for another Worker's route (the management API) passes
/// [`screen`]; one that does not is handed to [`handle`], which refuses it
/// the same way, with its audit line.
pub fn passes_screen(req: &Request, env: &Env) -> bool {
    let Ok(config) = Config::for_isolate(env) else { return false };
    let url = req.inner().url();
    let Some(target) = RequestTarget::parse(&url) else { return false };
    let client_ip = req.headers().get("cf-connecting-ip").ok().flatten().and_then(|ip| ip.parse().ok());
    screen(&config, &url, &target, client_ip).is_ok()
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

fn throttle_key(config: &Config, quota: gcra::Quota, reply: worker::Result<Reply>) -> Result<Meter, Outcome> {
    match reply.map(|r| r.answer) {
        Ok(Answer::Admit { remaining, reset_after_us }) => Ok(Meter::Metered { quota, remaining, reset_after_us }),
        Ok(Answer::Limit { retry_after_us, .. }) => Err(Outcome::RateLimited { retry_after: retry_after_seconds(retry_after_us) }),
        Ok(Answer::Revoked) => Err(Outcome::InvalidKey(KeyRejection::Revoked)),
        Ok(Answer::FamilyRevoked) => Err(Outcome::InvalidToken(TokenRejection::FamilyRevoked)),
        Ok(Answer::TokenEnded) => Err(Outcome::InvalidToken(TokenRejection::KeyEnded)),
        Ok(Answer::TokenSuspended) => Err(Outcome::InvalidToken(TokenRejection::KeySuspended)),
        // Only asked for a denied request, which never gets here.
        Ok(Answer::Counted) => Err(Outcome::LimiterUnavailable),
        Err(_) if config.limiter_fails_open => Ok(Meter::Unmetered),
        Err(_) => Err(Outcome::LimiterUnavailable),
    }
}

/// The body, read once the key may make the request; for /Bulk, every
/// operation authorized.
async fn authorize_body(req: &mut Request, config: &Config, scim: &ScimRequest, who: &dyn Principal, ctx: &Context<'_>) -> Result<Option<Vec<u8>>, Outcome> {
    let body = read_body(req, config.max_body_bytes).await?;
    if scim.resource == Resource::Bulk {
        let ops = bulk::operations(body.as_deref().unwrap_or_default()).map_err(|e| Outcome::BulkInvalid(e.to_string()))?;
        authorize_bulk(who, &ops, ctx)?;
    }
    Ok(body)
}

/// Where the request came from: the client's address and, where
/// Cloudflare supplies them, its country and network.
pub(super) fn source(req: &Request, client_ip: &str) -> Option<Source> {
    let cf = req.cf();
    Source::new(client_ip, cf.and_then(|c| c.country()).as_deref(), cf.and_then(|c| c.asn()))
}

/// The SCIM request below the base path; refuses method and URL overrides
/// and `_` twins of the edge's headers, a body on GET, HEAD or DELETE, and
/// an encoded body.
fn parse(req: &Request, headers: &[(String, String)], config: &Config, target: &RequestTarget<'_>, method: &str) -> Result<ScimRequest, Outcome> {
    let below_base = target.path.strip_prefix(config.base_path.as_str()).ok_or(Outcome::NotFound)?;
    if !below_base.is_empty() && !below_base.starts_with('/') {
        return Err(Outcome::NotFound);
    }
    let scim = classify(method, below_base)?;
    forward::screen_headers(headers.iter().map(|(name, _)| name.as_str())).map_err(|refusal| match refusal {
        HeaderRefusal::MethodOverride => Outcome::MethodNotAllowed,
        HeaderRefusal::Reserved => Outcome::HeaderRefused,
    })?;
    let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
    if !screen::body_allowed(method) && has_body(req, header("content-length")) {
        return Err(Outcome::BodyNotAllowed);
    }
    if screen::encoding_refused(header("content-encoding")) {
        return Err(Outcome::ContentEncodingRefused);
    }
    Ok(scim)
}

/// Whether the request has a body: a declared non-zero length, or a body
/// stream the runtime holds (a chunked one declares none).
fn has_body(req: &Request, content_length: Option<&str>) -> bool {
    match content_length.map(|v| v.trim().parse::<u64>()) {
        Some(Ok(0)) => false,
        Some(_) => true,
        None => req.inner().body().is_some(),
    }
}

/// `GET /ServiceProviderConfig` without a key, when `PUBLIC_DISCOVERY` allows it.
fn is_public(config: &Config, scim: &ScimRequest, method: &str) -> bool {
    config.public_discovery && scim.resource == Resource::ServiceProviderConfig && matches!(method, "GET" | "HEAD")
}

/// The OAuth authorization server's metadata (RFC 8414), for this host;
/// it exists only while OAuth is on (`TOKEN_SIGNING_SECRET` set).
fn oauth_metadata(config: &Config, target: &RequestTarget<'_>, method: &str) -> Result<(Outcome, Response), Outcome> {
    if config.token_keys.is_none() {
        return Err(Outcome::NotFound);
    }
    if !matches!(method, "GET" | "HEAD") {
        return Err(Outcome::MethodNotAllowed);
    }
    let issuer = Issuer::of(target).ok_or(Outcome::NotFound)?;
    let mut response = Response::ok(metadata::document(&issuer, &config.resource_types)).map_err(|_| Outcome::Misconfigured)?;
    let _ = response.headers_mut().set("content-type", "application/json");
    Ok((Outcome::MetadataServed, response))
}

/// Who a verified credential acts for.
enum Caller {
    /// A key, by its record.
    Key(Rc<KeyRecord>),
    /// An access token, by its verified claims.
    Token(AccessClaims),
}

impl Caller {
    fn principal(&self) -> &dyn Principal {
        match self {
            Caller::Key(record) => record,
            Caller::Token(claims) => claims,
        }
    }

    /// A key itself is refused on SCIM routes unless its record allows
    /// `bearer`; a token was issued through a mode the record allowed.
    fn bearer_allowed(&self) -> Result<(), Outcome> {
        match self {
            Caller::Key(record) if !record.allows(Mode::Bearer) => Err(Outcome::BearerNotAllowed),
            _ => Ok(()),
        }
    }
}

/// The caller: a key's record, or a token's claims. Whoever holds either
/// is asked about by the key's guard on every request (revocation, rate),
/// whether the record came from KV or from this isolate's memory.
async fn verify(env: &Env, config: &Config, authorization: Option<&str>, now: UnixMillis) -> Result<Caller, Outcome> {
    match presented(authorization).map_err(Outcome::from)? {
        Presented::Key(key) => store::record(env, config, &key, now).await.map(Caller::Key),
        Presented::AccessToken(token) => {
            let keys = config.token_keys.as_ref().ok_or(Outcome::InvalidToken(TokenRejection::BadMac))?;
            access::verify(keys, token, now).map(|v| Caller::Token(v.claims)).map_err(|r| Outcome::InvalidToken(r.into()))
        }
    }
}

/// A credential that is not the edge's at all (a malformed, mistyped or
/// unknown key; a malformed or forged token) counts against the address.
fn is_failed_attempt(denial: &Outcome) -> bool {
    match denial {
        Outcome::InvalidKey(_) => true,
        Outcome::InvalidToken(r) => r.is_failed_authentication(),
        _ => false,
    }
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

pub fn new_request_id() -> String {
    let mut bytes = [0u8; 12];
    // Randomness failing is not a reason to drop a provisioning call; a
    // zero id is still logged and unique enough with the timestamp.
    let _ = getrandom::getrandom(&mut bytes);
    hex::encode(bytes)
}
