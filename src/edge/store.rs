//! Reading a key's record from Workers KV.

use super::{config::Config, deadline};
use crate::core::key::ProvisioningKey;
use crate::core::lookup::record_name;
use crate::core::Outcome;
use worker::Env;

/// The KV binding that holds key records.
const BINDING: &str = "KEYS";
/// Seconds an edge location may serve a cached read (KV's minimum is 60).
/// Bounds how long a revocation or scope change takes to be seen.
const CACHE_TTL_SECONDS: u64 = 60;

/// The stored bytes under `name`, `None` if absent. A missing binding, a
/// failed read or one slower than `timeout_ms` is `KeyStoreUnavailable`: the
/// request is denied, not waved through.
pub async fn read(env: &Env, name: &str, timeout_ms: u64) -> Result<Option<Vec<u8>>, Outcome> {
    let kv = env.kv(BINDING).map_err(|_| Outcome::KeyStoreUnavailable)?;
    let read = kv.get(name).cache_ttl(CACHE_TTL_SECONDS).bytes();
    match deadline::within(timeout_ms, read).await {
        Ok(Ok(stored)) => Ok(stored),
        Ok(Err(_)) | Err(deadline::TimedOut) => Err(Outcome::KeyStoreUnavailable),
    }
}

/// The stored record of `key`: named under `PEPPER`, or, during a pepper
/// rotation, under `PEPPER_PREVIOUS` for keys not yet rotated.
pub async fn read_record(env: &Env, config: &Config, key: &ProvisioningKey) -> Result<Option<Vec<u8>>, Outcome> {
    let stored = read(env, &record_name(&config.pepper, key), config.binding_timeout_ms).await?;
    match (&stored, &config.previous_pepper) {
        (None, Some(previous)) => read(env, &record_name(previous, key), config.binding_timeout_ms).await,
        _ => Ok(stored),
    }
}
