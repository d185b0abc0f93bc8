//! A key's summary: the KV metadata of its `id:` and `tenant:` entries, so
//! that a listing reads one KV `list()` page and no record per key. KV
//! allows 1,024 bytes of metadata; the bounds below keep any summary under
//! it (tested with the worst case).

use crate::core::record::{KeyRecord, Status};
use crate::core::status::{self, KeyStatus};
use crate::core::time::UnixMillis;
use serde_json::{json, Value};

/// Characters of the label a summary keeps.
pub const LABEL_CHARS: usize = 64;
/// KV's limit for an entry's metadata.
pub const MAX_BYTES: usize = 1024;

/// What listing needs to know about a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The key's tenant.
    pub tenant: Option<String>,
    /// The stored status.
    pub status: Status,
    /// The label, cut to 64 characters.
    pub label: String,
    /// When it was minted.
    pub created_at: UnixMillis,
    /// `not_before`.
    pub not_before: Option<UnixMillis>,
    /// `expires_at`.
    pub expires_at: Option<UnixMillis>,
    /// The latest use the key's guard noted (first use, then hourly).
    pub last_used: Option<UnixMillis>,
    /// The pepper id that names the record.
    pub pepper: Option<String>,
}

impl Summary {
    /// The summary of `record`.
    pub fn of(record: &KeyRecord, pepper: Option<&str>, last_used: Option<UnixMillis>) -> Self {
        Summary {
            tenant: record.tenant.clone(),
            status: record.status,
            label: record.label.chars().take(LABEL_CHARS).collect(),
            created_at: record.created_at,
            not_before: record.not_before,
            expires_at: record.expires_at,
            last_used,
            pepper: pepper.map(|p| p.chars().take(16).collect()),
        }
    }

    /// The stored form: short names, times in Unix milliseconds.
    pub fn to_json(&self) -> Value {
        let ms = |t: Option<UnixMillis>| t.map(|t| t.0);
        json!({
            "v": 1,
            "t": self.tenant,
            "s": if self.status == Status::Revoked { "revoked" } else { "active" },
            "l": self.label,
            "c": self.created_at.0,
            "nb": ms(self.not_before),
            "x": ms(self.expires_at),
            "u": ms(self.last_used),
            "p": self.pepper,
        })
    }

    /// Reads the stored form; `None` if it is not one.
    pub fn from_json(v: &Value) -> Option<Self> {
        // Metadata is written around the API too: an instant RFC 3339 cannot write is no summary.
        let ms = |name: &str| match &v[name] {
            Value::Null => Some(None),
            n => n.as_u64().filter(|n| *n <= UnixMillis::LAST.0).map(|n| Some(UnixMillis(n))),
        };
        let text = |name: &str| match &v[name] {
            Value::Null => Some(None),
            s => s.as_str().map(|s| Some(s.to_owned())),
        };
        if v["v"] != 1 {
            return None;
        }
        Some(Summary {
            tenant: text("t")?,
            status: match v["s"].as_str()? {
                "active" => Status::Active,
                "revoked" => Status::Revoked,
                _ => return None,
            },
            label: v["l"].as_str()?.to_owned(),
            created_at: ms("c")??,
            not_before: ms("nb")?,
            expires_at: ms("x")?,
            last_used: ms("u")?,
            pepper: text("p")?,
        })
    }

    /// The key's status at `now`, by the request path's own function.
    pub fn status_at(&self, now: UnixMillis) -> KeyStatus {
        status::of(self.status, self.not_before, self.expires_at, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::key::KeyId;

    fn record() -> KeyRecord {
        KeyRecord {
            exact_rate: false,
            key_id: KeyId::parse("key_a").unwrap(),
            label: "Okta".into(),
            tenant: Some("acme".into()),
            scopes: vec![],
            status: Status::Active,
            created_at: UnixMillis(1_000),
            not_before: None,
            expires_at: Some(UnixMillis(5_000)),
            allow_ips: vec![],
            rate_per_minute: None,
            burst: None,
            rotated_from: None,
            auth: Default::default(),
        }
    }

    #[test]
    fn round_trips_and_computes_status() {
        let s = Summary::of(&record(), Some("0123456789abcdef"), Some(UnixMillis(2_000)));
        assert_eq!(Summary::from_json(&s.to_json()), Some(s.clone()));
        assert_eq!(s.status_at(UnixMillis(4_999)), KeyStatus::Active);
        assert_eq!(s.status_at(UnixMillis(5_000)), KeyStatus::Expired);
        let mut far = s.to_json();
        far["u"] = (UnixMillis::LAST.0 + 1).into();
        assert_eq!(Summary::from_json(&far), None);
        for junk in [json!(null), json!({}), json!({"v": 2}), json!({"v": 1, "t": null, "s": "paused", "l": "", "c": 1, "nb": null, "x": null, "u": null, "p": null})] {
            assert_eq!(Summary::from_json(&junk), None, "{junk}");
        }
    }

    #[test]
    fn the_worst_case_fits_kv_metadata() {
        // The longest tenant, a label of characters JSON escapes as \u and four hex digits, every time the largest.
        let max = UnixMillis(253_402_300_799_999);
        let rec = KeyRecord { tenant: Some("t".repeat(128)), label: "\u{1}".repeat(300), not_before: Some(max), expires_at: Some(max), created_at: max, ..record() };
        let s = Summary::of(&rec, Some(&"f".repeat(40)), Some(max));
        let size = s.to_json().to_string().len();
        assert!(size <= MAX_BYTES, "{size} bytes");
        assert_eq!(s.label.chars().count(), LABEL_CHARS);
    }
}
