//! Every way a request can end, and the only mapping of each to the wire.
//!
//! One closed enum drives the HTTP status, the SCIM error body (RFC 7644
//! §3.12), the `WWW-Authenticate` header, the audit log's `reason` and the
//! operator's hint. Adding a variant forces every one of those to be decided.

use super::api::problem::{Kind, Problem};
use super::credential::CredentialError;
use super::key::KeyFormatError;
use super::oauth::error::OAuthError;
use super::oauth::authorize::{PageProblem, RedirectProblem};
use super::oauth::envelope::Rejection;
use super::scim::PathError;
use serde_json::json;

/// The SCIM error message schema.
pub const SCIM_ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// Why a presented key was refused. On the wire the four "known format"
/// reasons look identical, so a caller cannot learn whether a key exists;
/// only the audit log tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRejection {
    /// Not shaped like a provgate key (wrong scheme, prefix, length or alphabet).
    Malformed,
    /// Shaped like a key, but its checksum is wrong: a typo or truncated copy.
    BadChecksum,
    /// Well-formed, but no record exists for it.
    Unknown,
    /// The record says revoked.
    Revoked,
    /// Past its `expires_at`.
    Expired,
    /// Before its `not_before`.
    NotYetValid,
}

/// Why a presented access token (`pva_`) was refused. On the wire they
/// read alike; only the audit log tells them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRejection {
    /// Not shaped like a token of this edge (length, prefix, encoding, version).
    Malformed,
    /// Its MAC verifies under no configured `TOKEN_SIGNING_SECRET`: tampered,
    /// forged, or sealed by a secret since removed (or OAuth is off).
    BadMac,
    /// Authentic, but past its expiry (to the second).
    Expired,
    /// Issued with a refresh family the key's guard has since revoked
    /// (a refresh token reused, a code replayed).
    FamilyRevoked,
    /// Issued before its key's end was brought forward (a rotation, whose
    /// grace is now over, or a shorter `expires_at`): a key's tokens end
    /// when it does.
    KeyEnded,
    /// Its key's `not_before` was moved later: every token of the key is
    /// refused until then, as the key is.
    KeySuspended,
}

impl TokenRejection {
    /// Whether this counts as a failed attempt (`AUTH_FAILURES`), as a
    /// malformed or unknown key does: the token is not the edge's.
    pub fn is_failed_authentication(self) -> bool {
        matches!(self, TokenRejection::Malformed | TokenRejection::BadMac)
    }
}

impl From<Rejection> for TokenRejection {
    fn from(r: Rejection) -> Self {
        match r {
            Rejection::TooLong | Rejection::Malformed | Rejection::BadVersion => TokenRejection::Malformed,
            Rejection::BadMac => TokenRejection::BadMac,
            Rejection::Expired => TokenRejection::Expired,
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded; the origin answered with this status.
    Forwarded {
        /// The origin's HTTP status, passed through unchanged.
        origin_status: u16,
        /// True when the rate limiter could not be asked and
        /// `RATE_LIMIT_FAILURE_MODE=open` let the request through unmetered.
        unmetered: bool,
    },
    /// The key used up its rate limit; retry after this many seconds.
    RateLimited {
        /// Seconds until one more request would be admitted.
        retry_after: u64,
    },
    /// The key's rate-limit object could not be reached and
    /// `RATE_LIMIT_FAILURE_MODE=closed` (the default) denies.
    LimiterUnavailable,
    /// A management API call succeeded with this status.
    ApiDone {
        /// The status answered (200, 201, 204).
        status: u16,
    },
    /// A management API call failed (docs/api.md#problem-types).
    Api(Problem),
    /// The connection doctor's introspection answered (about a valid key or
    /// with the category of an invalid one).
    Introspected {
        /// Whether the presented key verified.
        valid: bool,
    },
    /// The path is outside the SCIM base path or has no SCIM shape.
    NotFound,
    /// The path is spelled ambiguously (see `scim`), so it is refused.
    PathNotCanonical(&'static str),
    /// The endpoint does not take this method, or a method override was sent.
    MethodNotAllowed,
    /// The request body is larger than the configured limit.
    BodyTooLarge,
    /// The request URL is longer than [`MAX_URL_BYTES`](super::forward::MAX_URL_BYTES).
    UrlTooLong,
    /// The request body could not be read (the client went away mid-body).
    BodyUnreadable,
    /// No credential was sent.
    MissingCredentials,
    /// A key or token (or an `access_token` parameter) was sent in the
    /// query string, where URLs are logged: refused before anything else.
    KeyInQuery,
    /// A key or token was sent in the path, where URLs are logged: refused
    /// before any route or classification, with no lookup.
    KeyInPath,
    /// A URL override header (`X-Original-URL`, …), or a `_` spelling of a
    /// header the edge owns or drops for safety (`X_Forwarded_Host`, …).
    HeaderRefused,
    /// GET, HEAD or DELETE with a body.
    BodyNotAllowed,
    /// A body with a `Content-Encoding` other than `identity`.
    ContentEncodingRefused,
    /// Plain `http:` while `REQUIRE_HTTPS` is on (from anywhere but loopback).
    HttpsRequired,
    /// Too many keyless discovery requests from this address.
    DiscoveryThrottled {
        /// Seconds until the caller may try again.
        retry_after: u64,
    },
    /// A credential was sent and refused.
    InvalidKey(KeyRejection),
    /// An access token was sent and refused.
    InvalidToken(TokenRejection),
    /// A valid key sent on a SCIM route, whose record does not list
    /// `bearer` in its `auth_modes`: it may be used through OAuth only.
    BearerNotAllowed,
    /// The OAuth token endpoint issued a token (RFC 6749 §5.1).
    TokenIssued,
    /// The OAuth authorization server metadata (RFC 8414) was served.
    MetadataServed,
    /// The OAuth token endpoint refused the request (RFC 6749 §5.2).
    OAuth(OAuthError),
    /// The authorization endpoint issued a code and redirected the browser
    /// to the client's registered redirect URI (303).
    CodeIssued,
    /// The authorization endpoint sent an error back to the client's
    /// registered redirect URI (303, RFC 6749 §4.1.2.1).
    AuthorizeRedirected(RedirectProblem),
    /// The authorization endpoint could not trust the client or its
    /// redirect URI: an error page, never a redirect.
    AuthorizePage(PageProblem),
    /// The key's stored record cannot be decoded; denied (fail closed).
    RecordMalformed,
    /// The key is valid but its scopes do not cover this request (or one
    /// operation of a `/Bulk` request).
    InsufficientScope {
        /// The first scope the request needs and the key lacks.
        missing: String,
        /// For `/Bulk`: the `bulkId` (or position) of the forbidden operation.
        bulk_id: Option<String>,
    },
    /// The key is valid but may not be used from the caller's address.
    IpDenied,
    /// `ORIGIN_URL` names a `{tenant}` and the key has none.
    TenantMissing,
    /// A `/Bulk` body that cannot be authorised operation by operation.
    BulkInvalid(String),
    /// Too many failed verifications from this address; retry after this many seconds.
    AuthThrottled {
        /// Seconds until the caller may try again.
        retry_after: u64,
    },
    /// KV could not be read; denied (fail closed).
    KeyStoreUnavailable,
    /// A required setting (`PEPPER`, `ORIGIN_URL`) is missing or invalid.
    Misconfigured,
    /// The origin could not be reached (connection refused, reset, DNS).
    OriginUnreachable,
    /// The origin did not answer within `ORIGIN_TIMEOUT_MS`.
    OriginTimeout,
    /// The origin answered 401 or 403 to the edge's own credential or
    /// signature: the IdP's key was fine, the edge-to-origin trust is not.
    OriginRejectedEdge {
        /// The origin's status (401 or 403).
        origin_status: u16,
    },
}

/// Whether the edge let the request through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Forwarded to the origin.
    Allow,
    /// Answered by the edge.
    Deny,
}

impl From<PathError> for Outcome {
    fn from(e: PathError) -> Self {
        match e {
            PathError::NotCanonical(why) => Outcome::PathNotCanonical(why),
            PathError::NotFound => Outcome::NotFound,
            PathError::MethodNotAllowed => Outcome::MethodNotAllowed,
        }
    }
}

impl From<CredentialError> for Outcome {
    fn from(e: CredentialError) -> Self {
        match e {
            CredentialError::Missing => Outcome::MissingCredentials,
            CredentialError::Format(KeyFormatError::Malformed) => Outcome::InvalidKey(KeyRejection::Malformed),
            CredentialError::Format(KeyFormatError::BadChecksum) => Outcome::InvalidKey(KeyRejection::BadChecksum),
        }
    }
}

const INVALID_KEY_DETAIL: &str = "The provisioning key is not valid: it is unknown, revoked, expired or not yet valid. \
A key minted less than a minute ago may not be usable everywhere yet: try again a minute later. \
Otherwise ask the service provider for a new key and update it in your identity provider.";

impl Outcome {
    /// Allow or deny, for the audit log.
    pub fn decision(&self) -> Decision {
        match self {
            Outcome::Forwarded { .. } | Outcome::ApiDone { .. } | Outcome::Introspected { .. } | Outcome::TokenIssued | Outcome::CodeIssued | Outcome::MetadataServed => Decision::Allow,
            _ => Decision::Deny,
        }
    }

    /// The HTTP status the IdP receives.
    pub fn status(&self) -> u16 {
        match self {
            Outcome::Forwarded { origin_status, .. } => *origin_status,
            Outcome::ApiDone { status } => *status,
            Outcome::Api(p) => p.kind.status(),
            Outcome::Introspected { .. } | Outcome::TokenIssued | Outcome::MetadataServed => 200,
            Outcome::OAuth(e) => e.status(),
            Outcome::InvalidToken(_) | Outcome::BearerNotAllowed => 401,
            Outcome::CodeIssued | Outcome::AuthorizeRedirected(_) => 303,
            Outcome::AuthorizePage(_) => 400,
            Outcome::RateLimited { .. } => 429,
            Outcome::LimiterUnavailable => 503,
            Outcome::PathNotCanonical(_)
            | Outcome::BodyUnreadable
            | Outcome::BulkInvalid(_)
            | Outcome::KeyInQuery
            | Outcome::KeyInPath
            | Outcome::HeaderRefused
            | Outcome::BodyNotAllowed => 400,
            Outcome::ContentEncodingRefused => 415,
            Outcome::HttpsRequired => 403,
            Outcome::DiscoveryThrottled { .. } => 429,
            Outcome::MissingCredentials | Outcome::InvalidKey(_) => 401,
            Outcome::InsufficientScope { .. } | Outcome::IpDenied | Outcome::TenantMissing => 403,
            Outcome::AuthThrottled { .. } => 429,
            Outcome::NotFound => 404,
            Outcome::MethodNotAllowed => 405,
            Outcome::BodyTooLarge => 413,
            Outcome::UrlTooLong => 414,
            Outcome::RecordMalformed | Outcome::Misconfigured => 500,
            Outcome::OriginUnreachable | Outcome::OriginRejectedEdge { .. } => 502,
            Outcome::KeyStoreUnavailable => 503,
            Outcome::OriginTimeout => 504,
        }
    }

    /// The stable reason code in the audit log (`snake_case`).
    pub fn reason(&self) -> &'static str {
        match self {
            Outcome::Forwarded { unmetered: false, .. } => "forwarded",
            Outcome::Forwarded { unmetered: true, .. } => "forwarded_unmetered",
            Outcome::RateLimited { .. } => "rate_limited",
            Outcome::LimiterUnavailable => "limiter_unavailable",
            Outcome::ApiDone { .. } => "api_ok",
            Outcome::Api(p) => p.kind.reason(),
            Outcome::Introspected { valid: true } => "introspected",
            Outcome::Introspected { valid: false } => "introspected_invalid",
            Outcome::NotFound => "not_found",
            Outcome::PathNotCanonical(_) => "path_not_canonical",
            Outcome::MethodNotAllowed => "method_not_allowed",
            Outcome::BodyTooLarge => "body_too_large",
            Outcome::UrlTooLong => "url_too_long",
            Outcome::BodyUnreadable => "body_unreadable",
            Outcome::MissingCredentials => "missing_credentials",
            Outcome::KeyInQuery => "key_in_query",
            Outcome::KeyInPath => "key_in_path",
            Outcome::HeaderRefused => "header_refused",
            Outcome::BodyNotAllowed => "body_not_allowed",
            Outcome::ContentEncodingRefused => "content_encoding_refused",
            Outcome::HttpsRequired => "https_required",
            Outcome::DiscoveryThrottled { .. } => "discovery_throttled",
            Outcome::InvalidKey(KeyRejection::Malformed) => "key_malformed",
            Outcome::InvalidKey(KeyRejection::BadChecksum) => "key_bad_checksum",
            Outcome::InvalidKey(KeyRejection::Unknown) => "key_unknown",
            Outcome::InvalidKey(KeyRejection::Revoked) => "key_revoked",
            Outcome::InvalidKey(KeyRejection::Expired) => "key_expired",
            Outcome::InvalidKey(KeyRejection::NotYetValid) => "key_not_yet_valid",
            Outcome::InvalidToken(TokenRejection::Malformed) => "token_malformed",
            Outcome::InvalidToken(TokenRejection::BadMac) => "token_bad_mac",
            Outcome::InvalidToken(TokenRejection::Expired) => "token_expired",
            Outcome::InvalidToken(TokenRejection::FamilyRevoked) => "token_family_revoked",
            Outcome::InvalidToken(TokenRejection::KeyEnded) => "token_key_ended",
            Outcome::InvalidToken(TokenRejection::KeySuspended) => "token_key_suspended",
            Outcome::BearerNotAllowed => "key_bearer_not_allowed",
            Outcome::TokenIssued => "token_issued",
            Outcome::MetadataServed => "oauth_metadata",
            Outcome::OAuth(e) => e.reason(),
            Outcome::CodeIssued => "code_issued",
            Outcome::AuthorizeRedirected(p) => p.reason(),
            Outcome::AuthorizePage(p) => p.reason(),
            Outcome::RecordMalformed => "record_malformed",
            Outcome::InsufficientScope { .. } => "insufficient_scope",
            Outcome::IpDenied => "ip_denied",
            Outcome::TenantMissing => "tenant_missing",
            Outcome::BulkInvalid(_) => "bulk_invalid",
            Outcome::AuthThrottled { .. } => "auth_throttled",
            Outcome::KeyStoreUnavailable => "key_store_unavailable",
            Outcome::Misconfigured => "misconfigured",
            Outcome::OriginUnreachable => "origin_unreachable",
            Outcome::OriginTimeout => "origin_timeout",
            Outcome::OriginRejectedEdge { .. } => "origin_rejected_edge",
        }
    }

    /// What the IdP admin reads in the SCIM error's `detail`.
    pub fn detail(&self) -> String {
        match self {
            Outcome::InsufficientScope { missing, bulk_id: None } => format!(
                "The provisioning key is valid but lacks the scope '{missing}' needed for this request. \
                 Ask the service provider for a key with that scope."
            ),
            Outcome::InsufficientScope { missing, bulk_id: Some(id) } => format!(
                "The provisioning key may not perform bulk operation {id:?}: it lacks the scope '{missing}'. \
                 Nothing in this bulk request was applied."
            ),
            Outcome::BulkInvalid(why) => format!("The bulk request cannot be accepted: {why}. Nothing in it was applied."),
            Outcome::AuthThrottled { retry_after } => format!(
                "Too many requests with invalid provisioning keys from this address. Retry after {retry_after} s with a valid key."
            ),
            Outcome::DiscoveryThrottled { retry_after } => format!(
                "Too many discovery requests without a key from this address. Retry after {retry_after} s, or send the provisioning key."
            ),
            Outcome::RateLimited { retry_after } => format!(
                "This provisioning key has used up its rate limit. Retry after {retry_after} s; identity providers do this by themselves."
            ),
            Outcome::Api(p) if !p.detail.is_empty() => p.detail.clone(),
            Outcome::Api(p) => p.kind.title().to_owned(),
            Outcome::OAuth(e) => e.description().to_owned(),
            Outcome::AuthorizePage(p) => p.message().to_owned(),
            other => other.fixed_detail().to_owned(),
        }
    }

    fn fixed_detail(&self) -> &'static str {
        match self {
            Outcome::Forwarded { .. }
            | Outcome::InsufficientScope { .. }
            | Outcome::BulkInvalid(_)
            | Outcome::AuthThrottled { .. }
            | Outcome::DiscoveryThrottled { .. }
            | Outcome::RateLimited { .. } => "",
            Outcome::ApiDone { .. } | Outcome::Api(_) | Outcome::Introspected { .. } | Outcome::TokenIssued | Outcome::OAuth(_) | Outcome::MetadataServed => "",
            Outcome::CodeIssued | Outcome::AuthorizeRedirected(_) | Outcome::AuthorizePage(_) => "",
            Outcome::InvalidToken(_) => "The access token is not valid: it is malformed, altered, expired or revoked. Fetch a new one from the token endpoint (/oauth/token).",
            Outcome::BearerNotAllowed => "This provisioning key may not be sent on SCIM requests: it is allowed only through OAuth 2.0. Configure the identity provider for OAuth with the token endpoint /oauth/token, or ask the service provider to allow the key as a bearer token.",
            Outcome::LimiterUnavailable => "The rate limiter is temporarily unavailable. Retry later.",
            Outcome::IpDenied => "This provisioning key may not be used from this network address. Ask the service provider to allow your identity provider's addresses.",
            Outcome::TenantMissing => "This provisioning key is not bound to a tenant, and this service needs one. Ask the service provider for a tenant key.",
            Outcome::NotFound => "No SCIM endpoint at this path. The base URL should end with the SCIM base path (by default /scim/v2).",
            Outcome::PathNotCanonical(why) => why,
            Outcome::MethodNotAllowed => "This SCIM endpoint does not accept this HTTP method (only GET, HEAD, POST, PUT, PATCH and DELETE are served, and method overrides are not accepted).",
            Outcome::BodyTooLarge => "The request body is larger than this service accepts.",
            Outcome::UrlTooLong => "The request URL is longer than this service accepts (16 KiB).",
            Outcome::BodyUnreadable => "The request body could not be read completely. Retry the request.",
            Outcome::MissingCredentials => "No provisioning key was sent. Send it in the Authorization header, as 'Bearer <key>' or as the bare key.",
            Outcome::KeyInQuery | Outcome::KeyInPath => "A provisioning key, token or access_token was sent in the URL (or the URL is percent-encoded too many times to tell), where proxies and logs record it. Send the key only in the Authorization header, and ask the service provider to rotate this key.",
            Outcome::HeaderRefused => "The request carries a header that asks for another URL (X-Original-URL, X-Rewrite-URL, …) or imitates one this service sets itself (a name with '_', such as X_Forwarded_Host). Send the request without it.",
            Outcome::BodyNotAllowed => "GET, HEAD and DELETE requests must not have a body. Send the request without one.",
            Outcome::ContentEncodingRefused => "Request bodies must not be compressed or otherwise encoded (Content-Encoding). Send the body as is.",
            Outcome::HttpsRequired => "This service accepts SCIM requests over HTTPS only. Use the https:// base URL, and ask the service provider to rotate any key sent over plain HTTP.",
            Outcome::InvalidKey(KeyRejection::Malformed) => "The Authorization header does not hold a provisioning key. Send 'Bearer pvk_…' or the bare 'pvk_…' key, exactly once, with nothing else.",
            Outcome::InvalidKey(KeyRejection::BadChecksum) => "The provisioning key has a typo or was cut short (its checksum does not match). Copy the whole key again.",
            Outcome::InvalidKey(_) => INVALID_KEY_DETAIL,
            Outcome::RecordMalformed => "The stored record of this provisioning key cannot be read. Contact the service provider.",
            Outcome::KeyStoreUnavailable => "The key store is temporarily unavailable. Retry later.",
            Outcome::Misconfigured => "The service is misconfigured. Contact the service provider.",
            Outcome::OriginUnreachable => "The SCIM service behind this edge could not be reached. Retry later.",
            Outcome::OriginTimeout => "The SCIM service behind this edge did not answer in time. Retry later.",
            Outcome::OriginRejectedEdge { .. } => "Your provisioning key was accepted, but the SCIM service behind this edge rejected the edge's own credentials. This is a configuration problem of the service provider, not of your key: contact them.",
        }
    }

    /// What the operator should check, for logs and the doctor page.
    pub fn hint(&self) -> &'static str {
        match self {
            Outcome::Forwarded { unmetered: false, .. } | Outcome::ApiDone { .. } | Outcome::Introspected { valid: true } | Outcome::TokenIssued | Outcome::MetadataServed => "",
            Outcome::OAuth(e) => oauth_hint(e),
            Outcome::CodeIssued => "",
            Outcome::AuthorizeRedirected(_) => "an authorization request sent back to the IdP with an error: the IdP's OAuth settings (PKCE, scopes) or the key's auth_modes",
            Outcome::AuthorizePage(_) => "an authorization request the edge could not trust (client id, pasted key, redirect URI): shown on the page, never redirected",
            Outcome::InvalidToken(TokenRejection::Malformed) => "the header holds something shaped like no access token of this edge",
            Outcome::InvalidToken(TokenRejection::BadMac) => "a token altered, forged, or sealed by a TOKEN_SIGNING_SECRET no longer set (or none is set: OAuth is off)",
            Outcome::InvalidToken(TokenRejection::Expired) => "the IdP sent an expired access token: it should fetch a new one by itself",
            Outcome::InvalidToken(TokenRejection::FamilyRevoked) => "a token of a refresh family revoked after a reused refresh token or replayed code: the IdP must authorize again",
            Outcome::InvalidToken(TokenRejection::KeyEnded) => "a token of a key that ended since it was issued (rotated past its grace, or a shorter expires_at): the IdP must use the new key",
            Outcome::InvalidToken(TokenRejection::KeySuspended) => "a token of a key whose not_before was moved later: the key and its tokens are refused until then (a PATCH of not_before lifts it)",
            Outcome::BearerNotAllowed => "the key's auth_modes omit bearer: the IdP must use OAuth, or add bearer to the key's auth_modes",
            Outcome::Api(p) => match p.kind {
                Kind::Unauthorized => "wrong, revoked or expired management token (or not the ROOT_TOKEN) on an API call",
                Kind::StoreUnavailable => "KV or the KEY_GUARD Durable Object failed or was slow on an API call",
                Kind::SummaryNotWritten => "a key's listing summary could not be written: the next write repairs it",
                Kind::AuthThrottled => "this address sent many bad API tokens: a misconfigured client or a guessing attack",
                _ => "an API client's request was refused: see its problem type in docs/api.md",
            },
            Outcome::Introspected { valid: false } => "someone checked an invalid key with the connection doctor",
            Outcome::Forwarded { unmetered: true, .. } => "the rate-limit object was unreachable; forwarded unmetered (RATE_LIMIT_FAILURE_MODE=open)",
            Outcome::RateLimited { .. } => "the key exceeded its rate: raise --rate-per-minute/--burst, or find the runaway client",
            Outcome::LimiterUnavailable => "the KEY_GUARD Durable Object (or, for keyless discovery, the DISCOVERY_LIMIT binding) is failing or missing; it fails closed",
            Outcome::NotFound | Outcome::PathNotCanonical(_) => "check the IdP's base URL",
            Outcome::MethodNotAllowed => "the client used a method SCIM does not define here",
            Outcome::BodyTooLarge => "raise MAX_BODY_BYTES or have the IdP send smaller requests",
            Outcome::UrlTooLong => "a client sent a URL longer than Cloudflare itself accepts: not an IdP",
            Outcome::BodyUnreadable => "the client closed the connection while sending the body",
            Outcome::MissingCredentials => "the IdP sent no Authorization header",
            Outcome::KeyInQuery | Outcome::KeyInPath => "a key travelled in a URL: rotate it, and keep it out of the IdP's base URL",
            Outcome::HeaderRefused => "a client sent a URL override or an underscore twin of an edge header: not an IdP",
            Outcome::BodyNotAllowed => "a client sent a body with GET, HEAD or DELETE: not an IdP",
            Outcome::ContentEncodingRefused => "a client compressed its request body: IdPs do not",
            Outcome::HttpsRequired => "a request came over plain HTTP: give the IdP the https:// URL and rotate keys it sent in clear",
            Outcome::DiscoveryThrottled { .. } => "one address sent many keyless discovery requests (DISCOVERY_LIMIT)",
            Outcome::InvalidKey(KeyRejection::Malformed) => "the header is not a key: 'Bearer' pasted twice, two Authorization headers, or the wrong secret",
            Outcome::InvalidKey(KeyRejection::BadChecksum) => "the key was mistyped or truncated",
            Outcome::InvalidKey(KeyRejection::Unknown) => "no record for this key: wrong environment, other PEPPER, or never minted",
            Outcome::InvalidKey(KeyRejection::Revoked) => "the key was revoked: mint a new one",
            Outcome::InvalidKey(KeyRejection::Expired) => "the key expired: rotate it",
            Outcome::InvalidKey(KeyRejection::NotYetValid) => "the key's not_before is in the future",
            Outcome::RecordMalformed => "rewrite the key's KV record with `provgate key`",
            Outcome::InsufficientScope { .. } => "mint a key with the scope this operation needs",
            Outcome::IpDenied => "add the IdP's egress addresses to the key's allow_ips",
            Outcome::TenantMissing => "mint the key with --tenant, or drop {tenant} from ORIGIN_URL",
            Outcome::BulkInvalid(_) => "the IdP sent a bulk body the edge cannot read unambiguously",
            Outcome::AuthThrottled { .. } => "this address sent many invalid keys: a misconfigured IdP or a guessing attack",
            Outcome::KeyStoreUnavailable => "the KEYS binding is missing or KV is failing",
            Outcome::Misconfigured => "check the secrets and [vars]: PEPPER, ORIGIN_URL, ORIGIN_SIGNING_SECRET, RESOURCE_TYPES, FORWARD_HEADERS (docs/configuration.md)",
            Outcome::OriginUnreachable => "check ORIGIN_URL and that the origin is up",
            Outcome::OriginTimeout => "the origin is slow: check it, or raise ORIGIN_TIMEOUT_MS",
            Outcome::OriginRejectedEdge { .. } => "the origin refused the edge: check ORIGIN_AUTHORIZATION and ORIGIN_SIGNING_SECRET against the origin's configuration",
        }
    }

    /// The `WWW-Authenticate` challenge for 401s (RFC 6750 §3).
    pub fn www_authenticate(&self) -> Option<&'static str> {
        match self {
            Outcome::MissingCredentials => Some(r#"Bearer realm="provgate""#),
            Outcome::InvalidKey(_) | Outcome::InvalidToken(_) | Outcome::BearerNotAllowed => Some(r#"Bearer realm="provgate", error="invalid_token""#),
            Outcome::OAuth(e) => e.www_authenticate(),
            Outcome::Api(p) if p.kind == Kind::Unauthorized => Some(r#"Bearer realm="provgate""#),
            _ => None,
        }
    }

    /// The answer's media type: a SCIM error, an API problem, or an OAuth
    /// error (RFC 6749 §5.2).
    pub fn content_type(&self) -> &'static str {
        match self {
            Outcome::Api(_) => "application/problem+json",
            Outcome::OAuth(_) | Outcome::TokenIssued => "application/json;charset=UTF-8",
            Outcome::AuthorizePage(_) => "text/html;charset=UTF-8",
            _ => "application/scim+json",
        }
    }

    /// The RFC 7644 §3.12 `scimType`, where one fits.
    pub fn scim_type(&self) -> Option<&'static str> {
        match self {
            Outcome::PathNotCanonical(_) => Some("invalidValue"),
            Outcome::BulkInvalid(_) => Some("invalidSyntax"),
            _ => None,
        }
    }

    /// The `Retry-After` value in seconds, for 429s.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Outcome::AuthThrottled { retry_after } | Outcome::RateLimited { retry_after } | Outcome::DiscoveryThrottled { retry_after } => {
                Some(*retry_after)
            }
            Outcome::Api(p) => p.retry_after,
            _ => None,
        }
    }

    /// The SCIM error body, naming the request id so that an IdP admin can
    /// quote it to the operator. `None` for a forwarded request.
    pub fn error_body(&self, request_id: &str) -> Option<String> {
        if self.decision() == Decision::Allow {
            return None;
        }
        if let Outcome::Api(p) = self {
            return Some(p.body(request_id));
        }
        if let Outcome::OAuth(e) = self {
            return Some(e.body());
        }
        if let Outcome::AuthorizePage(p) = self {
            return Some(page(p.message(), request_id));
        }
        if let Outcome::AuthorizeRedirected(_) = self {
            // Answered with its redirect, never a body.
            return None;
        }
        let mut body = json!({
            "schemas": [SCIM_ERROR_SCHEMA],
            "status": self.status().to_string(),
            "detail": format!("{} (request id {request_id})", self.detail()),
        });
        if let Some(t) = self.scim_type() {
            body["scimType"] = t.into();
        }
        Some(body.to_string())
    }
}

/// The authorization endpoint's error page: a fixed message and the
/// request id, nothing from the request.
fn page(message: &str, request_id: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Authorization refused</title>\
<link rel=\"stylesheet\" href=\"/doctor.css\"></head><body><main><h1>Authorization refused</h1>\
<p class=\"verdict bad\">{message}</p><p class=\"help\">Nothing was sent back to the identity provider. Request id {request_id}.</p></main></body></html>\n"
    )
}

/// What the operator should check after a refused token request.
fn oauth_hint(e: &OAuthError) -> &'static str {
    match e {
        OAuthError::InvalidRequest(_) => "a token request the RFC does not allow: check the IdP's OAuth settings (form body, one client authentication)",
        OAuthError::InvalidClient { .. } => "wrong client id or secret at the token endpoint: the client id is the key id, the secret the key; see the reason",
        OAuthError::InvalidGrant(_) => "a code or refresh token refused: see the reason; a reused refresh token or replayed code revoked its family",
        OAuthError::UnauthorizedClient(_) => "the key's auth_modes do not allow this grant: add it with provgate key update --auth-modes",
        OAuthError::UnsupportedGrantType => "the IdP asked for a grant provgate does not issue",
        OAuthError::InvalidScope(_) => "the IdP asked for scopes the key does not hold, or outside provgate's scope grammar",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_denial() -> Vec<Outcome> {
        use KeyRejection::*;
        let mut all = vec![
            Outcome::NotFound,
            Outcome::PathNotCanonical("x"),
            Outcome::MethodNotAllowed,
            Outcome::BodyTooLarge,
            Outcome::UrlTooLong,
            Outcome::BodyUnreadable,
            Outcome::MissingCredentials,
            Outcome::KeyInQuery,
            Outcome::KeyInPath,
            Outcome::HeaderRefused,
            Outcome::BodyNotAllowed,
            Outcome::ContentEncodingRefused,
            Outcome::HttpsRequired,
            Outcome::DiscoveryThrottled { retry_after: 60 },
            Outcome::RecordMalformed,
            Outcome::InsufficientScope { missing: "users:write".into(), bulk_id: None },
            Outcome::IpDenied,
            Outcome::TenantMissing,
            Outcome::BulkInvalid("x".into()),
            Outcome::AuthThrottled { retry_after: 60 },
            Outcome::RateLimited { retry_after: 1 },
            Outcome::LimiterUnavailable,
            Outcome::KeyStoreUnavailable,
            Outcome::Misconfigured,
            Outcome::OriginUnreachable,
            Outcome::OriginTimeout,
            Outcome::OriginRejectedEdge { origin_status: 401 },
        ];
        all.extend([Malformed, BadChecksum, Unknown, Revoked, Expired, NotYetValid].map(Outcome::InvalidKey));
        all.extend([TokenRejection::Malformed, TokenRejection::BadMac, TokenRejection::Expired, TokenRejection::FamilyRevoked, TokenRejection::KeyEnded, TokenRejection::KeySuspended].map(Outcome::InvalidToken));
        all.push(Outcome::BearerNotAllowed);
        all
    }

    fn every_oauth_error() -> Vec<Outcome> {
        crate::core::oauth::error::tests::every_error().into_iter().map(Outcome::OAuth).collect()
    }

    #[test]
    fn oauth_errors_keep_their_rfc_6749_answers() {
        for o in every_oauth_error() {
            let Outcome::OAuth(e) = &o else { unreachable!() };
            assert_eq!((o.status(), o.reason(), o.www_authenticate()), (e.status(), e.reason(), e.www_authenticate()));
            assert_eq!(o.error_body("r1"), Some(e.body()));
            assert_eq!(o.content_type(), "application/json;charset=UTF-8");
            assert!(!o.hint().is_empty() && o.decision() == Decision::Deny);
        }
        assert_eq!((Outcome::TokenIssued.status(), Outcome::TokenIssued.decision(), Outcome::TokenIssued.error_body("r")), (200, Decision::Allow, None));
    }

    #[test]
    fn the_authorization_endpoint_redirects_or_shows_a_page() {
        assert_eq!((Outcome::CodeIssued.status(), Outcome::CodeIssued.decision(), Outcome::CodeIssued.reason()), (303, Decision::Allow, "code_issued"));
        let back = Outcome::AuthorizeRedirected(RedirectProblem::InvalidRequest);
        assert_eq!((back.status(), back.decision(), back.error_body("r")), (303, Decision::Deny, None));
        let page = Outcome::AuthorizePage(PageProblem::RedirectNotRegistered);
        let html = page.error_body("req7").unwrap();
        assert!(html.contains(PageProblem::RedirectNotRegistered.message()) && html.contains("req7"));
        assert_eq!((page.status(), page.content_type(), page.reason()), (400, "text/html;charset=UTF-8", "oauth_authorize_redirect_not_registered"));
    }

    #[test]
    fn token_refusals_read_alike_and_count_only_forgeries() {
        let wire = |r| {
            let o = Outcome::InvalidToken(r);
            (o.status(), o.www_authenticate(), o.detail())
        };
        assert_eq!(wire(TokenRejection::BadMac), wire(TokenRejection::Expired));
        assert_eq!(wire(TokenRejection::BadMac), wire(TokenRejection::FamilyRevoked));
        assert_eq!(TokenRejection::from(Rejection::TooLong), TokenRejection::Malformed);
        assert!(TokenRejection::BadMac.is_failed_authentication() && TokenRejection::Malformed.is_failed_authentication());
        assert!(!TokenRejection::Expired.is_failed_authentication() && !TokenRejection::FamilyRevoked.is_failed_authentication());
    }

    #[test]
    fn api_problems_have_problem_bodies() {
        let o = Outcome::Api(Problem::from(Kind::Unauthorized));
        let body: serde_json::Value = serde_json::from_str(&o.error_body("r9").unwrap()).unwrap();
        assert_eq!((body["type"].as_str(), body["request_id"].as_str()), (Some("urn:provgate:problem:unauthorized"), Some("r9")));
        assert_eq!((o.status(), o.reason(), o.www_authenticate()), (401, "api_unauthorized", Some(r#"Bearer realm="provgate""#)));
        assert_eq!(Outcome::ApiDone { status: 201 }.status(), 201);
        assert_eq!(Outcome::ApiDone { status: 201 }.error_body("r"), None);
    }

    #[test]
    fn every_denial_has_a_scim_error_body_reason_and_hint() {
        let mut reasons = std::collections::HashSet::new();
        for o in every_denial().into_iter().filter(|o| !matches!(o, Outcome::Api(_))) {
            let body: serde_json::Value = serde_json::from_str(&o.error_body("req1").unwrap()).unwrap();
            assert_eq!(body["schemas"][0], SCIM_ERROR_SCHEMA);
            assert_eq!(body["status"], o.status().to_string(), "status is a string");
            assert!(body["detail"].as_str().unwrap().contains("req1"));
            assert!((400..600).contains(&o.status()));
            assert!(!o.hint().is_empty());
            assert!(reasons.insert(o.reason()), "duplicate reason {}", o.reason());
        }
    }

    /// docs/errors.md is the operator's reference: it must list every reason.
    #[test]
    fn every_reason_is_documented() {
        let doc = include_str!("../../docs/errors.md");
        let mut all = every_denial();
        all.push(Outcome::Forwarded { origin_status: 200, unmetered: false });
        all.push(Outcome::Forwarded { origin_status: 200, unmetered: true });
        all.push(Outcome::ApiDone { status: 200 });
        all.extend(Kind::ALL.iter().map(|k| Outcome::Api(Problem::from(*k))));
        all.push(Outcome::Introspected { valid: true });
        all.push(Outcome::Introspected { valid: false });
        all.push(Outcome::TokenIssued);
        all.push(Outcome::MetadataServed);
        all.extend(every_oauth_error());
        all.push(Outcome::CodeIssued);
        all.extend([RedirectProblem::InvalidRequest, RedirectProblem::UnsupportedResponseType, RedirectProblem::UnauthorizedClient, RedirectProblem::InvalidScope(crate::core::oauth::error::ScopeProblem::NotHeld)].map(Outcome::AuthorizeRedirected));
        use crate::core::oauth::authorize::PageProblem as P;
        all.extend([P::BadQuery, P::MissingClientId, P::MissingRedirectUri, P::OtherClient, P::KeyRejected(KeyRejection::Unknown), P::RedirectNotRegistered].map(Outcome::AuthorizePage));
        // A row's first cell names one reason, or several that share the row.
        let first_cells: Vec<&str> = doc.lines().filter_map(|l| l.strip_prefix("| ")).filter_map(|l| l.split(" | ").next()).collect();
        for o in all {
            let named = format!("`{}`", o.reason());
            assert!(first_cells.iter().any(|cell| cell.split(", ").any(|r| r == named)), "docs/errors.md lacks {}", o.reason());
        }
    }

    #[test]
    fn existence_is_not_revealed() {
        use KeyRejection::*;
        let wire = |r| {
            let o = Outcome::InvalidKey(r);
            (o.status(), o.www_authenticate(), o.detail())
        };
        assert_eq!(wire(Unknown), wire(Revoked));
        assert_eq!(wire(Unknown), wire(Expired));
        assert_eq!(wire(Unknown), wire(NotYetValid));
        assert_eq!(wire(Unknown).1, Some(r#"Bearer realm="provgate", error="invalid_token""#));
    }

    #[test]
    fn status_codes() {
        assert_eq!(Outcome::MissingCredentials.www_authenticate(), Some(r#"Bearer realm="provgate""#));
        assert_eq!(Outcome::MissingCredentials.status(), 401);
        assert_eq!(Outcome::InsufficientScope { missing: "x:read".into(), bulk_id: None }.status(), 403);
        assert_eq!(Outcome::AuthThrottled { retry_after: 60 }.retry_after(), Some(60));
        let bulk = Outcome::InsufficientScope { missing: "groups:write".into(), bulk_id: Some("g1".into()) };
        assert!(bulk.detail().contains("\"g1\"") && bulk.detail().contains("groups:write"));
        assert_eq!(Outcome::OriginUnreachable.status(), 502);
        assert_eq!(Outcome::OriginTimeout.status(), 504);
        assert_eq!(Outcome::KeyStoreUnavailable.status(), 503);
        assert_eq!(Outcome::Forwarded { origin_status: 201, unmetered: false }.status(), 201);
        assert_eq!(Outcome::Forwarded { origin_status: 201, unmetered: false }.error_body("r"), None);
        assert_eq!(Outcome::RateLimited { retry_after: 3 }.retry_after(), Some(3));
    }
}
