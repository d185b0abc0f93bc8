//! Refresh tokens: `pvr_` + 43 random base62 characters (≥ 256 bits) + a
//! 6-character base62 CRC32, the shape of a key. They are opaque: what one
//! stands for is kept by the key's guard (`family`), which holds only its
//! SHA-256. The checksum rejects typos and truncated copies before the
//! guard is asked; secret scanners can match `pvr_[0-9A-Za-z]{49}`.

use crate::core::key::{check_checksummed, checksummed, KeyFormatError, KEY_BODY_LEN};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Every refresh token starts with this.
pub const REFRESH_PREFIX: &str = "pvr_";

/// A refresh token that passed the format and checksum checks.
/// Neither `Debug` nor `Display`.
pub struct RefreshToken(String);

/// SHA-256 of a refresh token: what the guard keeps. A hash of 256 random
/// bits needs no pepper (nothing to guess offline). Neither `Debug` nor
/// `Display`: like every hash of a secret, never logged.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenHash(pub [u8; 32]);

impl RefreshToken {
    /// Checks the format and checksum of a presented token.
    pub fn parse(presented: &str) -> Result<Self, KeyFormatError> {
        check_checksummed(presented, REFRESH_PREFIX, KEY_BODY_LEN)?;
        Ok(Self(presented.to_owned()))
    }

    /// A new token from a source of random bytes.
    pub fn generate(fill_random: impl FnMut(&mut [u8])) -> Self {
        Self(checksummed(REFRESH_PREFIX, KEY_BODY_LEN, fill_random))
    }

    /// The token's text, for the token endpoint's answer only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What the guard keeps of it.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl TokenHash {
    /// Equal, compared in constant time.
    pub fn matches(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// Its first 16 bytes: enough to recognise a superseded token (a
    /// false match needs 2^128 luck), in half the guard's storage.
    pub fn fingerprint(&self) -> Fingerprint {
        let mut f = [0u8; 16];
        f.copy_from_slice(&self.0[..16]);
        Fingerprint(f)
    }
}

/// The first half of a [`TokenHash`].
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint(pub [u8; 16]);

impl Fingerprint {
    /// Equal, compared in constant time.
    pub fn matches(&self, other: &Fingerprint) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// Stored (by the guard only) as lowercase hex.
macro_rules! hex_serde {
    ($name:ident, $len:expr) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&hex::encode(self.0))
            }
        }
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                let mut bytes = [0u8; $len];
                hex::decode_to_slice(&text, &mut bytes).map_err(|_| serde::de::Error::custom(concat!("invalid ", stringify!($name))))?;
                Ok(Self(bytes))
            }
        }
    };
}
hex_serde!(TokenHash, 32);
hex_serde!(Fingerprint, 16);

#[cfg(test)]
mod tests {
    use super::*;

    fn token(seed: u8) -> RefreshToken {
        RefreshToken::generate(|b| b.iter_mut().enumerate().for_each(|(i, x)| *x = (i as u8).wrapping_mul(seed | 1) % 248))
    }

    #[test]
    fn shape_checksum_and_hash() {
        let t = token(3);
        assert_eq!(t.expose().len(), 53);
        assert!(t.expose().starts_with("pvr_") && t.expose()[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        let parsed = RefreshToken::parse(t.expose()).ok().unwrap();
        assert!(parsed.hash().matches(&t.hash()));
        assert!(!token(5).hash().matches(&t.hash()));
        assert!(t.hash().fingerprint().matches(&t.hash().fingerprint()));
        let mut typo = t.expose().to_owned();
        typo.replace_range(9..10, if &typo[9..10] == "a" { "b" } else { "a" });
        assert_eq!(RefreshToken::parse(&typo).err(), Some(KeyFormatError::BadChecksum));
        // A key is not a refresh token, even with the right checksum for its own prefix.
        let key = crate::core::key::ProvisioningKey::generate(|b| b.fill(7));
        assert_eq!(RefreshToken::parse(key.expose()).err(), Some(KeyFormatError::Malformed));
        assert_eq!(RefreshToken::parse(&key.expose().replacen("pvk_", "pvr_", 1)).err(), Some(KeyFormatError::BadChecksum));
    }
}
