//! The `provgate-control` Worker: the management API (`/_provgate/api/v1`,
//! docs/api.md) and the keys' records writers (`KeyRecords`). Built from
//! the same crate with the `control` feature, so that none of this code
//! loads with the SCIM path (the `provgate` Worker forwards the API's
//! paths here through its `CONTROL` service binding). Every decision is
//! in `core::api`; this does the I/O.

#[allow(dead_code)] // new_source is the SCIM Worker's
#[path = "../edge/alert.rs"]
mod alert;
#[path = "../edge/deadline.rs"]
mod deadline;
#[allow(dead_code)]
#[path = "../edge/log.rs"]
mod log;
#[path = "../edge/object.rs"]
mod object;
#[allow(dead_code)]
#[path = "../edge/respond.rs"]
mod respond;
#[allow(dead_code)] // discovery metering is the SCIM Worker's
#[path = "../edge/throttle.rs"]
mod throttle;

mod api;
mod config;
mod guard;
mod idempotency;
mod kv;
mod oauth;
mod records;
mod stubs;
mod unconfirmed;

use crate::core::api::route::PREFIX;
use crate::core::audit::{AuditRecord, RequestFacts};
use crate::core::credential::credential_in_query;
use crate::core::forward::{RequestTarget, MAX_URL_BYTES};
use crate::core::oauth::metadata::{APPROVE_PATH, TOKEN_PATH};
use crate::core::{Outcome, UnixMillis};
use futures_util::StreamExt;
use worker::{event, Context, Date, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, ctx: Context) -> Result<Response> {
    let started = UnixMillis(Date::now().as_millis());
    let mut bytes = [0u8; 12];
    let _ = getrandom::getrandom(&mut bytes);
    let request_id = hex::encode(bytes);
    let mut facts = RequestFacts {
        method: req.method().to_string(),
        client_ip: req.headers().get("cf-connecting-ip").ok().flatten(),
        ..RequestFacts::default()
    };
    let (outcome, response) = match serve(&mut req, &env, started, &mut facts).await {
        Ok((outcome, mut response)) => {
            respond::mark_edge_answer(response.headers_mut(), &request_id);
            (outcome, response)
        }
        Err(denied) => {
            drain(&mut req).await;
            let response = respond::error(&denied, &request_id);
            (denied, response)
        }
    };
    // A key minted, rotated, revoked or changed, or an address throttled, is worth an alert.
    alert::after_request(&ctx, &env, &outcome, &request_id, &facts, started);
    log::emit(&AuditRecord::new(&request_id, facts, &outcome, started, UnixMillis(Date::now().as_millis())));
    Ok(response)
}

/// The API exists only once `ROOT_TOKEN` is set; before, and outside its
/// prefix, every path is the edge's usual `not_found`.
async fn serve(req: &mut Request, env: &Env, now: UnixMillis, facts: &mut RequestFacts) -> std::result::Result<(Outcome, Response), Outcome> {
    let config = config::Config::for_isolate(env)?;
    let url = req.inner().url();
    let target = RequestTarget::parse(&url).ok_or(Outcome::NotFound)?;
    if target.query.is_some_and(credential_in_query) {
        return Err(Outcome::KeyInQuery);
    }
    if url.len() > MAX_URL_BYTES {
        return Err(Outcome::UrlTooLong);
    }
    if target.path == TOKEN_PATH {
        return oauth::token(req, env, &config, facts, now).await;
    }
    if target.path == APPROVE_PATH {
        return oauth::authorize(req, env, &config, facts, now, target.query).await;
    }
    let below = target.path.strip_prefix(PREFIX).filter(|rest| rest.is_empty() || rest.starts_with('/')).ok_or(Outcome::NotFound)?;
    if config.root_token.is_none() {
        return Err(Outcome::NotFound);
    }
    api::handle(req, env, &config, facts, now, below, target.query).await
}

/// Reads an unread body of up to twice the API's limit before answering,
/// so that the connection stays usable (see the edge's pipeline); a larger
/// one is left alone (the reset is then the cheaper outcome).
async fn drain(req: &mut Request) {
    if req.inner().body().is_none() || req.inner().body_used() {
        return;
    }
    let Ok(mut stream) = req.stream() else { return };
    let mut seen = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len();
        if seen > 2 * crate::core::api::fields::MAX_BODY_BYTES {
            break;
        }
    }
}
