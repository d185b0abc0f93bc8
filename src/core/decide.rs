//! The ordered checks between "a well-formed key" and "forward it".
//!
//! Order, cheapest and least revealing first: record found → decodable →
//! not revoked → inside its validity window (both: [`status::of`], which
//! the management API shares) → client address allowed →
//! scopes cover the request (and, for `/Bulk`, every operation). Each step
//! either yields what the next one needs or the [`Outcome`] that ends the
//! request.
//!
//! The checks read a [`Principal`]: what a key's record says, or what an
//! OAuth access token's verified claims say about the key that obtained it
//! (`oauth::claims`), so that a token is authorized by the same code as
//! the key, without its record.

use super::bulk::BulkOperation;
use super::gcra::Quota;
use ipnet::IpNet;
use super::key::KeyId;
use super::oauth::CredentialKind;
use super::outcome::{KeyRejection, Outcome};
use super::record::{KeyRecord, Status};
use super::status::{self, KeyStatus};
use super::scim::ScimRequest;
use super::scope::{missing, Scope};
use super::time::UnixMillis;
use std::net::IpAddr;

/// What a request that passed every check carries into throttling,
/// forwarding and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The key's public id.
    pub key_id: String,
    /// The key's tenant, if any.
    pub tenant: Option<String>,
}

/// What the checks need to know about the key a request acts for.
pub trait Principal {
    /// The key's public id.
    fn key_id(&self) -> &KeyId;
    /// The key's tenant, if any.
    fn tenant(&self) -> Option<&str>;
    /// What the request may do.
    fn scopes(&self) -> &[Scope];
    /// Permanently refused.
    fn revoked(&self) -> bool;
    /// Refused before this instant.
    fn not_before(&self) -> Option<UnixMillis>;
    /// Refused from this instant on.
    fn expires_at(&self) -> Option<UnixMillis>;
    /// Client networks allowed; empty means anywhere.
    fn allow_ips(&self) -> &[IpNet];
    /// The key's own rate, if it sets one.
    fn rate_per_minute(&self) -> Option<u32>;
    /// The key's own burst, if it sets one.
    fn burst(&self) -> Option<u32>;
    /// What was presented, for the audit line.
    fn kind(&self) -> CredentialKind;
}

impl Principal for KeyRecord {
    fn key_id(&self) -> &KeyId {
        &self.key_id
    }
    fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }
    fn scopes(&self) -> &[Scope] {
        &self.scopes
    }
    fn revoked(&self) -> bool {
        self.status == Status::Revoked
    }
    fn not_before(&self) -> Option<UnixMillis> {
        self.not_before
    }
    fn expires_at(&self) -> Option<UnixMillis> {
        self.expires_at
    }
    fn allow_ips(&self) -> &[IpNet] {
        &self.allow_ips
    }
    fn rate_per_minute(&self) -> Option<u32> {
        self.rate_per_minute
    }
    fn burst(&self) -> Option<u32> {
        self.burst
    }
    fn kind(&self) -> CredentialKind {
        CredentialKind::Key
    }
}

/// A record shared by the isolate's cache answers as the record.
impl<P: Principal + ?Sized> Principal for std::rc::Rc<P> {
    fn key_id(&self) -> &KeyId {
        (**self).key_id()
    }
    fn tenant(&self) -> Option<&str> {
        (**self).tenant()
    }
    fn scopes(&self) -> &[Scope] {
        (**self).scopes()
    }
    fn revoked(&self) -> bool {
        (**self).revoked()
    }
    fn not_before(&self) -> Option<UnixMillis> {
        (**self).not_before()
    }
    fn expires_at(&self) -> Option<UnixMillis> {
        (**self).expires_at()
    }
    fn allow_ips(&self) -> &[IpNet] {
        (**self).allow_ips()
    }
    fn rate_per_minute(&self) -> Option<u32> {
        (**self).rate_per_minute()
    }
    fn burst(&self) -> Option<u32> {
        (**self).burst()
    }
    fn kind(&self) -> CredentialKind {
        (**self).kind()
    }
}

/// The key's quota: its own numbers, or the edge's defaults.
pub fn quota<P: Principal + ?Sized>(who: &P, default: Quota) -> Quota {
    Quota::new(who.rate_per_minute().unwrap_or(default.rate_per_minute.get()), who.burst().unwrap_or(default.burst.get()))
        .unwrap_or(default)
}

/// The facts about the request and deployment that checks depend on.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// The edge's clock, read once per request by the caller.
    pub now: UnixMillis,
    /// The caller's address (`CF-Connecting-IP`), if known.
    pub client_ip: Option<IpAddr>,
    /// The origin's resource types (lowercase), which root `/.search` reads.
    pub resource_types: &'a [String],
}

/// Turns what KV returned for the key's hashed name into a record.
/// A missing entry is an unknown key; an undecodable one denies.
pub fn verify(stored: Option<&[u8]>) -> Result<KeyRecord, Outcome> {
    let bytes = stored.ok_or(Outcome::InvalidKey(KeyRejection::Unknown))?;
    KeyRecord::decode(bytes).map_err(|_| Outcome::RecordMalformed)
}

/// Decides whether `record` may perform `request` in `ctx`.
///
/// ```
/// use provgate::core::{authorize, decide::Context, record::*, scim::classify, scope::Scope, KeyId, UnixMillis, Outcome, KeyRejection};
/// let rec = KeyRecord { key_id: KeyId::parse("key_1").unwrap(), label: "okta".into(), tenant: None,
///     scopes: vec![Scope::Read("users".into())], status: Status::Active, allow_ips: vec![], rate_per_minute: None, burst: None, exact_rate: false, rotated_from: None, auth: Default::default(),
///     created_at: UnixMillis(0), not_before: None, expires_at: Some(UnixMillis(1_000)) };
/// let get = classify("GET", "/Users").unwrap();
/// let at = |ms| Context { now: UnixMillis(ms), client_ip: None, resource_types: &[] };
/// assert!(authorize(&rec, &get, &at(999)).is_ok());
/// assert_eq!(authorize(&rec, &get, &at(1_000)).err(), Some(Outcome::InvalidKey(KeyRejection::Expired)));
/// ```
pub fn authorize<P: Principal + ?Sized>(who: &P, request: &ScimRequest, ctx: &Context<'_>) -> Result<Grant, Outcome> {
    admit(who, ctx)?;
    if let Some(scope) = missing(who.scopes(), request, ctx.resource_types) {
        return Err(Outcome::InsufficientScope { missing: scope.to_string(), bulk_id: None });
    }
    Ok(Grant { key_id: who.key_id().as_str().to_owned(), tenant: who.tenant().map(str::to_owned) })
}

/// The checks that do not depend on the request: not revoked, inside the
/// validity window, from an allowed address. [`authorize`] starts with
/// them; so does client authentication at the OAuth token endpoint.
pub fn admit<P: Principal + ?Sized>(who: &P, ctx: &Context<'_>) -> Result<(), Outcome> {
    valid_at(who, ctx.now).map_err(Outcome::InvalidKey)?;
    let allow_ips = who.allow_ips();
    if !allow_ips.is_empty() {
        // An allowlisted key from an unknown address is denied: fail closed.
        let ip = ctx.client_ip.map(unmap);
        if !ip.is_some_and(|ip| allow_ips.iter().any(|net| net.contains(&ip))) {
            return Err(Outcome::IpDenied);
        }
    }
    Ok(())
}

/// Not revoked and inside the validity window at `now`.
/// The status is the one function the management API shows too
/// ([`status::of`]).
pub fn valid_at<P: Principal + ?Sized>(who: &P, now: UnixMillis) -> Result<(), KeyRejection> {
    let stored = if who.revoked() { Status::Revoked } else { Status::Active };
    match status::of(stored, who.not_before(), who.expires_at(), now) {
        KeyStatus::Active => Ok(()),
        KeyStatus::Revoked => Err(KeyRejection::Revoked),
        KeyStatus::NotYetValid => Err(KeyRejection::NotYetValid),
        KeyStatus::Expired => Err(KeyRejection::Expired),
    }
}

/// Checks every operation of an authorised `/Bulk` request; the first one
/// the key may not perform denies the whole request.
pub fn authorize_bulk<P: Principal + ?Sized>(who: &P, ops: &[BulkOperation], ctx: &Context<'_>) -> Result<(), Outcome> {
    for op in ops {
        if let Some(scope) = missing(who.scopes(), &op.request, ctx.resource_types) {
            let bulk_id = Some(op.bulk_id.clone().unwrap_or_else(|| format!("operation {}", op.index)));
            return Err(Outcome::InsufficientScope { missing: scope.to_string(), bulk_id });
        }
    }
    Ok(())
}

/// `::ffff:203.0.113.9` is the IPv4 client 203.0.113.9.
fn unmap(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{bulk::operations, key::KeyId, record::{parse_network, Status}, scim::classify, scope::Scope};

    fn record() -> KeyRecord {
        KeyRecord {
            exact_rate: false,
            key_id: KeyId::parse("key_test").unwrap(),
            label: "t".into(),
            tenant: Some("acme".into()),
            scopes: vec![Scope::Read("users".into())],
            status: Status::Active,
            created_at: UnixMillis(0),
            not_before: Some(UnixMillis(100_000)),
            expires_at: Some(UnixMillis(200_000)),
            allow_ips: vec![],
            rate_per_minute: None,
            burst: None,
            rotated_from: None,
            auth: Default::default(),
        }
    }

    fn at(ms: u64) -> Context<'static> {
        Context { now: UnixMillis(ms), client_ip: None, resource_types: &[] }
    }

    fn scope_denied(missing: &str) -> Outcome {
        Outcome::InsufficientScope { missing: missing.into(), bulk_id: None }
    }

    /// Records keep whole seconds, so the fixtures use them.
    /// One row per outcome; the order of checks decides which reason wins
    /// when several apply (a revoked, expired, out-of-scope key is "revoked").
    #[test]
    fn decision_table() {
        let get = classify("GET", "/Users").unwrap();
        let post = classify("POST", "/Users").unwrap();
        let active = record();
        let revoked = KeyRecord { status: Status::Revoked, ..record() };
        let grant = Ok(Grant { key_id: "key_test".into(), tenant: Some("acme".into()) });
        let rows: Vec<(&KeyRecord, &ScimRequest, u64, Result<Grant, Outcome>)> = vec![
            (&active, &get, 150_000, grant.clone()),
            (&active, &get, 99_999, Err(Outcome::InvalidKey(KeyRejection::NotYetValid))),
            (&active, &get, 100_000, grant),
            (&active, &get, 200_000, Err(Outcome::InvalidKey(KeyRejection::Expired))),
            (&active, &post, 150_000, Err(scope_denied("users:write"))),
            (&active, &post, 250_000, Err(Outcome::InvalidKey(KeyRejection::Expired))),
            (&revoked, &post, 250_000, Err(Outcome::InvalidKey(KeyRejection::Revoked))),
        ];
        for (i, (rec, req, now, want)) in rows.into_iter().enumerate() {
            assert_eq!(authorize(rec, req, &at(now)), want, "row {i}");
        }
    }

    #[test]
    fn ip_allowlist_is_checked_before_scopes_and_fails_closed() {
        let rec = KeyRecord {
            exact_rate: false,
            allow_ips: vec![parse_network("203.0.113.0/24").unwrap(), parse_network("2001:db8::/32").unwrap()],
            ..record()
        };
        let post = classify("POST", "/Users").unwrap();
        let from = |ip: Option<&str>| Context { client_ip: ip.map(|i| i.parse().unwrap()), ..at(150_000) };
        assert_eq!(authorize(&rec, &post, &from(Some("203.0.113.7"))), Err(scope_denied("users:write")));
        assert_eq!(authorize(&rec, &post, &from(Some("::ffff:203.0.113.7"))), Err(scope_denied("users:write")));
        assert_eq!(authorize(&rec, &post, &from(Some("2001:db8:1::5"))), Err(scope_denied("users:write")));
        assert_eq!(authorize(&rec, &post, &from(Some("198.51.100.1"))), Err(Outcome::IpDenied));
        assert_eq!(authorize(&rec, &post, &from(Some("2001:db9::1"))), Err(Outcome::IpDenied));
        assert_eq!(authorize(&rec, &post, &from(None)), Err(Outcome::IpDenied));
    }

    #[test]
    fn bulk_is_denied_by_its_first_forbidden_operation() {
        let rec = KeyRecord { scopes: vec![Scope::Bulk, Scope::Write("users".into())], ..record() };
        let ops = operations(br#"{"Operations":[{"method":"POST","path":"/Users","bulkId":"u"},{"method":"POST","path":"/Groups","bulkId":"g"}]}"#).unwrap();
        assert_eq!(
            authorize_bulk(&rec, &ops, &at(150_000)),
            Err(Outcome::InsufficientScope { missing: "groups:write".into(), bulk_id: Some("g".into()) })
        );
        assert_eq!(authorize_bulk(&rec, &ops[..1], &at(150_000)), Ok(()));
        let anonymous = operations(br#"{"Operations":[{"method":"DELETE","path":"/Groups/1"}]}"#).unwrap();
        assert_eq!(
            authorize_bulk(&rec, &anonymous, &at(150_000)),
            Err(Outcome::InsufficientScope { missing: "groups:write".into(), bulk_id: Some("operation 0".into()) })
        );
    }

    #[test]
    fn verify_fails_closed() {
        assert_eq!(verify(None).err(), Some(Outcome::InvalidKey(KeyRejection::Unknown)));
        assert_eq!(verify(Some(b"{}")).err(), Some(Outcome::RecordMalformed));
        assert_eq!(verify(Some(record().encode().as_bytes())), Ok(record()));
    }
}
