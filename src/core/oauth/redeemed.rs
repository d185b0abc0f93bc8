//! Authorization codes already redeemed, as the key's guard remembers
//! them: each code's id until the code expires (60 s at most), and the
//! refresh family its redemption started, so that a replayed code revokes
//! what the first redemption issued (RFC 6749 §4.1.2).

use super::ids::{CodeId, FamilyId};
use super::lifetime::expired;
use crate::core::time::UnixMillis;

/// Codes remembered at once per key. Codes live 60 s and are redeemed
/// only after an administrator pastes the key into the authorization page,
/// so this is far beyond real use; when it is reached, further codes are
/// refused until older ones expire (fail closed).
pub const MAX_REDEEMED: usize = 64;

/// One redeemed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Redeemed {
    /// The code's id.
    pub code: CodeId,
    /// When the code expires, in seconds: it is forgotten then.
    pub expires_at: u64,
    /// The family its redemption started.
    pub family: FamilyId,
}

/// Why a code cannot be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeError {
    /// Already redeemed; the family of the first redemption must be revoked.
    Replayed {
        /// The family the first redemption started.
        family: FamilyId,
    },
    /// [`MAX_REDEEMED`] unexpired codes are remembered already.
    Busy,
}

/// The codes a key's guard remembers.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RedeemedCodes(Vec<Redeemed>);

impl RedeemedCodes {
    /// Redeems `code` at `now`, or says why not. Expired entries are
    /// forgotten first, so memory holds only codes that could still verify.
    pub fn redeem(&mut self, code: Redeemed, now: UnixMillis) -> Result<(), CodeError> {
        self.0.retain(|r| !expired(r.expires_at, now));
        if let Some(first) = self.0.iter().find(|r| r.code == code.code) {
            return Err(CodeError::Replayed { family: first.family });
        }
        if self.0.len() >= MAX_REDEEMED {
            return Err(CodeError::Busy);
        }
        self.0.push(code);
        Ok(())
    }

    /// Codes remembered (some may have expired since the last redemption).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none is remembered.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(n: u8, expires_at: u64) -> Redeemed {
        Redeemed { code: CodeId([n; 16]), expires_at, family: FamilyId([n; 8]) }
    }

    #[test]
    fn a_code_is_redeemed_once_and_remembered_until_it_expires() {
        let mut codes = RedeemedCodes::default();
        assert_eq!(codes.redeem(code(1, 100), UnixMillis(40_000)), Ok(()));
        let replay = Redeemed { family: FamilyId([9; 8]), ..code(1, 100) };
        assert_eq!(codes.redeem(replay, UnixMillis(99_999)), Err(CodeError::Replayed { family: FamilyId([1; 8]) }));
        // Once expired it is forgotten: verifying the code refuses it by then.
        assert_eq!(codes.redeem(code(2, 200), UnixMillis(100_000)), Ok(()));
        assert_eq!(codes.len(), 1);
    }

    #[test]
    fn memory_is_bounded_and_fails_closed() {
        let mut codes = RedeemedCodes::default();
        for n in 0..MAX_REDEEMED as u8 {
            codes.redeem(code(n, 100), UnixMillis(50_000)).unwrap();
        }
        assert_eq!(codes.redeem(code(200, 100), UnixMillis(50_000)), Err(CodeError::Busy));
        assert_eq!(codes.redeem(code(200, 200), UnixMillis(100_000)), Ok(()));
        let json = serde_json::to_string(&codes).unwrap();
        assert_eq!(serde_json::from_str::<RedeemedCodes>(&json).unwrap(), codes);
    }

    proptest! {
        /// Against a naive model (every code ever redeemed, with its expiry):
        /// a code is accepted only if it was never redeemed or has expired.
        #[test]
        fn never_twice_while_valid(ops in prop::collection::vec((0u8..12, 0u64..200, 0u64..3), 1..200)) {
            let mut codes = RedeemedCodes::default();
            let mut seen: Vec<Redeemed> = Vec::new();
            let mut now = 0u64;
            for (n, life, wait) in ops {
                now += wait * 20;
                let c = code(n, now / 1000 + 1 + life / 4);
                let live_before = seen.iter().any(|s| s.code == c.code && now < s.expires_at * 1000);
                match codes.redeem(c, UnixMillis(now)) {
                    Ok(()) => { prop_assert!(!live_before); seen.push(c); }
                    Err(CodeError::Replayed { .. }) => prop_assert!(live_before),
                    Err(CodeError::Busy) => prop_assert!(codes.len() >= MAX_REDEEMED),
                }
                prop_assert!(codes.len() <= MAX_REDEEMED);
            }
        }
    }
}
