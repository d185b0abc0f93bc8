//! The audit record: one JSON line per request.
//!
//! It names the key only by its public id. It never holds the key, a query
//! string (SCIM filters carry names and e-mail addresses) or a body (Okta
//! sends passwords): the type has no field that could.

use super::outcome::{Decision, Outcome};
use super::time::UnixMillis;
use super::usage::Source;
use serde::Serialize;

/// One request's audit line.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditRecord {
    /// When the request arrived (RFC 3339).
    pub ts: String,
    /// This request's id (also in the response and sent to the origin).
    pub request_id: String,
    /// The verified key's id, once known.
    pub key_id: Option<String>,
    /// The key's tenant, once known.
    pub tenant: Option<String>,
    /// `allow` or `deny`.
    pub decision: &'static str,
    /// The outcome's reason code.
    pub reason: &'static str,
    /// HTTP method.
    pub method: String,
    /// SCIM resource (`users`, `groups`, …), once classified.
    pub resource: Option<String>,
    /// Status sent to the IdP.
    pub status: u16,
    /// Status the origin answered, if it was called.
    pub origin_status: Option<u16>,
    /// Time spent at the edge and origin, in milliseconds.
    pub latency_ms: u64,
    /// The caller's address (`CF-Connecting-IP`), for incident response.
    pub client_ip: Option<String>,
    /// For management API calls: what was done (`key.mint`, `token.revoke`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    /// For management API calls: who did it (`root` or a token id), once verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// For management token routes: the token acted on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// What was presented: `key`, `access_token`, `refresh_token` or
    /// `authorization_code` (never the credential itself).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<&'static str>,
    /// An OAuth access token's id (`tid`): the one presented, or the one issued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    /// An OAuth refresh family's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// What the shell learned while handling a request, before the outcome.
#[derive(Debug, Default, Clone)]
pub struct RequestFacts {
    /// HTTP method.
    pub method: String,
    /// Classified resource, if classification succeeded.
    pub resource: Option<String>,
    /// Key id, if the key was verified.
    pub key_id: Option<String>,
    /// Tenant, if the key was verified.
    pub tenant: Option<String>,
    /// Caller's address.
    pub client_ip: Option<String>,
    /// The management API action, once routed.
    pub action: Option<&'static str>,
    /// The management API caller, once verified.
    pub actor: Option<String>,
    /// The management token acted on.
    pub token_id: Option<String>,
    /// The kind of credential presented, once read.
    pub credential: Option<crate::core::oauth::CredentialKind>,
    /// The OAuth access token presented or issued (its id).
    pub tid: Option<String>,
    /// The OAuth refresh family involved (its id).
    pub family: Option<String>,
}

impl AuditRecord {
    /// Builds the line from the facts, the outcome and the two timestamps.
    pub fn new(request_id: &str, facts: RequestFacts, outcome: &Outcome, started: UnixMillis, finished: UnixMillis) -> Self {
        Self {
            ts: started.to_rfc3339(),
            request_id: request_id.to_owned(),
            key_id: facts.key_id,
            tenant: facts.tenant,
            decision: match outcome.decision() {
                Decision::Allow => "allow",
                Decision::Deny => "deny",
            },
            reason: outcome.reason(),
            method: facts.method,
            resource: facts.resource,
            status: outcome.status(),
            origin_status: match outcome {
                Outcome::Forwarded { origin_status, .. } | Outcome::OriginRejectedEdge { origin_status } => Some(*origin_status),
                _ => None,
            },
            latency_ms: finished.0.saturating_sub(started.0),
            client_ip: facts.client_ip,
            action: facts.action,
            actor: facts.actor,
            token_id: facts.token_id,
            credential: facts.credential.map(|c| c.as_str()),
            tid: facts.tid,
            family: facts.family,
        }
    }

    /// The JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an audit record always serialises")
    }
}

/// The warning line for a key used from an address or country its history
/// does not hold: the cheapest signal that a key may be in other hands.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NewSourceLine<'a> {
    /// When the request arrived (RFC 3339).
    pub ts: String,
    /// Always `warn`.
    pub level: &'static str,
    /// Always `new_source`.
    pub reason: &'static str,
    /// The request that came from the new source.
    pub request_id: &'a str,
    /// The key's id.
    pub key_id: Option<&'a str>,
    /// The key's tenant.
    pub tenant: Option<&'a str>,
    /// The address, country and network it came from.
    pub source: &'a Source,
}

impl<'a> NewSourceLine<'a> {
    /// The line for one request.
    pub fn new(request_id: &'a str, facts: &'a RequestFacts, source: &'a Source, at: UnixMillis) -> Self {
        Self {
            ts: at.to_rfc3339(),
            level: "warn",
            reason: "new_source",
            request_id,
            key_id: facts.key_id.as_deref(),
            tenant: facts.tenant.as_deref(),
            source,
        }
    }

    /// The JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a new-source line always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::outcome::KeyRejection;

    #[test]
    fn allow_and_deny_lines() {
        let facts = RequestFacts { method: "POST".into(), resource: Some("users".into()), key_id: Some("key_a".into()), ..RequestFacts::default() };
        let line = AuditRecord::new("r1", facts, &Outcome::Forwarded { origin_status: 201, unmetered: false }, UnixMillis(1_000), UnixMillis(1_042));
        let v: serde_json::Value = serde_json::from_str(&line.to_json()).unwrap();
        assert_eq!(v["decision"], "allow");
        assert_eq!(v["reason"], "forwarded");
        assert_eq!(v["status"], 201);
        assert_eq!(v["origin_status"], 201);
        assert_eq!(v["latency_ms"], 42);
        assert_eq!(v["key_id"], "key_a");
        assert!(v.get("action").is_none() && v.get("actor").is_none(), "SCIM lines carry no API fields");

        let deny = AuditRecord::new("r2", RequestFacts::default(), &Outcome::InvalidKey(KeyRejection::Revoked), UnixMillis(5), UnixMillis(4));
        assert_eq!((deny.decision, deny.reason, deny.status, deny.origin_status, deny.latency_ms), ("deny", "key_revoked", 401, None, 0));
    }

    #[test]
    fn oauth_lines_name_the_credential_kind_and_ids_only() {
        use crate::core::oauth::CredentialKind;
        let facts = RequestFacts { credential: Some(CredentialKind::AccessToken), tid: Some("0a".repeat(12)), family: Some("f1".repeat(8)), ..RequestFacts::default() };
        let v: serde_json::Value = serde_json::from_str(&AuditRecord::new("r3", facts, &Outcome::TokenIssued, UnixMillis(0), UnixMillis(1)).to_json()).unwrap();
        assert_eq!((v["credential"].as_str(), v["tid"].as_str(), v["family"].as_str()), (Some("access_token"), Some("0a".repeat(12).as_str()), Some("f1".repeat(8).as_str())));
        assert_eq!((v["decision"].as_str(), v["reason"].as_str()), (Some("allow"), Some("token_issued")));
        let plain: serde_json::Value = serde_json::from_str(&AuditRecord::new("r4", RequestFacts::default(), &Outcome::NotFound, UnixMillis(0), UnixMillis(1)).to_json()).unwrap();
        assert!(plain.get("credential").is_none() && plain.get("tid").is_none() && plain.get("family").is_none());
    }

    #[test]
    fn api_lines_name_the_action_and_actor() {
        let facts = RequestFacts { method: "POST".into(), resource: Some("api".into()), key_id: Some("key_a".into()), tenant: Some("acme".into()), action: Some("key.revoke"), actor: Some("tok_x".into()), ..RequestFacts::default() };
        let v: serde_json::Value = serde_json::from_str(&AuditRecord::new("r4", facts, &Outcome::ApiDone { status: 200 }, UnixMillis(0), UnixMillis(3)).to_json()).unwrap();
        assert_eq!((v["action"].as_str(), v["actor"].as_str(), v["reason"].as_str(), v["decision"].as_str()), (Some("key.revoke"), Some("tok_x"), Some("api_ok"), Some("allow")));
        assert!(v.get("token_id").is_none());
    }

    #[test]
    fn new_source_line() {
        let facts = RequestFacts { key_id: Some("key_a".into()), tenant: Some("acme".into()), ..RequestFacts::default() };
        let source = Source::new("192.0.2.9", Some("NZ"), Some(64_500)).unwrap();
        let v: serde_json::Value = serde_json::from_str(&NewSourceLine::new("r3", &facts, &source, UnixMillis(0)).to_json()).unwrap();
        assert_eq!(v["reason"], "new_source");
        assert_eq!(v["level"], "warn");
        assert_eq!(v["key_id"], "key_a");
        assert!(v.get("action").is_none() && v.get("actor").is_none(), "SCIM lines carry no API fields");
        assert_eq!(v["source"], serde_json::json!({ "ip": "192.0.2.9", "country": "NZ", "asn": 64_500 }));
    }
}
