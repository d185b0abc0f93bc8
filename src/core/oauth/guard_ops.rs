//! What the token endpoint asks a key's guard to do with the key's OAuth
//! state ([`OAuthState`]), and what it answers: the wire between
//! provgate-control's token endpoint and the guard, and [`apply`], the
//! whole of what the guard does with an ask (pure; the guard loads and
//! stores the state around it). The guard handles one request at a time,
//! so each ask is atomic.

use super::error::{GrantProblem, OAuthError};
use super::family::{RefreshError, Rotated};
use super::ids::FamilyId;
use super::redeemed::{CodeError, Redeemed};
use super::refresh::TokenHash;
use super::state::OAuthState;
use crate::core::scope::Scope;
use crate::core::time::UnixMillis;
use serde::{Deserialize, Serialize};

/// An ask about the key's OAuth state. Holds hashes, never a token.
#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StateAsk {
    /// Redeem a code once, starting the family whose first refresh token hashes to `first`.
    Redeem {
        /// The code's id, expiry and the family it starts.
        code: Redeemed,
        /// The first refresh token's hash.
        first: TokenHash,
        /// The scopes granted to the family.
        scopes: Vec<String>,
        /// When the first refresh token expires.
        refresh_expires_at: UnixMillis,
    },
    /// Rotate the refresh token hashing to `presented` to `next`.
    Refresh {
        /// The presented token's hash.
        presented: TokenHash,
        /// The new token's hash.
        next: TokenHash,
        /// When the new token expires.
        next_expires_at: UnixMillis,
    },
}

/// The guard's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum StateReply {
    /// The code was redeemed; its family exists.
    Redeemed,
    /// The refresh token was rotated.
    Rotated {
        /// The family.
        family: FamilyId,
        /// The new token's generation.
        generation: u32,
        /// The family's scopes.
        scopes: Vec<String>,
    },
    /// Refused (`invalid_grant`), naming the family revoked by a replay or reuse.
    Refused {
        /// The cause, as `GrantProblem`'s audit reason without `oauth_`.
        problem: String,
        /// The family revoked, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revoked: Option<FamilyId>,
    },
}

/// The causes the guard can give, with their wire names.
const PROBLEMS: [(GrantProblem, &str); 5] = [
    (GrantProblem::CodeReplayed, "code_replayed"),
    (GrantProblem::Busy, "guard_full"),
    (GrantProblem::RefreshReused, "refresh_reused"),
    (GrantProblem::RefreshExpired, "refresh_expired"),
    (GrantProblem::RefreshUnknown, "refresh_unknown"),
];

fn refused(problem: GrantProblem, revoked: Option<FamilyId>) -> StateReply {
    let name = PROBLEMS.iter().find(|(p, _)| *p == problem).map_or("refresh_unknown", |(_, n)| n);
    StateReply::Refused { problem: name.to_owned(), revoked }
}

/// Does what `ask` asks to `state` at `now`. Whether the state changed is
/// for the guard to find out by comparing (it stores it if so).
pub fn apply(state: &mut OAuthState, ask: StateAsk, now: UnixMillis) -> StateReply {
    match ask {
        StateAsk::Redeem { code, first, scopes, refresh_expires_at } => {
            let scopes = scopes.iter().filter_map(|s| s.parse().ok()).collect();
            match state.redeem_code(code, first, scopes, refresh_expires_at, now) {
                Ok(()) => StateReply::Redeemed,
                Err(CodeError::Replayed { family }) => refused(GrantProblem::CodeReplayed, Some(family)),
                Err(CodeError::Busy) => refused(GrantProblem::Busy, None),
            }
        }
        StateAsk::Refresh { presented, next, next_expires_at } => match state.refresh(&presented, next, next_expires_at, now) {
            Ok(r) => StateReply::Rotated { family: r.family, generation: r.generation, scopes: r.scopes.iter().map(Scope::to_string).collect() },
            Err(RefreshError::Reuse { family }) => refused(GrantProblem::RefreshReused, Some(family)),
            Err(RefreshError::Expired) => refused(GrantProblem::RefreshExpired, None),
            Err(RefreshError::Unknown) => refused(GrantProblem::RefreshUnknown, None),
        },
    }
}

impl StateReply {
    /// The refusal, if it is one, as the token endpoint answers it, with
    /// the family it revoked.
    pub fn refusal(&self) -> Option<(OAuthError, Option<FamilyId>)> {
        let StateReply::Refused { problem, revoked } = self else { return None };
        let cause = PROBLEMS.iter().find(|(_, n)| n == problem).map_or(GrantProblem::RefreshUnknown, |(p, _)| *p);
        Some((OAuthError::InvalidGrant(cause), *revoked))
    }

    /// A rotation, as `exchange::refreshed_scopes` reads it.
    pub fn rotated(&self) -> Option<Rotated> {
        let StateReply::Rotated { family, generation, scopes } = self else { return None };
        Some(Rotated { family: *family, generation: *generation, scopes: scopes.iter().filter_map(|s| s.parse().ok()).collect() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::oauth::family::tests::hash;
    use crate::core::oauth::ids::CodeId;

    const T0: UnixMillis = UnixMillis(1_800_000_000_000);

    fn over_the_wire(ask: StateAsk) -> StateAsk {
        serde_json::from_str(&serde_json::to_string(&ask).unwrap()).unwrap()
    }

    fn back(reply: StateReply) -> StateReply {
        serde_json::from_str(&serde_json::to_string(&reply).unwrap()).unwrap()
    }

    #[test]
    fn redeem_rotate_then_reuse_over_the_wire() {
        let mut state = OAuthState::default();
        let family = FamilyId([3; 8]);
        let code = Redeemed { code: CodeId([1; 16]), expires_at: T0.0 / 1000 + 60, family };
        let redeem = StateAsk::Redeem { code, first: hash(1), scopes: vec!["users:read".into()], refresh_expires_at: UnixMillis(T0.0 + 86_400_000) };
        assert_eq!(back(apply(&mut state, over_the_wire(redeem.clone()), T0)), StateReply::Redeemed);
        let replay = back(apply(&mut state, over_the_wire(redeem), T0));
        assert_eq!(replay.refusal(), Some((OAuthError::InvalidGrant(GrantProblem::CodeReplayed), Some(family))));
        assert!(!state.admits(family), "a replayed code revokes its family");

        let mut state = OAuthState::default();
        let code = Redeemed { code: CodeId([2; 16]), expires_at: T0.0 / 1000 + 60, family };
        apply(&mut state, StateAsk::Redeem { code, first: hash(1), scopes: vec!["users:read".into()], refresh_expires_at: UnixMillis(T0.0 + 86_400_000) }, T0);
        let rotate = |presented, next| StateAsk::Refresh { presented: hash(presented), next: hash(next), next_expires_at: UnixMillis(T0.0 + 86_400_000) };
        let rotated = back(apply(&mut state, over_the_wire(rotate(1, 2)), T0)).rotated().unwrap();
        assert_eq!((rotated.family, rotated.generation, rotated.scopes), (family, 1, crate::core::scope::parse_list("users:read").unwrap()));
        let reuse = back(apply(&mut state, rotate(1, 3), T0));
        assert_eq!(reuse.refusal(), Some((OAuthError::InvalidGrant(GrantProblem::RefreshReused), Some(family))));
        assert_eq!(apply(&mut state, rotate(2, 4), T0).refusal().map(|r| r.0), Some(OAuthError::InvalidGrant(GrantProblem::RefreshReused)), "the live token died with its family");
        assert_eq!(apply(&mut state, rotate(9, 10), T0).refusal(), Some((OAuthError::InvalidGrant(GrantProblem::RefreshUnknown), None)));
        assert_eq!(StateReply::Redeemed.refusal(), None);
    }
}
