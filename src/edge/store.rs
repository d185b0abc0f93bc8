//! Reading a key's record: from this isolate's memory when it was read
//! from Workers KV less than `RECORD_CACHE_TTL_SECONDS` ago, else from KV.

use super::{config::Config, deadline};
use crate::core::decide::verify;
use crate::core::key::ProvisioningKey;
use crate::core::api::summary::Summary;
use crate::core::lookup::{index_name, name_of, record_digest, record_name};
use crate::core::record_cache::RecordCache;
use crate::core::{KeyRecord, Outcome, UnixMillis};
use std::cell::RefCell;
use std::rc::Rc;
use worker::Env;

/// The KV binding that holds key records.
const BINDING: &str = "KEYS";
/// Seconds an edge location may serve a cached read (KV's minimum is 60).
/// Bounds how long a revocation or scope change takes to be seen.
const CACHE_TTL_SECONDS: u64 = 60;
/// Records one isolate keeps at most (a decoded record is well under 1 KB).
const RECORD_CACHE_ENTRIES: usize = 1024;

thread_local! {
    /// This isolate's recently read records; created with the settings.
    static RECENT: RefCell<Option<RecordCache<Rc<KeyRecord>>>> = const { RefCell::new(None) };
}

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

/// The stored bytes named `name` (under `PEPPER`), or, during a pepper
/// rotation, under `PEPPER_PREVIOUS` for keys not yet rotated.
async fn read_named(env: &Env, config: &Config, key: &ProvisioningKey, name: &str) -> Result<Option<Vec<u8>>, Outcome> {
    let stored = read(env, name, config.binding_timeout_ms).await?;
    match (&stored, &config.previous_pepper) {
        (None, Some(previous)) => read(env, &record_name(previous, key), config.binding_timeout_ms).await,
        _ => Ok(stored),
    }
}

/// The decoded record of `key` for a request at `now`: reused if this
/// isolate read it less than the TTL ago, else read from KV and kept. Only
/// records are kept; an unknown key or an undecodable record is asked of
/// KV again by the next request.
pub async fn record(env: &Env, config: &Config, key: &ProvisioningKey, now: UnixMillis) -> Result<Rc<KeyRecord>, Outcome> {
    let digest = record_digest(&config.pepper, key);
    if let Some(record) = RECENT.with(|r| r.borrow().as_ref().and_then(|cache| cache.get(&digest, now))) {
        return Ok(record);
    }
    let stored = read_named(env, config, key, &name_of(&digest)).await?;
    let record = Rc::new(verify(stored.as_deref())?);
    RECENT.with(|r| {
        r.borrow_mut()
            .get_or_insert_with(|| RecordCache::new(config.record_cache_ttl_ms, RECORD_CACHE_ENTRIES))
            .put(digest, record.clone(), now)
    });
    Ok(record)
}

/// Whether the key has been used, as its listing summary (`id:` entry's
/// metadata) says: its guard writes the first use there. `None` when the
/// summary cannot be read (absent, unreadable, KV failing): then nobody
/// knows, and callers ask the guard as before.
pub async fn used(env: &Env, key_id: &str, timeout_ms: u64) -> Option<bool> {
    let kv = env.kv(BINDING).ok()?;
    let read = kv.get(&index_name(key_id)).cache_ttl(CACHE_TTL_SECONDS).text_with_metadata::<serde_json::Value>();
    let (_, metadata) = deadline::within(timeout_ms, read).await.ok()?.ok()?;
    Summary::from_json(&metadata?).map(|s| s.last_used.is_some())
}
