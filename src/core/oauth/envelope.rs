//! The sealed text format shared by access tokens (`pva_`) and
//! authorization codes (`pvc_`):
//!
//! ```text
//! <prefix> base64url(version ‖ secret id ‖ body) "." base64url(HMAC-SHA256(secret, everything before the "."))
//! ```
//!
//! base64url has no padding and no `.`, so the text splits in one place;
//! its decoder refuses non-canonical final characters, so each payload has
//! exactly one spelling and a changed character always changes the bytes.
//! The prefix is part of what is MAC'd: a code can never pass for a token.
//! The length is bounded before anything else is done with the text.

use super::keys::{Slot, TokenKeys};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

/// The longest sealed text accepted or issued, in bytes.
pub const MAX_SEALED_LEN: usize = 2048;
/// base64url characters of the 32-byte MAC.
pub const MAC_CHARS: usize = 43;
/// Bytes before the body: the format version and the secret's id.
const HEADER_LEN: usize = 5;

/// Why a presented text is not a valid sealed token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Longer than [`MAX_SEALED_LEN`]: refused before any decoding.
    TooLong,
    /// Wrong prefix, not base64url, wrong MAC length, or a body that does
    /// not decode.
    Malformed,
    /// A format version this edge does not know.
    BadVersion,
    /// The MAC does not verify under any configured secret (tampered,
    /// forged, or sealed by a secret no longer configured).
    BadMac,
    /// Authentic, but past its expiry (`now >= exp`).
    Expired,
}

/// A body too large to seal within [`MAX_SEALED_LEN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge;

/// The length of the sealed text of a `body_len`-byte body.
fn sealed_len(prefix: &str, body_len: usize) -> Option<usize> {
    Some(prefix.len() + base64::encoded_len(HEADER_LEN.checked_add(body_len)?, false)? + 1 + MAC_CHARS)
}

/// Whether a `body_len`-byte body can be sealed.
pub fn fits(prefix: &str, body_len: usize) -> bool {
    sealed_len(prefix, body_len).is_some_and(|len| len <= MAX_SEALED_LEN)
}

/// Seals `body` as `prefix` + payload + MAC under the current secret.
pub fn seal(keys: &TokenKeys, prefix: &str, version: u8, body: &[u8]) -> Result<String, TooLarge> {
    let len = sealed_len(prefix, body.len()).filter(|&len| len <= MAX_SEALED_LEN).ok_or(TooLarge)?;
    let payload_len = HEADER_LEN + body.len();
    let mut payload = Vec::with_capacity(payload_len);
    payload.push(version);
    payload.extend_from_slice(&keys.current_id());
    payload.extend_from_slice(body);
    let mut text = String::with_capacity(len);
    text.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(&payload, &mut text);
    let tag = keys.seal(text.as_bytes());
    text.push('.');
    URL_SAFE_NO_PAD.encode_string(tag, &mut text);
    Ok(text)
}

/// Verifies `text` and reads its body with `read` (`None`: malformed).
/// Returns what `read` made of it and the secret that sealed it. The MAC
/// is checked before the body is interpreted.
pub fn open<T>(keys: &TokenKeys, prefix: &str, version: u8, text: &str, read: impl FnOnce(&[u8]) -> Option<T>) -> Result<(T, Slot), Rejection> {
    if text.len() > MAX_SEALED_LEN {
        return Err(Rejection::TooLong);
    }
    let rest = text.strip_prefix(prefix).ok_or(Rejection::Malformed)?;
    // The MAC has a fixed length, so the `.` has a fixed place; base64url
    // has no `.`, so the payload cannot hold another.
    let dot = rest.len().checked_sub(MAC_CHARS + 1).ok_or(Rejection::Malformed)?;
    if rest.as_bytes()[dot] != b'.' {
        return Err(Rejection::Malformed);
    }
    let (payload_text, mac_text) = (&rest[..dot], &rest[dot + 1..]);
    let mut tag = [0u8; 32];
    match URL_SAFE_NO_PAD.decode_slice(mac_text, &mut tag) {
        Ok(32) => {}
        _ => return Err(Rejection::Malformed),
    }
    // Typical payloads are decoded on the stack; larger ones on the heap.
    let mut inline = [0u8; INLINE_BYTES];
    let heap;
    let payload: &[u8] = if payload_text.len() <= INLINE_CHARS {
        let n = URL_SAFE_NO_PAD.decode_slice(payload_text, &mut inline).map_err(|_| Rejection::Malformed)?;
        &inline[..n]
    } else {
        heap = URL_SAFE_NO_PAD.decode(payload_text).map_err(|_| Rejection::Malformed)?;
        &heap
    };
    if payload.len() < HEADER_LEN {
        return Err(Rejection::Malformed);
    }
    if payload[0] != version {
        return Err(Rejection::BadVersion);
    }
    let id = [payload[1], payload[2], payload[3], payload[4]];
    let signed = &text[..prefix.len() + payload_text.len()];
    let signed_by = keys.open(id, signed.as_bytes(), &tag).ok_or(Rejection::BadMac)?;
    let value = read(&payload[HEADER_LEN..]).ok_or(Rejection::Malformed)?;
    Ok((value, signed_by))
}

/// Payloads up to this many bytes are decoded without an allocation.
const INLINE_BYTES: usize = 256;
/// base64 characters that surely decode within [`INLINE_BYTES`].
const INLINE_CHARS: usize = INLINE_BYTES / 3 * 4;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn read_all(b: &[u8]) -> Option<Vec<u8>> {
        Some(b.to_vec())
    }

    fn keys() -> TokenKeys {
        TokenKeys::new(b"0123456789abcdef0123456789abcdef", None).unwrap()
    }

    #[test]
    fn round_trip_and_shape() {
        let k = keys();
        let text = seal(&k, "pvx_", 1, b"hello").unwrap();
        assert!(text.starts_with("pvx_"));
        let (payload, mac) = text[4..].split_once('.').unwrap();
        assert_eq!(mac.len(), MAC_CHARS);
        assert!(payload.bytes().chain(mac.bytes()).all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(open(&k, "pvx_", 1, &text, |b| Some(b.to_vec())), Ok((b"hello".to_vec(), Slot::Current)));
        assert_eq!(open(&k, "pvx_", 1, &text, |_| None::<()>), Err(Rejection::Malformed), "a body its reader refuses");
        // Bodies decoded on the heap work alike.
        let large = seal(&k, "pvx_", 1, &[9; 1000]).unwrap();
        assert_eq!(open(&k, "pvx_", 1, &large, |b| Some(b.len())), Ok((1000, Slot::Current)));
    }

    #[test]
    fn each_defect_has_its_rejection() {
        let k = keys();
        let text = seal(&k, "pvx_", 1, b"hello").unwrap();
        assert_eq!(open(&k, "pvy_", 1, &text, read_all), Err(Rejection::Malformed));
        assert_eq!(open(&k, "pvx_", 2, &text, read_all), Err(Rejection::BadVersion));
        assert_eq!(open(&k, "pvx_", 1, &text.replace('.', ""), read_all), Err(Rejection::Malformed));
        assert_eq!(open(&k, "pvx_", 1, &format!("{text}A"), read_all), Err(Rejection::Malformed));
        assert_eq!(open(&k, "pvx_", 1, &format!("{text}="), read_all), Err(Rejection::Malformed));
        assert_eq!(open(&k, "pvx_", 1, &format!("{}.{}", &text[..text.len() - 45], &text[text.len() - 43..]), read_all), Err(Rejection::Malformed));
        assert_eq!(open(&k, "pvx_", 1, &"a".repeat(MAX_SEALED_LEN + 1), read_all), Err(Rejection::TooLong));
        let other = TokenKeys::new(b"another secret, also 32 bytes lo", None).unwrap();
        assert_eq!(open(&other, "pvx_", 1, &text, read_all), Err(Rejection::BadMac));
        // Too short for the header.
        assert_eq!(open(&k, "pvx_", 1, &format!("pvx_AQID.{}", &text[text.len() - 43..]), read_all), Err(Rejection::Malformed));
    }

    #[test]
    fn a_prefix_is_part_of_what_is_sealed() {
        let k = keys();
        let text = seal(&k, "pvx_", 1, b"hello").unwrap();
        let swapped = text.replacen("pvx_", "pvy_", 1);
        assert_eq!(open(&k, "pvy_", 1, &swapped, read_all), Err(Rejection::BadMac));
    }

    #[test]
    fn bodies_too_large_are_not_sealed() {
        let k = keys();
        let fits = (MAX_SEALED_LEN - 4 - 1 - MAC_CHARS) * 3 / 4 - HEADER_LEN;
        let text = seal(&k, "pvx_", 1, &vec![7; fits]).unwrap();
        assert!(text.len() <= MAX_SEALED_LEN);
        assert!(open(&k, "pvx_", 1, &text, read_all).is_ok());
        assert_eq!(seal(&k, "pvx_", 1, &vec![7; fits + 1]), Err(TooLarge));
    }

    proptest! {
        #[test]
        fn any_single_byte_change_is_refused(body in proptest::collection::vec(any::<u8>(), 0..200), pos in any::<usize>(), byte in any::<u8>()) {
            let k = keys();
            let text = seal(&k, "pvx_", 1, &body).unwrap();
            let mut bytes = text.clone().into_bytes();
            let pos = pos % bytes.len();
            prop_assume!(bytes[pos] != byte);
            bytes[pos] = byte;
            if let Ok(changed) = String::from_utf8(bytes) {
                prop_assert!(open(&k, "pvx_", 1, &changed, read_all).is_err(), "{} accepted", changed);
            }
        }

        #[test]
        fn open_never_panics(text in ".{0,300}") {
            let _ = open(&keys(), "pvx_", 1, &text, read_all);
        }
    }
}
