//! A refresh token family: the refresh tokens rotated, one after the other,
//! from one authorization code. Exactly one of them is live at a time.
//!
//! Every use rotates: the presented token is superseded and a new one
//! becomes current. A superseded token presented again means two parties
//! hold the family's tokens (one stole it, RFC 6819 §5.2.2.3), and nobody
//! can tell which is the client: the whole family is revoked, the current
//! token and the access tokens issued with it included (RFC 9700 §4.14.2).
//!
//! The guard keeps the current token's SHA-256 and the fingerprints of the
//! last [`MAX_SUPERSEDED`] superseded ones: a token older than that is no
//! longer recognised as the family's, and is refused as unknown without
//! revoking anything.

use super::ids::FamilyId;
use super::refresh::{Fingerprint, TokenHash};
use crate::core::scope::Scope;
use crate::core::time::UnixMillis;
use std::collections::VecDeque;

/// Superseded tokens remembered per family (32 rotations: with hourly
/// access tokens, more than a day of history).
pub const MAX_SUPERSEDED: usize = 32;

/// One family's state.
#[derive(Clone, PartialEq, Eq)]
pub struct Family {
    /// The family's id (public: in audit lines and access tokens).
    pub id: FamilyId,
    /// The scopes granted by the authorization code.
    pub scopes: Vec<Scope>,
    /// Rotations so far (0 for the first token).
    pub generation: u32,
    /// The live token's hash.
    pub(super) current: TokenHash,
    /// When the live token expires.
    pub expires_at: UnixMillis,
    /// Tokens rotated away, oldest first.
    pub(super) superseded: VecDeque<Fingerprint>,
    /// The last issue or rotation.
    pub last_used: UnixMillis,
    /// Set once reuse was detected: nothing of the family is valid any more.
    pub revoked_at: Option<UnixMillis>,
}

/// A successful rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    /// The family.
    pub family: FamilyId,
    /// The new token's generation.
    pub generation: u32,
    /// The scopes granted to the family.
    pub scopes: Vec<Scope>,
}

/// Why a refresh token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshError {
    /// A superseded token (or any token of a revoked family): the family
    /// is revoked.
    Reuse {
        /// The revoked family.
        family: FamilyId,
    },
    /// The family's live token, past its expiry.
    Expired,
    /// Not a token of any family the guard holds.
    Unknown,
}

impl Family {
    /// A new family whose first token has hash `first`.
    pub fn issue(id: FamilyId, first: TokenHash, scopes: Vec<Scope>, expires_at: UnixMillis, now: UnixMillis) -> Self {
        Self { id, scopes, generation: 0, current: first, expires_at, superseded: VecDeque::new(), last_used: now, revoked_at: None }
    }

    /// Redeems the token with hash `presented` at `now`: on success it is
    /// superseded by `next`, valid until `next_expires_at`.
    pub fn redeem(&mut self, presented: &TokenHash, next: TokenHash, next_expires_at: UnixMillis, now: UnixMillis) -> Result<Rotated, RefreshError> {
        let is_current = self.current.matches(presented);
        let fingerprint = presented.fingerprint();
        let is_superseded = self.superseded.iter().any(|f| f.matches(&fingerprint));
        if self.revoked_at.is_some() {
            return Err(if is_current || is_superseded { RefreshError::Reuse { family: self.id } } else { RefreshError::Unknown });
        }
        if is_superseded {
            self.revoked_at = Some(now);
            return Err(RefreshError::Reuse { family: self.id });
        }
        if !is_current {
            return Err(RefreshError::Unknown);
        }
        if now >= self.expires_at {
            return Err(RefreshError::Expired);
        }
        if self.superseded.len() == MAX_SUPERSEDED {
            self.superseded.pop_front();
        }
        self.superseded.push_back(self.current.fingerprint());
        self.current = next;
        self.expires_at = next_expires_at;
        self.generation = self.generation.saturating_add(1);
        self.last_used = now;
        Ok(Rotated { family: self.id, generation: self.generation, scopes: self.scopes.clone() })
    }

    /// Revokes the family (a replayed authorization code, an operator).
    pub fn revoke(&mut self, now: UnixMillis) {
        self.revoked_at.get_or_insert(now);
    }

    /// Whether its live token can still be redeemed at `now`.
    pub fn is_live(&self, now: UnixMillis) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }

    /// Superseded tokens remembered.
    pub fn superseded_len(&self) -> usize {
        self.superseded.len()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn hash(n: u32) -> TokenHash {
        let mut h = [0u8; 32];
        h[..4].copy_from_slice(&n.to_be_bytes());
        h[31] = 0x5a;
        TokenHash(h)
    }

    const T0: UnixMillis = UnixMillis(1_800_000_000_000);
    const DAY: u64 = 86_400_000;

    fn family() -> Family {
        Family::issue(FamilyId([1; 8]), hash(0), vec![Scope::All], UnixMillis(T0.0 + DAY), T0)
    }

    #[test]
    fn rotation_supersedes_and_reuse_revokes_everything() {
        let mut f = family();
        let later = UnixMillis(T0.0 + 1_000);
        assert_eq!(f.redeem(&hash(0), hash(1), UnixMillis(T0.0 + 2 * DAY), later), Ok(Rotated { family: f.id, generation: 1, scopes: vec![Scope::All] }));
        assert_eq!(f.expires_at, UnixMillis(T0.0 + 2 * DAY));
        // The superseded token comes back: the family dies, its live token too.
        assert_eq!(f.redeem(&hash(0), hash(2), UnixMillis(T0.0 + 2 * DAY), later), Err(RefreshError::Reuse { family: f.id }));
        assert_eq!(f.revoked_at, Some(later));
        assert!(!f.is_live(later));
        assert_eq!(f.redeem(&hash(1), hash(2), UnixMillis(T0.0 + 2 * DAY), later), Err(RefreshError::Reuse { family: f.id }));
        assert_eq!(f.redeem(&hash(9), hash(2), UnixMillis(T0.0 + 2 * DAY), later), Err(RefreshError::Unknown));
    }

    #[test]
    fn an_expired_token_is_refused_to_the_millisecond() {
        let mut f = family();
        assert_eq!(f.clone().redeem(&hash(0), hash(1), T0, UnixMillis(T0.0 + DAY - 1)).map(|r| r.generation), Ok(1));
        assert_eq!(f.redeem(&hash(0), hash(1), T0, UnixMillis(T0.0 + DAY)), Err(RefreshError::Expired));
        assert!(!f.is_live(UnixMillis(T0.0 + DAY)));
    }

    #[test]
    fn memory_is_bounded_and_old_tokens_become_unknown() {
        let mut f = family();
        for n in 0..100 {
            f.redeem(&hash(n), hash(n + 1), UnixMillis(T0.0 + DAY), T0).unwrap();
            assert!(f.superseded_len() <= MAX_SUPERSEDED);
        }
        let oldest_known = 100 - MAX_SUPERSEDED as u32;
        assert_eq!(f.clone().redeem(&hash(oldest_known - 1), hash(999), T0, T0), Err(RefreshError::Unknown));
        assert_eq!(f.redeem(&hash(oldest_known), hash(999), T0, T0), Err(RefreshError::Reuse { family: f.id }));
    }

    /// One step of a client's or an attacker's life with a family.
    #[derive(Debug, Clone)]
    enum Step {
        /// The client refreshes with its current token.
        Refresh,
        /// Someone presents the token issued `back` rotations ago.
        Replay { back: usize },
        /// Someone presents a token the family never issued.
        Guess,
        /// Time passes.
        Wait { ms: u64 },
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => Just(Step::Refresh),
            1 => (1usize..40).prop_map(|back| Step::Replay { back }),
            1 => Just(Step::Guess),
            1 => (0u64..2 * DAY).prop_map(|ms| Step::Wait { ms }),
        ]
    }

    proptest! {
        /// At most one token redeems at any time, and once a superseded
        /// token is seen, none ever does again.
        #[test]
        fn at_most_one_live_token_and_reuse_kills_the_family(steps in prop::collection::vec(step(), 1..80)) {
            let mut f = family();
            let mut issued = vec![0u32];
            let mut now = T0;
            let mut reused = false;
            for s in steps {
                let next = issued.len() as u32;
                match s {
                    Step::Refresh => {
                        let got = f.redeem(&hash(*issued.last().unwrap()), hash(next), UnixMillis(now.0 + DAY), now);
                        if got.is_ok() {
                            prop_assert!(!reused, "a refresh succeeded after reuse");
                            issued.push(next);
                        }
                    }
                    Step::Replay { back } if back < issued.len() => {
                        let old = issued[issued.len() - 1 - back];
                        let got = f.redeem(&hash(old), hash(next), UnixMillis(now.0 + DAY), now);
                        prop_assert!(got.is_err(), "a superseded token redeemed");
                        if back <= MAX_SUPERSEDED {
                            prop_assert_eq!(got, Err(RefreshError::Reuse { family: f.id }));
                            reused = true;
                        }
                    }
                    Step::Replay { .. } => {}
                    Step::Guess => prop_assert!(f.redeem(&hash(1_000_000), hash(next), now, now).is_err()),
                    Step::Wait { ms } => now = UnixMillis(now.0 + ms),
                }
                let redeemable = issued.iter().filter(|&&n| f.clone().redeem(&hash(n), hash(u32::MAX), now, now).is_ok()).count();
                prop_assert!(redeemable <= 1, "{} tokens redeem", redeemable);
                prop_assert_eq!(redeemable == 1, f.is_live(now));
                if reused {
                    prop_assert!(f.revoked_at.is_some() && redeemable == 0);
                }
                prop_assert!(f.superseded_len() <= MAX_SUPERSEDED);
            }
        }
    }
}
