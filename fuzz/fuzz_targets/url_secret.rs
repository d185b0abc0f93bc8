//! The key-in-URL detector (`secret_in_url`, `credential_in_query`): any
//! text, and texts with a secret prefix spliced in, in any case and
//! percent-encoded up to the depth the edge decodes, with the answer each
//! must get from an independent restatement of docs/errors.md's rule.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS, NON_ALPHANUMERIC};
use provgate::core::credential::{credential_in_query, secret_in_url, MAX_DECODINGS};
use provgate_fuzz::{oracle_secret_in_url, SECRET_PREFIXES};

/// Inputs are `[mode][rest]`: an even mode takes the rest as a path or
/// query as sent (seeds are plain text), an odd one builds one.
#[derive(Arbitrary, Debug)]
struct Spliced {
    text: String,
    at: u16,
    prefix: u8,
    case_bits: u8,
    /// How many times the prefix is percent-encoded (0 = raw).
    depth: u8,
    /// Encode every character, or only the ones URL syntax needs.
    every_byte: bool,
    tail: String,
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        check(&String::from_utf8_lossy(rest));
        return;
    }
    let Ok(s) = Spliced::arbitrary_take_rest(Unstructured::new(rest)) else { return };
    let prefix = SECRET_PREFIXES[usize::from(s.prefix) % SECRET_PREFIXES.len()];
    let cased: String = prefix.chars().enumerate().map(|(i, c)| if s.case_bits >> i & 1 == 1 { c.to_ascii_uppercase() } else { c }).collect();
    let depth = usize::from(s.depth) % (MAX_DECODINGS + 1);
    const PATH: &AsciiSet = &CONTROLS.add(b' ').add(b'%').add(b'?').add(b'#');
    let mut secret = format!("{cased}{}", s.tail);
    for _ in 0..depth {
        secret = utf8_percent_encode(&secret, if s.every_byte { NON_ALPHANUMERIC } else { PATH }).to_string();
        if !s.every_byte && !secret.contains('%') {
            // Nothing to encode: encode the prefix's first letter by hand.
            secret = format!("%{:02X}{}", secret.as_bytes()[0], &secret[1..]);
        }
    }
    let mut text = s.text;
    let mut at = usize::from(s.at) % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text.insert_str(at, &secret);
    assert!(secret_in_url(&text), "a {prefix} encoded {depth} times in {text:?} was not found");
    assert!(credential_in_query(&text));
    check(&text);
});

fn check(text: &str) {
    let found = secret_in_url(text);
    assert_eq!(found, oracle_secret_in_url(text), "{text:?}");
    // A query with a secret is always refused; one without may still hold an access_token.
    if found {
        assert!(credential_in_query(text), "{text:?}");
    }
    // Text free of '%' and of every prefix in any case is never flagged.
    let lower = text.to_ascii_lowercase();
    if !text.contains('%') && !SECRET_PREFIXES.iter().any(|p| lower.contains(p)) {
        assert!(!found, "{text:?}");
    }
}
