//! The decision's fixture and steps, shared by the criterion benchmark
//! (benches/decision.rs) and the instruction count
//! (examples/decision_instructions.rs).

use hmac::{KeyInit, Mac};
use provgate::core::credential::from_authorization;
use provgate::core::decide::{authorize, quota, verify, Context, Grant};
use provgate::core::gcra::{self, Quota, Verdict};
use provgate::core::key::{KeyId, ProvisioningKey};
use provgate::core::lookup::{record_digest, record_name};
use provgate::core::record::{parse_network, KeyRecord, RecordError, Status};
use provgate::core::record_cache::RecordCache;
use provgate::core::scim::{classify, PathError, ScimRequest};
use provgate::core::scope::parse_list;
use provgate::core::UnixMillis;
use std::hint::black_box;
use std::net::IpAddr;
use std::rc::Rc;

const PEPPER: &[u8] = b"0123456789abcdef0123456789abcdef";
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
}

impl Fixture {
    pub fn new() -> Self {
        let key = ProvisioningKey::generate(|b| b.iter_mut().enumerate().for_each(|(i, x)| *x = (i * 7) as u8));
        let record = KeyRecord {
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
        Self {
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

    pub fn decode(&self) -> Result<KeyRecord, RecordError> {
        KeyRecord::decode(black_box(&self.stored))
    }

    pub fn classify(&self) -> Result<ScimRequest, PathError> {
        classify(black_box("GET"), black_box(PATH))
    }
}
