//! The authorization endpoint (RFC 6749 §4.1.1, §4.1.2): an IdP sends the
//! administrator's browser here; the administrator pastes the provisioning
//! key into the edge's page, and the edge sends the browser back to the
//! IdP's registered redirect URI with a one-time code.
//!
//! Never an open redirect: until the client id, the key and the redirect
//! URI are known good (the key is the client's, valid now, and the URI is
//! registered on its record, byte for byte), an error is shown on the page
//! and nothing redirects (§4.1.2.1). Only then do errors go back to the
//! client, with its `state`.
//!
//! The key's `allow_ips` do not apply here: they name the IdP's servers,
//! and this request comes from an administrator's browser. The code is
//! worth nothing without the key at the token endpoint, where they apply.

use super::code::{self, CodeClaims};
use super::error::ScopeProblem;
use super::exchange::fits;
use super::form::{encode, Form, FormError};
use super::ids::CodeId;
use super::metadata::Issuer;
use super::keys::TokenKeys;
use super::pkce::CodeChallenge;
use super::policy::{Mode, RedirectUri};
use super::scope_param::{narrow, parse};
use crate::core::decide::valid_at;
use crate::core::outcome::KeyRejection;
use crate::core::record::KeyRecord;
use crate::core::scope::Scope;
use crate::core::time::UnixMillis;
use subtle::ConstantTimeEq;

/// The longest `state` echoed back, in bytes.
pub const MAX_STATE_LEN: usize = 1024;

/// An error shown on the edge's page, never redirected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageProblem {
    /// The query is not readable, or repeats `client_id`, `redirect_uri`
    /// or `state`, or `state` is too long.
    BadQuery,
    /// No `client_id`.
    MissingClientId,
    /// No `redirect_uri` (every authorization request must name one).
    MissingRedirectUri,
    /// The pasted key is not the client's.
    OtherClient,
    /// The pasted key is revoked, expired or not yet valid.
    KeyRejected(KeyRejection),
    /// The redirect URI is not registered on the key's record.
    RedirectNotRegistered,
}

/// An error sent back to the client (§4.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedirectProblem {
    /// `invalid_request`: a repeated or missing parameter, or PKCE that is
    /// malformed, `plain`, or required by the key and absent.
    InvalidRequest,
    /// `unsupported_response_type`: only `code`.
    UnsupportedResponseType,
    /// `unauthorized_client`: the key does not allow `authorization_code`.
    UnauthorizedClient,
    /// `invalid_scope`.
    InvalidScope(ScopeProblem),
}

/// Why an authorization request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Show this on the page.
    Page(PageProblem),
    /// Redirect the browser to `location`.
    Redirect {
        /// The client's redirect URI with `error`, `error_description` and `state`.
        location: String,
        /// Why.
        problem: RedirectProblem,
    },
}

/// A request the administrator may approve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approved {
    /// The registered redirect URI the request named.
    pub redirect_uri: RedirectUri,
    /// The client's `state`, returned as it came.
    pub state: Option<String>,
    /// The PKCE challenge, if sent.
    pub challenge: Option<CodeChallenge>,
    /// The scopes granted.
    pub scopes: Vec<Scope>,
    /// The edge's issuer identifier, named in every redirect (RFC 9207).
    pub issuer: Issuer,
}

impl PageProblem {
    /// What the page tells the administrator.
    pub fn message(&self) -> &'static str {
        match self {
            PageProblem::BadQuery => "The identity provider's request is malformed. Start the authorization again from the identity provider.",
            PageProblem::MissingClientId => "The identity provider sent no client ID. Enter the key id (key_…) as the client ID in the identity provider.",
            PageProblem::MissingRedirectUri => "The identity provider sent no redirect URI. Check its OAuth settings.",
            PageProblem::OtherClient => "This provisioning key does not belong to the client ID the identity provider sent. Paste the key whose id is the client ID.",
            PageProblem::KeyRejected(_) => "This provisioning key is not valid: it is revoked, expired or not yet valid. Ask the service provider for a new key.",
            PageProblem::RedirectNotRegistered => "The identity provider's redirect URI is not registered on this key. Ask the service provider to add it to the key's redirect_uris.",
        }
    }

    /// The audit line's reason.
    pub fn reason(&self) -> &'static str {
        match self {
            PageProblem::BadQuery => "oauth_authorize_bad_query",
            PageProblem::MissingClientId => "oauth_authorize_no_client_id",
            PageProblem::MissingRedirectUri => "oauth_authorize_no_redirect_uri",
            PageProblem::OtherClient => "oauth_authorize_other_client",
            PageProblem::KeyRejected(_) => "oauth_authorize_key_rejected",
            PageProblem::RedirectNotRegistered => "oauth_authorize_redirect_not_registered",
        }
    }
}

impl RedirectProblem {
    /// The `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            RedirectProblem::InvalidRequest => "invalid_request",
            RedirectProblem::UnsupportedResponseType => "unsupported_response_type",
            RedirectProblem::UnauthorizedClient => "unauthorized_client",
            RedirectProblem::InvalidScope(_) => "invalid_scope",
        }
    }

    fn description(&self) -> &'static str {
        match self {
            RedirectProblem::InvalidRequest => "The authorization request is malformed (a repeated or missing parameter, or PKCE that is not S256).",
            RedirectProblem::UnsupportedResponseType => "Only response_type=code is supported.",
            RedirectProblem::UnauthorizedClient => "This provisioning key is not allowed to use the authorization code grant.",
            RedirectProblem::InvalidScope(_) => "A requested scope is not a scope of this provisioning key.",
        }
    }

    /// The audit line's reason.
    pub fn reason(&self) -> &'static str {
        match self {
            RedirectProblem::InvalidRequest => "oauth_authorize_invalid_request",
            RedirectProblem::UnsupportedResponseType => "oauth_authorize_unsupported_response_type",
            RedirectProblem::UnauthorizedClient => "oauth_authorize_grant_not_allowed",
            RedirectProblem::InvalidScope(_) => "oauth_authorize_invalid_scope",
        }
    }
}

/// Validates an authorization request (`query`, without `?`) for the key
/// whose record is `record` (found by the pasted key's HMAC).
/// `issuer` is the edge's (as its metadata names it): every redirect
/// carries it as `iss` (RFC 9207), so that a client talking to several
/// authorization servers can tell which one answered (a mix-up attack).
pub fn validate(query: &[u8], record: &KeyRecord, issuer: &Issuer, now: UnixMillis) -> Result<Approved, AuthorizeError> {
    let page = AuthorizeError::Page;
    let form = Form::parse(query).map_err(|_| page(PageProblem::BadQuery))?;
    let trusted = |name| form.get(name).map_err(|_| page(PageProblem::BadQuery));
    let client_id = trusted("client_id")?.ok_or(page(PageProblem::MissingClientId))?;
    let redirect_uri = trusted("redirect_uri")?.ok_or(page(PageProblem::MissingRedirectUri))?;
    let state = trusted("state")?.filter(|s| !s.is_empty());
    if state.is_some_and(|s| s.len() > MAX_STATE_LEN) {
        return Err(page(PageProblem::BadQuery));
    }
    if !bool::from(record.key_id.as_str().as_bytes().ct_eq(client_id.as_bytes())) {
        return Err(page(PageProblem::OtherClient));
    }
    valid_at(record, now).map_err(|r| page(PageProblem::KeyRejected(r)))?;
    let redirect_uri = record.auth.registered(redirect_uri).ok_or(page(PageProblem::RedirectNotRegistered))?.clone();

    // From here on the client and its redirect URI are trusted: errors go back to it.
    let back = |problem: RedirectProblem| AuthorizeError::Redirect { location: error_location(&redirect_uri, problem, state, issuer), problem };
    let param = |name| form.get(name).map_err(|_: FormError| back(RedirectProblem::InvalidRequest));
    match param("response_type")? {
        Some("code") => {}
        Some(_) => return Err(back(RedirectProblem::UnsupportedResponseType)),
        None => return Err(back(RedirectProblem::InvalidRequest)),
    }
    if !record.allows(Mode::AuthorizationCode) {
        return Err(back(RedirectProblem::UnauthorizedClient));
    }
    let challenge = CodeChallenge::from_request(param("code_challenge")?, param("code_challenge_method")?).map_err(|_| back(RedirectProblem::InvalidRequest))?;
    if challenge.is_none() && record.auth.pkce_required {
        return Err(back(RedirectProblem::InvalidRequest));
    }
    let requested = param("scope")?.map(parse).transpose().map_err(|_| back(RedirectProblem::InvalidScope(ScopeProblem::Grammar)))?;
    let scopes = narrow(&record.scopes, requested.as_deref()).map_err(|_| back(RedirectProblem::InvalidScope(ScopeProblem::NotHeld)))?;
    if !fits(record, &scopes) {
        return Err(back(RedirectProblem::InvalidScope(ScopeProblem::TooLarge)));
    }
    Ok(Approved { redirect_uri, state: state.map(str::to_owned), challenge, scopes, issuer: issuer.clone() })
}

/// Issues the code for an approved request and returns where to send the
/// browser: the redirect URI with `code`, `state` and `iss`.
pub fn issue(keys: &TokenKeys, record: &KeyRecord, approved: &Approved, code_id: CodeId, now: UnixMillis) -> Result<String, AuthorizeError> {
    let claims = CodeClaims::new(code_id, record.key_id.clone(), &approved.redirect_uri, approved.challenge, approved.scopes.clone(), now, record.expires_at)
        .ok_or(AuthorizeError::Page(PageProblem::KeyRejected(KeyRejection::Expired)))?;
    let code = code::issue(keys, &claims).map_err(|_| {
        let problem = RedirectProblem::InvalidScope(ScopeProblem::TooLarge);
        AuthorizeError::Redirect { location: error_location(&approved.redirect_uri, problem, approved.state.as_deref(), &approved.issuer), problem }
    })?;
    let mut params = vec![("code", code.expose())];
    params.extend(approved.state.as_deref().map(|s| ("state", s)));
    params.push(("iss", approved.issuer.as_str()));
    Ok(with_query(approved.redirect_uri.as_str(), &params))
}

fn error_location(uri: &RedirectUri, problem: RedirectProblem, state: Option<&str>, issuer: &Issuer) -> String {
    let mut params = vec![("error", problem.code()), ("error_description", problem.description())];
    params.extend(state.map(|s| ("state", s)));
    params.push(("iss", issuer.as_str()));
    with_query(uri.as_str(), &params)
}

/// `uri` with `params` added to its query (§3.1.2: a query it has is kept).
fn with_query(uri: &str, params: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut separator = match uri.find('?') {
        None => "?",
        Some(_) if uri.ends_with(['?', '&']) => "",
        Some(_) => "&",
    };
    for (name, value) in params {
        out.push_str(separator);
        out.push_str(name);
        out.push('=');
        out.push_str(&encode(value));
        separator = "&";
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::oauth::claims::tests::record;
    use crate::core::oauth::code::tests::keys;
    use crate::core::oauth::policy::{AuthPolicy, Modes};
    use crate::core::record::Status;
    use crate::core::scope::parse_list;

    const URI: &str = "https://acme.okta.com/oauth2/callback";
    const NOW: UnixMillis = UnixMillis(1_800_000_000_000);
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn issuer() -> Issuer {
        Issuer::parse("https://scim.example.com").unwrap()
    }

    fn oauth_record() -> KeyRecord {
        KeyRecord {
            exact_rate: false,
            auth: AuthPolicy {
                modes: Modes::new([Mode::AuthorizationCode]).unwrap(),
                redirect_uris: vec![RedirectUri::parse(URI).unwrap(), RedirectUri::parse("https://a.example/cb?tenant=1").unwrap()],
                pkce_required: false,
            },
            ..record()
        }
    }

    fn query(extra: &str) -> String {
        format!("response_type=code&client_id=key_3mXq8Jt0aZ&redirect_uri={}&state=xyz%201{extra}", encode(URI))
    }

    fn redirected(e: Result<Approved, AuthorizeError>) -> (String, RedirectProblem) {
        match e {
            Err(AuthorizeError::Redirect { location, problem }) => (location, problem),
            other => panic!("not redirected: {other:?}"),
        }
    }

    #[test]
    fn an_approved_request_redirects_with_code_and_state() {
        let r = oauth_record();
        let approved = validate(query(&format!("&scope=users:read&code_challenge={CHALLENGE}&code_challenge_method=S256")).as_bytes(), &r, &issuer(), NOW).unwrap();
        assert_eq!((approved.state.as_deref(), approved.scopes.clone()), (Some("xyz 1"), parse_list("users:read").unwrap()));
        let location = issue(&keys(), &r, &approved, CodeId([3; 16]), NOW).unwrap();
        let (base, rest) = location.split_once('?').unwrap();
        assert_eq!(base, URI);
        let form = Form::parse(rest.as_bytes()).unwrap();
        assert_eq!(form.get("state"), Ok(Some("xyz 1")));
        assert_eq!(form.get("iss"), Ok(Some("https://scim.example.com")), "RFC 9207");
        let code = code::verify(&keys(), form.get("code").unwrap().unwrap(), NOW).unwrap();
        assert_eq!((code.redirect_uri.as_str(), code.challenge, code.scopes), (URI, approved.challenge, approved.scopes));
        // A registered URI with a query keeps it.
        let q = format!("response_type=code&client_id=key_3mXq8Jt0aZ&redirect_uri={}", encode("https://a.example/cb?tenant=1"));
        let approved = validate(q.as_bytes(), &r, &issuer(), NOW).unwrap();
        assert!(issue(&keys(), &r, &approved, CodeId([3; 16]), NOW).unwrap().starts_with("https://a.example/cb?tenant=1&code=pvc_"));
        assert_eq!(with_query("https://a.example/cb?", &[("code", "x")]), "https://a.example/cb?code=x");
    }

    #[test]
    fn untrusted_client_or_uri_never_redirects() {
        let r = oauth_record();
        let page = |q: &str, rec: &KeyRecord| match validate(q.as_bytes(), rec, &issuer(), NOW) {
            Err(AuthorizeError::Page(p)) => p,
            other => panic!("{q}: {other:?}"),
        };
        assert_eq!(page("response_type=code", &r), PageProblem::MissingClientId);
        assert_eq!(page("client_id=key_3mXq8Jt0aZ", &r), PageProblem::MissingRedirectUri);
        assert_eq!(page(&query("&client_id=key_3mXq8Jt0aZ"), &r), PageProblem::BadQuery);
        assert_eq!(page(&query("&state=again"), &r), PageProblem::BadQuery);
        assert_eq!(page(&query("&x=%ff"), &r), PageProblem::BadQuery);
        assert_eq!(page(&query("").replace("key_3mXq8Jt0aZ", "key_3mXq8Jt0aY"), &r), PageProblem::OtherClient);
        assert_eq!(page(&query("").replace("callback", "callback%2F"), &r), PageProblem::RedirectNotRegistered);
        assert_eq!(page(&query("").replace("acme.okta.com", "evil.example"), &r), PageProblem::RedirectNotRegistered);
        assert_eq!(page(&format!("client_id=key_3mXq8Jt0aZ&redirect_uri={}", encode("https://ACME.okta.com/oauth2/callback")), &r), PageProblem::RedirectNotRegistered);
        let revoked = KeyRecord { status: Status::Revoked, ..oauth_record() };
        assert_eq!(page(&query(""), &revoked), PageProblem::KeyRejected(KeyRejection::Revoked));
        assert_eq!(page(&query(&format!("&state={}", "s".repeat(2000))).replace("&state=xyz%201", ""), &r), PageProblem::BadQuery);
        for p in [PageProblem::BadQuery, PageProblem::OtherClient, PageProblem::RedirectNotRegistered] {
            assert!(!p.message().is_empty() && p.reason().starts_with("oauth_authorize_"));
        }
    }

    #[test]
    fn errors_after_that_go_back_to_the_client_with_its_state() {
        let r = oauth_record();
        let (location, problem) = redirected(validate(query("").replace("response_type=code", "response_type=token").as_bytes(), &r, &issuer(), NOW));
        assert_eq!(problem, RedirectProblem::UnsupportedResponseType);
        let form = Form::parse(location.split_once('?').unwrap().1.as_bytes()).unwrap();
        assert_eq!((form.get("error"), form.get("state")), (Ok(Some("unsupported_response_type")), Ok(Some("xyz 1"))));
        assert_eq!(form.get("iss"), Ok(Some("https://scim.example.com")), "RFC 9207: errors name the issuer too");
        assert!(location.starts_with(URI));
        let problem = |q: String, rec: &KeyRecord| redirected(validate(q.as_bytes(), rec, &issuer(), NOW)).1;
        assert_eq!(problem(query("").replace("response_type=code&", ""), &r), RedirectProblem::InvalidRequest);
        assert_eq!(problem(query("&response_type=code"), &r), RedirectProblem::InvalidRequest);
        assert_eq!(problem(query(&format!("&code_challenge={CHALLENGE}")), &r), RedirectProblem::InvalidRequest, "no method means plain");
        assert_eq!(problem(query(&format!("&code_challenge={CHALLENGE}&code_challenge_method=plain")), &r), RedirectProblem::InvalidRequest);
        assert_eq!(problem(query("&scope=me"), &r), RedirectProblem::InvalidScope(ScopeProblem::NotHeld));
        assert_eq!(problem(query("&scope=users:admin"), &r), RedirectProblem::InvalidScope(ScopeProblem::Grammar));
        let required = KeyRecord { auth: AuthPolicy { pkce_required: true, ..oauth_record().auth }, ..oauth_record() };
        assert_eq!(problem(query(""), &required), RedirectProblem::InvalidRequest);
        assert!(validate(query(&format!("&code_challenge={CHALLENGE}&code_challenge_method=S256")).as_bytes(), &required, &issuer(), NOW).is_ok());
        let bearer_only = KeyRecord { auth: AuthPolicy { modes: Modes::DEFAULT, ..oauth_record().auth }, ..oauth_record() };
        assert_eq!(problem(query(""), &bearer_only), RedirectProblem::UnauthorizedClient);
        // Without state, none is sent back.
        let (location, _) = redirected(validate(query("").replace("&state=xyz%201", "").replace("code&", "token&").as_bytes(), &r, &issuer(), NOW));
        assert!(!location.contains("state="), "{location}");
    }
}
