//! The opt-in guard lease (`GUARD_LEASE=<N>/<L>s`; default `exact`).
//!
//! With the exact guard every request with a key asks the key's guard. With
//! a lease, an isolate asks for up to N admissions at once; the guard
//! charges all of them to the key's GCRA state when it grants them, and the
//! isolate spends them on its next requests with that key for at most L
//! seconds, then asks again, reporting how many it spent (they are counted
//! in the key's usage then). The bounds, tested below for any traffic:
//!
//! - **rate**: admissions are charged when granted and spent within L of
//!   the grant, so in any window of W seconds at most
//!   `burst + rate × (W + L)` requests are admitted, however many isolates
//!   hold leases: over-admission ≤ rate × L per window;
//! - **revocation**: an isolate admits a revoked key only from a lease it
//!   was granted before the revocation: at most N − 1 requests and only
//!   within L seconds of it;
//! - **usage**: every locally admitted request is reported with the
//!   isolate's next ask for the key (batched; lost if the isolate is
//!   evicted first, as its origin reports are).
//!
//! A key whose record sets `exact_rate` is never leased.

use super::gcra::{self, Quota, Verdict};

/// Largest lease that can be asked for (`N`).
pub const MAX_SIZE: u32 = 1000;
/// Longest a lease may be spent (`L`), in seconds.
pub const MAX_SECONDS: u64 = 10;

/// The `GUARD_LEASE` setting when not `exact`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseSetting {
    /// Admissions asked for at once (N ≥ 2; 1 would be the exact guard).
    pub size: u32,
    /// How long a grant may be spent (L), in milliseconds.
    pub ttl_ms: u64,
}

impl LeaseSetting {
    /// `exact` (or empty): `None`, every request asks its key's guard.
    /// Otherwise `<N>/<L>s`, e.g. `20/1s`: N in 2..=1000, L in 1..=10.
    pub fn parse(value: &str) -> Result<Option<Self>, String> {
        let value = value.trim();
        if value.is_empty() || value.eq_ignore_ascii_case("exact") {
            return Ok(None);
        }
        let bad = || format!("GUARD_LEASE must be `exact` or `<N>/<L>s` with N in 2..={MAX_SIZE} and L in 1..={MAX_SECONDS} (e.g. `20/1s`), not `{value}`");
        let (size, seconds) = value.split_once('/').ok_or_else(bad)?;
        let size: u32 = size.trim().parse().map_err(|_| bad())?;
        let seconds: u64 = seconds.trim().strip_suffix('s').ok_or_else(bad)?.parse().map_err(|_| bad())?;
        if !(2..=MAX_SIZE).contains(&size) || !(1..=MAX_SECONDS).contains(&seconds) {
            return Err(bad());
        }
        Ok(Some(Self { size, ttl_ms: seconds * 1000 }))
    }
}

/// The guard's side: meters one request plus up to `want − 1` more for the
/// asking isolate to spend later, all charged now. Returns how many were
/// granted (≥ 1 when admitted; the asking request spends one), the GCRA
/// verdict for the first, and the new TAT.
pub fn grant(quota: &Quota, tat: Option<u64>, now_us: u64, want: u32) -> (Verdict, u32) {
    match gcra::check(quota, tat, now_us) {
        Verdict::Admit { tat, remaining, reset_after_us } => {
            let extra = want.saturating_sub(1).min(remaining);
            let charged = u64::from(extra) * quota.emission_interval_us();
            let verdict = Verdict::Admit { tat: tat.saturating_add(charged), remaining: remaining - extra, reset_after_us: reset_after_us.saturating_add(charged) };
            (verdict, extra + 1)
        }
        limit @ Verdict::Limit { .. } => (limit, 0),
    }
}

/// What one isolate holds for one key: admissions left to spend until
/// `expires_at_ms`, and the admissions spent locally not yet reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lease {
    left: u32,
    expires_at_ms: u64,
    unreported: u32,
}

impl Lease {
    /// Spends one admission if the lease holds one and has not expired:
    /// the request is admitted without asking the guard.
    pub fn spend(&mut self, now_ms: u64) -> bool {
        if self.left == 0 || now_ms >= self.expires_at_ms {
            self.left = 0;
            return false;
        }
        self.left -= 1;
        self.unreported = self.unreported.saturating_add(1);
        true
    }

    /// The admissions spent locally since the last report, for the next ask;
    /// [`Lease::restore`] them if that ask fails.
    pub fn take_report(&mut self) -> u32 {
        std::mem::take(&mut self.unreported)
    }

    /// A report whose ask failed, kept for the next one.
    pub fn restore(&mut self, spent: u32) {
        self.unreported = self.unreported.saturating_add(spent);
    }

    /// The guard granted `granted` admissions at `now_ms`; the asking
    /// request spent the first. Whatever was left of an earlier lease is
    /// dropped (it was charged already: lost, never spent twice).
    pub fn granted(&mut self, granted: u32, now_ms: u64, setting: &LeaseSetting) {
        self.left = granted.saturating_sub(1);
        self.expires_at_ms = now_ms.saturating_add(setting.ttl_ms);
    }

    /// Admissions still held (expired or not).
    pub fn left(&self) -> u32 {
        self.left
    }

    /// Ends the lease at once (the guard answered anything but a grant).
    pub fn end(&mut self) {
        self.left = 0;
    }

    /// Whether nothing is held or owed: the isolate may forget it.
    pub fn is_idle(&self, now_ms: u64) -> bool {
        self.unreported == 0 && (self.left == 0 || now_ms >= self.expires_at_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn setting() {
        assert_eq!(LeaseSetting::parse("exact"), Ok(None));
        assert_eq!(LeaseSetting::parse(""), Ok(None));
        assert_eq!(LeaseSetting::parse("20/1s"), Ok(Some(LeaseSetting { size: 20, ttl_ms: 1000 })));
        assert_eq!(LeaseSetting::parse(" 1000 / 10s "), Ok(Some(LeaseSetting { size: 1000, ttl_ms: 10_000 })));
        for bad in ["1/1s", "1001/1s", "20/0s", "20/11s", "20/1", "20", "x/1s", "20/1m", "-3/1s"] {
            assert!(LeaseSetting::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_grant_is_charged_at_once_and_bounded_by_what_is_left() {
        let q = Quota::new(60, 5).unwrap();
        let (verdict, granted) = grant(&q, None, 0, 3);
        assert_eq!(granted, 3);
        assert!(matches!(verdict, Verdict::Admit { remaining: 2, tat: 3_000_000, .. }));
        let (_, granted) = grant(&q, Some(3_000_000), 0, 10);
        assert_eq!(granted, 2, "only the rest of the burst");
        assert!(matches!(grant(&q, Some(5_000_000), 0, 10), (Verdict::Limit { .. }, 0)));
    }

    #[test]
    fn spending_reporting_and_expiry() {
        let s = LeaseSetting { size: 3, ttl_ms: 1000 };
        let mut lease = Lease::default();
        assert!(!lease.spend(0), "nothing held");
        lease.granted(3, 0, &s);
        assert!(lease.spend(10) && lease.spend(20) && !lease.spend(30));
        assert_eq!(lease.take_report(), 2);
        assert_eq!(lease.take_report(), 0);
        lease.granted(3, 100, &s);
        assert!(!lease.spend(1100), "expired after L");
        lease.restore(4);
        assert!(!lease.is_idle(2000));
        assert_eq!(lease.take_report(), 4);
        assert!(lease.is_idle(2000));
    }

    /// One request from isolate `isolate` at `at_ms`, or the key revoked then.
    #[derive(Debug, Clone)]
    enum Event {
        Request { isolate: usize, gap_ms: u64 },
        Revoke { gap_ms: u64 },
    }

    fn events() -> impl Strategy<Value = Vec<Event>> {
        let event = prop_oneof![
            20 => (0..4usize, 0..300u64).prop_map(|(isolate, gap_ms)| Event::Request { isolate, gap_ms }),
            1 => (0..300u64).prop_map(|gap_ms| Event::Revoke { gap_ms }),
        ];
        prop::collection::vec(event, 1..400)
    }

    /// The guard and several isolates, as the edge drives them: each
    /// request spends from its isolate's lease or asks the guard, which
    /// grants up to N, counts reports, and answers revoked once revoked.
    struct World {
        quota: Quota,
        setting: LeaseSetting,
        tat: Option<u64>,
        revoked_at: Option<u64>,
        leases: Vec<Lease>,
        /// Admissions per isolate: when, whether the guard was asked, and
        /// whether the key was revoked by then.
        admitted: Vec<Vec<(u64, bool, bool)>>,
        counted: u64,
    }

    impl World {
        fn new(quota: Quota, setting: LeaseSetting) -> Self {
            Self { quota, setting, tat: None, revoked_at: None, leases: vec![Lease::default(); 4], admitted: vec![Vec::new(); 4], counted: 0 }
        }

        fn request(&mut self, isolate: usize, now_ms: u64) {
            let lease = &mut self.leases[isolate];
            if lease.spend(now_ms) {
                self.admitted[isolate].push((now_ms, false, self.revoked_at.is_some()));
                return;
            }
            let report = lease.take_report();
            // The guard: reports counted, then revocation, then the grant.
            self.counted += u64::from(report);
            if self.revoked_at.is_some() {
                lease.end();
                return;
            }
            match grant(&self.quota, self.tat, now_ms * 1000, self.setting.size) {
                (Verdict::Admit { tat, .. }, granted) => {
                    self.tat = Some(tat);
                    self.counted += 1;
                    lease.granted(granted, now_ms, &self.setting);
                    self.admitted[isolate].push((now_ms, true, false));
                }
                (Verdict::Limit { .. }, _) => lease.end(),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn bounds_hold_for_any_traffic(
            rate in 1u32..600, burst in 1u32..20, size in 2u32..50, seconds in 1u64..4, trace in events(), window_ms in 1u64..5000,
        ) {
            let quota = Quota::new(rate, burst).unwrap();
            let setting = LeaseSetting { size, ttl_ms: seconds * 1000 };
            let mut world = World::new(quota, setting);
            let mut now = 0;
            for event in &trace {
                match *event {
                    Event::Request { isolate, gap_ms } => { now += gap_ms; world.request(isolate, now) }
                    Event::Revoke { gap_ms } => { now += gap_ms; world.revoked_at.get_or_insert(now); }
                }
            }
            let all: Vec<u64> = { let mut v: Vec<u64> = world.admitted.iter().flatten().map(|(t, _, _)| *t).collect(); v.sort(); v };

            // Rate: in any window of W, at most burst + rate × (W + L), rounded up per interval.
            let interval_ms = quota.emission_interval_us() as f64 / 1000.0;
            let bound = u64::from(burst) + ((window_ms + setting.ttl_ms) as f64 / interval_ms).ceil() as u64;
            for (i, &start) in all.iter().enumerate() {
                let in_window = all[i..].iter().take_while(|&&t| t < start + window_ms).count() as u64;
                prop_assert!(in_window <= bound, "{in_window} admitted in {window_ms} ms, bound {bound}");
            }

            // Revocation: after it, per isolate, ≤ N − 1 admissions, all within L, none asked.
            if let Some(revoked) = world.revoked_at {
                for admitted in &world.admitted {
                    let after: Vec<_> = admitted.iter().filter(|(_, _, after)| *after).collect();
                    prop_assert!((after.len() as u32) < size);
                    prop_assert!(after.iter().all(|(t, asked, _)| *t < revoked + setting.ttl_ms && !asked));
                }
            }

            // Usage: every admission is counted by the guard or still owed by its isolate.
            let owed: u64 = world.leases.iter_mut().map(|l| u64::from(l.take_report())).sum();
            prop_assert_eq!(world.counted + owed, all.len() as u64);
        }
    }
}
