//! Per-key rate limiting with GCRA (the generic cell rate algorithm).
//!
//! A quota is a sustained rate (requests per minute) and a burst (how many
//! requests a key may make at once from idle). GCRA keeps one number per
//! key, the theoretical arrival time (TAT), and decides each request with
//! a little arithmetic: no timers, no counters to reset. Time is passed in,
//! in microseconds, so that very high rates keep their precision.
//!
//! ```
//! use provgate::core::gcra::{check, Quota, Verdict};
//! let q = Quota::new(60, 2).unwrap(); // one per second, two at once
//! let Verdict::Admit { tat, .. } = check(&q, None, 0) else { panic!() };
//! let Verdict::Admit { tat, .. } = check(&q, Some(tat), 0) else { panic!() };
//! assert_eq!(check(&q, Some(tat), 0), Verdict::Limit { retry_after_us: 1_000_000, reset_after_us: 2_000_000 });
//! ```

use std::num::NonZeroU32;

const MICROS_PER_MINUTE: u64 = 60_000_000;

/// A sustained rate and a burst; zero is unrepresentable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Sustained requests per minute.
    pub rate_per_minute: NonZeroU32,
    /// Requests allowed at once from idle.
    pub burst: NonZeroU32,
}

/// The decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed; store `tat` as the key's new state.
    Admit {
        /// The new theoretical arrival time.
        tat: u64,
        /// Requests that could still be made right now.
        remaining: u32,
        /// Microseconds until the full burst is available again.
        reset_after_us: u64,
    },
    /// Refused; the state is unchanged.
    Limit {
        /// Microseconds until one request would be admitted.
        retry_after_us: u64,
        /// Microseconds until the full burst is available again.
        reset_after_us: u64,
    },
}

impl Quota {
    /// A quota, or `None` if either number is zero.
    pub fn new(rate_per_minute: u32, burst: u32) -> Option<Self> {
        Some(Self { rate_per_minute: NonZeroU32::new(rate_per_minute)?, burst: NonZeroU32::new(burst)? })
    }

    /// T: the time one request "costs" (at least 1 µs).
    pub fn emission_interval_us(&self) -> u64 {
        (MICROS_PER_MINUTE / u64::from(self.rate_per_minute.get())).max(1)
    }

    /// τ + T: how far ahead of `now` the TAT may run.
    fn capacity_us(&self) -> u64 {
        self.emission_interval_us().saturating_mul(u64::from(self.burst.get()))
    }

    /// The window in seconds in which `burst` requests refill (for the
    /// `RateLimit-Policy` header), rounded up.
    pub fn window_seconds(&self) -> u64 {
        self.capacity_us().div_ceil(1_000_000)
    }
}

/// Decides one request at `now_us`, given the key's stored TAT (`None` for
/// a key never seen). A clock that goes backwards is treated as "no time
/// passed": the stored TAT still bounds admission.
pub fn check(quota: &Quota, tat: Option<u64>, now_us: u64) -> Verdict {
    let t = quota.emission_interval_us();
    let capacity = quota.capacity_us();
    let tat = tat.unwrap_or(now_us).max(now_us);
    let new_tat = tat.saturating_add(t);
    // Admit while the new TAT stays within `capacity` of now.
    let earliest = new_tat.saturating_sub(capacity);
    if now_us < earliest {
        return Verdict::Limit { retry_after_us: earliest - now_us, reset_after_us: tat - now_us };
    }
    let used = new_tat - now_us;
    let remaining = ((capacity - used) / t).min(u64::from(u32::MAX)) as u32;
    Verdict::Admit { tat: new_tat, remaining, reset_after_us: used }
}

/// The IETF RateLimit header fields in the structured-field syntax of
/// draft-ietf-httpapi-ratelimit-headers (revisions -08 and later): `RateLimit-Policy: "key";q=<burst>;w=<seconds>` and
/// `RateLimit: "key";r=<remaining>;t=<seconds until the burst is full>`.
pub fn headers(quota: &Quota, remaining: u32, reset_us: u64) -> [(&'static str, String); 2] {
    [
        ("ratelimit-policy", format!("\"key\";q={};w={}", quota.burst, quota.window_seconds())),
        ("ratelimit", format!("\"key\";r={remaining};t={}", reset_us.div_ceil(1_000_000))),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn admit(q: &Quota, tat: &mut Option<u64>, now: u64) -> bool {
        match check(q, *tat, now) {
            Verdict::Admit { tat: t, .. } => {
                *tat = Some(t);
                true
            }
            Verdict::Limit { .. } => false,
        }
    }

    #[test]
    fn burst_then_sustained_rate() {
        let q = Quota::new(60, 5).unwrap(); // 1 per second
        let mut tat = None;
        let admitted = (0..40).filter(|_| admit(&q, &mut tat, 0)).count();
        assert_eq!(admitted, 5, "exactly the burst from idle");
        assert!(!admit(&q, &mut tat, 999_999), "the next one needs a full interval");
        assert!(admit(&q, &mut tat, 1_000_000));
        assert!(!admit(&q, &mut tat, 1_500_000));
        assert!(admit(&q, &mut tat, 2_000_000));
    }

    #[test]
    fn idle_refills_to_the_burst_and_no_further() {
        let q = Quota::new(600, 3).unwrap(); // 100 ms interval
        let mut tat = None;
        (0..3).for_each(|_| assert!(admit(&q, &mut tat, 0)));
        let later = 3_600_000_000; // an hour idle
        let admitted = (0..10).filter(|_| admit(&q, &mut tat, later)).count();
        assert_eq!(admitted, 3);
    }

    #[test]
    fn retry_after_and_remaining_are_exact() {
        let q = Quota::new(120, 2).unwrap(); // 500 ms
        assert_eq!(check(&q, None, 10), Verdict::Admit { tat: 500_010, remaining: 1, reset_after_us: 500_000 });
        assert_eq!(check(&q, Some(500_010), 10), Verdict::Admit { tat: 1_000_010, remaining: 0, reset_after_us: 1_000_000 });
        assert_eq!(check(&q, Some(1_000_010), 10), Verdict::Limit { retry_after_us: 500_000, reset_after_us: 1_000_000 });
    }

    #[test]
    fn clock_going_backwards_never_admits_more() {
        let q = Quota::new(60, 2).unwrap();
        let mut tat = None;
        assert!(admit(&q, &mut tat, 10_000_000));
        assert!(admit(&q, &mut tat, 10_000_000));
        assert!(!admit(&q, &mut tat, 5_000_000), "an earlier clock does not refill");
        assert!(!admit(&q, &mut tat, 0));
    }

    #[test]
    fn extreme_rates() {
        let fast = Quota::new(u32::MAX, u32::MAX).unwrap();
        assert_eq!(fast.emission_interval_us(), 1);
        assert!(matches!(check(&fast, Some(u64::MAX - 1), u64::MAX), Verdict::Admit { .. } | Verdict::Limit { .. }));
        let slow = Quota::new(1, 1).unwrap(); // one a minute
        let mut tat = None;
        assert!(admit(&slow, &mut tat, 0));
        assert!(!admit(&slow, &mut tat, 59_999_999));
        assert!(admit(&slow, &mut tat, 60_000_000));
        assert!(Quota::new(0, 1).is_none() && Quota::new(1, 0).is_none());
        assert_eq!(slow.window_seconds(), 60);
    }

    #[test]
    fn header_syntax() {
        let q = Quota::new(600, 50).unwrap();
        let Verdict::Admit { remaining, reset_after_us, .. } = check(&q, None, 0) else { panic!() };
        let h = headers(&q, remaining, reset_after_us);
        assert_eq!(h[0], ("ratelimit-policy", "\"key\";q=50;w=5".to_owned()));
        assert_eq!(h[1], ("ratelimit", "\"key\";r=49;t=1".to_owned()));
    }

    /// A leaky bucket, the textbook equivalent of GCRA: the level drains at
    /// one unit per microsecond and each request adds T; it may not exceed
    /// the capacity.
    struct Bucket {
        level: u64,
        last: u64,
    }

    impl Bucket {
        fn admit(&mut self, q: &Quota, now: u64) -> bool {
            let drained = now.saturating_sub(self.last);
            self.level = self.level.saturating_sub(drained);
            self.last = self.last.max(now);
            if self.level + q.emission_interval_us() > q.capacity_us() {
                return false;
            }
            self.level += q.emission_interval_us();
            true
        }
    }

    proptest! {
        #[test]
        fn matches_a_leaky_bucket(rate in 1u32..100_000, burst in 1u32..50, steps in prop::collection::vec(0u64..2_000_000, 1..200)) {
            let q = Quota::new(rate, burst).unwrap();
            let mut tat = None;
            let mut bucket = Bucket { level: 0, last: 0 };
            let mut now = 0;
            for step in steps {
                now += step;
                prop_assert_eq!(admit(&q, &mut tat, now), bucket.admit(&q, now), "at {}", now);
            }
        }

        #[test]
        fn never_more_than_burst_plus_elapsed_over_t(rate in 1u32..10_000, burst in 1u32..20, steps in prop::collection::vec(0u64..500_000, 1..300)) {
            let q = Quota::new(rate, burst).unwrap();
            let mut tat = None;
            let mut now = 0;
            let mut admitted = 0u64;
            for step in steps {
                now += step;
                admitted += u64::from(admit(&q, &mut tat, now));
            }
            prop_assert!(admitted <= u64::from(burst) + now / q.emission_interval_us());
        }
    }
}
