//! Access tokens: `pva_` + base64url(claims) + `.` + base64url(MAC).
//!
//! Self-contained: verifying one is a length check, two base64 decodes,
//! one HMAC-SHA256 and the claims' decode. No KV read, no record. Secret
//! scanners can match `pva_[A-Za-z0-9_-]{59,}\.[A-Za-z0-9_-]{43}`; no token
//! is longer than 2 KiB (2,048 bytes).
//!
//! ```
//! use provgate::core::oauth::access::{issue, verify};
//! use provgate::core::oauth::{claims::*, ids::TokenId, keys::*, lifetime::AccessLifetime, envelope::Rejection};
//! use provgate::core::{record::*, scope::parse_list, KeyId, UnixMillis};
//! let keys = TokenKeys::new(b"a token signing secret, 32 bytes", None).unwrap();
//! let record = KeyRecord { key_id: KeyId::parse("key_1").unwrap(), label: "Entra".into(), tenant: None,
//!     scopes: parse_list("users:read").unwrap(), status: Status::Active, allow_ips: vec![], rate_per_minute: None,
//!     burst: None, exact_rate: false, rotated_from: None, auth: Default::default(), created_at: UnixMillis(0), not_before: None, expires_at: None };
//! let now = UnixMillis(1_800_000_000_000);
//! let claims = AccessClaims::for_key(&record, record.scopes.clone(), GrantKind::ClientCredentials, None,
//!     TokenId([7; 12]), now, AccessLifetime::default()).unwrap();
//! let token = issue(&keys, &claims).unwrap();
//! assert_eq!(verify(&keys, token.expose(), now).unwrap().claims, claims);
//! assert_eq!(verify(&keys, token.expose(), UnixMillis(1_800_003_600_000)).err(), Some(Rejection::Expired));
//! ```

use super::claims::AccessClaims;
use super::envelope::{self, Rejection, TooLarge};
use super::keys::{Slot, TokenKeys};
use super::lifetime::expired;
use crate::core::time::UnixMillis;

/// Every access token starts with this.
pub const ACCESS_PREFIX: &str = "pva_";
/// The claims layout this code writes and reads.
pub const ACCESS_VERSION: u8 = 1;

/// An issued access token's text. Neither `Debug` nor `Display`.
pub struct AccessToken(String);

impl AccessToken {
    /// The token's text, for the token endpoint's answer only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A token that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// What it says.
    pub claims: AccessClaims,
    /// Which secret sealed it (`Previous` during a rotation).
    pub signed_by: Slot,
}

/// Seals `claims` under the current secret.
pub fn issue(keys: &TokenKeys, claims: &AccessClaims) -> Result<AccessToken, TooLarge> {
    let body = claims.encode().ok_or(TooLarge)?;
    envelope::seal(keys, ACCESS_PREFIX, ACCESS_VERSION, &body).map(AccessToken)
}

/// Whether `claims` can be issued (they fit in [`MAX_SEALED_LEN`](super::envelope::MAX_SEALED_LEN)).
pub fn fits(claims: &AccessClaims) -> bool {
    claims.encode().is_some_and(|body| envelope::fits(ACCESS_PREFIX, body.len()))
}

/// Verifies a presented token at `now`: bounded length, prefix, encoding,
/// version, MAC (current secret, then previous), claims, expiry.
pub fn verify(keys: &TokenKeys, presented: &str, now: UnixMillis) -> Result<Verified, Rejection> {
    let (claims, signed_by) = envelope::open(keys, ACCESS_PREFIX, ACCESS_VERSION, presented, AccessClaims::decode)?;
    if expired(claims.expires_at, now) {
        return Err(Rejection::Expired);
    }
    Ok(Verified { claims, signed_by })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::oauth::claims::tests::claims;
    use crate::core::oauth::claims::GrantKind;
    use crate::core::oauth::ids::{FamilyId, TokenId};
    use crate::core::scope::Scope;
    use proptest::prelude::*;

    const CURRENT: &[u8] = b"current token secret, 32 bytes.!";
    const PREVIOUS: &[u8] = b"previous token secret, 32 bytes!";
    const NOW: UnixMillis = UnixMillis(1_800_000_001_000);

    fn keys() -> TokenKeys {
        TokenKeys::new(CURRENT, None).unwrap()
    }

    fn matches_documented_pattern(text: &str) -> bool {
        let Some((payload, mac)) = text.strip_prefix(ACCESS_PREFIX).and_then(|t| t.split_once('.')) else { return false };
        let b64 = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        payload.len() >= 59 && b64(payload) && mac.len() == 43 && b64(mac) && text.len() <= 2048
    }

    #[test]
    fn expiry_is_enforced_to_the_second() {
        let c = claims();
        let token = issue(&keys(), &c).unwrap();
        let at = |ms| verify(&keys(), token.expose(), UnixMillis(ms)).map(|v| v.claims);
        assert_eq!(at(c.expires_at * 1000 - 1), Ok(c.clone()));
        assert_eq!(at(c.expires_at * 1000), Err(Rejection::Expired));
    }

    #[test]
    fn tokens_sealed_before_a_rotation_verify_until_it_ends() {
        let before = TokenKeys::new(PREVIOUS, None).unwrap();
        let during = TokenKeys::new(CURRENT, Some(PREVIOUS)).unwrap();
        let old = issue(&before, &claims()).unwrap();
        let new = issue(&during, &claims()).unwrap();
        assert_eq!(verify(&during, old.expose(), NOW).map(|v| v.signed_by), Ok(Slot::Previous));
        assert_eq!(verify(&during, new.expose(), NOW).map(|v| v.signed_by), Ok(Slot::Current));
        assert_eq!(verify(&keys(), old.expose(), NOW).err(), Some(Rejection::BadMac));
        assert_eq!(verify(&before, new.expose(), NOW).err(), Some(Rejection::BadMac));
    }

    #[test]
    fn tokens_match_the_documented_pattern_and_bounds() {
        let smallest = AccessClaims { tenant: None, scopes: vec![], allow_ips: vec![], key_id: crate::core::KeyId::parse("key_1").unwrap(), ..claims() };
        for c in [claims(), smallest] {
            let token = issue(&keys(), &c).unwrap();
            assert!(matches_documented_pattern(token.expose()), "{}", token.expose());
        }
        // The smallest possible token is at the pattern's lower bound.
        let smallest = issue(&keys(), &AccessClaims { tenant: None, scopes: vec![], allow_ips: vec![], key_id: crate::core::KeyId::parse("key_1").unwrap(), ..claims() }).unwrap();
        assert_eq!(smallest.expose().split_once('.').unwrap().0.len() - ACCESS_PREFIX.len(), 59);
        // Claims too large for 2 KiB are not issued.
        let many: Vec<Scope> = (0..200).map(|i| format!("resource{i:03}:read").parse().unwrap()).collect();
        assert!(issue(&keys(), &AccessClaims { scopes: many, ..claims() }).is_err());
        assert_eq!(verify(&keys(), &format!("pva_{}", "A".repeat(3000)), NOW).err(), Some(Rejection::TooLong));
    }

    #[test]
    fn other_prefixes_and_kinds_are_refused() {
        let token = issue(&keys(), &claims()).unwrap();
        let text = token.expose();
        assert_eq!(verify(&keys(), &text.replacen("pva_", "pvc_", 1), NOW).err(), Some(Rejection::Malformed));
        assert_eq!(verify(&keys(), &format!("Bearer {text}"), NOW).err(), Some(Rejection::Malformed));
        assert_eq!(verify(&keys(), "", NOW).err(), Some(Rejection::Malformed));
    }

    /// A token written by an independent implementation of the layout
    /// (tests/fixtures/reference_token.py) verifies to the claims it was
    /// written with, and issuing those claims writes it byte for byte.
    #[test]
    fn matches_an_independent_reference() {
        let fixture = include_str!("../../../tests/fixtures/reference_token.txt");
        let field = |name: &str| fixture.lines().find_map(|l| l.strip_prefix(name)).map(str::trim).expect("fixture field");
        let keys = TokenKeys::new(field("secret ").as_bytes(), None).unwrap();
        let expected = AccessClaims {
            key_id: crate::core::KeyId::parse("key_3mXq8Jt0aZ").unwrap(),
            tenant: Some("acme".into()),
            scopes: crate::core::scope::parse_list("users:read,groups:read,devices:write").unwrap(),
            allow_ips: vec![crate::core::record::parse_network("203.0.113.0/24").unwrap(), crate::core::record::parse_network("2001:db8::/32").unwrap()],
            rate_per_minute: Some(600),
            burst: None,
            issued_at: 1_800_000_000,
            expires_at: 1_800_003_600,
            token_id: TokenId([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
            grant: GrantKind::RefreshToken,
            family: Some(FamilyId([0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7])),
        };
        let verified = verify(&keys, field("token "), UnixMillis(1_800_000_000_000)).unwrap();
        assert_eq!(verified.claims, expected);
        assert_eq!(issue(&keys, &expected).unwrap().expose(), field("token "));
    }

    fn arbitrary_claims() -> impl Strategy<Value = AccessClaims> {
        let scope = prop::sample::select(vec!["*", "me", "bulk", "users:read", "users:write", "groups:read", "groups:write", "devices:read", "x_y-1:write"]);
        (
            "[A-Za-z0-9]{1,64}",
            prop::option::of("[a-z0-9][a-z0-9._-]{0,20}"),
            prop::collection::vec(scope, 0..10),
            prop::collection::vec((any::<[u8; 4]>(), 0u8..=32), 0..4),
            (prop::option::of(1u32..), prop::option::of(1u32..)),
            (1_700_000_000u64..1_900_000_000, 1u32..=86_400),
            (any::<[u8; 12]>(), 0usize..3, prop::option::of(any::<[u8; 8]>())),
        )
            .prop_map(|(id, tenant, scopes, nets, (rate, burst), (exp, life), (tid, grant, family))| AccessClaims {
                key_id: crate::core::KeyId::parse(&format!("key_{id}")).unwrap(),
                tenant,
                scopes: scopes.into_iter().map(|s| s.parse().unwrap()).collect(),
                allow_ips: nets.into_iter().map(|(a, len)| ipnet::IpNet::new(std::net::Ipv4Addr::from(a).into(), len).unwrap().trunc()).collect(),
                rate_per_minute: rate,
                burst,
                issued_at: exp - u64::from(life),
                expires_at: exp,
                token_id: TokenId(tid),
                grant: [GrantKind::ClientCredentials, GrantKind::AuthorizationCode, GrantKind::RefreshToken][grant],
                family: family.map(FamilyId),
            })
    }

    proptest! {
        #[test]
        fn issue_then_verify_round_trips(c in arbitrary_claims()) {
            let token = issue(&keys(), &c).unwrap();
            prop_assert!(matches_documented_pattern(token.expose()));
            let now = UnixMillis(c.issued_at * 1000);
            prop_assert_eq!(verify(&keys(), token.expose(), now), Ok(Verified { claims: c, signed_by: Slot::Current }));
        }

        #[test]
        fn any_single_byte_change_is_refused(c in arbitrary_claims(), pos in any::<usize>(), byte in any::<u8>()) {
            let token = issue(&keys(), &c).unwrap();
            let mut bytes = token.expose().as_bytes().to_vec();
            let pos = pos % bytes.len();
            prop_assume!(bytes[pos] != byte);
            bytes[pos] = byte;
            let now = UnixMillis(c.issued_at * 1000);
            if let Ok(changed) = String::from_utf8(bytes) {
                prop_assert!(verify(&keys(), &changed, now).is_err());
            }
        }

        #[test]
        fn verify_never_panics(text in "pva_[A-Za-z0-9_.-]{0,200}") {
            let _ = verify(&keys(), &text, NOW);
        }
    }
}
