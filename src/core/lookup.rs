//! Where a key's record lives in KV: a keyed hash of the key, never the key.
//!
//! The entry name is `hash:` + hex(HMAC-SHA256(PEPPER, key)). Without the
//! pepper (a Worker secret, kept out of KV) a copy of the KV namespace does
//! not let anyone test guesses offline; with 256-bit keys a guess would be
//! hopeless anyway, so a single fast HMAC is enough (no password hashing).

use super::key::ProvisioningKey;
use hmac::{KeyInit, Mac};

/// Prefix of every KV entry that holds a key record.
pub const RECORD_PREFIX: &str = "hash:";
/// Prefix of the index entries: `id:<key id>` → the record's entry name,
/// so operators can act on a key by its id (the key itself is never kept).
pub const INDEX_PREFIX: &str = "id:";

/// The index entry name of a key id.
pub fn index_name(key_id: &str) -> String {
    format!("{INDEX_PREFIX}{key_id}")
}

/// The index entry's value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexEntry {
    /// Format version (1).
    pub v: u32,
    /// The KV name of the key's record (`hash:…`).
    pub record: String,
    /// Which pepper named the record ([`pepper_id`]), so that a pepper
    /// rotation can list the keys still to rotate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pepper: Option<String>,
}

/// A short public name of a pepper: the first 16 hex digits of its
/// SHA-256. Published as `PEPPER_ID`, it lets the edge (at start) and the
/// offline mint check that they hold the pepper production uses.
pub fn pepper_id(pepper: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(pepper))[..16].to_owned()
}

/// Whether a stored pepper id names `pepper`. Index entries written before
/// ids had 16 digits hold 8, the same digits' prefix.
pub fn pepper_matches(stored_id: &str, pepper: &[u8]) -> bool {
    stored_id.len() >= 8 && pepper_id(pepper).starts_with(stored_id)
}

/// Prefix of the entries that list one tenant's keys:
/// `tenant:<tenant>:<key id>` → `""`, with the key's summary as metadata.
pub const TENANT_PREFIX: &str = "tenant:";

/// The tenant entry name of a key.
pub fn tenant_entry(tenant: &str, key_id: &str) -> String {
    format!("{TENANT_PREFIX}{tenant}:{key_id}")
}

/// HMAC-SHA256(pepper, text) in lowercase hex.
pub fn hmac_hex(pepper: &[u8], text: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(pepper).expect("HMAC accepts any key length");
    mac.update(text.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The KV entry name of a key's record under a given pepper.
///
/// ```
/// use provgate::core::{key::ProvisioningKey, lookup::record_name};
/// let key = ProvisioningKey::generate(|b| b.fill(1));
/// let name = record_name(b"pepper", &key);
/// assert!(name.starts_with("hash:") && name.len() == 5 + 64);
/// assert_ne!(name, record_name(b"other pepper", &key));
/// ```
pub fn record_name(pepper: &[u8], key: &ProvisioningKey) -> String {
    name_of(&record_digest(pepper, key))
}

/// HMAC-SHA256(pepper, key): what the record's name is made of, and a
/// key for records kept in memory (no hex formatting needed).
pub fn record_digest(pepper: &[u8], key: &ProvisioningKey) -> [u8; 32] {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(pepper).expect("HMAC accepts any key length");
    mac.update(key.expose().as_bytes());
    mac.finalize().into_bytes().into()
}

/// The KV entry name for a digest from [`record_digest`].
pub fn name_of(digest: &[u8; 32]) -> String {
    let mut hex = [0u8; 64];
    hex::encode_to_slice(digest, &mut hex).expect("64 hex digits for 32 bytes");
    let mut name = String::with_capacity(RECORD_PREFIX.len() + hex.len());
    name.push_str(RECORD_PREFIX);
    name.push_str(std::str::from_utf8(&hex).expect("hex is ASCII"));
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key and its record name computed independently (Python's zlib and
    /// hmac modules), so both the checksum and the HMAC are pinned.
    #[test]
    fn matches_independent_reference() {
        let fixture = include_str!("../../tests/fixtures/reference_key.txt");
        let field = |name: &str| {
            fixture.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).expect("fixture field")
        };
        let key = ProvisioningKey::parse(field("key ")).ok().expect("fixture key is well-formed");
        assert_eq!(record_name(b"test-pepper", &key), field("record_name "));
        assert_eq!(format!("hash:{}", hmac_hex(b"test-pepper", key.expose())), field("record_name "));
    }

    #[test]
    fn pepper_ids_and_their_legacy_prefix() {
        let id = pepper_id(b"pepper");
        assert_eq!(id.len(), 16);
        assert!(pepper_matches(&id, b"pepper") && pepper_matches(&id[..8], b"pepper"));
        assert!(!pepper_matches(&id, b"other") && !pepper_matches("", b"pepper") && !pepper_matches(&id[..4], b"pepper"));
        assert_eq!(tenant_entry("acme", "key_1"), "tenant:acme:key_1");
    }
}
