//! The contraction hierarchy (issue #13, first step) on the largest road graph here (JEMSS
//! Manhattan), each figure beside baselines on the same graph and weights in the same run:
//! `fast_paths` (a contraction hierarchy crate), Dijkstra with early stop, and the travel
//! model's parallel Dijkstra matrix.
//!
//! Run: `cargo bench --bench ch`. Results are written up in `BENCHMARKS.md`.

mod common;

use std::path::PathBuf;
use std::sync::Arc;

use common::SplitMix;
use criterion::{Criterion, criterion_group, criterion_main};
use ems::network::ch::{ChQuery, Hierarchy};
use ems::network::{Dijkstra, Direction, Seed, TravelModel, TravelSettings};

fn model() -> TravelModel {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(
        "../shared/data/jemss-manhattan/data/roads/osm_2019/manhattan_main_roads_tertiary+_unclass_resid.osm",
    );
    assert!(p.exists(), "benchmark data missing: {}", p.display());
    let net = Arc::new(ems::network::import_path(&p).unwrap());
    TravelModel::for_map(net, TravelSettings::on_road()).unwrap()
}

fn seed(v: u32) -> Vec<Seed> {
    vec![Seed {
        node: v,
        time: 0,
        length_m: 0.0,
    }]
}

fn bench(c: &mut Criterion) {
    let tm = model();
    let g = &tm.graph;
    let n = g.num_nodes();
    let mut input = fast_paths::InputGraph::new();
    for a in 0..g.num_arcs() {
        if g.tail(a) != g.head(a) {
            input.add_edge(g.tail(a) as usize, g.head(a) as usize, g.weight(a) as usize);
        }
    }
    input.freeze();
    let mut r = SplitMix(13);
    let pairs: Vec<(u32, u32)> = (0..1000)
        .map(|_| ((r.next() * n as f64) as u32, (r.next() * n as f64) as u32))
        .collect();

    let mut group = c.benchmark_group("ch_prepare");
    group.sample_size(10);
    group.bench_function("ems_hierarchy", |b| {
        b.iter(|| Hierarchy::build(g).shortcuts)
    });
    group.bench_function("fast_paths_prepare", |b| {
        b.iter(|| fast_paths::prepare(&input).get_num_nodes())
    });
    group.finish();

    let h = Hierarchy::build(g);
    let fp = fast_paths::prepare(&input);
    eprintln!(
        "Manhattan: {n} nodes, {} arcs; ems hierarchy: {} shortcuts, {} arcs, {:.1} MB",
        g.num_arcs(),
        h.shortcuts,
        h.num_arcs(),
        h.memory_bytes() as f64 / 1e6
    );
    // The three agree on every pair.
    let mut q = ChQuery::new(&h);
    let mut calc = fast_paths::create_calculator(&fp);
    let mut d = Dijkstra::new(n);
    for &(s, t) in &pairs {
        let ours = q.time(&h, &seed(s), &seed(t));
        let theirs = calc
            .calc_path(&fp, s as usize, t as usize)
            .map(|p| p.get_weight() as u32);
        d.run_until(g, Direction::Forward, &seed(s), None, |v| v == t);
        assert_eq!(ours, theirs, "{s} -> {t}");
        assert_eq!(ours, d.time(t), "{s} -> {t}");
    }

    let mut group = c.benchmark_group("ch_point_to_point_1000_pairs");
    group.sample_size(10);
    group.bench_function("ems_hierarchy", |b| {
        b.iter(|| {
            pairs
                .iter()
                .filter_map(|&(s, t)| q.time(&h, &seed(s), &seed(t)))
                .count()
        })
    });
    group.bench_function("fast_paths", |b| {
        b.iter(|| {
            pairs
                .iter()
                .filter_map(|&(s, t)| calc.calc_path(&fp, s as usize, t as usize))
                .count()
        })
    });
    group.bench_function("dijkstra_early_stop", |b| {
        b.iter(|| {
            pairs
                .iter()
                .filter(|&&(s, t)| {
                    d.run_until(g, Direction::Forward, &seed(s), None, |v| v == t);
                    d.time(t).is_some()
                })
                .count()
        })
    });
    group.finish();

    // Units within 5 minutes of a call: 100 units, 100 calls, one call at a time.
    let units: Vec<u32> = (0..100).map(|_| (r.next() * n as f64) as u32).collect();
    let calls: Vec<u32> = (0..100).map(|_| (r.next() * n as f64) as u32).collect();
    let unit_seeds: Vec<Vec<Seed>> = units.iter().map(|&u| seed(u)).collect();
    let cutoff = 300_000;
    for &c in &calls {
        let ours = q.table_within(&h, &unit_seeds, &[seed(c)], Some(cutoff));
        d.run(g, Direction::Reverse, &seed(c), Some(cutoff));
        let want: Vec<Option<u32>> = units.iter().map(|&u| d.time(u)).collect();
        assert_eq!(ours, want);
    }
    let mut group = c.benchmark_group("ch_units_within_5min_100_calls");
    group.sample_size(10);
    group.bench_function("ems_hierarchy_table_within", |b| {
        b.iter(|| {
            calls
                .iter()
                .map(|&c| {
                    q.table_within(&h, &unit_seeds, &[seed(c)], Some(cutoff))
                        .iter()
                        .flatten()
                        .count()
                })
                .sum::<usize>()
        })
    });
    group.bench_function("dijkstra_reverse_with_cutoff", |b| {
        b.iter(|| {
            calls
                .iter()
                .map(|&c| {
                    d.run(g, Direction::Reverse, &seed(c), Some(cutoff));
                    units.iter().filter(|&&u| d.time(u).is_some()).count()
                })
                .sum::<usize>()
        })
    });
    group.finish();

    // A 5,000 x 1,000 table between snapped points.
    let snapped: Vec<_> = (0..6000)
        .map(|_| {
            let i = (r.next() * tm.network.nodes.len() as f64) as usize;
            tm.snap(tm.network.nodes[i]).unwrap()
        })
        .collect();
    let (src, dst) = snapped.split_at(5000);
    let from: Vec<Vec<Seed>> = src
        .iter()
        .map(|s| tm.departure_seeds(s).collect())
        .collect();
    let to: Vec<Vec<Seed>> = dst.iter().map(|s| tm.arrival_seeds(s).collect()).collect();
    let mut group = c.benchmark_group("ch_table_5000x1000");
    group.sample_size(10);
    group.bench_function("ems_hierarchy_buckets", |b| {
        b.iter(|| q.table(&h, &from, &to).len())
    });
    group.bench_function("travel_model_matrix_by_hierarchy", |b| {
        b.iter(|| tm.matrix_ch(src, dst, None).time_ms.len())
    });
    group.bench_function("travel_model_matrix_dijkstra_parallel", |b| {
        b.iter(|| tm.matrix_dijkstra(src, dst, None).time_ms.len())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
