//! Client authentication at the token endpoint (RFC 6749 §2.3.1): the
//! client id is the key id, the client secret is the provisioning key.
//! No new secret exists, so there is none to mint, rotate or revoke.
//!
//! Two methods, one per request: `client_secret_basic` (HTTP Basic, where
//! the id and secret are each form-urlencoded before being joined by `:`
//! and base64-encoded) and `client_secret_post` (`client_id` and
//! `client_secret` in the body). The edge finds the key's record by the
//! secret's HMAC, as for any key; [`check`] then requires the record to be
//! the client's (constant-time) and the key to be usable now, from here.

use super::error::{ClientProblem, OAuthError, RequestProblem};
use super::form::{decode, Form};
use crate::core::decide::{admit, Context};
use crate::core::key::{KeyFormatError, KeyId, ProvisioningKey};
use crate::core::outcome::{KeyRejection, Outcome};
use crate::core::record::KeyRecord;
use base64::{engine::general_purpose::STANDARD, Engine};
use subtle::ConstantTimeEq;

/// How the client authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_secret_basic`.
    Basic,
    /// `client_secret_post`.
    Post,
}

/// A client's well-formed credentials, not yet checked against a record.
/// Holds the key: neither `Debug` nor `Display`.
pub struct ClientAuth {
    /// The client id: a key id.
    pub client_id: KeyId,
    /// The client secret: a provisioning key (format and checksum checked).
    pub secret: ProvisioningKey,
    /// How they were sent.
    pub method: AuthMethod,
}

impl ClientAuth {
    /// The `invalid_client` error for this client (with a Basic challenge
    /// if it used Basic), e.g. when no record exists for its secret.
    pub fn failure(&self, problem: ClientProblem) -> OAuthError {
        OAuthError::InvalidClient { problem, basic: self.method == AuthMethod::Basic }
    }
}

/// Reads the client's credentials from the `Authorization` header and the
/// form.
pub fn from_request(authorization: Option<&str>, form: &Form<'_>) -> Result<ClientAuth, OAuthError> {
    let header = authorization.map(|h| h.trim_matches([' ', '\t'])).filter(|h| !h.is_empty());
    let body_id = form.get("client_id")?;
    let body_secret = form.get("client_secret")?;
    let Some(header) = header else {
        let fail = |problem| OAuthError::InvalidClient { problem, basic: false };
        return match (body_id, body_secret) {
            (Some(id), Some(secret)) => credentials(id, secret, AuthMethod::Post).map_err(fail),
            (None, Some(_)) => Err(OAuthError::InvalidRequest(RequestProblem::Missing("client_id"))),
            (_, None) => Err(fail(ClientProblem::Missing)),
        };
    };
    if form.has("client_secret") {
        return Err(OAuthError::InvalidRequest(RequestProblem::TwoClientAuthentications));
    }
    let fail = |problem| OAuthError::InvalidClient { problem, basic: true };
    let (id, secret) = basic(header).ok_or(fail(ClientProblem::Malformed))?;
    let client = credentials(&id, &secret, AuthMethod::Basic).map_err(fail)?;
    // Some clients repeat their id in the body; it must then be the same.
    if body_id.is_some_and(|b| b != client.client_id.as_str()) {
        return Err(OAuthError::InvalidRequest(RequestProblem::ClientIdConflict));
    }
    Ok(client)
}

/// The id and secret of `Basic <base64(urlencode(id) ":" urlencode(secret))>`.
fn basic(header: &str) -> Option<(String, String)> {
    let (scheme, token) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(token).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((decode(id.as_bytes()).ok()?.into_owned(), decode(secret.as_bytes()).ok()?.into_owned()))
}

fn credentials(id: &str, secret: &str, method: AuthMethod) -> Result<ClientAuth, ClientProblem> {
    let client_id = KeyId::parse(id).ok_or(ClientProblem::Malformed)?;
    let secret = ProvisioningKey::parse(secret).map_err(|e| {
        ClientProblem::Key(match e {
            KeyFormatError::Malformed => KeyRejection::Malformed,
            KeyFormatError::BadChecksum => KeyRejection::BadChecksum,
        })
    })?;
    Ok(ClientAuth { client_id, secret, method })
}

/// Checks `client` against the record found for its secret: the record's
/// key id is the client id (constant time), and the key is not revoked,
/// inside its validity window and used from an allowed address.
pub fn check(record: &KeyRecord, client: &ClientAuth, ctx: &Context<'_>) -> Result<(), OAuthError> {
    let same = record.key_id.as_str().as_bytes().ct_eq(client.client_id.as_str().as_bytes());
    if !bool::from(same) {
        return Err(client.failure(ClientProblem::IdMismatch));
    }
    admit(record, ctx).map_err(|o| {
        client.failure(match o {
            Outcome::InvalidKey(r) => ClientProblem::Key(r),
            Outcome::IpDenied => ClientProblem::AddressDenied,
            _ => ClientProblem::Key(KeyRejection::Unknown),
        })
    })
}

/// The `Authorization` value a client sends for `client_secret_basic`.
pub fn basic_header(client_id: &str, secret: &str) -> String {
    use super::form::encode;
    format!("Basic {}", STANDARD.encode(format!("{}:{}", encode(client_id), encode(secret))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::oauth::claims::tests::record;
    use crate::core::time::UnixMillis;

    fn key() -> ProvisioningKey {
        ProvisioningKey::generate(|b| b.iter_mut().enumerate().for_each(|(i, x)| *x = i as u8))
    }

    fn form(body: &str) -> Form<'_> {
        Form::parse(body.as_bytes()).unwrap()
    }

    /// RFC 7617 §2's example, and RFC 6749 §2.3.1's.
    #[test]
    fn basic_credentials_rfc_vectors() {
        assert_eq!(basic("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="), Some(("Aladdin".into(), "open sesame".into())));
        assert_eq!(basic("Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW"), Some(("s6BhdRkqt3".into(), "gX1fBat3bV".into())));
        assert_eq!(basic_header("s6BhdRkqt3", "gX1fBat3bV"), "Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW");
        assert_eq!(basic_header("Aladdin", "open sesame"), format!("Basic {}", STANDARD.encode("Aladdin:open%20sesame")));
        // §2.3.1: each part is form-urlencoded first, so ':' and '%' survive.
        assert_eq!(basic(&basic_header("a:b", "c%d+e f")), Some(("a:b".into(), "c%d+e f".into())));
        assert_eq!(basic(&format!("Basic {}", STANDARD.encode("id:a+b"))), Some(("id".into(), "a b".into())));
        for bad in ["Basic", "Basic ", "Bearer czZC", "Basic !!!", "Basic czZCaGRSa3F0Mw==", "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ"] {
            assert_eq!(basic(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_method_alone() {
        let k = key();
        let id = "key_3mXq8Jt0aZ";
        let basic = basic_header(id, k.expose());
        let via_basic = from_request(Some(&basic), &form("grant_type=client_credentials")).unwrap();
        assert_eq!((via_basic.client_id.as_str(), via_basic.secret.expose(), via_basic.method), (id, k.expose(), AuthMethod::Basic));
        let post = format!("client_id={id}&client_secret={}", k.expose());
        let via_post = from_request(None, &form(&post)).unwrap();
        assert_eq!((via_post.client_id.as_str(), via_post.method), (id, AuthMethod::Post));
        // Basic with the same id repeated in the body is fine; another id is not.
        assert!(from_request(Some(&basic), &form(&format!("client_id={id}"))).is_ok());
        assert_eq!(from_request(Some(&basic), &form("client_id=key_other")).err(), Some(OAuthError::InvalidRequest(RequestProblem::ClientIdConflict)));
        assert_eq!(from_request(Some(&basic), &form(&post)).err(), Some(OAuthError::InvalidRequest(RequestProblem::TwoClientAuthentications)));
        assert_eq!(from_request(Some(&basic), &form("client_secret=")).err(), Some(OAuthError::InvalidRequest(RequestProblem::TwoClientAuthentications)));
    }

    #[test]
    fn missing_and_malformed_credentials() {
        let k = key();
        let invalid = |problem, basic| Some(OAuthError::InvalidClient { problem, basic });
        assert_eq!(from_request(None, &form("")).err(), invalid(ClientProblem::Missing, false));
        assert_eq!(from_request(Some("  "), &form("client_id=key_1")).err(), invalid(ClientProblem::Missing, false));
        assert_eq!(from_request(None, &form(&format!("client_secret={}", k.expose()))).err(), Some(OAuthError::InvalidRequest(RequestProblem::Missing("client_id"))));
        assert_eq!(from_request(Some("Bearer x"), &form("")).err(), invalid(ClientProblem::Malformed, true));
        assert_eq!(from_request(Some(&basic_header("nokey", k.expose())), &form("")).err(), invalid(ClientProblem::Malformed, true));
        let typo = k.expose().replacen(&k.expose()[10..11], if &k.expose()[10..11] == "a" { "b" } else { "a" }, 1);
        assert_eq!(from_request(Some(&basic_header("key_1", &typo)), &form("")).err(), invalid(ClientProblem::Key(KeyRejection::BadChecksum), true));
        assert_eq!(from_request(None, &form("client_id=key_1&client_secret=hunter2")).err(), invalid(ClientProblem::Key(KeyRejection::Malformed), false));
        assert_eq!(from_request(None, &form("client_id=key_1&client_id=key_1")).err(), Some(OAuthError::InvalidRequest(RequestProblem::Repeated("client_id"))));
    }

    #[test]
    fn the_record_must_be_the_clients_and_usable() {
        let k = key();
        let r = record();
        let ctx = |ip: &str| Context { now: UnixMillis(1_800_000_000_000), client_ip: Some(ip.parse().unwrap()), resource_types: &[] };
        let client = from_request(Some(&basic_header("key_3mXq8Jt0aZ", k.expose())), &form("")).unwrap();
        assert_eq!(check(&r, &client, &ctx("203.0.113.7")), Ok(()));
        assert_eq!(check(&r, &client, &ctx("198.51.100.1")), Err(client.failure(ClientProblem::AddressDenied)));
        let revoked = KeyRecord { status: crate::core::record::Status::Revoked, ..record() };
        assert_eq!(check(&revoked, &client, &ctx("203.0.113.7")), Err(client.failure(ClientProblem::Key(KeyRejection::Revoked))));
        let other = from_request(Some(&basic_header("key_3mXq8Jt0aY", k.expose())), &form("")).unwrap();
        assert_eq!(check(&r, &other, &ctx("203.0.113.7")), Err(other.failure(ClientProblem::IdMismatch)));
        let prefix = from_request(Some(&basic_header("key_3mXq8Jt0a", k.expose())), &form("")).unwrap();
        assert_eq!(check(&r, &prefix, &ctx("203.0.113.7")), Err(prefix.failure(ClientProblem::IdMismatch)));
    }
}
