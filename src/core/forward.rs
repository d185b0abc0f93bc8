//! What is sent to the origin: target URL and headers, decided purely.
//!
//! Request headers are forwarded by allowlist: the few a SCIM origin needs
//! ([`FORWARDED`]), plus the operator's `FORWARD_HEADERS`, plus what the
//! edge itself asserts, set fresh (`Authorization` = the origin's
//! credential, `X-Provgate-*`, `X-Forwarded-*`, `X-Request-Id`, the
//! signature). Whatever else the IdP sends stays at the edge, so the origin
//! receives a function of the authorized request alone.

use super::outcome::Outcome;
use super::record::valid_tenant;

/// The longest request URL the edge accepts, in bytes: Cloudflare's own
/// limit (16 KiB), so that a local workerd, which lets ~128 KiB through,
/// decides like production, and the origin never sees a longer one.
pub const MAX_URL_BYTES: usize = 16 * 1024;

/// The parts of an absolute request URL, split by hand so that the path
/// and query are seen exactly as the client sent them (no re-encoding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTarget<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// Host and optional port.
    pub authority: &'a str,
    /// The path, still percent-encoded.
    pub path: &'a str,
    /// The query without `?`, byte for byte.
    pub query: Option<&'a str>,
}

impl<'a> RequestTarget<'a> {
    /// Splits `scheme://authority/path?query#fragment`.
    pub fn parse(url: &'a str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let rest = rest.split('#').next().unwrap_or(rest);
        let path_start = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(path_start);
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let path = if path.is_empty() { "/" } else { path };
        Some(Self { scheme, authority, path, query })
    }
}

/// The origin URL for a canonical SCIM path, keeping the query byte for byte.
///
/// ```
/// use provgate::core::forward::origin_url;
/// assert_eq!(origin_url("http://127.0.0.1:8000/v2/", "/Users", Some("filter=userName%20eq%20%22a%22")),
///            "http://127.0.0.1:8000/v2/Users?filter=userName%20eq%20%22a%22");
/// ```
pub fn origin_url(origin_base: &str, canonical_path: &str, query: Option<&str>) -> String {
    let mut url = format!("{}{canonical_path}", origin_base.trim_end_matches('/'));
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    url
}

/// The origin base URL for a key: `ORIGIN_URL` with `{tenant}` replaced by
/// the key's tenant. Tenants are validated when the record is decoded
/// (letters, digits, `._-`, not starting with a dot), so the result cannot
/// leave the intended host or path. A `{tenant}` URL and a key without a
/// tenant deny: such a key must not reach any tenant.
///
/// ```
/// use provgate::core::forward::origin_base;
/// assert_eq!(origin_base("https://api.example.com/t/{tenant}/scim/v2", Some("acme")).unwrap(), "https://api.example.com/t/acme/scim/v2");
/// assert!(origin_base("https://api.example.com/t/{tenant}/scim/v2", None).is_err());
/// assert_eq!(origin_base("https://api.example.com/scim/v2", Some("acme")).unwrap(), "https://api.example.com/scim/v2");
/// ```
pub fn origin_base(template: &str, tenant: Option<&str>) -> Result<String, Outcome> {
    const PLACEHOLDER: &str = "{tenant}";
    if !template.contains(PLACEHOLDER) {
        return Ok(template.to_owned());
    }
    match tenant {
        Some(t) if valid_tenant(t) => Ok(template.replace(PLACEHOLDER, t)),
        _ => Err(Outcome::TenantMissing),
    }
}

/// The `X-Forwarded-Prefix` that makes the origin name the edge's URLs.
///
/// The origin mounts SCIM at its own path (`/v2` in `http://origin/v2`); it
/// prefixes that with `X-Forwarded-Prefix` when it writes `Location` and
/// `meta.location` (the WSGI/ProxyFix convention). So the prefix is the
/// edge's base path minus the origin's, when the edge's ends with it.
///
/// ```
/// use provgate::core::forward::forwarded_prefix;
/// assert_eq!(forwarded_prefix("/scim/v2", "http://127.0.0.1:8000/v2"), "/scim");
/// assert_eq!(forwarded_prefix("/scim/v2", "http://127.0.0.1:8000/"), "/scim/v2");
/// ```
pub fn forwarded_prefix(edge_base: &str, origin_base: &str) -> String {
    let origin_path = RequestTarget::parse(origin_base).map_or("", |t| t.path).trim_end_matches('/');
    let edge_base = edge_base.trim_end_matches('/');
    match edge_base.strip_suffix(origin_path) {
        Some(prefix) if !origin_path.is_empty() => prefix.to_owned(),
        _ => edge_base.to_owned(),
    }
}

/// A header name as every check compares it: ASCII-lowercased, with `_`
/// read as `-`. CGI-style servers (PHP, Rack, WSGI) map both spellings to
/// one `HTTP_…` variable, so a check that told them apart could be passed
/// by the other spelling.
pub fn folded(name: &str) -> String {
    name.bytes().map(|b| if b == b'_' { '-' } else { char::from(b.to_ascii_lowercase()) }).collect()
}

/// What a SCIM origin needs of the IdP's request headers; nothing else
/// the IdP sends is forwarded (plus `FORWARD_HEADERS`).
pub const FORWARDED: &[&str] =
    &["accept", "accept-language", "content-type", "content-language", "if-match", "if-none-match", "user-agent"];

/// What a keyless public discovery request forwards.
pub const FORWARDED_KEYLESS: &[&str] = &["accept"];

/// The headers the edge sets itself on every forward (see
/// [`origin_headers`] and `sign`); a client's copy is never used.
pub const EDGE_OWNED: &[&str] = &[
    "authorization", "x-request-id", "x-provgate-key-id", "x-provgate-tenant", "x-forwarded-host",
    "x-forwarded-proto", "x-forwarded-prefix", "signature", "signature-input", "content-digest",
];

/// Headers that ask a server to treat the request as another method.
pub const METHOD_OVERRIDES: &[&str] = &["x-http-method-override", "x-http-method", "x-method-override"];

/// Headers that ask a server (or a framework behind it) to route the
/// request to another URL than the one the edge decided on.
pub const URL_OVERRIDES: &[&str] =
    &["x-original-url", "x-original-uri", "x-rewrite-url", "x-override-url", "x-http-destinationurl", "x-proxy-url"];

/// Headers through which a server learns "the client's address": only
/// Cloudflare's `CF-Connecting-IP` is true, at the edge; none is forwarded.
pub const CLIENT_ADDRESS: &[&str] = &[
    "x-real-ip", "true-client-ip", "x-client-ip", "client-ip", "x-cluster-client-ip", "x-originating-ip",
    "x-remote-ip", "x-remote-addr", "x-host", "x-forwarded", "forwarded", "fastly-client-ip",
];

/// Headers that only make sense on one connection (RFC 9110 §7.6.1), that
/// the fetch layer computes itself, or that change how the body reads.
const HOP_BY_HOP: &[&str] = &[
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length", "content-encoding",
];

/// Families the edge owns or drops whatever follows the prefix.
const RESERVED_PREFIXES: &[&str] = &["x-provgate", "x-forwarded", "cf-", "signature", "content-digest", "repr-digest"];

/// Whether a (folded) name is one the edge owns or drops for safety: it can
/// never be forwarded from the client, `FORWARD_HEADERS` may not name it,
/// and a client that spells it with `_` is refused.
pub fn is_reserved(folded: &str) -> bool {
    [EDGE_OWNED, METHOD_OVERRIDES, URL_OVERRIDES, CLIENT_ADDRESS, HOP_BY_HOP].iter().any(|set| set.contains(&folded))
        || RESERVED_PREFIXES.iter().any(|p| folded.starts_with(p))
}

/// Whether the request carries a method override, in any spelling
/// (refused, never trusted).
pub fn has_method_override<'h>(mut names: impl Iterator<Item = &'h str>) -> bool {
    names.any(|n| METHOD_OVERRIDES.contains(&folded(n).as_str()))
}

/// Why a request's header names are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderRefusal {
    /// A method override (405).
    MethodOverride,
    /// A URL override, or a `_` spelling of a header the edge owns or
    /// drops for safety (400).
    Reserved,
}

/// Screens the request's header names before anything is forwarded:
/// method overrides in any spelling, URL overrides in any spelling, and
/// `_` spellings of reserved names are refused. Other names with `_` are
/// not refused; they are simply never forwarded (see [`origin_headers`]).
///
/// ```
/// use provgate::core::forward::{screen_headers, HeaderRefusal};
/// assert_eq!(screen_headers(["accept", "X_HTTP_Method_Override"].into_iter()), Err(HeaderRefusal::MethodOverride));
/// assert_eq!(screen_headers(["X-Rewrite-URL"].into_iter()), Err(HeaderRefusal::Reserved));
/// assert_eq!(screen_headers(["X_Forwarded_Host"].into_iter()), Err(HeaderRefusal::Reserved));
/// assert_eq!(screen_headers(["X-Forwarded-Host", "x_okta_thing"].into_iter()), Ok(()));
/// ```
pub fn screen_headers<'h>(names: impl Iterator<Item = &'h str>) -> Result<(), HeaderRefusal> {
    let mut refusal = Ok(());
    for name in names {
        let f = folded(name);
        if METHOD_OVERRIDES.contains(&f.as_str()) {
            return Err(HeaderRefusal::MethodOverride);
        }
        if URL_OVERRIDES.contains(&f.as_str()) || (name.contains('_') && is_reserved(&f)) {
            refusal = Err(HeaderRefusal::Reserved);
        }
    }
    refusal
}

/// Why a `FORWARD_HEADERS` entry is refused (the edge is then misconfigured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardHeadersError {
    /// Not an HTTP field name, or spelled with `_` (which is never forwarded).
    NotAName(String),
    /// A name the edge owns or drops for safety.
    Reserved(String),
}

/// The extra request headers `FORWARD_HEADERS` lets through: a
/// comma-separated list of names, lowercased; empty entries are ignored.
///
/// ```
/// use provgate::core::forward::{extra_forwarded, ForwardHeadersError};
/// assert_eq!(extra_forwarded(" X-Okta-Trace , Prefer ,").unwrap(), ["x-okta-trace", "prefer"]);
/// assert_eq!(extra_forwarded("X-Forwarded-For"), Err(ForwardHeadersError::Reserved("x-forwarded-for".into())));
/// assert!(extra_forwarded("x_trace").is_err());
/// ```
pub fn extra_forwarded(list: &str) -> Result<Vec<String>, ForwardHeadersError> {
    let mut names = Vec::new();
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        // RFC 9110 §5.6.2 tchar, without `_`.
        let token = entry.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^`|~".contains(&b));
        if !token {
            return Err(ForwardHeadersError::NotAName(entry.to_owned()));
        }
        let name = entry.to_ascii_lowercase();
        if is_reserved(&name) {
            return Err(ForwardHeadersError::Reserved(name));
        }
        if !FORWARDED.contains(&name.as_str()) && !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(names)
}

/// What the edge asserts to the origin about a granted request.
#[derive(Debug, Clone)]
pub struct EdgeAssertions<'a> {
    /// This request's id.
    pub request_id: &'a str,
    /// The public id of the key that was verified (none for a public
    /// discovery request sent without a key).
    pub key_id: Option<&'a str>,
    /// The key's tenant, if any.
    pub tenant: Option<&'a str>,
    /// The origin's own `Authorization` value, if configured.
    pub origin_authorization: Option<&'a str>,
    /// Host the IdP called.
    pub host: &'a str,
    /// Scheme the IdP called.
    pub proto: &'a str,
    /// See [`forwarded_prefix`].
    pub prefix: &'a str,
}

/// The header list for the origin request: the IdP's headers on the
/// allowlist ([`FORWARDED`] plus `extra`, or only [`FORWARDED_KEYLESS`]
/// without a key), minus those its `Connection` header names, then the
/// edge's own. A name is forwarded only as the allowlist spells it, so a
/// name with `_` never is.
pub fn origin_headers(incoming: &[(String, String)], extra: &[String], edge: &EdgeAssertions<'_>) -> Vec<(String, String)> {
    let named_by_connection: Vec<String> = incoming
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
        .collect();
    let allowed = |name: &str| {
        let lower = name.to_ascii_lowercase();
        let listed = match edge.key_id {
            Some(_) => FORWARDED.contains(&lower.as_str()) || extra.contains(&lower),
            None => FORWARDED_KEYLESS.contains(&lower.as_str()),
        };
        listed.then_some(lower).filter(|l| !named_by_connection.contains(l))
    };
    let mut out: Vec<(String, String)> =
        incoming.iter().filter_map(|(n, v)| allowed(n).map(|name| (name, v.clone()))).collect();
    let mut set = |n: &str, v: &str| out.push((n.to_owned(), v.to_owned()));
    if let Some(auth) = edge.origin_authorization {
        set("authorization", auth);
    }
    set("x-request-id", edge.request_id);
    if let Some(id) = edge.key_id {
        set("x-provgate-key-id", id);
    }
    if let Some(t) = edge.tenant {
        set("x-provgate-tenant", t);
    }
    set("x-forwarded-host", edge.host);
    set("x-forwarded-proto", edge.proto);
    set("x-forwarded-prefix", edge.prefix);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn target_split_keeps_raw_bytes() {
        let t = RequestTarget::parse("https://edge.example:8443/scim/v2/Users?filter=a%20b&x=%22#frag").unwrap();
        assert_eq!(t, RequestTarget { scheme: "https", authority: "edge.example:8443", path: "/scim/v2/Users", query: Some("filter=a%20b&x=%22") });
        let bare = RequestTarget::parse("http://h").unwrap();
        assert_eq!((bare.path, bare.query), ("/", None));
        let q = RequestTarget::parse("http://h?x=1").unwrap();
        assert_eq!((q.authority, q.path, q.query), ("h", "/", Some("x=1")));
        assert!(RequestTarget::parse("/relative").is_none());
    }

    #[test]
    fn headers_are_scrubbed_and_asserted() {
        let h = |n: &str, v: &str| (n.to_owned(), v.to_owned());
        let incoming = vec![
            h("authorization", "Bearer pvk_secret"),
            h("content-type", "application/scim+json"),
            h("if-match", "W/\"3\""),
            h("connection", "keep-alive, x-secret-hop"),
            h("x-secret-hop", "1"),
            h("x-provgate-key-id", "key_forged"),
            h("X-Provgate-Tenant", "other"),
            h("x-forwarded-host", "evil"),
            h("forwarded", "for=1.2.3.4"),
            h("x-request-id", "forged"),
            h("cf-connecting-ip", "1.2.3.4"),
            h("transfer-encoding", "chunked"),
            h("signature", "provgate=:forged:"),
            h("Signature-Input", "provgate=()"),
            h("content-digest", "sha-256=:forged:"),
            h("user-agent", "Okta SCIM Client"),
        ];
        let edge = EdgeAssertions {
            request_id: "r1", key_id: Some("key_a"), tenant: Some("acme"), origin_authorization: Some("Bearer origin"),
            host: "edge.example", proto: "https", prefix: "/scim",
        };
        let out = origin_headers(&incoming, &[], &edge);
        let want = vec![
            h("content-type", "application/scim+json"),
            h("if-match", "W/\"3\""),
            h("user-agent", "Okta SCIM Client"),
            h("authorization", "Bearer origin"),
            h("x-request-id", "r1"),
            h("x-provgate-key-id", "key_a"),
            h("x-provgate-tenant", "acme"),
            h("x-forwarded-host", "edge.example"),
            h("x-forwarded-proto", "https"),
            h("x-forwarded-prefix", "/scim"),
        ];
        assert_eq!(out, want);
    }

    #[test]
    fn no_origin_credential_means_no_authorization_at_all() {
        let incoming = vec![("authorization".to_owned(), "pvk_x".to_owned())];
        let edge = EdgeAssertions { request_id: "r", key_id: None, tenant: None, origin_authorization: None, host: "h", proto: "http", prefix: "" };
        let out = origin_headers(&incoming, &[], &edge);
        assert!(out.iter().all(|(n, _)| n != "authorization" && n != "x-provgate-tenant" && n != "x-provgate-key-id"));
    }

    #[test]
    fn method_overrides_are_detected_in_any_spelling() {
        assert!(has_method_override(["accept", "X-HTTP-Method-Override"].into_iter()));
        assert!(has_method_override(["X_HTTP_Method_Override"].into_iter()));
        assert!(has_method_override(["x-http_method"].into_iter()));
        assert!(!has_method_override(["accept"].into_iter()));
    }

    /// Each header of issue #16's list: refused, or simply not forwarded.
    #[test]
    fn overrides_twins_and_client_addresses_never_reach_the_origin() {
        let refused = [
            "X-Original-URL", "X-Rewrite-URL", "X-Override-URL", "x_original_url", "X_Provgate_Tenant", "X_Provgate_Key_Id",
            "X_Forwarded_Host", "X_Forwarded_For", "X_Forwarded_Prefix", "X_Real_IP", "True_Client_IP", "X_Request_Id",
            "Content_Digest", "CF_Connecting_IP", "Content_Encoding", "Transfer_Encoding",
        ];
        for name in refused {
            assert_eq!(screen_headers([name].into_iter()), Err(HeaderRefusal::Reserved), "{name}");
        }
        for name in ["X_HTTP_Method_Override", "X-HTTP-Method", "x_method_override"] {
            assert_eq!(screen_headers([name].into_iter()), Err(HeaderRefusal::MethodOverride), "{name}");
        }
        let dropped = [
            "X-Real-IP", "True-Client-IP", "X-Client-IP", "Client-IP", "X-Cluster-Client-IP", "X-Host", "X-Forwarded",
            "X-Forwarded-For", "Forwarded", "x_okta_trace", "Accept_Language", "User_Agent", "Cookie", "Origin", "X-Custom",
        ];
        assert_eq!(screen_headers(dropped.into_iter()), Ok(()));
        let incoming: Vec<(String, String)> = dropped.iter().map(|n| (n.to_string(), "1.2.3.4".to_owned())).collect();
        let extra = extra_forwarded("x-custom").unwrap();
        let out = origin_headers(&incoming, &extra, &edge(Some("key_a")));
        let names: Vec<&str> = out.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["x-custom", "authorization", "x-request-id", "x-provgate-key-id", "x-forwarded-host", "x-forwarded-proto", "x-forwarded-prefix"]);
    }

    #[test]
    fn keyless_discovery_forwards_accept_only() {
        let incoming = vec![
            ("accept".to_owned(), "application/scim+json".to_owned()),
            ("user-agent".to_owned(), "curl".to_owned()),
            ("x-custom".to_owned(), "1".to_owned()),
        ];
        let out = origin_headers(&incoming, &["x-custom".to_owned()], &edge(None));
        assert_eq!(out[0], ("accept".to_owned(), "application/scim+json".to_owned()));
        assert!(out[1..].iter().all(|(n, _)| EDGE_OWNED.contains(&n.as_str())), "{out:?}");
    }

    #[test]
    fn forward_headers_are_validated() {
        assert_eq!(extra_forwarded("").unwrap(), Vec::<String>::new());
        assert_eq!(extra_forwarded(",,").unwrap(), Vec::<String>::new());
        assert_eq!(extra_forwarded("Accept, x-a, X-A").unwrap(), ["x-a"]);
        for reserved in [
            "Authorization", "Host", "Connection", "Transfer-Encoding", "X-Provgate-Key-Id", "X-Provgate-Anything", "X-Forwarded-For",
            "Forwarded", "X-Request-Id", "Signature", "Signature-Input", "Content-Digest", "CF-Connecting-IP", "X-HTTP-Method-Override",
            "X-Original-URL", "X-Real-IP", "True-Client-IP", "Content-Encoding", "Content-Length",
        ] {
            assert!(matches!(extra_forwarded(reserved), Err(ForwardHeadersError::Reserved(_))), "{reserved}");
        }
        for junk in ["x_a", "x a", "x:a", "é"] {
            assert!(matches!(extra_forwarded(junk), Err(ForwardHeadersError::NotAName(_))), "{junk}");
        }
    }

    fn edge(key_id: Option<&'static str>) -> EdgeAssertions<'static> {
        EdgeAssertions { request_id: "r", key_id, tenant: None, origin_authorization: Some("Bearer o"), host: "h", proto: "https", prefix: "/scim" }
    }

    /// A header name from a pool that mixes allowlisted, reserved and
    /// unknown names, in any case, with `_` for `-` at random.
    fn header_name() -> impl Strategy<Value = String> {
        let pool = prop::sample::select(vec![
            "accept", "content-type", "if-match", "user-agent", "accept-language", "authorization", "x-provgate-tenant",
            "x-forwarded-host", "x-forwarded-for", "x-original-url", "x-real-ip", "connection", "signature", "x-request-id",
            "cf-connecting-ip", "x-custom", "cookie", "forwarded", "x-http-method-override",
        ]);
        (pool, any::<u64>(), "[a-zA-Z0-9_-]{0,12}", any::<bool>()).prop_map(|(name, bits, random, pick_random)| {
            let base = if pick_random { random } else { name.to_owned() };
            base.chars()
                .enumerate()
                .map(|(i, c)| match (c, bits >> (i % 64) & 1 == 1) {
                    ('-', true) => '_',
                    (c, true) => c.to_ascii_uppercase(),
                    (c, false) => c,
                })
                .collect()
        })
    }

    proptest! {
        /// What the origin receives is a function of the authorized request:
        /// the allowlisted headers as sent (by name, lowercased) and the
        /// edge's assertions. Adding any other header, in any spelling,
        /// changes nothing.
        #[test]
        fn the_origin_sees_only_the_allowlist(
            wanted in prop::collection::vec((0..FORWARDED.len() + 1, "[ -~]{0,12}"), 0..4),
            junk in prop::collection::vec((header_name(), "[ -~]{0,12}"), 0..12),
            keyed in any::<bool>(),
        ) {
            let extra = vec!["x-custom".to_owned()];
            let assertions = edge(if keyed { Some("key_a") } else { None });
            let allowlisted = |n: &str| if keyed { FORWARDED.contains(&n) || n == "x-custom" } else { n == "accept" };
            // The authorized request: allowlisted names only, each once.
            let mut authorized: Vec<(String, String)> = Vec::new();
            let names = [FORWARDED, &["x-custom"]].concat();
            for (i, v) in &wanted {
                let name = names[*i];
                if allowlisted(name) && authorized.iter().all(|(n, _)| n != name) {
                    authorized.push((name.to_owned(), v.clone()));
                }
            }
            let clean = origin_headers(&authorized, &extra, &assertions);
            // The same request with junk around it (never an allowlisted
            // name as such: that would be part of the authorized request).
            let mut noisy = authorized.clone();
            for (n, v) in &junk {
                if !allowlisted(&n.to_ascii_lowercase()) && !n.eq_ignore_ascii_case("connection") {
                    noisy.insert(v.len() % (noisy.len() + 1), (n.clone(), v.clone()));
                }
            }
            let sorted = |mut h: Vec<(String, String)>| { h.sort(); h };
            prop_assert_eq!(sorted(origin_headers(&noisy, &extra, &assertions)), sorted(clean.clone()));
            for (n, v) in &clean {
                let edge_set = EDGE_OWNED.contains(&n.as_str());
                prop_assert!(edge_set || allowlisted(n), "{} forwarded", n);
                prop_assert!(!n.contains('_'));
                if !edge_set {
                    prop_assert!(authorized.contains(&(n.clone(), v.clone())));
                }
            }
        }

        /// Whatever the names, nothing outside the allowlist and the edge's
        /// own set survives, and no name the edge sets appears twice.
        #[test]
        fn no_client_header_outside_the_allowlist_survives(
            incoming in prop::collection::vec((header_name(), "[ -~]{0,12}"), 0..16),
        ) {
            let out = origin_headers(&incoming, &[], &edge(Some("key_a")));
            for (n, _) in &out {
                prop_assert!(FORWARDED.contains(&n.as_str()) || EDGE_OWNED.contains(&n.as_str()), "{}", n);
            }
            for owned in EDGE_OWNED {
                prop_assert!(out.iter().filter(|(n, _)| n == owned).count() <= 1, "{} twice", owned);
            }
        }
    }
}
