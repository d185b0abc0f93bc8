//! The protocol of a key's guard (its Durable Object): one per key id, the
//! single place where the key's rate is metered and its revocation is
//! known at once, everywhere.
//!
//! The object holds two facts: the GCRA state (in memory) and whether the
//! key is revoked (in durable storage). Every request the edge forwards
//! asks it once; the answer is one of [`Answer`].

use super::gcra::{self, Quota, Verdict};
use serde::{Deserialize, Serialize};

/// What the edge asks for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    /// The key's sustained rate.
    pub rate_per_minute: u32,
    /// The key's burst.
    pub burst: u32,
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
    /// The key was revoked through the admin route.
    Revoked,
}

impl Ask {
    /// The quota asked for; `None` if a number is zero.
    pub fn quota(&self) -> Option<Quota> {
        Quota::new(self.rate_per_minute, self.burst)
    }
}

impl From<Quota> for Ask {
    fn from(q: Quota) -> Self {
        Self { rate_per_minute: q.rate_per_minute.get(), burst: q.burst.get() }
    }
}

/// The guard's whole decision: revocation first, then GCRA. Returns the
/// answer and, when admitted, the state to keep.
pub fn decide(revoked: bool, quota: &Quota, tat: Option<u64>, now_us: u64) -> (Answer, Option<u64>) {
    if revoked {
        return (Answer::Revoked, None);
    }
    match gcra::check(quota, tat, now_us) {
        Verdict::Admit { tat, remaining, reset_after_us } => (Answer::Admit { remaining, reset_after_us }, Some(tat)),
        Verdict::Limit { retry_after_us, reset_after_us } => (Answer::Limit { retry_after_us, reset_after_us }, None),
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
        assert_eq!(decide(true, &q, None, 0), (Answer::Revoked, None));
        let (first, tat) = decide(false, &q, None, 0);
        assert_eq!(first, Answer::Admit { remaining: 0, reset_after_us: 1_000_000 });
        assert_eq!(decide(false, &q, tat, 0).0, Answer::Limit { retry_after_us: 1_000_000, reset_after_us: 1_000_000 });
        assert_eq!(decide(false, &q, tat, 0).1, None, "a refusal does not change the state");
    }

    #[test]
    fn wire_format() {
        let a = Answer::Limit { retry_after_us: 1_500_000, reset_after_us: 2_000_000 };
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#"{"verdict":"limit","retry_after_us":1500000,"reset_after_us":2000000}"#);
        assert_eq!(serde_json::from_str::<Answer>(&json).unwrap(), a);
        assert_eq!(serde_json::from_str::<Answer>(r#"{"verdict":"revoked"}"#).unwrap(), Answer::Revoked);
        assert_eq!(retry_after_seconds(1_500_000), 2);
        assert_eq!(retry_after_seconds(0), 1);
    }
}
