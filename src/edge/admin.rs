//! The operator's admin route, `POST /_provgate/admin/revoke`, used by
//! `provgate key revoke` to stop a key at once (KV alone takes up to a
//! minute to propagate).
//!
//! It can only take access away, never grant it: its one action is to mark
//! a key id revoked in that key's guard. It exists only when the
//! `ADMIN_TOKEN` secret is set, compares the token in constant time, and a
//! wrong token counts as a failed attempt for that address.

use super::guard;
use crate::core::key::KeyId;
use crate::core::Outcome;
use subtle::ConstantTimeEq;
use worker::{Env, Request};

/// The route's path; outside any SCIM base path.
pub const REVOKE_PATH: &str = "/_provgate/admin/revoke";

#[derive(serde::Deserialize)]
struct RevokeBody {
    key_id: String,
}

/// Handles the admin call; `Ok` carries the revoked key id.
pub async fn revoke(req: &mut Request, env: &Env, admin_token: Option<&str>, guard_timeout_ms: u64) -> Result<String, Outcome> {
    let Some(expected) = admin_token else { return Err(Outcome::NotFound) };
    if req.method() != worker::Method::Post {
        return Err(Outcome::MethodNotAllowed);
    }
    let presented = req.headers().get("authorization").ok().flatten().unwrap_or_default();
    let presented = presented.strip_prefix("Bearer ").unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(Outcome::AdminUnauthorized);
    }
    let body: RevokeBody = req.json().await.map_err(|_| Outcome::AdminBadRequest)?;
    let key_id = KeyId::parse(&body.key_id).ok_or(Outcome::AdminBadRequest)?;
    guard::revoke(env, key_id.as_str(), guard_timeout_ms).await.map_err(|_| Outcome::LimiterUnavailable)?;
    Ok(key_id.as_str().to_owned())
}
