//! Quota presets per identity provider, and the edge's default quota.
//!
//! A preset is the quota a key for that IdP should get so that the IdP's
//! normal provisioning traffic is never throttled. Where the IdP publishes
//! what it expects of a SCIM service, the preset follows it; where it
//! publishes nothing, the preset is the default, which already covers the
//! most demanding published figure (Microsoft's: at least 25 requests per
//! second per tenant). Sources are cited in docs/rate-limits.md.
//!
//! ```
//! use provgate::core::preset;
//! let entra = preset::named("entra").unwrap();
//! assert!(entra.rate_per_minute.get() >= 25 * 60);
//! assert_eq!(preset::named("Okta"), Some(preset::DEFAULT));
//! assert_eq!(preset::named("unknown-idp"), None);
//! ```

use super::gcra::Quota;
use std::num::NonZeroU32;

const fn quota(rate_per_minute: u32, burst: u32) -> Quota {
    match (NonZeroU32::new(rate_per_minute), NonZeroU32::new(burst)) {
        (Some(rate_per_minute), Some(burst)) => Quota { rate_per_minute, burst },
        _ => panic!("a preset's numbers are never zero"),
    }
}

/// The quota of keys whose record sets none, unless `RATE_PER_MINUTE` and
/// `BURST` say otherwise: 30 requests per second sustained (20 % above the
/// 25 per second Microsoft asks SCIM services to sustain per tenant), and
/// 100 at once from idle (four seconds of that rate).
pub const DEFAULT: Quota = quota(1_800, 100);

/// Every preset, by the name `named` accepts.
pub const PRESETS: &[(&str, Quota)] = &[
    // Microsoft: "support at least 25 requests per second per tenant".
    ("entra", quota(1_800, 100)),
    // Okta, OneLogin, JumpCloud and Google publish no rate for their
    // outbound SCIM calls; the default covers the published maximum above.
    ("okta", DEFAULT),
    ("onelogin", DEFAULT),
    ("jumpcloud", DEFAULT),
    ("google", DEFAULT),
];

/// The preset called `name` (case-insensitive), or `None` for an unknown name.
pub fn named(name: &str) -> Option<Quota> {
    PRESETS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.trim())).map(|(_, q)| *q)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::gcra::{check, Verdict};

    /// Sends `per_second` requests a second for `seconds`, each up to
    /// `jitter_us` early, and counts the refused ones.
    fn refused(quota: &Quota, per_second: u64, seconds: u64, jitter_us: u64) -> usize {
        let interval = 1_000_000 / per_second;
        let mut tat = None;
        let mut refused = 0;
        for i in 0..per_second * seconds {
            // A deterministic jitter: requests bunch up, none is late.
            let early = (i * 7_919) % (jitter_us + 1);
            let now = (i * interval + 1_000_000).saturating_sub(early);
            match check(quota, tat, now) {
                Verdict::Admit { tat: next, .. } => tat = Some(next),
                Verdict::Limit { .. } => refused += 1,
            }
        }
        refused
    }

    #[test]
    fn the_default_sustains_entra_25_requests_per_second() {
        for quota in [DEFAULT, named("entra").unwrap()] {
            assert_eq!(refused(&quota, 25, 600, 0), 0);
            // Bunched traffic (each request up to half a second early) too.
            assert_eq!(refused(&quota, 25, 600, 500_000), 0);
        }
    }

    #[test]
    fn the_default_still_limits_a_runaway_client() {
        assert!(refused(&DEFAULT, 100, 60, 0) > 3_000);
    }

    #[test]
    fn every_preset_is_found_by_its_name_in_any_case() {
        for (name, quota) in PRESETS {
            assert_eq!(named(name), Some(*quota));
            assert_eq!(named(&name.to_ascii_uppercase()), Some(*quota));
            assert!(quota.rate_per_minute >= DEFAULT.rate_per_minute, "{name} is below the default");
        }
        assert_eq!(named(""), None);
        assert_eq!(named("entra2"), None);
    }
}
