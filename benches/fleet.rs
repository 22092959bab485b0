//! Ambulance placement (MEXCLP and backup coverage) on the São José dos Campos instances
//! (`../shared/data/mclp-sjc/`, every point a candidate site): the certificate after one run
//! with a 20 s limit, and criterion's timing where the proof finishes within it.
//!
//! Run: `cargo bench --bench fleet`. Results are written up in `BENCHMARKS.md`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ems::optimize::backup::{self, DoubleCoverage};
use ems::optimize::fleet::FleetOptions;
use ems::optimize::mclp::{Coverage, read_lorena};
use ems::optimize::mexclp;

fn instance(name: &str, r1: f64, r2: f64) -> (Coverage, DoubleCoverage) {
    let path = format!(
        "{}/../shared/data/mclp-sjc/{name}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let inst = read_lorena(std::path::Path::new(&path)).expect("SJC instance (../shared)");
    let near = inst.coverage(r1);
    let far = inst.coverage(r2);
    let dc = DoubleCoverage {
        weights: near.weights.clone(),
        m: near.m,
        near: near.covers.clone(),
        far: far.covers,
    };
    (near, dc)
}

/// Prints a solve's certificate.
fn report(what: &str, c: &ems::optimize::Certificate) {
    println!(
        "{what}: objective {:.1}, bound {:.1}, gap {:.3} %, optimal {}, {} nodes, {:.2} s",
        c.objective, c.bound, c.gap_pct, c.optimal, c.nodes, c.seconds
    );
}

fn options(n: usize) -> FleetOptions {
    let mut o = FleetOptions::new(n);
    o.max_per_site = Some(3);
    o.solve.time_limit = Some(Duration::from_secs(20));
    o
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("fleet");
    g.sample_size(10);
    for (name, r1, r2, n) in [("SJC324", 800.0, 1600.0, 12), ("SJC818", 800.0, 1600.0, 20)] {
        let (cov, dc) = instance(name, r1, r2);
        for q in [0.1, 0.3] {
            let s = mexclp::solve(&cov, q, &options(n)).unwrap();
            report(&format!("{name} MEXCLP N={n} q={q}"), &s.cert);
            // Timing is only meaningful where the proof finishes before the limit.
            if s.cert.optimal {
                g.bench_function(format!("mexclp/{name}/N{n}/q{q}"), |b| {
                    b.iter(|| mexclp::solve(&cov, q, &options(n)).unwrap())
                });
            }
        }
        let alpha = 0.7;
        match backup::solve(&dc, alpha, &options(n)) {
            Ok(s) => {
                report(&format!("{name} DSM N={n} alpha={alpha}"), &s.cert);
                if s.cert.optimal {
                    g.bench_function(format!("backup/{name}/N{n}"), |b| {
                        b.iter(|| backup::solve(&dc, alpha, &options(n)).unwrap())
                    });
                }
            }
            Err(e) => println!("{name} DSM N={n} alpha={alpha}: {e}"),
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
