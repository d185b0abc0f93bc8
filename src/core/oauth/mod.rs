//! OAuth 2.0 for provisioning keys, the pure part: every format, check and
//! state change of the token endpoint, the authorization endpoint and the
//! request path, with no I/O and no clock (callers pass `now` and random
//! bytes). docs/oauth.md describes the design.
//!
//! The key stays the root of trust: the client id is the key id, the
//! client secret is the key, and everything issued carries or refers to
//! the key, so revoking or rotating the key ends all of it.
//!
//! | credential | prefix | kind | verified by |
//! |---|---|---|---|
//! | access token | `pva_` | sealed claims (HMAC-SHA256, `TOKEN_SIGNING_SECRET`) | its MAC: no KV read, no record |
//! | authorization code | `pvc_` | sealed binding (client, redirect URI, PKCE, scopes), 60 s | its MAC, then the key's guard (single use) |
//! | refresh token | `pvr_` | random, ≥ 256 bits, CRC32 checksum | its hash, in the key's guard (rotation, reuse detection) |

pub mod access;
pub mod authorize;
pub mod claims;
pub mod client_auth;
pub mod code;
pub mod envelope;
pub mod error;
pub mod exchange;
pub mod family;
pub mod form;
pub mod guard_ops;
pub mod ids;
pub mod keys;
pub mod layout;
pub mod lifetime;
pub mod metadata;
pub mod pkce;
pub mod policy;
pub mod redeemed;
pub mod refresh;
pub mod response;
pub mod scope_param;
pub mod state;
pub mod token_request;

/// What a request presented, as the audit line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// The provisioning key itself.
    Key,
    /// An access token (`pva_`).
    AccessToken,
    /// A refresh token (`pvr_`), at the token endpoint.
    RefreshToken,
    /// An authorization code (`pvc_`), at the token endpoint.
    AuthorizationCode,
}

impl CredentialKind {
    /// The audit line's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Key => "key",
            CredentialKind::AccessToken => "access_token",
            CredentialKind::RefreshToken => "refresh_token",
            CredentialKind::AuthorizationCode => "authorization_code",
        }
    }
}
