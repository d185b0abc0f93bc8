//! Per-address limits with the Workers rate-limiting bindings: failed
//! attempts (`AUTH_FAILURES`) and keyless public discovery (`DISCOVERY_LIMIT`).
//!
//! Only requests whose key fails verification are counted as failures, so
//! a valid key is never throttled by them, whatever its address sent before.

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

const DISCOVERY_BINDING: &str = "DISCOVERY_LIMIT";
/// `Retry-After` over the discovery limit: the binding's period (wrangler.toml).
const DISCOVERY_RETRY_AFTER: u64 = 60;

/// Meters one keyless discovery request from `client`. Such a request
/// reaches the origin with the edge's credential and signature, so it is
/// refused when the limit is reached and also when the binding is missing
/// or failing (fail closed).
pub async fn meter_discovery(env: &Env, client: Option<&str>) -> Result<(), Outcome> {
    let limiter = env.rate_limiter(DISCOVERY_BINDING).map_err(|_| Outcome::LimiterUnavailable)?;
    match limiter.limit(client.unwrap_or("unknown").to_owned()).await {
        Ok(outcome) if outcome.success => Ok(()),
        Ok(_) => Err(Outcome::DiscoveryThrottled { retry_after: DISCOVERY_RETRY_AFTER }),
        Err(_) => Err(Outcome::LimiterUnavailable),
    }
}

/// Meters one connection-doctor check of a key that has no guard yet (see
/// `check`): per key id, on the discovery binding's budget, over it 429
/// `rate_limited`; a missing or failing binding refuses (fail closed).
pub async fn meter_unguarded_check(env: &Env, key_id: &str) -> Result<(), Outcome> {
    let limiter = env.rate_limiter(DISCOVERY_BINDING).map_err(|_| Outcome::LimiterUnavailable)?;
    match limiter.limit(format!("check:{key_id}")).await {
        Ok(outcome) if outcome.success => Ok(()),
        Ok(_) => Err(Outcome::RateLimited { retry_after: DISCOVERY_RETRY_AFTER }),
        Err(_) => Err(Outcome::LimiterUnavailable),
    }
}
