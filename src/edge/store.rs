//! Reading a key's record from Workers KV.

use super::config::Config;
use crate::core::key::ProvisioningKey;
use crate::core::lookup::record_name;
use crate::core::Outcome;
use worker::Env;

/// The KV binding that holds key records.
const BINDING: &str = "KEYS";
/// Seconds an edge location may serve a cached read (KV's minimum is 60).
/// Bounds how long a revocation or scope change takes to be seen.
const CACHE_TTL_SECONDS: u64 = 60;

/// The stored bytes under `name`, `None` if absent. A missing binding or a
/// failed read is `KeyStoreUnavailable`: the request is denied, not waved through.
pub async fn read(env: &Env, name: &str) -> Result<Option<Vec<u8>>, Outcome> {
    let kv = env.kv(BINDING).map_err(|_| Outcome::KeyStoreUnavailable)?;
    kv.get(name).cache_ttl(CACHE_TTL_SECONDS).bytes().await.map_err(|_| Outcome::KeyStoreUnavailable)
}

/// The stored record of `key`: named under `PEPPER`, or, during a pepper
/// rotation, under `PEPPER_PREVIOUS` for keys not yet rotated.
pub async fn read_record(env: &Env, config: &Config, key: &ProvisioningKey) -> Result<Option<Vec<u8>>, Outcome> {
    let stored = read(env, &record_name(&config.pepper, key)).await?;
    match (&stored, &config.previous_pepper) {
        (None, Some(previous)) => read(env, &record_name(previous, key)).await,
        _ => Ok(stored),
    }
}
