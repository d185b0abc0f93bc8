//! The protocol of a key's guard (its Durable Object): one per key id, the
//! single place where the key's rate is metered and its revocation is
//! known at once, everywhere.
//!
//! The object holds three facts: the GCRA state (in memory), whether the
//! key is revoked (durable) and the key's usage (durable, see `usage`).
//! Every request with a verified key asks it once: to be metered, or, when
//! the edge already denied it, only to be counted. The answer is a [`Reply`].

use super::gcra::{Quota, Verdict};
use super::lease;
use super::oauth::ids::FamilyId;
use super::usage::{Class, OriginReport, Source};
use serde::{Deserialize, Serialize};

/// What the edge asks for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    /// The key's sustained rate.
    pub rate_per_minute: u32,
    /// The key's burst.
    pub burst: u32,
    /// Set when the edge already denied the request: count it, do not meter it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denied: Option<Class>,
    /// Where the request came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
    /// The origin's answers to this key's earlier forwards from this isolate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<OriginReport>,
    /// The key's id, so that the guard can write the key's last use into
    /// its listing summary (the first use, then at most hourly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// Set for the connection doctor's check of the key: metered like a
    /// request, counted as [`Class::Introspected`] when admitted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub introspection: bool,
    /// For an OAuth access token issued with a refresh family: the family,
    /// which the guard refuses once it revoked it (reuse, a replayed code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<FamilyId>,
    /// For an OAuth access token: when it was issued (seconds), so that the
    /// guard refuses it once the key's tokens ended, if it was issued
    /// before that end was set (a rotation, a shorter `expires_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_issued_at: Option<u64>,
    /// With `GUARD_LEASE`: admissions the isolate asks for at once
    /// (see [`super::lease`]); none: this request only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<u32>,
    /// Requests the isolate admitted from its lease since its last ask,
    /// to be counted as allowed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spent: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// What the guard answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Answer {
    /// Forward it.
    Admit {
        /// Requests still available right now.
        remaining: u32,
        /// Microseconds until the full burst is back.
        reset_after_us: u64,
    },
    /// Over the rate.
    Limit {
        /// Microseconds until one more request is admitted.
        retry_after_us: u64,
        /// Microseconds until the full burst is back.
        reset_after_us: u64,
    },
    /// The key was revoked through the management API (or the former admin route).
    Revoked,
    /// The access token's refresh family was revoked (the key was not).
    FamilyRevoked,
    /// The access token's key was rotated and its grace is over: the key's
    /// tokens ended with it.
    TokenEnded,
    /// The access token was issued before its key's `not_before` was moved
    /// later: the key's tokens are suspended until then.
    TokenSuspended,
    /// The edge had denied the request; it was counted, not metered.
    Counted,
}

/// The guard's reply: its verdict and whether the request came from a
/// source the key's history does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The verdict.
    pub answer: Answer,
    /// Worth a `new_source` warning.
    #[serde(default)]
    pub new_source: bool,
    /// Admissions granted to the asking isolate, this request's included
    /// (only when it asked for a lease and was admitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<u32>,
}

impl Ask {
    /// The quota asked for; `None` if a number is zero.
    pub fn quota(&self) -> Option<Quota> {
        Quota::new(self.rate_per_minute, self.burst)
    }

    /// How the guard counts a request [`decide`] classed as `class`: an
    /// admitted introspection is not an allowed SCIM request.
    pub fn counted_as(&self, class: Class) -> Class {
        match class {
            Class::Allowed if self.introspection => Class::Introspected,
            other => other,
        }
    }
}

impl From<Quota> for Ask {
    fn from(q: Quota) -> Self {
        Self { rate_per_minute: q.rate_per_minute.get(), burst: q.burst.get(), denied: None, source: None, origin: None, key_id: None, introspection: false, family: None, token_issued_at: None, lease: None, spent: 0 }
    }
}

impl Answer {
    /// How the request is counted in the key's usage.
    pub fn class(&self) -> Class {
        match self {
            Answer::Admit { .. } => Class::Allowed,
            Answer::Limit { .. } => Class::RateLimited,
            Answer::Revoked | Answer::FamilyRevoked => Class::Revoked,
            Answer::TokenEnded => Class::Expired,
            Answer::TokenSuspended => Class::NotYetValid,
            Answer::Counted => Class::Rejected,
        }
    }
}

/// When a key's access tokens end, as its guard was told: `at` (ms), for
/// tokens issued no later than `told` (ms). Tokens issued after the telling
/// already expire by the key's new end (their expiry never passes the key's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensEnd {
    /// When they end.
    pub at: u64,
    /// When the guard was told.
    pub told: u64,
}

impl TokensEnd {
    /// Whether a token issued at `issued_at` (seconds) has ended at `now_ms`.
    pub fn ends(&self, issued_at: u64, now_ms: u64) -> bool {
        issued_at.saturating_mul(1000) <= self.told && now_ms >= self.at
    }
}

/// Until when a key's access tokens are suspended, as its guard was told
/// by a PATCH that moved the key's `not_before` later. The key itself is
/// refused until then by its record, and the token endpoint issues none;
/// tokens issued before would otherwise still be good for their lifetime
/// (and one issued from a record not yet propagated, too): so every token
/// of the key is refused until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensSuspended {
    /// When the suspension ends (the key's new `not_before`, ms).
    pub until: u64,
}

impl TokensSuspended {
    /// Whether the key's tokens are suspended at `now_ms`.
    pub fn suspends(&self, now_ms: u64) -> bool {
        now_ms < self.until
    }
}

/// What the guard knows about an access token's standing (default: nothing
/// against it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenStanding {
    /// Its refresh family was revoked.
    pub family_revoked: bool,
    /// Its key's tokens ended (a rotation's grace is over).
    pub ended: bool,
    /// Its key's tokens are suspended (a later `not_before`).
    pub suspended: bool,
}

/// The guard's whole decision: revocation first (the key's, then the
/// token's family's, then the end of the key's tokens), then what the
/// edge already decided, then GCRA. Returns the answer, how to count the
/// request, and, when admitted, the state to keep.
pub fn decide(revoked: bool, token: TokenStanding, denied: Option<Class>, quota: &Quota, tat: Option<u64>, now_us: u64) -> (Answer, Class, Option<u64>) {
    let (answer, class, tat, _) = decide_lease(revoked, token, denied, quota, tat, now_us, 1);
    (answer, class, tat)
}

/// [`decide`] for an isolate that asks for up to `want` admissions at once
/// (`GUARD_LEASE`); also returns how many were granted (0 unless admitted).
pub fn decide_lease(revoked: bool, token: TokenStanding, denied: Option<Class>, quota: &Quota, tat: Option<u64>, now_us: u64, want: u32) -> (Answer, Class, Option<u64>, u32) {
    if !revoked && token.family_revoked {
        return (Answer::FamilyRevoked, Class::Revoked, None, 0);
    }
    if !revoked && token.ended {
        return (Answer::TokenEnded, Class::Expired, None, 0);
    }
    if !revoked && token.suspended {
        return (Answer::TokenSuspended, Class::NotYetValid, None, 0);
    }
    let (answer, tat, granted) = meter(revoked, denied.is_some(), quota, tat, now_us, want);
    (answer, denied.filter(|_| answer == Answer::Counted).unwrap_or(answer.class()), tat, granted)
}

fn meter(revoked: bool, denied: bool, quota: &Quota, tat: Option<u64>, now_us: u64, want: u32) -> (Answer, Option<u64>, u32) {
    if revoked {
        return (Answer::Revoked, None, 0);
    }
    if denied {
        return (Answer::Counted, None, 0);
    }
    match lease::grant(quota, tat, now_us, want.max(1)) {
        (Verdict::Admit { tat, remaining, reset_after_us }, granted) => (Answer::Admit { remaining, reset_after_us }, Some(tat), granted),
        (Verdict::Limit { retry_after_us, reset_after_us }, _) => (Answer::Limit { retry_after_us, reset_after_us }, None, 0),
    }
}

/// Seconds for `Retry-After`: rounded up, at least 1.
pub fn retry_after_seconds(retry_after_us: u64) -> u64 {
    retry_after_us.div_ceil(1_000_000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revocation_wins_over_everything() {
        let q = Quota::new(60, 1).unwrap();
        assert_eq!(decide(true, TokenStanding::default(), None, &q, None, 0), (Answer::Revoked, Class::Revoked, None));
        assert_eq!(decide(true, TokenStanding::default(), Some(Class::ScopeDenied), &q, None, 0), (Answer::Revoked, Class::Revoked, None));
        let (first, class, tat) = decide(false, TokenStanding::default(), None, &q, None, 0);
        assert_eq!((first, class), (Answer::Admit { remaining: 0, reset_after_us: 1_000_000 }, Class::Allowed));
        assert_eq!(decide(false, TokenStanding::default(), None, &q, tat, 0).0, Answer::Limit { retry_after_us: 1_000_000, reset_after_us: 1_000_000 });
        assert_eq!(decide(false, TokenStanding::default(), None, &q, tat, 0).1, Class::RateLimited);
        assert_eq!(decide(false, TokenStanding::default(), None, &q, tat, 0).2, None, "a refusal does not change the state");
        let family = TokenStanding { family_revoked: true, ..TokenStanding::default() };
        let ended = TokenStanding { ended: true, ..TokenStanding::default() };
        let suspended = TokenStanding { suspended: true, ..TokenStanding::default() };
        assert_eq!(decide(false, suspended, None, &q, None, 0), (Answer::TokenSuspended, Class::NotYetValid, None));
        assert_eq!(decide(true, suspended, None, &q, None, 0).0, Answer::Revoked);
        assert_eq!(decide(false, family, None, &q, None, 0), (Answer::FamilyRevoked, Class::Revoked, None));
        assert_eq!(decide(false, ended, None, &q, None, 0), (Answer::TokenEnded, Class::Expired, None));
        assert_eq!(decide(true, family, None, &q, None, 0).0, Answer::Revoked, "the key's revocation comes first");
    }

    #[test]
    fn a_key_s_end_ends_the_tokens_issued_before_it_was_told() {
        let end = TokensEnd { at: 10_000, told: 5_000 };
        assert!(!end.ends(4, 9_999), "not yet");
        assert!(end.ends(4, 10_000) && end.ends(5, 10_000), "issued before the telling, at the end");
        assert!(!end.ends(6, 20_000), "issued after: its own expiry already respects the new end");
    }

    #[test]
    fn a_later_not_before_suspends_the_key_s_tokens_until_then() {
        let s = TokensSuspended { until: 10_000 };
        assert!(s.suspends(0) && s.suspends(9_999));
        assert!(!s.suspends(10_000), "from not_before on, a token is good again (if its own expiry allows)");
    }

    #[test]
    fn denials_are_counted_without_metering() {
        let q = Quota::new(60, 1).unwrap();
        assert_eq!(decide(false, TokenStanding::default(), Some(Class::ScopeDenied), &q, None, 0), (Answer::Counted, Class::ScopeDenied, None));
        // The burst of one is still there for a real request.
        assert_eq!(decide(false, TokenStanding::default(), None, &q, None, 0).1, Class::Allowed);
    }

    #[test]
    fn a_lease_is_granted_only_to_an_admitted_request() {
        let q = Quota::new(60, 5).unwrap();
        let (answer, class, tat, granted) = decide_lease(false, TokenStanding::default(), None, &q, None, 0, 3);
        assert_eq!((answer, class, tat, granted), (Answer::Admit { remaining: 2, reset_after_us: 3_000_000 }, Class::Allowed, Some(3_000_000), 3));
        assert_eq!(decide_lease(true, TokenStanding::default(), None, &q, None, 0, 3).3, 0);
        assert_eq!(decide_lease(false, TokenStanding::default(), Some(Class::ScopeDenied), &q, None, 0, 3).3, 0);
        assert_eq!(decide_lease(false, TokenStanding::default(), None, &q, Some(5_000_000), 0, 3).3, 0, "over the rate");
        assert_eq!(decide(false, TokenStanding::default(), None, &q, None, 0).2, Some(1_000_000), "the exact guard charges one");
    }

    #[test]
    fn wire_format() {
        let a = Answer::Limit { retry_after_us: 1_500_000, reset_after_us: 2_000_000 };
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#"{"verdict":"limit","retry_after_us":1500000,"reset_after_us":2000000}"#);
        assert_eq!(serde_json::from_str::<Answer>(&json).unwrap(), a);
        assert_eq!(serde_json::from_str::<Answer>(r#"{"verdict":"revoked"}"#).unwrap(), Answer::Revoked);
        let reply = Reply { answer: a, new_source: true, lease: None };
        let json = serde_json::to_string(&reply).unwrap();
        assert_eq!(json, r#"{"answer":{"verdict":"limit","retry_after_us":1500000,"reset_after_us":2000000},"new_source":true}"#);
        assert_eq!(serde_json::from_str::<Reply>(&json).unwrap(), reply);
        let ask: Ask = serde_json::from_str(r#"{"rate_per_minute":60,"burst":5,"denied":"ip_denied","source":{"ip":"192.0.2.1"}}"#).unwrap();
        assert_eq!((ask.denied, ask.source.map(|s| s.ip)), (Some(Class::IpDenied), Some("192.0.2.1".to_owned())));
        assert!(!serde_json::to_string(&Ask::from(Quota::new(60, 5).unwrap())).unwrap().contains("introspection"));
        let check: Ask = serde_json::from_str(r#"{"rate_per_minute":60,"burst":5,"introspection":true}"#).unwrap();
        assert_eq!(check.counted_as(Class::Allowed), Class::Introspected);
        assert_eq!(check.counted_as(Class::RateLimited), Class::RateLimited);
        assert_eq!(Ask::from(Quota::new(60, 5).unwrap()).counted_as(Class::Allowed), Class::Allowed);
        assert_eq!(retry_after_seconds(1_500_000), 2);
        assert_eq!(retry_after_seconds(0), 1);
    }
}
