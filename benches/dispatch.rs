//! Live dispatch: ranking units by ETA for a call, appending to the durable event log, and a
//! whole `POST /v1/incidents` over HTTP, each next to a baseline in the same run.
//!
//! Run: `cargo bench --bench dispatch`. Results are written up in `BENCHMARKS.md`.

use std::path::PathBuf;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use ems::api::{self, AppState, Config};
use ems::dispatch::Event;
use ems::dispatch::recommend::{self, UnitInput};
use ems::dispatch::store::{Append, Store};
use ems::model::Scenario;
use ems::network::{self, TravelModel, TravelSettings};

mod common;
use common::SplitMix;

fn bench(c: &mut Criterion) {
    // 50 units and 100 calls at random road nodes of Liechtenstein.
    let pbf = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/osm-liechtenstein/liechtenstein-latest.osm.pbf");
    let net = network::import_path(&pbf).expect("benchmark data (../shared)");
    let tm = TravelModel::for_map(net, TravelSettings::default()).unwrap();
    let mut r = SplitMix(7);
    let mut pick = || {
        let i = (r.next() * tm.network.nodes.len() as f64) as usize;
        tm.snap(tm.network.nodes[i]).unwrap()
    };
    let units: Vec<UnitInput> = (0..50)
        .map(|k| UnitInput {
            id: format!("u{k}"),
            position: pick(),
            rolling: k % 5 == 0,
        })
        .collect();
    let scenes: Vec<_> = (0..100).map(|_| pick()).collect();
    let mut g = c.benchmark_group("dispatch");
    let mut q = tm.query();
    let mut k = 0;
    g.bench_function("rank_50_units_one_reverse_search", |b| {
        b.iter(|| {
            k = (k + 1) % scenes.len();
            recommend::rank_units(&tm, &mut q, &scenes[k], &units, 60.0)
        })
    });
    g.bench_function("baseline_50_forward_searches", |b| {
        b.iter(|| {
            k = (k + 1) % scenes.len();
            units
                .iter()
                .filter_map(|u| tm.eta(&mut q, &u.position, &scenes[k]))
                .map(|e| e.time_ms)
                .min()
        })
    });
    // The event log on disk (under target/), synchronous=FULL.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-dispatch");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut store = Store::open(&dir.join("events.sqlite")).unwrap();
    let ev = Event::UnitPosition {
        unit: "u1".into(),
        lon: 9.52,
        lat: 47.14,
        at: Utc::now(),
        reported_at: None,
    };
    let body = serde_json::to_string(&ev).unwrap();
    let mut seq = 0u64;
    let mut batch = |n: usize| -> Vec<Append> {
        (0..n)
            .map(|_| {
                seq += 1;
                Append {
                    seq,
                    body: body.clone(),
                    actor: "bench".into(),
                    recorded: Utc::now(),
                    idempotency: None,
                }
            })
            .collect()
    };
    // One event per transaction (one fsync each), against 16 per transaction (group commit).
    g.bench_function("event_log_append_fsync", |b| {
        b.iter_batched(
            || batch(1),
            |a| store.append(&a).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    g.bench_function("event_log_append_16_in_one_fsync", |b| {
        b.iter_batched(
            || batch(16),
            |a| store.append(&a).unwrap(),
            criterion::BatchSize::SmallInput,
        )
    });
    drop(store);
    // A whole POST /v1/incidents on the demo (validation, recommendation, durable append).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut cfg = Config::demo();
    cfg.db = ems::dispatch::store::Location::Sqlite(dir.join("api.sqlite"));
    let state = AppState::open(Scenario::demo().unwrap(), cfg).unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(api::run(listener, state, std::future::pending()));
    let client = reqwest::blocking::Client::new();
    g.bench_function("http_post_incident_demo", |b| {
        b.iter(|| {
            let r = client
                .post(format!("{base}/v1/incidents"))
                .bearer_auth("demo-dispatcher")
                .body(r#"{"lon": 7.4246, "lat": 43.7384, "priority": 1, "condition": "stroke"}"#)
                .send()
                .unwrap();
            assert_eq!(r.status().as_u16(), 201);
        })
    });
    g.bench_function("baseline_http_get_healthz", |b| {
        b.iter(|| {
            let r = client.get(format!("{base}/healthz")).send().unwrap();
            assert_eq!(r.status().as_u16(), 200);
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
