//! OAuth: the access token and code verifiers, the token endpoint's
//! request parser and the authorization endpoint's validation, on raw
//! input and on input built with a known expected answer.
//!
//! Invariants, beyond "no panic": a token or code that verifies is exactly
//! what issuing its claims writes (one spelling, no malleability); a
//! changed byte never verifies; a token request that parses carries exactly
//! the parameters sent, each once, with one client authentication; every
//! error is one of RFC 6749 §5.2's; an authorization request never
//! redirects anywhere but a URI registered on the key, byte for byte.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use percent_encoding::percent_decode;
use provgate::core::key::ProvisioningKey;
use provgate::core::oauth::access::{self, ACCESS_PREFIX};
use provgate::core::oauth::authorize::{self, AuthorizeError};
use provgate::core::oauth::claims::{AccessClaims, GrantKind};
use provgate::core::oauth::client_auth::{basic_header, AuthMethod};
use provgate::core::oauth::code;
use provgate::core::oauth::metadata::Issuer;
use provgate::core::oauth::envelope::{self, Rejection, MAX_SEALED_LEN};
use provgate::core::oauth::error::{ClientProblem, OAuthError, RequestProblem};
use provgate::core::oauth::form::{encode, MAX_FORM_BYTES};
use provgate::core::oauth::ids::{CodeId, FamilyId, TokenId};
use provgate::core::oauth::keys::{Slot, TokenKeys};
use provgate::core::oauth::policy::{AuthPolicy, Mode, Modes, RedirectUri};
use provgate::core::oauth::refresh::RefreshToken;
use provgate::core::oauth::token_request::{parse, GrantRequest};
use provgate::core::record::KeyRecord;
use provgate::core::scope::Scope;
use provgate::core::{KeyId, UnixMillis};
use provgate_fuzz::{active_record, byte_source, scopes_from};

const CURRENT: &[u8] = b"fuzz token signing secret, now!!";
const PREVIOUS: &[u8] = b"fuzz token signing secret, then!";
const NOW: UnixMillis = UnixMillis(1_800_000_000_000);
const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
const KNOWN: [&str; 8] = ["grant_type", "client_id", "client_secret", "scope", "code", "redirect_uri", "code_verifier", "refresh_token"];

/// The parameters a grant reads (any other is ignored, RFC 6749 §3.2).
fn read_by(grant_type: &str) -> &'static [&'static str] {
    match grant_type {
        "client_credentials" => &["grant_type", "client_id", "client_secret", "scope"],
        "authorization_code" => &["grant_type", "client_id", "client_secret", "code", "redirect_uri", "code_verifier"],
        _ => &["grant_type", "client_id", "client_secret", "refresh_token", "scope"],
    }
}
const URIS: [&str; 2] = ["https://acme.okta.com/oauth2/callback", "https://a.example/cb?tenant=1"];

fn keys() -> TokenKeys {
    TokenKeys::new(CURRENT, Some(PREVIOUS)).unwrap()
}

// Inputs are `[mode][rest]`: modes 0, 1, 4 and 5 take the rest as text
// (a token, `authorization line \n body`, a query, a code), so seeds are
// plain text; 2 and 3 build claims or a token request; 6 seals the rest as
// a token's and a code's body, so that the claims decoders see any bytes
// behind a valid MAC.
fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    match mode % 7 {
        0 => raw_token(&text),
        1 => {
            let (authorization, body) = text.split_once('\n').unwrap_or(("", &text));
            raw_request(Some(authorization).filter(|a| !a.is_empty()), body.as_bytes());
        }
        2 => {
            if let Ok(built) = BuiltClaims::arbitrary_take_rest(Unstructured::new(rest)) {
                built_token(built);
            }
        }
        3 => {
            if let Ok(built) = BuiltRequest::arbitrary_take_rest(Unstructured::new(rest)) {
                built_request(built);
            }
        }
        4 => authorization(rest),
        5 => raw_code(&text),
        _ => sealed_body(rest),
    }
});

fn raw_token(text: &str) {
    match access::verify(&keys(), text, NOW) {
        Ok(v) => {
            assert!(text.len() <= MAX_SEALED_LEN && text.starts_with(ACCESS_PREFIX));
            assert!(NOW.0 < v.claims.expires_at.saturating_mul(1000), "an expired token verified");
            let sealer = TokenKeys::new(if v.signed_by == Slot::Current { CURRENT } else { PREVIOUS }, None).unwrap();
            assert_eq!(access::issue(&sealer, &v.claims).unwrap().expose(), text, "a second spelling of a token verified");
        }
        Err(Rejection::TooLong) => assert!(text.len() > MAX_SEALED_LEN),
        Err(_) => assert!(text.len() <= MAX_SEALED_LEN),
    }
}

fn raw_code(text: &str) {
    if let Ok(claims) = code::verify(&keys(), text, NOW) {
        assert!(NOW.0 < claims.expires_at.saturating_mul(1000));
        let now_keys = TokenKeys::new(CURRENT, None).unwrap();
        let then_keys = TokenKeys::new(PREVIOUS, None).unwrap();
        let again = [now_keys, then_keys].map(|k| code::issue(&k, &claims).unwrap().expose().to_owned());
        assert!(again.iter().any(|c| c == text), "a second spelling of a code verified");
    }
    if let Ok(token) = RefreshToken::parse(text) {
        assert!(text.len() == 53 && text.starts_with("pvr_") && text[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(token.expose(), text);
    }
}

fn sealed_body(body: &[u8]) {
    let now_keys = TokenKeys::new(CURRENT, None).unwrap();
    for (prefix, version) in [(ACCESS_PREFIX, access::ACCESS_VERSION), (code::CODE_PREFIX, code::CODE_VERSION)] {
        let Ok(text) = envelope::seal(&now_keys, prefix, version, body) else { return };
        raw_token(&text);
        raw_code(&text);
    }
}

#[derive(Arbitrary, Debug)]
struct BuiltClaims {
    key_id: String,
    tenant: Option<u8>,
    scopes: Vec<u8>,
    networks: Vec<([u8; 16], u8, bool)>,
    rate: Option<u32>,
    burst: Option<u32>,
    expires_in: u32,
    lifetime: u32,
    token_id: [u8; 12],
    grant: u8,
    family: Option<[u8; 8]>,
    previous: bool,
    change: (u16, u8),
}

fn built_token(b: BuiltClaims) {
    const TENANTS: [&str; 3] = ["acme", "a.b_c-1", "x"];
    let body: String = b.key_id.chars().filter(char::is_ascii_alphanumeric).take(64).collect();
    let key_id = KeyId::from_body(if body.is_empty() { "fuzz" } else { &body }).unwrap();
    let lifetime = 1 + b.lifetime % 86_400;
    let expires_at = NOW.0 / 1000 + 1 + u64::from(b.expires_in % 100_000);
    let networks = b.networks.iter().take(8).map(|(addr, len, v6)| {
        let ip: std::net::IpAddr = if *v6 { std::net::Ipv6Addr::from(*addr).into() } else { std::net::Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).into() };
        let max = if *v6 { 128 } else { 32 };
        ipnet::IpNet::new(ip, len % (max + 1)).unwrap().trunc()
    });
    let claims = AccessClaims {
        key_id,
        tenant: b.tenant.map(|t| TENANTS[usize::from(t) % TENANTS.len()].to_owned()),
        scopes: scopes_from(&b.scopes),
        allow_ips: networks.collect(),
        rate_per_minute: b.rate.filter(|&r| r != 0),
        burst: b.burst.filter(|&r| r != 0),
        issued_at: expires_at - u64::from(lifetime),
        expires_at,
        token_id: TokenId(b.token_id),
        grant: [GrantKind::ClientCredentials, GrantKind::AuthorizationCode, GrantKind::RefreshToken][usize::from(b.grant % 3)],
        family: b.family.map(FamilyId),
    };
    let sealer = TokenKeys::new(if b.previous { PREVIOUS } else { CURRENT }, None).unwrap();
    let token = access::issue(&sealer, &claims).unwrap();
    let text = token.expose();
    assert!(text.len() <= MAX_SEALED_LEN);
    let verified = access::verify(&keys(), text, NOW).unwrap();
    assert_eq!(verified.claims, claims);
    assert_eq!(verified.signed_by, if b.previous { Slot::Previous } else { Slot::Current });
    assert_eq!(access::verify(&keys(), text, UnixMillis(expires_at * 1000)).err(), Some(Rejection::Expired));
    assert!(access::verify(&TokenKeys::new(CURRENT, None).unwrap(), text, NOW).is_ok() != b.previous, "rotation ended");
    let mut bytes = text.as_bytes().to_vec();
    let pos = usize::from(b.change.0) % bytes.len();
    if bytes[pos] != b.change.1 {
        bytes[pos] = b.change.1;
        if let Ok(changed) = String::from_utf8(bytes) {
            assert!(access::verify(&keys(), &changed, NOW).is_err(), "a changed token verified: {changed}");
        }
    }
}

/// A token request's parameters as sent, decoded independently of the
/// parser; `None` if a name or value is not UTF-8.
fn pairs(body: &[u8]) -> Option<Vec<(String, String)>> {
    let decode = |raw: &[u8]| {
        let plus: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
        String::from_utf8(percent_decode(&plus).collect()).ok()
    };
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = match p.iter().position(|&b| b == b'=') {
                Some(i) => (&p[..i], &p[i + 1..]),
                None => (p, &b""[..]),
            };
            Some((decode(n)?, decode(v)?))
        })
        .collect()
}

fn raw_request(authorization: Option<&str>, body: &[u8]) {
    let result = parse(FORM, authorization, body);
    if let Err(e) = &result {
        assert!(matches!(e.status(), 400 | 401));
        assert!(e.description().bytes().all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'));
    }
    if body.len() > MAX_FORM_BYTES {
        assert_eq!(result.err(), Some(OAuthError::InvalidRequest(RequestProblem::TooLarge)));
        return;
    }
    let Some(sent) = pairs(body) else {
        assert_eq!(result.err(), Some(OAuthError::InvalidRequest(RequestProblem::NotUtf8)));
        return;
    };
    let values = |name: &str| sent.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
    let one = |name: &str| values(name).first().copied().filter(|v| !v.is_empty());
    let grant_types = values("grant_type");
    match result {
        Ok(req) => {
            let grant_type = one("grant_type").expect("grant_type sent");
            for name in read_by(grant_type) {
                assert!(values(name).len() <= 1, "{name} repeated and accepted");
            }
            let basic = authorization.is_some_and(|a| !a.trim_matches([' ', '\t']).is_empty());
            assert_eq!(req.client.method == AuthMethod::Basic, basic);
            assert!(ProvisioningKey::parse(req.client.secret.expose()).is_ok());
            if basic {
                assert!(values("client_secret").is_empty(), "two client authentications accepted");
                assert!(one("client_id").is_none_or(|id| id == req.client.client_id.as_str()));
            } else {
                assert_eq!(one("client_id"), Some(req.client.client_id.as_str()));
                assert_eq!(one("client_secret"), Some(req.client.secret.expose()));
            }
            match req.grant {
                GrantRequest::ClientCredentials { .. } => assert_eq!(grant_type, "client_credentials"),
                GrantRequest::AuthorizationCode { code, redirect_uri, code_verifier } => {
                    assert_eq!(grant_type, "authorization_code");
                    assert_eq!((Some(code.as_str()), Some(redirect_uri.as_str()), code_verifier.as_deref()), (one("code"), one("redirect_uri"), one("code_verifier")));
                }
                GrantRequest::RefreshToken { token, .. } => {
                    assert_eq!(grant_type, "refresh_token");
                    assert_eq!(Some(token.expose()), one("refresh_token"));
                }
            }
        }
        Err(OAuthError::UnsupportedGrantType) => {
            assert_eq!(grant_types.len(), 1);
            assert!(!["client_credentials", "authorization_code", "refresh_token", ""].contains(&grant_types[0]));
        }
        Err(OAuthError::InvalidRequest(RequestProblem::Missing("grant_type"))) => assert!(one("grant_type").is_none() && grant_types.len() <= 1),
        Err(OAuthError::InvalidRequest(RequestProblem::Repeated(name))) => assert!(values(name).len() > 1, "{name} called repeated"),
        Err(OAuthError::InvalidClient { .. }) => assert!(matches!(one("grant_type"), Some("client_credentials" | "authorization_code" | "refresh_token"))),
        Err(_) => {}
    }
}

#[derive(Arbitrary, Debug)]
struct BuiltRequest {
    grant: u8,
    client: u8,
    seed: Vec<u8>,
    method: u8,
    scope: Option<Vec<u8>>,
    code: String,
    redirect: u8,
    verifier: Option<String>,
    repeat: Option<u8>,
    extra: Vec<(String, String)>,
    basic_case: u8,
}

fn built_request(b: BuiltRequest) {
    const GRANTS: [&str; 4] = ["client_credentials", "authorization_code", "refresh_token", "password"];
    const CLIENTS: [&str; 3] = ["key_3mXq8Jt0aZ", "key_a", "not a key id"];
    let grant = GRANTS[usize::from(b.grant) % GRANTS.len()];
    let client_id = CLIENTS[usize::from(b.client) % CLIENTS.len()];
    let secret = ProvisioningKey::generate(byte_source(&b.seed)).expose().to_owned();
    let refresh = RefreshToken::generate(byte_source(&b.seed)).expose().to_owned();
    let scopes: Option<Vec<Scope>> = b.scope.as_ref().map(|s| scopes_from(s));
    let scope_param = scopes.as_ref().map(|s| s.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "));
    let mut params: Vec<(&str, String)> = vec![("grant_type", grant.to_owned())];
    let (basic, post) = match b.method % 4 {
        0 => (true, false),
        1 => (false, true),
        2 => (true, true),
        _ => (false, false),
    };
    if post {
        params.push(("client_id", client_id.to_owned()));
        params.push(("client_secret", secret.clone()));
    }
    if let Some(s) = &scope_param {
        params.push(("scope", s.clone()));
    }
    let code = if b.code.is_empty() { "pvc_x".to_owned() } else { b.code.clone() };
    let redirect = URIS[usize::from(b.redirect) % URIS.len()];
    match grant {
        "authorization_code" => {
            params.push(("code", code.clone()));
            params.push(("redirect_uri", redirect.to_owned()));
            if let Some(v) = &b.verifier {
                params.push(("code_verifier", v.clone()));
            }
        }
        "refresh_token" => params.push(("refresh_token", refresh.clone())),
        _ => {}
    }
    let repeated = b.repeat.map(|r| usize::from(r) % params.len()).map(|i| params[i].clone());
    if let Some(p) = &repeated {
        params.push(p.clone());
    }
    let mut body: Vec<String> = params.iter().map(|(n, v)| format!("{n}={}", encode(v))).collect();
    body.extend(b.extra.iter().filter(|(n, _)| !n.is_empty() && !KNOWN.contains(&n.as_str())).take(4).map(|(n, v)| format!("{}={}", encode(n), encode(v))));
    let body = body.join("&");
    let header = basic.then(|| {
        let h = basic_header(client_id, &secret);
        if b.basic_case % 2 == 1 { h.replacen("Basic", "bAsIc", 1) } else { h }
    });
    let got = parse(FORM, header.as_deref(), body.as_bytes());
    if body.len() > MAX_FORM_BYTES {
        assert_eq!(got.err(), Some(OAuthError::InvalidRequest(RequestProblem::TooLarge)));
        return;
    }
    // The documented order: grant_type, then client authentication, then the grant's parameters.
    let request = |p| Some(OAuthError::InvalidRequest(p));
    let expected = if repeated.as_ref().is_some_and(|(n, _)| *n == "grant_type") {
        request(RequestProblem::Repeated("grant_type"))
    } else if grant == "password" {
        Some(OAuthError::UnsupportedGrantType)
    } else if let Some((name @ ("client_id" | "client_secret"), _)) = &repeated {
        request(RequestProblem::Repeated(name))
    } else if basic && post {
        request(RequestProblem::TwoClientAuthentications)
    } else if !basic && !post {
        Some(OAuthError::InvalidClient { problem: ClientProblem::Missing, basic: false })
    } else if client_id == "not a key id" {
        Some(OAuthError::InvalidClient { problem: ClientProblem::Malformed, basic })
    } else if let Some((name, _)) = repeated.as_ref().filter(|(n, _)| read_by(grant).contains(n)) {
        request(RequestProblem::Repeated(name))
    } else {
        None
    };
    match (&got, expected) {
        (Err(e), Some(want)) => assert_eq!(*e, want, "{body}"),
        (Ok(_), Some(want)) => panic!("{body}: accepted, expected {want:?}"),
        (Err(e), None) => panic!("{body}: refused with {e:?}"),
        (Ok(req), None) => {
            assert_eq!(req.client.client_id.as_str(), client_id);
            assert_eq!(req.client.secret.expose(), secret);
            match (&req.grant, grant) {
                (GrantRequest::ClientCredentials { scope }, "client_credentials") | (GrantRequest::RefreshToken { scope, .. }, "refresh_token") => {
                    let sent = scopes.as_ref().filter(|s| !s.is_empty()).map(|s| dedup(s));
                    assert_eq!(scope.clone(), sent);
                }
                (GrantRequest::AuthorizationCode { code: c, redirect_uri, code_verifier }, "authorization_code") => {
                    assert_eq!((c.as_str(), redirect_uri.as_str()), (code.as_str(), redirect));
                    assert_eq!(code_verifier.as_deref(), b.verifier.as_deref().filter(|v| !v.is_empty()));
                }
                _ => panic!("{body}: wrong grant"),
            }
        }
    }
}

fn dedup(scopes: &[Scope]) -> Vec<Scope> {
    let mut out: Vec<Scope> = Vec::new();
    for s in scopes {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

fn record() -> KeyRecord {
    let mut record = active_record(scopes_from(&[3, 4, 5]));
    record.key_id = KeyId::parse("key_3mXq8Jt0aZ").unwrap();
    record.auth = AuthPolicy {
        modes: Modes::new([Mode::AuthorizationCode]).unwrap(),
        redirect_uris: URIS.iter().map(|u| RedirectUri::parse(u).unwrap()).collect(),
        pkce_required: false,
    };
    record
}

fn authorization(query: &[u8]) {
    let record = record();
    let sent = pairs(query);
    let registered = |uri: &str| URIS.contains(&uri);
    let trusted = || {
        let sent = sent.as_ref().expect("a query that redirects is readable");
        let values = |name: &str| sent.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
        assert_eq!(values("client_id"), vec![record.key_id.as_str()], "redirected for another client");
        let uris = values("redirect_uri");
        assert!(uris.len() == 1 && registered(uris[0]), "redirected for an unregistered URI: {uris:?}");
        uris[0].to_owned()
    };
    let starts_at = |location: &str, uri: &str| location.strip_prefix(uri).is_some_and(|rest| rest.starts_with(['?', '&']));
    match authorize::validate(query, &record, &Issuer::parse("https://scim.example.com").unwrap(), NOW) {
        Ok(approved) => {
            let uri = trusted();
            assert_eq!(approved.redirect_uri.as_str(), uri);
            let location = authorize::issue(&keys(), &record, &approved, CodeId([7; 16]), NOW).unwrap();
            assert!(starts_at(&location, &uri), "{location}");
            assert!(location.bytes().all(|b| b.is_ascii_graphic()), "{location}");
        }
        Err(AuthorizeError::Redirect { location, .. }) => {
            let uri = trusted();
            assert!(starts_at(&location, &uri), "{location}");
            assert!(location.bytes().all(|b| b.is_ascii_graphic()), "{location}");
        }
        Err(AuthorizeError::Page(_)) => {}
    }
}
