//! String fields of stored JSON that are parsed into their type while they
//! are decoded: serde_json hands the text over in place (or unescaped into
//! its scratch buffer), so nothing is copied before it is validated, and a
//! bad value fails the decode with its own message.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::fmt;
use std::marker::PhantomData;

/// A value that is written as a JSON string.
pub trait FromText: Sized {
    /// The error when the text is not a valid value (e.g. `invalid key_id`).
    const INVALID: &'static str;
    /// The value, or `None` if the text is not one.
    fn from_text(text: &str) -> Option<Self>;
}

/// A `T` decoded from a JSON string by [`FromText`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<T>(pub T);

impl<'de, T: FromText> Deserialize<'de> for Parsed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text<T>(PhantomData<T>);
        impl<T: FromText> Visitor<'_> for Text<T> {
            type Value = Parsed<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "a string ({} otherwise)", T::INVALID)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Parsed<T>, E> {
                T::from_text(text).map(Parsed).ok_or_else(|| E::custom(T::INVALID))
            }
        }
        d.deserialize_str(Text(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Even(u32);
    impl FromText for Even {
        const INVALID: &'static str = "invalid even number";
        fn from_text(text: &str) -> Option<Self> {
            text.parse().ok().filter(|n| n % 2 == 0).map(Even)
        }
    }

    #[test]
    fn parses_plain_and_escaped_strings_and_names_bad_values() {
        let plain: Parsed<Even> = serde_json::from_str(r#""42""#).unwrap();
        let escaped: Parsed<Even> = serde_json::from_str(r#""\u0034\u0032""#).unwrap();
        assert_eq!((plain.0 .0, escaped.0 .0), (42, 42));
        let odd = serde_json::from_str::<Parsed<Even>>(r#""7""#).err().unwrap().to_string();
        assert!(odd.contains("invalid even number"), "{odd}");
        assert!(serde_json::from_str::<Parsed<Even>>("42").is_err());
    }
}
