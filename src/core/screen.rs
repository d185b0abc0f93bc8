//! What the edge refuses about a request before it routes or classifies
//! it, from the request line and a few headers alone: its method, plain
//! HTTP, a body where none belongs and a body the origin would decode.

use std::net::IpAddr;

/// The methods the edge handles. workers-rs reads any other method as
/// `GET`, so the edge checks the raw one first: `PROPFIND /Users` must not
/// be decided, signed and forwarded as a read. `OPTIONS` is not among them:
/// no IdP sends a CORS preflight, and the doctor page is same-origin.
pub const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// Whether the edge handles `method` (exactly as sent: methods are case-sensitive).
///
/// ```
/// use provgate::core::screen::method_allowed;
/// assert!(method_allowed("PATCH"));
/// assert!(!method_allowed("PROPFIND") && !method_allowed("OPTIONS") && !method_allowed("patch"));
/// ```
pub fn method_allowed(method: &str) -> bool {
    METHODS.contains(&method)
}

/// The method as the audit line names it: one of RFC 9110's, or `OTHER`.
/// A method is a token of the caller's choosing, so it is not logged as sent.
pub fn logged_method(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"];
    KNOWN.into_iter().find(|m| *m == method).unwrap_or("OTHER")
}

/// Whether a request is refused for arriving over plain HTTP: with
/// `REQUIRE_HTTPS` on, any `http:` request except from a loopback client
/// (`make dev`). On Cloudflare the client's address is `CF-Connecting-IP`,
/// which Cloudflare sets itself; an unknown address is not loopback.
///
/// ```
/// use provgate::core::screen::plain_http_refused;
/// let ip = |s: &str| s.parse().ok();
/// assert!(plain_http_refused("http", ip("203.0.113.9"), true));
/// assert!(plain_http_refused("http", None, true));
/// assert!(!plain_http_refused("http", ip("127.0.0.1"), true));
/// assert!(!plain_http_refused("https", ip("203.0.113.9"), true));
/// assert!(!plain_http_refused("http", ip("203.0.113.9"), false));
/// ```
pub fn plain_http_refused(scheme: &str, client: Option<IpAddr>, require_https: bool) -> bool {
    let loopback = client.is_some_and(|ip| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        IpAddr::V4(v4) => v4.is_loopback(),
    });
    require_https && !scheme.eq_ignore_ascii_case("https") && !loopback
}

/// Whether `method` may carry a body. GET, HEAD and DELETE with one are
/// refused rather than forwarded without it: what the origin would make of
/// such a body differs from server to server, and no IdP sends one.
pub fn body_allowed(method: &str) -> bool {
    !matches!(method, "GET" | "HEAD" | "DELETE")
}

/// Whether a `Content-Encoding` is refused: anything but `identity`. The
/// edge authorises the bytes it reads (a /Bulk body, the digest it signs);
/// an origin that decoded them would act on other bytes.
///
/// ```
/// use provgate::core::screen::encoding_refused;
/// assert!(encoding_refused(Some("gzip")) && encoding_refused(Some("identity, gzip")));
/// assert!(!encoding_refused(None) && !encoding_refused(Some(" Identity ")) && !encoding_refused(Some("")));
/// ```
pub fn encoding_refused(content_encoding: Option<&str>) -> bool {
    content_encoding.map(|v| v.trim_matches([' ', '\t'])).is_some_and(|v| !v.is_empty() && !v.eq_ignore_ascii_case("identity"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_six_are_refused_and_logged_as_a_fixed_word() {
        for m in ["PROPFIND", "OPTIONS", "TRACE", "CONNECT", "get", "patch", "MKCOL", "pvk_x", ""] {
            assert!(!method_allowed(m), "{m}");
        }
        assert_eq!(logged_method("PROPFIND"), "OTHER");
        assert_eq!(logged_method("pvk_0123"), "OTHER");
        assert_eq!(logged_method("TRACE"), "TRACE");
        assert!(METHODS.iter().all(|m| method_allowed(m) && logged_method(m) == *m));
    }

    #[test]
    fn plain_http_is_allowed_only_from_loopback() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        for loopback in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"] {
            assert!(!plain_http_refused("http", ip(loopback), true), "{loopback}");
        }
        for remote in ["10.0.0.1", "192.168.1.1", "::ffff:10.0.0.1", "2001:db8::1", "0.0.0.0"] {
            assert!(plain_http_refused("http", ip(remote), true), "{remote}");
        }
        assert!(!plain_http_refused("HTTPS", ip("10.0.0.1"), true));
    }

    #[test]
    fn reads_and_deletes_take_no_body() {
        assert!(!body_allowed("GET") && !body_allowed("HEAD") && !body_allowed("DELETE"));
        assert!(body_allowed("POST") && body_allowed("PUT") && body_allowed("PATCH"));
    }
}
