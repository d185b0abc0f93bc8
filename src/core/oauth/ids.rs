//! Public identifiers of OAuth artefacts: random, never secret, written in
//! hex wherever they are named (audit lines, the guard's state). Knowing
//! one grants nothing: each identifies a token, code or refresh family
//! whose secret part is elsewhere.

use std::fmt;

macro_rules! public_id {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// A fresh id from a source of random bytes.
            pub fn generate(mut fill_random: impl FnMut(&mut [u8])) -> Self {
                let mut id = [0u8; $len];
                fill_random(&mut id);
                Self(id)
            }

            /// Reads the hex form written by `Display`.
            pub fn from_hex(text: &str) -> Option<Self> {
                let mut id = [0u8; $len];
                hex::decode_to_slice(text, &mut id).ok()?;
                // Lowercase only: one spelling per id.
                (text.bytes().all(|b| !b.is_ascii_uppercase())).then_some(Self(id))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut hex = [0u8; 2 * $len];
                hex::encode_to_slice(self.0, &mut hex).expect("two hex digits per byte");
                f.write_str(std::str::from_utf8(&hex).expect("hex is ASCII"))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::from_hex(&text).ok_or_else(|| serde::de::Error::custom(concat!("invalid ", stringify!($name))))
            }
        }
    };
}

public_id!(
    /// An access token's id (`tid`), for the audit line.
    TokenId,
    12
);
public_id!(
    /// An authorization code's id: what the key's guard remembers once the
    /// code is redeemed, so that it is redeemed only once.
    CodeId,
    16
);
public_id!(
    /// A refresh token family: every refresh token rotated from one
    /// authorization code, and the access tokens issued with them.
    FamilyId,
    8
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_with_one_spelling() {
        let id = TokenId::generate(|b| b.iter_mut().enumerate().for_each(|(i, x)| *x = 0xa0 + i as u8));
        assert_eq!(id.to_string(), "a0a1a2a3a4a5a6a7a8a9aaab");
        assert_eq!(TokenId::from_hex(&id.to_string()), Some(id));
        assert_eq!(TokenId::from_hex("A0A1A2A3A4A5A6A7A8A9AAAB"), None);
        assert_eq!(TokenId::from_hex("a0a1"), None);
        assert_eq!(format!("{id:?}"), "TokenId(a0a1a2a3a4a5a6a7a8a9aaab)");
        let family = FamilyId([1; 8]);
        let json = serde_json::to_string(&family).unwrap();
        assert_eq!(json, "\"0101010101010101\"");
        assert_eq!(serde_json::from_str::<FamilyId>(&json).unwrap(), family);
        assert!(serde_json::from_str::<FamilyId>("\"01\"").is_err());
        assert_eq!(CodeId::generate(|b| b.fill(0)).to_string().len(), 32);
    }
}
