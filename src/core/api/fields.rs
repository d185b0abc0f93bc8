//! Reading request bodies and parameters field by field: unknown fields are
//! refused by name (a typo must not silently do nothing), and every bad
//! field of a request is reported at once.

use super::problem::{FieldError, Kind, Problem};
use crate::core::record::{parse_network, valid_tenant};
use crate::core::scope::Scope;
use crate::core::time::UnixMillis;
use ipnet::IpNet;
use serde_json::{Map, Value};
use std::time::Duration;

/// The largest body the API reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Labels: 1 to this many characters.
pub const MAX_LABEL_CHARS: usize = 256;
/// Lists (scopes, networks): at most this many entries.
pub const MAX_LIST: usize = 64;

/// A JSON object body whose field names were checked, collecting the
/// errors of its values.
pub struct Form {
    map: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Form {
    /// Parses `body` as a JSON object whose fields are all in `allowed`
    /// (an empty body is `{}` when `empty_ok`).
    pub fn parse(body: &[u8], allowed: &[&str], empty_ok: bool) -> Result<Self, Problem> {
        let map = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            _ if empty_ok && body.iter().all(u8::is_ascii_whitespace) => Map::new(),
            _ => return Err(Kind::InvalidJson.into()),
        };
        let unknown: Vec<FieldError> = map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .map(|k| FieldError { field: k.clone(), detail: format!("unknown field; this route takes {}", allowed.join(", ")) })
            .collect();
        if !unknown.is_empty() {
            return Err(Problem { errors: unknown, ..Kind::UnknownField.into() });
        }
        Ok(Form { map, errors: Vec::new() })
    }

    /// Whether the body names `name` (its value may be null).
    pub fn has(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// The value of `name` read by `read`, or `None` when absent (or bad:
    /// the error is kept).
    pub fn get<T>(&mut self, name: &str, read: impl FnOnce(&Value) -> Result<T, String>) -> Option<T> {
        let value = self.map.get(name)?;
        match read(value) {
            Ok(v) => Some(v),
            Err(detail) => {
                self.fail(name, detail);
                None
            }
        }
    }

    /// Like [`get`](Self::get), but `null` reads as `Some(None)`.
    pub fn nullable<T>(&mut self, name: &str, read: impl FnOnce(&Value) -> Result<T, String>) -> Option<Option<T>> {
        match self.map.get(name) {
            Some(Value::Null) => Some(None),
            Some(_) => self.get(name, read).map(Some),
            None => None,
        }
    }

    /// Records an error for `field`.
    pub fn fail(&mut self, field: impl Into<String>, detail: impl Into<String>) {
        self.errors.push(FieldError { field: field.into(), detail: detail.into() });
    }

    /// A required field that is absent.
    pub fn require(&mut self, name: &str) {
        if !self.has(name) {
            self.fail(name, "required");
        }
    }

    /// `Ok` if no field was bad, else 400 `invalid_field` naming them all.
    pub fn finish(self) -> Result<(), Problem> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Problem { errors: self.errors, ..Kind::InvalidField.into() })
        }
    }
}

/// A label: a string of 1 to 256 characters.
pub fn label(v: &Value) -> Result<String, String> {
    match v.as_str() {
        Some(s) if (1..=MAX_LABEL_CHARS).contains(&s.chars().count()) => Ok(s.to_owned()),
        _ => Err(format!("a string of 1 to {MAX_LABEL_CHARS} characters")),
    }
}

/// A tenant (see `record::valid_tenant`).
pub fn tenant(v: &Value) -> Result<String, String> {
    v.as_str().filter(|t| valid_tenant(t)).map(str::to_owned).ok_or_else(|| "a letter or digit, then letters, digits and ._-, at most 128".into())
}

/// A non-empty array of strings, each read by `item`; errors name the index.
pub fn list<T>(v: &Value, max: usize, item: impl Fn(&str) -> Option<T>, what: &str) -> Result<Vec<T>, String> {
    let items = v.as_array().filter(|a| a.len() <= max).ok_or_else(|| format!("an array of at most {max} {what}"))?;
    items
        .iter()
        .enumerate()
        .map(|(i, s)| s.as_str().and_then(&item).ok_or_else(|| format!("[{i}]: not {what}")))
        .collect()
}

/// Key scopes: a non-empty array in the grammar of `scope`.
pub fn key_scopes(v: &Value) -> Result<Vec<Scope>, String> {
    let scopes = list(v, MAX_LIST, |s| s.parse().ok(), "scopes ('*', 'me', 'bulk' or '<resource>:read|write')")?;
    if scopes.is_empty() {
        return Err("at least one scope: a key that may do nothing is useless".into());
    }
    Ok(scopes)
}

/// Client networks: CIDRs or addresses, normalised (`10.1.2.3/8` → `10.0.0.0/8`).
pub fn networks(v: &Value) -> Result<Vec<IpNet>, String> {
    list(v, MAX_LIST, |s| (s.len() <= 64).then(|| parse_network(s)).flatten(), "networks (CIDR or address)")
}

/// A flag: `true` or `false`.
pub fn flag(v: &Value) -> Result<bool, String> {
    v.as_bool().ok_or_else(|| "must be true or false".into())
}

/// A rate or burst: an integer from 1 to 2^32 − 1.
pub fn positive_u32(v: &Value) -> Result<u32, String> {
    v.as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n >= 1).ok_or_else(|| "an integer from 1 to 4294967295".into())
}

/// An RFC 3339 timestamp in UTC (`…Z`), from 1970 to 2999: exactly what
/// the contract's `Timestamp` pattern admits.
pub fn timestamp(v: &Value) -> Result<UnixMillis, String> {
    v.as_str().and_then(utc_timestamp).ok_or_else(|| "an RFC 3339 timestamp in UTC, e.g. 2027-01-31T00:00:00Z".into())
}

fn utc_timestamp(s: &str) -> Option<UnixMillis> {
    let b = s.as_bytes();
    let shaped = b.len() >= 20 && b[10] == b'T' && b[17] <= b'5' && s.ends_with('Z') && (b[0] == b'2' || s.starts_with("19"));
    shaped.then(|| UnixMillis::parse_rfc3339(s)).flatten()
}

/// A duration: 1 to 6 digits and a unit (`s`, `m`, `h`, `d`, `w`).
pub fn duration(text: &str) -> Option<Duration> {
    if !text.is_ascii() {
        return None;
    }
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    Some(Duration::from_secs(digits.parse::<u64>().ok()? * seconds))
}

/// A duration that is not zero.
pub fn positive_duration(text: &str) -> Option<Duration> {
    duration(text).filter(|d| !d.is_zero())
}

/// A JSON string read as a non-zero duration.
pub fn lifetime(v: &Value) -> Result<Duration, String> {
    v.as_str().and_then(positive_duration).ok_or_else(|| "a duration that is not zero, e.g. 90d, 24h".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    proptest::proptest! {
        /// Whatever a client sends, reading it answers; it never panics.
        #[test]
        fn reading_any_input_never_panics(text in "\\PC{0,40}", bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = duration(&text);
            let _ = timestamp(&json!(text));
            let _ = crate::core::api::list::params(Some(&text), &["a", "cursor"]).map(|p| crate::core::api::list::page(&p, "id:"));
            let _ = crate::core::api::list::key_filter(&[("label_prefix".to_owned(), text.clone()), ("expiring_within".to_owned(), text.clone())].into_iter().collect());
            let _ = crate::core::api::mint::parse(&bytes);
            let _ = crate::core::api::patch::parse(&bytes);
            let _ = crate::core::api::token::parse_mint(&bytes);
            let _ = crate::core::api::mint::parse_rotate(&bytes);
            let _ = crate::core::api::route::route("GET", &text);
        }
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = Form::parse(br#"{"label":"x","scope":["*"],"expires":"1d"}"#, &["label", "scopes"], false).err().unwrap();
        assert_eq!(err.kind, Kind::UnknownField);
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["expires", "scope"]);
        for bad in [&b"[]"[..], b"null", b"{", b"", b"\"x\""] {
            assert_eq!(Form::parse(bad, &[], false).err().unwrap().kind, Kind::InvalidJson, "{bad:?}");
        }
        assert!(Form::parse(b" ", &[], true).is_ok());
    }

    #[test]
    fn every_bad_field_is_reported() {
        let mut form = Form::parse(br#"{"label":"","scopes":["users:admin"],"burst":0}"#, &["label", "scopes", "burst"], false).unwrap();
        assert_eq!(form.get("label", label), None);
        assert_eq!(form.get("scopes", key_scopes), None);
        assert_eq!(form.get("burst", positive_u32), None);
        form.require("missing");
        let err = form.finish().unwrap_err();
        assert_eq!(err.kind, Kind::InvalidField);
        assert_eq!(err.errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["label", "scopes", "burst", "missing"]);
        assert!(err.errors[1].detail.starts_with("[0]"));
    }

    #[test]
    fn values() {
        assert_eq!(duration("90d"), Some(Duration::from_secs(90 * 86_400)));
        assert_eq!(duration("0s"), Some(Duration::ZERO));
        assert_eq!(positive_duration("0s"), None);
        for bad in ["", "d", "1", "1y", "1.5h", "1234567s", "-1d", "1h30m", " 1d", "\u{9f}", "1\u{e9}"] {
            assert_eq!(duration(bad), None, "{bad:?}");
        }
        let nets: Vec<String> = networks(&json!(["10.1.2.3/8", "::1"])).unwrap().iter().map(ToString::to_string).collect();
        assert_eq!(nets, ["10.0.0.0/8", "::1/128"]);
        assert!(networks(&json!(["example.com"])).is_err());
        assert!(key_scopes(&json!([])).is_err());
        assert_eq!(timestamp(&json!("2027-01-31T00:00:00Z")), Ok(UnixMillis(1_801_353_600_000)));
        assert!(timestamp(&json!("2027-01-31T00:00:00+01:00")).is_err());
        assert!(timestamp(&json!(1)).is_err());
        for bad in ["3000-01-01T00:00:00Z", "1969-12-31T23:59:59Z", "2027-01-31T00:00:60Z", "2027-02-30T00:00:00Z", "2027-01-31t00:00:00z"] {
            assert!(timestamp(&json!(bad)).is_err(), "{bad}");
        }
        assert_eq!(timestamp(&json!("2027-01-31T00:00:00.25Z")), Ok(UnixMillis(1_801_353_600_250)));
        assert_eq!(label(&json!("é".repeat(256))).unwrap().chars().count(), 256);
        assert!(label(&json!("é".repeat(257))).is_err());
        assert!(positive_u32(&json!(4_294_967_296u64)).is_err());
        assert!(tenant(&json!("a/b")).is_err());
    }
}
