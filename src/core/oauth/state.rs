//! The OAuth state a key's guard (its Durable Object) keeps: the refresh
//! families of the key and the authorization codes recently redeemed. The
//! guard is one object per key id and handles one request at a time, so
//! every operation here is atomic where it runs: two refreshes with the
//! same token cannot both succeed.
//!
//! Bounded: at most [`MAX_FAMILIES`] families per key, each with at most
//! `family::MAX_SUPERSEDED` old fingerprints, and `redeemed::MAX_REDEEMED`
//! codes; a few KiB of JSON in all.

use super::family::{Family, RefreshError, Rotated, MAX_SUPERSEDED};
use super::ids::FamilyId;
use super::lifetime::MAX_ACCESS_SECONDS;
use super::redeemed::{CodeError, Redeemed, RedeemedCodes, MAX_REDEEMED};
use super::refresh::{Fingerprint, TokenHash};
use crate::core::parsed::Parsed;
use crate::core::scope::Scope;
use crate::core::time::UnixMillis;
use serde::{Deserialize, Serialize};

/// Families per key, live or revoked. Each authorization (an IdP app
/// connected with this key) starts one; when a new one needs room, the
/// live family used least recently is forgotten (its IdP must authorize
/// again). Revoked families are never forgotten early.
pub const MAX_FAMILIES: usize = 16;
/// How long a revoked family is remembered: the longest an access token
/// issued with it can live, so that none of them outlives the revocation.
pub const REVOKED_KEPT_MS: u64 = MAX_ACCESS_SECONDS as u64 * 1000;

/// A key's OAuth state.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OAuthState {
    families: Vec<Family>,
    codes: RedeemedCodes,
}

impl OAuthState {
    /// Redeems an authorization code: once only, starting the family whose
    /// first refresh token has hash `first`. A replay revokes the family
    /// the first redemption started.
    pub fn redeem_code(&mut self, code: Redeemed, first: TokenHash, scopes: Vec<Scope>, refresh_expires_at: UnixMillis, now: UnixMillis) -> Result<(), CodeError> {
        self.prune(now);
        // A code is consumed only if its family can be kept; a live family
        // is forgotten for it only once the code is known to be redeemable.
        let full = self.families.len() >= MAX_FAMILIES;
        if full && self.families.iter().all(|f| f.revoked_at.is_some()) {
            return Err(CodeError::Busy);
        }
        if let Err(e) = self.codes.redeem(code, now) {
            if let CodeError::Replayed { family } = e {
                self.revoke(family, now);
            }
            return Err(e);
        }
        if full {
            self.forget_least_recent_live();
        }
        self.families.push(Family::issue(code.family, first, scopes, refresh_expires_at, now));
        Ok(())
    }

    /// Rotates the refresh token with hash `presented` to `next`.
    pub fn refresh(&mut self, presented: &TokenHash, next: TokenHash, next_expires_at: UnixMillis, now: UnixMillis) -> Result<Rotated, RefreshError> {
        let mut outcome = Err(RefreshError::Unknown);
        for family in &mut self.families {
            outcome = family.redeem(presented, next, next_expires_at, now);
            if outcome != Err(RefreshError::Unknown) {
                break;
            }
        }
        self.prune(now);
        outcome
    }

    /// Whether an access token issued with `family` may still be used: not
    /// if the family was revoked.
    pub fn admits(&self, family: FamilyId) -> bool {
        !self.families.iter().any(|f| f.id == family && f.revoked_at.is_some())
    }

    /// Revokes a family (reuse, a replayed code).
    pub fn revoke(&mut self, family: FamilyId, now: UnixMillis) {
        self.families.iter_mut().filter(|f| f.id == family).for_each(|f| f.revoke(now));
    }

    /// The families held, live or revoked.
    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// Drops families that can never matter again: live ones whose token
    /// expired, revoked ones whose last access token has expired.
    fn prune(&mut self, now: UnixMillis) {
        self.families.retain(|f| match f.revoked_at {
            Some(at) => now.0 < at.0.saturating_add(REVOKED_KEPT_MS),
            None => now < f.expires_at,
        });
    }

    fn forget_least_recent_live(&mut self) {
        let oldest = self.families.iter().enumerate().filter(|(_, f)| f.revoked_at.is_none()).min_by_key(|(_, f)| f.last_used).map(|(i, _)| i);
        if let Some(i) = oldest {
            self.families.remove(i);
        }
    }

    /// The state as the guard stores it.
    pub fn encode(&self) -> String {
        let wire: Wire<String> = Wire {
            v: 1,
            families: self
                .families
                .iter()
                .map(|f| FamilyWire {
                    id: f.id,
                    scopes: f.scopes.iter().map(Scope::to_string).collect(),
                    generation: f.generation,
                    current: f.current,
                    expires_at: f.expires_at,
                    superseded: f.superseded.iter().copied().collect(),
                    last_used: f.last_used,
                    revoked_at: f.revoked_at,
                })
                .collect(),
            codes: self.codes.clone(),
        };
        serde_json::to_string(&wire).expect("the state always serialises")
    }

    /// The stored state; an error if it is not exactly what [`encode`](Self::encode)
    /// writes, within the bounds (the guard then refuses OAuth for the key:
    /// fail closed).
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let wire: Wire<Parsed<Scope>> = serde_json::from_slice(bytes).map_err(|e| format!("not an OAuth state: {e}"))?;
        if wire.v != 1 || wire.families.len() > MAX_FAMILIES || wire.codes.len() > MAX_REDEEMED {
            return Err("OAuth state out of bounds".into());
        }
        let mut families = Vec::with_capacity(wire.families.len());
        for f in wire.families {
            if f.superseded.len() > MAX_SUPERSEDED {
                return Err("OAuth state out of bounds".into());
            }
            families.push(Family {
                id: f.id,
                scopes: f.scopes.into_iter().map(|s| s.0).collect(),
                generation: f.generation,
                current: f.current,
                expires_at: f.expires_at,
                superseded: f.superseded.into(),
                last_used: f.last_used,
                revoked_at: f.revoked_at,
            });
        }
        Ok(Self { families, codes: wire.codes })
    }
}

#[derive(Serialize, Deserialize)]
struct Wire<S> {
    v: u32,
    families: Vec<FamilyWire<S>>,
    codes: RedeemedCodes,
}

#[derive(Serialize, Deserialize)]
struct FamilyWire<S> {
    id: FamilyId,
    scopes: Vec<S>,
    generation: u32,
    current: TokenHash,
    expires_at: UnixMillis,
    superseded: Vec<Fingerprint>,
    last_used: UnixMillis,
    revoked_at: Option<UnixMillis>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::oauth::family::tests::hash;
    use crate::core::oauth::ids::CodeId;
    use crate::core::scope::parse_list;

    const T0: UnixMillis = UnixMillis(1_800_000_000_000);
    const DAY: u64 = 86_400_000;

    fn code(n: u8) -> Redeemed {
        Redeemed { code: CodeId([n; 16]), expires_at: T0.0 / 1000 + 60, family: FamilyId([n; 8]) }
    }

    fn at(ms: u64) -> UnixMillis {
        UnixMillis(T0.0 + ms)
    }

    #[test]
    fn code_then_refreshes_then_reuse() {
        let mut s = OAuthState::default();
        let scopes = parse_list("users:read").unwrap();
        s.redeem_code(code(1), hash(10), scopes.clone(), at(90 * DAY), T0).unwrap();
        let r = s.refresh(&hash(10), hash(11), at(91 * DAY), at(1_000)).unwrap();
        assert_eq!((r.family, r.generation, r.scopes), (FamilyId([1; 8]), 1, scopes));
        assert!(s.admits(FamilyId([1; 8])));
        assert_eq!(s.refresh(&hash(10), hash(12), at(91 * DAY), at(2_000)), Err(RefreshError::Reuse { family: FamilyId([1; 8]) }));
        assert!(!s.admits(FamilyId([1; 8])), "access tokens of a revoked family are refused");
        assert_eq!(s.refresh(&hash(11), hash(12), at(91 * DAY), at(3_000)), Err(RefreshError::Reuse { family: FamilyId([1; 8]) }));
        // Remembered until the last access token issued with it has expired.
        assert!(!s.admits(FamilyId([1; 8])));
        s.refresh(&hash(99), hash(100), at(DAY), at(2_000 + REVOKED_KEPT_MS)).unwrap_err();
        assert!(s.admits(FamilyId([1; 8])) && s.families().is_empty());
    }

    #[test]
    fn a_replayed_code_revokes_what_it_issued() {
        let mut s = OAuthState::default();
        s.redeem_code(code(1), hash(10), vec![], at(DAY), T0).unwrap();
        assert_eq!(s.redeem_code(code(1), hash(20), vec![], at(DAY), at(5_000)), Err(CodeError::Replayed { family: FamilyId([1; 8]) }));
        assert_eq!(s.refresh(&hash(10), hash(11), at(DAY), at(6_000)), Err(RefreshError::Reuse { family: FamilyId([1; 8]) }));
        assert_eq!(s.refresh(&hash(20), hash(21), at(DAY), at(6_000)), Err(RefreshError::Unknown), "the replay started nothing");
    }

    #[test]
    fn families_are_bounded_and_revoked_ones_are_kept() {
        let mut s = OAuthState::default();
        for n in 0..MAX_FAMILIES as u8 {
            s.redeem_code(code(n), hash(u32::from(n)), vec![], at(DAY), at(u64::from(n))).unwrap();
        }
        s.revoke(FamilyId([0; 8]), at(100));
        // Full: the least recently used live family (1) makes room.
        s.redeem_code(code(100), hash(100), vec![], at(DAY), at(200)).unwrap();
        assert_eq!(s.families().len(), MAX_FAMILIES);
        assert_eq!(s.refresh(&hash(1), hash(1000), at(DAY), at(300)), Err(RefreshError::Unknown));
        assert!(!s.admits(FamilyId([0; 8])), "the revoked family is still known");
        // A replayed code when full forgets no one (only its own family is revoked).
        let before: Vec<FamilyId> = s.families().iter().map(|f| f.id).collect();
        assert_eq!(s.redeem_code(code(100), hash(555), vec![], at(DAY), at(250)), Err(CodeError::Replayed { family: FamilyId([100; 8]) }));
        assert_eq!(s.families().iter().map(|f| f.id).collect::<Vec<_>>(), before);
        assert!(!s.admits(FamilyId([100; 8])));
        // All revoked: no room, and the code is not consumed.
        let mut all_revoked = OAuthState::default();
        for n in 0..MAX_FAMILIES as u8 {
            all_revoked.redeem_code(code(n), hash(u32::from(n)), vec![], at(DAY), T0).unwrap();
            all_revoked.revoke(FamilyId([n; 8]), T0);
        }
        assert_eq!(all_revoked.redeem_code(code(100), hash(100), vec![], at(DAY), at(1)), Err(CodeError::Busy));
        assert_eq!(all_revoked.redeem_code(code(100), hash(100), vec![], at(DAY), at(REVOKED_KEPT_MS)), Ok(()));
    }

    #[test]
    fn the_stored_form_round_trips_and_is_checked() {
        let mut s = OAuthState::default();
        s.redeem_code(code(1), hash(10), parse_list("users:read,devices:write").unwrap(), at(DAY), T0).unwrap();
        s.refresh(&hash(10), hash(11), at(DAY), at(10)).unwrap();
        s.redeem_code(code(2), hash(20), vec![], at(DAY), T0).unwrap();
        s.revoke(FamilyId([2; 8]), at(20));
        let text = s.encode();
        // The live token's hash, and only a fingerprint of the superseded one.
        assert!(text.contains(&hex::encode(hash(11).0)));
        assert!(text.contains(&hex::encode(hash(10).0)[..32]) && !text.contains(&hex::encode(hash(10).0)));
        assert!(OAuthState::decode(text.as_bytes()).unwrap() == s);
        for bad in [r#"{"v":2,"families":[],"codes":[]}"#, r#"{"v":1,"families":[{"id":"01"}],"codes":[]}"#, "null", ""] {
            assert!(OAuthState::decode(bad.as_bytes()).is_err(), "{bad}");
        }
        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["families"][0]["scopes"] = serde_json::json!(["users:admin"]);
        assert!(OAuthState::decode(json.to_string().as_bytes()).is_err());
    }
}
