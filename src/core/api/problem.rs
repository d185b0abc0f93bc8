//! The API's errors: RFC 9457 problem details with one stable type per
//! case. The table below is the only place a case's slug, status and title
//! are written; docs/api.md and docs/openapi.yaml list the same (tested).

use serde_json::{json, Value};

macro_rules! kinds {
    ($($kind:ident $slug:literal $status:literal $title:literal;)*) => {
        /// Every way an API call can fail.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Kind {
            $(#[doc = $title] $kind,)*
        }

        impl Kind {
            /// Every kind, for documentation checks.
            pub const ALL: &'static [Kind] = &[$(Kind::$kind),*];

            /// The kind whose slug is `slug`.
            pub fn from_slug(slug: &str) -> Option<Kind> {
                Kind::ALL.iter().copied().find(|k| k.slug() == slug)
            }

            /// The slug in `urn:provgate:problem:<slug>`.
            pub fn slug(self) -> &'static str {
                match self { $(Kind::$kind => $slug,)* }
            }

            /// The audit line's reason: `api_<slug>`.
            pub fn reason(self) -> &'static str {
                match self { $(Kind::$kind => concat!("api_", $slug),)* }
            }

            /// The HTTP status.
            pub fn status(self) -> u16 {
                match self { $(Kind::$kind => $status,)* }
            }

            /// The problem's `title`.
            pub fn title(self) -> &'static str {
                match self { $(Kind::$kind => $title,)* }
            }
        }
    };
}

kinds! {
    Unauthorized "unauthorized" 401 "A valid management token or the root token is required";
    Forbidden "forbidden" 403 "This token may not do this";
    NotFound "not_found" 404 "Not found";
    MethodNotAllowed "method_not_allowed" 405 "Method not allowed";
    InvalidJson "invalid_json" 400 "The body is not a JSON object";
    UnknownField "unknown_field" 400 "The body has a field this route does not take";
    InvalidField "invalid_field" 400 "A field has an invalid value";
    TenantImmutable "tenant_immutable" 400 "A key's tenant cannot change";
    UnsupportedMediaType "unsupported_media_type" 415 "The body must be application/json";
    BodyTooLarge "body_too_large" 413 "The body is too large";
    PreconditionFailed "precondition_failed" 412 "The record changed since that ETag";
    KeyActive "key_active" 409 "The key is active";
    KeyNotActive "key_not_active" 409 "The key is revoked or expired";
    KeyIncomplete "key_incomplete" 409 "The key has no record";
    RecordMalformed "record_malformed" 409 "The stored record cannot be decoded";
    IdempotencyKeyReused "idempotency_key_reused" 422 "This Idempotency-Key was used for another request";
    IdempotencyInProgress "idempotency_in_progress" 409 "A request with this Idempotency-Key is in progress";
    AuthThrottled "auth_throttled" 429 "Too many failed attempts";
    StoreUnavailable "store_unavailable" 503 "The key store is unavailable";
    SummaryNotWritten "summary_not_written" 503 "Saved, but the listing summary was not written";
}

/// One bad field, query parameter or header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Its name: `label`, `scopes[1]`, `metadata.team`, `limit`, `If-Match`.
    pub field: String,
    /// What is wrong with it.
    pub detail: String,
}

/// A failed call: its kind, what to tell the caller, and the headers the
/// kind needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The case.
    pub kind: Kind,
    /// The `detail`; empty means the title.
    pub detail: String,
    /// The bad fields, for the field kinds.
    pub errors: Vec<FieldError>,
    /// `Retry-After` seconds.
    pub retry_after: Option<u64>,
    /// `Allow`, for 405.
    pub allow: Option<&'static str>,
}

impl From<Kind> for Problem {
    fn from(kind: Kind) -> Self {
        Problem { kind, detail: String::new(), errors: Vec::new(), retry_after: None, allow: None }
    }
}

impl Problem {
    /// A problem with a detail.
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Problem { detail: detail.into(), ..kind.into() }
    }

    /// A problem naming one field.
    pub fn field(kind: Kind, field: impl Into<String>, detail: impl Into<String>) -> Self {
        Problem { errors: vec![FieldError { field: field.into(), detail: detail.into() }], ..kind.into() }
    }

    /// The problem+json body.
    pub fn body(&self, request_id: &str) -> String {
        let detail = if self.detail.is_empty() { self.kind.title() } else { &self.detail };
        let mut body = json!({
            "type": format!("urn:provgate:problem:{}", self.kind.slug()),
            "title": self.kind.title(),
            "status": self.kind.status(),
            "detail": detail,
            "request_id": request_id,
        });
        if !self.errors.is_empty() {
            body["errors"] = self.errors.iter().map(|e| json!({ "field": e.field, "detail": e.detail })).collect::<Vec<Value>>().into();
        }
        body.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_documented_in_both_contracts() {
        let api = include_str!("../../../docs/api.md");
        let openapi = include_str!("../../../docs/openapi.yaml");
        let mut slugs = std::collections::HashSet::new();
        for kind in Kind::ALL {
            assert!(slugs.insert(kind.slug()), "duplicate {}", kind.slug());
            assert!((400..600).contains(&kind.status()));
            assert!(api.contains(&format!("| `{}` | {} |", kind.slug(), kind.status())), "docs/api.md lacks {}", kind.slug());
            assert!(openapi.contains(&format!("urn:provgate:problem:{}\n", kind.slug())), "openapi.yaml lacks {}", kind.slug());
        }
        assert_eq!(openapi.matches("- urn:provgate:problem:").count(), Kind::ALL.len(), "openapi.yaml lists a kind the code lacks");
    }

    #[test]
    fn body_is_rfc_9457_with_fields() {
        let p = Problem::field(Kind::InvalidField, "scopes[0]", "bad");
        let v: Value = serde_json::from_str(&p.body("r1")).unwrap();
        assert_eq!(v["type"], "urn:provgate:problem:invalid_field");
        assert_eq!((v["status"].as_u64(), v["request_id"].as_str()), (Some(400), Some("r1")));
        assert_eq!(v["errors"][0]["field"], "scopes[0]");
        assert_eq!(v["detail"], Kind::InvalidField.title());
        let plain: Value = serde_json::from_str(&Problem::from(Kind::NotFound).body("r2")).unwrap();
        assert!(plain.get("errors").is_none());
        assert_eq!(Kind::NotFound.reason(), "api_not_found");
        assert_eq!(Kind::from_slug("key_active"), Some(Kind::KeyActive));
        assert_eq!(Kind::from_slug("nope"), None);
    }
}
