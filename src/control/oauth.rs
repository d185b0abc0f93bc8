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
use crate::core::key::{KeyFormatError, ProvisioningKey};
use crate::core::oauth::authorize::{self, AuthorizeError, PageProblem};
use crate::core::oauth::claims::GrantKind;
use crate::core::forward::RequestTarget;
use crate::core::oauth::form::Form;
use crate::core::oauth::metadata::Issuer;
use crate::core::oauth::ids::CodeId;
use crate::core::oauth::client_auth::{self, ClientAuth};
use crate::core::oauth::error::{ClientProblem, OAuthError, RequestProblem, ScopeProblem};
use crate::core::oauth::guard_ops::{StateAsk, StateReply};
use crate::core::oauth::ids::FamilyId;
use crate::core::oauth::lifetime::REFRESH_SECONDS;
use crate::core::oauth::redeemed::Redeemed;
use crate::core::oauth::refresh::RefreshToken;
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
    facts.credential = Some(match request.grant {
        GrantRequest::ClientCredentials { .. } => CredentialKind::Key,
        GrantRequest::AuthorizationCode { .. } => CredentialKind::AuthorizationCode,
        GrantRequest::RefreshToken { .. } => CredentialKind::RefreshToken,
    });
    let record = match client_record(env, config, &client).await? {
        Some(record) => record,
        None => return Err(refuse(env, config, facts, client.failure(ClientProblem::Key(KeyRejection::Unknown))).await),
    };
    // The key the secret is (its record was found by the secret's hash),
    // named as a key is on SCIM routes, whatever client id was claimed.
    facts.key_id = Some(record.key_id.as_str().to_owned());
    facts.tenant = record.tenant.clone();
    let ctx = Context { now, client_ip: facts.client_ip.as_deref().and_then(|ip| ip.parse().ok()), resource_types: &[] };
    if let Err(e) = client_auth::check(&record, &client, &ctx) {
        if !e.is_failed_authentication() {
            // A known key refused (revoked, expired, address): its usage counts it.
            count(env, config, &record, e).await;
        }
        return Err(refuse(env, config, facts, e).await);
    }

    // Each grant's own checks first (nothing consumed), then the key's
    // rate, then what changes the guard's state (a code redeemed, a
    // refresh token rotated), then the token.
    let refresh_expires_at = UnixMillis(now.0.saturating_add(u64::from(REFRESH_SECONDS) * 1000));
    let (grant, scopes, family, refresh) = match request.grant {
        GrantRequest::ClientCredentials { scope } => {
            let scopes = exchange::client_credentials(&record, scope.as_deref());
            let scopes = settle(env, config, &record, scopes).await?;
            meter(env, config, &record, &client).await?;
            (GrantKind::ClientCredentials, scopes, None, None)
        }
        GrantRequest::AuthorizationCode { code, redirect_uri, code_verifier } => {
            let claims = exchange::code(keys, &record, &code, &redirect_uri, code_verifier.as_deref(), now).and_then(|claims| {
                if exchange::fits(&record, &claims.scopes) { Ok(claims) } else { Err(OAuthError::InvalidScope(ScopeProblem::TooLarge)) }
            });
            let claims = settle(env, config, &record, claims).await?;
            meter(env, config, &record, &client).await?;
            let family = FamilyId::generate(fill_random);
            let refresh = RefreshToken::generate(fill_random);
            let ask = StateAsk::Redeem {
                code: Redeemed { code: claims.code_id, expires_at: claims.expires_at, family },
                first: refresh.hash(),
                scopes: claims.scopes.iter().map(ToString::to_string).collect(),
                refresh_expires_at,
            };
            let reply = change_state(env, config, &record, ask).await?;
            if let Some((e, revoked)) = reply.refusal() {
                facts.family = revoked.map(|f| f.to_string());
                return Err(Outcome::OAuth(e));
            }
            (GrantKind::AuthorizationCode, claims.scopes, Some(family), Some(refresh))
        }
        GrantRequest::RefreshToken { token, scope } => {
            settle(env, config, &record, exchange::refresh_allowed(&record)).await?;
            meter(env, config, &record, &client).await?;
            let next = RefreshToken::generate(fill_random);
            let reply = change_state(env, config, &record, StateAsk::Refresh { presented: token.hash(), next: next.hash(), next_expires_at: refresh_expires_at }).await?;
            if let Some((e, revoked)) = reply.refusal() {
                facts.family = revoked.map(|f| f.to_string());
                return Err(Outcome::OAuth(e));
            }
            let rotated = reply.rotated().ok_or(Outcome::LimiterUnavailable)?;
            facts.family = Some(rotated.family.to_string());
            let scopes = exchange::refreshed_scopes(&record, &rotated, scope.as_deref()).map_err(Outcome::OAuth)?;
            (GrantKind::RefreshToken, scopes, Some(rotated.family), Some(next))
        }
    };
    facts.family = family.map(|f| f.to_string());
    let mint = Mint { grant, scopes, family, token_id: TokenId::generate(fill_random), lifetime: config.access_lifetime, now, keys };
    let (response, claims) = exchange::respond(&record, &client, mint, refresh).map_err(Outcome::OAuth)?;
    facts.tid = Some(claims.token_id.to_string());
    Ok((Outcome::TokenIssued, answer(200, &response.body(), &response.headers())))
}

/// A grant's own verdict: a refusal is counted in the key's usage.
async fn settle<T>(env: &Env, config: &Config, record: &KeyRecord, verdict: Result<T, OAuthError>) -> Result<T, Outcome> {
    match verdict {
        Ok(value) => Ok(value),
        Err(e) => Err(counted(env, config, record, e).await),
    }
}

/// Asks the key's guard to redeem a code or rotate a refresh token. A
/// guard that cannot be asked refuses the grant (fail closed): nothing is
/// issued without the state that makes it single-use.
async fn change_state(env: &Env, config: &Config, record: &KeyRecord, ask: StateAsk) -> Result<StateReply, Outcome> {
    let body = serde_json::to_string(&ask).map_err(|_| Outcome::LimiterUnavailable)?;
    let text = stubs::call(env, stubs::GUARDS, record.key_id.as_str(), "/oauth", Some(body), config.binding_timeout_ms).await.map_err(|_| Outcome::LimiterUnavailable)?;
    serde_json::from_str(&text).map_err(|_| Outcome::LimiterUnavailable)
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
        Ok(Answer::Counted | Answer::FamilyRevoked | Answer::TokenEnded | Answer::TokenSuspended) | Err(_) => Err(Outcome::LimiterUnavailable),
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
    key_record(env, config, &client.secret).await
}

/// The record of `key`, as [`client_record`].
async fn key_record(env: &Env, config: &Config, key: &ProvisioningKey) -> Result<Option<KeyRecord>, Outcome> {
    let kv = Kv::open(env, config.binding_timeout_ms).map_err(|_| Outcome::KeyStoreUnavailable)?;
    let mut stored = kv.get(&record_name(&config.pepper, key)).await.map_err(|_| Outcome::KeyStoreUnavailable)?;
    if let (None, Some(previous)) = (&stored, &config.previous_pepper) {
        stored = kv.get(&record_name(previous, key)).await.map_err(|_| Outcome::KeyStoreUnavailable)?;
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

/// The authorization page's POST (`/oauth/approve?<the IdP's request>`,
/// body `key=<the pasted key>`, sent by the page in www/): the
/// pasted key's record, then `authorize::validate`; a code and a 303 to the
/// registered redirect URI, an error sent back there (303), or, until the
/// client and its redirect URI are trusted, an error page.
pub async fn authorize(req: &mut Request, env: &Env, config: &Config, facts: &mut RequestFacts, now: UnixMillis, query: Option<&str>) -> Result<(Outcome, Response), Outcome> {
    facts.resource = Some("oauth_authorize".into());
    let keys = config.token_keys.as_ref().ok_or(Outcome::NotFound)?;
    if req.method() != Method::Post {
        return Err(Outcome::MethodNotAllowed);
    }
    // The issuer its metadata names, for the redirect's `iss` (RFC 9207).
    let url = req.inner().url();
    let issuer = RequestTarget::parse(&url).as_ref().and_then(Issuer::of).ok_or(Outcome::NotFound)?;
    let rejected = |r| Outcome::AuthorizePage(PageProblem::KeyRejected(r));
    let body = read_form(req).await.map_err(|_| Outcome::AuthorizePage(PageProblem::BadQuery))?;
    let form = Form::parse(&body).map_err(|_| Outcome::AuthorizePage(PageProblem::BadQuery))?;
    let pasted = form.get("key").map_err(|_| Outcome::AuthorizePage(PageProblem::BadQuery))?.map(str::trim).unwrap_or_default();
    let key = match ProvisioningKey::parse(pasted) {
        Ok(key) => key,
        Err(e) => {
            let r = if e == KeyFormatError::BadChecksum { KeyRejection::BadChecksum } else { KeyRejection::Malformed };
            return Err(throttle::charge_failure(env, facts.client_ip.as_deref(), rejected(r), config.auth_failure_retry_after).await);
        }
    };
    let Some(record) = key_record(env, config, &key).await? else {
        return Err(throttle::charge_failure(env, facts.client_ip.as_deref(), rejected(KeyRejection::Unknown), config.auth_failure_retry_after).await);
    };
    facts.key_id = Some(record.key_id.as_str().to_owned());
    facts.tenant = record.tenant.clone();
    facts.credential = Some(CredentialKind::Key);
    let approved = match authorize::validate(query.unwrap_or_default().as_bytes(), &record, &issuer, now) {
        Ok(approved) => approved,
        Err(AuthorizeError::Page(p)) => return Err(Outcome::AuthorizePage(p)),
        Err(AuthorizeError::Redirect { location, problem }) => return Ok((Outcome::AuthorizeRedirected(problem), see_other(&location))),
    };
    match authorize::issue(keys, &record, &approved, CodeId::generate(fill_random), now) {
        Ok(location) => Ok((Outcome::CodeIssued, see_other(&location))),
        Err(AuthorizeError::Page(p)) => Err(Outcome::AuthorizePage(p)),
        Err(AuthorizeError::Redirect { location, problem }) => Ok((Outcome::AuthorizeRedirected(problem), see_other(&location))),
    }
}

/// A 303 to `location` (the browser then GETs it), telling nobody where it came from.
fn see_other(location: &str) -> Response {
    let h = Headers::new();
    let _ = h.set("location", location);
    let _ = h.set("referrer-policy", "no-referrer");
    Response::builder().with_status(303).with_headers(h).empty()
}
