//! What the token endpoint decides once the client is authenticated (its
//! record in hand): whether the key allows the grant, what a code is
//! bound to, which scopes the token gets, and the token itself.
//!
//! ```text
//! client_credentials:  client_credentials() ─────────────────────────────▶ mint()
//! authorization_code:  code() ──▶ guard: OAuthState::redeem_code ────────▶ mint() + refresh token
//! refresh_token:       refresh_allowed() ──▶ guard: OAuthState::refresh ──▶ refreshed_scopes() ──▶ mint() + refresh token
//! ```
//!
//! Scopes are cut to the key's scopes *now* at every step: an operator who
//! narrows a key narrows every token issued from then on.

use super::access::{self, AccessToken};
use super::claims::{AccessClaims, GrantKind};
use super::client_auth::ClientAuth;
use super::code::{self, CodeClaims};
use super::envelope::Rejection;
use super::error::{ClientProblem, GrantProblem, OAuthError, ScopeProblem};
use super::family::{RefreshError, Rotated};
use super::ids::{FamilyId, TokenId};
use super::keys::TokenKeys;
use super::lifetime::AccessLifetime;
use super::policy::Mode;
use super::redeemed::CodeError;
use super::refresh::RefreshToken;
use super::response::TokenResponse;
use super::scope_param::{meet, narrow};
use crate::core::outcome::KeyRejection;
use crate::core::record::KeyRecord;
use crate::core::scope::Scope;
use crate::core::time::UnixMillis;

/// The key's record allows `mode`, or `unauthorized_client`.
pub fn allowed(record: &KeyRecord, mode: Mode) -> Result<(), OAuthError> {
    if record.allows(mode) {
        Ok(())
    } else {
        Err(OAuthError::UnauthorizedClient(mode))
    }
}

/// `client_credentials`: the token's scopes.
pub fn client_credentials(record: &KeyRecord, requested: Option<&[Scope]>) -> Result<Vec<Scope>, OAuthError> {
    allowed(record, Mode::ClientCredentials)?;
    narrow(&record.scopes, requested).map_err(|_| OAuthError::InvalidScope(ScopeProblem::NotHeld))
}

/// `authorization_code`: the code, verified and bound to this client,
/// redirect URI and verifier, its scopes cut to the key's. The caller then
/// has the key's guard redeem it (once only).
pub fn code(keys: &TokenKeys, record: &KeyRecord, presented: &str, redirect_uri: &str, verifier: Option<&str>, now: UnixMillis) -> Result<CodeClaims, OAuthError> {
    allowed(record, Mode::AuthorizationCode)?;
    let grant = |p| OAuthError::InvalidGrant(p);
    let mut claims = code::verify(keys, presented, now).map_err(|r| match r {
        Rejection::Expired => grant(GrantProblem::CodeExpired),
        _ => grant(GrantProblem::CodeInvalid),
    })?;
    if claims.key_id != record.key_id {
        return Err(grant(GrantProblem::CodeOtherClient));
    }
    if claims.redirect_uri != redirect_uri {
        return Err(grant(GrantProblem::RedirectMismatch));
    }
    match (&claims.challenge, verifier) {
        (Some(challenge), Some(v)) if !challenge.verifies(v) => return Err(grant(GrantProblem::PkceMismatch)),
        (Some(_), None) => return Err(grant(GrantProblem::PkceMissing)),
        // RFC 9700 §2.1.1: a verifier for a code without a challenge is a downgrade.
        (None, Some(_)) => return Err(grant(GrantProblem::PkceUnexpected)),
        _ => {}
    }
    claims.scopes = meet(&claims.scopes, &record.scopes);
    Ok(claims)
}

/// `refresh_token`: whether to ask the guard at all.
pub fn refresh_allowed(record: &KeyRecord) -> Result<(), OAuthError> {
    allowed(record, Mode::AuthorizationCode)
}

/// `refresh_token`: after the guard rotated, the token's scopes: the
/// family's grant cut to the key's scopes, narrowed by `requested`.
pub fn refreshed_scopes(record: &KeyRecord, rotated: &Rotated, requested: Option<&[Scope]>) -> Result<Vec<Scope>, OAuthError> {
    narrow(&meet(&rotated.scopes, &record.scopes), requested).map_err(|_| OAuthError::InvalidScope(ScopeProblem::NotHeld))
}

impl From<CodeError> for OAuthError {
    fn from(e: CodeError) -> Self {
        OAuthError::InvalidGrant(match e {
            CodeError::Replayed { .. } => GrantProblem::CodeReplayed,
            CodeError::Busy => GrantProblem::Busy,
        })
    }
}

impl From<RefreshError> for OAuthError {
    fn from(e: RefreshError) -> Self {
        OAuthError::InvalidGrant(match e {
            RefreshError::Reuse { .. } => GrantProblem::RefreshReused,
            RefreshError::Expired => GrantProblem::RefreshExpired,
            RefreshError::Unknown => GrantProblem::RefreshUnknown,
        })
    }
}

/// What a new access token is issued with.
pub struct Mint<'a> {
    /// The grant.
    pub grant: GrantKind,
    /// Its scopes (already narrowed).
    pub scopes: Vec<Scope>,
    /// The refresh family, for codes and refreshes.
    pub family: Option<FamilyId>,
    /// A fresh token id.
    pub token_id: TokenId,
    /// The edge's access token lifetime.
    pub lifetime: AccessLifetime,
    /// The clock.
    pub now: UnixMillis,
    /// The signing keys.
    pub keys: &'a TokenKeys,
}

/// The access token for `record`'s key, and its claims (for the audit
/// line). `client` is who asked, for the error's challenge.
pub fn access_token(record: &KeyRecord, client: &ClientAuth, mint: &Mint<'_>) -> Result<(AccessToken, AccessClaims), OAuthError> {
    let claims = AccessClaims::for_key(record, mint.scopes.clone(), mint.grant, mint.family, mint.token_id, mint.now, mint.lifetime)
        // The key expires within the second: as good as expired.
        .ok_or(client.failure(ClientProblem::Key(KeyRejection::Expired)))?;
    let token = access::issue(mint.keys, &claims).map_err(|_| OAuthError::InvalidScope(ScopeProblem::TooLarge))?;
    Ok((token, claims))
}

/// Whether an access token for `record`'s key with `scopes` fits in a
/// token: asked before a code is redeemed (and before one is issued), so
/// that a grant is never consumed for a token that cannot be issued.
pub fn fits(record: &KeyRecord, scopes: &[Scope]) -> bool {
    let probe = AccessClaims::for_key(record, scopes.to_vec(), GrantKind::RefreshToken, Some(FamilyId([0; 8])), TokenId([0; 12]), UnixMillis(0), AccessLifetime::default());
    probe.is_some_and(|c| access::fits(&c))
}

/// The whole success answer.
pub fn respond(record: &KeyRecord, client: &ClientAuth, mint: Mint<'_>, refresh_token: Option<RefreshToken>) -> Result<(TokenResponse, AccessClaims), OAuthError> {
    let (access_token, claims) = access_token(record, client, &mint)?;
    Ok((TokenResponse { access_token, expires_in: claims.lifetime(), scopes: claims.scopes.clone(), refresh_token }, claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::oauth::claims::tests::record;
    use crate::core::oauth::code::tests::{claims as code_claims, keys, NOW};
    use crate::core::oauth::pkce::CodeChallenge;
    use crate::core::oauth::policy::{AuthPolicy, Modes};
    use crate::core::scope::parse_list;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const URI: &str = "https://acme.okta.com/oauth2/callback";

    fn with_modes(modes: &[Mode]) -> KeyRecord {
        KeyRecord { auth: AuthPolicy { modes: Modes::new(modes.iter().copied()).unwrap(), ..AuthPolicy::default() }, ..record() }
    }

    fn oauth_record() -> KeyRecord {
        with_modes(&[Mode::ClientCredentials, Mode::AuthorizationCode])
    }

    #[test]
    fn client_credentials_needs_the_mode_and_held_scopes() {
        assert_eq!(client_credentials(&record(), None), Err(OAuthError::UnauthorizedClient(Mode::ClientCredentials)));
        let r = oauth_record();
        assert_eq!(client_credentials(&r, None), Ok(r.scopes.clone()));
        assert_eq!(client_credentials(&r, Some(&parse_list("users:read").unwrap())), Ok(parse_list("users:read").unwrap()));
        assert_eq!(client_credentials(&r, Some(&parse_list("me").unwrap())), Err(OAuthError::InvalidScope(ScopeProblem::NotHeld)));
        assert_eq!(refresh_allowed(&with_modes(&[Mode::ClientCredentials])), Err(OAuthError::UnauthorizedClient(Mode::AuthorizationCode)));
    }

    #[test]
    fn a_code_is_bound_to_client_redirect_uri_and_verifier() {
        let r = oauth_record();
        let challenge = CodeChallenge::of_verifier(VERIFIER);
        let issued = code::issue(&keys(), &code_claims(challenge)).unwrap();
        let redeem = |rec: &KeyRecord, uri: &str, v: Option<&str>, now| code(&keys(), rec, issued.expose(), uri, v, now);
        let grant = |p| Err(OAuthError::InvalidGrant(p));
        let ok = redeem(&r, URI, Some(VERIFIER), NOW).unwrap();
        assert_eq!(ok.scopes, parse_list("users:read,groups:read").unwrap());
        assert_eq!(redeem(&r, &format!("{URI}/"), Some(VERIFIER), NOW), grant(GrantProblem::RedirectMismatch));
        assert_eq!(redeem(&r, URI, None, NOW), grant(GrantProblem::PkceMissing));
        assert_eq!(redeem(&r, URI, Some(&VERIFIER.replace('d', "e")), NOW), grant(GrantProblem::PkceMismatch));
        assert_eq!(redeem(&r, URI, Some(VERIFIER), UnixMillis(NOW.0 + 60_000)), grant(GrantProblem::CodeExpired));
        let other = KeyRecord { key_id: crate::core::KeyId::parse("key_other").unwrap(), ..oauth_record() };
        assert_eq!(redeem(&other, URI, Some(VERIFIER), NOW), grant(GrantProblem::CodeOtherClient));
        assert_eq!(redeem(&with_modes(&[Mode::Bearer]), URI, Some(VERIFIER), NOW), Err(OAuthError::UnauthorizedClient(Mode::AuthorizationCode)));
        assert_eq!(code(&keys(), &r, "pvc_AAAA.AAAA", URI, None, NOW), grant(GrantProblem::CodeInvalid));
        // Without a challenge, a verifier is a downgrade attempt.
        let plain = code::issue(&keys(), &code_claims(None)).unwrap();
        assert_eq!(code(&keys(), &r, plain.expose(), URI, Some(VERIFIER), NOW), grant(GrantProblem::PkceUnexpected));
        assert!(code(&keys(), &r, plain.expose(), URI, None, NOW).is_ok());
        // A key narrowed since the code was issued narrows what it grants.
        let narrowed = KeyRecord { scopes: parse_list("users:read").unwrap(), ..oauth_record() };
        assert_eq!(code(&keys(), &narrowed, plain.expose(), URI, None, NOW).unwrap().scopes, parse_list("users:read").unwrap());
    }

    #[test]
    fn refreshed_tokens_never_exceed_the_key() {
        let r = KeyRecord { scopes: parse_list("users:read").unwrap(), ..oauth_record() };
        let rotated = Rotated { family: FamilyId([1; 8]), generation: 3, scopes: parse_list("users:read,groups:read").unwrap() };
        assert_eq!(refreshed_scopes(&r, &rotated, None), Ok(parse_list("users:read").unwrap()));
        assert_eq!(refreshed_scopes(&r, &rotated, Some(&parse_list("groups:read").unwrap())), Err(OAuthError::InvalidScope(ScopeProblem::NotHeld)));
    }

    #[test]
    fn guard_refusals_are_invalid_grant() {
        assert_eq!(OAuthError::from(CodeError::Replayed { family: FamilyId([0; 8]) }), OAuthError::InvalidGrant(GrantProblem::CodeReplayed));
        assert_eq!(OAuthError::from(RefreshError::Reuse { family: FamilyId([0; 8]) }), OAuthError::InvalidGrant(GrantProblem::RefreshReused));
        assert_eq!(OAuthError::from(RefreshError::Unknown), OAuthError::InvalidGrant(GrantProblem::RefreshUnknown));
    }

    #[test]
    fn a_minted_token_verifies_with_the_record_s_facts() {
        let r = oauth_record();
        let k = keys();
        let mint = Mint { grant: GrantKind::AuthorizationCode, scopes: parse_list("users:read").unwrap(), family: Some(FamilyId([2; 8])), token_id: TokenId([1; 12]), lifetime: AccessLifetime::default(), now: NOW, keys: &k };
        let client = client();
        let (response, claims) = respond(&r, &client, mint, Some(RefreshToken::generate(|b| b.fill(1)))).unwrap();
        let verified = access::verify(&k, response.access_token.expose(), NOW).unwrap();
        assert_eq!(verified.claims, claims);
        assert_eq!((claims.key_id, claims.tenant.as_deref(), claims.allow_ips, claims.family), (r.key_id.clone(), Some("acme"), r.allow_ips.clone(), Some(FamilyId([2; 8]))));
        assert_eq!(response.expires_in, 3_600);
        let dying = KeyRecord { expires_at: Some(UnixMillis(NOW.0 + 500)), ..oauth_record() };
        let mint = Mint { grant: GrantKind::ClientCredentials, scopes: vec![], family: None, token_id: TokenId([1; 12]), lifetime: AccessLifetime::default(), now: NOW, keys: &k };
        assert_eq!(access_token(&dying, &client, &mint).err(), Some(OAuthError::InvalidClient { problem: ClientProblem::Key(KeyRejection::Expired), basic: true }));
        assert!(fits(&r, &r.scopes));
        let many: Vec<Scope> = (0..100).map(|i| format!("resource{i:03}:read").parse().unwrap()).collect();
        assert!(!fits(&r, &many));
        let wide = KeyRecord { scopes: vec![Scope::All], ..oauth_record() };
        assert!(access_token(&wide, &client, &Mint { scopes: many, ..mint }).is_err_and(|e| e == OAuthError::InvalidScope(ScopeProblem::TooLarge)));
    }

    fn client() -> ClientAuth {
        let key = crate::core::key::ProvisioningKey::generate(|b| b.fill(5));
        let header = crate::core::oauth::client_auth::basic_header("key_3mXq8Jt0aZ", key.expose());
        crate::core::oauth::client_auth::from_request(Some(&header), &crate::core::oauth::form::Form::parse(b"").unwrap()).ok().unwrap()
    }
}
