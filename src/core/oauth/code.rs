//! Authorization codes: `pvc_` + base64url(binding) + `.` + base64url(MAC),
//! sealed like access tokens, valid 60 s.
//!
//! The code carries what it is bound to (RFC 6749 §4.1.3, RFC 7636 §4.6):
//! the client (the key id), the exact redirect URI, the PKCE challenge and
//! the scopes granted. Its MAC proves the edge issued it, so the edge needs
//! no storage to know what a code means; being used only once is the key's
//! guard's job (`redeemed`), which remembers the code's id until it expires.
//!
//! Layout (version 1), after the envelope's version and secret id: code id
//! (16), expires at (8, seconds), flags (1: bit 0 = a challenge follows),
//! challenge (32), key id (1 + n), redirect URI (2 + n), scopes.

use super::envelope::{self, Rejection, TooLarge};
use super::ids::CodeId;
use super::layout::{Reader, Writer};
use super::lifetime::{expired, window, CODE_SECONDS};
use super::pkce::CodeChallenge;
use super::policy::RedirectUri;
use crate::core::key::KeyId;
use crate::core::scope::Scope;
use crate::core::time::UnixMillis;

/// Every authorization code starts with this.
pub const CODE_PREFIX: &str = "pvc_";
/// The layout this code writes and reads.
pub const CODE_VERSION: u8 = 1;

/// What a code is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeClaims {
    /// The code's id, remembered by the key's guard once redeemed.
    pub code_id: CodeId,
    /// Refused from this second on.
    pub expires_at: u64,
    /// The client it was issued to.
    pub key_id: KeyId,
    /// The redirect URI it was sent to; the token request must name it again.
    pub redirect_uri: String,
    /// The PKCE challenge, if the client sent one.
    pub challenge: Option<CodeChallenge>,
    /// The scopes granted.
    pub scopes: Vec<Scope>,
}

/// An issued code's text. Neither `Debug` nor `Display`.
pub struct AuthCode(String);

impl AuthCode {
    /// The code's text, for the redirect only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl CodeClaims {
    /// A code issued at `now`; `None` if the key expires within the second.
    pub fn new(
        code_id: CodeId,
        key_id: KeyId,
        redirect_uri: &RedirectUri,
        challenge: Option<CodeChallenge>,
        scopes: Vec<Scope>,
        now: UnixMillis,
        key_expires_at: Option<UnixMillis>,
    ) -> Option<Self> {
        let (_, expires_at) = window(now, CODE_SECONDS, key_expires_at)?;
        Some(Self { code_id, expires_at, key_id, redirect_uri: redirect_uri.as_str().to_owned(), challenge, scopes })
    }

    fn encode(&self) -> Option<Vec<u8>> {
        let mut w = Writer::default();
        w.bytes(&self.code_id.0);
        w.u64(self.expires_at);
        w.u8(u8::from(self.challenge.is_some()));
        if let Some(c) = &self.challenge {
            w.bytes(&c.0);
        }
        w.key_id(&self.key_id)?;
        w.text(&self.redirect_uri)?;
        w.scopes(&self.scopes)?;
        Some(w.finish())
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let mut r = Reader::new(bytes);
        let code_id = CodeId(r.array()?);
        let expires_at = r.u64()?;
        let challenge = match r.u8()? {
            0 => None,
            1 => Some(CodeChallenge(r.array()?)),
            _ => return None,
        };
        let claims = Self { code_id, expires_at, challenge, key_id: r.key_id()?, redirect_uri: r.text()?.to_owned(), scopes: r.scopes()? };
        r.end()?;
        Some(claims)
    }
}

/// Seals a code under the current secret.
pub fn issue(keys: &super::keys::TokenKeys, claims: &CodeClaims) -> Result<AuthCode, TooLarge> {
    let body = claims.encode().ok_or(TooLarge)?;
    envelope::seal(keys, CODE_PREFIX, CODE_VERSION, &body).map(AuthCode)
}

/// Verifies a presented code at `now` (MAC, then expiry). What it is bound
/// to is checked by the token endpoint (`exchange`), single use by the guard.
pub fn verify(keys: &super::keys::TokenKeys, presented: &str, now: UnixMillis) -> Result<CodeClaims, Rejection> {
    let (claims, _) = envelope::open(keys, CODE_PREFIX, CODE_VERSION, presented, CodeClaims::decode)?;
    if expired(claims.expires_at, now) {
        return Err(Rejection::Expired);
    }
    Ok(claims)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::core::oauth::keys::TokenKeys;
    use crate::core::scope::parse_list;
    use proptest::prelude::*;

    pub(crate) const NOW: UnixMillis = UnixMillis(1_800_000_000_000);

    pub(crate) fn keys() -> TokenKeys {
        TokenKeys::new(b"current token secret, 32 bytes.!", None).unwrap()
    }

    pub(crate) fn claims(challenge: Option<CodeChallenge>) -> CodeClaims {
        let uri = RedirectUri::parse("https://acme.okta.com/oauth2/callback").unwrap();
        CodeClaims::new(CodeId([5; 16]), KeyId::parse("key_3mXq8Jt0aZ").unwrap(), &uri, challenge, parse_list("users:read,groups:read").unwrap(), NOW, None)
            .unwrap()
    }

    #[test]
    fn a_code_lives_sixty_seconds() {
        let c = claims(None);
        let code = issue(&keys(), &c).unwrap();
        assert!(code.expose().starts_with("pvc_"));
        assert_eq!(verify(&keys(), code.expose(), UnixMillis(NOW.0 + 59_999)), Ok(c));
        assert_eq!(verify(&keys(), code.expose(), UnixMillis(NOW.0 + 60_000)), Err(Rejection::Expired));
    }

    #[test]
    fn a_code_is_not_a_token_and_a_token_is_not_a_code() {
        let code = issue(&keys(), &claims(None)).unwrap();
        let as_token = code.expose().replacen("pvc_", "pva_", 1);
        assert!(crate::core::oauth::access::verify(&keys(), &as_token, NOW).is_err());
        assert!(crate::core::oauth::access::verify(&keys(), code.expose(), NOW).is_err());
        let token = crate::core::oauth::access::issue(&keys(), &crate::core::oauth::claims::tests::claims()).unwrap();
        assert!(verify(&keys(), &token.expose().replacen("pva_", "pvc_", 1), NOW).is_err());
    }

    proptest! {
        #[test]
        fn round_trip_and_any_change_is_refused(challenge in prop::option::of(any::<[u8; 32]>()), pos in any::<usize>(), byte in any::<u8>()) {
            let c = claims(challenge.map(CodeChallenge));
            let code = issue(&keys(), &c).unwrap();
            prop_assert_eq!(verify(&keys(), code.expose(), NOW), Ok(c));
            let mut bytes = code.expose().as_bytes().to_vec();
            let pos = pos % bytes.len();
            prop_assume!(bytes[pos] != byte);
            bytes[pos] = byte;
            if let Ok(changed) = String::from_utf8(bytes) {
                prop_assert!(verify(&keys(), &changed, NOW).is_err());
            }
        }
    }
}
