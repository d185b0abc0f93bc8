//! `PATCH /keys/{id}`: what may change, and applying a change to the stored
//! JSON object so that fields this version does not know survive.

use super::fields::{self, Form};
use super::metadata;
use super::problem::{Kind, Problem};
use crate::core::record::KeyRecord;
use serde_json::{Map, Value};

const FIELDS: &[&str] = &["label", "scopes", "allow_ips", "rate_per_minute", "burst", "exact_rate", "expires_at", "not_before", "metadata", "auth_modes", "redirect_uris", "pkce_required"];

/// Fields a PATCH may not name, and why.
const READ_ONLY: &[(&str, &str)] = &[
    ("key", "the key is never stored or changed: rotate the key instead"),
    ("key_id", "a key's id never changes"),
    ("status", "use POST …/revoke"),
    ("created_at", "a key's minting time never changes"),
    ("rotated_from", "set by rotation"),
    ("v", "the record's format version is the edge's"),
];

/// A checked patch: field → its new value in stored form (`null`: clear).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patch(Map<String, Value>);

/// Reads a PATCH body. `tenant` is `tenant_immutable`; the record's own
/// fields are read-only; anything else unknown is `unknown_field`.
pub fn parse(body: &[u8]) -> Result<Patch, Problem> {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        if map.contains_key("tenant") {
            return Err(Problem::field(Kind::TenantImmutable, "tenant", "a tenant change needs a new key: mint one for the new tenant"));
        }
        if let Some((field, why)) = READ_ONLY.iter().find(|(f, _)| map.contains_key(*f)) {
            return Err(Problem::field(Kind::InvalidField, *field, *why));
        }
    }
    let mut f = Form::parse(body, FIELDS, false)?;
    let mut out = Map::new();
    let mut put = |name: &str, value: Option<Value>| {
        if let Some(v) = value {
            out.insert(name.to_owned(), v);
        }
    };
    put("label", f.get("label", fields::label).map(Value::from));
    put("scopes", f.get("scopes", fields::key_scopes).map(|s| s.iter().map(ToString::to_string).collect()));
    put("allow_ips", f.nullable("allow_ips", fields::networks).map(|n| n.map(|n| n.iter().map(ToString::to_string).collect::<Vec<_>>()).into()));
    for name in ["rate_per_minute", "burst"] {
        put(name, f.nullable(name, fields::positive_u32).map(Value::from));
    }
    // `null` restores the default: bearer only, no redirect URIs, PKCE optional.
    put("auth_modes", f.nullable("auth_modes", fields::auth_modes).map(|m| m.map(|m| m.iter().map(|m| m.as_str()).collect::<Vec<_>>()).into()));
    put("redirect_uris", f.nullable("redirect_uris", fields::redirect_uris).map(|u| u.map(|u| u.iter().map(|u| u.as_str().to_owned()).collect::<Vec<_>>()).into()));
    put("pkce_required", f.nullable("pkce_required", fields::flag).map(Value::from));
    // `false` is the record's default: stored as absent.
    put("exact_rate", f.nullable("exact_rate", fields::flag).map(|v| if v == Some(true) { Value::Bool(true) } else { Value::Null }));
    for name in ["expires_at", "not_before"] {
        put(name, f.nullable(name, fields::timestamp).map(|t| t.map(|t| t.to_rfc3339_exact()).into()));
    }
    let metadata = f.get("metadata", |v| match v {
        Value::Null => Ok(Value::Null),
        v => metadata::check(v, true).map(|_| v.clone()).map_err(|(_, d)| d),
    });
    f.finish()?;
    if let Some(m) = metadata {
        out.insert("metadata".into(), m);
    }
    Ok(Patch(out))
}

impl Patch {
    /// Whether the patch changes `field`.
    pub fn names(&self, field: &str) -> bool {
        self.0.contains_key(field)
    }

    /// The patch as JSON (what the edge hands the key's guard).
    pub fn to_json(&self) -> String {
        Value::Object(self.0.clone()).to_string()
    }

    /// Applies the patch to a stored record. The result must decode as a
    /// record; a stored record that does not, and that the patch does not
    /// repair, is `record_malformed`.
    pub fn apply(&self, stored: &[u8]) -> Result<String, Problem> {
        let malformed = |e: String| Problem::new(Kind::RecordMalformed, format!("the stored record cannot be decoded ({e}) and this change does not repair it"));
        let mut record = match serde_json::from_slice::<Value>(stored) {
            Ok(Value::Object(map)) => map,
            _ => return Err(malformed("not a JSON object".into())),
        };
        for (name, value) in &self.0 {
            if name == "metadata" {
                match metadata::merge(record.get("metadata"), value) {
                    Ok(Some(m)) => record.insert(name.clone(), m),
                    Ok(None) => record.remove(name),
                    Err(detail) => return Err(Problem::field(Kind::InvalidField, "metadata", detail)),
                };
            } else if value.is_null() && name != "expires_at" && name != "not_before" {
                record.remove(name);
            } else {
                record.insert(name.clone(), value.clone());
            }
        }
        let text = Value::Object(record).to_string();
        KeyRecord::decode(text.as_bytes()).map_err(|e| malformed(e.to_string()))?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stored() -> Value {
        json!({"v": 1, "key_id": "key_a", "label": "Okta", "tenant": "acme", "scopes": ["users:read"], "status": "active",
            "created_at": "2026-01-01T00:00:00Z", "not_before": null, "expires_at": "2027-01-01T00:00:00Z",
            "burst": 5, "metadata": {"team": "idp", "ticket": "T-1"}, "added_by_a_newer_edge": [1, 2]})
    }

    fn apply(patch: Value) -> Value {
        let text = parse(patch.to_string().as_bytes()).unwrap().apply(stored().to_string().as_bytes()).unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn oauth_fields_change_and_null_restores_the_defaults() {
        use crate::core::oauth::policy::Mode;
        let v = apply(json!({"auth_modes": ["client_credentials"], "redirect_uris": ["https://acme.okta.com/cb"], "pkce_required": true}));
        assert_eq!((v["auth_modes"].clone(), v["redirect_uris"].clone(), v["pkce_required"].clone()), (json!(["client_credentials"]), json!(["https://acme.okta.com/cb"]), json!(true)));
        let rec = KeyRecord::decode(v.to_string().as_bytes()).unwrap();
        assert!(rec.allows(Mode::ClientCredentials) && !rec.allows(Mode::Bearer));
        let cleared = parse(br#"{"auth_modes":null,"redirect_uris":null,"pkce_required":null}"#).unwrap().apply(v.to_string().as_bytes()).unwrap();
        assert!(!cleared.contains("auth_modes") && !cleared.contains("redirect_uris") && !cleared.contains("pkce_required"), "{cleared}");
        assert!(KeyRecord::decode(cleared.as_bytes()).unwrap().allows(Mode::Bearer));
        assert!(parse(br#"{"auth_modes":[]}"#).is_err() && parse(br#"{"redirect_uris":["ftp://x"]}"#).is_err());
    }

    #[test]
    fn fields_change_clear_and_unknown_ones_survive() {
        let v = apply(json!({"label": "Okta 2", "scopes": ["*"], "expires_at": null, "burst": null, "allow_ips": ["10.0.0.1"],
            "metadata": {"ticket": null, "owner": "jane"}}));
        assert_eq!((v["label"].as_str(), v["scopes"].clone(), v["expires_at"].clone()), (Some("Okta 2"), json!(["*"]), Value::Null));
        assert!(v.get("burst").is_none());
        assert_eq!(v["allow_ips"], json!(["10.0.0.1/32"]));
        assert_eq!(v["metadata"], json!({"team": "idp", "owner": "jane"}));
        assert_eq!(v["added_by_a_newer_edge"], json!([1, 2]));
        assert_eq!(v["tenant"], "acme");
        assert!(apply(json!({"metadata": null})).get("metadata").is_none());
        assert_eq!(apply(json!({})), stored(), "an empty patch rewrites the record unchanged");
    }

    #[test]
    fn exact_rate_is_set_and_cleared() {
        let set = apply(json!({"exact_rate": true}));
        assert_eq!(set["exact_rate"], json!(true));
        assert!(KeyRecord::decode(set.to_string().as_bytes()).unwrap().exact_rate);
        for clear in [json!({"exact_rate": false}), json!({"exact_rate": null})] {
            let patch = parse(clear.to_string().as_bytes()).unwrap();
            let cleared: Value = serde_json::from_str(&patch.apply(set.to_string().as_bytes()).unwrap()).unwrap();
            assert!(cleared.get("exact_rate").is_none(), "false is the default: not stored");
        }
        assert_eq!(parse(br#"{"exact_rate":"yes"}"#).unwrap_err().errors[0].field, "exact_rate");
    }

    #[test]
    fn what_may_not_change() {
        assert_eq!(parse(br#"{"tenant":"other"}"#).unwrap_err().kind, Kind::TenantImmutable);
        for field in ["key", "key_id", "status", "created_at", "rotated_from", "v"] {
            let err = parse(json!({ field: "x" }).to_string().as_bytes()).unwrap_err();
            assert_eq!((err.kind, err.errors[0].field.as_str()), (Kind::InvalidField, field));
        }
        assert_eq!(parse(br#"{"lable":"x"}"#).unwrap_err().kind, Kind::UnknownField);
        assert_eq!(parse(br#"{"scopes":null}"#).unwrap_err().errors[0].field, "scopes");
        assert_eq!(parse(br#"{"label":null}"#).unwrap_err().errors[0].field, "label");
        assert_eq!(parse(br#"{"metadata":{"bad name":"x"}}"#).unwrap_err().errors[0].field, "metadata");
    }

    #[test]
    fn malformed_records_need_a_repairing_patch() {
        let mut broken = stored();
        broken["scopes"] = json!(["users:admin"]);
        let bytes = broken.to_string();
        assert_eq!(parse(br#"{"label":"x"}"#).unwrap().apply(bytes.as_bytes()).unwrap_err().kind, Kind::RecordMalformed);
        assert!(parse(br#"{"scopes":["users:read"]}"#).unwrap().apply(bytes.as_bytes()).is_ok());
        assert_eq!(parse(b"{}").unwrap().apply(b"nonsense").unwrap_err().kind, Kind::RecordMalformed);
    }
}
