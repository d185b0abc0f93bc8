//! The authorization server metadata (RFC 8414) served at
//! `/.well-known/oauth-authorization-server`, and the edge's OAuth paths.

use crate::core::forward::RequestTarget;
use serde_json::json;

/// The token endpoint.
pub const TOKEN_PATH: &str = "/oauth/token";
/// The authorization endpoint (the page an administrator pastes the key into).
pub const AUTHORIZE_PATH: &str = "/oauth/authorize";
/// Where that page posts the pasted key, with the authorization request's
/// query: a path of its own, since the page is a static asset and static
/// asset paths answer GET only.
pub const APPROVE_PATH: &str = "/oauth/approve";
/// Where the metadata document is served (RFC 8414 §3).
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// The edge's issuer identifier: `https://host[:port]`, no path, query or
/// fragment (RFC 8414 §2). `http` only for a loopback host, for local runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    /// Accepts a scheme and an authority of visible ASCII, without user
    /// information; a trailing `/` is dropped.
    pub fn parse(base: &str) -> Option<Self> {
        let base = base.strip_suffix('/').unwrap_or(base);
        let (scheme, authority) = base.split_once("://")?;
        let host = authority.rsplit_once(':').map_or(authority, |(h, port)| if port.bytes().all(|b| b.is_ascii_digit()) { h } else { authority });
        let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
        let valid = (scheme == "https" || (scheme == "http" && loopback))
            && !authority.is_empty()
            && authority.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
        valid.then(|| Self(base.to_owned()))
    }

    /// The issuer a request was sent to: its scheme and authority.
    pub fn of(target: &RequestTarget<'_>) -> Option<Self> {
        Self::parse(&format!("{}://{}", target.scheme, target.authority))
    }

    /// The identifier's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The metadata document. `resource_types` are the origin's (lowercase),
/// whose read and write scopes are listed.
pub fn document(issuer: &Issuer, resource_types: &[String]) -> String {
    let mut scopes = vec!["*".to_owned(), "me".to_owned(), "bulk".to_owned()];
    scopes.extend(resource_types.iter().flat_map(|t| [format!("{t}:read"), format!("{t}:write")]));
    json!({
        "issuer": issuer.as_str(),
        "authorization_endpoint": format!("{}{AUTHORIZE_PATH}", issuer.as_str()),
        "token_endpoint": format!("{}{TOKEN_PATH}", issuer.as_str()),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        // Every authorization response names the issuer (RFC 9207 §3).
        "authorization_response_iss_parameter_supported": true,
        "scopes_supported": scopes,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers() {
        assert_eq!(Issuer::parse("https://scim.example.com/").map(|i| i.0), Some("https://scim.example.com".into()));
        for ok in ["https://scim.example.com:8443", "http://127.0.0.1:8787", "http://localhost", "https://[2001:db8::1]"] {
            assert!(Issuer::parse(ok).is_some(), "{ok}");
        }
        for bad in ["http://scim.example.com", "https://", "https://a.example/path", "https://a.example?x", "https://u@a.example", "ftp://a.example", "scim.example.com", "http://127.0.0.1.evil.example"] {
            assert!(Issuer::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_document_names_what_the_edge_supports() {
        let doc: serde_json::Value = serde_json::from_str(&document(&Issuer::parse("https://scim.example.com").unwrap(), &["users".into(), "groups".into()])).unwrap();
        assert_eq!(doc["issuer"], "https://scim.example.com");
        assert_eq!(doc["token_endpoint"], "https://scim.example.com/oauth/token");
        assert_eq!(doc["authorization_endpoint"], "https://scim.example.com/oauth/authorize");
        assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
        assert_eq!(doc["token_endpoint_auth_methods_supported"], serde_json::json!(["client_secret_basic", "client_secret_post"]));
        assert_eq!(doc["scopes_supported"], serde_json::json!(["*", "me", "bulk", "users:read", "users:write", "groups:read", "groups:write"]));
        // RFC 8414 §2: these are required or required when the endpoint exists.
        for field in ["issuer", "response_types_supported", "token_endpoint", "authorization_endpoint"] {
            assert!(!doc[field].is_null(), "{field}");
        }
    }
}
