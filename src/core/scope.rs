//! What a key may do: its scopes, and the one function that checks them.
//!
//! | scope | grants |
//! |---|---|
//! | `*` | everything |
//! | `<resource>:read` | GET/HEAD and POST `…/.search` on that resource (`users`, `groups`, or a custom type's lowercase name) |
//! | `<resource>:write` | POST, PUT, PATCH, DELETE on that resource |
//! | `me` | `/Me`, any method |
//! | `bulk` | `POST /Bulk`, and then each operation needs its own scope |
//! | (any valid key) | the discovery endpoints |
//!
//! Root `POST /.search` needs `<type>:read` for every resource type the
//! origin serves (`RESOURCE_TYPES`, by default `users,groups`).

use super::scim::{Action, Resource, ScimRequest};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// One scope of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `*`: every operation.
    All,
    /// `me`: the `/Me` endpoint.
    Me,
    /// `bulk`: the `/Bulk` endpoint (each operation is checked on its own).
    Bulk,
    /// `<resource>:read` (the name is borrowed for `users` and `groups`)
    Read(Cow<'static, str>),
    /// `<resource>:write`
    Write(Cow<'static, str>),
}

/// A scope string that is not in the grammar above.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidScope(pub String);

impl fmt::Display for InvalidScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid scope {:?}: expected '*', 'me' or '<resource>:read|write' (e.g. users:read)", self.0)
    }
}

impl FromStr for Scope {
    type Err = InvalidScope;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidScope(text.to_owned());
        match text {
            "*" => return Ok(Scope::All),
            "me" => return Ok(Scope::Me),
            "bulk" => return Ok(Scope::Bulk),
            _ => {}
        }
        let (resource, access) = text.split_once(':').ok_or_else(invalid)?;
        let mut chars = resource.chars();
        let name_ok = resource.len() <= 64
            && chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        match access {
            "read" if name_ok => Ok(Scope::Read(resource_name(resource))),
            "write" if name_ok => Ok(Scope::Write(resource_name(resource))),
            _ => Err(invalid()),
        }
    }
}

/// A scope's resource name; SCIM's own are not copied (a record holds
/// several of them, decoded on every isolate cache miss).
fn resource_name(name: &str) -> Cow<'static, str> {
    match name {
        "users" => Cow::Borrowed("users"),
        "groups" => Cow::Borrowed("groups"),
        other => Cow::Owned(other.to_owned()),
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => f.write_str("*"),
            Scope::Me => f.write_str("me"),
            Scope::Bulk => f.write_str("bulk"),
            Scope::Read(r) => write!(f, "{r}:read"),
            Scope::Write(r) => write!(f, "{r}:write"),
        }
    }
}

/// Parses a comma-separated list, as the CLI takes it.
pub fn parse_list(text: &str) -> Result<Vec<Scope>, InvalidScope> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::parse).collect()
}

/// The first scope `request` needs that `scopes` lack, or `None` if the
/// request is allowed. `resource_types` are the origin's resource types
/// (lowercase), which root `/.search` reads all of.
///
/// ```
/// use provgate::core::{scim::classify, scope::{parse_list, missing, Scope}};
/// let scopes = parse_list("users:read").unwrap();
/// let types = ["users".to_owned(), "groups".to_owned()];
/// assert_eq!(missing(&scopes, &classify("GET", "/Users").unwrap(), &types), None);
/// assert_eq!(missing(&scopes, &classify("POST", "/Users").unwrap(), &types), Some(Scope::Write("users".into())));
/// ```
pub fn missing(scopes: &[Scope], request: &ScimRequest, resource_types: &[String]) -> Option<Scope> {
    if scopes.contains(&Scope::All) || request.resource.is_discovery() {
        return None;
    }
    let need = |s: Scope| (!scopes.contains(&s)).then_some(s);
    match &request.resource {
        Resource::Me => need(Scope::Me),
        Resource::Bulk => need(Scope::Bulk),
        Resource::RootSearch => resource_types.iter().find_map(|t| need(Scope::Read(t.clone().into()))),
        resource => {
            // The common case, checked without building the scope it needs.
            let name = resource.scope_name();
            let held = scopes.iter().any(|s| match (s, request.action) {
                (Scope::Read(r), Action::Read) | (Scope::Write(r), Action::Write) => *r == *name,
                _ => false,
            });
            (!held).then(|| match request.action {
                Action::Read => Scope::Read(name),
                Action::Write => Scope::Write(name),
            })
        }
    }
}

/// Whether `scopes` allow `request` (see [`missing`]).
pub fn permits(scopes: &[Scope], request: &ScimRequest, resource_types: &[String]) -> bool {
    missing(scopes, request, resource_types).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::scim::classify;

    fn allowed(scopes: &str, method: &str, path: &str) -> bool {
        let types = ["users".to_owned(), "groups".to_owned()];
        permits(&parse_list(scopes).unwrap(), &classify(method, path).unwrap(), &types)
    }

    #[test]
    fn read_and_write_are_separate() {
        assert!(allowed("users:read", "GET", "/Users/1"));
        assert!(allowed("users:read", "POST", "/Users/.search"));
        assert!(!allowed("users:read", "PATCH", "/Users/1"));
        assert!(allowed("users:write", "PATCH", "/Users/1"));
        assert!(!allowed("users:write", "GET", "/Users/1"));
        assert!(!allowed("groups:read,groups:write", "GET", "/Users"));
    }

    #[test]
    fn custom_resources_use_their_lowercase_name() {
        assert!(allowed("devices:read", "GET", "/Devices"));
        assert!(!allowed("devices:read", "DELETE", "/Devices/1"));
    }

    #[test]
    fn discovery_is_open_to_any_valid_key_and_me_needs_its_scope() {
        assert!(allowed("", "GET", "/Schemas"));
        assert!(allowed("users:read", "GET", "/ServiceProviderConfig"));
        assert!(!allowed("users:read,users:write", "GET", "/Me"));
        assert!(allowed("me", "GET", "/Me"));
    }

    #[test]
    fn multi_resource_endpoints() {
        assert!(!allowed("users:write,groups:write", "POST", "/Bulk"));
        assert!(allowed("bulk", "POST", "/Bulk"));
        assert!(allowed("*", "POST", "/Bulk"));
        assert!(!allowed("users:read", "POST", "/.search"));
        assert!(allowed("users:read,groups:read", "POST", "/.search"));
        assert!(allowed("*", "POST", "/.search"));
    }

    #[test]
    fn grammar() {
        assert_eq!(parse_list(" users:read , *,me,bulk").unwrap(), vec![Scope::Read("users".into()), Scope::All, Scope::Me, Scope::Bulk]);
        for bad in ["Users:read", "users:admin", "users", ":read", "users:read:x", "9x:read", "**"] {
            assert!(bad.parse::<Scope>().is_err(), "{bad}");
        }
        for s in ["*", "me", "bulk", "users:read", "groups:write", "x_y-1:read"] {
            assert_eq!(s.parse::<Scope>().unwrap().to_string(), s);
        }
    }
}
