//! The ordered checks between "a well-formed key" and "forward it".
//!
//! Order, cheapest and least revealing first: record found → decodable →
//! not revoked → inside its validity window → scopes cover the request.
//! Each step either yields what the next one needs or the [`Outcome`] that
//! ends the request.

use super::outcome::{KeyRejection, Outcome};
use super::record::{KeyRecord, Status};
use super::scim::ScimRequest;
use super::scope::permits;
use super::time::UnixMillis;

/// What a request that passed every check carries into forwarding and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The key's public id.
    pub key_id: String,
    /// The key's tenant, if any.
    pub tenant: Option<String>,
}

/// Turns what KV returned for the key's hashed name into a record.
/// A missing entry is an unknown key; an undecodable one denies.
pub fn verify(stored: Option<&[u8]>) -> Result<KeyRecord, Outcome> {
    let bytes = stored.ok_or(Outcome::InvalidKey(KeyRejection::Unknown))?;
    KeyRecord::decode(bytes).map_err(|_| Outcome::RecordMalformed)
}

/// Decides whether `record` may perform `request` at `now`.
///
/// ```
/// use provgate::core::{authorize, record::*, scim::classify, scope::Scope, KeyId, UnixMillis, Outcome, KeyRejection};
/// let mut rec = KeyRecord { key_id: KeyId::parse("key_1").unwrap(), label: "okta".into(), tenant: None,
///     scopes: vec![Scope::Read("users".into())], status: Status::Active,
///     created_at: UnixMillis(0), not_before: None, expires_at: Some(UnixMillis(1_000)) };
/// let get = classify("GET", "/Users").unwrap();
/// assert!(authorize(&rec, &get, UnixMillis(999)).is_ok());
/// assert_eq!(authorize(&rec, &get, UnixMillis(1_000)).err(), Some(Outcome::InvalidKey(KeyRejection::Expired)));
/// ```
pub fn authorize(record: &KeyRecord, request: &ScimRequest, now: UnixMillis) -> Result<Grant, Outcome> {
    if record.status == Status::Revoked {
        return Err(Outcome::InvalidKey(KeyRejection::Revoked));
    }
    if record.not_before.is_some_and(|t| now < t) {
        return Err(Outcome::InvalidKey(KeyRejection::NotYetValid));
    }
    if record.expires_at.is_some_and(|t| now >= t) {
        return Err(Outcome::InvalidKey(KeyRejection::Expired));
    }
    if !permits(&record.scopes, request) {
        return Err(Outcome::InsufficientScope);
    }
    Ok(Grant { key_id: record.key_id.as_str().to_owned(), tenant: record.tenant.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{key::KeyId, scim::classify, scope::Scope};

    fn record() -> KeyRecord {
        KeyRecord {
            key_id: KeyId::parse("key_test").unwrap(),
            label: "t".into(),
            tenant: Some("acme".into()),
            scopes: vec![Scope::Read("users".into())],
            status: Status::Active,
            created_at: UnixMillis(0),
            not_before: Some(UnixMillis(100_000)),
            expires_at: Some(UnixMillis(200_000)),
        }
    }

    /// Records keep whole seconds, so the fixtures use them.
    /// One row per outcome; the order of checks decides which reason wins
    /// when several apply (a revoked, expired, out-of-scope key is "revoked").
    #[test]
    fn decision_table() {
        let get = classify("GET", "/Users").unwrap();
        let post = classify("POST", "/Users").unwrap();
        let active = record();
        let revoked = KeyRecord { status: Status::Revoked, ..record() };
        let rows: Vec<(&KeyRecord, &ScimRequest, u64, Result<Grant, Outcome>)> = vec![
            (&active, &get, 150_000, Ok(Grant { key_id: "key_test".into(), tenant: Some("acme".into()) })),
            (&active, &get, 99_999, Err(Outcome::InvalidKey(KeyRejection::NotYetValid))),
            (&active, &get, 100_000, Ok(Grant { key_id: "key_test".into(), tenant: Some("acme".into()) })),
            (&active, &get, 200_000, Err(Outcome::InvalidKey(KeyRejection::Expired))),
            (&active, &post, 150_000, Err(Outcome::InsufficientScope)),
            (&active, &post, 250_000, Err(Outcome::InvalidKey(KeyRejection::Expired))),
            (&revoked, &post, 250_000, Err(Outcome::InvalidKey(KeyRejection::Revoked))),
        ];
        for (i, (rec, req, now, want)) in rows.into_iter().enumerate() {
            assert_eq!(authorize(rec, req, UnixMillis(now)), want, "row {i}");
        }
    }

    #[test]
    fn verify_fails_closed() {
        assert_eq!(verify(None).err(), Some(Outcome::InvalidKey(KeyRejection::Unknown)));
        assert_eq!(verify(Some(b"{}")).err(), Some(Outcome::RecordMalformed));
        assert_eq!(verify(Some(record().encode().as_bytes())), Ok(record()));
    }
}
