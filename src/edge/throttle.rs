//! Failed-attempt throttling per client address, with the Workers
//! rate-limiting binding `AUTH_FAILURES`.
//!
//! Only requests whose key fails verification are counted, so a valid key
//! is never throttled by it, whatever its address sent before.

use crate::core::Outcome;
use worker::Env;

const BINDING: &str = "AUTH_FAILURES";

/// Counts one failed verification from `client`; over the limit, the
/// denial becomes `AuthThrottled`. Without the binding (or if it fails) the
/// request is still denied as it was: nothing is let through either way.
pub async fn charge_failure(env: &Env, client: Option<&str>, denial: Outcome, retry_after: u64) -> Outcome {
    let Ok(limiter) = env.rate_limiter(BINDING) else { return denial };
    let key = client.unwrap_or("unknown").to_owned();
    match limiter.limit(key).await {
        Ok(outcome) if !outcome.success => Outcome::AuthThrottled { retry_after },
        _ => denial,
    }
}
