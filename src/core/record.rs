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
use super::oauth::policy::{AuthPolicy, Mode, RedirectUri};
use super::scope::Scope;
use super::time::UnixMillis;
use super::parsed::{FromText, Parsed};
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
    /// Every request asks the key's guard, whatever `GUARD_LEASE` says
    /// (`core::lease`): the rate is exact and revocation immediate.
    pub exact_rate: bool,
    /// The key this one replaced (`provgate key rotate`), for the audit trail.
    pub rotated_from: Option<String>,
    /// How the key may be presented: as itself, through OAuth, or both.
    pub auth: AuthPolicy,
}

/// Why a stored record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError(String);

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The JSON shape as decoded: each string field is parsed into its type
/// as it is read ([`Parsed`]), so a record is validated in one pass.
#[derive(Deserialize)]
struct Wire {
    v: u32,
    key_id: Parsed<KeyId>,
    #[serde(default)]
    label: String,
    #[serde(default)]
    tenant: Option<Parsed<Tenant>>,
    scopes: Vec<Parsed<Scope>>,
    status: Status,
    created_at: UnixMillis,
    #[serde(default)]
    not_before: Option<UnixMillis>,
    #[serde(default)]
    expires_at: Option<UnixMillis>,
    #[serde(default)]
    allow_ips: Vec<Parsed<IpNet>>,
    #[serde(default)]
    rate_per_minute: Option<u32>,
    #[serde(default)]
    burst: Option<u32>,
    #[serde(default)]
    exact_rate: bool,
    #[serde(default)]
    rotated_from: Option<String>,
    #[serde(default)]
    auth_modes: Option<Vec<Parsed<Mode>>>,
    #[serde(default)]
    redirect_uris: Vec<Parsed<RedirectUri>>,
    #[serde(default)]
    pkce_required: bool,
}

/// The JSON shape as encoded, borrowing from the record.
#[derive(Serialize)]
struct WireOut<'a> {
    v: u32,
    key_id: &'a str,
    label: &'a str,
    tenant: Option<&'a str>,
    scopes: Vec<String>,
    status: Status,
    created_at: UnixMillis,
    not_before: Option<UnixMillis>,
    expires_at: Option<UnixMillis>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    allow_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_per_minute: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    burst: Option<u32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    exact_rate: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    rotated_from: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_modes: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    redirect_uris: Vec<&'a str>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pkce_required: bool,
}

impl FromText for KeyId {
    const INVALID: &'static str = "invalid key_id";
    fn from_text(text: &str) -> Option<Self> {
        KeyId::parse(text)
    }
}

impl FromText for Scope {
    const INVALID: &'static str = "invalid scope: expected '*', 'me', 'bulk' or '<resource>:read|write'";
    fn from_text(text: &str) -> Option<Self> {
        text.parse().ok()
    }
}

impl FromText for IpNet {
    const INVALID: &'static str = "invalid network in allow_ips";
    fn from_text(text: &str) -> Option<Self> {
        parse_network(text)
    }
}

/// A tenant that passed [`valid_tenant`].
struct Tenant(String);

impl FromText for Tenant {
    const INVALID: &'static str = "invalid tenant";
    fn from_text(text: &str) -> Option<Self> {
        valid_tenant(text).then(|| Tenant(text.to_owned()))
    }
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
    common_cidr(text)
        .or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from))
        .or_else(|| text.parse::<IpNet>().ok())
        .map(|n| n.trunc())
}

/// The usual CIDR spellings, read with std's address parser (several times
/// faster than ipnet's); `None` leaves anything else to ipnet's parser, so
/// the grammar stays ipnet's (a test compares them).
fn common_cidr(text: &str) -> Option<IpNet> {
    let (address, len) = text.split_once('/')?;
    let address: IpAddr = address.parse().ok()?;
    let max_digits = if address.is_ipv4() { 2 } else { 3 };
    if len.is_empty() || len.len() > max_digits || !len.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    IpNet::new(address, len.parse().ok()?).ok()
}

impl KeyRecord {
    /// Decodes and validates a stored record.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        // One UTF-8 check of the whole record rather than one per string.
        let text = std::str::from_utf8(bytes).map_err(|_| RecordError("not a key record: not UTF-8".into()))?;
        let wire: Wire = serde_json::from_str(text).map_err(|e| RecordError(format!("not a key record: {e}")))?;
        if wire.v != RECORD_VERSION {
            return Err(RecordError(format!("unsupported record version {}", wire.v)));
        }
        if wire.rate_per_minute == Some(0) || wire.burst == Some(0) {
            return Err(RecordError("rate_per_minute and burst must be at least 1".into()));
        }
        let modes = wire.auth_modes.map(|m| m.into_iter().map(|m| m.0).collect());
        let redirect_uris = wire.redirect_uris.into_iter().map(|u| u.0).collect();
        let auth = AuthPolicy::from_fields(modes, redirect_uris, wire.pkce_required).map_err(|e| RecordError(e.into()))?;
        Ok(Self {
            key_id: wire.key_id.0,
            label: wire.label,
            tenant: wire.tenant.map(|t| t.0 .0),
            // `Parsed<T>` has T's layout: collected in place, no new allocation.
            scopes: wire.scopes.into_iter().map(|s| s.0).collect(),
            status: wire.status,
            created_at: wire.created_at,
            not_before: wire.not_before,
            expires_at: wire.expires_at,
            allow_ips: wire.allow_ips.into_iter().map(|n| n.0).collect(),
            rate_per_minute: wire.rate_per_minute,
            burst: wire.burst,
            exact_rate: wire.exact_rate,
            rotated_from: wire.rotated_from,
            auth,
        })
    }

    /// Encodes the record as stored.
    pub fn encode(&self) -> String {
        let wire = WireOut {
            v: RECORD_VERSION,
            key_id: self.key_id.as_str(),
            label: &self.label,
            tenant: self.tenant.as_deref(),
            scopes: self.scopes.iter().map(Scope::to_string).collect(),
            status: self.status,
            created_at: self.created_at,
            not_before: self.not_before,
            expires_at: self.expires_at,
            allow_ips: self.allow_ips.iter().map(ToString::to_string).collect(),
            rate_per_minute: self.rate_per_minute,
            burst: self.burst,
            exact_rate: self.exact_rate,
            rotated_from: self.rotated_from.as_deref(),
            auth_modes: self.auth.modes_to_store(),
            redirect_uris: self.auth.redirect_uris.iter().map(RedirectUri::as_str).collect(),
            pkce_required: self.auth.pkce_required,
        };
        serde_json::to_string(&wire).expect("a record always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> KeyRecord {
        KeyRecord {
            exact_rate: false,
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
            auth: AuthPolicy::default(),
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

    /// What ipnet's own parser makes of an allowlist entry.
    fn reference_network(text: &str) -> Option<IpNet> {
        let text = text.trim();
        text.parse::<IpNet>().ok().or_else(|| text.parse::<IpAddr>().ok().map(IpNet::from)).map(|n| n.trunc())
    }

    proptest::proptest! {
        #[test]
        fn networks_parse_as_ipnet_parses_them(text in "[ 0-9a-fA-F:./+x]{0,24}") {
            proptest::prop_assert_eq!(parse_network(&text), reference_network(&text));
        }

        #[test]
        fn addresses_and_prefixes_parse_as_ipnet_parses_them(a in proptest::prelude::any::<[u8; 4]>(), len in 0u8..40, v6 in proptest::prelude::any::<[u16; 8]>(), zeros in "0{0,2}") {
            for text in [
                format!("{}.{}.{}.{}/{zeros}{len}", a[0], a[1], a[2], a[3]),
                format!("{}/{zeros}{len}", std::net::Ipv6Addr::from(v6)),
                format!("{}.{}.{}.{}", a[0], a[1], a[2], a[3]),
                format!("0{}.{}.{}.{}/{len}", a[0] % 100, a[1], a[2], a[3]),
                format!("::ffff:{}.{}.{}.{}/{len}{zeros}", a[0], a[1], a[2], a[3]),
            ] {
                proptest::prop_assert_eq!(parse_network(&text), reference_network(&text), "{}", text);
            }
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

    /// Records written before OAuth decode to bearer-only keys and are
    /// written back unchanged; OAuth fields round-trip.
    #[test]
    fn oauth_fields_default_to_bearer_only_and_round_trip() {
        let old = sample().encode();
        assert!(!old.contains("auth_modes") && !old.contains("redirect_uris") && !old.contains("pkce_required"), "{old}");
        let decoded = KeyRecord::decode(old.as_bytes()).unwrap();
        assert!(decoded.allows(Mode::Bearer) && !decoded.allows(Mode::ClientCredentials) && !decoded.allows(Mode::AuthorizationCode));
        let mut json: serde_json::Value = serde_json::from_str(&old).unwrap();
        json["auth_modes"] = serde_json::json!(["authorization_code", "client_credentials"]);
        json["redirect_uris"] = serde_json::json!(["https://acme.okta.com/cb"]);
        json["pkce_required"] = true.into();
        let oauth = KeyRecord::decode(json.to_string().as_bytes()).unwrap();
        assert!(!oauth.allows(Mode::Bearer) && oauth.allows(Mode::ClientCredentials) && oauth.allows(Mode::AuthorizationCode));
        assert!(oauth.auth.pkce_required);
        assert_eq!(KeyRecord::decode(oauth.encode().as_bytes()), Ok(oauth.clone()));
        assert!(oauth.encode().contains(r#""auth_modes":["client_credentials","authorization_code"]"#), "{}", oauth.encode());
        json["auth_modes"] = serde_json::json!(["bearer"]);
        assert!(!KeyRecord::decode(json.to_string().as_bytes()).unwrap().encode().contains("auth_modes"), "bearer alone is the default, not stored");
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
            ("auth_modes", serde_json::json!([])),
            ("auth_modes", serde_json::json!(["bearer", "bearer"])),
            ("auth_modes", serde_json::json!(["implicit"])),
            ("auth_modes", "bearer".into()),
            ("redirect_uris", serde_json::json!(["http://acme.okta.com/cb"])),
            ("redirect_uris", serde_json::json!(["https://acme.okta.com/cb#x"])),
            ("redirect_uris", serde_json::json!(vec!["https://a.example/cb"; 11])),
            ("pkce_required", "yes".into()),
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
