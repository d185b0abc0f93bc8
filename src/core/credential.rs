//! Reading the provisioning key out of the `Authorization` header.
//!
//! Two forms are accepted: `Bearer <key>` (RFC 6750; Entra ID, OneLogin,
//! Okta's "OAuth Bearer Token" mode) and the bare key (Okta's "HTTP Header"
//! mode sends exactly what the admin pasted). Anything else is malformed:
//! no other scheme, no second `Bearer`, no list of credentials.

use super::key::{KeyFormatError, ProvisioningKey, KEY_PREFIX};
use super::oauth::{access::ACCESS_PREFIX, code::CODE_PREFIX, refresh::REFRESH_PREFIX};
use percent_encoding::{percent_decode, percent_decode_str};

/// Why no usable key could be read from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialError {
    /// No `Authorization` header, or an empty one.
    Missing,
    /// A value was sent but it is not a well-formed key.
    Format(KeyFormatError),
}

/// Extracts and format-checks the key from an `Authorization` header value.
///
/// ```
/// use provgate::core::credential::{from_authorization, CredentialError};
/// assert_eq!(from_authorization(None).err(), Some(CredentialError::Missing));
/// assert!(from_authorization(Some("Bearer not-a-key")).is_err());
/// ```
pub fn from_authorization(header: Option<&str>) -> Result<ProvisioningKey, CredentialError> {
    let value = header.map(trim_ows).filter(|v| !v.is_empty()).ok_or(CredentialError::Missing)?;
    let presented = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => trim_ows(rest),
        _ => value,
    };
    ProvisioningKey::parse(presented).map_err(CredentialError::Format)
}

/// What an `Authorization` header presents on a SCIM route.
pub enum Presented<'a> {
    /// A provisioning key (format and checksum checked).
    Key(ProvisioningKey),
    /// Something that starts like an OAuth access token (`pva_`): verified
    /// by its MAC (`oauth::access::verify`), not looked up.
    AccessToken(&'a str),
}

/// Reads the credential of an `Authorization` header: `Bearer <token>` or
/// the bare token is an access token; anything else is read as a key
/// ([`from_authorization`]).
///
/// ```
/// use provgate::core::credential::{presented, Presented};
/// assert!(matches!(presented(Some("Bearer pva_abc.def")), Ok(Presented::AccessToken("pva_abc.def"))));
/// assert!(presented(Some("Bearer pvk_x")).is_err());
/// ```
pub fn presented(header: Option<&str>) -> Result<Presented<'_>, CredentialError> {
    let value = header.map(trim_ows).filter(|v| !v.is_empty()).ok_or(CredentialError::Missing)?;
    let candidate = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => trim_ows(rest),
        _ => value,
    };
    if candidate.starts_with(ACCESS_PREFIX) {
        return Ok(Presented::AccessToken(candidate));
    }
    from_authorization(header).map(Presented::Key)
}

/// The prefixes of every secret provgate issues: provisioning keys, and
/// the management, access, refresh and code tokens. One list, so that a new
/// kind of secret is kept out of URLs by adding one line.
pub const SECRET_PREFIXES: &[&str] = &[KEY_PREFIX, "pvm_", ACCESS_PREFIX, REFRESH_PREFIX, CODE_PREFIX];

/// How many times a URL part is percent-decoded when looking for a
/// secret. No client encodes a URL more than twice; a part that still
/// decodes to something new after this many rounds is treated as hiding one.
pub const MAX_DECODINGS: usize = 4;

/// Whether `text` (a path or a query, as sent) holds a secret prefix in
/// any case, raw or percent-decoded up to [`MAX_DECODINGS`] times, or is
/// encoded more deeply than that. URLs end up in proxy, browser and
/// origin logs, so such a request is refused before anything else.
///
/// ```
/// use provgate::core::credential::secret_in_url;
/// assert!(secret_in_url("/scim/v2/Users/PVK_x"));
/// assert!(secret_in_url("/scim/v2/%2570vm_x"));
/// assert!(!secret_in_url("/scim/v2/Users/2819c223"));
/// ```
pub fn secret_in_url(text: &str) -> bool {
    let mut form = text.as_bytes().to_vec();
    for _ in 0..=MAX_DECODINGS {
        if has_secret_prefix(&form) {
            return true;
        }
        let decoded: Vec<u8> = percent_decode(&form).collect();
        if decoded == form {
            return false;
        }
        form = decoded;
    }
    true
}

fn has_secret_prefix(text: &[u8]) -> bool {
    SECRET_PREFIXES.iter().any(|p| text.windows(p.len()).any(|w| w.eq_ignore_ascii_case(p.as_bytes())))
}

/// Whether a query string carries a credential: a secret (see
/// [`secret_in_url`]) or an RFC 6750 `access_token` parameter. The query is
/// otherwise never interpreted.
///
/// ```
/// use provgate::core::credential::credential_in_query;
/// assert!(credential_in_query("access_token=abc"));
/// assert!(credential_in_query("key=%70vk_123"));
/// assert!(!credential_in_query("filter=userName%20eq%20%22bjensen%22&aadOptscim062020"));
/// ```
pub fn credential_in_query(query: &str) -> bool {
    secret_in_url(query)
        || query.split('&').any(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            percent_decode_str(name).collect::<Vec<u8>>().eq_ignore_ascii_case(b"access_token")
        })
}

/// Only HTTP's own whitespace (SP, HTAB: RFC 9110 §5.6.3) is padding;
/// `str::trim` would also drop Unicode spaces such as U+00A0 and U+3000,
/// and accept a header no HTTP peer should have sent.
fn trim_ows(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> String {
        ProvisioningKey::generate(|b| b.iter_mut().enumerate().for_each(|(i, x)| *x = i as u8)).expose().to_owned()
    }

    #[test]
    fn bearer_and_bare_forms_are_accepted() {
        let k = key();
        for header in [format!("Bearer {k}"), format!("bearer {k}"), format!("BEARER   {k} "), k.clone(), format!("  {k}")] {
            let parsed = from_authorization(Some(&header)).unwrap_or_else(|e| panic!("{header:?}: {e:?}"));
            assert_eq!(parsed.expose(), k);
        }
    }

    #[test]
    fn missing_and_empty_are_missing() {
        for header in [None, Some(""), Some("   ")] {
            assert_eq!(from_authorization(header).err(), Some(CredentialError::Missing));
        }
    }

    #[test]
    fn only_http_whitespace_is_trimmed() {
        let k = key();
        assert_eq!(from_authorization(Some(&format!("\t Bearer \t{k}\t "))).map(|p| p.expose().to_owned()).ok(), Some(k.clone()));
        for space in ['\u{a0}', '\u{85}', '\u{2003}', '\u{3000}'] {
            for header in [format!("{space}Bearer {k}"), format!("Bearer {k}{space}"), format!("{space}{k}")] {
                assert_eq!(from_authorization(Some(&header)).err(), Some(CredentialError::Format(KeyFormatError::Malformed)), "{header:?}");
            }
        }
        assert_eq!(from_authorization(Some("\u{3000}")).err(), Some(CredentialError::Format(KeyFormatError::Malformed)));
    }

    #[test]
    fn keys_and_access_tokens_in_the_query_are_found() {
        let k = key();
        for query in [
            format!("access_token={k}"),
            format!("key={k}"),
            format!("filter=userName%20eq%20%22{k}%22"),
            "x=%70%76%6b_abc".to_owned(),
            "ACCESS_TOKEN=x".to_owned(),
            "a=1&access%5Ftoken".to_owned(),
            "access_token=".to_owned(),
        ] {
            assert!(credential_in_query(&query), "{query}");
        }
        for query in ["", "startIndex=1&count=100", "aadOptscim062020", "filter=displayName%20eq%20%22pvk%22", "my_access_token_count=1"] {
            assert!(!credential_in_query(query), "{query}");
        }
    }

    #[test]
    fn every_secret_prefix_is_found_in_any_case_and_encoding() {
        let k = key();
        for text in [
            format!("/scim/v2/{k}"),
            format!("/scim/v2/Users/{k}"),
            format!("/scim/v2/Users/{}", k.to_ascii_lowercase()),
            format!("/scim/v2/Users/{}", k.to_ascii_uppercase()),
            "/scim/v2/pvm_abc".to_owned(),
            "/x/PVA_1".to_owned(),
            "/x/pVr_1".to_owned(),
            "/x/pvc_".to_owned(),
            "x=PVK_1".to_owned(),
            "/x/%70%76%6B%5F1".to_owned(),
            "/x/%2570vk_1".to_owned(),
            "/x/%252570vk_1".to_owned(),
        ] {
            assert!(secret_in_url(&text), "{text}");
        }
        for text in ["", "/scim/v2/Users/2819c223-7f76-453a-919d-413861904646", "/scim/v2/Users/pvk", "/x/pv_k_", "/x/p%76k", "filter=userName%20eq%20%22a%22"] {
            assert!(!secret_in_url(text), "{text}");
        }
    }

    /// An encoding nested deeper than MAX_DECODINGS could hide a prefix from
    /// the check but not from an origin that decodes as often: refused.
    #[test]
    fn too_deep_an_encoding_is_refused() {
        let mut text = "pvk_".to_owned();
        for depth in 0..=MAX_DECODINGS + 2 {
            assert!(secret_in_url(&text), "depth {depth}: {text}");
            text = text.replacen('%', "%25", usize::MAX);
            if depth == 0 {
                text = "%70vk_".to_owned();
            }
        }
        let mut harmless = "a%20b".to_owned();
        for _ in 0..MAX_DECODINGS - 1 {
            harmless = harmless.replace('%', "%25");
        }
        assert!(!secret_in_url(&harmless), "{harmless}");
        assert!(secret_in_url(&harmless.replace('%', "%25").replace('%', "%25")), "still decoding after the last round");
    }

    #[test]
    fn other_shapes_are_malformed() {
        let k = key();
        for header in [
            format!("Bearer Bearer {k}"),
            format!("Basic {k}"),
            format!("Bearer {k}, Bearer {k}"),
            format!("{k} {k}"),
            "Bearer".to_owned(),
            format!("Bearer\t{k}"),
            "Bearer ".to_owned() + "x",
        ] {
            assert_eq!(
                from_authorization(Some(&header)).err(),
                Some(CredentialError::Format(KeyFormatError::Malformed)),
                "{header:?}"
            );
        }
    }
}
