//! One management API call, from the routed request to the reply, as a
//! replayable function (see `io`): authentication, the route's scope, and
//! the route's handler. The edge reads the body, then drives this.

mod auth;
mod diagnostics;
mod keys;
mod tokens;
mod writes;

use super::io::{Replay, Stop};
use super::route::{self, Action};
use super::{idempotency, Actor, Kind, Problem};
use crate::core::time::UnixMillis;
use serde_json::Value;

/// The request, as the edge read it.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// What the route is.
    pub action: Action,
    /// The key or token id of its path (empty if none).
    pub id: &'a str,
    /// The query string without `?`.
    pub query: Option<&'a str>,
    /// `Authorization`.
    pub authorization: Option<&'a str>,
    /// `Idempotency-Key`.
    pub idempotency_key: Option<&'a str>,
    /// `If-Match`.
    pub if_match: Option<&'a str>,
    /// `Content-Type`.
    pub content_type: Option<&'a str>,
    /// The body (read only for routes that take one).
    pub body: &'a [u8],
    /// The edge's clock.
    pub now: UnixMillis,
}

/// The deployment's secrets the API needs.
pub struct Settings<'a> {
    /// `PEPPER`.
    pub pepper: &'a [u8],
    /// `PEPPER_PREVIOUS`.
    pub previous_pepper: Option<&'a [u8]>,
    /// `core::lookup::pepper_id(PEPPER)`.
    pub pepper_id: &'a str,
    /// `ROOT_TOKEN`.
    pub root_token: &'a str,
}

/// What the audit line learns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// The verified caller.
    pub actor: Option<String>,
    /// The key acted on.
    pub key_id: Option<String>,
    /// Its tenant.
    pub tenant: Option<String>,
    /// The management token acted on.
    pub token_id: Option<String>,
}

/// A successful call's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// 200, 201 or 204.
    pub status: u16,
    /// The JSON body, if any.
    pub body: Option<String>,
    /// Headers besides the content type.
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Self {
        Reply { status, body: Some(body.to_string()), headers: Vec::new() }
    }

    fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// With the `ETag` of the answer's `etag` field, if it has one.
    fn tagged(self, answer: &Value) -> Self {
        match answer["etag"].as_str() {
            Some(tag) => {
                let tag = tag.to_owned();
                self.with("etag", tag)
            }
            None => self,
        }
    }
}

/// The longest `If-Match` read (a few ETags).
const MAX_IF_MATCH: usize = 512;

/// A call's context: the request, the settings, and the verified caller.
struct Cx<'a> {
    req: &'a Request<'a>,
    settings: &'a Settings<'a>,
    actor: Actor,
}

/// Serves one call. Run it through `io::run` (or the edge's driver).
pub fn serve(req: &Request<'_>, settings: &Settings<'_>, io: &mut Replay, facts: &mut Facts) -> Result<Reply, Stop> {
    if req.id.starts_with("tok_") {
        facts.token_id = Some(req.id.to_owned());
    } else if !req.id.is_empty() {
        facts.key_id = Some(req.id.to_owned());
    }
    let actor = auth::actor(req, settings, io)?;
    facts.actor = Some(actor.id.clone());
    actor.require(req.action.scope())?;
    if req.if_match.is_some_and(|m| m.len() > MAX_IF_MATCH) {
        return Err(Problem::field(Kind::InvalidField, "If-Match", "at most 512 characters: the ETag of a show, mint or update").into());
    }
    if req.idempotency_key.is_some_and(|k| !idempotency::valid_key(k)) {
        return Err(Problem::field(Kind::InvalidField, "Idempotency-Key", "1 to 255 printable ASCII characters").into());
    }
    if req.action.takes_body() && !(req.body.is_empty() && matches!(req.action, Action::KeyRotate | Action::DiagnosticsOrigin)) {
        route::check_media_type(req.content_type, req.action)?;
    }
    let cx = Cx { req, settings, actor };
    match req.action {
        Action::KeyMint => keys::mint(&cx, io, facts),
        Action::KeyList => keys::list(&cx, io),
        Action::KeyShow => keys::show(&cx, io, facts),
        Action::KeyUsage => keys::usage(&cx, io, facts),
        Action::UsageStale => keys::stale(&cx, io),
        Action::KeyUpdate => writes::update(&cx, io, facts),
        Action::KeyRevoke => writes::revoke(&cx, io, facts),
        Action::KeyDelete => writes::delete(&cx, io, facts),
        Action::KeyRotate => writes::rotate(&cx, io, facts),
        Action::TokenMint => tokens::mint(&cx, io, facts),
        Action::TokenList => tokens::list(&cx, io),
        Action::TokenShow => tokens::show(&cx, io, facts),
        Action::TokenRevoke => tokens::revoke(&cx, io, facts),
        Action::DiagnosticsOrigin => diagnostics::origin(&cx, facts),
    }
}

#[cfg(test)]
mod tests;
