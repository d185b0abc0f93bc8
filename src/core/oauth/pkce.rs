//! PKCE (RFC 7636), S256 only: the client sends
//! `code_challenge = BASE64URL(SHA-256(code_verifier))` when it asks for a
//! code and the verifier when it redeems it, so a code intercepted on its
//! way back is useless without the verifier. `plain` (the challenge is the
//! verifier) protects nothing against that and is refused, as is a
//! challenge without a method (RFC 7636 §4.3 makes that `plain`).

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A verified S256 challenge: the SHA-256 the verifier must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeChallenge(pub [u8; 32]);

/// Why the challenge parameters of an authorization request are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceError {
    /// `code_challenge_method=plain`, or a challenge with no method.
    Plain,
    /// A method other than `S256` and `plain`.
    UnknownMethod,
    /// A method with no challenge.
    MethodWithoutChallenge,
    /// Not 43 base64url characters (the encoding of 32 bytes).
    BadChallenge,
}

impl CodeChallenge {
    /// The challenge of an authorization request: `Ok(None)` when the
    /// client sent neither parameter.
    pub fn from_request(challenge: Option<&str>, method: Option<&str>) -> Result<Option<Self>, PkceError> {
        match (challenge, method) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(PkceError::MethodWithoutChallenge),
            (Some(_), None | Some("plain")) => Err(PkceError::Plain),
            (Some(_), Some(m)) if m != "S256" => Err(PkceError::UnknownMethod),
            (Some(c), Some(_)) => {
                let mut digest = [0u8; 32];
                match (c.len(), URL_SAFE_NO_PAD.decode_slice(c, &mut digest)) {
                    (43, Ok(32)) => Ok(Some(Self(digest))),
                    _ => Err(PkceError::BadChallenge),
                }
            }
        }
    }

    /// The challenge a client derives from `verifier`; `None` if the
    /// verifier is not 43 to 128 unreserved characters (RFC 7636 §4.1).
    pub fn of_verifier(verifier: &str) -> Option<Self> {
        let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        let valid = (43..=128).contains(&verifier.len()) && verifier.bytes().all(unreserved);
        valid.then(|| Self(Sha256::digest(verifier.as_bytes()).into()))
    }

    /// Whether `verifier` hashes to this challenge (compared in constant time).
    pub fn verifies(&self, verifier: &str) -> bool {
        Self::of_verifier(verifier).is_some_and(|c| bool::from(c.0.ct_eq(&self.0)))
    }

    /// The challenge as a client sends it.
    pub fn to_param(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn rfc_7636_appendix_b() {
        let challenge = CodeChallenge::from_request(Some(CHALLENGE), Some("S256")).unwrap().unwrap();
        assert!(challenge.verifies(VERIFIER));
        assert_eq!(CodeChallenge::of_verifier(VERIFIER), Some(challenge));
        assert_eq!(challenge.to_param(), CHALLENGE);
        let mut other = VERIFIER.to_owned();
        other.replace_range(0..1, "e");
        assert!(!challenge.verifies(&other));
        // The challenge itself is not a verifier of itself (`plain` is refused).
        assert!(!challenge.verifies(CHALLENGE));
    }

    #[test]
    fn only_s256_with_a_well_formed_challenge() {
        assert_eq!(CodeChallenge::from_request(None, None), Ok(None));
        assert_eq!(CodeChallenge::from_request(Some(CHALLENGE), None), Err(PkceError::Plain));
        assert_eq!(CodeChallenge::from_request(Some(VERIFIER), Some("plain")), Err(PkceError::Plain));
        assert_eq!(CodeChallenge::from_request(Some(CHALLENGE), Some("s256")), Err(PkceError::UnknownMethod));
        assert_eq!(CodeChallenge::from_request(None, Some("S256")), Err(PkceError::MethodWithoutChallenge));
        for bad in ["", &CHALLENGE[..42], &format!("{CHALLENGE}A"), &format!("{CHALLENGE}="), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN"] {
            assert_eq!(CodeChallenge::from_request(Some(bad), Some("S256")), Err(PkceError::BadChallenge), "{bad}");
        }
    }

    #[test]
    fn verifiers_follow_the_grammar() {
        assert!(CodeChallenge::of_verifier(&"a".repeat(42)).is_none());
        assert!(CodeChallenge::of_verifier(&"a".repeat(43)).is_some());
        assert!(CodeChallenge::of_verifier(&"~._-".repeat(32)).is_some());
        assert!(CodeChallenge::of_verifier(&"a".repeat(129)).is_none());
        assert!(CodeChallenge::of_verifier(&format!("{}+", "a".repeat(43))).is_none());
    }
}
