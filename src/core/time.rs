//! Time as a plain number the caller supplies.
//!
//! The core never reads a clock: the edge passes `Date.now()` and the CLI
//! passes the system time. Records store RFC 3339 strings so that operators
//! can read and write them by hand.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::time::{Duration, UNIX_EPOCH};

/// Milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixMillis(pub u64);

impl UnixMillis {
    /// Parses an RFC 3339 timestamp such as `2026-11-29T08:00:00Z`.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let t = humantime::parse_rfc3339(text).ok()?;
        let since = t.duration_since(UNIX_EPOCH).ok()?;
        u64::try_from(since.as_millis()).ok().map(Self)
    }

    /// Formats as RFC 3339 in UTC, to the second.
    pub fn to_rfc3339(self) -> String {
        humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_millis(self.0)).to_string()
    }

    /// RFC 3339 that loses nothing: to the second when the instant is a
    /// whole second (`…08:00:00Z`), else to the millisecond (`…08:00:00.500Z`).
    pub fn to_rfc3339_exact(self) -> String {
        let t = UNIX_EPOCH + Duration::from_millis(self.0);
        if self.0 % 1000 == 0 {
            humantime::format_rfc3339_seconds(t).to_string()
        } else {
            humantime::format_rfc3339_millis(t).to_string()
        }
    }

    /// The last instant RFC 3339 can write: 9999-12-31T23:59:59.999Z.
    pub const LAST: UnixMillis = UnixMillis(253_402_300_799_999);

    /// This instant plus a duration, saturating at [`LAST`](Self::LAST), so
    /// that any sum can still be written as RFC 3339.
    pub fn plus(self, d: Duration) -> Self {
        Self(self.0.saturating_add(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)).min(Self::LAST.0.max(self.0)))
    }
}

/// Parses an operator's duration: `90d`, `24h`, `30m`, `1w` (humantime syntax).
pub fn parse_duration(text: &str) -> Option<Duration> {
    humantime::parse_duration(text).ok().filter(|d| !d.is_zero())
}

/// Stored exactly, so that a record read and written back (revoke, rotate)
/// keeps the instants an operator wrote with fractions of a second.
impl Serialize for UnixMillis {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339_exact())
    }
}

impl<'de> Deserialize<'de> for UnixMillis {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor, not `&str`: JavaScript values (a Durable Object's
        // request body) arrive as owned strings, JSON text as borrowed ones.
        struct Rfc3339;
        impl de::Visitor<'_> for Rfc3339 {
            type Value = UnixMillis;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<UnixMillis, E> {
                UnixMillis::parse_rfc3339(text).ok_or_else(|| E::custom("expected an RFC 3339 timestamp"))
            }
        }
        d.deserialize_str(Rfc3339)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn far_future_sums_stay_printable() {
        let now = UnixMillis(1_764_600_000_000);
        let far = now.plus(Duration::from_secs(999_999 * 7 * 86_400));
        assert_eq!(far, UnixMillis::LAST);
        assert_eq!(far.to_rfc3339_exact(), "9999-12-31T23:59:59.999Z");
        assert_eq!(now.plus(Duration::from_secs(60)), UnixMillis(1_764_600_060_000));
    }

    #[test]
    fn rfc3339_round_trips_to_the_second() {
        let t = UnixMillis::parse_rfc3339("2026-11-29T08:00:00Z").unwrap();
        assert_eq!(t, UnixMillis(1_795_939_200_000));
        assert_eq!(t.to_rfc3339(), "2026-11-29T08:00:00Z");
        assert_eq!(UnixMillis::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn stored_instants_keep_their_milliseconds() {
        for text in ["2026-11-29T08:00:00Z", "2026-11-29T08:00:00.500Z", "2026-11-29T08:00:00.001Z", "9999-12-31T23:59:59.999Z"] {
            let t = UnixMillis::parse_rfc3339(text).unwrap();
            assert_eq!(t.to_rfc3339_exact(), text);
            let json = serde_json::to_string(&t).unwrap();
            assert_eq!(serde_json::from_str::<UnixMillis>(&json).unwrap(), t, "{json}");
        }
        // Below a millisecond is not kept: the clock this compares with has none.
        let micro = UnixMillis::parse_rfc3339("2026-11-29T08:00:00.123456Z").unwrap();
        assert_eq!(micro.to_rfc3339_exact(), "2026-11-29T08:00:00.123Z");
    }

    #[test]
    fn sums_stay_writable() {
        let far = UnixMillis(0).plus(Duration::from_secs(700_000 * 604_800));
        assert_eq!(far, UnixMillis::LAST);
        assert_eq!(far.to_rfc3339_exact(), "9999-12-31T23:59:59.999Z");
        assert_eq!(UnixMillis(5).plus(Duration::from_millis(5)), UnixMillis(10));
    }

    #[test]
    fn durations_read_like_an_operator_writes_them() {
        assert_eq!(parse_duration("90d"), Some(Duration::from_secs(90 * 86_400)));
        assert_eq!(parse_duration("24h"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("soon"), None);
    }
}
