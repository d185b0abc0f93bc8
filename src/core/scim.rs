//! Classifying a SCIM request: which resource, read or write, and the one
//! canonical path that is both checked and forwarded.
//!
//! The path given here is the raw request path after `SCIM_BASE_PATH`,
//! still percent-encoded, without the query. Anything the origin could read
//! differently from the edge is rejected rather than guessed at:
//!
//! | input | handling |
//! |---|---|
//! | bytes outside visible ASCII (controls, space, raw UTF-8) | rejected (400) |
//! | `\`, `;`, `?` and `#` in the path, raw or percent-encoded | rejected (400) |
//! | an encoded character whose NFKC form holds path syntax (`‥`, `／`: see `compat`) | rejected (400) |
//! | encoded `/` or `%` (`%2F`, `%25…`: double encoding) | rejected (400) |
//! | malformed `%XX`, encoded bytes that are not UTF-8 or are controls | rejected (400) |
//! | `.` / `..` segments, raw or encoded | rejected (400) |
//! | repeated slashes (empty segments) | rejected (400) |
//! | one trailing slash | removed |
//! | case of a known resource name (`/users`) or of `.search` | normalised (`/Users`, `/.search`) |
//! | unknown shape (too many segments, bad resource name) | 404 |
//! | method not defined for that endpoint | 405 |

use super::compat::reads_as_path_syntax;
use percent_encoding::percent_decode_str;
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// The SCIM endpoint a request addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// `/Users`
    Users,
    /// `/Groups`
    Groups,
    /// Any other resource endpoint, e.g. `/Devices`, as the caller spelled it.
    Custom(String),
    /// `/ServiceProviderConfig` (discovery)
    ServiceProviderConfig,
    /// `/Schemas` (discovery)
    Schemas,
    /// `/ResourceTypes` (discovery)
    ResourceTypes,
    /// `/Me`: the authenticated subject itself
    Me,
    /// `/Bulk`
    Bulk,
    /// `POST /.search` at the root: a query across every resource type
    RootSearch,
}

/// Whether a request reads or changes data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// GET, HEAD, POST `…/.search`
    Read,
    /// POST, PUT, PATCH, DELETE
    Write,
}

/// A classified request: what the scope check decides on, and the exact
/// path that is forwarded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimRequest {
    /// The addressed endpoint.
    pub resource: Resource,
    /// Read or write.
    pub action: Action,
    /// The canonical path relative to the SCIM base, starting with `/`.
    pub path: String,
}

/// Why a request cannot be classified; each maps to one outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// The path is spelled in a way the edge refuses to interpret (400).
    NotCanonical(&'static str),
    /// No SCIM endpoint has this shape (404).
    NotFound,
    /// The endpoint exists but not with this method (405).
    MethodNotAllowed,
}

impl Resource {
    /// The lowercase name used in scopes and logs (`users`, `groups`, …);
    /// borrowed for the endpoints SCIM defines.
    pub fn scope_name(&self) -> Cow<'static, str> {
        match self {
            Resource::Users => Cow::Borrowed("users"),
            Resource::Groups => Cow::Borrowed("groups"),
            Resource::Custom(name) => Cow::Owned(name.to_ascii_lowercase()),
            Resource::ServiceProviderConfig => Cow::Borrowed("serviceproviderconfig"),
            Resource::Schemas => Cow::Borrowed("schemas"),
            Resource::ResourceTypes => Cow::Borrowed("resourcetypes"),
            Resource::Me => Cow::Borrowed("me"),
            Resource::Bulk => Cow::Borrowed("bulk"),
            Resource::RootSearch => Cow::Borrowed("search"),
        }
    }

    /// The name the audit line gives the resource. A custom resource name is
    /// chosen by the caller, before anything is authorized, and could be a
    /// secret pasted in the wrong place: it is logged only as `custom:` and
    /// the first 8 hex digits of the SHA-256 of its lowercase form.
    ///
    /// ```
    /// use provgate::core::scim::Resource;
    /// assert_eq!(Resource::Users.audit_name(), "users");
    /// // printf devices | sha256sum | cut -c1-8
    /// assert_eq!(Resource::Custom("Devices".into()).audit_name(), "custom:ade15a12");
    /// ```
    pub fn audit_name(&self) -> Cow<'static, str> {
        match self {
            Resource::Custom(name) => {
                let digest = Sha256::digest(name.to_ascii_lowercase().as_bytes());
                Cow::Owned(format!("custom:{}", hex::encode(&digest[..4])))
            }
            known => known.scope_name(),
        }
    }

    /// Whether this is one of the discovery endpoints of RFC 7644 §4.
    pub fn is_discovery(&self) -> bool {
        matches!(self, Resource::ServiceProviderConfig | Resource::Schemas | Resource::ResourceTypes)
    }

    fn canonical_name(&self) -> &str {
        match self {
            Resource::Users => "Users",
            Resource::Groups => "Groups",
            Resource::Custom(name) => name,
            Resource::ServiceProviderConfig => "ServiceProviderConfig",
            Resource::Schemas => "Schemas",
            Resource::ResourceTypes => "ResourceTypes",
            Resource::Me => "Me",
            Resource::Bulk => "Bulk",
            Resource::RootSearch => ".search",
        }
    }

    fn from_segment(segment: &str) -> Option<Self> {
        const KNOWN: [(&str, Resource); 8] = [
            ("users", Resource::Users),
            ("groups", Resource::Groups),
            ("serviceproviderconfig", Resource::ServiceProviderConfig),
            ("schemas", Resource::Schemas),
            ("resourcetypes", Resource::ResourceTypes),
            ("me", Resource::Me),
            ("bulk", Resource::Bulk),
            (".search", Resource::RootSearch),
        ];
        if let Some((_, r)) = KNOWN.iter().find(|(name, _)| segment.eq_ignore_ascii_case(name)) {
            return Some(r.clone());
        }
        let mut chars = segment.chars();
        let valid = segment.len() <= 64
            && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        valid.then(|| Resource::Custom(segment.to_owned()))
    }
}

/// Classifies `method` on the raw `path` below the SCIM base path.
///
/// ```
/// use provgate::core::scim::{classify, Action, Resource, PathError};
/// let req = classify("GET", "/users/2819c223").unwrap();
/// assert_eq!((req.resource, req.action, req.path.as_str()), (Resource::Users, Action::Read, "/Users/2819c223"));
/// assert!(matches!(classify("GET", "/Users/..%2fadmin"), Err(PathError::NotCanonical(_))));
/// ```
pub fn classify(method: &str, path: &str) -> Result<ScimRequest, PathError> {
    let segments = canonical_segments(path)?;
    let (first, rest) = segments.as_slice().split_first().ok_or(PathError::NotFound)?;
    let resource = Resource::from_segment(first).ok_or(PathError::NotFound)?;
    let action = action_for(method, &resource, rest)?;
    let name = resource.canonical_name();
    let mut canonical = String::with_capacity(1 + name.len() + rest.iter().map(|s| 1 + s.len()).sum::<usize>());
    canonical.push('/');
    canonical.push_str(name);
    for segment in rest {
        canonical.push('/');
        // `.search` in any case is the search endpoint (see `action_for`),
        // so it is forwarded as RFC 7644 spells it.
        canonical.push_str(if is_search(segment) { SEARCH } else { segment });
    }
    Ok(ScimRequest { resource, action, path: canonical })
}

/// The segments of a path, without allocating: no SCIM endpoint has more
/// than two, so a third only needs to be known to exist (and checked).
struct Segments<'a> {
    first: [&'a str; 3],
    len: usize,
}

impl<'a> Segments<'a> {
    const NONE: Self = Self { first: [""; 3], len: 0 };

    fn push(&mut self, segment: &'a str) {
        if self.len < self.first.len() {
            self.first[self.len] = segment;
        }
        self.len += 1;
    }

    /// The segments, or three of them when there are more: either way a
    /// shape that only `NotFound` can answer.
    fn as_slice(&self) -> &[&'a str] {
        &self.first[..self.len.min(self.first.len())]
    }
}

/// The search endpoint's segment.
const SEARCH: &str = ".search";

fn is_search(segment: &str) -> bool {
    segment.eq_ignore_ascii_case(SEARCH)
}

/// The method × shape table of RFC 7644 §3.
fn action_for(method: &str, resource: &Resource, rest: &[&str]) -> Result<Action, PathError> {
    use Action::{Read, Write};
    let action = match (resource, rest) {
        (Resource::Users | Resource::Groups | Resource::Custom(_), []) => match method {
            "GET" | "HEAD" => Read,
            "POST" => Write,
            _ => return Err(PathError::MethodNotAllowed),
        },
        (Resource::Users | Resource::Groups | Resource::Custom(_), [s]) if is_search(s) => match method {
            "POST" => Read,
            _ => return Err(PathError::MethodNotAllowed),
        },
        (Resource::Users | Resource::Groups | Resource::Custom(_), [_id]) => match method {
            "GET" | "HEAD" => Read,
            "PUT" | "PATCH" | "DELETE" => Write,
            _ => return Err(PathError::MethodNotAllowed),
        },
        (Resource::ServiceProviderConfig, []) | (Resource::Schemas | Resource::ResourceTypes, [] | [_]) => {
            match method {
                "GET" | "HEAD" => Read,
                _ => return Err(PathError::MethodNotAllowed),
            }
        }
        (Resource::Me, []) => match method {
            "GET" | "HEAD" => Read,
            "POST" | "PUT" | "PATCH" | "DELETE" => Write,
            _ => return Err(PathError::MethodNotAllowed),
        },
        (Resource::Bulk, []) => match method {
            "POST" => Write,
            _ => return Err(PathError::MethodNotAllowed),
        },
        (Resource::RootSearch, []) => match method {
            "POST" => Read,
            _ => return Err(PathError::MethodNotAllowed),
        },
        _ => return Err(PathError::NotFound),
    };
    Ok(action)
}

/// Splits a raw path into segments, refusing every ambiguous spelling.
fn canonical_segments(path: &str) -> Result<Segments<'_>, PathError> {
    use PathError::NotCanonical;
    let mut segments = Segments::NONE;
    if path.is_empty() {
        return Ok(segments);
    }
    if !path.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(NotCanonical("the path contains a control character, a space or a non-ASCII byte"));
    }
    if path.contains(['\\', ';', '?', '#']) {
        return Err(NotCanonical("the path contains a backslash, a ';' parameter, '?' or '#'"));
    }
    let path = path.strip_prefix('/').ok_or(NotCanonical("the path must start with '/'"))?;
    let path = path.strip_suffix('/').unwrap_or(path);
    if path.is_empty() {
        return Ok(segments);
    }
    for segment in path.split('/') {
        check_segment(segment)?;
        segments.push(segment);
    }
    Ok(segments)
}

fn check_segment(raw: &str) -> Result<(), PathError> {
    use PathError::NotCanonical;
    if raw.is_empty() {
        return Err(NotCanonical("the path has an empty segment (repeated '/')"));
    }
    if !raw.contains('%') {
        // Visible ASCII without '\\', ';', '/' or '%' (checked by the caller
        // and the split): nothing to decode, only dot segments to refuse.
        return if raw == "." || raw == ".." { Err(NotCanonical("the path has a '.' or '..' segment")) } else { Ok(()) };
    }
    let well_formed_escapes = raw.match_indices('%').all(|(i, _)| {
        raw.as_bytes().get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed_escapes {
        return Err(NotCanonical("the path has a malformed percent-encoding"));
    }
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| NotCanonical("the path percent-encodes bytes that are not UTF-8"))?;
    if decoded.chars().any(|c| matches!(c, '/' | '\\' | '%' | ';' | '?' | '#') || c.is_control()) {
        return Err(NotCanonical("the path percent-encodes '/', '\\', '%', ';', '?', '#' or a control character"));
    }
    if decoded.chars().any(reads_as_path_syntax) {
        return Err(NotCanonical("the path percent-encodes a character that reads as '.', '/', '\\', '?', '#', '%' or ';' once normalised (NFKC)"));
    }
    if decoded == "." || decoded == ".." {
        return Err(NotCanonical("the path has a '.' or '..' segment"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(method: &str, path: &str) -> (Resource, Action, String) {
        let r = classify(method, path).unwrap_or_else(|e| panic!("{method} {path}: {e:?}"));
        (r.resource, r.action, r.path)
    }

    #[test]
    fn the_method_path_table() {
        use Action::*;
        use Resource::*;
        let cases: &[(&str, &str, Resource, Action, &str)] = &[
            ("GET", "/Users", Users, Read, "/Users"),
            ("HEAD", "/Users", Users, Read, "/Users"),
            ("POST", "/Users", Users, Write, "/Users"),
            ("POST", "/Users/.search", Users, Read, "/Users/.search"),
            ("GET", "/Users/abc", Users, Read, "/Users/abc"),
            ("PUT", "/Users/abc", Users, Write, "/Users/abc"),
            ("PATCH", "/Groups/abc", Groups, Write, "/Groups/abc"),
            ("DELETE", "/Groups/abc", Groups, Write, "/Groups/abc"),
            ("GET", "/Devices/7", Custom("Devices".into()), Read, "/Devices/7"),
            ("GET", "/ServiceProviderConfig", ServiceProviderConfig, Read, "/ServiceProviderConfig"),
            ("GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", Schemas, Read, "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"),
            ("GET", "/ResourceTypes/User", ResourceTypes, Read, "/ResourceTypes/User"),
            ("GET", "/Me", Me, Read, "/Me"),
            ("PATCH", "/Me", Me, Write, "/Me"),
            ("POST", "/Bulk", Bulk, Write, "/Bulk"),
            ("POST", "/.search", RootSearch, Read, "/.search"),
        ];
        for (method, path, resource, action, canonical) in cases {
            assert_eq!(ok(method, path), (resource.clone(), *action, canonical.to_string()), "{method} {path}");
        }
    }

    #[test]
    fn spelling_is_normalised() {
        assert_eq!(ok("GET", "/users/").2, "/Users");
        assert_eq!(ok("GET", "/USERS/a%40b").2, "/Users/a%40b");
        assert_eq!(ok("GET", "/serviceproviderconfig").2, "/ServiceProviderConfig");
        assert_eq!(ok("GET", "/Users/caf%C3%A9").2, "/Users/caf%C3%A9");
        assert_eq!(ok("POST", "/Users/.SEARCH").2, "/Users/.search");
        assert_eq!(ok("POST", "/groups/.Search/").2, "/Groups/.search");
        assert_eq!(ok("POST", "/Devices/.sEaRcH").2, "/Devices/.search");
        assert_eq!(ok("POST", "/.SEARCH").2, "/.search");
    }

    /// `%E2%80%A5%EF%BC%8F` is `‥／`: `../` at an origin that applies NFKC.
    #[test]
    fn encoded_path_syntax_and_its_lookalikes_are_refused() {
        for path in [
            "/Users/%E2%80%A5%EF%BC%8F", "/Users/%E2%80%A5", "/Users/a%EF%BC%8Fb", "/Users/%EF%BC%BCx", "/Users/%EF%BC%9F",
            "/Users/%EF%BC%83", "/Users/%EF%BC%85", "/Users/%EF%BC%9B", "/Users/%EF%BC%8E%EF%BC%8E", "/Users/%E2%80%A4", "/Users/%CD%BE",
            "/Users/a%3Fb", "/Users/a%23b", "/Users/a%3fb",
        ] {
            assert!(matches!(classify("GET", path), Err(PathError::NotCanonical(_))), "{path}");
        }
        // Other non-ASCII ids are fine, NFKC or not.
        for path in ["/Users/%C3%A9", "/Users/%E2%91%A0", "/Users/%EF%BD%81"] {
            assert_eq!(ok("GET", path).2, path);
        }
    }

    #[test]
    fn custom_resource_names_are_logged_hashed() {
        assert_eq!(Resource::Groups.audit_name(), "groups");
        assert_eq!(Resource::RootSearch.audit_name(), "search");
        let name = classify("GET", "/Devices").unwrap().resource.audit_name().into_owned();
        assert_eq!(name, classify("GET", "/devICES/1").unwrap().resource.audit_name());
        assert!(name.starts_with("custom:") && name.len() == "custom:".len() + 8 && !name.contains("evices"));
    }

    #[test]
    fn ambiguous_spellings_are_rejected() {
        for path in [
            "/Users/../Groups", "/Users/./x", "/Users/%2e%2e", "/Users/%2E", "/Users/a%2Fb", "/Users/a%2fb",
            "/Users/a%5Cb", "/Users/a%252Fb", "/Users//x", "//Users", "/Users\\x", "/Users;jsessionid=1",
            "/Users/a%3Bb", "/Users/a%00", "/Users/a%0d%0a", "/Users/%ZZ", "/Users/%4", "/Users/%FF",
            "/Users/a b", "/Users/\u{7f}", "/Users/é", "Users", "http://evil/Users",
        ] {
            assert!(matches!(classify("GET", path), Err(PathError::NotCanonical(_))), "{path}");
        }
    }

    #[test]
    fn unknown_shapes_are_not_found() {
        for path in ["", "/", "/Users/a/b", "/ServiceProviderConfig/x", "/Bulk/1", "/9lives", "/Me/x"] {
            assert_eq!(classify("GET", path), Err(PathError::NotFound), "{path}");
        }
    }

    #[test]
    fn wrong_methods_are_refused() {
        for (method, path) in [
            ("DELETE", "/Users"), ("POST", "/Users/abc"), ("GET", "/Users/.search"), ("GET", "/Bulk"),
            ("POST", "/Schemas"), ("PUT", "/ServiceProviderConfig"), ("OPTIONS", "/Users"),
            ("TRACE", "/Users"), ("get", "/Users"), ("GET", "/.search"),
        ] {
            assert_eq!(classify(method, path), Err(PathError::MethodNotAllowed), "{method} {path}");
        }
    }

    proptest! {
        /// What is forwarded is itself canonical: classifying it again is a no-op.
        #[test]
        fn canonical_paths_are_fixed_points(path in "(/[A-Za-z.%0-9a-f;\\\\]{0,6}){0,4}/?") {
            if let Ok(first) = classify("GET", &path) {
                let again = classify("GET", &first.path).expect("canonical path classifies");
                prop_assert_eq!(again, first);
            }
        }
    }
}
