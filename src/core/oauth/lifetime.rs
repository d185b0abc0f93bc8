//! How long each OAuth artefact lives, and the one rule they share: none
//! outlives the key that obtained it.
//!
//! | artefact | lifetime |
//! |---|---|
//! | access token | the edge's setting: default 1 h, 60 s to 24 h |
//! | authorization code | 60 s (the IdP redeems it at once) |
//! | refresh token | 90 days after it was issued; every use rotates it, so an active connection never expires |

use crate::core::time::UnixMillis;

/// Access token lifetime when the edge sets none.
pub const DEFAULT_ACCESS_SECONDS: u32 = 3_600;
/// The shortest access token lifetime an operator may set.
pub const MIN_ACCESS_SECONDS: u32 = 60;
/// The longest access token lifetime an operator may set.
pub const MAX_ACCESS_SECONDS: u32 = 86_400;
/// Authorization code lifetime.
pub const CODE_SECONDS: u32 = 60;
/// Refresh token lifetime from its issue.
pub const REFRESH_SECONDS: u32 = 90 * 86_400;

/// A valid access token lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessLifetime(u32);

impl AccessLifetime {
    /// `seconds` if within [`MIN_ACCESS_SECONDS`]..=[`MAX_ACCESS_SECONDS`].
    pub fn new(seconds: u32) -> Option<Self> {
        (MIN_ACCESS_SECONDS..=MAX_ACCESS_SECONDS).contains(&seconds).then_some(Self(seconds))
    }

    /// The lifetime in seconds.
    pub fn seconds(self) -> u32 {
        self.0
    }
}

impl Default for AccessLifetime {
    fn default() -> Self {
        Self(DEFAULT_ACCESS_SECONDS)
    }
}

/// When something issued at `now` for `seconds` expires, in whole seconds
/// since the epoch: `(issued_at, expires_at)`. Never later than the key's
/// own `key_expires_at`; `None` if that leaves less than a second.
///
/// ```
/// use provgate::core::oauth::lifetime::window;
/// use provgate::core::UnixMillis;
/// assert_eq!(window(UnixMillis(10_500), 3_600, None), Some((10, 3_610)));
/// assert_eq!(window(UnixMillis(10_500), 3_600, Some(UnixMillis(70_999))), Some((10, 70)));
/// assert_eq!(window(UnixMillis(10_500), 3_600, Some(UnixMillis(10_999))), None);
/// ```
pub fn window(now: UnixMillis, seconds: u32, key_expires_at: Option<UnixMillis>) -> Option<(u64, u64)> {
    let issued_at = now.0 / 1000;
    let mut expires_at = issued_at.saturating_add(u64::from(seconds));
    if let Some(key) = key_expires_at {
        expires_at = expires_at.min(key.0 / 1000);
    }
    (expires_at > issued_at).then_some((issued_at, expires_at))
}

/// Whether something that expires at `expires_at` (seconds) is dead at
/// `now`: from that second on, to the millisecond.
pub fn expired(expires_at: u64, now: UnixMillis) -> bool {
    now.0 >= expires_at.saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_bounded() {
        assert_eq!(AccessLifetime::default().seconds(), 3_600);
        assert_eq!(AccessLifetime::new(86_400).map(AccessLifetime::seconds), Some(86_400));
        assert_eq!(AccessLifetime::new(86_401), None);
        assert_eq!(AccessLifetime::new(59), None);
    }

    #[test]
    fn expiry_is_to_the_second_and_never_past_the_key() {
        assert!(!expired(100, UnixMillis(99_999)));
        assert!(expired(100, UnixMillis(100_000)));
        assert!(expired(0, UnixMillis(0)));
        assert_eq!(window(UnixMillis(100_000), 60, Some(UnixMillis(130_000))), Some((100, 130)));
        assert_eq!(window(UnixMillis(100_000), 60, Some(UnixMillis(100_999))), None);
        assert_eq!(window(UnixMillis(100_000), 60, Some(UnixMillis(50_000))), None);
    }
}
