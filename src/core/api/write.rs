//! What the key's records writer (a Durable Object per key id) does with a
//! write: the operations, each applied to its authoritative copy of the
//! stored record, one at a time. The writer does the I/O (KV, its own
//! storage, the key's guard); this decides.

use super::patch;
use super::problem::{FieldError, Kind, Problem};
use crate::core::lookup::IndexEntry;
use crate::core::record::KeyRecord;
use crate::core::status::{self, KeyStatus};
use crate::core::time::UnixMillis;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A write to a key, as the edge hands it to the key's guard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// `PATCH`: a checked patch (`patch::Patch::to_json`), and `If-Match`.
    Patch {
        /// The patch's JSON.
        patch: String,
        /// The `If-Match` header, if any.
        if_match: Option<String>,
    },
    /// Revoke: the guard's flag first, then the record.
    Revoke,
    /// Rotation's second step: expire no later than `at`.
    ExpireBy {
        /// The end of the grace period.
        at: UnixMillis,
    },
    /// Purge a revoked, expired or incomplete key.
    Delete,
    /// Rewrite the summaries only, with the key's last use (its guard
    /// tells it at the first use, then at most hourly).
    Touch {
        /// The last use the key's guard saw.
        last_used: UnixMillis,
    },
}

/// What the API sends the key's records writer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WriteRequest {
    /// The key's id (the guard's name).
    pub key_id: String,
    /// The operation.
    pub op: Op,
    /// The key's index entry as the edge read it, for the guard's first
    /// load (it reads the index itself when absent).
    pub index: Option<IndexEntry>,
}

/// What the key's records writer answers to a write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteReply {
    /// Applied: the record after it (`None`: incomplete).
    Written {
        /// The record's bytes.
        record: Option<String>,
        /// Whether the summaries were written too.
        summary_written: bool,
        /// The guard's revoked flag.
        revoked: bool,
    },
    /// The key's entries were deleted.
    Deleted,
    /// Refused or failed: a problem's slug, detail and fields.
    Failed {
        /// The problem's slug.
        kind: String,
        /// Its detail.
        detail: String,
        /// Its fields (name, detail).
        errors: Vec<(String, String)>,
    },
}

impl From<&Problem> for WriteReply {
    fn from(p: &Problem) -> Self {
        WriteReply::Failed { kind: p.kind.slug().into(), detail: p.detail.clone(), errors: p.errors.iter().map(|e| (e.field.clone(), e.detail.clone())).collect() }
    }
}

impl WriteReply {
    /// The problem a `Failed` reply carries.
    pub fn problem(kind: &str, detail: &str, errors: &[(String, String)]) -> Problem {
        Problem {
            detail: detail.to_owned(),
            errors: errors.iter().map(|(field, detail)| FieldError { field: field.clone(), detail: detail.clone() }).collect(),
            ..Kind::from_slug(kind).unwrap_or(Kind::StoreUnavailable).into()
        }
    }
}

/// What the key's records writer holds, for a show: never read from KV
/// for this, and never written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Held {
    /// Whether it holds a copy of the record (else: read KV).
    pub held: bool,
    /// The copy (`None`: the key has no record).
    pub record: Option<String>,
    /// Whether the key was deleted through it.
    pub deleted: bool,
}

/// What to write after an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The record's new bytes (then its summaries).
    Write(String),
    /// Delete the key's entries.
    Delete,
    /// The record stays; only the summaries are written.
    Keep,
}

/// A strong ETag of stored record bytes.
pub fn etag(bytes: &[u8]) -> String {
    format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..32])
}

/// Whether `If-Match` admits the current record (`None`: there is none).
pub fn if_match(header: &str, current: Option<&str>) -> bool {
    let Some(current) = current else { return false };
    let tag = etag(current.as_bytes());
    header.split(',').map(str::trim).any(|t| t == "*" || t == tag)
}

/// Applies `op` to the current record (`None`: the key's index has no
/// record) at `now`; `revoked_at_edge` is the guard's own flag.
pub fn apply(op: &Op, current: Option<&str>, revoked_at_edge: bool, now: UnixMillis) -> Result<Applied, Problem> {
    let object = |text: &str| match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(Problem::new(Kind::RecordMalformed, "the stored record is not a JSON object")),
    };
    let incomplete = || Problem::new(Kind::KeyIncomplete, "the key's index points at no record: delete it (or wait a minute if it was just minted at another location)");
    match op {
        Op::Touch { .. } => Ok(Applied::Keep),
        Op::Delete => match current.map(|c| KeyRecord::decode(c.as_bytes())) {
            Some(Ok(r)) if !revoked_at_edge && matches!(status::of(r.status, r.not_before, r.expires_at, now), KeyStatus::Active | KeyStatus::NotYetValid) => {
                Err(Problem::new(Kind::KeyActive, "the key is active: revoke it first (POST …/revoke), then delete it"))
            }
            _ => Ok(Applied::Delete),
        },
        Op::Patch { patch, if_match: header } => {
            let current = current.ok_or_else(incomplete)?;
            if header.as_deref().is_some_and(|h| !if_match(h, Some(current))) {
                return Err(Problem::new(Kind::PreconditionFailed, format!("the record's ETag is now {}", etag(current.as_bytes()))));
            }
            patch::parse(patch.as_bytes())?.apply(current.as_bytes()).map(Applied::Write)
        }
        Op::Revoke => {
            let mut record = object(current.ok_or_else(incomplete)?)?;
            record.insert("status".into(), "revoked".into());
            Ok(Applied::Write(Value::Object(record).to_string()))
        }
        Op::ExpireBy { at } => {
            let current = current.ok_or_else(incomplete)?;
            let decoded = KeyRecord::decode(current.as_bytes()).map_err(|e| Problem::new(Kind::RecordMalformed, e.to_string()))?;
            let mut record = object(current)?;
            let until = decoded.expires_at.map_or(*at, |t| t.min(*at));
            record.insert("expires_at".into(), until.to_rfc3339_exact().into());
            Ok(Applied::Write(Value::Object(record).to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(status: &str, expires_at: &str) -> String {
        json!({"v": 1, "key_id": "key_a", "label": "x", "scopes": ["*"], "status": status, "created_at": "2026-01-01T00:00:00Z",
            "expires_at": expires_at, "unknown": true}).to_string()
    }

    const NOW: UnixMillis = UnixMillis(1_790_000_000_000); // 2026-09-21

    #[test]
    fn delete_only_what_cannot_work() {
        let active = record("active", "2027-01-01T00:00:00Z");
        assert_eq!(apply(&Op::Delete, Some(&active), false, NOW).unwrap_err().kind, Kind::KeyActive);
        assert_eq!(apply(&Op::Delete, Some(&active), true, NOW), Ok(Applied::Delete), "revoked at the edge");
        assert_eq!(apply(&Op::Delete, Some(&record("revoked", "2027-01-01T00:00:00Z")), false, NOW), Ok(Applied::Delete));
        assert_eq!(apply(&Op::Delete, Some(&record("active", "2026-02-01T00:00:00Z")), false, NOW), Ok(Applied::Delete));
        assert_eq!(apply(&Op::Delete, None, false, NOW), Ok(Applied::Delete), "incomplete");
        assert_eq!(apply(&Op::Delete, Some("garbage"), false, NOW), Ok(Applied::Delete), "undecodable records deny anyway");
    }

    #[test]
    fn revoke_and_expire_keep_unknown_fields() {
        let active = record("active", "2027-01-01T00:00:00Z");
        let Applied::Write(revoked) = apply(&Op::Revoke, Some(&active), false, NOW).unwrap() else { panic!() };
        let v: Value = serde_json::from_str(&revoked).unwrap();
        assert_eq!((v["status"].as_str(), v["unknown"].as_bool()), (Some("revoked"), Some(true)));
        let early = UnixMillis::parse_rfc3339("2026-10-01T00:00:00Z").unwrap();
        let Applied::Write(shortened) = apply(&Op::ExpireBy { at: early }, Some(&active), false, NOW).unwrap() else { panic!() };
        assert!(shortened.contains("2026-10-01T00:00:00Z"));
        let late = UnixMillis::parse_rfc3339("2028-01-01T00:00:00Z").unwrap();
        let Applied::Write(kept) = apply(&Op::ExpireBy { at: late }, Some(&active), false, NOW).unwrap() else { panic!() };
        assert!(kept.contains("2027-01-01T00:00:00Z"), "never later than it was");
        assert_eq!(apply(&Op::Revoke, None, false, NOW).unwrap_err().kind, Kind::KeyIncomplete);
    }

    #[test]
    fn patches_check_if_match() {
        let active = record("active", "2027-01-01T00:00:00Z");
        let patch = |if_match: Option<&str>| Op::Patch { patch: r#"{"label":"y"}"#.into(), if_match: if_match.map(str::to_owned) };
        let tag = etag(active.as_bytes());
        assert!(matches!(apply(&patch(Some(&tag)), Some(&active), false, NOW), Ok(Applied::Write(_))));
        assert!(matches!(apply(&patch(Some("*")), Some(&active), false, NOW), Ok(Applied::Write(_))));
        assert!(matches!(apply(&patch(Some(&format!("\"x\", {tag}"))), Some(&active), false, NOW), Ok(Applied::Write(_))));
        assert_eq!(apply(&patch(Some("\"stale\"")), Some(&active), false, NOW).unwrap_err().kind, Kind::PreconditionFailed);
        assert_eq!(apply(&patch(Some(&format!("W/{tag}"))), Some(&active), false, NOW).unwrap_err().kind, Kind::PreconditionFailed, "weak tags never match");
        assert_eq!(apply(&patch(None), None, false, NOW).unwrap_err().kind, Kind::KeyIncomplete);
        assert_eq!(tag.len(), 34);
        let failed = WriteReply::from(&Problem::field(Kind::InvalidField, "metadata", "too big"));
        let WriteReply::Failed { kind, detail, errors } = failed else { panic!() };
        let back = WriteReply::problem(&kind, &detail, &errors);
        assert_eq!((back.kind, back.errors[0].field.as_str()), (Kind::InvalidField, "metadata"));
        let json = serde_json::to_string(&Op::ExpireBy { at: NOW }).unwrap();
        assert_eq!(serde_json::from_str::<Op>(&json).unwrap(), Op::ExpireBy { at: NOW });
    }
}
