//! The provisioning key format and the public key id.
//!
//! A key is `pvk_` + 43 base62 characters (≥ 256 bits of entropy) + a 6
//! character base62 CRC32 of everything before it. The checksum lets the
//! edge reject typos and garbage before any KV read, and lets secret
//! scanners recognise a leaked key with few false positives.
//!
//! ```
//! use provgate::core::key::{ProvisioningKey, KeyFormatError};
//! let key = ProvisioningKey::generate(|buf| buf.iter_mut().for_each(|b| *b = 7));
//! assert!(ProvisioningKey::parse(key.expose()).is_ok());
//! let mut typo = key.expose().to_owned();
//! typo.replace_range(10..11, if &typo[10..11] == "a" { "b" } else { "a" });
//! assert_eq!(ProvisioningKey::parse(&typo).err(), Some(KeyFormatError::BadChecksum));
//! ```

use std::fmt;

/// Every provisioning key starts with this.
pub const KEY_PREFIX: &str = "pvk_";
/// Random base62 characters in a key: 43 × log2(62) ≈ 256.03 bits.
pub const KEY_BODY_LEN: usize = 43;
/// Base62 characters of the CRC32 checksum (62^6 > 2^32).
pub const CHECKSUM_LEN: usize = 6;
/// Total length of a well-formed key.
pub const KEY_LEN: usize = KEY_PREFIX.len() + KEY_BODY_LEN + CHECKSUM_LEN;

/// Every key id starts with this.
pub const KEY_ID_PREFIX: &str = "key_";
/// Random base62 characters in a key id (≈ 95 bits: ids never collide).
pub const KEY_ID_BODY_LEN: usize = 16;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A provisioning key that passed the format and checksum checks.
///
/// It deliberately implements neither `Debug` nor `Display`, so it cannot end
/// up in a log line or an error message by accident.
pub struct ProvisioningKey(String);

/// Why a presented string is not a well-formed provisioning key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFormatError {
    /// Wrong prefix, length or alphabet: not a provgate key at all.
    Malformed,
    /// Shaped like a key, but the checksum does not match (a typo or a
    /// truncated copy).
    BadChecksum,
}

impl ProvisioningKey {
    /// Checks the format and checksum of a presented key.
    pub fn parse(presented: &str) -> Result<Self, KeyFormatError> {
        check_secret(KEY_PREFIX, presented).map(|()| Self(presented.to_owned()))
    }

    /// Makes a new key from a source of random bytes (the CLI passes
    /// the operating system's source; tests pass a deterministic one).
    pub fn generate(fill_random: impl FnMut(&mut [u8])) -> Self {
        Self(generate_secret(KEY_PREFIX, fill_random))
    }

    /// The key's text, for hashing or for printing once at mint time.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The public identifier of a key: the only name of it that ever appears
/// in logs, headers and CLI listings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// A fresh random key id.
    pub fn generate(fill_random: impl FnMut(&mut [u8])) -> Self {
        Self(random_id(KEY_ID_PREFIX, KEY_ID_BODY_LEN, fill_random))
    }

    /// Accepts `key_` followed by 1 to 64 base62 characters, so an id read
    /// from storage can never inject anything into a header or log line.
    pub fn parse(text: &str) -> Option<Self> {
        is_id(KEY_ID_PREFIX, text).then(|| Self(text.to_owned()))
    }

    /// The id `key_` + `body`, with the same rule as [`parse`](Self::parse)
    /// (one allocation: compact layouts store the body alone).
    pub fn from_body(body: &str) -> Option<Self> {
        let valid = (1..=64).contains(&body.len()) && body.bytes().all(|b| b.is_ascii_alphanumeric());
        valid.then(|| {
            let mut id = String::with_capacity(KEY_ID_PREFIX.len() + body.len());
            id.push_str(KEY_ID_PREFIX);
            id.push_str(body);
            Self(id)
        })
    }

    /// The id's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a secret of this format with its own prefix (`pvk_` for keys,
/// `pvm_` for management tokens): length, alphabet, then the checksum,
/// which covers the prefix, so one kind never passes for the other.
pub fn check_secret(prefix: &str, presented: &str) -> Result<(), KeyFormatError> {
    check_checksummed(presented, prefix, KEY_BODY_LEN)
}

/// A new secret of this format with `prefix`.
pub fn generate_secret(prefix: &str, fill_random: impl FnMut(&mut [u8])) -> String {
    checksummed(prefix, KEY_BODY_LEN, fill_random)
}

/// `prefix` + `body_len` random base62 characters + the 6-character base62
/// CRC32 of both: the shape of every provgate secret that is not MAC'd
/// (keys, management tokens, OAuth refresh tokens).
pub(crate) fn checksummed(prefix: &str, body_len: usize, fill_random: impl FnMut(&mut [u8])) -> String {
    let mut text = String::with_capacity(prefix.len() + body_len + CHECKSUM_LEN);
    text.push_str(prefix);
    text.push_str(&random_base62(body_len, fill_random));
    let checksum = base62_u32(crc32fast::hash(text.as_bytes()));
    text.push_str(&checksum);
    text
}

/// Whether `presented` has the shape [`checksummed`] makes.
pub(crate) fn check_checksummed(presented: &str, prefix: &str, body_len: usize) -> Result<(), KeyFormatError> {
    let bytes = presented.as_bytes();
    let len = prefix.len() + body_len + CHECKSUM_LEN;
    if bytes.len() != len || !presented.starts_with(prefix) || !bytes[prefix.len()..].iter().all(u8::is_ascii_alphanumeric) {
        return Err(KeyFormatError::Malformed);
    }
    let (signed, checksum) = presented.split_at(len - CHECKSUM_LEN);
    if checksum.as_bytes() != base62_digits(crc32fast::hash(signed.as_bytes())) {
        return Err(KeyFormatError::BadChecksum);
    }
    Ok(())
}

/// `prefix` + `body_len` base62 characters, for public ids (`key_…`, `tok_…`).
pub fn random_id(prefix: &str, body_len: usize, fill_random: impl FnMut(&mut [u8])) -> String {
    format!("{prefix}{}", random_base62(body_len, fill_random))
}

/// Whether `text` is `prefix` + 1 to 64 base62 characters: an id read from
/// storage or a path can then never inject anything into a header or log.
pub fn is_id(prefix: &str, text: &str) -> bool {
    text.strip_prefix(prefix).is_some_and(|body| (1..=64).contains(&body.len()) && body.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Uniform base62 characters by rejection sampling: bytes ≥ 248 (= 4 × 62)
/// are dropped so that `b % 62` has no bias.
fn random_base62(len: usize, mut fill_random: impl FnMut(&mut [u8])) -> String {
    let mut out = String::with_capacity(len);
    let mut pool = [0u8; 64];
    while out.len() < len {
        fill_random(&mut pool);
        for &b in pool.iter().filter(|&&b| b < 248) {
            if out.len() == len {
                break;
            }
            out.push(BASE62[usize::from(b % 62)] as char);
        }
    }
    out
}

/// Fixed-width (6 character) base62 of a CRC32, most significant digit first.
fn base62_u32(value: u32) -> String {
    String::from_utf8(base62_digits(value).to_vec()).expect("base62 digits are ASCII")
}

fn base62_digits(mut value: u32) -> [u8; CHECKSUM_LEN] {
    let mut digits = [b'0'; CHECKSUM_LEN];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn counter_rng() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |buf: &mut [u8]| {
            for b in buf {
                *b = n;
                n = n.wrapping_add(1);
            }
        }
    }

    #[test]
    fn generated_key_has_the_documented_shape() {
        let key = ProvisioningKey::generate(counter_rng());
        let text = key.expose();
        assert_eq!(text.len(), KEY_LEN);
        assert!(text.starts_with("pvk_"));
        assert!(text[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(ProvisioningKey::parse(text).is_ok());
    }

    #[test]
    fn rejection_sampling_skips_biased_bytes() {
        // Bytes ≥ 248 would bias `% 62`; only the 5s may be used.
        let mut flip = false;
        let key = ProvisioningKey::generate(|buf| {
            for b in buf {
                flip = !flip;
                *b = if flip { 250 } else { 5 };
            }
        });
        assert!(key.expose()[4..KEY_LEN - CHECKSUM_LEN].bytes().all(|b| b == b'5'));
    }

    #[test]
    fn wrong_shapes_are_malformed() {
        let good = ProvisioningKey::generate(counter_rng()).expose().to_owned();
        for bad in [
            String::new(),
            "pvk_".into(),
            good[..KEY_LEN - 1].to_owned(),
            format!("{good}x"),
            good.replacen("pvk_", "pvx_", 1),
            good.replacen("pvk_", "PVK_", 1),
            format!("Bearer {good}"),
            good.replace(&good[10..11], "-"),
        ] {
            assert_eq!(ProvisioningKey::parse(&bad).err(), Some(KeyFormatError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn checksum_is_base62_of_crc32() {
        assert_eq!(base62_u32(0), "000000");
        assert_eq!(base62_u32(61), "00000z");
        assert_eq!(base62_u32(62), "000010");
        assert_eq!(base62_u32(u32::MAX), "4gfFC3");
    }

    #[test]
    fn key_id_parse_refuses_injection() {
        let id = KeyId::generate(counter_rng());
        assert_eq!(KeyId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.as_str().len(), KEY_ID_PREFIX.len() + KEY_ID_BODY_LEN);
        for bad in ["", "key_", "key_a\r\nx", "key_a b", "pvk_abc", "key_\"x"] {
            assert_eq!(KeyId::parse(bad), None, "{bad:?}");
            assert_eq!(KeyId::from_body(bad.strip_prefix("key_").unwrap_or(bad)), None, "{bad:?}");
        }
        assert_eq!(KeyId::from_body(&id.as_str()[4..]), Some(id.clone()));
        assert_eq!(KeyId::from_body(&"a".repeat(65)), None);
    }

    proptest! {
        #[test]
        fn any_single_character_change_is_caught(seed in any::<u8>(), pos in 4usize..KEY_LEN, c in 0usize..62) {
            let key = ProvisioningKey::generate(|buf| buf.iter_mut().enumerate().for_each(|(i, b)| *b = (i as u8).wrapping_mul(seed | 1)));
            let mut bytes = key.expose().as_bytes().to_vec();
            prop_assume!(bytes[pos] != BASE62[c]);
            bytes[pos] = BASE62[c];
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(ProvisioningKey::parse(&changed).err(), Some(KeyFormatError::BadChecksum));
        }

        #[test]
        fn parse_never_panics(s in ".{0,80}") {
            let _ = ProvisioningKey::parse(&s);
        }
    }
}
