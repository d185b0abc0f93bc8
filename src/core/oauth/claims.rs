//! What an access token says about the key that obtained it: everything
//! the request path checks, so that a token is authorized without the
//! key's record (no KV read, no decode).
//!
//! Layout (version 1), after the envelope's version and secret id:
//!
//! | bytes | field |
//! |---|---|
//! | 1 | grant: 1 client credentials, 2 authorization code, 3 refresh |
//! | 12 | token id (`tid`) |
//! | 8 | expires at, seconds since the epoch |
//! | 4 | lifetime in seconds (issued at = expires at − lifetime) |
//! | 4 + 4 | the key's `rate_per_minute` and `burst` (0: the edge's default) |
//! | 1 | flags: bit 0 = a refresh family follows |
//! | 8 | the family id, if flagged |
//! | 1 + n | key id without `key_` |
//! | 1 + n | tenant (empty: none) |
//! | 1 + … | scopes (the common ones one byte each) |
//! | 1 + … | the key's `allow_ips` (family, address, prefix length) |

use super::ids::{FamilyId, TokenId};
use super::layout::{Reader, Writer};
use super::lifetime::{window, AccessLifetime, MAX_ACCESS_SECONDS};
use super::CredentialKind;
use crate::core::decide::Principal;
use crate::core::key::KeyId;
use crate::core::record::KeyRecord;
use crate::core::scope::Scope;
use crate::core::time::UnixMillis;
use ipnet::IpNet;

/// How a token was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// `grant_type=client_credentials`.
    ClientCredentials,
    /// `grant_type=authorization_code`.
    AuthorizationCode,
    /// `grant_type=refresh_token`.
    RefreshToken,
}

impl GrantKind {
    const ALL: [GrantKind; 3] = [GrantKind::ClientCredentials, GrantKind::AuthorizationCode, GrantKind::RefreshToken];

    fn code(self) -> u8 {
        self as u8 + 1
    }

    /// The `grant_type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantKind::ClientCredentials => "client_credentials",
            GrantKind::AuthorizationCode => "authorization_code",
            GrantKind::RefreshToken => "refresh_token",
        }
    }
}

/// A token's claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    /// The key that obtained the token.
    pub key_id: KeyId,
    /// The key's tenant.
    pub tenant: Option<String>,
    /// What the token may do: the key's scopes, possibly narrowed.
    pub scopes: Vec<Scope>,
    /// The key's `allow_ips`.
    pub allow_ips: Vec<IpNet>,
    /// The key's `rate_per_minute` (the rate is the key's, shared with it).
    pub rate_per_minute: Option<u32>,
    /// The key's `burst`.
    pub burst: Option<u32>,
    /// Issued at, seconds since the epoch.
    pub issued_at: u64,
    /// Refused from this second on.
    pub expires_at: u64,
    /// The token's id, for the audit line.
    pub token_id: TokenId,
    /// How it was obtained.
    pub grant: GrantKind,
    /// The refresh family it was issued with (authorization code and
    /// refresh grants), so that revoking the family refuses it too.
    pub family: Option<FamilyId>,
}

impl AccessClaims {
    /// Claims for a token issued at `now` to `record`'s key with `scopes`
    /// (already narrowed); `None` if the key expires within the second.
    pub fn for_key(
        record: &KeyRecord,
        scopes: Vec<Scope>,
        grant: GrantKind,
        family: Option<FamilyId>,
        token_id: TokenId,
        now: UnixMillis,
        lifetime: AccessLifetime,
    ) -> Option<Self> {
        let (issued_at, expires_at) = window(now, lifetime.seconds(), record.expires_at)?;
        Some(Self {
            key_id: record.key_id.clone(),
            tenant: record.tenant.clone(),
            scopes,
            allow_ips: record.allow_ips.clone(),
            rate_per_minute: record.rate_per_minute,
            burst: record.burst,
            issued_at,
            expires_at,
            token_id,
            grant,
            family,
        })
    }

    /// Seconds the token lives from its issue (`expires_in`).
    pub fn lifetime(&self) -> u64 {
        self.expires_at.saturating_sub(self.issued_at)
    }

    /// The layout; `None` if a value does not fit it (an inverted or over
    /// long lifetime, over 255 scopes or networks).
    pub(super) fn encode(&self) -> Option<Vec<u8>> {
        let lifetime = u32::try_from(self.expires_at.checked_sub(self.issued_at)?).ok()?;
        if !(1..=MAX_ACCESS_SECONDS).contains(&lifetime) {
            return None;
        }
        let mut w = Writer::default();
        w.u8(self.grant.code());
        w.bytes(&self.token_id.0);
        w.u64(self.expires_at);
        w.u32(lifetime);
        w.u32(self.rate_per_minute.unwrap_or(0));
        w.u32(self.burst.unwrap_or(0));
        w.u8(u8::from(self.family.is_some()));
        if let Some(family) = self.family {
            w.bytes(&family.0);
        }
        w.key_id(&self.key_id)?;
        w.tenant(self.tenant.as_deref())?;
        w.scopes(&self.scopes)?;
        w.networks(&self.allow_ips)?;
        Some(w.finish())
    }

    /// Claims from their layout; `None` on any defect.
    pub(super) fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        let grant_code = r.u8()?;
        let grant = *GrantKind::ALL.iter().find(|g| g.code() == grant_code)?;
        let token_id = TokenId(r.array()?);
        let expires_at = r.u64()?;
        let lifetime = r.u32()?;
        if !(1..=MAX_ACCESS_SECONDS).contains(&lifetime) {
            return None;
        }
        let issued_at = expires_at.checked_sub(u64::from(lifetime))?;
        let nonzero = |n: u32| (n != 0).then_some(n);
        let rate_per_minute = nonzero(r.u32()?);
        let burst = nonzero(r.u32()?);
        let family = match r.u8()? {
            0 => None,
            1 => Some(FamilyId(r.array()?)),
            _ => return None,
        };
        let claims = Self {
            key_id: r.key_id()?,
            tenant: r.tenant()?,
            scopes: r.scopes()?,
            allow_ips: r.networks()?,
            rate_per_minute,
            burst,
            issued_at,
            expires_at,
            token_id,
            grant,
            family,
        };
        r.end()?;
        Some(claims)
    }
}

impl Principal for AccessClaims {
    fn key_id(&self) -> &KeyId {
        &self.key_id
    }
    fn tenant(&self) -> Option<&str> {
        self.tenant.as_deref()
    }
    fn scopes(&self) -> &[Scope] {
        &self.scopes
    }
    /// A token is revoked by its key's guard, which the edge asks on every
    /// request; the token itself cannot know.
    fn revoked(&self) -> bool {
        false
    }
    fn not_before(&self) -> Option<UnixMillis> {
        None
    }
    fn expires_at(&self) -> Option<UnixMillis> {
        Some(UnixMillis(self.expires_at.saturating_mul(1000)))
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
        CredentialKind::AccessToken
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::record::{parse_network, Status};
    use crate::core::scope::parse_list;

    pub(crate) fn record() -> KeyRecord {
        KeyRecord {
            exact_rate: false,
            key_id: KeyId::parse("key_3mXq8Jt0aZ").unwrap(),
            label: "Entra".into(),
            tenant: Some("acme".into()),
            scopes: parse_list("users:read,users:write,groups:read,groups:write").unwrap(),
            status: Status::Active,
            created_at: UnixMillis(1_795_939_200_000),
            not_before: None,
            expires_at: Some(UnixMillis(1_827_475_200_000)),
            allow_ips: vec![parse_network("203.0.113.0/24").unwrap()],
            rate_per_minute: Some(600),
            burst: None,
            rotated_from: None,
            auth: Default::default(),
        }
    }

    pub(crate) fn claims() -> AccessClaims {
        let r = record();
        AccessClaims::for_key(&r, r.scopes.clone(), GrantKind::ClientCredentials, None, TokenId([9; 12]), UnixMillis(1_800_000_000_500), AccessLifetime::default())
            .unwrap()
    }

    #[test]
    fn claims_come_from_the_record_and_round_trip() {
        let c = claims();
        assert_eq!((c.issued_at, c.expires_at, c.lifetime()), (1_800_000_000, 1_800_003_600, 3_600));
        assert_eq!((c.rate_per_minute, c.burst, c.tenant.as_deref()), (Some(600), None, Some("acme")));
        let bytes = c.encode().unwrap();
        assert_eq!(AccessClaims::decode(&bytes), Some(c.clone()));
        let with_family = AccessClaims { family: Some(FamilyId([3; 8])), grant: GrantKind::RefreshToken, tenant: None, ..c };
        assert_eq!(AccessClaims::decode(&with_family.encode().unwrap()), Some(with_family));
    }

    #[test]
    fn the_typical_token_body_is_small() {
        // The body of the benchmark's token: it decides how many SHA-256
        // blocks a verification hashes (BENCHMARKS.md).
        assert_eq!(claims().encode().unwrap().len(), 62);
    }

    #[test]
    fn a_token_never_outlives_its_key() {
        let r = KeyRecord { expires_at: Some(UnixMillis(1_800_000_600_000)), ..record() };
        let c = AccessClaims::for_key(&r, vec![], GrantKind::ClientCredentials, None, TokenId([0; 12]), UnixMillis(1_800_000_000_000), AccessLifetime::default()).unwrap();
        assert_eq!(c.expires_at, 1_800_000_600);
        let dying = KeyRecord { expires_at: Some(UnixMillis(1_800_000_000_999)), ..record() };
        assert!(AccessClaims::for_key(&dying, vec![], GrantKind::ClientCredentials, None, TokenId([0; 12]), UnixMillis(1_800_000_000_000), AccessLifetime::default()).is_none());
    }

    #[test]
    fn defects_do_not_decode() {
        let good = claims().encode().unwrap();
        let with = |at: usize, bytes: &[u8]| {
            let mut b = good.clone();
            b[at..at + bytes.len()].copy_from_slice(bytes);
            AccessClaims::decode(&b)
        };
        assert!(with(0, &[3]).is_some(), "the offsets below are right");
        assert_eq!(with(0, &[0]), None, "grant 0");
        assert_eq!(with(0, &[4]), None, "grant 4");
        assert_eq!(with(21, &0u32.to_be_bytes()), None, "lifetime 0");
        assert_eq!(with(21, &(MAX_ACCESS_SECONDS + 1).to_be_bytes()), None, "lifetime over 24 h");
        assert_eq!(with(13, &100u64.to_be_bytes()), None, "issued before the epoch");
        assert_eq!(with(33, &[2]), None, "unknown flag");
        let mut long = good.clone();
        long.push(0);
        assert_eq!(AccessClaims::decode(&long), None, "trailing byte");
        assert_eq!(AccessClaims::decode(&good[..good.len() - 1]), None, "truncated");
        let inverted = AccessClaims { issued_at: 10, expires_at: 9, ..claims() };
        assert_eq!(inverted.encode(), None);
        let too_long = AccessClaims { issued_at: 0, expires_at: u64::from(MAX_ACCESS_SECONDS) + 1, ..claims() };
        assert_eq!(too_long.encode(), None);
    }
}
