//! What the fuzz targets assert, beyond "no panic": the promises of
//! docs/paths.md and the scope table, written independently of the code
//! under test so that a bug in one is not mirrored in the other.

use percent_encoding::{percent_decode, percent_decode_str};
use unicode_normalization::UnicodeNormalization;
use provgate::core::scim::{classify, Action, Resource, ScimRequest};
use provgate::core::record::{KeyRecord, Status};
use provgate::core::scope::Scope;
use provgate::core::{KeyId, UnixMillis};

/// Every method the fuzzers try, plus whatever they invent.
pub const METHODS: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get", "TRACE"];

/// The resource names the edge knows, as the scope grammar spells them.
const KNOWN: [&str; 8] = ["users", "groups", "serviceproviderconfig", "schemas", "resourcetypes", "me", "bulk", ".search"];

/// Asserts that `path` is what docs/paths.md promises a forwarded path is:
/// visible ASCII, no `\ ; ? #`, no empty, `.` or `..` segment (raw or
/// encoded), no encoded `/ \ % ;` or control character, and valid UTF-8
/// once decoded.
pub fn assert_canonical(path: &str) {
    assert!(path.starts_with('/'), "{path:?} does not start with '/'");
    assert!(path.bytes().all(|b| b.is_ascii_graphic()), "{path:?} has a byte outside visible ASCII");
    assert!(!path.contains(['\\', ';', '?', '#']), "{path:?} has \\ ; ? or #");
    let lower = path.to_ascii_lowercase();
    for encoded in ["%2f", "%5c", "%25", "%3b", "%00", "%0a", "%0d"] {
        assert!(!lower.contains(encoded), "{path:?} has {encoded}");
    }
    for segment in path[1..].split('/') {
        assert!(!segment.is_empty(), "{path:?} has an empty segment");
        let decoded = percent_decode_str(segment).decode_utf8().unwrap_or_else(|_| panic!("{path:?}: segment is not UTF-8"));
        assert!(decoded != "." && decoded != "..", "{path:?} has a dot segment");
        assert!(!decoded.chars().any(|c| matches!(c, '/' | '\\' | '%' | ';' | '?' | '#') || c.is_control()), "{path:?} encodes a forbidden character");
        // What an origin applying NFKC reads: no path syntax it could act on.
        let nfkc: String = decoded.nfkc().collect();
        assert!(!nfkc.contains(['/', '\\', '%', ';', '?', '#']), "{path:?} reads as path syntax under NFKC: {nfkc:?}");
        assert_eq!(nfkc.matches('.').count(), decoded.matches('.').count(), "{path:?} gains a '.' under NFKC");
    }
}

/// The secret prefixes of docs/errors.md, restated.
pub const SECRET_PREFIXES: [&str; 5] = ["pvk_", "pvm_", "pva_", "pvr_", "pvc_"];

/// docs/errors.md's rule for `key_in_path` / `key_in_query`, restated: a
/// prefix in any case in the text or in any of its first four
/// percent-decodings, or a text that a fifth decoding still changes.
pub fn oracle_secret_in_url(text: &str) -> bool {
    let mut forms = vec![text.as_bytes().to_vec()];
    for _ in 0..5 {
        let last = forms.last().expect("one form at least");
        forms.push(percent_decode(last).collect());
    }
    let deeper = forms[5] != forms[4];
    let holds = |form: &Vec<u8>| {
        let lower = form.to_ascii_lowercase();
        SECRET_PREFIXES.iter().any(|p| lower.windows(p.len()).any(|w| w == p.as_bytes()))
    };
    deeper || forms[..5].iter().any(holds)
}

/// Asserts everything a successful classification must satisfy: the path
/// is canonical, differs from the input only by case and one trailing
/// slash, classifies again to the same request, and the action follows
/// the method.
pub fn assert_classified(method: &str, input: &str, req: &ScimRequest) {
    assert_canonical(&req.path);
    let trimmed = input.strip_suffix('/').unwrap_or(input);
    assert!(req.path.eq_ignore_ascii_case(trimmed), "{input:?} became {:?}, not only a change of case", req.path);
    assert_eq!(classify(method, &req.path).as_ref(), Ok(req), "{:?} is not a fixed point", req.path);
    let search = req.path.to_ascii_lowercase().ends_with("/.search");
    let want = match method {
        "GET" | "HEAD" => Action::Read,
        "POST" if search => Action::Read,
        "POST" | "PUT" | "PATCH" | "DELETE" => Action::Write,
        other => panic!("method {other:?} was classified"),
    };
    assert_eq!(req.action, want, "{method} {:?}", req.path);
    if let Resource::Custom(name) = &req.resource {
        assert!(!KNOWN.contains(&name.to_ascii_lowercase().as_str()), "known name {name:?} classified as custom");
        let mut chars = name.chars();
        assert!(name.len() <= 64 && chars.next().is_some_and(|c| c.is_ascii_alphabetic()));
        assert!(chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "custom name {name:?}");
    }
}

/// The scope table of docs/paths.md, restated: does `scopes` grant `req`?
pub fn oracle_permits(scopes: &[Scope], req: &ScimRequest, resource_types: &[String]) -> bool {
    let has = |s: &Scope| scopes.contains(s);
    if has(&Scope::All) {
        return true;
    }
    let first = req.path[1..].split('/').next().unwrap_or_default().to_ascii_lowercase();
    match first.as_str() {
        "serviceproviderconfig" | "schemas" | "resourcetypes" => true,
        "me" => has(&Scope::Me),
        "bulk" => has(&Scope::Bulk),
        ".search" => resource_types.iter().all(|t| has(&Scope::Read(t.clone().into()))),
        name => match req.action {
            Action::Read => has(&Scope::Read(name.to_owned().into())),
            Action::Write => has(&Scope::Write(name.to_owned().into())),
        },
    }
}

/// A scope list from fuzzer bytes: each byte picks a scope from a pool that
/// covers every kind, so that grants and denials are both reached.
pub fn scopes_from(picks: &[u8]) -> Vec<Scope> {
    const POOL: [&str; 14] = [
        "*", "me", "bulk", "users:read", "users:write", "groups:read", "groups:write", "devices:read",
        "devices:write", "schemas:read", "search:read", "bulk:write", "me:read", "x-1:write",
    ];
    picks.iter().take(6).map(|&b| POOL[usize::from(b) % POOL.len()].parse().expect("pool scopes parse")).collect()
}

/// Splits `[n][n scope picks][rest]` (n at most 6), the layout of the
/// targets' plain-text inputs, so that seed files stay readable: a count
/// byte, the picks, then the real header, URL or body.
pub fn scope_picks_then_text(data: &[u8]) -> (Vec<Scope>, &[u8]) {
    let Some((&n, rest)) = data.split_first() else { return (Vec::new(), data) };
    let n = usize::from(n % 7).min(rest.len());
    let (picks, text) = rest.split_at(n);
    (scopes_from(picks), text)
}

/// A deterministic "random" source from fuzzer bytes. Its bytes stay below
/// 248, so the key generator's rejection sampling never starves (all 62
/// characters stay reachable).
pub fn byte_source(seed: &[u8]) -> impl FnMut(&mut [u8]) + '_ {
    let mut n: usize = 0;
    move |buf: &mut [u8]| {
        for b in buf {
            let s = if seed.is_empty() { 0 } else { seed[n % seed.len()] };
            *b = (s ^ n as u8) % 248;
            n = n.wrapping_add(1);
        }
    }
}

/// An active key with these scopes and nothing else set: what the scope
/// targets authorize against.
pub fn active_record(scopes: Vec<Scope>) -> KeyRecord {
    KeyRecord {
        exact_rate: false,
        key_id: KeyId::parse("key_fuzz").expect("valid id"),
        label: String::new(),
        tenant: None,
        scopes,
        status: Status::Active,
        created_at: UnixMillis(0),
        not_before: None,
        expires_at: None,
        allow_ips: vec![],
        rate_per_minute: None,
        burst: None,
        rotated_from: None,
        auth: Default::default(),
    }
}
