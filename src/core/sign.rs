//! Signed forwards: the origin can prove a request came through the edge.
//!
//! Every forwarded request carries `Content-Digest` (RFC 9530, sha-256)
//! and an HTTP Message Signature (RFC 9421, `hmac-sha256`) over
//! `@method`, `@target-uri`, `content-digest`, `x-provgate-key-id` and
//! `x-provgate-tenant` (the last two when present), with `created`,
//! `expires` (created + the signature lifetime), a `nonce` (the request
//! id, for replay detection within that window) and the signing key's id.
//!
//! The signature base is built here by hand, exactly as RFC 9421 §2.5
//! specifies, and is tested against the RFC's own example (B.2.5); no
//! crate for it is small enough for the Worker.

use base64::{engine::general_purpose::STANDARD, Engine};
use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};

/// The signature label of the current key.
pub const LABEL: &str = "provgate";
/// The signature label of the previous key, sent during a rotation.
pub const LABEL_PREVIOUS: &str = "provgate-previous";

/// An edge signing key and its public id.
#[derive(Clone)]
pub struct SigningKey {
    secret: Vec<u8>,
    key_id: String,
}

impl SigningKey {
    /// A key from its secret; its id is `provgate-` + the first 16 hex
    /// digits of SHA-256(secret), so the origin can pick the right secret
    /// during a rotation without any other configuration.
    pub fn new(secret: &[u8]) -> Self {
        let id = hex::encode(Sha256::digest(secret));
        Self { secret: secret.to_vec(), key_id: format!("provgate-{}", &id[..16]) }
    }

    /// The `keyid` sent in the signature parameters.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    fn mac(&self, data: &[u8]) -> String {
        let mut mac = hmac::Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC accepts any key length");
        mac.update(data);
        STANDARD.encode(mac.finalize().into_bytes())
    }
}

/// RFC 9530 `Content-Digest` with sha-256.
///
/// ```
/// // RFC 9530 §2's example body.
/// assert_eq!(provgate::core::sign::content_digest(br#"{"hello": "world"}"#),
///            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
/// ```
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// The `@signature-params` value (RFC 9421 §2.3): the covered component
/// names as an inner list, then the parameters.
pub fn signature_params(components: &[&str], params: &[(&str, Param<'_>)]) -> String {
    let names: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
    let mut out = format!("({})", names.join(" "));
    for (name, value) in params {
        match value {
            Param::Int(n) => out.push_str(&format!(";{name}={n}")),
            Param::Str(s) => out.push_str(&format!(";{name}=\"{s}\"")),
        }
    }
    out
}

/// A signature parameter's value.
#[derive(Debug, Clone, Copy)]
pub enum Param<'a> {
    /// An integer (`created`, `expires`).
    Int(u64),
    /// A string (`keyid`, `nonce`, `alg`); never contains `"` or `\`.
    Str(&'a str),
}

/// The signature base (RFC 9421 §2.5): one line per covered component,
/// then `@signature-params`, joined by LF with no trailing newline.
pub fn signature_base(components: &[(&str, &str)], params: &str) -> String {
    let mut base = String::new();
    for (name, value) in components {
        base.push_str(&format!("\"{name}\": {value}\n"));
    }
    base.push_str(&format!("\"@signature-params\": {params}"));
    base
}

/// What the edge signs for one forwarded request.
#[derive(Debug, Clone)]
pub struct Forward<'a> {
    /// The request method.
    pub method: &'a str,
    /// The full URL the edge fetches.
    pub target_uri: &'a str,
    /// The body forwarded (empty when none).
    pub body: &'a [u8],
    /// `X-Provgate-Key-Id`, when the request had a key.
    pub key_id: Option<&'a str>,
    /// `X-Provgate-Tenant`, when the key has a tenant.
    pub tenant: Option<&'a str>,
    /// The request id, used as the nonce.
    pub nonce: &'a str,
    /// Seconds since the epoch.
    pub created: u64,
    /// Seconds the signature stays valid.
    pub lifetime: u64,
}

/// The `Content-Digest`, `Signature-Input` and `Signature` headers: one
/// signature per key, the first labelled `provgate`, a second (previous
/// key, during a rotation) `provgate-previous`.
pub fn headers(keys: &[SigningKey], fwd: &Forward<'_>) -> Vec<(&'static str, String)> {
    let digest = content_digest(fwd.body);
    let mut components: Vec<(&str, &str)> =
        vec![("@method", fwd.method), ("@target-uri", fwd.target_uri), ("content-digest", &digest)];
    if let Some(id) = fwd.key_id {
        components.push(("x-provgate-key-id", id));
    }
    if let Some(t) = fwd.tenant {
        components.push(("x-provgate-tenant", t));
    }
    let names: Vec<&str> = components.iter().map(|(n, _)| *n).collect();
    let mut inputs = Vec::new();
    let mut signatures = Vec::new();
    for (key, label) in keys.iter().zip([LABEL, LABEL_PREVIOUS]) {
        let params = signature_params(
            &names,
            &[
                ("created", Param::Int(fwd.created)),
                ("expires", Param::Int(fwd.created.saturating_add(fwd.lifetime))),
                ("nonce", Param::Str(fwd.nonce)),
                ("keyid", Param::Str(key.key_id())),
                ("alg", Param::Str("hmac-sha256")),
            ],
        );
        let signature = key.mac(signature_base(&components, &params).as_bytes());
        inputs.push(format!("{label}={params}"));
        signatures.push(format!("{label}=:{signature}:"));
    }
    vec![("content-digest", digest), ("signature-input", inputs.join(", ")), ("signature", signatures.join(", "))]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9421 Appendix B.2.5: HMAC-SHA256 over `date`, `@authority` and
    /// `content-type` of the test request, with the RFC's shared secret.
    #[test]
    fn rfc_9421_b_2_5() {
        let secret = STANDARD
            .decode("uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==")
            .unwrap();
        let params = signature_params(
            &["date", "@authority", "content-type"],
            &[("created", Param::Int(1618884473)), ("keyid", Param::Str("test-shared-secret"))],
        );
        assert_eq!(params, r#"("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#);
        let base = signature_base(
            &[("date", "Tue, 20 Apr 2021 02:07:55 GMT"), ("@authority", "example.com"), ("content-type", "application/json")],
            &params,
        );
        let key = SigningKey { secret, key_id: "test-shared-secret".into() };
        assert_eq!(key.mac(base.as_bytes()), "pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=");
    }

    #[test]
    fn forwarded_request_headers() {
        let keys = [SigningKey::new(b"current secret"), SigningKey::new(b"previous secret")];
        let fwd = Forward {
            method: "POST",
            target_uri: "https://origin.example/scim/v2/Users?x=1",
            body: br#"{"hello": "world"}"#,
            key_id: Some("key_abc"),
            tenant: None,
            nonce: "0123abcd",
            created: 1_700_000_000,
            lifetime: 60,
        };
        let h = headers(&keys, &fwd);
        assert_eq!(h[0], ("content-digest", "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:".to_owned()));
        let input = &h[1].1;
        assert!(input.starts_with(&format!(
            r#"provgate=("@method" "@target-uri" "content-digest" "x-provgate-key-id");created=1700000000;expires=1700000060;nonce="0123abcd";keyid="{}";alg="hmac-sha256""#,
            keys[0].key_id()
        )));
        assert!(input.contains(", provgate-previous=("), "{input}");
        assert!(h[2].1.starts_with("provgate=:") && h[2].1.contains(", provgate-previous=:"));

        // The signature covers what it says: any change gives another one.
        let sig = |f: &Forward<'_>| headers(&keys[..1], f)[2].1.clone();
        let base = sig(&fwd);
        assert_ne!(sig(&Forward { body: b"{}", ..fwd.clone() }), base);
        assert_ne!(sig(&Forward { target_uri: "https://origin.example/scim/v2/Groups?x=1", ..fwd.clone() }), base);
        assert_ne!(sig(&Forward { key_id: Some("key_other"), ..fwd.clone() }), base);
        assert_ne!(sig(&Forward { tenant: Some("acme"), ..fwd.clone() }), base);
        assert_ne!(sig(&Forward { created: 1_700_000_001, ..fwd.clone() }), base);
        assert_eq!(sig(&fwd.clone()), base, "deterministic");
    }

    #[test]
    fn key_ids_name_the_secret_without_revealing_it() {
        let a = SigningKey::new(b"one");
        assert!(a.key_id().starts_with("provgate-") && a.key_id().len() == 25);
        assert_ne!(a.key_id(), SigningKey::new(b"two").key_id());
        assert!(!a.key_id().contains("one"));
    }
}
