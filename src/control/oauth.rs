//! The OAuth token endpoint (`POST /oauth/token`, docs/oauth.md): the I/O
//! around `core::oauth`'s checks, in their order. The client is the key:
//! its record is read by the key's keyed hash, as on SCIM routes; a failed
//! client authentication counts against the address (`AUTH_FAILURES`);
//! every request with a known key is metered and counted by the key's guard.

use super::config::Config;
use super::{kv::Kv, stubs, throttle};
use crate::core::audit::RequestFacts;
use crate::core::decide::{quota, Context};
use crate::core::guard::{retry_after_seconds, Answer, Ask, Reply};
use crate::core::lookup::record_name;
use crate::core::oauth::claims::GrantKind;
use crate::core::oauth::client_auth::{self, ClientAuth};
use crate::core::oauth::error::{ClientProblem, OAuthError, RequestProblem};
use crate::core::oauth::exchange::{self, Mint};
use crate::core::oauth::form::MAX_FORM_BYTES;
use crate::core::oauth::ids::TokenId;
use crate::core::oauth::token_request::{self, GrantRequest};
use crate::core::oauth::CredentialKind;
use crate::core::outcome::KeyRejection;
use crate::core::usage::Class;
use crate::core::{KeyRecord, Outcome, UnixMillis};
use worker::{Env, Headers, Method, Request, Response};

/// Serves one token request.
pub async fn token(req: &mut Request, env: &Env, config: &Config, facts: &mut RequestFacts, now: UnixMillis) -> Result<(Outcome, Response), Outcome> {
    facts.resource = Some("oauth_token".into());
    let keys = config.token_keys.as_ref().ok_or(Outcome::NotFound)?;
    if req.method() != Method::Post {
        return Err(Outcome::MethodNotAllowed);
    }
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let (content_type, authorization) = (header("content-type"), header("authorization"));
    let body = read_form(req).await?;
    let request = match token_request::parse(content_type.as_deref(), authorization.as_deref(), &body) {
        Ok(request) => request,
        Err(e) => return Err(refuse(env, config, facts, e).await),
    };
    let client = request.client;
    facts.key_id = Some(client.client_id.as_str().to_owned());
    facts.credential = Some(match request.grant {
        GrantRequest::ClientCredentials { .. } => CredentialKind::Key,
        GrantRequest::AuthorizationCode { .. } => CredentialKind::AuthorizationCode,
        GrantRequest::RefreshToken { .. } => CredentialKind::RefreshToken,
    });
    let record = match client_record(env, config, &client).await? {
        Some(record) => record,
        None => return Err(refuse(env, config, facts, client.failure(ClientProblem::Key(KeyRejection::Unknown))).await),
    };
    let ctx = Context { now, client_ip: facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()), resource_types: &[] };
    if let Err(e) = client_auth::check(&record, &client, &ctx) {
        if !e.is_failed_authentication() {
            // A known key refused (revoked, expired, address): its usage counts it.
            count(env, config, &record, e).await;
        }
        return Err(refuse(env, config, facts, e).await);
    }
    facts.tenant = record.tenant.clone();

    let (grant, scopes) = match &request.grant {
        GrantRequest::ClientCredentials { scope } => match exchange::client_credentials(&record, scope.as_deref()) {
            Ok(scopes) => (GrantKind::ClientCredentials, scopes),
            Err(e) => return Err(counted(env, config, &record, e).await),
        },
        // The code and refresh grants keep their state in the key's guard.
        GrantRequest::AuthorizationCode { .. } | GrantRequest::RefreshToken { .. } => {
            return Err(counted(env, config, &record, OAuthError::UnauthorizedClient(crate::core::oauth::policy::Mode::AuthorizationCode)).await)
        }
    };
    meter(env, config, &record, &client).await?;
    let mint = Mint { grant, scopes, family: None, token_id: TokenId::generate(fill_random), lifetime: config.access_lifetime, now, keys };
    let (response, claims) = exchange::respond(&record, &client, mint, None).map_err(Outcome::OAuth)?;
    facts.tid = Some(claims.token_id.to_string());
    Ok((Outcome::TokenIssued, answer(200, &response.body(), &response.headers())))
}

/// A JSON answer with the token endpoint's headers.
pub fn answer(status: u16, body: &str, headers: &[(&str, &str)]) -> Response {
    let h = Headers::new();
    for (name, value) in headers {
        let _ = h.set(name, value);
    }
    Response::builder().with_status(status).with_headers(h).fixed(body.as_bytes().to_vec())
}

/// The refusal, counted as a failed attempt when the client was not the
/// edge's at all (over the limit: 429).
async fn refuse(env: &Env, config: &Config, facts: &RequestFacts, e: OAuthError) -> Outcome {
    if e.is_failed_authentication() {
        return throttle::charge_failure(env, facts.client_ip.as_deref(), Outcome::OAuth(e), config.auth_failure_retry_after).await;
    }
    Outcome::OAuth(e)
}

/// A refusal of an authenticated client, counted in its key's usage.
async fn counted(env: &Env, config: &Config, record: &KeyRecord, e: OAuthError) -> Outcome {
    count(env, config, record, e).await;
    Outcome::OAuth(e)
}

/// Tells the key's guard of a refused request (counted, not metered); a
/// guard that cannot be asked loses the count, not the answer.
async fn count(env: &Env, config: &Config, record: &KeyRecord, e: OAuthError) {
    let mut ask = Ask::from(quota(record, config.default_quota));
    ask.denied = Some(Class::of_denial(&Outcome::OAuth(e)));
    let _ = ask_guard(env, config, record, ask).await;
}

/// Meters the request on the key's rate (shared with its tokens and the
/// key itself); the guard also knows a revocation at once. A guard that
/// cannot be asked refuses (no token is issued unmetered).
async fn meter(env: &Env, config: &Config, record: &KeyRecord, client: &ClientAuth) -> Result<(), Outcome> {
    let ask = Ask::from(quota(record, config.default_quota));
    match ask_guard(env, config, record, ask).await.map(|r| r.answer) {
        Ok(Answer::Admit { .. }) => Ok(()),
        Ok(Answer::Limit { retry_after_us, .. }) => Err(Outcome::RateLimited { retry_after: retry_after_seconds(retry_after_us) }),
        Ok(Answer::Revoked) => Err(Outcome::OAuth(client.failure(ClientProblem::Key(KeyRejection::Revoked)))),
        Ok(Answer::Counted) | Err(_) => Err(Outcome::LimiterUnavailable),
    }
}

async fn ask_guard(env: &Env, config: &Config, record: &KeyRecord, mut ask: Ask) -> worker::Result<Reply> {
    ask.key_id = Some(record.key_id.as_str().to_owned());
    let body = serde_json::to_string(&ask)?;
    let text = stubs::call(env, stubs::GUARDS, record.key_id.as_str(), "/check", Some(body), config.binding_timeout_ms).await?;
    Ok(serde_json::from_str(&text)?)
}

/// The record of the client's secret (the key), under `PEPPER` or, during
/// a pepper rotation, `PEPPER_PREVIOUS`; `None` if there is none. An
/// undecodable record denies (fail closed).
async fn client_record(env: &Env, config: &Config, client: &ClientAuth) -> Result<Option<KeyRecord>, Outcome> {
    let kv = Kv::open(env, config.binding_timeout_ms).map_err(|_| Outcome::KeyStoreUnavailable)?;
    let mut stored = kv.get(&record_name(&config.pepper, &client.secret)).await.map_err(|_| Outcome::KeyStoreUnavailable)?;
    if let (None, Some(previous)) = (&stored, &config.previous_pepper) {
        stored = kv.get(&record_name(previous, &client.secret)).await.map_err(|_| Outcome::KeyStoreUnavailable)?;
    }
    stored.map(|s| KeyRecord::decode(s.as_bytes()).map_err(|_| Outcome::RecordMalformed)).transpose()
}

/// The form body, bounded: a declared or actual length over the form
/// limit is `invalid_request` before anything is parsed.
async fn read_form(req: &mut Request) -> Result<Vec<u8>, Outcome> {
    let too_large = Outcome::OAuth(OAuthError::InvalidRequest(RequestProblem::TooLarge));
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_FORM_BYTES) {
        return Err(too_large);
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let body = req.bytes().await.map_err(|_| Outcome::BodyUnreadable)?;
    if body.len() > MAX_FORM_BYTES {
        return Err(too_large);
    }
    Ok(body)
}

fn fill_random(bytes: &mut [u8]) {
    // The runtime's CSPRNG does not fail; a zero id would still be unique enough with its time.
    let _ = getrandom::getrandom(bytes);
}
