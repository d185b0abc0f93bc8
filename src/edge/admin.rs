//! The operator's admin routes, used by the CLI:
//! - `POST /_provgate/admin/revoke` (`provgate key revoke`) stops a key at
//!   once (KV alone takes up to a minute to propagate);
//! - `POST /_provgate/admin/usage` (`provgate key usage`, `key list`) reads
//!   keys' usage from their guards.
//!
//! Neither can grant access: one marks a key id revoked in its guard, the
//! other only reads. Both exist only when the `ADMIN_TOKEN` secret is set,
//! compare the token in constant time, and a wrong token counts as a failed
//! attempt for that address.

use super::guard;
use crate::core::key::KeyId;
use crate::core::Outcome;
use subtle::ConstantTimeEq;
use worker::{Env, Request};

/// The revoke route's path; outside any SCIM base path.
pub const REVOKE_PATH: &str = "/_provgate/admin/revoke";
/// The usage route's path.
pub const USAGE_PATH: &str = "/_provgate/admin/usage";
/// Key ids one usage call may ask about.
const USAGE_BATCH: usize = 100;

#[derive(serde::Deserialize)]
struct RevokeBody {
    key_id: String,
}

#[derive(serde::Deserialize)]
struct UsageBody {
    key_ids: Vec<String>,
}

/// The route exists, is called with POST and the right token.
fn authenticate(req: &Request, admin_token: Option<&str>) -> Result<(), Outcome> {
    let Some(expected) = admin_token else { return Err(Outcome::NotFound) };
    if req.method() != worker::Method::Post {
        return Err(Outcome::MethodNotAllowed);
    }
    let presented = req.headers().get("authorization").ok().flatten().unwrap_or_default();
    let presented = presented.strip_prefix("Bearer ").unwrap_or_default();
    if !bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(Outcome::AdminUnauthorized);
    }
    Ok(())
}

/// Handles a revoke call; `Ok` carries the revoked key id.
pub async fn revoke(req: &mut Request, env: &Env, admin_token: Option<&str>, guard_timeout_ms: u64) -> Result<String, Outcome> {
    authenticate(req, admin_token)?;
    let body: RevokeBody = req.json().await.map_err(|_| Outcome::AdminBadRequest)?;
    let key_id = KeyId::parse(&body.key_id).ok_or(Outcome::AdminBadRequest)?;
    guard::revoke(env, key_id.as_str(), guard_timeout_ms).await.map_err(|_| Outcome::LimiterUnavailable)?;
    Ok(key_id.as_str().to_owned())
}

/// Handles a usage call: `{"usage": {"<key id>": {...} | null}}`, where
/// `null` means that key's guard could not be asked.
pub async fn usage(req: &mut Request, env: &Env, admin_token: Option<&str>, guard_timeout_ms: u64) -> Result<serde_json::Value, Outcome> {
    authenticate(req, admin_token)?;
    let body: UsageBody = req.json().await.map_err(|_| Outcome::AdminBadRequest)?;
    if body.key_ids.is_empty() || body.key_ids.len() > USAGE_BATCH {
        return Err(Outcome::AdminBadRequest);
    }
    let ids: Vec<KeyId> = body.key_ids.iter().map(|id| KeyId::parse(id)).collect::<Option<_>>().ok_or(Outcome::AdminBadRequest)?;
    // One guard after another: an operator's report, not a request path.
    let mut usage = serde_json::Map::new();
    for id in &ids {
        let value = guard::status(env, id.as_str(), guard_timeout_ms).await.map_or(serde_json::Value::Null, |s| {
            let mut usage = s.usage;
            usage["revoked_at_edge"] = s.revoked.into();
            usage
        });
        usage.insert(id.as_str().to_owned(), value);
    }
    Ok(serde_json::json!({ "usage": usage }))
}
