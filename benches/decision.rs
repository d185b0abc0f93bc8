//! The edge's whole per-request decision against its floor, one bare
//! HMAC-SHA256 of a key (the least any keyed-hash verifier must do).
//!
//! `cargo bench --bench decision`; the ratio is reported in BENCHMARKS.md.
//! The Worker computes SHA-256 in software (wasm32 has no SHA instructions);
//! natively sha2 uses the CPU's SHA extensions where present, which makes
//! the floor several times cheaper than on the edge. For the edge's ratio,
//! run with `RUSTFLAGS='--cfg sha2_backend="soft"'` (`make bench` does).
//! The access token path (OAuth) is measured against the same key.
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

mod common;

fn benches(c: &mut Criterion) {
    let f = common::Fixture::new();
    let mut group = c.benchmark_group("decision");
    group.bench_function("floor: one HMAC-SHA256 of the key", |b| b.iter(|| black_box(f.floor())));
    group.bench_function("provgate, record from the isolate cache: parse + checksum + HMAC + lookup + classify + authorize + GCRA", |b| {
        b.iter(|| black_box(f.cached()))
    });
    group.bench_function("provgate, record decoded (a cache miss): parse + checksum + HMAC + decode + classify + authorize + GCRA", |b| {
        b.iter(|| black_box(f.miss()))
    });
    group.bench_function("provgate, access token of the same key: parse + MAC + claims + classify + authorize + GCRA", |b| {
        b.iter(|| black_box(f.token()))
    });
    group.bench_function("alternative: the same token with JSON claims", |b| b.iter(|| black_box(f.token_json())));
    group.finish();
    let (binary, json) = f.token_lengths();
    println!("access token length: {binary} bytes (binary claims), {json} bytes (JSON claims)");

    c.bench_function("classify a SCIM path", |b| b.iter(|| black_box(f.classify())));
    c.bench_function("decode a key record", |b| b.iter(|| black_box(f.decode())));
}

criterion_group!(decision, benches);
criterion_main!(decision);
