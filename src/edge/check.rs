//! `POST /_provgate/check`: the connection doctor's introspection.
//!
//! Given a key in `Authorization` (either form), it answers about that key
//! only: its id, tenant, scopes, status, validity, limits and which common
//! IdP operations it permits (never the operator's label); for a key that
//! fails verification, only the category of the failure. A check is a use
//! of the key like any request: the record comes through the same cached
//! lookup, the key's guard meters it (429 over the key's rate) and counts it
//! as `introspected`, and a new source raises `new_source`. Failures count
//! toward the failed-attempt throttle like any other bad key. `DOCTOR=off`
//! removes the route (404).

use super::{config::Config, guard, log, pipeline, store, throttle};
use crate::core::audit::{NewSourceLine, RequestFacts};
use crate::core::credential::{from_authorization, CredentialError};
use crate::core::decide::{authorize, quota, Context};
use crate::core::doctor::capabilities;
use crate::core::forward::RequestTarget;
use crate::core::guard::{retry_after_seconds, Answer, Ask, Reply};
use crate::core::key::KeyFormatError;
use crate::core::outcome::KeyRejection;
use crate::core::record::KeyRecord;
use crate::core::scim::classify;
use crate::core::usage::Class;
use crate::core::Outcome;
use serde_json::json;
use worker::{Env, Request, Response};

/// The route's path; outside any SCIM base path.
pub const CHECK_PATH: &str = "/_provgate/check";

pub async fn run(req: &Request, env: &Env, config: &Config, target: &RequestTarget<'_>, ctx: &Context<'_>, facts: &mut RequestFacts, request_id: &str) -> Result<(Outcome, Response), Outcome> {
    if !config.doctor {
        return Err(Outcome::NotFound);
    }
    if facts.method != "POST" {
        return Err(Outcome::MethodNotAllowed);
    }
    facts.resource = Some("check".into());
    let base_url = format!("{}://{}{}", target.scheme, target.authority, config.base_path);
    let (outcome, body) = match examine(req, env, config, ctx, facts, request_id).await {
        Ok((record, usage)) => {
            let q = quota(&record, config.default_quota);
            (
                Outcome::Introspected { valid: true },
                json!({
                    "valid": true,
                    "key_id": record.key_id.as_str(),
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
    /// The edge itself could not answer (KV, the key's guard, configuration),
    /// or the key is over its rate.
    Edge(Outcome),
}

fn category(denial: Outcome) -> Failure {
    let reason = match denial {
        Outcome::InvalidKey(KeyRejection::Unknown) => "unknown",
        Outcome::InvalidKey(KeyRejection::Revoked) => "revoked",
        Outcome::InvalidKey(KeyRejection::Expired) => "expired",
        Outcome::InvalidKey(KeyRejection::NotYetValid) => "not_yet_valid",
        Outcome::IpDenied => "ip_not_allowed",
        other => return Failure::Edge(other),
    };
    Failure::Denied(reason, denial)
}

async fn examine(req: &Request, env: &Env, config: &Config, ctx: &Context<'_>, facts: &mut RequestFacts, request_id: &str) -> Result<(std::rc::Rc<KeyRecord>, serde_json::Value), Failure> {
    let header = req.headers().get("authorization").ok().flatten();
    let key = from_authorization(header.as_deref()).map_err(|e| match e {
        CredentialError::Missing => Failure::Denied("missing", Outcome::MissingCredentials),
        CredentialError::Format(KeyFormatError::Malformed) => Failure::Denied("malformed", Outcome::from(e)),
        CredentialError::Format(KeyFormatError::BadChecksum) => Failure::Denied("checksum", Outcome::from(e)),
    })?;
    let record = store::record(env, config, &key, ctx.now).await.map_err(category)?;
    facts.key_id = Some(record.key_id.as_str().to_owned());
    facts.tenant = record.tenant.clone();
    // Discovery needs no scope: this runs every check but the scope check.
    let probe = classify("GET", "/ServiceProviderConfig").expect("a SCIM request");
    let authorized = authorize(&record, &probe, ctx);

    // A key nobody has used has no guard yet, and asking would create it
    // near this caller (an IdP admin's browser, say) instead of near the IdP,
    // whose every request would then cross regions: unless GUARD_LOCATION_HINT
    // places guards anyway, such a check is metered per key by a rate-limiting
    // binding instead, and is not counted.
    if config.guard_location_hint.is_none() && store::used(env, record.key_id.as_str(), config.binding_timeout_ms).await == Some(false) {
        authorized.map_err(category)?;
        throttle::meter_unguarded_check(env, record.key_id.as_str()).await.map_err(Failure::Edge)?;
        return Ok((record, serde_json::json!({ "never_used": true })));
    }
    // The key's guard meters and counts the check like a request, and knows
    // a revocation through the management API before KV does.
    let mut ask = Ask::from(quota(&record, config.default_quota));
    ask.introspection = true;
    ask.denied = authorized.as_ref().err().map(Class::of_denial);
    ask.source = facts.client_ip.as_deref().and_then(|ip| pipeline::source(req, ip));
    let reply = guard::check(env, record.key_id.as_str(), &mut ask, config.binding_timeout_ms).await;
    if let (Ok(Reply { new_source: true, .. }), Some(source)) = (&reply, &ask.source) {
        log::new_source(&NewSourceLine::new(request_id, facts, source, ctx.now));
    }
    authorized.map_err(category)?;
    match reply.map(|r| r.answer) {
        Ok(Answer::Admit { .. }) => {}
        Ok(Answer::Limit { retry_after_us, .. }) => return Err(Failure::Edge(Outcome::RateLimited { retry_after: retry_after_seconds(retry_after_us) })),
        Ok(Answer::Revoked) => return Err(category(Outcome::InvalidKey(KeyRejection::Revoked))),
        Ok(Answer::Counted | Answer::FamilyRevoked | Answer::TokenEnded | Answer::TokenSuspended) => return Err(Failure::Edge(Outcome::LimiterUnavailable)),
        Err(_) if config.limiter_fails_open => {}
        Err(_) => return Err(Failure::Edge(Outcome::LimiterUnavailable)),
    }
    // The key's recent use, as its holder may see it; an unreachable guard
    // only leaves that out.
    let usage = guard::usage(env, record.key_id.as_str(), config.binding_timeout_ms).await.ok().map(for_key_holder);
    Ok((record, usage.unwrap_or_default()))
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
