//! MCLP: every São José dos Campos instance/radius/p combination against the exactly computed
//! reference optima, and tiny random instances against brute force.

mod common;

use ems::optimize::mclp::{self, Coverage};
use ems::optimize::{SiteOptions, SolveOptions};
use proptest::prelude::*;

/// Branch-and-bound nodes per SJC instance: about 10 s on the largest (SJC818, p = 8-12),
/// which then stop with a certified gap; every other combination is proven well within it.
const SJC_NODE_BUDGET: u64 = 2_000;

#[test]
fn sjc_instances_reach_reference_optima() {
    let Some(dir) = common::shared("mclp-sjc") else {
        return;
    };
    let refs = std::fs::read_to_string(dir.join("COMPUTED_reference_optima.csv")).unwrap();
    let mut cache = std::collections::HashMap::new();
    let mut count = 0;
    let mut proven = 0;
    let t0 = std::time::Instant::now();
    for line in refs.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if std::env::var("SJC").is_ok_and(|v| v != f[0])
            || std::env::var("SJC_P").is_ok_and(|v| v != f[2])
        {
            continue;
        }
        let (name, radius, p, opt, total) = (
            f[0],
            f[1].parse::<f64>().unwrap(),
            f[2].parse::<usize>().unwrap(),
            f[3].parse::<f64>().unwrap(),
            f[4].parse::<f64>().unwrap(),
        );
        let inst = cache
            .entry(name.to_string())
            .or_insert_with(|| mclp::read_lorena(&dir.join(format!("{name}.txt"))).unwrap());
        let cov = inst.coverage(radius);
        // A node budget, not a time limit: the same answer on any machine.
        let opts = SiteOptions {
            solve: SolveOptions::nodes(SJC_NODE_BUDGET),
            ..SiteOptions::new(p)
        };
        let s = mclp::solve(&cov, &opts).unwrap();
        println!(
            "{name} S={radius} p={p}: covered {} bound {} optimal {} nodes {} {:.2} s",
            s.cert.objective, s.cert.bound, s.cert.optimal, s.cert.nodes, s.cert.seconds
        );
        assert_eq!(s.total_demand, total, "{name}");
        assert_eq!(cov.covered(&s.open), s.cert.objective);
        assert_eq!(
            s.cert.objective, opt,
            "{name} S={radius} p={p}: covered {} vs reference {opt} (bound {})",
            s.cert.objective, s.cert.bound
        );
        assert!(
            s.cert.bound >= opt - 1e-9,
            "{name} S={radius} p={p}: bound {} below the optimum",
            s.cert.bound
        );
        if s.cert.optimal {
            proven += 1;
        }
        count += 1;
    }
    println!(
        "{count} combinations, {proven} proven optimal, {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    if std::env::var("SJC").is_err() {
        assert_eq!(count, 78);
    }
}

fn tiny() -> impl Strategy<Value = (Coverage, usize)> {
    (2usize..10, 2usize..8).prop_flat_map(|(n, m)| {
        (
            prop::collection::vec(0u32..50, n),
            prop::collection::vec(prop::bool::weighted(0.3), n * m),
            1..=m,
        )
            .prop_map(move |(w, covers, p)| {
                (
                    Coverage {
                        weights: w.into_iter().map(f64::from).collect(),
                        m,
                        covers,
                    },
                    p,
                )
            })
    })
}

fn brute(cov: &Coverage, p: usize) -> f64 {
    let m = cov.m;
    let mut best = 0.0f64;
    for mask in 0u32..(1 << m) {
        if mask.count_ones() as usize == p {
            let open: Vec<usize> = (0..m).filter(|j| mask >> j & 1 == 1).collect();
            best = best.max(cov.covered(&open));
        }
    }
    best
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn mclp_equals_brute_force((cov, p) in tiny()) {
        let s = mclp::solve(&cov, &SiteOptions::new(p)).unwrap();
        let b = brute(&cov, p);
        prop_assert!(s.cert.optimal);
        prop_assert_eq!(s.cert.objective, b);
        prop_assert!(s.cert.bound >= b - 1e-9);
        prop_assert_eq!(s.open.len(), p);
    }
}

#[test]
fn solve_instance_cli() {
    let Some(dir) = common::shared("mclp-sjc") else {
        return;
    };
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ems"))
            .args(args)
            .output()
            .unwrap()
    };
    let file = dir.join("SJC324.txt");
    let o = run(&[
        "solve-instance",
        "--format",
        "lorena-mclp",
        file.to_str().unwrap(),
        "--p",
        "2",
        "--radius",
        "1200",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["objective"], 11555.0);
    assert_eq!(v["optimal"], true);
    assert_eq!(v["sites"].as_array().unwrap().len(), 2);
    for key in ["bound", "gap_pct", "seconds", "total_demand"] {
        assert!(v.get(key).is_some(), "{key}");
    }
    let o = run(&[
        "solve-instance",
        "--format",
        "lorena-mclp",
        file.to_str().unwrap(),
        "--p",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--radius"));
    let o = run(&[
        "solve-instance",
        "--format",
        "orlib-pmed",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "an MCLP file is not a p-median file"
    );
    let pmed = common::shared("orlib-pmed/pmed1.txt").unwrap();
    let o = run(&[
        "solve-instance",
        "--format",
        "orlib-pmed",
        pmed.to_str().unwrap(),
        "--p",
        "101",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("p = 101"));
}
