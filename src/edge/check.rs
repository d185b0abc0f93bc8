//! `POST /_provgate/check`: the connection doctor's introspection.
//!
//! Given a key in `Authorization` (either form), it answers about that key
//! only: its id, label, tenant, scopes, status, validity, limits and which
//! common IdP operations it permits; for a key that fails verification,
//! only the category of the failure. Failures count toward the
//! failed-attempt throttle like any other bad key.

use super::{config::Config, guard, store, throttle};
use crate::core::audit::RequestFacts;
use crate::core::credential::{from_authorization, CredentialError};
use crate::core::decide::{authorize, quota, verify, Context};
use crate::core::doctor::capabilities;
use crate::core::forward::RequestTarget;
use crate::core::key::KeyFormatError;
use crate::core::outcome::KeyRejection;
use crate::core::record::KeyRecord;
use crate::core::scim::classify;
use crate::core::Outcome;
use serde_json::json;
use worker::{Env, Request, Response};

/// The route's path; outside any SCIM base path.
pub const CHECK_PATH: &str = "/_provgate/check";

pub async fn run(req: &Request, env: &Env, config: &Config, target: &RequestTarget<'_>, ctx: &Context<'_>, facts: &mut RequestFacts) -> Result<(Outcome, Response), Outcome> {
    if facts.method != "POST" {
        return Err(Outcome::MethodNotAllowed);
    }
    facts.resource = Some("check".into());
    let base_url = format!("{}://{}{}", target.scheme, target.authority, config.base_path);
    let verdict = examine(req, env, config, ctx).await;
    let (outcome, body) = match verdict {
        Ok((record, usage)) => {
            facts.key_id = Some(record.key_id.as_str().to_owned());
            facts.tenant = record.tenant.clone();
            let q = quota(&record, config.default_quota);
            (
                Outcome::Introspected { valid: true },
                json!({
                    "valid": true,
                    "key_id": record.key_id.as_str(),
                    "label": record.label,
                    "tenant": record.tenant,
                    "scopes": record.scopes.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "status": "active",
                    "created_at": record.created_at.to_rfc3339(),
                    "not_before": record.not_before.map(|t| t.to_rfc3339()),
                    "expires_at": record.expires_at.map(|t| t.to_rfc3339()),
                    "rate_per_minute": q.rate_per_minute.get(),
                    "burst": q.burst.get(),
                    "allow_ips": record.allow_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "capabilities": capabilities(&record.scopes, &config.resource_types),
                    "scim_base_url": base_url,
                    "usage": usage,
                }),
            )
        }
        Err(Failure::Denied(reason, denial)) => {
            // Counted like any failed verification; over the limit, 429.
            let counted = throttle::charge_failure(env, facts.client_ip.as_deref(), denial, config.auth_failure_retry_after).await;
            if let Outcome::AuthThrottled { .. } = counted {
                return Err(counted);
            }
            (Outcome::Introspected { valid: false }, json!({ "valid": false, "reason": reason, "scim_base_url": base_url }))
        }
        Err(Failure::Edge(outcome)) => return Err(outcome),
    };
    let response = Response::from_json(&body).map_err(|_| Outcome::Misconfigured)?;
    Ok((outcome, response))
}

enum Failure {
    /// The key is not usable: the category the page shows, and the denial it counts as.
    Denied(&'static str, Outcome),
    /// The edge itself could not answer (KV, configuration).
    Edge(Outcome),
}

async fn examine(req: &Request, env: &Env, config: &Config, ctx: &Context<'_>) -> Result<(KeyRecord, serde_json::Value), Failure> {
    let header = req.headers().get("authorization").ok().flatten();
    let key = from_authorization(header.as_deref()).map_err(|e| match e {
        CredentialError::Missing => Failure::Denied("missing", Outcome::MissingCredentials),
        CredentialError::Format(KeyFormatError::Malformed) => Failure::Denied("malformed", Outcome::from(e)),
        CredentialError::Format(KeyFormatError::BadChecksum) => Failure::Denied("checksum", Outcome::from(e)),
    })?;
    let stored = store::read_record(env, config, &key).await.map_err(Failure::Edge)?;
    let record = verify(stored.as_deref()).map_err(|o| match o {
        Outcome::InvalidKey(_) => Failure::Denied("unknown", o),
        other => Failure::Edge(other),
    })?;
    // Discovery needs no scope: this runs every check but the scope check.
    let probe = classify("GET", "/ServiceProviderConfig").expect("a SCIM request");
    authorize(&record, &probe, ctx).map_err(|o| match o {
        Outcome::InvalidKey(KeyRejection::Revoked) => Failure::Denied("revoked", o),
        Outcome::InvalidKey(KeyRejection::Expired) => Failure::Denied("expired", o),
        Outcome::InvalidKey(KeyRejection::NotYetValid) => Failure::Denied("not_yet_valid", o),
        Outcome::IpDenied => Failure::Denied("ip_not_allowed", o),
        other => Failure::Edge(other),
    })?;
    // A revocation through the admin route is known to the key's guard
    // before KV. The guard also tells the key's recent use; an unreachable
    // guard only leaves that out.
    let status = guard::status(env, record.key_id.as_str(), config.binding_timeout_ms).await.ok();
    if status.as_ref().is_some_and(|s| s.revoked) {
        return Err(Failure::Denied("revoked", Outcome::InvalidKey(KeyRejection::Revoked)));
    }
    Ok((record, status.map(|s| for_key_holder(s.usage)).unwrap_or_default()))
}

/// The usage a key's holder is shown: when it was used and how its
/// requests ended, but not the addresses it was used from (those are for
/// operators, through the admin route).
fn for_key_holder(mut usage: serde_json::Value) -> serde_json::Value {
    if let Some(fields) = usage.as_object_mut() {
        for private in ["sources", "countries", "last_source"] {
            fields.remove(private);
        }
    }
    usage
}
