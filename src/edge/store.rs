//! Reading a key's record from Workers KV.

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
