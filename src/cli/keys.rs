//! Reading and writing a key's two KV entries: the index (`id:<key id>`)
//! and the record (`hash:<HMAC of the key>`).
//!
//! Write order, everywhere: the index first, then the record. A crash in
//! between leaves an index that points at nothing (listed as incomplete),
//! never a working key that no id can reach.

use super::wrangler::Store;
use crate::core::key::{KeyId, ProvisioningKey, KEY_ID_PREFIX, KEY_PREFIX};
use crate::core::lookup::{index_name, pepper_id, record_name, IndexEntry, INDEX_PREFIX};
use crate::core::record::KeyRecord;
use crate::core::time::UnixMillis;
use std::time::{SystemTime, UNIX_EPOCH};

/// A key's entries as stored.
pub struct Stored {
    pub index: IndexEntry,
    pub record: KeyRecord,
}

/// A freshly made key and the two entries that make it work.
pub struct Minted {
    pub key: ProvisioningKey,
    pub record: KeyRecord,
    pub entries: [(String, String); 2],
}

pub fn fill_random(buf: &mut [u8]) {
    getrandom::getrandom(buf).expect("the operating system's random source is available");
}

/// Now, rounded down to the second (records keep whole seconds).
/// `PROVGATE_NOW` (RFC 3339) sets it, for tests and for minting records
/// dated in the past or future.
pub fn now() -> UnixMillis {
    if let Some(at) = std::env::var("PROVGATE_NOW").ok().and_then(|t| UnixMillis::parse_rfc3339(&t)) {
        return UnixMillis(at.0 / 1000 * 1000);
    }
    let ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    UnixMillis(ms / 1000 * 1000)
}

/// Makes a new key for `record` (whose `key_id` is replaced by a fresh one).
pub fn mint(pepper: &[u8], mut record: KeyRecord) -> Minted {
    let key = ProvisioningKey::generate(fill_random);
    record.key_id = KeyId::generate(fill_random);
    let name = record_name(pepper, &key);
    let index = IndexEntry { v: 1, record: name.clone(), pepper: Some(pepper_id(pepper)) };
    let entries = [
        (index_name(record.key_id.as_str()), serde_json::to_string(&index).expect("serialises")),
        (name, record.encode()),
    ];
    Minted { key, record, entries }
}

/// Writes entries in order; the first failure stops the rest.
pub fn write(kv: &Store, entries: &[(String, String)]) -> Result<(), String> {
    entries.iter().try_for_each(|(name, value)| kv.put(name, value))
}

/// The entries as a `wrangler kv bulk put` array, in write order.
pub fn bulk_json(entries: &[(String, String)]) -> String {
    let items: Vec<_> = entries.iter().map(|(k, v)| serde_json::json!({ "key": k, "value": v })).collect();
    serde_json::Value::Array(items).to_string()
}

/// Loads a key by id, with an error an operator can act on.
pub fn load(kv: &Store, key_id: &str) -> Result<Stored, String> {
    let id = KeyId::parse(key_id).ok_or_else(|| not_a_key_id(key_id))?;
    let index = kv.get(&index_name(id.as_str()))?.ok_or_else(|| format!("no key {id} in this store"))?;
    let index = parse_index(&index).map_err(|e| format!("the index of {id} is unreadable: {e}"))?;
    let stored = kv.get(&index.record)?.ok_or_else(|| format!("key {id} is incomplete: its index points at no record"))?;
    let record = KeyRecord::decode(stored.as_bytes()).map_err(|e| format!("the record of {id} is unreadable: {e}"))?;
    Ok(Stored { index, record })
}

/// Names a malformed id without echoing what was passed when it is not id-shaped:
/// a key pasted where its id belongs would land in scrollback and CI logs.
fn not_a_key_id(text: &str) -> String {
    if text.starts_with(KEY_ID_PREFIX) {
        format!("{text:?} is not a key id (key_ + base62)")
    } else if text.starts_with(KEY_PREFIX) {
        "that is a provisioning key, not a key id: pass its id (key_…, from `provgate key list`); the key itself is secret".into()
    } else {
        "the argument is not a key id (key_…; see `provgate key list`)".into()
    }
}

/// Every key in the store, in id order; unreadable ones carry their problem.
pub fn load_all(kv: &Store) -> Result<Vec<(String, Result<Stored, String>)>, String> {
    let mut ids = kv.list(INDEX_PREFIX)?;
    ids.sort();
    let indexes = kv.bulk_get(&ids)?;
    let parsed: Vec<(String, Result<IndexEntry, String>)> = ids
        .iter()
        .map(|name| {
            let index = indexes.get(name).cloned().flatten().ok_or("index vanished".to_owned()).and_then(|t| parse_index(&t));
            (name.trim_start_matches(INDEX_PREFIX).to_owned(), index)
        })
        .collect();
    let record_names: Vec<String> = parsed.iter().filter_map(|(_, i)| i.as_ref().ok().map(|i| i.record.clone())).collect();
    let records = kv.bulk_get(&record_names)?;
    Ok(parsed
        .into_iter()
        .map(|(id, index)| {
            let loaded = index.and_then(|index| {
                let text = records.get(&index.record).cloned().flatten().ok_or("incomplete: no record".to_owned())?;
                let record = KeyRecord::decode(text.as_bytes()).map_err(|e| format!("unreadable record: {e}"))?;
                Ok(Stored { index, record })
            });
            (id, loaded)
        })
        .collect())
}

fn parse_index(text: &str) -> Result<IndexEntry, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}
