//! A key's status at an instant: the one function both the request path
//! (`decide::authorize`) and the management API (show, list, delete,
//! rotate) compute it with, so they can never disagree.

use super::record::Status;
use super::time::UnixMillis;

/// What a key is at a given instant, in the order the checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    /// Usable (as far as its record goes).
    Active,
    /// Revoked: refused for good.
    Revoked,
    /// Before its `not_before`.
    NotYetValid,
    /// From its `expires_at` on.
    Expired,
}

impl KeyStatus {
    /// Every status, for parsing and tests.
    pub const ALL: [KeyStatus; 4] = [KeyStatus::Active, KeyStatus::Revoked, KeyStatus::NotYetValid, KeyStatus::Expired];

    /// The name in API answers and filters.
    pub fn name(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Revoked => "revoked",
            KeyStatus::NotYetValid => "not_yet_valid",
            KeyStatus::Expired => "expired",
        }
    }

    /// The status named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// The status of a key whose record says `stored`, valid from `not_before`
/// and until `expires_at`, at `now`. Revocation wins over the validity
/// window, and "not yet" over "no longer" (a window that ends before it
/// starts is reported as not yet valid, as `authorize` refuses it).
///
/// ```
/// use provgate::core::{record::Status, status::{of, KeyStatus}, UnixMillis};
/// let t = |ms| Some(UnixMillis(ms));
/// assert_eq!(of(Status::Active, t(10), t(20), UnixMillis(15)), KeyStatus::Active);
/// assert_eq!(of(Status::Active, t(10), t(20), UnixMillis(20)), KeyStatus::Expired);
/// assert_eq!(of(Status::Revoked, None, None, UnixMillis(0)), KeyStatus::Revoked);
/// ```
pub fn of(stored: Status, not_before: Option<UnixMillis>, expires_at: Option<UnixMillis>, now: UnixMillis) -> KeyStatus {
    if stored == Status::Revoked {
        KeyStatus::Revoked
    } else if not_before.is_some_and(|t| now < t) {
        KeyStatus::NotYetValid
    } else if expires_at.is_some_and(|t| now >= t) {
        KeyStatus::Expired
    } else {
        KeyStatus::Active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_names() {
        let t = |ms| Some(UnixMillis(ms));
        assert_eq!(of(Status::Revoked, t(100), t(50), UnixMillis(200)), KeyStatus::Revoked);
        assert_eq!(of(Status::Active, t(100), t(50), UnixMillis(75)), KeyStatus::NotYetValid);
        assert_eq!(of(Status::Active, t(100), t(50), UnixMillis(150)), KeyStatus::Expired);
        assert_eq!(of(Status::Active, None, None, UnixMillis(u64::MAX)), KeyStatus::Active);
        for s in KeyStatus::ALL {
            assert_eq!(KeyStatus::parse(s.name()), Some(s));
        }
        assert_eq!(KeyStatus::parse("incomplete"), None);
    }
}
