//! How a key may be used, as its record says: `auth_modes`,
//! `redirect_uris` and `pkce_required`.
//!
//! A record without `auth_modes` allows `bearer` only: every key minted
//! before OAuth existed keeps working exactly as it did, and OAuth is
//! something an operator turns on per key. A record that lists OAuth modes
//! without `bearer` makes the key itself unusable on SCIM routes.

use crate::core::parsed::FromText;
use crate::core::record::KeyRecord;
use std::fmt;

/// At most this many redirect URIs per key.
pub const MAX_REDIRECT_URIS: usize = 10;
/// The longest redirect URI accepted, in bytes.
pub const MAX_REDIRECT_URI_LEN: usize = 512;

/// One way of presenting a key's authority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The provisioning key itself on SCIM requests.
    Bearer,
    /// OAuth 2.0 client credentials (RFC 6749 §4.4): the key is the client secret.
    ClientCredentials,
    /// OAuth 2.0 authorization code with refresh tokens (RFC 6749 §4.1, §6).
    AuthorizationCode,
}

impl Mode {
    /// Every mode, in the order records list them.
    pub const ALL: [Mode; 3] = [Mode::Bearer, Mode::ClientCredentials, Mode::AuthorizationCode];

    /// The record's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Bearer => "bearer",
            Mode::ClientCredentials => "client_credentials",
            Mode::AuthorizationCode => "authorization_code",
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl FromText for Mode {
    const INVALID: &'static str = "invalid auth mode: expected 'bearer', 'client_credentials' or 'authorization_code'";
    fn from_text(text: &str) -> Option<Self> {
        Mode::ALL.into_iter().find(|m| m.as_str() == text)
    }
}

/// A non-empty set of modes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Modes(u8);

impl Modes {
    /// What a record without `auth_modes` allows.
    pub const DEFAULT: Modes = Modes(1 << Mode::Bearer as u8);

    /// The set of `modes`; `None` if it is empty or names a mode twice
    /// (an operator's mistake, refused rather than guessed at).
    pub fn new(modes: impl IntoIterator<Item = Mode>) -> Option<Self> {
        let mut bits = 0u8;
        for mode in modes {
            if bits & mode.bit() != 0 {
                return None;
            }
            bits |= mode.bit();
        }
        (bits != 0).then_some(Modes(bits))
    }

    /// Whether `mode` is in the set.
    pub fn allows(self, mode: Mode) -> bool {
        self.0 & mode.bit() != 0
    }

    /// The modes in the set, in [`Mode::ALL`]'s order.
    pub fn iter(self) -> impl Iterator<Item = Mode> {
        Mode::ALL.into_iter().filter(move |m| self.allows(*m))
    }
}

impl fmt::Debug for Modes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter().map(Mode::as_str)).finish()
    }
}

/// A redirect URI as registered on a key: compared byte for byte with the
/// one a client sends, never normalised, so what the operator wrote is
/// exactly where codes may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

impl RedirectUri {
    /// Accepts `https://` + a host + optional path and query: visible
    /// ASCII only, at most [`MAX_REDIRECT_URI_LEN`] bytes, no fragment
    /// (RFC 6749 §3.1.2), no user information in the authority.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("https://")?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let valid = text.len() <= MAX_REDIRECT_URI_LEN
            && text.bytes().all(|b| b.is_ascii_graphic())
            && !text.contains('#')
            && valid_authority(authority);
        valid.then(|| Self(text.to_owned()))
    }

    /// The URI's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `host[:port]`, where the host is a DNS name or IPv4 address (letters,
/// digits, `-` and `.`, no empty label) or a bracketed IPv6 address: what a
/// browser will really send the code to, so no user information, percent
/// sign, backslash or other character a URL parser reads its own way.
fn valid_authority(authority: &str) -> bool {
    let (host_ok, port) = match authority.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, after)) => (v6.parse::<std::net::Ipv6Addr>().is_ok(), after),
            None => return false,
        },
        None => {
            let (host, port) = authority.find(':').map_or((authority, ""), |i| authority.split_at(i));
            (host.split('.').all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')), port)
        }
    };
    let port_ok = match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit()) && digits.parse::<u32>().is_ok_and(|n| (1..=65_535).contains(&n)),
    };
    host_ok && port_ok
}

impl FromText for RedirectUri {
    const INVALID: &'static str = "invalid redirect_uri: expected https://host/path, no fragment, at most 512 visible ASCII characters";
    fn from_text(text: &str) -> Option<Self> {
        RedirectUri::parse(text)
    }
}

/// The record's OAuth fields, together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthPolicy {
    /// How the key may be presented.
    pub modes: Modes,
    /// Where authorization codes may be sent (exact strings).
    pub redirect_uris: Vec<RedirectUri>,
    /// Authorization requests must carry a PKCE S256 challenge.
    pub pkce_required: bool,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self { modes: Modes::DEFAULT, redirect_uris: Vec::new(), pkce_required: false }
    }
}

impl AuthPolicy {
    /// The policy from the record's fields as decoded; an error names the
    /// defect, so the whole record fails to decode (fail closed).
    pub fn from_fields(modes: Option<Vec<Mode>>, redirect_uris: Vec<RedirectUri>, pkce_required: bool) -> Result<Self, &'static str> {
        let modes = match modes {
            None => Modes::DEFAULT,
            Some(list) => Modes::new(list).ok_or("auth_modes must list at least one mode, each once")?,
        };
        if redirect_uris.len() > MAX_REDIRECT_URIS {
            return Err("at most 10 redirect_uris");
        }
        Ok(Self { modes, redirect_uris, pkce_required })
    }

    /// The modes to write, or `None` when they are the default (so that a
    /// record read and written back stays byte for byte what it was).
    pub fn modes_to_store(&self) -> Option<Vec<&'static str>> {
        (self.modes != Modes::DEFAULT).then(|| self.modes.iter().map(Mode::as_str).collect())
    }

    /// Whether `uri` is registered, exactly.
    pub fn registered(&self, uri: &str) -> Option<&RedirectUri> {
        self.redirect_uris.iter().find(|r| r.as_str() == uri)
    }
}

impl KeyRecord {
    /// Whether the key may be used in `mode` (e.g. `Mode::Bearer`: the key
    /// itself on SCIM routes).
    pub fn allows(&self, mode: Mode) -> bool {
        self.auth.modes.allows(mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_bearer_only() {
        let p = AuthPolicy::default();
        assert!(p.modes.allows(Mode::Bearer));
        assert!(!p.modes.allows(Mode::ClientCredentials) && !p.modes.allows(Mode::AuthorizationCode));
        assert_eq!(p.modes_to_store(), None);
    }

    #[test]
    fn modes_are_a_non_empty_set_without_repeats() {
        assert_eq!(Modes::new([]), None);
        assert_eq!(Modes::new([Mode::Bearer, Mode::Bearer]), None);
        let oauth_only = Modes::new([Mode::AuthorizationCode, Mode::ClientCredentials]).unwrap();
        assert!(!oauth_only.allows(Mode::Bearer));
        assert_eq!(oauth_only.iter().collect::<Vec<_>>(), vec![Mode::ClientCredentials, Mode::AuthorizationCode]);
        assert_eq!(format!("{oauth_only:?}"), r#"["client_credentials", "authorization_code"]"#);
        for m in Mode::ALL {
            assert_eq!(Mode::from_text(m.as_str()), Some(m));
        }
        assert_eq!(Mode::from_text("Bearer"), None);
        assert_eq!(Mode::from_text("implicit"), None);
    }

    #[test]
    fn redirect_uris_are_https_exact_strings() {
        for ok in [
            "https://acme.okta.com/oauth2/v1/authorize/callback",
            "https://system-admin.okta.com/admin/app/cpc/abc/oauth/callback?x=1",
            "https://127.0.0.1:8443/cb",
            "https://example.com",
            "https://[2001:db8::1]:8443/cb",
            "https://idp-1.example.com:443/cb?x=[1]",
        ] {
            assert_eq!(RedirectUri::parse(ok).map(|u| u.as_str().to_owned()), Some(ok.to_owned()), "{ok}");
        }
        let long = format!("https://example.com/{}", "a".repeat(MAX_REDIRECT_URI_LEN));
        for bad in [
            "http://example.com/cb",
            "HTTPS://example.com/cb",
            "https://",
            "https:///cb",
            "https://:443/cb",
            "https://user@example.com/cb",
            "https://example.com/cb#frag",
            "https://example.com/c b",
            "https://example.com/\u{e9}",
            "https://example.com/\r\nx",
            "javascript:alert(1)",
            "//example.com/cb",
            "https://[/cb",
            "https://[::1/cb",
            "https://[not-v6]/cb",
            "https://example.com:/cb",
            "https://example.com:0/cb",
            "https://example.com:65536/cb",
            "https://example.com:44a/cb",
            "https://example..com/cb",
            "https://.example.com/cb",
            "https://exa%6Dple.com/cb",
            "https://example.com\\@evil.example/cb",
            "https://ex_ample.com/cb",
            &long,
        ] {
            assert_eq!(RedirectUri::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn policy_from_fields() {
        let uri = |s: &str| RedirectUri::parse(s).unwrap();
        let p = AuthPolicy::from_fields(Some(vec![Mode::AuthorizationCode]), vec![uri("https://a.example/cb")], true).unwrap();
        assert_eq!(p.modes_to_store(), Some(vec!["authorization_code"]));
        assert!(p.registered("https://a.example/cb").is_some());
        assert!(p.registered("https://a.example/cb/").is_none());
        assert!(p.registered("https://A.example/cb").is_none());
        assert!(AuthPolicy::from_fields(Some(vec![]), vec![], false).is_err());
        assert!(AuthPolicy::from_fields(None, vec![uri("https://a.example/cb"); MAX_REDIRECT_URIS + 1], false).is_err());
        assert_eq!(AuthPolicy::from_fields(None, vec![], false), Ok(AuthPolicy::default()));
    }
}
