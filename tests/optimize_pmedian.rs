//! p-median: OR-Library instances against their known optima, and tiny random instances
//! against brute force.

mod common;

use ems::optimize::pmedian;
use ems::optimize::{Instance, SiteOptions, SolveOptions, orlib};
use proptest::prelude::*;

/// Branch-and-bound nodes per OR-Library instance (a budget, not a time limit, so the answer is
/// the same on any machine). Every instance is proven in under 100 nodes.
const NODE_BUDGET: u64 = 5_000;

#[test]
fn orlib_pmed_instances_reach_known_optima() {
    let Some(dir) = common::shared("orlib-pmed") else {
        return;
    };
    let optima = orlib::read_optima(&std::fs::read_to_string(dir.join("pmedopt.txt")).unwrap());
    let mut names: Vec<&String> = optima.keys().collect();
    names.sort_by_key(|n| n[4..].parse::<u32>().unwrap());
    assert_eq!(names.len(), 27);
    let only = std::env::var("PMED").ok();
    let mut proven = 0;
    for name in names {
        if only.as_ref().is_some_and(|o| o != name) {
            continue;
        }
        let inst = orlib::read_pmed(&dir.join(format!("{name}.txt"))).unwrap();
        let opts = SiteOptions {
            solve: SolveOptions::nodes(NODE_BUDGET),
            ..SiteOptions::new(inst.p)
        };
        let s = pmedian::solve(&inst.instance, &opts).unwrap();
        let opt = optima[name];
        println!(
            "{name}: n {} p {} objective {} (heuristic {}) bound {} root {} optimal {} nodes {} {:.2} s",
            inst.instance.n(),
            inst.p,
            s.cert.objective,
            s.heuristic_objective,
            s.cert.bound,
            s.root_bound,
            s.cert.optimal,
            s.cert.nodes,
            s.cert.seconds
        );
        assert_eq!(s.open.len(), inst.p);
        assert_eq!(pmedian::evaluate(&inst.instance, &s.open), s.cert.objective);
        assert_eq!(s.cert.objective, opt, "{name}: objective");
        // The bound is valid: the reported gap is at least the true gap (0 here).
        assert!(
            s.cert.bound <= opt + 1e-9,
            "{name}: bound {} above the optimum {opt}",
            s.cert.bound
        );
        if s.cert.optimal {
            assert_eq!(s.cert.bound, opt);
            proven += 1;
        }
    }
    println!("{proven} proven optimal");
}

#[test]
fn orlib_costs_equal_floyd_warshall() {
    let Some(dir) = common::shared("orlib-pmed") else {
        return;
    };
    let path = dir.join("pmed1.txt");
    let inst = orlib::read_pmed(&path).unwrap().instance;
    // Oracle: petgraph's Floyd-Warshall on the last-wins edge costs.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let n: usize = lines
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut last = std::collections::HashMap::new();
    for l in lines {
        let f: Vec<u64> = l.split_whitespace().map(|x| x.parse().unwrap()).collect();
        if f.len() == 3 {
            last.insert((f[0].min(f[1]) - 1, f[0].max(f[1]) - 1), f[2]);
        }
    }
    let mut g = petgraph::graph::UnGraph::<(), u64>::new_undirected();
    for _ in 0..n {
        g.add_node(());
    }
    for ((a, b), c) in &last {
        g.add_edge((*a as u32).into(), (*b as u32).into(), *c);
    }
    let fw = petgraph::algo::floyd_warshall(&g, |e| *e.weight()).unwrap();
    for i in 0..n {
        for j in 0..n {
            assert_eq!(
                inst.c(j, i),
                fw[&((i as u32).into(), (j as u32).into())] as f64
            );
        }
    }
}

fn tiny() -> impl Strategy<Value = (Instance, usize, Vec<usize>)> {
    (2usize..9, 2usize..8).prop_flat_map(|(n, m)| {
        (
            prop::collection::vec(0u32..20, n),
            prop::collection::vec(prop::option::weighted(0.9, 0u32..100), n * m),
            1..=m,
            prop::collection::vec(0..m, 0..2),
        )
            .prop_map(move |(w, c, p, fixed)| {
                let mut fixed: Vec<usize> = fixed;
                fixed.sort_unstable();
                fixed.dedup();
                fixed.truncate(p);
                let cost = c
                    .into_iter()
                    .map(|x| x.map_or(f64::INFINITY, f64::from))
                    .collect();
                (
                    Instance {
                        weights: w.into_iter().map(f64::from).collect(),
                        m,
                        cost,
                    },
                    p,
                    fixed,
                )
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Solver = brute force on tiny instances (with unreachable pairs and fixed sites).
    #[test]
    fn pmedian_equals_brute_force((inst, p, fixed) in tiny()) {
        let mut o = SiteOptions::new(p);
        o.fixed_open = fixed.clone();
        match pmedian::solve(&inst, &o) {
            Ok(s) => {
                let (best, _) = pmedian::brute_force(&inst, p, &fixed);
                prop_assert!(s.cert.optimal);
                prop_assert!((s.cert.objective - best).abs() < 1e-6, "solver {} brute {}", s.cert.objective, best);
                prop_assert!(s.cert.bound <= best + 1e-6);
                for f in &fixed {
                    prop_assert!(s.open.contains(f));
                }
            }
            Err(ems::optimize::OptimizeError::Infeasible { uncovered, proven, .. }) => {
                let (best, open) = pmedian::brute_force(&inst, p, &fixed);
                prop_assert!(proven);
                prop_assert!(best.is_infinite(), "brute force found {best} with {open:?}");
                prop_assert!(!uncovered.is_empty());
            }
            Err(ems::optimize::OptimizeError::Unreachable(zones)) => {
                for i in zones {
                    prop_assert!((0..inst.m).all(|j| !inst.c(j, i).is_finite()));
                }
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}
