//! From request URL to decision: `RequestTarget::parse`, the SCIM
//! classifier and the scope check, with the invariants of docs/paths.md.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provgate::core::credential::secret_in_url;
use provgate::core::decide::{authorize, Context};
use provgate::core::forward::{origin_url, RequestTarget};
use provgate::core::outcome::Outcome;
use provgate::core::scim::classify;
use provgate::core::scope::{missing, Scope};
use provgate::core::UnixMillis;
use provgate_fuzz::{active_record, assert_canonical, assert_classified, oracle_permits, oracle_secret_in_url, scope_picks_then_text, METHODS};

const BASE: &str = "/scim/v2";
const ORIGIN: &str = "http://127.0.0.1:8000/v2";

// Inputs are `[method][n][n scope picks][target]`, the target being what
// follows `https://edge.example` (e.g. `/scim/v2/Users?filter=…`), so
// that seeds are real request lines. The method byte's top bit adds a
// custom resource type that root `/.search` must read too.
fuzz_target!(|data: &[u8]| {
    let Some((&method, rest)) = data.split_first() else { return };
    let devices_type = method & 0x80 != 0;
    let method = METHODS[usize::from(method & 0x7f) % METHODS.len()];
    let (scopes, target) = scope_picks_then_text(rest);
    let url = format!("https://edge.example{}", String::from_utf8_lossy(target));
    let Some(target) = RequestTarget::parse(&url) else { panic!("{url:?} has a scheme but did not parse") };
    assert_eq!(target.scheme, "https");
    assert!(!target.authority.contains(['/', '?', '#']), "{target:?}");
    assert!(target.path.starts_with('/') && !target.path.contains(['?', '#']), "{target:?}");
    assert!(!target.query.is_some_and(|q| q.contains('#')), "{target:?}");
    // Nothing the client sent before the fragment is lost or moved.
    let before_fragment = url.split('#').next().unwrap_or_default();
    let rebuilt = format!("https://{}{}", target.authority, target.path);
    let rebuilt = match target.query {
        Some(q) => format!("{rebuilt}?{q}"),
        None => rebuilt,
    };
    assert!(rebuilt == before_fragment || rebuilt == format!("{before_fragment}/") || rebuilt.replacen("/?", "?", 1) == before_fragment, "{url:?} → {rebuilt:?}");

    // A secret anywhere in the URL ends the request first, as in the pipeline.
    assert_eq!(secret_in_url(target.path), oracle_secret_in_url(target.path), "{:?}", target.path);
    if secret_in_url(target.path) {
        return;
    }
    // Below the base path, as the pipeline does.
    let Some(below) = target.path.strip_prefix(BASE) else { return };
    if !below.is_empty() && !below.starts_with('/') {
        return;
    }
    let Ok(req) = classify(method, below) else { return };
    assert_classified(method, below, &req);
    let forwarded = origin_url(ORIGIN, &req.path, target.query);
    let forwarded_path = forwarded.strip_prefix(ORIGIN).expect("the origin URL keeps the origin's base");
    assert_canonical(forwarded_path.split('?').next().unwrap_or_default());
    assert!(!oracle_secret_in_url(forwarded_path.split('?').next().unwrap_or_default()), "{forwarded:?} forwards a secret");

    let mut types = vec!["users".to_owned(), "groups".to_owned()];
    if devices_type {
        types.push("devices".to_owned());
    }
    let record = active_record(scopes.clone());
    let ctx = Context { now: UnixMillis(1), client_ip: None, resource_types: &types };
    let decided = authorize(&record, &req, &ctx);
    assert_eq!(decided.is_ok(), oracle_permits(&scopes, &req, &types), "{scopes:?} {method} {}", req.path);
    if let Err(denied) = decided {
        let Outcome::InsufficientScope { missing: named, bulk_id: None } = denied else { panic!("{denied:?}") };
        // The named scope is one the key lacks, and having it would help.
        let scope: Scope = named.parse().expect("the missing scope is in the grammar");
        assert!(!scopes.contains(&scope));
        let mut more = scopes.clone();
        more.push(scope);
        assert_ne!(missing(&more, &req, &types).map(|s| s.to_string()), Some(named));
    }
    // A key with every scope is never refused a classified request.
    let mut all = scopes;
    all.push(Scope::All);
    assert_eq!(missing(&all, &req, &types), None);
});
