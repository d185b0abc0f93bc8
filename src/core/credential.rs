//! Reading the provisioning key out of the `Authorization` header.
//!
//! Two forms are accepted: `Bearer <key>` (RFC 6750; Entra ID, OneLogin,
//! Okta's "OAuth Bearer Token" mode) and the bare key (Okta's "HTTP Header"
//! mode sends exactly what the admin pasted). Anything else is malformed:
//! no other scheme, no second `Bearer`, no list of credentials.

use super::key::{KeyFormatError, ProvisioningKey, KEY_PREFIX};
use percent_encoding::percent_decode_str;

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

/// Whether a query string carries a credential: anything shaped like a key
/// (`pvk_`, raw or percent-encoded) or an RFC 6750 `access_token`
/// parameter. URLs end up in proxy, browser and origin logs, so such a
/// request is refused whatever the key's validity; the query is otherwise
/// never interpreted.
///
/// ```
/// use provgate::core::credential::credential_in_query;
/// assert!(credential_in_query("access_token=abc"));
/// assert!(credential_in_query("key=%70vk_123"));
/// assert!(!credential_in_query("filter=userName%20eq%20%22bjensen%22&aadOptscim062020"));
/// ```
pub fn credential_in_query(query: &str) -> bool {
    let decoded = |text: &str| percent_decode_str(text).collect::<Vec<u8>>();
    let key_prefix = KEY_PREFIX.as_bytes();
    decoded(query).windows(key_prefix.len()).any(|w| w == key_prefix)
        || query.split('&').any(|pair| {
            let name = pair.split('=').next().unwrap_or_default();
            decoded(name).eq_ignore_ascii_case(b"access_token")
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
        for query in ["", "startIndex=1&count=100", "aadOptscim062020", "filter=displayName%20eq%20%22pvk%22", "my_access_token_count=1", "x=PVK_1"] {
            assert!(!credential_in_query(query), "{query}");
        }
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
