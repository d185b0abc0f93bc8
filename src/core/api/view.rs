//! What the API answers about a key: the record as stored, its status by
//! the request path's own function, its ETag and last use.

use super::write::etag;
use crate::core::record::KeyRecord;
use crate::core::status;
use crate::core::time::UnixMillis;
use serde_json::{json, Value};
use std::time::Duration;

/// How long Workers KV may take to carry a new record to every location.
pub const KV_PROPAGATION: Duration = Duration::from_secs(60);

/// What a mint's answer says about `usable_everywhere_by`.
pub const PROPAGATION: &str = "Workers KV carries a new key to every Cloudflare location within about 60 s: until usable_everywhere_by, a location that has not seen it yet answers key_unknown (401), and an IdP's test connection may fail there; test again after that time.";

/// The computed status of stored record bytes (`None`: incomplete),
/// `revoked_at_edge` being the key's guard's own flag.
pub fn status_of(record: Option<&str>, revoked_at_edge: bool, now: UnixMillis) -> &'static str {
    match record.map(|r| KeyRecord::decode(r.as_bytes())) {
        None => "incomplete",
        Some(_) if revoked_at_edge => "revoked",
        Some(Ok(r)) => status::of(r.status, r.not_before, r.expires_at, now).name(),
        Some(Err(_)) => "malformed",
    }
}

/// `GET /keys/{id}` (and the answers of writes).
pub fn key(key_id: &str, record: Option<&str>, last_used: Option<UnixMillis>, revoked_at_edge: bool, now: UnixMillis) -> Value {
    json!({
        "key_id": key_id,
        "status": status_of(record, revoked_at_edge, now),
        "record": record.and_then(|r| serde_json::from_str::<Value>(r).ok()),
        "etag": record.map(|r| etag(r.as_bytes())),
        "last_used_at": last_used.map(|t| t.to_rfc3339_exact()),
        "revoked_at_edge": revoked_at_edge,
    })
}

/// A freshly minted key: shown once with its key.
pub fn minted(key_id: &str, key: &str, record: &str, now: UnixMillis) -> Value {
    json!({
        "key_id": key_id,
        "key": key,
        "status": status_of(Some(record), false, now),
        "record": serde_json::from_str::<Value>(record).unwrap_or_default(),
        "etag": etag(record.as_bytes()),
        "usable_everywhere_by": now.plus(KV_PROPAGATION).to_rfc3339(),
        "propagation": PROPAGATION,
        "replayed": false,
    })
}

/// What an idempotent replay answers: the answer without the key.
pub fn replay_of(answer: &Value) -> String {
    let mut replay = answer.clone();
    if let Some(fields) = replay.as_object_mut() {
        fields.remove("key");
        fields.insert("replayed".into(), true.into());
    }
    replay.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const REC: &str = r#"{"v":1,"key_id":"key_a","label":"x","scopes":["*"],"status":"active","created_at":"2026-01-01T00:00:00Z","expires_at":"2026-06-01T00:00:00Z"}"#;

    #[test]
    fn views() {
        let before = UnixMillis::parse_rfc3339("2026-02-01T00:00:00Z").unwrap();
        let after = UnixMillis::parse_rfc3339("2026-07-01T00:00:00Z").unwrap();
        assert_eq!(status_of(Some(REC), false, before), "active");
        assert_eq!(status_of(Some(REC), false, after), "expired");
        assert_eq!(status_of(Some(REC), true, before), "revoked");
        assert_eq!(status_of(None, false, before), "incomplete");
        assert_eq!(status_of(Some("{}"), false, before), "malformed");
        let v = key("key_a", Some(REC), None, false, before);
        assert_eq!((v["record"]["label"].as_str(), v["etag"].as_str().map(str::len)), (Some("x"), Some(34)));
        let m = minted("key_a", "pvk_secret", REC, before);
        assert_eq!(m["usable_everywhere_by"], "2026-02-01T00:01:00Z");
        let replay: Value = serde_json::from_str(&replay_of(&m)).unwrap();
        assert!(replay.get("key").is_none());
        assert_eq!(replay["replayed"], true);
        assert!(!replay_of(&m).contains("pvk_secret"));
    }
}
