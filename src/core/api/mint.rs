//! `POST /keys` and `POST /keys/{id}/rotate`: what the body may say, and
//! the record a new key gets.

use super::fields::{self, Form};
use super::metadata;
use super::problem::{Kind, Problem};
use crate::core::key::KeyId;
use crate::core::oauth::policy::AuthPolicy;
use crate::core::record::{KeyRecord, Status};
use crate::core::scope::Scope;
use crate::core::time::UnixMillis;
use ipnet::IpNet;
use serde_json::Value;
use std::time::Duration;

const MINT_FIELDS: &[&str] =
    &["label", "tenant", "scopes", "expires_at", "expires_in", "not_before", "allow_ips", "rate_per_minute", "burst", "exact_rate", "metadata", "auth_modes", "redirect_uris", "pkce_required"];

/// How long a rotated key's predecessor keeps working by default.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(7 * 86_400);

/// A mint's body, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct MintRequest {
    /// What the key is for.
    pub label: String,
    /// The tenant asked for (absent and `null` alike: none asked).
    pub tenant: Option<String>,
    /// What the key may do.
    pub scopes: Vec<Scope>,
    /// `expires_at`.
    pub expires_at: Option<UnixMillis>,
    /// `expires_in`.
    pub expires_in: Option<Duration>,
    /// `not_before`.
    pub not_before: Option<UnixMillis>,
    /// Client networks.
    pub allow_ips: Vec<IpNet>,
    /// Sustained rate.
    pub rate_per_minute: Option<u32>,
    /// Burst.
    pub burst: Option<u32>,
    /// Never leased (`GUARD_LEASE`): every request asks the key's guard.
    pub exact_rate: bool,
    /// The operator's labels.
    pub metadata: Option<Value>,
    /// How the key may be used (`auth_modes`, `redirect_uris`, `pkce_required`).
    pub auth: AuthPolicy,
}

/// Reads a mint's body; every bad field is named.
pub fn parse(body: &[u8]) -> Result<MintRequest, Problem> {
    let mut f = Form::parse(body, MINT_FIELDS, false)?;
    f.require("label");
    f.require("scopes");
    if f.has("expires_at") && f.has("expires_in") {
        f.fail("expires_in", "give expires_at or expires_in, not both");
    }
    let metadata = f.get("metadata", |v| {
        let map = metadata::check(v, false).map_err(|(_, d)| d)?;
        metadata::whole(map)
    });
    let req = MintRequest {
        label: f.get("label", fields::label).unwrap_or_default(),
        tenant: f.nullable("tenant", fields::tenant).flatten(),
        scopes: f.get("scopes", fields::key_scopes).unwrap_or_default(),
        expires_at: f.get("expires_at", fields::timestamp),
        expires_in: f.get("expires_in", fields::lifetime),
        not_before: f.get("not_before", fields::timestamp),
        allow_ips: f.get("allow_ips", fields::networks).unwrap_or_default(),
        rate_per_minute: f.get("rate_per_minute", fields::positive_u32),
        burst: f.get("burst", fields::positive_u32),
        exact_rate: f.get("exact_rate", fields::flag).unwrap_or(false),
        metadata: metadata.flatten(),
        auth: AuthPolicy::default(),
    };
    let modes = f.get("auth_modes", fields::auth_modes);
    let redirect_uris = f.get("redirect_uris", fields::redirect_uris).unwrap_or_default();
    let pkce_required = f.get("pkce_required", fields::flag).unwrap_or(false);
    f.finish()?;
    let auth = AuthPolicy::from_fields(modes, redirect_uris, pkce_required).map_err(|e| Problem::field(Kind::InvalidField, "auth_modes", e))?;
    let req = MintRequest { auth, ..req };
    Ok(req)
}

/// Records keep whole seconds of their minting time.
pub fn minting_time(now: UnixMillis) -> UnixMillis {
    UnixMillis(now.0 / 1000 * 1000)
}

impl MintRequest {
    /// The stored record of a key minted from this request with `key_id`
    /// for `tenant` at `now`.
    pub fn record(&self, key_id: &KeyId, tenant: Option<String>, now: UnixMillis) -> String {
        let created_at = minting_time(now);
        let record = KeyRecord {
            exact_rate: self.exact_rate,
            key_id: key_id.clone(),
            label: self.label.clone(),
            tenant,
            scopes: self.scopes.clone(),
            status: Status::Active,
            created_at,
            not_before: self.not_before,
            expires_at: self.expires_at.or(self.expires_in.map(|d| created_at.plus(d))),
            allow_ips: self.allow_ips.clone(),
            rate_per_minute: self.rate_per_minute,
            burst: self.burst,
            rotated_from: None,
            auth: self.auth.clone(),
        };
        let encoded = record.encode();
        match &self.metadata {
            None => encoded,
            Some(m) => {
                let mut object: Value = serde_json::from_str(&encoded).expect("an encoded record is JSON");
                object["metadata"] = m.clone();
                object.to_string()
            }
        }
    }
}

/// A rotation's body: the grace period and an optional new label.
#[derive(Debug, Clone, PartialEq)]
pub struct RotateRequest {
    /// How long the old key keeps working.
    pub grace: Duration,
    /// The new key's label (default: the old one's).
    pub label: Option<String>,
}

/// Reads a rotation's body (empty: the defaults).
pub fn parse_rotate(body: &[u8]) -> Result<RotateRequest, Problem> {
    let mut f = Form::parse(body, &["grace", "label"], true)?;
    let grace = f.get("grace", |v| v.as_str().and_then(fields::duration).ok_or_else(|| "a duration, e.g. 7d, 24h or 0s".into()));
    let label = f.get("label", fields::label);
    f.finish()?;
    Ok(RotateRequest { grace: grace.unwrap_or(DEFAULT_GRACE), label })
}

/// The record of the key that replaces `old` (its stored JSON object,
/// decoded as `decoded`): the same rights and fields, including those this
/// version does not know, a fresh id and minting time, the same lifetime
/// length, and `rotated_from`.
pub fn rotated(old: &Value, decoded: &KeyRecord, new_id: &KeyId, label: Option<&str>, now: UnixMillis) -> Result<String, Problem> {
    let created_at = minting_time(now);
    let mut record = old.clone();
    let lifetime = decoded.expires_at.map(|t| Duration::from_millis(t.0.saturating_sub(decoded.created_at.0)));
    record["key_id"] = new_id.as_str().into();
    record["status"] = "active".into();
    record["created_at"] = created_at.to_rfc3339_exact().into();
    record["not_before"] = Value::Null;
    record["expires_at"] = lifetime.map(|d| created_at.plus(d).to_rfc3339_exact()).into();
    record["rotated_from"] = decoded.key_id.as_str().into();
    if let Some(label) = label {
        record["label"] = label.into();
    }
    let text = record.to_string();
    KeyRecord::decode(text.as_bytes()).map_err(|e| Problem::new(Kind::RecordMalformed, e.to_string()))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: UnixMillis = UnixMillis(1_800_000_000_123);

    #[test]
    fn a_full_mint_makes_a_decodable_record() {
        let body = json!({"label": "Okta", "tenant": "acme", "scopes": ["users:read", "groups:write"], "expires_in": "90d",
            "not_before": "2027-01-01T00:00:00Z", "allow_ips": ["10.1.2.3/8"], "rate_per_minute": 60, "burst": 5, "metadata": {"team": "idp"}});
        let req = parse(body.to_string().as_bytes()).unwrap();
        let id = KeyId::parse("key_abc").unwrap();
        let text = req.record(&id, req.tenant.clone(), NOW);
        let rec = KeyRecord::decode(text.as_bytes()).unwrap();
        assert_eq!(rec.created_at, UnixMillis(1_800_000_000_000));
        assert_eq!(rec.expires_at, Some(UnixMillis(1_800_000_000_000 + 90 * 86_400_000)));
        assert_eq!((rec.tenant.as_deref(), rec.burst, rec.allow_ips[0].to_string().as_str()), (Some("acme"), Some(5), "10.0.0.0/8"));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["metadata"], json!({"team": "idp"}));
        assert_eq!(parse(br#"{"label":"x","scopes":["*"]}"#).unwrap().record(&id, None, NOW).contains("metadata"), false);
    }

    #[test]
    fn a_mint_sets_how_the_key_may_be_used() {
        use crate::core::oauth::policy::Mode;
        let id = KeyId::parse("key_abc").unwrap();
        let body = json!({"label": "Okta", "scopes": ["*"], "auth_modes": ["authorization_code"], "redirect_uris": ["https://acme.okta.com/cb"], "pkce_required": true});
        let rec = KeyRecord::decode(parse(body.to_string().as_bytes()).unwrap().record(&id, None, NOW).as_bytes()).unwrap();
        assert!(rec.allows(Mode::AuthorizationCode) && !rec.allows(Mode::Bearer) && rec.auth.pkce_required);
        assert_eq!(rec.auth.registered("https://acme.okta.com/cb").map(|u| u.as_str()), Some("https://acme.okta.com/cb"));
        let plain = parse(br#"{"label":"x","scopes":["*"]}"#).unwrap().record(&id, None, NOW);
        assert!(!plain.contains("auth_modes") && KeyRecord::decode(plain.as_bytes()).unwrap().allows(Mode::Bearer));
        let fields = |body: Value| parse(body.to_string().as_bytes()).unwrap_err().errors.into_iter().map(|e| e.field).collect::<Vec<_>>();
        let base = |extra: Value| {
            let mut b = json!({"label": "x", "scopes": ["*"]});
            b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            b
        };
        assert_eq!(fields(base(json!({"auth_modes": []}))), ["auth_modes"]);
        assert_eq!(fields(base(json!({"auth_modes": ["bearer", "bearer"]}))), ["auth_modes"]);
        assert_eq!(fields(base(json!({"auth_modes": ["password"]}))), ["auth_modes"]);
        assert_eq!(fields(base(json!({"redirect_uris": ["http://acme.okta.com/cb"]}))), ["redirect_uris"]);
        assert_eq!(fields(base(json!({"redirect_uris": ["https://a.example/cb#x"]}))), ["redirect_uris"]);
        assert_eq!(fields(base(json!({"pkce_required": "yes"}))), ["pkce_required"]);
    }

    #[test]
    fn exact_rate_is_minted_only_when_asked() {
        let minted = |body: Value| KeyRecord::decode(parse(body.to_string().as_bytes()).unwrap().record(&KeyId::parse("key_1").unwrap(), None, UnixMillis(0)).as_bytes()).unwrap();
        assert!(minted(json!({"label": "x", "scopes": ["*"], "exact_rate": true})).exact_rate);
        assert!(!minted(json!({"label": "x", "scopes": ["*"]})).exact_rate);
        assert_eq!(parse(br#"{"label":"x","scopes":["*"],"exact_rate":1}"#).unwrap_err().errors[0].field, "exact_rate");
    }

    #[test]
    fn bad_mints_name_their_fields() {
        let fields = |body: Value| parse(body.to_string().as_bytes()).unwrap_err().errors.into_iter().map(|e| e.field).collect::<Vec<_>>();
        assert_eq!(fields(json!({})), ["label", "scopes"]);
        assert_eq!(fields(json!({"label": "x", "scopes": ["*"], "expires_at": "2027-01-01T00:00:00Z", "expires_in": "1d"})), ["expires_in"]);
        assert_eq!(fields(json!({"label": "x", "scopes": ["users:admin"], "tenant": "a b", "burst": 0})), ["tenant", "scopes", "burst"]);
        assert_eq!(fields(json!({"label": "x", "scopes": ["*"], "metadata": {"k": 1}})), ["metadata"]);
        assert_eq!(parse(br#"{"label":"x","scopes":["*"],"scope":"*"}"#).unwrap_err().kind, Kind::UnknownField);
        assert_eq!(parse(br#"{"label":"x","scopes":["*"],"tenant":null}"#).unwrap().tenant, None);
    }

    #[test]
    fn rotation_keeps_rights_lifetime_and_unknown_fields() {
        let old = json!({"v": 1, "key_id": "key_old", "label": "Entra", "tenant": "acme", "scopes": ["users:read"], "status": "active",
            "created_at": "2026-01-01T00:00:00Z", "not_before": "2026-01-02T00:00:00Z", "expires_at": "2026-04-01T00:00:00Z",
            "allow_ips": ["192.0.2.0/24"], "metadata": {"team": "idp"}, "future_field": {"x": 1}});
        let decoded = KeyRecord::decode(old.to_string().as_bytes()).unwrap();
        let text = rotated(&old, &decoded, &KeyId::parse("key_new").unwrap(), None, NOW).unwrap();
        let new: Value = serde_json::from_str(&text).unwrap();
        let rec = KeyRecord::decode(text.as_bytes()).unwrap();
        assert_eq!(rec.expires_at.unwrap().0 - rec.created_at.0, 90 * 86_400_000);
        assert_eq!((rec.rotated_from.as_deref(), rec.not_before, rec.label.as_str()), (Some("key_old"), None, "Entra"));
        assert_eq!((new["future_field"].clone(), new["metadata"].clone()), (json!({"x": 1}), json!({"team": "idp"})));
        let relabeled = rotated(&old, &decoded, &KeyId::parse("key_new").unwrap(), Some("Entra 2"), NOW).unwrap();
        assert!(relabeled.contains("\"Entra 2\""));
        assert_eq!(parse_rotate(b"").unwrap(), RotateRequest { grace: DEFAULT_GRACE, label: None });
        assert_eq!(parse_rotate(br#"{"grace":"0s"}"#).unwrap().grace, Duration::ZERO);
        assert_eq!(parse_rotate(br#"{"grace":"soon"}"#).unwrap_err().errors[0].field, "grace");
    }
}
