//! The KV record of a key: versioned JSON, decoded strictly.
//!
//! ```json
//! {"v":1,"key_id":"key_3mXq…","label":"Okta production","tenant":"acme",
//!  "scopes":["users:read","users:write"],"status":"active",
//!  "created_at":"2026-11-29T08:00:00Z","not_before":null,"expires_at":"2027-02-27T08:00:00Z"}
//! ```
//!
//! Unknown fields are ignored, so newer writers can add fields that older
//! edges do not know. Anything else that is off (wrong version, unknown
//! status, bad scope, bad key id or tenant) makes the record undecodable,
//! and an undecodable record denies: fail closed.

use super::key::KeyId;
use super::scope::Scope;
use super::time::UnixMillis;
use serde::{Deserialize, Serialize};
use ipnet::IpNet;
use std::fmt;
use std::net::IpAddr;

/// The record format this code reads and writes.
pub const RECORD_VERSION: u32 = 1;

/// Whether a key may still be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Usable within its validity window.
    Active,
    /// Permanently refused.
    Revoked,
}

/// A key's record, as stored under its hashed name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    /// The key's public id.
    pub key_id: KeyId,
    /// Operator's description (e.g. "Okta production").
    pub label: String,
    /// The customer tenant the key belongs to, if any.
    pub tenant: Option<String>,
    /// What the key may do.
    pub scopes: Vec<Scope>,
    /// Active or revoked.
    pub status: Status,
    /// When it was minted.
    pub created_at: UnixMillis,
    /// Refused before this instant.
    pub not_before: Option<UnixMillis>,
    /// Refused from this instant on.
    pub expires_at: Option<UnixMillis>,
    /// Client networks the key may be used from; empty means anywhere.
    pub allow_ips: Vec<IpNet>,
    /// Sustained requests per minute; `None`: the edge's default.
    pub rate_per_minute: Option<u32>,
    /// Requests at once from idle; `None`: the edge's default.
    pub burst: Option<u32>,
    /// The key this one replaced (`provgate key rotate`), for the audit trail.
    pub rotated_from: Option<String>,
}

/// Why a stored record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError(String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The JSON shape; kept apart from [`KeyRecord`] so that validation
/// happens once, at decode time.
#[derive(Serialize, Deserialize)]
struct Wire {
    v: u32,
    key_id: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    tenant: Option<String>,
    scopes: Vec<String>,
    status: Status,
    created_at: UnixMillis,
    #[serde(default)]
    not_before: Option<UnixMillis>,
    #[serde(default)]
    expires_at: Option<UnixMillis>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    allow_ips: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rate_per_minute: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    burst: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rotated_from: Option<String>,
}

/// Tenants travel in a header and may be put into the origin URL, so they
/// are restricted to what is inert in both: a letter or digit, then letters,
/// digits and `._-`, at most 128 characters (no `..`, `/`, `@` or `:`).
pub fn valid_tenant(tenant: &str) -> bool {
    (1..=128).contains(&tenant.len())
        && tenant.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// Parses an allowlist entry: a CIDR (`203.0.113.0/24`, `2001:db8::/32`)
/// or a single address.
pub fn parse_network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from)).map(|n| n.trunc())
}

impl KeyRecord {
    /// Decodes and validates a stored record.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let wire: Wire = serde_json::from_slice(bytes).map_err(|e| RecordError(format!("not a key record: {e}")))?;
        if wire.v != RECORD_VERSION {
            return Err(RecordError(format!("unsupported record version {}", wire.v)));
        }
        let key_id = KeyId::parse(&wire.key_id).ok_or_else(|| RecordError("invalid key_id".into()))?;
        if let Some(t) = &wire.tenant {
            if !valid_tenant(t) {
                return Err(RecordError("invalid tenant".into()));
            }
        }
        let scopes = wire
            .scopes
            .iter()
            .map(|s| s.parse::<Scope>().map_err(|e| RecordError(e.to_string())))
            .collect::<Result<_, _>>()?;
        let allow_ips = wire
            .allow_ips
            .iter()
            .map(|n| parse_network(n).ok_or_else(|| RecordError(format!("invalid network {n:?} in allow_ips"))))
            .collect::<Result<_, _>>()?;
        if wire.rate_per_minute == Some(0) || wire.burst == Some(0) {
            return Err(RecordError("rate_per_minute and burst must be at least 1".into()));
        }
        Ok(Self {
            allow_ips,
            rate_per_minute: wire.rate_per_minute,
            burst: wire.burst,
            rotated_from: wire.rotated_from,
            key_id,
            label: wire.label,
            tenant: wire.tenant,
            scopes,
            status: wire.status,
            created_at: wire.created_at,
            not_before: wire.not_before,
            expires_at: wire.expires_at,
        })
    }

    /// Encodes the record as stored.
    pub fn encode(&self) -> String {
        let wire = Wire {
            v: RECORD_VERSION,
            key_id: self.key_id.as_str().to_owned(),
            label: self.label.clone(),
            tenant: self.tenant.clone(),
            scopes: self.scopes.iter().map(Scope::to_string).collect(),
            status: self.status,
            created_at: self.created_at,
            not_before: self.not_before,
            expires_at: self.expires_at,
            allow_ips: self.allow_ips.iter().map(ToString::to_string).collect(),
            rate_per_minute: self.rate_per_minute,
            burst: self.burst,
            rotated_from: self.rotated_from.clone(),
        };
        serde_json::to_string(&wire).expect("a record always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KeyRecord {
        KeyRecord {
            key_id: KeyId::parse("key_abc123").unwrap(),
            label: "Okta \"prod\"".into(),
            tenant: Some("acme".into()),
            scopes: vec![Scope::Read("users".into()), Scope::All],
            status: Status::Active,
            created_at: UnixMillis(1_795_939_200_000),
            not_before: None,
            expires_at: Some(UnixMillis(1_803_715_200_000)),
            allow_ips: vec![parse_network("203.0.113.0/24").unwrap(), parse_network("2001:db8::1").unwrap()],
            rate_per_minute: Some(600),
            burst: None,
            rotated_from: Some("key_old".into()),
        }
    }

    #[test]
    fn networks_and_tenants() {
        assert_eq!(parse_network("203.0.113.9/24").unwrap().to_string(), "203.0.113.0/24");
        assert_eq!(parse_network("2001:db8::1").unwrap().to_string(), "2001:db8::1/128");
        assert_eq!(parse_network("10.0.0.1").unwrap().to_string(), "10.0.0.1/32");
        assert!(parse_network("10.0.0.0/33").is_none());
        assert!(parse_network("example.com").is_none());
        for ok in ["acme", "Acme-1", "a.b_c"] {
            assert!(valid_tenant(ok), "{ok}");
        }
        for bad in ["", ".", "..", ".acme", "a/b", "a@b", "a:b", "a b", "a%2e", &"x".repeat(129)] {
            assert!(!valid_tenant(bad), "{bad}");
        }
    }

    #[test]
    fn round_trips() {
        let r = sample();
        assert_eq!(KeyRecord::decode(r.encode().as_bytes()), Ok(r));
    }

    /// An operator may write fractions of a second by hand; rewriting the
    /// record (revoke, rotate) must not move its instants.
    #[test]
    fn fractional_seconds_survive_a_rewrite() {
        let mut json: serde_json::Value = serde_json::from_str(&sample().encode()).unwrap();
        json["created_at"] = "2026-11-29T08:00:00.5Z".into();
        json["not_before"] = "2026-11-29T08:00:00.25Z".into();
        let first = KeyRecord::decode(json.to_string().as_bytes()).unwrap();
        assert_eq!(first.created_at, UnixMillis(1_795_939_200_500));
        assert_eq!(first.not_before, Some(UnixMillis(1_795_939_200_250)));
        let again = KeyRecord::decode(first.encode().as_bytes()).unwrap();
        assert_eq!(again, first);
        assert_eq!(again.encode(), first.encode());
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let mut json: serde_json::Value = serde_json::from_str(&sample().encode()).unwrap();
        json["rate_per_minute"] = 600.into();
        assert_eq!(KeyRecord::decode(json.to_string().as_bytes()), Ok(sample()));
    }

    #[test]
    fn anything_off_fails_to_decode() {
        let base: serde_json::Value = serde_json::from_str(&sample().encode()).unwrap();
        let variants: Vec<(&str, serde_json::Value)> = vec![
            ("v", 2.into()),
            ("v", "1".into()),
            ("status", "suspended".into()),
            ("status", serde_json::Value::Null),
            ("scopes", serde_json::json!(["users:admin"])),
            ("scopes", "users:read".into()),
            ("key_id", "key_a\r\nX-Evil: 1".into()),
            ("key_id", serde_json::Value::Null),
            ("tenant", "acme\r\n".into()),
            ("tenant", "".into()),
            ("tenant", "..".into()),
            ("allow_ips", serde_json::json!(["10.0.0.0/99"])),
            ("allow_ips", "10.0.0.0/8".into()),
            ("rate_per_minute", 0.into()),
            ("burst", (-1).into()),
            ("created_at", "yesterday".into()),
            ("expires_at", 1_803_715_200.into()),
        ];
        for (field, value) in variants {
            let mut json = base.clone();
            json[field] = value.clone();
            assert!(KeyRecord::decode(json.to_string().as_bytes()).is_err(), "{field} = {value}");
        }
        for junk in [&b""[..], b"null", b"[]", b"{", b"\xff"] {
            assert!(KeyRecord::decode(junk).is_err());
        }
    }
}
