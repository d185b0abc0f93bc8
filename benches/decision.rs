//! The edge's whole per-request decision against its floor, one bare
//! HMAC-SHA256 of a key (the least any keyed-hash verifier must do).
//!
//! `cargo bench --bench decision`; the ratio is reported in BENCHMARKS.md.
//! The Worker computes SHA-256 in software (wasm32 has no SHA instructions);
//! natively sha2 uses the CPU's SHA extensions where present, which makes
//! the floor several times cheaper than on the edge. For the edge's ratio,
//! run with `RUSTFLAGS='--cfg sha2_backend="soft"'` (`make bench` does).
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
    group.finish();

    c.bench_function("classify a SCIM path", |b| b.iter(|| black_box(f.classify())));
    c.bench_function("decode a key record", |b| b.iter(|| black_box(f.decode())));
}

criterion_group!(decision, benches);
criterion_main!(decision);
