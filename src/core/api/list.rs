//! Listing: query parameters, the KV prefix a listing reads, opaque
//! cursors bound to it, filters applied to summaries, and the items.

use super::fields;
use super::problem::{FieldError, Kind, Problem};
use super::summary::Summary;
use crate::core::lookup::{INDEX_PREFIX, TENANT_PREFIX};
use crate::core::record::valid_tenant;
use crate::core::status::KeyStatus;
use crate::core::time::UnixMillis;
use crate::core::usage::is_stale;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Entries per page by default, and at most (KV's own maximum).
pub const DEFAULT_LIMIT: u64 = 100;
/// The largest `limit`.
pub const MAX_LIMIT: u64 = 1000;

/// Decoded query parameters.
pub type Params = BTreeMap<String, String>;

/// Reads a query string whose parameters are all in `allowed`, each at
/// most once; anything else is 400 naming it.
pub fn params(query: Option<&str>, allowed: &[&str]) -> Result<Params, Problem> {
    let mut out = Params::new();
    let mut errors = Vec::new();
    for pair in query.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_encoding::percent_decode_str(&s.replace('+', " ")).decode_utf8().ok().map(|c| c.into_owned());
        let (Some(name), Some(value)) = (decode(name), decode(value)) else {
            errors.push(FieldError { field: "query".into(), detail: "not UTF-8".into() });
            continue;
        };
        if !allowed.contains(&name.as_str()) {
            errors.push(FieldError { field: name, detail: format!("unknown parameter; this route takes {}", allowed.join(", ")) });
        } else if out.insert(name.clone(), value).is_some() {
            errors.push(FieldError { field: name, detail: "given more than once".into() });
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(Problem { errors, ..Kind::InvalidField.into() })
    }
}

/// The KV prefix of a listing: every key (`id:`) or one tenant's.
pub fn prefix(tenant: Option<&str>) -> String {
    match tenant {
        None => INDEX_PREFIX.to_owned(),
        Some(t) => format!("{TENANT_PREFIX}{t}:"),
    }
}

/// The key id an entry of a listing names.
pub fn key_id_of<'a>(name: &'a str, prefix: &str) -> &'a str {
    name.strip_prefix(prefix).unwrap_or(name)
}

/// One page to read: how many entries and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Entries to read.
    pub limit: u64,
    /// KV's cursor, to continue a listing.
    pub cursor: Option<String>,
}

/// The `tenant` parameter, checked.
pub fn tenant_param(p: &Params) -> Result<Option<&str>, Problem> {
    match p.get("tenant") {
        Some(t) if !valid_tenant(t) => Err(Problem::field(Kind::InvalidField, "tenant", "a letter or digit, then letters, digits and ._-, at most 128")),
        t => Ok(t.map(String::as_str)),
    }
}

/// `limit` and `cursor`; the cursor must come from a listing of `prefix`.
pub fn page(p: &Params, prefix: &str) -> Result<Page, Problem> {
    let limit = match p.get("limit") {
        None => DEFAULT_LIMIT,
        Some(l) => l.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| Problem::field(Kind::InvalidField, "limit", "an integer from 1 to 1000"))?,
    };
    let cursor = p.get("cursor").map(|c| decode_cursor(c, prefix)).transpose()?;
    Ok(Page { limit, cursor })
}

/// The opaque cursor given to the client: KV's cursor bound to the prefix.
pub fn encode_cursor(prefix: &str, kv_cursor: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{prefix}\n{kv_cursor}"))
}

fn decode_cursor(text: &str, prefix: &str) -> Result<String, Problem> {
    let bad = || Problem::field(Kind::InvalidField, "cursor", "not a cursor of this listing: pass the previous page's cursor unchanged, with the same tenant");
    let raw = URL_SAFE_NO_PAD.decode(text).ok().and_then(|b| String::from_utf8(b).ok()).ok_or_else(bad)?;
    match raw.split_once('\n') {
        Some((p, kv)) if p == prefix && !kv.is_empty() => Ok(kv.to_owned()),
        _ => Err(bad()),
    }
}

/// What `GET /keys` keeps of a page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyFilter {
    /// `status`.
    pub status: Option<KeyStatus>,
    /// `expiring_within`.
    pub expiring_within: Option<Duration>,
    /// `label_prefix`.
    pub label_prefix: Option<String>,
}

/// Reads `GET /keys`'s filters.
pub fn key_filter(p: &Params) -> Result<KeyFilter, Problem> {
    let mut errors = Vec::new();
    let mut bad = |field: &str, detail: &str| errors.push(FieldError { field: field.into(), detail: detail.into() });
    let status = p.get("status").and_then(|s| KeyStatus::parse(s).or_else(|| (bad("status", "one of active, revoked, expired, not_yet_valid"), None).1));
    let expiring_within = p.get("expiring_within").and_then(|d| fields::positive_duration(d).or_else(|| (bad("expiring_within", "a duration that is not zero, e.g. 30d"), None).1));
    let label_prefix = p.get("label_prefix").filter(|l| {
        let ok = (1..=64).contains(&l.chars().count());
        if !ok {
            bad("label_prefix", "1 to 64 characters");
        }
        ok
    });
    if !errors.is_empty() {
        return Err(Problem { errors, ..Kind::InvalidField.into() });
    }
    Ok(KeyFilter { status, expiring_within, label_prefix: label_prefix.cloned() })
}

impl KeyFilter {
    /// Whether the key summarised by `s` is listed at `now`.
    pub fn keeps(&self, s: &Summary, now: UnixMillis) -> bool {
        let status = s.status_at(now);
        self.status.is_none_or(|want| want == status)
            && self.expiring_within.is_none_or(|d| status == KeyStatus::Active && s.expires_at.is_some_and(|t| t <= now.plus(d)))
            && self.label_prefix.as_deref().is_none_or(|p| s.label.starts_with(p))
    }
}

fn time(t: Option<UnixMillis>) -> Value {
    t.map(|t| t.to_rfc3339_exact()).into()
}

/// A listed key.
pub fn key_item(key_id: &str, s: &Summary, now: UnixMillis) -> Value {
    json!({
        "key_id": key_id,
        "tenant": s.tenant,
        "label": s.label,
        "status": s.status_at(now).name(),
        "created_at": s.created_at.to_rfc3339_exact(),
        "not_before": time(s.not_before),
        "expires_at": time(s.expires_at),
        "last_used_at": time(s.last_used),
        "pepper": s.pepper,
    })
}

/// The summary of a listed entry, or the error entry that names it
/// (never dropped): `summary_missing` (written around the API) or
/// `summary_unreadable`.
pub fn summary_or_error(key_id: &str, metadata: Option<&Value>) -> Result<Summary, Value> {
    let error = |problem: &str, detail: &str| json!({ "key_id": key_id, "problem": problem, "detail": detail });
    match metadata {
        None | Some(Value::Null) => Err(error("summary_missing", "written around the API: GET /keys/{id} reads it, and PATCH {} writes its summary")),
        Some(m) => Summary::from_json(m).ok_or_else(|| error("summary_unreadable", "its summary is not one this edge can read: PATCH {} rewrites it")),
    }
}

/// Whether a key belongs in the stale report: not revoked, and unused
/// (or, never used, created) before `now − unused_for`.
pub fn is_stale_key(s: &Summary, now: UnixMillis, unused_for: Duration) -> bool {
    s.status_at(now) != KeyStatus::Revoked && is_stale(s.last_used, s.created_at, now, unused_for)
}

/// A key of the stale report.
pub fn stale_item(key_id: &str, s: &Summary, now: UnixMillis) -> Value {
    json!({
        "key_id": key_id,
        "tenant": s.tenant,
        "label": s.label,
        "status": s.status_at(now).name(),
        "created_at": s.created_at.to_rfc3339_exact(),
        "last_used_at": time(s.last_used),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::record::Status;

    fn summary(label: &str, status: Status, expires_at: Option<u64>, last_used: Option<u64>) -> Summary {
        Summary { tenant: None, status, label: label.into(), created_at: UnixMillis(0), not_before: None, expires_at: expires_at.map(UnixMillis), last_used: last_used.map(UnixMillis), pepper: None }
    }

    #[test]
    fn parameters_are_decoded_and_checked() {
        let p = params(Some("tenant=ac%6De&label_prefix=Okta+prod&limit=5"), &["tenant", "label_prefix", "limit"]).unwrap();
        assert_eq!((p["tenant"].as_str(), p["label_prefix"].as_str()), ("acme", "Okta prod"));
        let err = params(Some("tenat=acme&limit=1&limit=2"), &["tenant", "limit"]).unwrap_err();
        assert_eq!(err.errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["tenat", "limit"]);
        assert!(params(None, &[]).unwrap().is_empty());
        assert_eq!(page(&params(Some("limit=0"), &["limit"]).unwrap(), "id:").unwrap_err().errors[0].field, "limit");
        assert_eq!(page(&Params::new(), "id:").unwrap(), Page { limit: 100, cursor: None });
        assert!(tenant_param(&params(Some("tenant=a/b"), &["tenant"]).unwrap()).is_err());
    }

    #[test]
    fn cursors_are_bound_to_their_listing() {
        let c = encode_cursor("tenant:acme:", "kv-cursor-1");
        assert!(c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let with = |c: &str| params(Some(&format!("cursor={c}")), &["cursor"]).unwrap();
        assert_eq!(page(&with(&c), "tenant:acme:").unwrap().cursor.as_deref(), Some("kv-cursor-1"));
        assert_eq!(page(&with(&c), "tenant:other:").unwrap_err().errors[0].field, "cursor");
        assert_eq!(page(&with(&c), "id:").unwrap_err().kind, Kind::InvalidField);
        assert!(page(&with("!!"), "id:").is_err() && page(&with("abc"), "id:").is_err());
        assert_eq!(prefix(Some("acme")), "tenant:acme:");
        assert_eq!(key_id_of("tenant:acme:key_1", "tenant:acme:"), "key_1");
    }

    #[test]
    fn filters() {
        let now = UnixMillis(1_000_000);
        let f = |q: &str| key_filter(&params(Some(q), &["status", "expiring_within", "label_prefix"]).unwrap());
        let soon = summary("Okta prod", Status::Active, Some(1_000_000 + 3_600_000), None);
        let later = summary("Okta test", Status::Active, Some(1_000_000 + 90 * 86_400_000), None);
        let revoked = summary("Entra", Status::Revoked, Some(1_000_001), None);
        let expired = summary("Okta old", Status::Active, Some(999_999), None);
        let within = f("expiring_within=1d").unwrap();
        assert!(within.keeps(&soon, now) && !within.keeps(&later, now) && !within.keeps(&revoked, now) && !within.keeps(&expired, now));
        assert!(f("status=expired").unwrap().keeps(&expired, now) && !f("status=expired").unwrap().keeps(&soon, now));
        assert!(f("label_prefix=Okta").unwrap().keeps(&later, now) && !f("label_prefix=Okta").unwrap().keeps(&revoked, now));
        assert_eq!(f("status=paused&expiring_within=0d").unwrap_err().errors.len(), 2);
        assert_eq!(key_item("key_1", &soon, now)["status"], "active");
        assert_eq!(key_item("key_1", &expired, now)["status"], "expired");
    }

    #[test]
    fn unreadable_summaries_become_error_entries_and_staleness() {
        assert_eq!(summary_or_error("key_1", None).unwrap_err()["problem"], "summary_missing");
        assert_eq!(summary_or_error("key_1", Some(&json!({"v": 9}))).unwrap_err()["problem"], "summary_unreadable");
        let day = Duration::from_secs(86_400);
        let now = UnixMillis(40 * 86_400_000);
        assert!(is_stale_key(&summary("a", Status::Active, None, None), now, day * 30));
        assert!(!is_stale_key(&summary("a", Status::Revoked, None, None), now, day * 30));
        assert!(!is_stale_key(&summary("a", Status::Active, None, Some(now.0 - 86_400_000)), now, day * 30));
        assert!(is_stale_key(&summary("a", Status::Active, Some(1), None), now, day * 30), "expired keys unused for long are stale too");
    }
}
