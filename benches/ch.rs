//! The contraction hierarchy (issue #13) on the largest road graph here (JEMSS Manhattan,
//! 19,382 nodes) and on a 310k-node graph made of 16 copies of it, each figure beside baselines
//! on the same graph and weights in the same run: `fast_paths` (a contraction hierarchy crate),
//! petgraph's `dijkstra`, and `ems`'s own Dijkstra (one search per target, or with early stop).
//!
//! The 310k-node graph: Manhattan tiled 4 × 4, each copy shifted by the extract's width and
//! height; neighbouring copies joined by 40 two-way "bridges" between the 40 nodes nearest
//! their shared edge on each side (paired in order along that edge), each as long as the
//! straight line between the shifted points at 30 km/h. Its baselines that take seconds per
//! call (Dijkstra tables, petgraph, preparation) are timed once with `Instant` and printed as
//! `ONCE ...` lines: criterion needs ten samples, which would take a quarter of an hour.
//!
//! Run: `cargo bench --bench ch`. Results are written up in `BENCHMARKS.md`.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use common::SplitMix;
use criterion::{Criterion, criterion_group, criterion_main};
use ems::network::ch::{ChQuery, Hierarchy};
use ems::network::csr::{ArcSpec, NO_SEGMENT};
use ems::network::{Csr, Dijkstra, Direction, Seed, TravelModel, TravelSettings};
use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;

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

/// 16 copies of `g` on a 4 × 4 grid, joined by bridges (see the module docs).
fn tiled(g: &Csr, pts: &[[f64; 2]]) -> Csr {
    let n = g.num_nodes();
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in pts {
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let span = [hi[0] - lo[0], hi[1] - lo[1]];
    let mut arcs = Vec::new();
    for t in 0..16u32 {
        for a in 0..g.num_arcs() {
            arcs.push(ArcSpec {
                tail: g.tail(a) + t * n as u32,
                head: g.head(a) + t * n as u32,
                weight: g.weight(a),
                length_m: g.length_m(a),
                segment: NO_SEGMENT,
            });
        }
    }
    let at = |t: u32, v: u32| {
        let (col, row) = ((t % 4) as f64, (t / 4) as f64);
        let p = pts[v as usize];
        [p[0] + col * span[0], p[1] + row * span[1]]
    };
    // The 40 nodes of a copy nearest one of its sides, in order along that side.
    let side = |k: usize, high: bool| -> Vec<u32> {
        let mut v: Vec<u32> = (0..n as u32).collect();
        v.sort_by(|a, b| {
            let (x, y) = (pts[*a as usize][k], pts[*b as usize][k]);
            if high {
                y.total_cmp(&x)
            } else {
                x.total_cmp(&y)
            }
        });
        v.truncate(40);
        v.sort_by(|a, b| pts[*a as usize][1 - k].total_cmp(&pts[*b as usize][1 - k]));
        v
    };
    let (east, west, north, south) = (side(0, true), side(0, false), side(1, true), side(1, false));
    for t in 0..16u32 {
        let mut join = |u: u32, other: u32, from: &[u32], to: &[u32]| {
            for (&a, &b) in from.iter().zip(to) {
                let (p, q) = (at(u, a), at(other, b));
                let m = ems::network::travel::haversine(p, q).max(1.0);
                for (x, y) in [
                    (u * n as u32 + a, other * n as u32 + b),
                    (other * n as u32 + b, u * n as u32 + a),
                ] {
                    arcs.push(ArcSpec {
                        tail: x,
                        head: y,
                        weight: (m / (30.0 / 3.6) * 1000.0) as u32 + 1,
                        length_m: m as f32,
                        segment: NO_SEGMENT,
                    });
                }
            }
        };
        if t % 4 < 3 {
            join(t, t + 1, &east, &west);
        }
        if t / 4 < 3 {
            join(t, t + 4, &north, &south);
        }
    }
    Csr::from_arcs(16 * n, &arcs)
}

fn petgraph_of(g: &Csr, reverse: bool) -> DiGraph<(), u32> {
    let mut pg = DiGraph::with_capacity(g.num_nodes(), g.num_arcs());
    for _ in 0..g.num_nodes() {
        pg.add_node(());
    }
    for a in 0..g.num_arcs() {
        let (t, h) = (g.tail(a) as usize, g.head(a) as usize);
        let (x, y) = if reverse { (h, t) } else { (t, h) };
        pg.add_edge(NodeIndex::new(x), NodeIndex::new(y), g.weight(a));
    }
    pg
}

fn fast_paths_input(g: &Csr) -> fast_paths::InputGraph {
    let mut input = fast_paths::InputGraph::new();
    for a in 0..g.num_arcs() {
        if g.tail(a) != g.head(a) {
            input.add_edge(g.tail(a) as usize, g.head(a) as usize, g.weight(a) as usize);
        }
    }
    input.freeze();
    input
}

/// `fast_paths`' FastGraph arrays: its edges are five `usize` fields (base and adjacent node,
/// weight, two replaced-edge ids), plus ranks and two first-edge arrays per node.
fn fast_paths_bytes(fp: &fast_paths::FastGraph) -> usize {
    40 * (fp.get_num_out_edges() + fp.get_num_in_edges()) + 3 * 8 * fp.get_num_nodes()
}

/// The table baseline by Dijkstra: one reverse search per target (the fewer side), in parallel.
fn dijkstra_table(g: &Csr, sources: &[u32], targets: &[u32]) -> usize {
    targets
        .par_iter()
        .map_init(
            || Dijkstra::new(g.num_nodes()),
            |d, &t| {
                d.run(g, Direction::Reverse, &seed(t), None);
                sources.iter().filter(|&&s| d.time(s).is_some()).count()
            },
        )
        .sum()
}

/// The same with petgraph: one `dijkstra` per target on the reversed graph, in parallel.
fn petgraph_table(rev: &DiGraph<(), u32>, sources: &[u32], targets: &[u32]) -> usize {
    targets
        .par_iter()
        .map(|&t| {
            let m =
                petgraph::algo::dijkstra(rev, NodeIndex::new(t as usize), None, |e| *e.weight());
            sources
                .iter()
                .filter(|&&s| m.contains_key(&NodeIndex::new(s as usize)))
                .count()
        })
        .sum()
}

fn once<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    eprintln!("ONCE {label}: {:.3} s", start.elapsed().as_secs_f64());
    out
}

fn random_nodes(r: &mut SplitMix, n: usize, k: usize) -> Vec<u32> {
    (0..k).map(|_| (r.next() * n as f64) as u32).collect()
}

/// Every benchmark on one graph. `big`: the slow baselines run once (see the module docs).
fn on_graph(c: &mut Criterion, label: &str, g: &Csr, big: bool) {
    let n = g.num_nodes();
    let input = fast_paths_input(g);
    let (h, fp) = if big {
        (
            once(&format!("{label} ems_hierarchy_prepare"), || {
                Hierarchy::build(g)
            }),
            once(&format!("{label} fast_paths_prepare"), || {
                fast_paths::prepare(&input)
            }),
        )
    } else {
        let mut group = c.benchmark_group(format!("{label}_prepare"));
        group.sample_size(10);
        group.bench_function("ems_hierarchy", |b| {
            b.iter(|| Hierarchy::build(g).shortcuts)
        });
        group.bench_function("fast_paths_prepare", |b| {
            b.iter(|| fast_paths::prepare(&input).get_num_nodes())
        });
        group.finish();
        (Hierarchy::build(g), fast_paths::prepare(&input))
    };
    let order = h.order();
    let _ = once(&format!("{label} ems_hierarchy_reweight_in_order"), || {
        Hierarchy::build_in_order(g, &order).shortcuts
    });
    eprintln!(
        "{label}: {n} nodes, {} arcs; ems hierarchy: {} shortcuts, {} upward arcs, {:.1} MB; \
         fast_paths: {} edges, {:.1} MB",
        g.num_arcs(),
        h.shortcuts,
        h.num_arcs(),
        h.memory_bytes() as f64 / 1e6,
        fp.get_num_out_edges() + fp.get_num_in_edges(),
        fast_paths_bytes(&fp) as f64 / 1e6,
    );
    let mut r = SplitMix(13);
    let pairs: Vec<(u32, u32)> = random_nodes(&mut r, n, 2000)
        .chunks(2)
        .map(|p| (p[0], p[1]))
        .collect();
    // The hierarchy, fast_paths and Dijkstra agree on every pair.
    let mut q = ChQuery::new(&h);
    let mut calc = fast_paths::create_calculator(&fp);
    let mut d = Dijkstra::new(n);
    for &(s, t) in pairs.iter().take(if big { 100 } else { 1000 }) {
        let ours = q.time(&h, &seed(s), &seed(t));
        let theirs = calc
            .calc_path(&fp, s as usize, t as usize)
            .map(|p| p.get_weight() as u32);
        d.run_until(g, Direction::Forward, &seed(s), None, |v| v == t);
        assert_eq!(ours, theirs, "{s} -> {t}");
        assert_eq!(ours, d.time(t), "{s} -> {t}");
    }
    let fwd = petgraph_of(g, false);
    let rev = petgraph_of(g, true);
    let cx = Graph {
        label,
        g,
        big,
        h: &h,
        fwd: &fwd,
        rev: &rev,
    };
    point_to_point(c, &cx, &pairs, &mut q, &mut calc, &fp, &mut d);
    units_within(c, &cx, &mut r, &mut q, &mut calc, &fp, &mut d);
    table(c, &cx, &mut r, &mut q, &mut d);
}

/// One graph and what the benchmarks on it share.
struct Graph<'a> {
    label: &'a str,
    g: &'a Csr,
    big: bool,
    h: &'a Hierarchy,
    fwd: &'a DiGraph<(), u32>,
    rev: &'a DiGraph<(), u32>,
}

/// Point to point: 1,000 pairs by the hierarchy, fast_paths, Dijkstra and petgraph.
#[allow(clippy::too_many_arguments)]
fn point_to_point(
    c: &mut Criterion,
    cx: &Graph,
    pairs: &[(u32, u32)],
    q: &mut ChQuery,
    calc: &mut fast_paths::PathCalculator,
    fp: &fast_paths::FastGraph,
    d: &mut Dijkstra,
) {
    let Graph {
        label,
        g,
        big,
        h,
        fwd,
        ..
    } = *cx;
    // Point to point.
    let mut group = c.benchmark_group(format!("{label}_point_to_point_1000_pairs"));
    group.sample_size(10);
    group.bench_function("ems_hierarchy", |b| {
        b.iter(|| {
            pairs
                .iter()
                .filter_map(|&(s, t)| q.time(h, &seed(s), &seed(t)))
                .count()
        })
    });
    group.bench_function("fast_paths", |b| {
        b.iter(|| {
            pairs
                .iter()
                .filter_map(|&(s, t)| calc.calc_path(fp, s as usize, t as usize))
                .count()
        })
    });
    let dijkstra_p2p = |d: &mut Dijkstra, pairs: &[(u32, u32)]| {
        pairs
            .iter()
            .filter(|&&(s, t)| {
                d.run_until(g, Direction::Forward, &seed(s), None, |v| v == t);
                d.time(t).is_some()
            })
            .count()
    };
    let petgraph_p2p = |pairs: &[(u32, u32)]| {
        pairs
            .iter()
            .filter(|&&(s, t)| {
                let goal = NodeIndex::new(t as usize);
                petgraph::algo::dijkstra(&fwd, NodeIndex::new(s as usize), Some(goal), |e| {
                    *e.weight()
                })
                .contains_key(&goal)
            })
            .count()
    };
    if big {
        group.finish();
        once(
            &format!("{label} dijkstra_early_stop 100 of the pairs"),
            || dijkstra_p2p(d, &pairs[..100]),
        );
        once(
            &format!("{label} petgraph_dijkstra_goal 100 of the pairs"),
            || petgraph_p2p(&pairs[..100]),
        );
    } else {
        group.bench_function("dijkstra_early_stop", |b| b.iter(|| dijkstra_p2p(d, pairs)));
        group.bench_function("petgraph_dijkstra_goal", |b| b.iter(|| petgraph_p2p(pairs)));
        group.finish();
    }
}

/// One-to-many with a cutoff: which of 100 units are within 5 minutes of each of 100 calls.
#[allow(clippy::too_many_arguments)]
fn units_within(
    c: &mut Criterion,
    cx: &Graph,
    r: &mut SplitMix,
    q: &mut ChQuery,
    calc: &mut fast_paths::PathCalculator,
    fp: &fast_paths::FastGraph,
    d: &mut Dijkstra,
) {
    let n = cx.g.num_nodes();
    let Graph {
        label,
        g,
        big,
        h,
        rev,
        ..
    } = *cx;
    // One-to-many with a cutoff: which of 100 units are within 5 minutes of each of 100 calls.
    let units = random_nodes(r, n, 100);
    let calls = random_nodes(r, n, 100);
    let unit_seeds: Vec<Vec<Seed>> = units.iter().map(|&u| seed(u)).collect();
    let cutoff = 300_000;
    let buckets = h.buckets(&unit_seeds, true, Some(cutoff));
    for &call in &calls {
        let ours: Vec<Option<u32>> = q
            .scan(h, &buckets, &seed(call), None)
            .iter()
            .map(|e| e.map(|x| x.0))
            .collect();
        d.run(g, Direction::Reverse, &seed(call), Some(cutoff));
        let want: Vec<Option<u32>> = units.iter().map(|&u| d.time(u)).collect();
        assert_eq!(ours, want);
    }
    let mut group = c.benchmark_group(format!("{label}_units_within_5min_100_units_100_calls"));
    group.sample_size(10);
    group.bench_function("ems_hierarchy_unit_buckets_kept", |b| {
        b.iter(|| {
            calls
                .iter()
                .map(|&c| q.scan(h, &buckets, &seed(c), None).iter().flatten().count())
                .sum::<usize>()
        })
    });
    group.bench_function("ems_hierarchy_unit_buckets_rebuilt_per_call", |b| {
        b.iter(|| {
            calls
                .iter()
                .map(|&c| {
                    let bk = h.buckets(&unit_seeds, true, Some(cutoff));
                    q.scan(h, &bk, &seed(c), None).iter().flatten().count()
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
    group.bench_function("fast_paths_point_to_point_per_unit", |b| {
        b.iter(|| {
            calls
                .iter()
                .map(|&c| {
                    units
                        .iter()
                        .filter_map(|&u| calc.calc_path(fp, u as usize, c as usize))
                        .filter(|p| p.get_weight() <= cutoff as usize)
                        .count()
                })
                .sum::<usize>()
        })
    });
    let petgraph_calls = |calls: &[u32]| {
        // petgraph's dijkstra has no cutoff: a full reverse search per call.
        calls
            .iter()
            .map(|&c| {
                let m = petgraph::algo::dijkstra(&rev, NodeIndex::new(c as usize), None, |e| {
                    *e.weight()
                });
                units
                    .iter()
                    .filter(|&&u| {
                        m.get(&NodeIndex::new(u as usize))
                            .is_some_and(|t| *t <= cutoff)
                    })
                    .count()
            })
            .sum::<usize>()
    };
    if big {
        group.finish();
        once(
            &format!("{label} petgraph_full_reverse_search 100 calls"),
            || petgraph_calls(&calls),
        );
    } else {
        group.bench_function("petgraph_full_reverse_search", |b| {
            b.iter(|| petgraph_calls(&calls))
        });
        group.finish();
    }
}

/// A 5,000 x 1,000 table between nodes.
fn table(c: &mut Criterion, cx: &Graph, r: &mut SplitMix, q: &mut ChQuery, d: &mut Dijkstra) {
    let n = cx.g.num_nodes();
    let Graph {
        label,
        g,
        big,
        h,
        rev,
        ..
    } = *cx;
    // A 5,000 x 1,000 table between nodes.
    let sources = random_nodes(r, n, 5000);
    let targets = random_nodes(r, n, 1000);
    let from: Vec<Vec<Seed>> = sources.iter().map(|&s| seed(s)).collect();
    let to: Vec<Vec<Seed>> = targets.iter().map(|&t| seed(t)).collect();
    let table = q.table(h, &from, &to);
    let (fb, bb) = (h.buckets(&from, true, None), h.buckets(&to, false, None));
    eprintln!(
        "{label}: upward spaces {:.1} (forward) and {:.1} (backward) nodes on average; {} bucket \
         meetings in the table ({:.0} per source)",
        fb.len() as f64 / from.len() as f64,
        bb.len() as f64 / to.len() as f64,
        fb.meetings(&bb),
        fb.meetings(&bb) as f64 / from.len() as f64
    );
    // Spot check 20 columns against Dijkstra.
    for (j, &t) in targets.iter().enumerate().take(20) {
        d.run(g, Direction::Reverse, &seed(t), None);
        for (i, &s) in sources.iter().enumerate() {
            assert_eq!(table[i * targets.len() + j], d.time(s));
        }
    }
    let mut group = c.benchmark_group(format!("{label}_table_5000x1000"));
    group.sample_size(10);
    let (mut tt, mut ll) = (
        vec![0u32; from.len() * to.len()],
        vec![0f32; from.len() * to.len()],
    );
    group.bench_function("ems_hierarchy_table_into_times_and_lengths", |b| {
        b.iter(|| {
            q.table_into(h, &from, &to, None, &mut tt, &mut ll);
            tt[0]
        })
    });
    group.bench_function("ems_hierarchy_table_with_lengths_as_options", |b| {
        b.iter(|| q.table_with_lengths(h, &from, &to, None).len())
    });
    if big {
        group.finish();
        once(&format!("{label} dijkstra_parallel_1000_searches"), || {
            dijkstra_table(g, &sources, &targets)
        });
        once(&format!("{label} petgraph_parallel_1000_searches"), || {
            petgraph_table(rev, &sources, &targets)
        });
    } else {
        group.bench_function("dijkstra_parallel_1000_searches", |b| {
            b.iter(|| dijkstra_table(g, &sources, &targets))
        });
        group.bench_function("petgraph_parallel_1000_searches", |b| {
            b.iter(|| petgraph_table(rev, &sources, &targets))
        });
        group.finish();
    }
}

fn bench(c: &mut Criterion) {
    let tm = model();
    on_graph(c, "manhattan", &tm.graph, false);

    // The travel model's matrix between snapped points (partial edges, same-edge drives).
    let mut r = SplitMix(17);
    let snapped: Vec<_> = (0..6000)
        .map(|_| {
            let i = (r.next() * tm.network.nodes.len() as f64) as usize;
            tm.snap(tm.network.nodes[i]).unwrap()
        })
        .collect();
    let (src, dst) = snapped.split_at(5000);
    let mut group = c.benchmark_group("manhattan_travel_model_matrix_5000x1000");
    group.sample_size(10);
    group.bench_function("matrix_by_hierarchy", |b| {
        b.iter(|| tm.matrix_ch(src, dst, None).time_ms.len())
    });
    group.bench_function("matrix_dijkstra_parallel", |b| {
        b.iter(|| tm.matrix_dijkstra(src, dst, None).time_ms.len())
    });
    group.finish();

    if std::env::var_os("EMS_BENCH_MANHATTAN_ONLY").is_some() {
        return;
    }
    let big = tiled(&tm.graph, &tm.network.nodes);
    on_graph(c, "manhattan_x16", &big, true);
}

criterion_group!(benches, bench);
criterion_main!(benches);
