//! What is sent to the origin: target URL and headers, decided purely.
//!
//! The IdP's `Authorization` never leaves the edge. Hop-by-hop headers,
//! anything the edge itself asserts (`X-Provgate-*`, `X-Forwarded-*`,
//! `Forwarded`, `X-Request-Id`) and Cloudflare's own `CF-*` headers are
//! dropped from the incoming request and, where the edge has a value,
//! set fresh, so the origin can trust them.

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

/// Headers that only make sense on one connection (RFC 9110 §7.6.1) or that
/// the fetch layer computes itself.
const HOP_BY_HOP: &[&str] = &[
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
];

/// Headers the edge's signature owns; an incoming copy could confuse the
/// origin's verifier.
const SIGNATURE_HEADERS: &[&str] = &["signature", "signature-input", "content-digest", "repr-digest"];

/// Headers that ask a server to treat the request as another method.
pub const METHOD_OVERRIDES: &[&str] = &["x-http-method-override", "x-http-method", "x-method-override"];

/// Whether the request carries a method override (refused, never trusted).
pub fn has_method_override<'h>(mut names: impl Iterator<Item = &'h str>) -> bool {
    names.any(|n| METHOD_OVERRIDES.iter().any(|m| n.eq_ignore_ascii_case(m)))
}

fn dropped(name: &str, named_by_connection: &[String]) -> bool {
    let n = name.to_ascii_lowercase();
    HOP_BY_HOP.contains(&n.as_str())
        || named_by_connection.contains(&n)
        || n == "authorization"
        || n == "forwarded"
        || n == "x-request-id"
        || n.starts_with("x-provgate-")
        || n.starts_with("x-forwarded-")
        || n.starts_with("cf-")
        || SIGNATURE_HEADERS.contains(&n.as_str())
        || METHOD_OVERRIDES.contains(&n.as_str())
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

/// The header list for the origin request.
pub fn origin_headers(incoming: &[(String, String)], edge: &EdgeAssertions<'_>) -> Vec<(String, String)> {
    let named_by_connection: Vec<String> = incoming
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, v)| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
        .collect();
    let mut out: Vec<(String, String)> =
        incoming.iter().filter(|(n, _)| !dropped(n, &named_by_connection)).cloned().collect();
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
        let out = origin_headers(&incoming, &edge);
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
        let out = origin_headers(&incoming, &edge);
        assert!(out.iter().all(|(n, _)| n != "authorization" && n != "x-provgate-tenant" && n != "x-provgate-key-id"));
    }

    #[test]
    fn method_overrides_are_detected() {
        assert!(has_method_override(["accept", "X-HTTP-Method-Override"].into_iter()));
        assert!(!has_method_override(["accept"].into_iter()));
    }
}
