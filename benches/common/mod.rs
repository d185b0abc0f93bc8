//! The decision's fixture and steps, shared by the criterion benchmark
//! (benches/decision.rs) and the instruction count
//! (examples/decision_instructions.rs).
//!
//! The access token path (OAuth, #18) is measured against the same key:
//! the token carries what the record would have said, so it needs no
//! record, neither from KV nor from the isolate's cache. A JSON layout of
//! the same claims, sealed the same way, is measured beside it: the
//! alternative the binary layout was chosen over.

use hmac::{KeyInit, Mac};
use provgate::core::credential::from_authorization;
use provgate::core::decide::{authorize, quota, verify, Context, Grant};
use provgate::core::gcra::{self, Quota, Verdict};
use provgate::core::key::{KeyId, ProvisioningKey};
use provgate::core::lookup::{record_digest, record_name};
use provgate::core::oauth::access::{self, Verified};
use provgate::core::oauth::claims::{AccessClaims, GrantKind};
use provgate::core::oauth::envelope::MAC_CHARS;
use provgate::core::oauth::ids::TokenId;
use provgate::core::oauth::keys::TokenKeys;
use provgate::core::oauth::lifetime::AccessLifetime;
use provgate::core::record::{parse_network, KeyRecord, RecordError, Status};
use provgate::core::record_cache::RecordCache;
use provgate::core::scim::{classify, PathError, ScimRequest};
use provgate::core::scope::parse_list;
use provgate::core::UnixMillis;
use std::hint::black_box;
use std::net::IpAddr;
use std::rc::Rc;

const PEPPER: &[u8] = b"0123456789abcdef0123456789abcdef";
const TOKEN_SECRET: &[u8] = b"fedcba9876543210fedcba9876543210";
const PATH: &str = "/Users/2819c223-7f76-453a-919d-413861904646";
const NOW: UnixMillis = UnixMillis(1_800_000_000_000);

/// One key, its stored record, and an isolate cache that holds it.
pub struct Fixture {
    header: String,
    bare_key: String,
    stored: Vec<u8>,
    types: [String; 2],
    client_ip: IpAddr,
    default: Quota,
    cache: RecordCache<Rc<KeyRecord>>,
    keys: TokenKeys,
    token_header: String,
    json: JsonToken,
}

impl Fixture {
    pub fn new() -> Self {
        let key = ProvisioningKey::generate(|b| b.iter_mut().enumerate().for_each(|(i, x)| *x = (i * 7) as u8));
        let record = KeyRecord {
            exact_rate: false,
            key_id: KeyId::parse("key_3mXq8Jt0aZ").unwrap(),
            label: "Okta production".into(),
            tenant: Some("acme".into()),
            scopes: parse_list("users:read,users:write,groups:read,groups:write").unwrap(),
            status: Status::Active,
            created_at: UnixMillis(1_795_939_200_000),
            not_before: None,
            expires_at: Some(UnixMillis(1_827_475_200_000)),
            allow_ips: vec![parse_network("203.0.113.0/24").unwrap()],
            rate_per_minute: Some(600),
            burst: Some(50),
            rotated_from: None,
            auth: Default::default(),
        };
        let mut cache = RecordCache::new(10_000, 1024);
        cache.put(record_digest(PEPPER, &key), Rc::new(record.clone()), NOW);
        let keys = TokenKeys::new(TOKEN_SECRET, None).unwrap();
        let claims = AccessClaims::for_key(&record, record.scopes.clone(), GrantKind::ClientCredentials, None, TokenId([7; 12]), NOW, AccessLifetime::default()).unwrap();
        let token = access::issue(&keys, &claims).unwrap();
        Self {
            token_header: format!("Bearer {}", token.expose()),
            json: JsonToken::new(&claims),
            keys,
            header: format!("Bearer {}", key.expose()),
            bare_key: key.expose().to_owned(),
            stored: record.encode().into_bytes(),
            types: ["users".to_owned(), "groups".to_owned()],
            client_ip: "203.0.113.9".parse().unwrap(),
            default: Quota::new(600, 50).unwrap(),
            cache,
        }
    }

    fn ctx(&self) -> Context<'_> {
        Context { now: NOW, client_ip: Some(self.client_ip), resource_types: &self.types }
    }

    /// The floor: one bare HMAC-SHA256 of the key.
    pub fn floor(&self) -> impl Sized {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(PEPPER).unwrap();
        mac.update(black_box(self.bare_key.as_bytes()));
        mac.finalize().into_bytes()
    }

    /// The whole decision with the record decoded (an isolate cache miss):
    /// parse + checksum + HMAC + record name + decode + classify + authorize + GCRA.
    pub fn miss(&self) -> (String, Grant, Verdict) {
        let key = from_authorization(Some(black_box(&self.header))).ok().unwrap();
        let name = record_name(PEPPER, &key);
        let record = verify(Some(black_box(&self.stored))).unwrap();
        let request = classify("PATCH", black_box(PATH)).unwrap();
        let grant = authorize(&record, &request, &self.ctx()).unwrap();
        let verdict = gcra::check(&quota(&record, self.default), Some(1_799_999_999_000_000), 1_800_000_000_000_000);
        (name, grant, verdict)
    }

    /// The whole decision with the record from the isolate cache (a busy key):
    /// parse + checksum + HMAC + lookup + classify + authorize + GCRA.
    pub fn cached(&self) -> (Grant, Verdict) {
        let key = from_authorization(Some(black_box(&self.header))).ok().unwrap();
        let record = self.cache.get(&record_digest(PEPPER, &key), NOW).unwrap();
        let request = classify("PATCH", black_box(PATH)).unwrap();
        let grant = authorize(&record, &request, &self.ctx()).unwrap();
        let verdict = gcra::check(&quota(&record, self.default), Some(1_799_999_999_000_000), 1_800_000_000_000_000);
        (grant, verdict)
    }

    /// The whole decision for an access token of the same key: parse +
    /// MAC + claims + classify + authorize + GCRA. No record at all.
    pub fn token(&self) -> (Grant, Verdict) {
        let header = black_box(&self.token_header);
        let presented = header.strip_prefix("Bearer ").unwrap();
        let Verified { claims, .. } = access::verify(&self.keys, presented, NOW).unwrap();
        let request = classify("PATCH", black_box(PATH)).unwrap();
        let grant = authorize(&claims, &request, &self.ctx()).unwrap();
        let verdict = gcra::check(&quota(&claims, self.default), Some(1_799_999_999_000_000), 1_800_000_000_000_000);
        (grant, verdict)
    }

    /// The same decision with the claims as JSON instead of the binary layout.
    pub fn token_json(&self) -> (Grant, Verdict) {
        let claims = self.json.verify(black_box(&self.json.text)).unwrap();
        let request = classify("PATCH", black_box(PATH)).unwrap();
        let grant = authorize(&claims, &request, &self.ctx()).unwrap();
        let verdict = gcra::check(&quota(&claims, self.default), Some(1_799_999_999_000_000), 1_800_000_000_000_000);
        (grant, verdict)
    }

    /// Token lengths: binary layout, JSON layout (printed by the criterion bench).
    #[allow(dead_code)]
    pub fn token_lengths(&self) -> (usize, usize) {
        (self.token_header.len() - "Bearer ".len(), self.json.text.len())
    }

    pub fn decode(&self) -> Result<KeyRecord, RecordError> {
        KeyRecord::decode(black_box(&self.stored))
    }

    pub fn classify(&self) -> Result<ScimRequest, PathError> {
        classify(black_box("GET"), black_box(PATH))
    }
}

/// The claims as JSON, sealed as access tokens are (prefix, base64url, MAC
/// of everything before the `.`): what the binary layout is compared with.
pub struct JsonToken {
    text: String,
    mac: hmac::Hmac<sha2::Sha256>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct JsonClaims<'a> {
    kid: &'a str,
    ten: Option<&'a str>,
    scp: Vec<&'a str>,
    ips: Vec<String>,
    rpm: Option<u32>,
    bst: Option<u32>,
    iat: u64,
    exp: u64,
    tid: &'a str,
    grt: u8,
}

impl JsonToken {
    fn new(claims: &AccessClaims) -> Self {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        let scopes: Vec<String> = claims.scopes.iter().map(ToString::to_string).collect();
        let tid = claims.token_id.to_string();
        let json = serde_json::to_string(&JsonClaims {
            kid: claims.key_id.as_str(),
            ten: claims.tenant.as_deref(),
            scp: scopes.iter().map(String::as_str).collect(),
            ips: claims.allow_ips.iter().map(ToString::to_string).collect(),
            rpm: claims.rate_per_minute,
            bst: claims.burst,
            iat: claims.issued_at,
            exp: claims.expires_at,
            tid: &tid,
            grt: 1,
        })
        .unwrap();
        let mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(TOKEN_SECRET).unwrap();
        let mut text = format!("pva_{}", URL_SAFE_NO_PAD.encode(json));
        let mut m = mac.clone();
        m.update(text.as_bytes());
        text.push('.');
        URL_SAFE_NO_PAD.encode_string(m.finalize().into_bytes(), &mut text);
        Self { text, mac }
    }

    fn verify(&self, presented: &str) -> Option<AccessClaims> {
        use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
        use subtle::ConstantTimeEq;
        let (signed, mac_text) = presented.rsplit_once('.')?;
        let mut tag = [0u8; 32];
        if mac_text.len() != MAC_CHARS || URL_SAFE_NO_PAD.decode_slice(mac_text, &mut tag).ok()? != 32 {
            return None;
        }
        let json = URL_SAFE_NO_PAD.decode(signed.strip_prefix("pva_")?).ok()?;
        let mut m = self.mac.clone();
        m.update(signed.as_bytes());
        if !bool::from(m.finalize().into_bytes().as_slice().ct_eq(&tag)) {
            return None;
        }
        let c: JsonClaims = serde_json::from_slice(&json).ok()?;
        let mut tid = [0u8; 12];
        hex::decode_to_slice(c.tid, &mut tid).ok()?;
        let claims = AccessClaims {
            key_id: KeyId::parse(c.kid)?,
            tenant: c.ten.map(str::to_owned),
            scopes: c.scp.iter().map(|s| s.parse().ok()).collect::<Option<_>>()?,
            allow_ips: c.ips.iter().map(|n| parse_network(n)).collect::<Option<_>>()?,
            rate_per_minute: c.rpm,
            burst: c.bst,
            issued_at: c.iat,
            expires_at: c.exp,
            token_id: TokenId(tid),
            grant: GrantKind::ClientCredentials,
            family: None,
        };
        (NOW.0 < claims.expires_at * 1000).then_some(claims)
    }
}
