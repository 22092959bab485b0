//! Every fast path against an oracle: the CSR Dijkstra against petgraph's `dijkstra` and against
//! Floyd-Warshall on random graphs; snapping against brute force; snapped-point travel times
//! against petgraph on a graph where the points are real nodes; matrices against single queries.

mod common;

use std::collections::HashMap;

use ems::network::csr::{ArcSpec, NO_SEGMENT};
use ems::network::{Csr, Dijkstra, Direction, Seed, TravelModel, TravelSettings};
use petgraph::graph::{DiGraph, NodeIndex};
use proptest::prelude::*;

fn arcs_strategy() -> impl Strategy<Value = (usize, Vec<(u32, u32, u32)>)> {
    (1usize..40).prop_flat_map(|n| {
        let arc = (0..n as u32, 0..n as u32, 1u32..1000);
        (Just(n), prop::collection::vec(arc, 0..160))
    })
}

fn csr_of(n: usize, arcs: &[(u32, u32, u32)]) -> Csr {
    let specs: Vec<ArcSpec> = arcs
        .iter()
        .map(|&(t, h, w)| ArcSpec {
            tail: t,
            head: h,
            weight: w,
            length_m: w as f32 * 2.0,
            segment: NO_SEGMENT,
        })
        .collect();
    Csr::from_arcs(n, &specs)
}

fn petgraph_of(n: usize, arcs: &[(u32, u32, u32)], reverse: bool) -> DiGraph<(), u32> {
    let mut g = DiGraph::new();
    for _ in 0..n {
        g.add_node(());
    }
    for &(t, h, w) in arcs {
        let (a, b) = if reverse { (h, t) } else { (t, h) };
        g.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), w);
    }
    g
}

fn seed(node: u32) -> Seed {
    Seed {
        node,
        time: 0,
        length_m: 0.0,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Forward and reverse searches equal petgraph's dijkstra, with one reused state.
    #[test]
    fn dijkstra_equals_petgraph((n, arcs) in arcs_strategy(), sources in prop::collection::vec(0u32..40, 1..5)) {
        let g = csr_of(n, &arcs);
        let mut q = Dijkstra::new(n);
        for (dir, reverse) in [(Direction::Forward, false), (Direction::Reverse, true)] {
            let pg = petgraph_of(n, &arcs, reverse);
            for &s in sources.iter().filter(|s| (**s as usize) < n) {
                q.run(&g, dir, &[seed(s)], None);
                let oracle = petgraph::algo::dijkstra(&pg, NodeIndex::new(s as usize), None, |e| *e.weight());
                for v in 0..n as u32 {
                    prop_assert_eq!(q.time(v), oracle.get(&NodeIndex::new(v as usize)).copied(), "node {} from {} {:?}", v, s, dir);
                    if let Some(t) = q.time(v) {
                        // Lengths are 2 x weight in this graph, so the path length is 2 x time.
                        prop_assert!((q.length_m(v).unwrap() - 2.0 * t as f64).abs() < 1e-6);
                        // The path's arcs add up to the time.
                        let arcs = q.path_arcs(&g, v);
                        let sum: u32 = arcs.iter().map(|a| g.weight(*a as usize)).sum();
                        prop_assert_eq!(sum, t);
                    }
                }
            }
        }
    }

    /// Multi-seed search with initial costs and a cutoff equals Floyd-Warshall.
    #[test]
    fn seeded_cutoff_equals_floyd_warshall(
        (n, arcs) in arcs_strategy(),
        seeds in prop::collection::vec((0u32..40, 0u32..500), 1..4),
        cutoff in 0u32..3000,
    ) {
        let g = csr_of(n, &arcs);
        let pg = petgraph_of(n, &arcs, false);
        let fw = petgraph::algo::floyd_warshall(&pg, |e| *e.weight() as u64).unwrap();
        let seeds: Vec<Seed> = seeds.into_iter().filter(|s| (s.0 as usize) < n).map(|(node, time)| Seed { node, time, length_m: 0.0 }).collect();
        let mut q = Dijkstra::new(n);
        q.run(&g, Direction::Forward, &seeds, Some(cutoff));
        for v in 0..n {
            let best = seeds
                .iter()
                .filter_map(|s| fw.get(&(NodeIndex::new(s.node as usize), NodeIndex::new(v))).filter(|d| **d != u64::MAX).map(|d| d + s.time as u64))
                .min()
                .filter(|d| *d <= cutoff as u64);
            prop_assert_eq!(q.time(v as u32).map(|t| t as u64), best, "node {}", v);
        }
    }
}

/// Snapping never returns a farther point than the brute-force nearest segment.
#[test]
fn snapping_equals_brute_force() {
    let tm =
        TravelModel::for_map(ems::model::demo::map().unwrap(), TravelSettings::on_road()).unwrap();
    let mut rng = proptest::test_runner::TestRng::deterministic_rng(
        proptest::test_runner::RngAlgorithm::ChaCha,
    );
    use rand::RngExt;
    for _ in 0..2000 {
        let p = [
            rng.random_range(7.405..7.445),
            rng.random_range(43.722..43.755),
        ];
        let hit = tm.index().nearest(p).unwrap();
        let brute = tm.index().nearest_brute_force_distance(p).unwrap();
        assert!(
            hit.distance_m <= brute + 1e-9,
            "{p:?}: {} > {}",
            hit.distance_m,
            brute
        );
        assert!((hit.distance_m - brute).abs() < 1e-9);
        if let Ok(s) = tm.snap(p) {
            assert!(s.fraction >= 0.0 && s.fraction <= 1.0);
            assert!(s.distance_m <= tm.snap_limit_m());
            // Haversine vs projected distance: within 1 % plus 1 cm at this scale.
            assert!(
                (s.distance_m - brute).abs() <= 0.01 * brute + 0.01,
                "{} vs {}",
                s.distance_m,
                brute
            );
        }
    }
}

/// Travel times between snapped points equal petgraph's dijkstra on a graph in which each
/// snapped point is a node that splits its segment.
#[test]
fn snapped_point_times_equal_split_graph_oracle() {
    let tm =
        TravelModel::for_map(ems::model::demo::map().unwrap(), TravelSettings::on_road()).unwrap();
    let mut rng = proptest::test_runner::TestRng::deterministic_rng(
        proptest::test_runner::RngAlgorithm::ChaCha,
    );
    use rand::RngExt;
    let pts: Vec<_> = (0..60)
        .map(|_| {
            [
                rng.random_range(7.410..7.440),
                rng.random_range(43.725..43.750),
            ]
        })
        .filter_map(|p| tm.snap(p).ok())
        .collect();
    assert!(pts.len() > 40);

    // Oracle graph: every arc of an untouched segment as is; touched segments are cut at the
    // snapped points, each piece taking its share of the segment's time (in microseconds, so
    // rounding stays far below the model's 1 ms resolution).
    let n = tm.graph.num_nodes();
    let mut g: DiGraph<(), f64> = DiGraph::new();
    for _ in 0..n {
        g.add_node(());
    }
    let mut by_seg: HashMap<u32, Vec<(f64, usize)>> = HashMap::new();
    let mut point_node = Vec::new();
    for (i, p) in pts.iter().enumerate() {
        let v = g.add_node(());
        point_node.push(v);
        by_seg.entry(p.segment).or_default().push((p.fraction, i));
    }
    for (si, seg) in tm.network.segments.iter().enumerate() {
        let [tf, tb] = tm.graph.segment_times(si as u32);
        let mut stops: Vec<(f64, NodeIndex)> = vec![(0.0, NodeIndex::new(seg.from as usize))];
        if let Some(list) = by_seg.get(&(si as u32)) {
            let mut l = list.clone();
            l.sort_by(|a, b| a.0.total_cmp(&b.0));
            stops.extend(l.iter().map(|&(f, i)| (f, point_node[i])));
        }
        stops.push((1.0, NodeIndex::new(seg.to as usize)));
        for w in stops.windows(2) {
            let share = w[1].0 - w[0].0;
            if share == 0.0 {
                // Two points at the same place: each reaches the other at no cost.
                g.add_edge(w[0].1, w[1].1, 0.0);
                g.add_edge(w[1].1, w[0].1, 0.0);
                continue;
            }
            if tf != u32::MAX {
                g.add_edge(w[0].1, w[1].1, share * tf as f64);
            }
            if tb != u32::MAX {
                g.add_edge(w[1].1, w[0].1, share * tb as f64);
            }
        }
    }
    let mut q = tm.query();
    let mut compared = 0;
    for (i, a) in pts.iter().enumerate().take(15) {
        let oracle = petgraph::algo::dijkstra(&g, point_node[i], None, |e| *e.weight());
        let fast = tm.one_to_many(&mut q, a, &pts, Direction::Forward, None);
        for (j, b) in pts.iter().enumerate() {
            let o = oracle.get(&point_node[j]).copied();
            let f = fast[j].map(|e| e.time_ms as f64);
            match (o, f) {
                (Some(o), Some(f)) => {
                    // Each partial edge is rounded to 1 ms: at most 2 ms apart.
                    assert!(
                        (o - f).abs() <= 2.0,
                        "{i}->{j}: oracle {o} ms, model {f} ms\n{a:?}\n{b:?}\n{:?}",
                        tm.network.segments[b.segment as usize]
                    );
                    compared += 1;
                }
                (None, None) => {}
                other => panic!("{i}->{j}: reachability differs: {other:?}"),
            }
            if j < 5 {
                let e = tm.eta(&mut q, a, b);
                assert_eq!(
                    e.map(|e| e.time_ms),
                    fast[j].map(|e| e.time_ms),
                    "eta vs one_to_many {i}->{j}"
                );
            }
        }
    }
    assert!(compared > 500);
}

/// The parallel matrix, whichever side it searches from, equals single forward queries; route
/// geometry starts and ends at the snapped points and its length matches the distance.
#[test]
fn matrix_and_routes_agree_with_single_queries() {
    let tm =
        TravelModel::for_map(ems::model::demo::map().unwrap(), TravelSettings::on_road()).unwrap();
    let mut rng = proptest::test_runner::TestRng::deterministic_rng(
        proptest::test_runner::RngAlgorithm::ChaCha,
    );
    use rand::RngExt;
    let pts: Vec<_> = (0..40)
        .map(|_| {
            [
                rng.random_range(7.410..7.440),
                rng.random_range(43.725..43.750),
            ]
        })
        .filter_map(|p| tm.snap(p).ok())
        .collect();
    let (few, many) = pts.split_at(8);
    let fwd = tm.matrix(few, many, None); // searches from the 8 sources
    let rev = tm.matrix(many, few, None); // searches backwards from the 8 targets
    let mut q = tm.query();
    for (r, s) in few.iter().enumerate() {
        let single = tm.one_to_many(&mut q, s, many, Direction::Forward, None);
        for (c, t) in many.iter().enumerate() {
            assert_eq!(
                fwd.get(r, c).map(|e| e.time_ms),
                single[c].map(|e| e.time_ms)
            );
            // Reverse matrix: from many[c] to few[r].
            let back = tm.eta(&mut q, t, s);
            assert_eq!(
                rev.get(c, r).map(|e| e.time_ms),
                back.map(|e| e.time_ms),
                "reverse {c}->{r}"
            );
        }
    }
    // Cutoff: entries beyond it are empty, the rest unchanged.
    let cut = tm.matrix(few, many, Some(120_000));
    for i in 0..cut.time_ms.len() {
        let full = fwd.time_ms[i];
        let c = cut.time_ms[i];
        assert!(c == full || (c == u32::MAX && full > 120_000));
    }
    for (a, b) in few.iter().zip(many) {
        let r = tm.route(&mut q, a, b).unwrap();
        assert_eq!(r.geometry.first(), Some(&a.on_road));
        assert_eq!(r.geometry.last(), Some(&b.on_road));
        let len: f64 = r
            .geometry
            .windows(2)
            .map(|w| ems::network::travel::haversine(w[0], w[1]))
            .sum();
        assert!(
            (len - r.eta.distance_m).abs() < 0.5 + 0.001 * len,
            "geometry {len} vs {}",
            r.eta.distance_m
        );
    }
}

/// Issue #11: the off-road leg adds exactly `distance to the road / off-road speed` at each end
/// of every query kind (point to point, one to many both ways, matrices), and its length to the
/// distance; a free leg (`off_road_kmh = None`) leaves the road times alone.
#[test]
fn off_road_leg_adds_distance_over_speed() {
    use ems::network::Direction;
    let map = ems::model::demo::map().unwrap();
    let road = TravelModel::for_map(map.clone(), TravelSettings::on_road()).unwrap();
    let walk = TravelModel::for_map(
        map,
        TravelSettings {
            off_road_kmh: Some(4.0),
            ..TravelSettings::on_road()
        },
    )
    .unwrap();
    let mut rng = proptest::test_runner::TestRng::deterministic_rng(
        proptest::test_runner::RngAlgorithm::ChaCha,
    );
    use rand::RngExt;
    let pts: Vec<_> = (0..60)
        .filter_map(|_| {
            let p = [
                rng.random_range(7.410..7.440),
                rng.random_range(43.725..43.750),
            ];
            road.snap(p).ok()
        })
        .collect();
    assert!(pts.len() > 30);
    let leg = |s: &ems::network::Snapped| ((s.distance_m * 900.0).round() as u64, s.distance_m);
    for s in &pts {
        assert_eq!(walk.off_road(s), leg(s));
        assert_eq!(road.off_road(s), (0, 0.0));
    }
    let (mut qr, mut qw) = (road.query(), walk.query());
    for a in &pts[..10] {
        for b in &pts {
            let (r, w) = (road.eta(&mut qr, a, b), walk.eta(&mut qw, a, b));
            let (Some(r), Some(w)) = (r, w) else {
                assert_eq!(r.is_some(), w.is_some());
                continue;
            };
            assert_eq!(w.time_ms, r.time_ms + leg(a).0 + leg(b).0, "{a:?} -> {b:?}");
            assert!((w.distance_m - (r.distance_m + a.distance_m + b.distance_m)).abs() < 1e-6);
        }
        for dir in [Direction::Forward, Direction::Reverse] {
            let r = road.one_to_many(&mut qr, a, &pts, dir, None);
            let w = walk.one_to_many(&mut qw, a, &pts, dir, None);
            for ((x, y), b) in r.iter().zip(&w).zip(&pts) {
                assert_eq!(
                    y.map(|e| e.time_ms),
                    x.map(|e| e.time_ms + leg(a).0 + leg(b).0)
                );
            }
        }
    }
    let (mr, mw) = (road.matrix(&pts, &pts, None), walk.matrix(&pts, &pts, None));
    for (i, a) in pts.iter().enumerate() {
        for (j, b) in pts.iter().enumerate() {
            assert_eq!(
                mw.get(i, j).map(|e| e.time_ms),
                mr.get(i, j).map(|e| e.time_ms + leg(a).0 + leg(b).0)
            );
        }
    }
}
