//! Every way a token request can fail, and its only mapping to the wire
//! (RFC 6749 §5.2): status, `error`, `error_description`, headers, body.
//!
//! One closed enum, each variant one of §5.2's codes, each carrying the
//! precise cause for the audit line's `reason` (`oauth_…`). On the wire,
//! causes a caller could learn from stay alike: every failed client
//! authentication reads the same, whether the key is unknown, revoked or
//! of another client.

use super::policy::Mode;
use crate::core::outcome::KeyRejection;
use serde_json::json;

/// A token request the endpoint refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthError {
    /// `invalid_request` (400): the request itself is malformed.
    InvalidRequest(RequestProblem),
    /// `invalid_client` (401): client authentication failed.
    InvalidClient {
        /// Why.
        problem: ClientProblem,
        /// The client tried HTTP Basic: the answer carries `WWW-Authenticate: Basic`.
        basic: bool,
    },
    /// `invalid_grant` (400): the code or refresh token is not valid for this client.
    InvalidGrant(GrantProblem),
    /// `unauthorized_client` (400): the key's record does not allow this grant.
    UnauthorizedClient(Mode),
    /// `unsupported_grant_type` (400).
    UnsupportedGrantType,
    /// `invalid_scope` (400).
    InvalidScope(ScopeProblem),
}

/// Why a request is `invalid_request`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestProblem {
    /// The body is not `application/x-www-form-urlencoded`.
    NotForm,
    /// The body is over the form limit.
    TooLarge,
    /// A parameter is not UTF-8 once decoded.
    NotUtf8,
    /// A parameter was sent more than once (§3.2).
    Repeated(&'static str),
    /// A required parameter is missing.
    Missing(&'static str),
    /// Both HTTP Basic and `client_secret` in the body (§2.3).
    TwoClientAuthentications,
    /// `client_id` in the body names another client than the Basic credentials.
    ClientIdConflict,
}

/// Why client authentication failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientProblem {
    /// No client authentication at all (public clients are not supported).
    Missing,
    /// An `Authorization` header that is not well-formed Basic credentials,
    /// or a client id that is not a key id.
    Malformed,
    /// The client secret is not a valid provisioning key (format, checksum,
    /// unknown, revoked, expired, not yet valid).
    Key(KeyRejection),
    /// The key is valid but belongs to another client id.
    IdMismatch,
    /// The key may not be used from the caller's address.
    AddressDenied,
}

/// Why a grant is `invalid_grant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantProblem {
    /// Not a code this edge issued (malformed, tampered, other secret).
    CodeInvalid,
    /// The code expired (60 s).
    CodeExpired,
    /// The code was issued to another client.
    CodeOtherClient,
    /// `redirect_uri` differs from the authorization request's.
    RedirectMismatch,
    /// The code has a PKCE challenge and no `code_verifier` was sent.
    PkceMissing,
    /// The `code_verifier` does not match the challenge.
    PkceMismatch,
    /// A `code_verifier` for a code issued without a challenge (a downgrade).
    PkceUnexpected,
    /// The code was redeemed before; what it issued is revoked.
    CodeReplayed,
    /// The key's guard holds as many codes or families as it may.
    Busy,
    /// Not shaped like a refresh token, or its checksum is wrong.
    RefreshMalformed,
    /// A refresh token the key's guard does not know.
    RefreshUnknown,
    /// The refresh token expired.
    RefreshExpired,
    /// A superseded refresh token: its whole family is revoked.
    RefreshReused,
}

/// Why a request is `invalid_scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeProblem {
    /// A scope outside the grammar.
    Grammar,
    /// A scope the key (or the grant) does not hold.
    NotHeld,
    /// The key's scopes and networks do not fit in one access token.
    TooLarge,
}

impl From<super::form::FormError> for OAuthError {
    fn from(e: super::form::FormError) -> Self {
        use super::form::FormError;
        OAuthError::InvalidRequest(match e {
            FormError::TooLarge => RequestProblem::TooLarge,
            FormError::NotUtf8 => RequestProblem::NotUtf8,
            FormError::Repeated(name) => RequestProblem::Repeated(name),
        })
    }
}

/// Every failed client authentication reads alike (no existence oracle).
const CLIENT_DESCRIPTION: &str = "Client authentication failed: send the key id as client_id and the provisioning key as client_secret (HTTP Basic or in the body, not both).";

impl OAuthError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            OAuthError::InvalidClient { .. } => 401,
            _ => 400,
        }
    }

    /// The §5.2 `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient { .. } => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
        }
    }

    /// The `error_description`: printable ASCII without `"` or `\` (§5.2),
    /// never a value from the request.
    pub fn description(&self) -> &'static str {
        use GrantProblem as G;
        use RequestProblem as R;
        match self {
            OAuthError::InvalidRequest(R::NotForm) => "The body must be application/x-www-form-urlencoded.",
            OAuthError::InvalidRequest(R::TooLarge) => "The request body is too large.",
            OAuthError::InvalidRequest(R::NotUtf8) => "A parameter is not UTF-8 once decoded.",
            OAuthError::InvalidRequest(R::Repeated(_)) => "A parameter was sent more than once.",
            OAuthError::InvalidRequest(R::Missing(_)) => "A required parameter is missing.",
            OAuthError::InvalidRequest(R::TwoClientAuthentications) => "Use one client authentication method: HTTP Basic or client_secret in the body.",
            OAuthError::InvalidRequest(R::ClientIdConflict) => "client_id in the body differs from the client in the Authorization header.",
            OAuthError::InvalidClient { .. } => CLIENT_DESCRIPTION,
            OAuthError::InvalidGrant(G::CodeInvalid | G::CodeOtherClient) => "The authorization code is not valid for this client.",
            OAuthError::InvalidGrant(G::CodeExpired) => "The authorization code has expired: codes are valid for 60 seconds.",
            OAuthError::InvalidGrant(G::RedirectMismatch) => "redirect_uri differs from the one of the authorization request.",
            OAuthError::InvalidGrant(G::PkceMissing | G::PkceMismatch | G::PkceUnexpected) => "The code_verifier does not match the code_challenge of the authorization request.",
            OAuthError::InvalidGrant(G::CodeReplayed) => "The authorization code was already used; the tokens issued for it are revoked.",
            OAuthError::InvalidGrant(G::Busy) => "Too many authorizations are pending for this client; retry in a minute.",
            OAuthError::InvalidGrant(G::RefreshMalformed | G::RefreshUnknown) => "The refresh token is not valid for this client.",
            OAuthError::InvalidGrant(G::RefreshExpired) => "The refresh token has expired: authorize the client again.",
            OAuthError::InvalidGrant(G::RefreshReused) => "The refresh token was already used; all tokens of this authorization are revoked: authorize the client again.",
            OAuthError::UnauthorizedClient(_) => "This provisioning key is not allowed to use this grant type.",
            OAuthError::UnsupportedGrantType => "Supported grant types: client_credentials, authorization_code, refresh_token.",
            OAuthError::InvalidScope(ScopeProblem::Grammar) => "A scope is not a provgate scope (e.g. users:read, groups:write).",
            OAuthError::InvalidScope(ScopeProblem::NotHeld) => "A requested scope is not held by this provisioning key.",
            OAuthError::InvalidScope(ScopeProblem::TooLarge) => "The key's scopes do not fit in one access token: request fewer scopes.",
        }
    }

    /// The audit line's reason code.
    pub fn reason(&self) -> &'static str {
        use ClientProblem as C;
        use GrantProblem as G;
        use RequestProblem as R;
        match self {
            OAuthError::InvalidRequest(R::NotForm) => "oauth_not_form",
            OAuthError::InvalidRequest(R::TooLarge) => "oauth_body_too_large",
            OAuthError::InvalidRequest(R::NotUtf8) => "oauth_not_utf8",
            OAuthError::InvalidRequest(R::Repeated(_)) => "oauth_repeated_parameter",
            OAuthError::InvalidRequest(R::Missing(_)) => "oauth_missing_parameter",
            OAuthError::InvalidRequest(R::TwoClientAuthentications) => "oauth_two_client_authentications",
            OAuthError::InvalidRequest(R::ClientIdConflict) => "oauth_client_id_conflict",
            OAuthError::InvalidClient { problem: C::Missing, .. } => "oauth_client_missing",
            OAuthError::InvalidClient { problem: C::Malformed, .. } => "oauth_client_malformed",
            OAuthError::InvalidClient { problem: C::Key(KeyRejection::Malformed), .. } => "oauth_client_key_malformed",
            OAuthError::InvalidClient { problem: C::Key(KeyRejection::BadChecksum), .. } => "oauth_client_key_bad_checksum",
            OAuthError::InvalidClient { problem: C::Key(KeyRejection::Unknown), .. } => "oauth_client_key_unknown",
            OAuthError::InvalidClient { problem: C::Key(KeyRejection::Revoked), .. } => "oauth_client_key_revoked",
            OAuthError::InvalidClient { problem: C::Key(KeyRejection::Expired), .. } => "oauth_client_key_expired",
            OAuthError::InvalidClient { problem: C::Key(KeyRejection::NotYetValid), .. } => "oauth_client_key_not_yet_valid",
            OAuthError::InvalidClient { problem: C::IdMismatch, .. } => "oauth_client_id_mismatch",
            OAuthError::InvalidClient { problem: C::AddressDenied, .. } => "oauth_client_ip_denied",
            OAuthError::InvalidGrant(G::CodeInvalid) => "oauth_code_invalid",
            OAuthError::InvalidGrant(G::CodeExpired) => "oauth_code_expired",
            OAuthError::InvalidGrant(G::CodeOtherClient) => "oauth_code_other_client",
            OAuthError::InvalidGrant(G::RedirectMismatch) => "oauth_redirect_mismatch",
            OAuthError::InvalidGrant(G::PkceMissing) => "oauth_pkce_missing",
            OAuthError::InvalidGrant(G::PkceMismatch) => "oauth_pkce_mismatch",
            OAuthError::InvalidGrant(G::PkceUnexpected) => "oauth_pkce_unexpected",
            OAuthError::InvalidGrant(G::CodeReplayed) => "oauth_code_replayed",
            OAuthError::InvalidGrant(G::Busy) => "oauth_guard_full",
            OAuthError::InvalidGrant(G::RefreshMalformed) => "oauth_refresh_malformed",
            OAuthError::InvalidGrant(G::RefreshUnknown) => "oauth_refresh_unknown",
            OAuthError::InvalidGrant(G::RefreshExpired) => "oauth_refresh_expired",
            OAuthError::InvalidGrant(G::RefreshReused) => "oauth_refresh_reused",
            OAuthError::UnauthorizedClient(_) => "oauth_grant_not_allowed",
            OAuthError::UnsupportedGrantType => "oauth_unsupported_grant_type",
            OAuthError::InvalidScope(ScopeProblem::Grammar) => "oauth_scope_invalid",
            OAuthError::InvalidScope(ScopeProblem::NotHeld) => "oauth_scope_not_held",
            OAuthError::InvalidScope(ScopeProblem::TooLarge) => "oauth_token_too_large",
        }
    }

    /// Whether this counts as a failed attempt, as a malformed or unknown
    /// key on a SCIM route does (the failed-attempt limit applies).
    pub fn is_failed_authentication(&self) -> bool {
        use KeyRejection::{BadChecksum, Malformed, Unknown};
        matches!(
            self,
            OAuthError::InvalidClient { problem: ClientProblem::Malformed | ClientProblem::Key(Malformed | BadChecksum | Unknown) | ClientProblem::IdMismatch, .. }
        )
    }

    /// `WWW-Authenticate`, for a failed Basic authentication (§5.2).
    pub fn www_authenticate(&self) -> Option<&'static str> {
        matches!(self, OAuthError::InvalidClient { basic: true, .. }).then_some(r#"Basic realm="provgate", charset="UTF-8""#)
    }

    /// The JSON body.
    pub fn body(&self) -> String {
        json!({ "error": self.code(), "error_description": self.description() }).to_string()
    }

    /// Every header of the answer.
    pub fn headers(&self) -> Vec<(&'static str, &'static str)> {
        let mut headers = super::response::NO_STORE_JSON.to_vec();
        headers.extend(self.www_authenticate().map(|v| ("WWW-Authenticate", v)));
        headers
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn every_error() -> Vec<OAuthError> {
        use ClientProblem as C;
        use GrantProblem as G;
        use RequestProblem as R;
        let mut all: Vec<OAuthError> = [R::NotForm, R::TooLarge, R::NotUtf8, R::Repeated("code"), R::Missing("code"), R::TwoClientAuthentications, R::ClientIdConflict]
            .map(OAuthError::InvalidRequest)
            .to_vec();
        let keys = [KeyRejection::Malformed, KeyRejection::BadChecksum, KeyRejection::Unknown, KeyRejection::Revoked, KeyRejection::Expired, KeyRejection::NotYetValid];
        let clients = [C::Missing, C::Malformed, C::IdMismatch, C::AddressDenied].into_iter().chain(keys.map(C::Key));
        all.extend(clients.flat_map(|problem| [false, true].map(|basic| OAuthError::InvalidClient { problem, basic })));
        all.extend(
            [
                G::CodeInvalid, G::CodeExpired, G::CodeOtherClient, G::RedirectMismatch, G::PkceMissing, G::PkceMismatch, G::PkceUnexpected,
                G::CodeReplayed, G::Busy, G::RefreshMalformed, G::RefreshUnknown, G::RefreshExpired, G::RefreshReused,
            ]
            .map(OAuthError::InvalidGrant),
        );
        all.extend(Mode::ALL.map(OAuthError::UnauthorizedClient));
        all.push(OAuthError::UnsupportedGrantType);
        all.extend([ScopeProblem::Grammar, ScopeProblem::NotHeld, ScopeProblem::TooLarge].map(OAuthError::InvalidScope));
        all
    }

    #[test]
    fn every_error_maps_to_rfc_6749_section_5_2() {
        let codes = ["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope"];
        let mut reasons = std::collections::HashMap::new();
        for e in every_error() {
            assert!(codes.contains(&e.code()));
            assert_eq!(e.status(), if e.code() == "invalid_client" { 401 } else { 400 });
            let d = e.description();
            assert!(!d.is_empty() && d.bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'), "{d}");
            let body: serde_json::Value = serde_json::from_str(&e.body()).unwrap();
            assert_eq!((body["error"].as_str(), body["error_description"].as_str()), (Some(e.code()), Some(d)));
            assert_eq!(body.as_object().unwrap().len(), 2);
            let headers = e.headers();
            assert!(headers.contains(&("Cache-Control", "no-store")) && headers.contains(&("Pragma", "no-cache")));
            assert!(e.reason().starts_with("oauth_"));
            // Reasons are unique per cause (a Basic attempt is the same cause).
            let cause = match e {
                OAuthError::InvalidClient { problem, .. } => OAuthError::InvalidClient { problem, basic: false },
                OAuthError::UnauthorizedClient(_) => OAuthError::UnauthorizedClient(Mode::Bearer),
                other => other,
            };
            assert_eq!(*reasons.entry(e.reason()).or_insert(cause), cause, "{} reused", e.reason());
        }
    }

    #[test]
    fn failed_client_authentication_reads_alike_and_challenges_basic() {
        let wire = |problem, basic| {
            let e = OAuthError::InvalidClient { problem, basic };
            (e.status(), e.body(), e.www_authenticate())
        };
        let unknown = wire(ClientProblem::Key(KeyRejection::Unknown), true);
        assert_eq!(unknown, wire(ClientProblem::Key(KeyRejection::Revoked), true));
        assert_eq!(unknown, wire(ClientProblem::IdMismatch, true));
        assert_eq!(unknown.2, Some(r#"Basic realm="provgate", charset="UTF-8""#));
        assert_eq!(wire(ClientProblem::IdMismatch, false).2, None);
        assert!(OAuthError::InvalidClient { problem: ClientProblem::IdMismatch, basic: false }.is_failed_authentication());
        assert!(!OAuthError::InvalidClient { problem: ClientProblem::Missing, basic: false }.is_failed_authentication());
        assert!(OAuthError::InvalidClient { problem: ClientProblem::Key(KeyRejection::Unknown), basic: true }.is_failed_authentication());
        assert!(!OAuthError::InvalidClient { problem: ClientProblem::Key(KeyRejection::Revoked), basic: true }.is_failed_authentication());
        assert!(!OAuthError::InvalidGrant(GrantProblem::RefreshUnknown).is_failed_authentication());
    }
}
