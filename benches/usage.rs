//! What counting one request costs inside the key's guard: noting it in a
//! warm usage record (known source), and writing the record's stored form
//! (done at most every 10 s per key).
//!
//! `cargo bench --bench usage`; reported in BENCHMARKS.md.
use criterion::{criterion_group, criterion_main, Criterion};
use provgate::core::usage::{Class, OriginReport, Source, Usage};
use provgate::core::UnixMillis;
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let source = Source::new("192.0.2.10", Some("NZ"), Some(64_500)).unwrap();
    let mut usage = Usage::default();
    let mut now = 1_795_939_200_000;
    // A day of traffic from a few addresses, so windows and sources are populated.
    for i in 0..2_000u64 {
        now += 43_000;
        let ip = format!("192.0.2.{}", i % 8);
        usage.note(UnixMillis(now), Class::Allowed, Source::new(&ip, Some("NZ"), Some(64_500)).as_ref());
    }
    c.bench_function("usage: note one request", |b| {
        b.iter(|| {
            now += 10;
            black_box(usage.note(UnixMillis(now), black_box(Class::Allowed), Some(black_box(&source))))
        })
    });
    let mut report = OriginReport::default();
    report.add(Some(201), UnixMillis(now));
    c.bench_function("usage: note an origin report", |b| b.iter(|| usage.note_origin(UnixMillis(now), black_box(&report))));
    c.bench_function("usage: encode the stored form", |b| b.iter(|| black_box(usage.encode())));
    let stored = usage.encode();
    c.bench_function("usage: decode the stored form", |b| b.iter(|| black_box(Usage::decode(black_box(&stored)))));
    println!("stored form: {} bytes", stored.len());
}

criterion_group!(usage_benches, benches);
criterion_main!(usage_benches);
