//! Driving one management API call. The call
//! itself is `core::api::serve`, a pure function that asks for its I/O one
//! step at a time (`core::api::io`); this performs those steps: KV, the
//! guards, the runtime's randomness and the failed-attempt throttle.

use super::config::Config;
use super::{kv::Kv, stubs, throttle};
use crate::core::api::fields::MAX_BODY_BYTES;
use crate::core::api::io::{Answer, Io, Replay, Stop};
use crate::core::api::route::{self, Action};
use crate::core::api::serve::{self, Facts, Settings};
use crate::core::api::{Kind, Problem};
use crate::core::audit::RequestFacts;
use crate::core::{Outcome, UnixMillis};
use std::future::Future;
use std::pin::Pin;
use worker::{Env, Headers, Request, Response};


/// Serves one API call; `path` is below the prefix. A failure is an
/// `Outcome::Api` problem, answered as problem+json by the pipeline.
pub async fn handle(req: &mut Request, env: &Env, config: &Config, facts: &mut RequestFacts, now: UnixMillis, path: &str, query: Option<&str>) -> Result<(Outcome, Response), Outcome> {
    facts.resource = Some("api".into());
    // The method as sent: the runtime's enum folds ones it does not know.
    let routed = route::route(&req.inner().method(), path).map_err(Outcome::Api)?;
    facts.action = Some(routed.action.name());
    let body = if routed.action.takes_body() { read_body(req).await.map_err(Outcome::Api)? } else { Vec::new() };
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let (authorization, idempotency_key, if_match, content_type) = (header("authorization"), header("idempotency-key"), header("if-match"), header("content-type"));
    let request = serve::Request {
        action: routed.action,
        id: routed.id.as_deref().unwrap_or_default(),
        query,
        authorization: authorization.as_deref(),
        idempotency_key: idempotency_key.as_deref(),
        if_match: if_match.as_deref(),
        content_type: content_type.as_deref(),
        body: &body,
        now,
    };
    let settings = Settings {
        pepper: &config.pepper,
        previous_pepper: config.previous_pepper.as_deref(),
        pepper_id: &config.pepper_id,
        root_token: config.root_token.as_deref().unwrap_or_default(),
    };
    let mut replay = Replay::default();
    let mut learned;
    let result = loop {
        replay.restart();
        learned = Facts::default();
        match serve::serve(&request, &settings, &mut replay, &mut learned) {
            Ok(reply) => break Ok(reply),
            Err(Stop::Fail(problem)) => break Err(problem),
            Err(Stop::Need(io)) => {
                let answer = perform(env, config, facts.client_ip.as_deref(), routed.action, io).await;
                replay.record(answer);
            }
        }
    };
    facts.actor = learned.actor;
    facts.key_id = learned.key_id;
    facts.tenant = learned.tenant;
    facts.token_id = learned.token_id;
    let reply = result.map_err(Outcome::Api)?;
    let headers = Headers::new();
    let _ = headers.set("content-type", "application/json");
    for (name, value) in &reply.headers {
        let _ = headers.set(name, value);
    }
    let builder = Response::builder().with_status(reply.status).with_headers(headers);
    let response = match reply.body {
        Some(body) => builder.fixed(body.into_bytes()),
        None => builder.empty(),
    };
    Ok((Outcome::ApiDone { status: reply.status }, response))
}

/// One step of a call; boxed, so that every step shares this one body.
fn perform<'a>(env: &'a Env, config: &'a Config, client_ip: Option<&'a str>, action: Action, io: Io) -> Pin<Box<dyn Future<Output = Result<Answer, Problem>> + 'a>> {
    Box::pin(async move {
        let kv = || Kv::open(env, config.binding_timeout_ms);
        Ok(match io {
            Io::Get(name) => Answer::Text(kv()?.get(&name).await?),
            Io::GetMeta(name) => {
                let (value, metadata) = kv()?.get_with_metadata(&name).await?;
                Answer::Meta(value, metadata)
            }
            Io::Put(name, value, metadata) => kv()?.put(&name, &value, metadata.as_ref()).await.map(|()| Answer::Done)?,
            Io::Delete(name) => kv()?.delete(&name).await.map(|()| Answer::Done)?,
            Io::List(prefix, limit, cursor) => Answer::Page(kv()?.list(&prefix, limit, cursor).await?),
            Io::Guard(name, path, body) => {
                // A write waits for the guard's own KV writes and pacing.
                let timeout = if path == "/write" { config.binding_timeout_ms.saturating_mul(5) + 1_000 } else { config.binding_timeout_ms };
                let answer = stubs::call(env, stubs::binding_for(path), &name, path, (!body.is_empty()).then_some(body), timeout).await;
                Answer::Text(Some(answer.map_err(|_| Problem::new(Kind::StoreUnavailable, unavailable(action)))?))
            }
            Io::Random(len) => {
                let mut bytes = vec![0; len];
                getrandom::getrandom(&mut bytes).map_err(|_| Problem::from(Kind::StoreUnavailable))?;
                Answer::Bytes(bytes)
            }
            Io::Failure => {
                let denial = Outcome::Api(Kind::Unauthorized.into());
                match throttle::charge_failure(env, client_ip, denial, config.auth_failure_retry_after).await {
                    Outcome::AuthThrottled { retry_after } => Answer::Throttled(Some(retry_after)),
                    _ => Answer::Throttled(None),
                }
            }
        })
    })
}

fn unavailable(action: Action) -> &'static str {
    match action {
        Action::KeyUpdate | Action::KeyRevoke | Action::KeyDelete | Action::KeyRotate => {
            "a key's guard failed or did not answer in time; a write that timed out may have been applied: read the key, then retry"
        }
        _ => "a guard failed or did not answer in time; retry",
    }
}

/// The body, bounded.
async fn read_body(req: &mut Request) -> Result<Vec<u8>, Problem> {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(Kind::BodyTooLarge.into());
    }
    let body = if req.inner().body().is_some() { req.bytes().await.map_err(|_| Problem::from(Kind::InvalidJson))? } else { Vec::new() };
    if body.len() > MAX_BODY_BYTES {
        return Err(Kind::BodyTooLarge.into());
    }
    Ok(body)
}
