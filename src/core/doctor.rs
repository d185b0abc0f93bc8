//! What the connection doctor tells about a key: which common IdP
//! operations its scopes permit, and what each one lacks.
//!
//! Each operation is the list of SCIM requests the IdP sends for it (from
//! the IdPs' public documentation); a key permits the operation when the
//! scope check allows every one of them. Nothing here is a second scope
//! model: it is [`missing`] applied to real requests.

use super::scim::classify;
use super::scope::{missing, Scope};
use serde::Serialize;

/// A common IdP operation and whether a key may perform it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capability {
    /// What the IdP admin knows it as, e.g. "Okta: Push Groups".
    pub operation: &'static str,
    /// Whether every request of the operation is allowed.
    pub allowed: bool,
    /// The scopes it lacks, if any.
    pub missing: Vec<String>,
}

/// (operation, [(method, path)]) for the IdPs provgate documents.
const OPERATIONS: &[(&str, &[(&str, &str)])] = &[
    ("Okta: Test Connector / Import Users", &[("GET", "/Users"), ("GET", "/Users/x")]),
    ("Okta: Push New Users", &[("GET", "/Users"), ("POST", "/Users")]),
    ("Okta: Push Profile Updates", &[("GET", "/Users/x"), ("PUT", "/Users/x"), ("PATCH", "/Users/x")]),
    ("Okta: Push User Deactivation", &[("PATCH", "/Users/x"), ("PUT", "/Users/x")]),
    ("Okta: Push Groups", &[("GET", "/Groups"), ("POST", "/Groups"), ("PATCH", "/Groups/x"), ("DELETE", "/Groups/x")]),
    ("Okta: Import Groups", &[("GET", "/Groups")]),
    ("Entra ID: Test Connection", &[("GET", "/Users")]),
    ("Entra ID: Provision Users", &[("GET", "/Users"), ("POST", "/Users"), ("PATCH", "/Users/x"), ("DELETE", "/Users/x")]),
    ("Entra ID: Provision Groups", &[("GET", "/Groups"), ("POST", "/Groups"), ("PATCH", "/Groups/x"), ("DELETE", "/Groups/x")]),
    ("OneLogin: Provision Users", &[("GET", "/Users"), ("POST", "/Users"), ("PUT", "/Users/x"), ("PATCH", "/Users/x")]),
    ("Deactivate users (any IdP)", &[("PATCH", "/Users/x")]),
];

/// What `scopes` permit of each documented IdP operation.
///
/// ```
/// use provgate::core::{doctor::capabilities, scope::parse_list};
/// let caps = capabilities(&parse_list("users:read,users:write").unwrap(), &[]);
/// let groups = caps.iter().find(|c| c.operation == "Okta: Push Groups").unwrap();
/// assert_eq!((groups.allowed, groups.missing.clone()), (false, vec!["groups:read".to_owned(), "groups:write".to_owned()]));
/// ```
pub fn capabilities(scopes: &[Scope], resource_types: &[String]) -> Vec<Capability> {
    OPERATIONS
        .iter()
        .map(|(operation, requests)| {
            let mut lacking: Vec<String> = Vec::new();
            for (method, path) in *requests {
                let request = classify(method, path).expect("the operation table holds valid SCIM requests");
                if let Some(scope) = missing(scopes, &request, resource_types) {
                    let scope = scope.to_string();
                    if !lacking.contains(&scope) {
                        lacking.push(scope);
                    }
                }
            }
            Capability { operation, allowed: lacking.is_empty(), missing: lacking }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::scope::parse_list;

    #[test]
    fn full_key_can_do_everything_and_read_only_key_only_imports() {
        let all = capabilities(&parse_list("*").unwrap(), &[]);
        assert!(all.iter().all(|c| c.allowed && c.missing.is_empty()));
        let read = capabilities(&parse_list("users:read").unwrap(), &[]);
        let allowed: Vec<_> = read.iter().filter(|c| c.allowed).map(|c| c.operation).collect();
        assert_eq!(allowed, ["Okta: Test Connector / Import Users", "Entra ID: Test Connection"]);
        let push = read.iter().find(|c| c.operation == "Okta: Push New Users").unwrap();
        assert_eq!(push.missing, ["users:write"]);
    }
}
