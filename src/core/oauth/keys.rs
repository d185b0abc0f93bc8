//! The token signing secrets (`TOKEN_SIGNING_SECRET` and, during a
//! rotation, `TOKEN_SIGNING_SECRET_PREVIOUS`): HMAC-SHA256 keys that seal
//! access tokens and authorization codes.
//!
//! Each secret has a public 4-byte id (the first bytes of its SHA-256),
//! written into every token it seals, so that verification computes one
//! HMAC, with the secret that sealed it, rather than trying both. Each key
//! is prepared once (HMAC's padded key blocks hashed when the edge reads
//! its settings), so a verification hashes only the token's own bytes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The shortest secret accepted, as for the edge's other secrets.
pub const MIN_SECRET_LEN: usize = 32;

/// Which secret sealed a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `TOKEN_SIGNING_SECRET`.
    Current,
    /// `TOKEN_SIGNING_SECRET_PREVIOUS`: the token was sealed before a
    /// rotation and stays valid until it expires.
    Previous,
}

/// A secret shorter than [`MIN_SECRET_LEN`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeakSecret;

struct Key {
    id: [u8; 4],
    mac: Hmac<Sha256>,
}

/// The current secret and, during a rotation, the previous one.
///
/// Neither `Debug` nor `Display`: a secret cannot end up in a log line.
pub struct TokenKeys {
    current: Key,
    previous: Option<Key>,
}

impl Key {
    fn new(secret: &[u8]) -> Result<Self, WeakSecret> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(WeakSecret);
        }
        let digest = Sha256::digest(secret);
        let id = [digest[0], digest[1], digest[2], digest[3]];
        Ok(Self { id, mac: Hmac::new_from_slice(secret).expect("HMAC accepts any key length") })
    }

    fn tag(&self, text: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(text);
        mac.finalize().into_bytes().into()
    }
}

impl TokenKeys {
    /// The keys from their secrets.
    pub fn new(current: &[u8], previous: Option<&[u8]>) -> Result<Self, WeakSecret> {
        Ok(Self { current: Key::new(current)?, previous: previous.map(Key::new).transpose()? })
    }

    /// The id written into tokens sealed now.
    pub(super) fn current_id(&self) -> [u8; 4] {
        self.current.id
    }

    /// The MAC of `text` under the current secret.
    pub(super) fn seal(&self, text: &[u8]) -> [u8; 32] {
        self.current.tag(text)
    }

    /// Which secret with id `id` made `tag` for `text`, compared in
    /// constant time; `None` if none did.
    pub(super) fn open(&self, id: [u8; 4], text: &[u8], tag: &[u8; 32]) -> Option<Slot> {
        let candidates = [(Slot::Current, Some(&self.current)), (Slot::Previous, self.previous.as_ref())];
        // Two secrets may share an id (1 in 2^32, or the same secret set
        // twice): each candidate with the id is tried.
        candidates
            .into_iter()
            .filter_map(|(slot, key)| key.filter(|k| k.id == id).map(|k| (slot, k)))
            .find(|(_, key)| bool::from(key.tag(text).ct_eq(tag)))
            .map(|(slot, _)| slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &[u8] = b"0123456789abcdef0123456789abcdef";
    const B: &[u8] = b"fedcba9876543210fedcba9876543210";

    #[test]
    fn short_secrets_are_refused() {
        assert!(TokenKeys::new(&A[..31], None).is_err());
        assert!(TokenKeys::new(A, Some(&B[..31])).is_err());
        assert!(TokenKeys::new(A, Some(B)).is_ok());
    }

    /// RFC 4231 test case 2's key is too short for a signing secret; test
    /// case 6 has a 131-byte key and is the one used here.
    #[test]
    fn the_mac_is_hmac_sha256() {
        let key = [0xaa_u8; 131];
        let keys = TokenKeys::new(&key, None).unwrap();
        let tag = keys.seal(b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex::encode(tag), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }

    #[test]
    fn open_names_the_secret_that_sealed() {
        let old = TokenKeys::new(B, None).unwrap();
        let now = TokenKeys::new(A, Some(B)).unwrap();
        let (text, by_old, by_now) = (b"payload", old.seal(b"payload"), now.seal(b"payload"));
        assert_eq!(now.open(now.current_id(), text, &by_now), Some(Slot::Current));
        assert_eq!(now.open(old.current_id(), text, &by_old), Some(Slot::Previous));
        // The right tag under the wrong id, a wrong tag, another text: refused.
        assert_eq!(now.open(now.current_id(), text, &by_old), None);
        assert_eq!(now.open(old.current_id(), b"payloaD", &by_old), None);
        let mut flipped = by_now;
        flipped[31] ^= 1;
        assert_eq!(now.open(now.current_id(), text, &flipped), None);
        // After the rotation ends, the old secret's tokens are refused.
        let after = TokenKeys::new(A, None).unwrap();
        assert_eq!(after.open(old.current_id(), text, &by_old), None);
    }
}
