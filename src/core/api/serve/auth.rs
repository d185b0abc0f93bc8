//! Who is calling: the root token (compared in constant time) or a
//! management token, verified by its HMAC-named record and asked of its
//! guard (revocation is instant). Any failure is one failed attempt for
//! the caller's address, like a bad provisioning key.

use super::{Request, Settings};
use crate::core::api::io::{Replay, Stop};
use crate::core::api::token::{ManagementToken, TokenRecord};
use crate::core::api::{Actor, Kind, Problem};
use serde_json::Value;
use subtle::ConstantTimeEq;

pub fn actor(req: &Request<'_>, settings: &Settings<'_>, io: &mut Replay) -> Result<Actor, Stop> {
    let presented = req.authorization.and_then(|h| h.strip_prefix("Bearer ")).unwrap_or_default().trim();
    match verify(presented, req, settings, io)? {
        Some(actor) => Ok(actor),
        None => Err(match io.failure()? {
            Some(retry_after) => Problem { retry_after: Some(retry_after), ..Kind::AuthThrottled.into() },
            None => Problem::new(Kind::Unauthorized, "send Authorization: Bearer <management token or root token>"),
        }
        .into()),
    }
}

fn verify(presented: &str, req: &Request<'_>, settings: &Settings<'_>, io: &mut Replay) -> Result<Option<Actor>, Stop> {
    let root = settings.root_token.as_bytes();
    if !root.is_empty() && bool::from(presented.as_bytes().ct_eq(root)) {
        return Ok(Some(Actor::root()));
    }
    let Ok(token) = ManagementToken::parse(presented) else { return Ok(None) };
    let mut stored = io.get(token.record_name(settings.pepper))?;
    if let (None, Some(previous)) = (&stored, settings.previous_pepper) {
        stored = io.get(token.record_name(previous))?;
    }
    let Some(actor) = stored.and_then(|s| TokenRecord::decode(s.as_bytes())).and_then(|r| r.actor(req.now)) else { return Ok(None) };
    let guard: Value = io.guard(&actor.id, "/revoked", String::new())?;
    Ok((guard["revoked"] != true).then_some(actor))
}
