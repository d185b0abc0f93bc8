//! A successful token response (RFC 6749 §5.1), and the headers every
//! token endpoint answer carries: tokens are never cached.

use super::access::AccessToken;
use super::refresh::RefreshToken;
use super::scope_param::to_param;
use crate::core::scope::Scope;
use serde_json::json;

/// The headers of every token endpoint answer, success or error.
pub const NO_STORE_JSON: [(&str, &str); 3] =
    [("Content-Type", "application/json;charset=UTF-8"), ("Cache-Control", "no-store"), ("Pragma", "no-cache")];

/// What a successful token request returns. Holds secrets: neither
/// `Debug` nor `Display`; its body is written once, to the client.
pub struct TokenResponse {
    /// The access token.
    pub access_token: AccessToken,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// Its scopes (always sent: they may be narrower than requested).
    pub scopes: Vec<Scope>,
    /// The refresh token, for the authorization code and refresh grants.
    pub refresh_token: Option<RefreshToken>,
}

impl TokenResponse {
    /// The JSON body.
    pub fn body(&self) -> String {
        let mut body = json!({
            "access_token": self.access_token.expose(),
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": to_param(&self.scopes),
        });
        if let Some(refresh) = &self.refresh_token {
            body["refresh_token"] = refresh.expose().into();
        }
        body.to_string()
    }

    /// Its headers.
    pub fn headers(&self) -> [(&'static str, &'static str); 3] {
        NO_STORE_JSON
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::oauth::{access::issue, claims::tests::claims, keys::TokenKeys};

    #[test]
    fn body_per_section_5_1() {
        let keys = TokenKeys::new(b"current token secret, 32 bytes.!", None).unwrap();
        let c = claims();
        let response = TokenResponse {
            access_token: issue(&keys, &c).unwrap(),
            expires_in: c.lifetime(),
            scopes: c.scopes.clone(),
            refresh_token: Some(RefreshToken::generate(|b| b.fill(3))),
        };
        let body: serde_json::Value = serde_json::from_str(&response.body()).unwrap();
        assert!(body["access_token"].as_str().unwrap().starts_with("pva_"));
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["scope"], "users:read users:write groups:read groups:write");
        assert!(body["refresh_token"].as_str().unwrap().starts_with("pvr_"));
        let without = TokenResponse { refresh_token: None, ..response };
        assert!(!without.body().contains("refresh_token"));
        assert_eq!(without.headers()[1], ("Cache-Control", "no-store"));
    }
}
