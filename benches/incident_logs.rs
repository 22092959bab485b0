//! Reading other systems' logs: the DataSF preset (one row per unit, AM/PM local times, a
//! `(lat, lon)` column, grouping by incident) on a 1,000,000-row file made by repeating the
//! real sample with fresh incident numbers, against our own format's reader on a 1,000,000-row
//! file (the demo's synthetic log repeated with fresh ids), in the same run.
//!
//! Run: `cargo bench --bench incident_logs`. Needs `../shared/data/cad-datasf-sample/`.
//! Results are written up in `BENCHMARKS.md`.

mod common;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ems::model::{self, FilterArg, LogOptions, Mapping, ParseOptions, TimeZoneSpec};
use ems::standards::{self, Targets};

const ROWS: usize = 1_000_000;

/// The DataSF sample's rows repeated to `ROWS`, each repetition with its own incident numbers.
fn datasf_rows() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/data/cad-datasf-sample/sffd_lone_mountain_2009.csv"
    );
    let mut rdr = csv::Reader::from_path(path).expect("the DataSF sample (see PROVENANCE.md)");
    let header = rdr.headers().unwrap().clone();
    let inc = header.iter().position(|h| h == "Incident Number").unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let mut w = csv::Writer::from_writer(Vec::with_capacity(ROWS * 420));
    w.write_record(&header).unwrap();
    for i in 0..ROWS {
        let (rep, row) = (i / rows.len(), &rows[i % rows.len()]);
        let fields: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(k, v)| {
                if k == inc {
                    format!("{v}-{rep}")
                } else {
                    v.to_string()
                }
            })
            .collect();
        w.write_record(&fields).unwrap();
    }
    w.into_inner().unwrap()
}

fn bench(c: &mut Criterion) {
    let sf = datasf_rows();
    let own = common::demo_log_rows(ROWS).into_bytes();
    let sf_opts = LogOptions {
        mapping: Mapping::preset("datasf")
            .unwrap()
            .with_filters(&["Call Type=*".parse::<FilterArg>().unwrap()]),
        ..LogOptions::ems(TimeZoneSpec::default(), false)
    };
    let own_opts = ParseOptions::default();
    let log = model::parse_log(&sf[..], "sf.csv", &sf_opts).unwrap();
    assert_eq!(log.rows, ROWS as u64);
    eprintln!(
        "DataSF: {} MB, {} incidents; own format: {} MB",
        sf.len() / 1_000_000,
        log.incidents.len(),
        own.len() / 1_000_000
    );
    let mut group = c.benchmark_group("incident_logs");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("datasf_preset_1m_rows", |b| {
        b.iter(|| model::parse_log(&sf[..], "sf.csv", &sf_opts).unwrap().rows)
    });
    group.bench_function("own_format_1m_rows", |b| {
        b.iter(|| {
            model::parse_incidents(&own[..], "own.csv", &own_opts)
                .unwrap()
                .rows
        })
    });
    let targets = Targets::default_preset();
    group.bench_function("datasf_1m_rows_log_only_check", |b| {
        b.iter(|| {
            standards::check_log_only(&log, &targets)
                .unwrap()
                .targets
                .len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
