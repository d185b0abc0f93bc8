//! The token endpoint's request (RFC 6749 §3.2, §4.1.3, §4.4.2, §6):
//! a `POST` with an `application/x-www-form-urlencoded` body, read into
//! the client's credentials and one of three grants, or the §5.2 error.
//!
//! Checked in this order, each failure ending the request: content type,
//! size, form, `grant_type` (missing: `invalid_request`; unknown:
//! `unsupported_grant_type`), client authentication (`invalid_client`),
//! the grant's own parameters. Nothing here needs a record or a secret:
//! what the edge does next (the record by the client secret's HMAC, the
//! code's MAC, the guard) is in `exchange`.

use super::client_auth::{self, ClientAuth};
use super::error::{GrantProblem, OAuthError, RequestProblem, ScopeProblem};
use super::form::Form;
use super::refresh::RefreshToken;
use super::scope_param;
use crate::core::scope::Scope;

/// The grant a token request asks for.
pub enum GrantRequest {
    /// `client_credentials`, with an optional narrower scope.
    ClientCredentials {
        /// The `scope` parameter, if sent.
        scope: Option<Vec<Scope>>,
    },
    /// `authorization_code`.
    AuthorizationCode {
        /// The code, as sent (verified by `exchange`).
        code: String,
        /// `redirect_uri`: required, since every authorization request names one.
        redirect_uri: String,
        /// The PKCE `code_verifier`, if sent.
        code_verifier: Option<String>,
    },
    /// `refresh_token`, with an optional narrower scope.
    RefreshToken {
        /// The refresh token (format and checksum checked).
        token: RefreshToken,
        /// The `scope` parameter, if sent.
        scope: Option<Vec<Scope>>,
    },
}

/// A well-formed token request. Holds secrets: neither `Debug` nor `Display`.
pub struct TokenRequest {
    /// Who asks.
    pub client: ClientAuth,
    /// What for.
    pub grant: GrantRequest,
}

/// Reads a token request from its `Content-Type`, `Authorization` and body.
pub fn parse(content_type: Option<&str>, authorization: Option<&str>, body: &[u8]) -> Result<TokenRequest, OAuthError> {
    if !is_form(content_type) {
        return Err(OAuthError::InvalidRequest(RequestProblem::NotForm));
    }
    let form = Form::parse(body)?;
    let grant_type = form.get("grant_type")?.ok_or(OAuthError::InvalidRequest(RequestProblem::Missing("grant_type")))?;
    if !matches!(grant_type, "client_credentials" | "authorization_code" | "refresh_token") {
        return Err(OAuthError::UnsupportedGrantType);
    }
    let client = client_auth::from_request(authorization, &form)?;
    let required = |name: &'static str| form.get(name)?.map(str::to_owned).ok_or(OAuthError::InvalidRequest(RequestProblem::Missing(name)));
    let grant = match grant_type {
        "client_credentials" => GrantRequest::ClientCredentials { scope: scope(&form)? },
        "authorization_code" => GrantRequest::AuthorizationCode {
            code: required("code")?,
            redirect_uri: required("redirect_uri")?,
            code_verifier: form.get("code_verifier")?.map(str::to_owned),
        },
        _ => {
            let token = RefreshToken::parse(&required("refresh_token")?).map_err(|_| OAuthError::InvalidGrant(GrantProblem::RefreshMalformed))?;
            GrantRequest::RefreshToken { token, scope: scope(&form)? }
        }
    };
    Ok(TokenRequest { client, grant })
}

fn scope(form: &Form<'_>) -> Result<Option<Vec<Scope>>, OAuthError> {
    form.get("scope")?.map(|s| scope_param::parse(s).map_err(|_| OAuthError::InvalidScope(ScopeProblem::Grammar))).transpose()
}

/// `application/x-www-form-urlencoded`, in any case, with or without
/// parameters (`; charset=UTF-8`).
fn is_form(content_type: Option<&str>) -> bool {
    content_type.and_then(|t| t.split(';').next()).is_some_and(|t| t.trim_matches([' ', '\t']).eq_ignore_ascii_case("application/x-www-form-urlencoded"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::key::ProvisioningKey;
    use crate::core::oauth::client_auth::basic_header;
    use crate::core::oauth::error::ClientProblem;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    fn key() -> String {
        ProvisioningKey::generate(|b| b.fill(9)).expose().to_owned()
    }

    fn refresh() -> String {
        RefreshToken::generate(|b| b.fill(4)).expose().to_owned()
    }

    fn basic() -> String {
        basic_header("key_1", &key())
    }

    fn parsed(body: &str) -> Result<TokenRequest, OAuthError> {
        parse(FORM, Some(&basic()), body.as_bytes())
    }

    #[test]
    fn the_three_grants() {
        let Ok(TokenRequest { grant: GrantRequest::ClientCredentials { scope }, client }) = parsed("grant_type=client_credentials&scope=users%3Aread") else { panic!() };
        assert_eq!((scope, client.client_id.as_str()), (Some(crate::core::scope::parse_list("users:read").unwrap()), "key_1"));
        let Ok(TokenRequest { grant: GrantRequest::ClientCredentials { scope: None }, .. }) = parsed("grant_type=client_credentials&scope=") else { panic!() };
        let body = "grant_type=authorization_code&code=pvc_x&redirect_uri=https%3A%2F%2Fa.example%2Fcb&code_verifier=v";
        let Ok(TokenRequest { grant: GrantRequest::AuthorizationCode { code, redirect_uri, code_verifier }, .. }) = parsed(body) else { panic!() };
        assert_eq!((code.as_str(), redirect_uri.as_str(), code_verifier.as_deref()), ("pvc_x", "https://a.example/cb", Some("v")));
        let body = format!("grant_type=refresh_token&refresh_token={}", refresh());
        let Ok(TokenRequest { grant: GrantRequest::RefreshToken { token, scope: None }, .. }) = parsed(&body) else { panic!() };
        assert_eq!(token.expose(), refresh());
    }

    #[test]
    fn each_error_in_its_order() {
        let err = |ct: Option<&str>, auth: Option<&str>, body: &str| parse(ct, auth, body.as_bytes()).err();
        let basic = basic();
        let auth = Some(basic.as_str());
        let req = |p| Some(OAuthError::InvalidRequest(p));
        assert_eq!(err(Some("application/json"), auth, "grant_type=client_credentials"), req(RequestProblem::NotForm));
        assert_eq!(err(None, auth, "grant_type=client_credentials"), req(RequestProblem::NotForm));
        assert!(err(Some("Application/X-WWW-Form-Urlencoded ; charset=UTF-8"), auth, "grant_type=client_credentials").is_none());
        assert_eq!(err(FORM, auth, &"a".repeat(9000)), req(RequestProblem::TooLarge));
        assert_eq!(err(FORM, auth, "grant_type=%ff"), req(RequestProblem::NotUtf8));
        assert_eq!(err(FORM, auth, "scope=users:read"), req(RequestProblem::Missing("grant_type")));
        assert_eq!(err(FORM, auth, "grant_type=client_credentials&grant_type=client_credentials"), req(RequestProblem::Repeated("grant_type")));
        assert_eq!(err(FORM, None, "grant_type=password&username=a&password=b"), Some(OAuthError::UnsupportedGrantType));
        assert_eq!(err(FORM, auth, "grant_type=urn:ietf:params:oauth:grant-type:device_code"), Some(OAuthError::UnsupportedGrantType));
        assert_eq!(err(FORM, None, "grant_type=client_credentials"), Some(OAuthError::InvalidClient { problem: ClientProblem::Missing, basic: false }));
        assert_eq!(err(FORM, auth, "grant_type=client_credentials&scope=users:admin"), Some(OAuthError::InvalidScope(ScopeProblem::Grammar)));
        assert_eq!(err(FORM, auth, "grant_type=client_credentials&scope=a:read&scope=b:read"), req(RequestProblem::Repeated("scope")));
        assert_eq!(err(FORM, auth, "grant_type=authorization_code&redirect_uri=https://a.example/cb"), req(RequestProblem::Missing("code")));
        assert_eq!(err(FORM, auth, "grant_type=authorization_code&code=pvc_x"), req(RequestProblem::Missing("redirect_uri")));
        assert_eq!(err(FORM, auth, "grant_type=authorization_code&code=a&code=b&redirect_uri=x"), req(RequestProblem::Repeated("code")));
        assert_eq!(err(FORM, auth, "grant_type=refresh_token"), req(RequestProblem::Missing("refresh_token")));
        assert_eq!(err(FORM, auth, "grant_type=refresh_token&refresh_token=pvr_abc"), Some(OAuthError::InvalidGrant(GrantProblem::RefreshMalformed)));
        // Unknown parameters are ignored (§3.2).
        assert!(err(FORM, auth, "grant_type=client_credentials&resource=https://x&foo=1&foo=2").is_none());
    }
}
