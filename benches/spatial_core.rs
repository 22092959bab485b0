//! Spatial-core benchmarks on the largest extract in `../shared/data/` (Liechtenstein):
//! import, cache load, snapping, one-to-many Dijkstra and a 1,000 x 100 matrix, each next to a
//! baseline measured in the same run (petgraph's `dijkstra` on the same graph).
//!
//! Run: `cargo bench --bench spatial_core`. Results are written up in `BENCHMARKS.md`.

use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ems::network::{self, Direction, RoadNetwork, Seed, Snapped, TravelModel, TravelSettings};
use petgraph::graph::{DiGraph, NodeIndex};

fn extract() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/osm-liechtenstein/liechtenstein-latest.osm.pbf");
    assert!(p.exists(), "benchmark data missing: {}", p.display());
    p
}

mod common;
use common::SplitMix;

/// `n` snapped points at random road nodes (so they all snap).
fn points(tm: &TravelModel, n: usize, seed: u64) -> Vec<Snapped> {
    let mut r = SplitMix(seed);
    (0..n)
        .map(|_| {
            let i = (r.next() * tm.network.nodes.len() as f64) as usize;
            let p = tm.network.nodes[i];
            tm.snap([
                p[0] + (r.next() - 0.5) * 1e-4,
                p[1] + (r.next() - 0.5) * 1e-4,
            ])
            .unwrap()
        })
        .collect()
}

fn petgraph_of(tm: &TravelModel) -> DiGraph<(), u32> {
    let g = &tm.graph;
    let mut pg = DiGraph::with_capacity(g.num_nodes(), g.num_arcs());
    for _ in 0..g.num_nodes() {
        pg.add_node(());
    }
    for a in 0..g.num_arcs() {
        pg.add_edge(
            NodeIndex::new(g.tail(a) as usize),
            NodeIndex::new(g.head(a) as usize),
            g.weight(a),
        );
    }
    pg
}

fn bench(c: &mut Criterion) {
    let path = extract();
    let bytes = std::fs::read(&path).unwrap();
    let dir = std::env::temp_dir().join(format!("ems-bench-{}", std::process::id()));
    let net = bench_import(c, &bytes, &dir);
    let tm = TravelModel::for_map(net, TravelSettings::default()).unwrap();
    let pg = petgraph_of(&tm);
    bench_snap(c, &tm);
    bench_one_to_many(c, &tm, &pg);
    bench_point_to_point(c, &tm);
    bench_matrix(c, &tm, &pg);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Import, cache load and travel-model build; the imported network.
fn bench_import(c: &mut Criterion, bytes: &[u8], dir: &std::path::Path) -> RoadNetwork {
    let mut group = c.benchmark_group("import");
    group.sample_size(20);
    group.bench_function("liechtenstein_pbf", |b| {
        b.iter(|| network::import_bytes(bytes, "li.osm.pbf").unwrap())
    });
    let net = network::import_bytes(bytes, "li.osm.pbf").unwrap();

    std::fs::create_dir_all(dir).unwrap();
    let cache = dir.join("li.ems");
    net.save(&cache).unwrap();
    group.bench_function("liechtenstein_cache_load", |b| {
        b.iter(|| RoadNetwork::load(&cache).unwrap())
    });
    group.bench_function("travel_model_build", |b| {
        b.iter(|| TravelModel::for_map(net.clone(), TravelSettings::default()).unwrap())
    });
    group.finish();
    net
}

fn bench_snap(c: &mut Criterion, tm: &TravelModel) {
    let mut group = c.benchmark_group("snap");
    let mut r = SplitMix(7);
    let (lo, hi) = ([9.47, 47.05], [9.63, 47.27]);
    let raw: Vec<[f64; 2]> = (0..1000)
        .map(|_| {
            [
                lo[0] + r.next() * (hi[0] - lo[0]),
                lo[1] + r.next() * (hi[1] - lo[1]),
            ]
        })
        .collect();
    group.bench_function("1000_points", |b| {
        b.iter(|| raw.iter().filter(|p| tm.snap(**p).is_ok()).count())
    });
    group.finish();
}

fn bench_one_to_many(c: &mut Criterion, tm: &TravelModel, pg: &DiGraph<(), u32>) {
    let n = tm.graph.num_nodes() as u32;
    let mut group = c.benchmark_group("one_to_many");
    let sources: Vec<u32> = (0..16).map(|i| (i * 7919) % n).collect();
    let mut q = tm.query();
    let mut k = 0;
    group.bench_function("ems_csr_dijkstra_full", |b| {
        b.iter(|| {
            k = (k + 1) % sources.len();
            q.run(
                &tm.graph,
                Direction::Forward,
                &[Seed {
                    node: sources[k],
                    time: 0,
                    length_m: 0.0,
                }],
                None,
            );
            q.settled_count()
        })
    });
    group.bench_function("ems_csr_dijkstra_reverse_full", |b| {
        b.iter(|| {
            k = (k + 1) % sources.len();
            q.run(
                &tm.graph,
                Direction::Reverse,
                &[Seed {
                    node: sources[k],
                    time: 0,
                    length_m: 0.0,
                }],
                None,
            );
            q.settled_count()
        })
    });
    group.bench_function("ems_csr_dijkstra_cutoff_5min", |b| {
        b.iter(|| {
            k = (k + 1) % sources.len();
            q.run(
                &tm.graph,
                Direction::Forward,
                &[Seed {
                    node: sources[k],
                    time: 0,
                    length_m: 0.0,
                }],
                Some(300_000),
            );
            q.settled_count()
        })
    });
    group.bench_function("petgraph_dijkstra_full", |b| {
        b.iter(|| {
            k = (k + 1) % sources.len();
            petgraph::algo::dijkstra(&pg, NodeIndex::new(sources[k] as usize), None, |e| {
                *e.weight()
            })
            .len()
        })
    });
    group.finish();
}

fn bench_point_to_point(c: &mut Criterion, tm: &TravelModel) {
    let mut group = c.benchmark_group("point_to_point");
    let pairs = points(tm, 64, 17);
    let mut q = tm.query();
    let mut k = 0;
    group.bench_function("ems_eta_early_stop", |b| {
        b.iter(|| {
            k = (k + 2) % pairs.len();
            tm.eta(&mut q, &pairs[k], &pairs[k + 1])
        })
    });
    group.bench_function("ems_route_with_geometry", |b| {
        b.iter(|| {
            k = (k + 2) % pairs.len();
            tm.route(&mut q, &pairs[k], &pairs[k + 1])
                .map(|r| r.geometry.len())
        })
    });
    group.finish();
}

fn bench_matrix(c: &mut Criterion, tm: &TravelModel, pg: &DiGraph<(), u32>) {
    let demand = points(tm, 1000, 11);
    let sites = points(tm, 100, 13);
    let mut group = c.benchmark_group("matrix_1000x100");
    group.sample_size(20);
    group.bench_function(
        BenchmarkId::new("ems_parallel", rayon::current_num_threads()),
        |b| b.iter(|| tm.matrix(&sites, &demand, None)),
    );
    group.bench_function("ems_sequential", |b| {
        b.iter(|| {
            let mut q = tm.query();
            sites
                .iter()
                .map(|s| {
                    tm.one_to_many(&mut q, s, &demand, Direction::Forward, None)
                        .len()
                })
                .sum::<usize>()
        })
    });
    // Baseline: one petgraph dijkstra per site from the node its snapped point departs to, then
    // a lookup per demand point (no partial edges: less work than the ems matrix does).
    let site_nodes: Vec<NodeIndex> = sites
        .iter()
        .map(|s| NodeIndex::new(tm.network.segments[s.segment as usize].to as usize))
        .collect();
    let demand_nodes: Vec<NodeIndex> = demand
        .iter()
        .map(|d| NodeIndex::new(tm.network.segments[d.segment as usize].from as usize))
        .collect();
    group.bench_function("petgraph_sequential", |b| {
        b.iter(|| {
            site_nodes
                .iter()
                .map(|s| {
                    let d = petgraph::algo::dijkstra(&pg, *s, None, |e| *e.weight());
                    demand_nodes.iter().filter_map(|t| d.get(t)).count()
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
