//! `application/x-www-form-urlencoded` parameters, as the token endpoint
//! reads its body and the authorization endpoint its query (RFC 6749 §3.2,
//! §3.1, appendix B).
//!
//! Bounded before it is read. Strict where the RFC is: a parameter the
//! endpoint knows may appear once (a repeat is `invalid_request`), a value
//! must be UTF-8 once decoded (form_urlencoded's parser would replace bad
//! bytes with U+FFFD and carry on; a credential altered that way must not
//! be compared at all), and an empty value counts as absent. Parameters
//! the endpoint does not know are ignored, as §3.2 requires.

use percent_encoding::percent_decode;
use std::borrow::Cow;

/// The largest form accepted, in bytes: a code, a verifier, a redirect URI
/// and the client's credentials fit many times over.
pub const MAX_FORM_BYTES: usize = 8 * 1024;

/// Why a form cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// Over [`MAX_FORM_BYTES`].
    TooLarge,
    /// A name or value that is not UTF-8 once decoded.
    NotUtf8,
    /// A known parameter sent more than once.
    Repeated(&'static str),
}

/// A form's decoded parameters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Form<'a> {
    /// Reads `input` (a body, or a query without its `?`).
    pub fn parse(input: &'a [u8]) -> Result<Self, FormError> {
        if input.len() > MAX_FORM_BYTES {
            return Err(FormError::TooLarge);
        }
        let mut pairs = Vec::new();
        for pair in input.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (name, value) = match pair.iter().position(|&b| b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &b""[..]),
            };
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Self(pairs))
    }

    /// The value of `name`: `None` if absent or empty, an error if sent
    /// more than once (even empty).
    pub fn get(&self, name: &'static str) -> Result<Option<&str>, FormError> {
        let mut found = self.0.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_ref());
        let first = found.next();
        if found.next().is_some() {
            return Err(FormError::Repeated(name));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    /// Whether `name` was sent at all (even empty).
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
}

/// `+` is a space, then percent-decoding, then strict UTF-8.
pub fn decode(raw: &[u8]) -> Result<Cow<'_, str>, FormError> {
    let plus_free: Cow<'_, [u8]> = if raw.contains(&b'+') {
        Cow::Owned(raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect())
    } else {
        Cow::Borrowed(raw)
    };
    let decoded: Cow<'_, [u8]> = match plus_free {
        Cow::Borrowed(b) => percent_decode(b).into(),
        Cow::Owned(b) => Cow::Owned(percent_decode(&b).collect()),
    };
    match decoded {
        Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed),
        Cow::Owned(b) => String::from_utf8(b).map(Cow::Owned).map_err(|e| e.utf8_error()),
    }
    .map_err(|_| FormError::NotUtf8)
}

/// Form-encodes `value` (for redirect query parameters and tests):
/// everything but RFC 3986's unreserved characters is percent-encoded.
pub fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, UNRESERVED_ONLY).to_string()
}

const UNRESERVED_ONLY: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_values_strictly() {
        let form = Form::parse(b"grant_type=client_credentials&scope=users%3Aread+groups:read&x=1&x=2&empty=&flag&&").unwrap();
        assert_eq!(form.get("grant_type"), Ok(Some("client_credentials")));
        assert_eq!(form.get("scope"), Ok(Some("users:read groups:read")));
        assert_eq!(form.get("x"), Err(FormError::Repeated("x")));
        assert_eq!(form.get("empty"), Ok(None));
        assert_eq!(form.get("flag"), Ok(None));
        assert!(form.has("empty") && !form.has("missing"));
        assert_eq!(form.get("missing"), Ok(None));
        assert_eq!(Form::parse(b"a=&a=1").unwrap().get("a"), Err(FormError::Repeated("a")));
        // A name is decoded too: an encoded repeat is a repeat.
        assert_eq!(Form::parse(b"code=1&c%6Fde=2").unwrap().get("code"), Err(FormError::Repeated("code")));
        assert_eq!(Form::parse(b"a=%ff").err(), Some(FormError::NotUtf8));
        assert_eq!(Form::parse(b"a=%C3%A9%zz").unwrap().get("a"), Ok(Some("\u{e9}%zz")));
        assert_eq!(Form::parse(&vec![b'a'; MAX_FORM_BYTES + 1]).err(), Some(FormError::TooLarge));
        assert!(Form::parse(&vec![b'a'; MAX_FORM_BYTES]).is_ok());
    }

    proptest! {
        #[test]
        fn encode_then_decode_is_the_identity(value in "\\PC{0,40}") {
            let body = format!("v={}", encode(&value));
            let form = Form::parse(body.as_bytes()).unwrap();
            prop_assert_eq!(form.get("v").unwrap().unwrap_or_default(), value.as_str());
        }

        #[test]
        fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(form) = Form::parse(&bytes) {
                let _ = form.get("code");
            }
        }
    }
}
