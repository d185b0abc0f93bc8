//! The edge's whole per-request decision against its floor, one bare
//! HMAC-SHA256 of a key (the least any keyed-hash verifier must do).
//!
//! `cargo bench --bench decision`; the ratio is reported in BENCHMARKS.md.
//! The Worker computes SHA-256 in software (wasm32 has no SHA instructions);
//! natively sha2 uses the CPU's SHA extensions where present, which makes
//! the floor several times cheaper than on the edge. For the edge's ratio,
//! run with `RUSTFLAGS='--cfg sha2_backend="soft"'` (`make bench` does).
use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{KeyInit, Mac};
use provgate::core::credential::from_authorization;
use provgate::core::decide::{authorize, quota, verify, Context};
use provgate::core::gcra::{self, Quota};
use provgate::core::key::{KeyId, ProvisioningKey};
use provgate::core::lookup::{record_digest, record_name};
use provgate::core::record_cache::RecordCache;
use provgate::core::record::{parse_network, KeyRecord, Status};
use provgate::core::scim::classify;
use provgate::core::scope::parse_list;
use provgate::core::UnixMillis;
use std::hint::black_box;
use std::rc::Rc;

const PEPPER: &[u8] = b"0123456789abcdef0123456789abcdef";

fn fixture() -> (String, Vec<u8>) {
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
    };
    (format!("Bearer {}", key.expose()), record.encode().into_bytes())
}

fn benches(c: &mut Criterion) {
    let (header, stored) = fixture();
    let types = ["users".to_owned(), "groups".to_owned()];
    let ctx = Context { now: UnixMillis(1_800_000_000_000), client_ip: Some("203.0.113.9".parse().unwrap()), resource_types: &types };
    let default = Quota::new(600, 50).unwrap();
    let bare_key = header.trim_start_matches("Bearer ").to_owned();

    let mut group = c.benchmark_group("decision");
    group.bench_function("floor: one HMAC-SHA256 of the key", |b| {
        b.iter(|| {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(PEPPER).unwrap();
            mac.update(black_box(bare_key.as_bytes()));
            black_box(mac.finalize().into_bytes())
        })
    });
    // The isolate's record cache holding this key's record (the steady state for a busy key).
    let mut cache = RecordCache::new(10_000, 1024);
    let key = from_authorization(Some(&header)).ok().unwrap();
    cache.put(record_digest(PEPPER, &key), Rc::new(verify(Some(&stored)).unwrap()), ctx.now);
    group.bench_function("provgate, record from the isolate cache: parse + checksum + HMAC + lookup + classify + authorize + GCRA", |b| {
        b.iter(|| {
            let key = from_authorization(Some(black_box(&header))).ok().unwrap();
            let record = cache.get(&record_digest(PEPPER, &key), ctx.now).unwrap();
            let request = classify("PATCH", black_box("/Users/2819c223-7f76-453a-919d-413861904646")).unwrap();
            let grant = authorize(&record, &request, &ctx).unwrap();
            let verdict = gcra::check(&quota(&record, default), Some(1_799_999_999_000_000), 1_800_000_000_000_000);
            black_box((grant, verdict))
        })
    });
    group.bench_function("provgate, record decoded (a cache miss): parse + checksum + HMAC + decode + classify + authorize + GCRA", |b| {
        b.iter(|| {
            let key = from_authorization(Some(black_box(&header))).ok().unwrap();
            let name = record_name(PEPPER, &key);
            let record = verify(Some(black_box(&stored))).unwrap();
            let request = classify("PATCH", black_box("/Users/2819c223-7f76-453a-919d-413861904646")).unwrap();
            let grant = authorize(&record, &request, &ctx).unwrap();
            let verdict = gcra::check(&quota(&record, default), Some(1_799_999_999_000_000), 1_800_000_000_000_000);
            black_box((name, grant, verdict))
        })
    });
    group.finish();

    c.bench_function("classify a SCIM path", |b| {
        b.iter(|| classify(black_box("GET"), black_box("/Users/2819c223-7f76-453a-919d-413861904646")))
    });
    c.bench_function("decode a key record", |b| b.iter(|| KeyRecord::decode(black_box(&stored))));
}

criterion_group!(decision, benches);
criterion_main!(decision);
