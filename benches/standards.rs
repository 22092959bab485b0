//! The standards check on a 1-million-row incident log (the demo's synthetic year repeated
//! with fresh ids), next to the demo's own 3,398-row log in the same run.
//!
//! Run: `cargo bench --bench standards`. Results are written up in `BENCHMARKS.md`.

mod common;

use criterion::{Criterion, criterion_group, criterion_main};
use ems::model::{self, ParseOptions, Scenario};
use ems::network::TravelModel;
use ems::standards::{self, CheckOptions, Targets};

fn million_rows() -> String {
    common::demo_log_rows(1_000_000)
}

fn bench(c: &mut Criterion) {
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let targets = Targets::default_preset();
    let opts = ParseOptions {
        timezone: sc.timezone,
        skip_invalid: false,
    };
    let big = million_rows();
    let small = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/demo/incidents.csv"
    ))
    .unwrap();
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function("demo_log_3398_rows_parse_and_check", |b| {
        b.iter(|| {
            let log = model::parse_incidents(small.as_bytes(), "demo.csv", &opts).unwrap();
            standards::check(&sc, &tm, &log, &targets, &CheckOptions::default()).unwrap()
        })
    });
    group.bench_function("1m_rows_parse", |b| {
        b.iter(|| {
            model::parse_incidents(big.as_bytes(), "big.csv", &opts)
                .unwrap()
                .rows
        })
    });
    let log = model::parse_incidents(big.as_bytes(), "big.csv", &opts).unwrap();
    assert_eq!(log.rows, 1_000_000);
    group.bench_function("1m_rows_check", |b| {
        b.iter(|| standards::check(&sc, &tm, &log, &targets, &CheckOptions::default()).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
