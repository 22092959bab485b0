//! Issue #13 (first step): the contraction hierarchy against Dijkstra, the oracle, on random
//! graphs (ties, parallel arcs, self-loops, unreachable targets, seeds with initial costs) and on
//! real extracts (snapped points with partial edges).

mod common;

use ems::network::ch::{ChQuery, Hierarchy};
use ems::network::csr::{ArcSpec, NO_SEGMENT};
use ems::network::{Csr, Dijkstra, Direction, Seed, TravelModel, TravelSettings};
use rand::RngExt;

fn rng() -> proptest::test_runner::TestRng {
    proptest::test_runner::TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha)
}

/// Dijkstra's time from the source seeds to the best target seed.
fn oracle(d: &mut Dijkstra, g: &Csr, sources: &[Seed], targets: &[Seed]) -> Option<u32> {
    d.run(g, Direction::Forward, sources, None);
    targets
        .iter()
        .filter_map(|t| d.time(t.node).map(|x| x.saturating_add(t.time)))
        .min()
}

fn seeds(rng: &mut proptest::test_runner::TestRng, n: usize, max: usize) -> Vec<Seed> {
    (0..rng.random_range(1..=max))
        .map(|_| {
            let time = if rng.random_bool(0.5) {
                0
            } else {
                rng.random_range(0..20)
            };
            Seed {
                node: rng.random_range(0..n as u32),
                time,
                length_m: 3.0 * time as f64,
            }
        })
        .collect()
}

#[test]
fn issue_13_ch_equals_dijkstra_on_300_random_graphs() {
    let mut rng = rng();
    for case in 0..300 {
        let n = rng.random_range(1..70usize);
        let m = rng.random_range(0..n * 4 + 1);
        // Small weights make many ties; some graphs are sparse enough to leave nodes unreachable.
        let wmax = if case % 3 == 0 { 3 } else { 100 };
        let arcs: Vec<ArcSpec> = (0..m)
            .map(|_| ArcSpec {
                tail: rng.random_range(0..n as u32),
                head: rng.random_range(0..n as u32),
                weight: rng.random_range(1..=wmax),
                length_m: 0.0,
                segment: NO_SEGMENT,
            })
            // Length proportional to time: every fastest path has the same length, so lengths
            // can be checked exactly even on ties.
            .map(|a| ArcSpec {
                length_m: 3.0 * a.weight as f32,
                ..a
            })
            .collect();
        let g = Csr::from_arcs(n, &arcs);
        let h = Hierarchy::build(&g);
        let mut q = ChQuery::new(&h);
        let mut d = Dijkstra::new(n);
        // Every pair, single nodes.
        let one = |v: usize| {
            vec![Seed {
                node: v as u32,
                time: 0,
                length_m: 0.0,
            }]
        };
        for s in 0..n {
            for t in 0..n {
                assert_eq!(
                    q.time(&h, &one(s), &one(t)),
                    oracle(&mut d, &g, &one(s), &one(t)),
                    "case {case}: {s} -> {t}"
                );
            }
        }
        // A table between seed sets with initial costs (snapped points).
        let sources: Vec<Vec<Seed>> = (0..6).map(|_| seeds(&mut rng, n, 3)).collect();
        let targets: Vec<Vec<Seed>> = (0..7).map(|_| seeds(&mut rng, n, 3)).collect();
        let table = q.table(&h, &sources, &targets);
        for (i, s) in sources.iter().enumerate() {
            for (j, t) in targets.iter().enumerate() {
                let want = oracle(&mut d, &g, s, t);
                assert_eq!(
                    table[i * targets.len() + j],
                    want,
                    "case {case}: table {i},{j}"
                );
                assert_eq!(q.time(&h, s, t), want, "case {case}: seeds {i},{j}");
            }
        }
        // Lengths along the fastest paths: three times the time, seeds' own length included.
        let with_len = q.table_with_lengths(&h, &sources, &targets, None);
        for (k, e) in with_len.iter().enumerate() {
            assert_eq!(e.map(|x| x.0), table[k], "case {case}: {k}");
            if let Some((t, l)) = e {
                assert_eq!(*l, 3.0 * *t as f64, "case {case}: length {k}");
            }
        }
        // The same with a cutoff: entries beyond it are empty, the rest unchanged.
        let cutoff = rng.random_range(0..(wmax * 4));
        let within = q.table_within(&h, &sources, &targets, Some(cutoff));
        for (k, (a, b)) in within.iter().zip(&table).enumerate() {
            assert_eq!(
                *a,
                b.filter(|t| *t <= cutoff),
                "case {case}: cutoff {cutoff}, {k}"
            );
            let (i, j) = (k / targets.len(), k % targets.len());
            assert_eq!(
                q.time_within(&h, &sources[i], &targets[j], Some(cutoff)),
                *a,
                "case {case}: p2p cutoff {cutoff}, {i},{j}"
            );
        }
        // Prepared buckets (units' forward search spaces, kept between calls): one search from
        // each target gives every source's time to it; backward buckets the other way round.
        // Buckets made with one cutoff and scanned with another keep the smaller.
        let bucket_cut = if case % 2 == 0 { None } else { Some(cutoff) };
        let fwd = h.buckets(&sources, true, bucket_cut);
        let bwd = h.buckets(&targets, false, bucket_cut);
        assert_eq!((fwd.points(), bwd.points()), (sources.len(), targets.len()));
        let cut_of = |scan: Option<u32>| match (scan, bucket_cut) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        for scan_cut in [None, Some(cutoff / 2)] {
            let c = cut_of(scan_cut);
            let keep = |t: Option<u32>| t.filter(|t| c.is_none_or(|c| *t <= c));
            for (j, t) in targets.iter().enumerate() {
                let col = q.scan(&h, &fwd, t, scan_cut);
                for (i, e) in col.iter().enumerate() {
                    let want = keep(table[i * targets.len() + j]);
                    assert_eq!(e.map(|x| x.0), want, "case {case}: fwd buckets {i},{j}");
                    if let Some((t, l)) = e {
                        assert_eq!(*l, 3.0 * *t as f64, "case {case}: fwd length {i},{j}");
                    }
                }
            }
            for (i, s) in sources.iter().enumerate() {
                let row = q.scan(&h, &bwd, s, scan_cut);
                let want: Vec<Option<u32>> = table[i * targets.len()..(i + 1) * targets.len()]
                    .iter()
                    .map(|t| keep(*t))
                    .collect();
                let got: Vec<Option<u32>> = row.iter().map(|e| e.map(|x| x.0)).collect();
                assert_eq!(got, want, "case {case}: bwd buckets row {i}");
            }
        }
    }
}

/// Tables large enough for the parallel bucket fill and forward scans (64 points or more on
/// each side), on random graphs: equal to Dijkstra.
#[test]
fn issue_13_parallel_tables_equal_dijkstra() {
    let mut rng = rng();
    for case in 0..20 {
        let n = rng.random_range(50..400usize);
        let arcs: Vec<ArcSpec> = (0..n * 3)
            .map(|_| {
                let weight = rng.random_range(1..=50);
                ArcSpec {
                    tail: rng.random_range(0..n as u32),
                    head: rng.random_range(0..n as u32),
                    weight,
                    length_m: 2.0 * weight as f32,
                    segment: NO_SEGMENT,
                }
            })
            .collect();
        let g = Csr::from_arcs(n, &arcs);
        let h = Hierarchy::build(&g);
        let mut q = ChQuery::new(&h);
        let mut d = Dijkstra::new(n);
        let sources: Vec<Vec<Seed>> = (0..70).map(|_| seeds(&mut rng, n, 2)).collect();
        let targets: Vec<Vec<Seed>> = (0..66).map(|_| seeds(&mut rng, n, 2)).collect();
        let table = q.table_with_lengths(&h, &sources, &targets, None);
        for (i, s) in sources.iter().enumerate() {
            for (j, t) in targets.iter().enumerate() {
                let e = table[i * targets.len() + j];
                assert_eq!(
                    e.map(|x| x.0),
                    oracle(&mut d, &g, s, t),
                    "case {case}: {i},{j}"
                );
                if let Some((t, l)) = e {
                    // Seeds carry 3 m per unit of time, arcs 2: compare against the range.
                    assert!(l <= 3.0 * t as f64 && l >= 2.0 * t as f64, "case {case}");
                }
            }
        }
        let fwd = h.buckets(&sources, true, None);
        for (j, t) in targets.iter().enumerate() {
            let col: Vec<Option<u32>> = q
                .scan(&h, &fwd, t, None)
                .iter()
                .map(|e| e.map(|x| x.0))
                .collect();
            let want: Vec<Option<u32>> = (0..sources.len())
                .map(|i| table[i * targets.len() + j].map(|x| x.0))
                .collect();
            assert_eq!(col, want, "case {case}: column {j}");
        }
    }
}

/// Random snapped points of a map: all pairs by the hierarchy equal Dijkstra from the same seeds.
fn check_map(tm: &TravelModel, bbox: [f64; 4], points: usize) {
    let mut rng = rng();
    let snapped: Vec<_> = (0..points * 3)
        .map(|_| {
            [
                rng.random_range(bbox[0]..bbox[2]),
                rng.random_range(bbox[1]..bbox[3]),
            ]
        })
        .filter_map(|p| tm.snap(p).ok())
        .take(points)
        .collect();
    assert!(snapped.len() >= points / 2, "{} snapped", snapped.len());
    let h = Hierarchy::build(&tm.graph);
    let from: Vec<Vec<Seed>> = snapped
        .iter()
        .map(|s| tm.departure_seeds(s).collect())
        .collect();
    let to: Vec<Vec<Seed>> = snapped
        .iter()
        .map(|s| tm.arrival_seeds(s).collect())
        .collect();
    let mut q = ChQuery::new(&h);
    let table = q.table(&h, &from, &to);
    let mut d = Dijkstra::new(tm.graph.num_nodes());
    let mut reached = 0;
    for (i, s) in from.iter().enumerate() {
        d.run(&tm.graph, Direction::Forward, s, None);
        for (j, t) in to.iter().enumerate() {
            let want = t
                .iter()
                .filter_map(|x| d.time(x.node).map(|v| v.saturating_add(x.time)))
                .min();
            reached += usize::from(want.is_some());
            assert_eq!(table[i * to.len() + j], want, "{i} -> {j}");
        }
    }
    assert!(reached > 0);
    // Units within 3 minutes of one call: many sources, one target, with a cutoff.
    for j in 0..to.len().min(20) {
        let within = q.table_within(&h, &from, &to[j..j + 1], Some(180_000));
        for (i, w) in within.iter().enumerate() {
            assert_eq!(
                *w,
                table[i * to.len() + j].filter(|t| *t <= 180_000),
                "within 3 min: {i} -> {j}"
            );
        }
    }
    for i in 0..snapped.len().min(60) {
        let j = (i * 7 + 3) % snapped.len();
        let want = table[i * to.len() + j];
        assert_eq!(q.time(&h, &from[i], &to[j]), want, "p2p {i} -> {j}");
    }
}

#[test]
fn issue_13_ch_equals_dijkstra_on_monaco() {
    let tm =
        TravelModel::for_map(ems::model::demo::map().unwrap(), TravelSettings::on_road()).unwrap();
    check_map(&tm, [7.409, 43.725, 7.440, 43.752], 200);
}

#[test]
fn issue_13_ch_equals_dijkstra_on_liechtenstein_and_manhattan() {
    if let Some(p) = common::shared("osm-liechtenstein/liechtenstein-latest.osm.pbf") {
        let net = std::sync::Arc::new(ems::network::import_path(&p).unwrap());
        let tm = TravelModel::for_map(net, TravelSettings::on_road()).unwrap();
        check_map(&tm, [9.48, 47.05, 9.62, 47.27], 200);
    }
    if let Some(p) = common::shared(
        "jemss-manhattan/data/roads/osm_2019/manhattan_main_roads_tertiary+_unclass_resid.osm",
    ) {
        let net = std::sync::Arc::new(ems::network::import_path(&p).unwrap());
        let tm = TravelModel::for_map(net, TravelSettings::on_road()).unwrap();
        check_map(&tm, [-74.02, 40.70, -73.91, 40.88], 200);
    }
}

/// `n` random points of `bbox` (`[lon, lat, lon, lat]`) that snap to the model's roads.
fn snapped_in(
    tm: &TravelModel,
    rng: &mut proptest::test_runner::TestRng,
    bbox: [f64; 4],
    n: usize,
) -> Vec<ems::network::Snapped> {
    let mut pts = Vec::new();
    while pts.len() < n {
        let p = [
            rng.random_range(bbox[0]..bbox[2]),
            rng.random_range(bbox[1]..bbox[3]),
        ];
        if let Ok(s) = tm.snap(p) {
            pts.push(s);
        }
    }
    pts
}

/// The travel model's matrix by the hierarchy equals its Dijkstra matrix: same times
/// everywhere (with the off-road leg and the same-edge drive), the same lengths but where two
/// paths tie on time, and the same cutoff rule.
fn check_matrix(tm: &TravelModel, bbox: [f64; 4], points: usize) {
    let mut rng = rng();
    let mut pts = Vec::new();
    while pts.len() < points {
        let p = [
            rng.random_range(bbox[0]..bbox[2]),
            rng.random_range(bbox[1]..bbox[3]),
        ];
        if let Ok(s) = tm.snap(p) {
            pts.push(s);
            // A second point a few metres away: often on the same edge (the same-edge drive).
            if let Ok(s) = tm.snap([p[0] + 2e-5, p[1]]) {
                pts.push(s);
            }
        }
    }
    let (a, b) = pts.split_at(points / 3);
    for cutoff in [None, Some(240_000)] {
        let ch = tm.matrix_ch(a, b, cutoff);
        let dj = tm.matrix_dijkstra(a, b, cutoff);
        assert_eq!(ch.time_ms, dj.time_ms, "cutoff {cutoff:?}");
        let n = ch.time_ms.len();
        let same = (0..n)
            .filter(|&k| {
                let (x, y) = (ch.distance_m[k], dj.distance_m[k]);
                (x.is_nan() && y.is_nan()) || (x - y).abs() <= 0.01 + 1e-6 * y.abs()
            })
            .count();
        assert!(same * 1000 >= n * 995, "{same} of {n} lengths equal");
        assert!(ch.time_ms.iter().any(|t| *t != u32::MAX));
    }
}

#[test]
fn issue_13_travel_model_matrix_by_the_hierarchy_equals_dijkstra() {
    // The demo's own settings (off-road leg at 5 km/h).
    let sc = ems::model::Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    check_matrix(&tm, [7.409, 43.725, 7.440, 43.752], 300);
    if let Some(p) = common::shared(
        "jemss-manhattan/data/roads/osm_2019/manhattan_main_roads_tertiary+_unclass_resid.osm",
    ) {
        let net = std::sync::Arc::new(ems::network::import_path(&p).unwrap());
        let tm = TravelModel::for_map(net, TravelSettings::default()).unwrap();
        check_matrix(&tm, [-74.02, 40.70, -73.91, 40.88], 300);
        // Large enough for `matrix` itself to take the hierarchy.
        let pts: Vec<_> = (0..1200)
            .filter_map(|i| {
                let f = i as f64 / 1200.0;
                tm.snap([-74.01 + 0.09 * f, 40.71 + 0.16 * ((f * 37.0) % 1.0)])
                    .ok()
            })
            .collect();
        let (a, b) = pts.split_at(300);
        assert!(a.len() * b.len() >= ems::network::travel::CH_MATRIX_FROM);
        assert_eq!(
            tm.matrix(a, b, None).time_ms,
            tm.matrix_dijkstra(a, b, None).time_ms
        );
    }
}

/// Re-weighting: a hierarchy contracted in a given order (another weighting's, or any
/// permutation) answers exactly as Dijkstra on the new weights.
#[test]
fn issue_13_hierarchy_in_a_given_order_equals_dijkstra() {
    let mut rng = rng();
    for case in 0..300 {
        let n = rng.random_range(1..60usize);
        let m = rng.random_range(0..n * 4 + 1);
        let arcs: Vec<ArcSpec> = (0..m)
            .map(|_| {
                let w = rng.random_range(1..=if case % 3 == 0 { 3 } else { 100 });
                ArcSpec {
                    tail: rng.random_range(0..n as u32),
                    head: rng.random_range(0..n as u32),
                    weight: w,
                    length_m: 3.0 * w as f32,
                    segment: NO_SEGMENT,
                }
            })
            .collect();
        let g = Csr::from_arcs(n, &arcs);
        // The order of the same topology under other weights ("free flow" against "rush hour").
        let other: Vec<ArcSpec> = arcs
            .iter()
            .map(|a| ArcSpec {
                weight: rng.random_range(1..=100),
                ..*a
            })
            .collect();
        let order = if case % 2 == 0 {
            Hierarchy::build(&Csr::from_arcs(n, &other)).order()
        } else {
            let mut o: Vec<u32> = (0..n as u32).collect();
            for i in (1..n).rev() {
                o.swap(i, rng.random_range(0..=i));
            }
            o
        };
        let h = Hierarchy::build_in_order(&g, &order);
        assert_eq!(h.order(), order, "case {case}: the order is kept");
        let mut q = ChQuery::new(&h);
        let mut d = Dijkstra::new(n);
        let sources: Vec<Vec<Seed>> = (0..5).map(|_| seeds(&mut rng, n, 3)).collect();
        let targets: Vec<Vec<Seed>> = (0..5).map(|_| seeds(&mut rng, n, 3)).collect();
        let table = q.table_with_lengths(&h, &sources, &targets, None);
        for (i, s) in sources.iter().enumerate() {
            for (j, t) in targets.iter().enumerate() {
                let want = oracle(&mut d, &g, s, t);
                assert_eq!(table[i * 5 + j].map(|x| x.0), want, "case {case}: {i},{j}");
                assert_eq!(q.time(&h, s, t), want, "case {case}: p2p {i},{j}");
            }
        }
    }
}

/// A model at an hour of a traffic profile: its hierarchy (re-contracted in the free-flow order)
/// equals its own Dijkstra, and a factor on every class scales the free-flow times.
#[test]
fn issue_13_traffic_hours_reweight_the_graph_and_the_hierarchy() {
    let mut sc = ems::model::Scenario::demo().unwrap();
    let mut by_hour = vec!["1.0".to_string(); 24];
    by_hour[8] = "1.5".into();
    let text = format!(
        "name = \"t\"\nby_hour = [{}]\n[by_class]\nprimary = [{}]\n",
        by_hour.join(","),
        vec!["2.0"; 24].join(",")
    );
    let uniform = format!("name = \"u\"\nby_hour = [{}]\n", by_hour.join(","));
    let mut rng = rng();
    let bbox = [7.409, 43.725, 7.440, 43.752];
    for (text, scales, bus_lanes) in [
        (uniform.clone(), true, false),
        (uniform, true, true),
        (text, false, true),
    ] {
        sc.travel.profile.bus_lanes = bus_lanes;
        sc.travel.traffic = Some(std::sync::Arc::new(
            ems::network::TrafficProfile::parse(&text, "t.toml").unwrap(),
        ));
        let free = TravelModel::for_scenario(&sc).unwrap();
        let pts = snapped_in(&free, &mut rng, bbox, 120);
        let (a, b) = pts.split_at(40);
        let base = free.matrix_dijkstra(a, b, None);
        let rush = free.at_hour(8);
        assert_eq!(rush.hour(), Some(8));
        let ch = rush.matrix_ch(a, b, None);
        let dj = rush.matrix_dijkstra(a, b, None);
        assert_eq!(ch.time_ms, dj.time_ms);
        let night = free.at_hour(3);
        if scales && bus_lanes {
            // Monaco has bus lanes: the ambulance keeps free flow in them, so no path is slower
            // than 1.5 times, some are faster, and none is faster than free flow.
            assert!(free.has_exempt_roads());
            for (r, f) in dj.time_ms.iter().zip(&base.time_ms) {
                let top = *f as f64 * 1.5;
                assert!(
                    *r >= *f && *r as f64 <= top + 2.0 + top * 1e-3,
                    "{r} vs free flow {f}"
                );
            }
            assert!(
                dj.time_ms
                    .iter()
                    .zip(&base.time_ms)
                    .any(|(r, f)| (*r as f64) < *f as f64 * 1.5 - 100.0)
            );
        } else if scales {
            // Every arc's time 1.5 times, rounded once per arc: within a few ms per path.
            assert!(!free.has_exempt_roads());
            for (r, f) in dj.time_ms.iter().zip(&base.time_ms) {
                let want = *f as f64 * 1.5;
                assert!(
                    (*r as f64 - want).abs() <= 2.0 + want * 1e-3,
                    "{r} vs {want}"
                );
            }
            assert_eq!(night.matrix_dijkstra(a, b, None).time_ms, base.time_ms);
        } else {
            // Primary roads twice as slow all day: no entry faster than free flow, some slower.
            let n3 = night.matrix_ch(a, b, None);
            assert_eq!(n3.time_ms, night.matrix_dijkstra(a, b, None).time_ms);
            assert!(n3.time_ms.iter().zip(&base.time_ms).all(|(x, y)| x >= y));
            assert!(n3.time_ms.iter().zip(&base.time_ms).any(|(x, y)| x > y));
            assert!(dj.time_ms.iter().zip(&n3.time_ms).all(|(x, y)| x >= y));
        }
    }
}

/// `TravelModel::pair_times` (independent pairs, as a log's drives from logged positions): by
/// the hierarchy (200 pairs or more) and by Dijkstra (fewer), equal to `eta` for every pair.
#[test]
fn issue_13_pair_times_equal_dijkstra() {
    let sc = ems::model::Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let mut rng = rng();
    let pts = snapped_in(&tm, &mut rng, [7.409, 43.725, 7.440, 43.752], 600);
    // Random pairs, and two points to themselves (the same-edge drive).
    let mut pairs: Vec<_> = pts.chunks(2).map(|c| (c[0], c[1])).collect();
    pairs.push((pts[0], pts[0]));
    pairs.push((pts[1], pts[1]));
    let mut q = tm.query();
    let want: Vec<Option<u64>> = pairs
        .iter()
        .map(|(a, b)| tm.eta(&mut q, a, b).map(|e| e.time_ms))
        .collect();
    assert!(pairs.len() >= ems::network::travel::PAIRS_BY_HIERARCHY);
    assert_eq!(tm.pair_times(&pairs), want);
    assert_eq!(tm.pair_times(&pairs[..50]), want[..50]);
}

/// `TravelModel::many_to_one` (the live ranking of units to a call) by the hierarchy equals
/// the reverse Dijkstra search it replaces, with and without a cutoff, on Monaco and Manhattan.
#[test]
fn issue_13_many_to_one_by_the_hierarchy_equals_dijkstra() {
    let sc = ems::model::Scenario::demo().unwrap();
    let monaco = TravelModel::for_scenario(&sc).unwrap();
    let manhattan = common::shared(
        "jemss-manhattan/data/roads/osm_2019/manhattan_main_roads_tertiary+_unclass_resid.osm",
    )
    .map(|p| {
        TravelModel::for_map(
            std::sync::Arc::new(ems::network::import_path(&p).unwrap()),
            TravelSettings::on_road(),
        )
        .unwrap()
    });
    let mut rng = rng();
    for tm in std::iter::once(&monaco).chain(manhattan.as_ref()) {
        let nodes = &tm.network.nodes;
        let mut pts = Vec::new();
        while pts.len() < 260 {
            let a = nodes[rng.random_range(0..nodes.len())];
            let p = [
                a[0] + rng.random_range(-0.0005..0.0005),
                a[1] + rng.random_range(-0.0005..0.0005),
            ];
            if let Ok(s) = tm.snap(p) {
                pts.push(s);
            }
        }
        let (units, calls) = pts.split_at(60);
        let mut q = tm.query();
        let dijkstra: Vec<Vec<Option<u64>>> = calls
            .iter()
            .map(|c| {
                tm.one_to_many(&mut q, c, units, Direction::Reverse, Some(240_000))
                    .iter()
                    .map(|e| e.map(|e| e.time_ms))
                    .collect()
            })
            .collect();
        let _ = tm.hierarchy();
        for (c, want) in calls.iter().zip(&dijkstra) {
            let got: Vec<Option<u64>> = tm
                .many_to_one(&mut q, units, c, Some(240_000))
                .iter()
                .map(|e| e.map(|e| e.time_ms))
                .collect();
            assert_eq!(&got, want);
            let all = tm.many_to_one(&mut q, units, c, None);
            let full = tm.one_to_many(&mut q, c, units, Direction::Reverse, None);
            for (a, b) in all.iter().zip(&full) {
                assert_eq!(a.map(|e| e.time_ms), b.map(|e| e.time_ms));
            }
        }
        // Some within the cutoff, some beyond it.
        let flat: Vec<&Option<u64>> = dijkstra.iter().flatten().collect();
        assert!(flat.iter().any(|e| e.is_some()) && flat.iter().any(|e| e.is_none()));
    }
}
