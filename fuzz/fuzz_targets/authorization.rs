//! The `Authorization` header and key parser: any header value, and headers
//! built around a real key, with the answer each shape must get.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{percent_decode_str, utf8_percent_encode, NON_ALPHANUMERIC};
use provgate::core::credential::{credential_in_query, from_authorization, CredentialError};
use provgate::core::key::{KeyFormatError, ProvisioningKey, KEY_LEN, KEY_PREFIX};
use provgate_fuzz::{byte_source, oracle_secret_in_url};

/// Inputs are `[mode][rest]`: modes 0 and 1 take the rest as a header or
/// a query string as sent (so seeds are plain text), 2 and 3 build one.
#[derive(Arbitrary, Debug)]
enum Built {
    /// A real key in a header of a chosen shape.
    Header { seed: Vec<u8>, shape: Shape, change: Option<(u8, u8)> },
    /// A query string, with a real key spliced in at some point (or not).
    Query { query: String, key_at: Option<u16>, encode: bool, seed: Vec<u8> },
}

#[derive(Arbitrary, Debug)]
enum Shape {
    /// `<leading><scheme><spaces><key><trailing>`: any case of `Bearer`,
    /// 1..8 spaces, then padding of SP and HTAB (allowed around a header
    /// value) or of other whitespace (which must not be trimmed).
    Bearer { scheme_case: u8, spaces: u8, leading: Vec<u8>, trailing: Vec<u8> },
    /// The bare key (Okta's HTTP Header mode).
    Bare,
    /// `Bearer\t<key>`: a tab is not the separator RFC 9110 allows.
    Tab,
    /// Two credentials joined as a runtime joins repeated headers.
    Joined,
    /// Another scheme.
    Basic,
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 4 {
        0 => raw(&String::from_utf8_lossy(rest)),
        1 => in_query(String::from_utf8_lossy(rest).into_owned(), None, false, &[]),
        _ => match Built::arbitrary_take_rest(Unstructured::new(rest)) {
            Ok(Built::Header { seed, shape, change }) => built(&seed, shape, change),
            Ok(Built::Query { query, key_at, encode, seed }) => in_query(query, key_at, encode, &seed),
            Err(_) => {}
        },
    }
});

fn in_query(mut query: String, key_at: Option<u16>, encode: bool, seed: &[u8]) {
    if let Some(at) = key_at {
        let key = ProvisioningKey::generate(byte_source(seed)).expose().to_owned();
        let key = if encode { utf8_percent_encode(&key, NON_ALPHANUMERIC).to_string() } else { key };
        let mut at = usize::from(at) % (query.len() + 1);
        while !query.is_char_boundary(at) {
            at -= 1;
        }
        query.insert_str(at, &key);
        assert!(credential_in_query(&query), "a key in {query:?} was not found");
    }
    let has_prefix = oracle_secret_in_url(&query);
    let has_token = query.split('&').any(|p| percent_decode_str(p.split('=').next().unwrap_or_default()).collect::<Vec<u8>>().eq_ignore_ascii_case(b"access_token"));
    assert_eq!(credential_in_query(&query), has_prefix || has_token, "{query:?}");
}

fn raw(header: &str) {
    let ows = |c: char| c == ' ' || c == '\t';
    match from_authorization(Some(header)) {
        Ok(key) => {
            let k = key.expose();
            assert!(ProvisioningKey::parse(k).is_ok());
            assert_eq!(k.len(), KEY_LEN);
            assert!(k.starts_with(KEY_PREFIX) && k.bytes().skip(4).all(|b| b.is_ascii_alphanumeric()));
            // The key is the header's last word and nothing follows it.
            assert!(header.trim_end_matches(ows).ends_with(k), "{header:?}");
            assert!(!header.contains(','), "a list of credentials was accepted: {header:?}");
            assert!(header.is_ascii(), "a header with non-ASCII characters was accepted: {header:?}");
        }
        Err(CredentialError::Missing) => assert!(header.trim_matches(ows).is_empty(), "{header:?} called missing"),
        Err(CredentialError::Format(_)) => assert!(!header.trim_matches(ows).is_empty(), "{header:?}"),
    }
    if let Ok(key) = ProvisioningKey::parse(header) {
        assert_eq!(key.expose(), header);
    }
}

fn built(seed: &[u8], shape: Shape, change: Option<(u8, u8)>) {
    let key = ProvisioningKey::generate(byte_source(seed));
    let mut text = key.expose().to_owned();
    let mut changed = false;
    if let Some((pos, c)) = change {
        // One character of the random part or checksum replaced by another base62 one.
        const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let pos = KEY_PREFIX.len() + usize::from(pos) % (KEY_LEN - KEY_PREFIX.len());
        let c = BASE62[usize::from(c) % BASE62.len()] as char;
        changed = text.as_bytes()[pos] as char != c;
        text.replace_range(pos..pos + 1, &c.to_string());
    }
    let (header, well_shaped) = match shape {
        Shape::Bearer { scheme_case, spaces, leading, trailing } => {
            let scheme: String = "bearer"
                .chars()
                .enumerate()
                .map(|(i, ch)| if scheme_case >> i & 1 == 1 { ch.to_ascii_uppercase() } else { ch })
                .collect();
            const PADDING: [char; 6] = [' ', '\t', '\u{a0}', '\u{85}', '\u{2003}', '\u{3000}'];
            let pad = |picks: &[u8]| -> String { picks.iter().take(4).map(|&p| PADDING[usize::from(p) % PADDING.len()]).collect() };
            let (leading, trailing) = (pad(&leading), pad(&trailing));
            let ows_only = (leading.clone() + &trailing).chars().all(|c| c == ' ' || c == '\t');
            (format!("{leading}{scheme}{}{text}{trailing}", " ".repeat(1 + usize::from(spaces % 8))), ows_only)
        }
        Shape::Bare => (text.clone(), true),
        Shape::Tab => (format!("Bearer\t{text}"), false),
        Shape::Joined => (format!("Bearer {text}, Bearer {text}"), false),
        Shape::Basic => (format!("Basic {text}"), false),
    };
    let got = from_authorization(Some(&header));
    match (well_shaped, changed) {
        (true, false) => assert_eq!(got.map(|k| k.expose().to_owned()).ok(), Some(text), "{header:?}"),
        (true, true) => assert_eq!(got.err(), Some(CredentialError::Format(KeyFormatError::BadChecksum)), "{header:?}"),
        (false, _) => assert_eq!(got.err(), Some(CredentialError::Format(KeyFormatError::Malformed)), "{header:?}"),
    }
}
