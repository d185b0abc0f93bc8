//! The request header filter: `screen_headers` (what is refused),
//! `origin_headers` (what the origin receives) and `extra_forwarded`
//! (`FORWARD_HEADERS`), on arbitrary header names in any case, with `_`,
//! repeated, with the invariants of docs/paths.md's "what the origin can
//! rely on", restated independently of the filter.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use provgate::core::forward::{extra_forwarded, origin_headers, screen_headers, EdgeAssertions, HeaderRefusal, EDGE_OWNED};

#[derive(Arbitrary, Debug)]
struct Input {
    headers: Vec<(Name, String)>,
    keyed: bool,
    forward_headers: String,
}

/// A name picked from the interesting ones (mangled), or any string.
#[derive(Arbitrary, Debug)]
enum Name {
    Known { pick: u8, case_bits: u16, underscores: u16 },
    Any(String),
}

const NAMES: [&str; 24] = [
    "accept", "accept-language", "content-type", "content-language", "if-match", "if-none-match", "user-agent",
    "authorization", "x-provgate-key-id", "x-provgate-tenant", "x-forwarded-host", "x-forwarded-for", "x-forwarded-prefix",
    "x-http-method-override", "x-original-url", "x-rewrite-url", "x-real-ip", "true-client-ip", "x-request-id", "signature",
    "content-digest", "cf-connecting-ip", "connection", "x-custom",
];
const ALLOWLIST: [&str; 7] = ["accept", "accept-language", "content-type", "content-language", "if-match", "if-none-match", "user-agent"];
const METHOD_OVERRIDES: [&str; 3] = ["x-http-method-override", "x-http-method", "x-method-override"];

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Any(s) => s.clone(),
            Name::Known { pick, case_bits, underscores } => NAMES[usize::from(*pick) % NAMES.len()]
                .chars()
                .enumerate()
                .map(|(i, c)| match c {
                    '-' if underscores >> (i % 16) & 1 == 1 => '_',
                    c if case_bits >> (i % 16) & 1 == 1 => c.to_ascii_uppercase(),
                    c => c,
                })
                .collect(),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let incoming: Vec<(String, String)> = input.headers.iter().take(24).map(|(n, v)| (n.text(), v.clone())).collect();
    let fold = |n: &str| n.to_ascii_lowercase().replace('_', "-");

    // Refusals: a method override in any spelling is always refused as such.
    let screened = screen_headers(incoming.iter().map(|(n, _)| n.as_str()));
    let override_sent = incoming.iter().any(|(n, _)| METHOD_OVERRIDES.contains(&fold(n).as_str()));
    assert_eq!(screened == Err(HeaderRefusal::MethodOverride), override_sent, "{incoming:?}");
    let url_override = incoming.iter().any(|(n, _)| ["x-original-url", "x-rewrite-url"].contains(&fold(n).as_str()));
    if url_override {
        assert!(screened.is_err(), "a URL override passed: {incoming:?}");
    }

    // FORWARD_HEADERS: whatever it accepts is a plain lowercase name the edge does not own.
    let extra = match extra_forwarded(&input.forward_headers) {
        Ok(names) => {
            for n in &names {
                assert!(!n.is_empty() && !n.contains('_') && n.bytes().all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase()), "{n:?}");
                assert!(!EDGE_OWNED.contains(&n.as_str()) && !n.starts_with("x-forwarded") && !n.starts_with("x-provgate") && !n.starts_with("cf-"), "{n:?}");
                assert!(!METHOD_OVERRIDES.contains(&n.as_str()) && n != "host" && n != "x-original-url" && n != "x-real-ip", "{n:?}");
            }
            names
        }
        Err(_) => Vec::new(),
    };

    // What the origin receives.
    let key_id = if input.keyed { Some("key_fuzz") } else { None };
    let edge = EdgeAssertions { request_id: "r", key_id, tenant: Some("t"), origin_authorization: Some("Bearer o"), host: "h", proto: "https", prefix: "/p" };
    let out = origin_headers(&incoming, &extra, &edge);
    let allowed = |n: &str| if input.keyed { ALLOWLIST.contains(&n) || extra.iter().any(|e| e == n) } else { n == "accept" };
    let mut from_client = Vec::new();
    for (n, v) in &out {
        assert!(!n.contains('_') && n.bytes().all(|b| !b.is_ascii_uppercase()), "{n:?} forwarded as spelled");
        if EDGE_OWNED.contains(&n.as_str()) {
            // The edge's own value, never the client's; the signature comes later.
            let mine = match n.as_str() {
                "authorization" => Some("Bearer o"),
                "x-request-id" => Some("r"),
                "x-provgate-key-id" => key_id,
                "x-provgate-tenant" => Some("t"),
                "x-forwarded-host" => Some("h"),
                "x-forwarded-proto" => Some("https"),
                "x-forwarded-prefix" => Some("/p"),
                _ => None,
            };
            assert_eq!(mine, Some(v.as_str()), "{n:?} is not the edge's own");
            continue;
        }
        assert!(allowed(n), "{n:?} is not on the allowlist");
        assert!(incoming.iter().any(|(i, iv)| i.eq_ignore_ascii_case(n) && iv == v), "{n:?} changed on the way");
        from_client.push((n.clone(), v.clone()));
    }
    for owned in EDGE_OWNED {
        assert!(out.iter().filter(|(n, _)| n == owned).count() <= 1, "{owned} twice");
    }
    // A function of the authorized request: the same request without
    // anything off the allowlist gives the same headers.
    let only_allowed: Vec<(String, String)> =
        incoming.iter().filter(|(n, _)| allowed(&n.to_ascii_lowercase()) || n.eq_ignore_ascii_case("connection")).cloned().collect();
    assert_eq!(origin_headers(&only_allowed, &extra, &edge), out, "headers off the allowlist changed what the origin receives");
});
