//! Ambulance placement models (MEXCLP, backup coverage) against brute force on tiny random
//! instances, and their bad input.

use ems::optimize::OptimizeError;
use ems::optimize::backup::{self, DoubleCoverage};
use ems::optimize::fleet::FleetOptions;
use ems::optimize::mclp::Coverage;
use ems::optimize::mexclp;
use proptest::prelude::*;

/// Every way to put `left` ambulances on sites `j..`, within `[lo, hi]` per site.
fn placements(lo: &[usize], hi: &[usize], total: usize) -> Vec<Vec<usize>> {
    fn rec(j: usize, left: usize, x: &mut Vec<usize>, hi: &[usize], out: &mut Vec<Vec<usize>>) {
        if j == x.len() {
            if left == 0 {
                out.push(x.clone());
            }
            return;
        }
        let base = x[j];
        for extra in 0..=left.min(hi[j].saturating_sub(base)) {
            x[j] = base + extra;
            rec(j + 1, left - extra, x, hi, out);
        }
        x[j] = base;
    }
    let mut out = Vec::new();
    let fixed: usize = lo.iter().sum();
    if fixed <= total {
        rec(0, total - fixed, &mut lo.to_vec(), hi, &mut out);
    }
    out
}

/// How many ambulances at open sites cover each demand point.
fn counts(cov: &Coverage, x: &[usize]) -> Vec<usize> {
    let n = cov.weights.len();
    (0..n)
        .map(|i| {
            (0..cov.m)
                .filter(|&j| cov.covers[j * n + i])
                .map(|j| x[j])
                .sum()
        })
        .collect()
}

fn tiny_cov() -> impl Strategy<Value = Coverage> {
    (2usize..8, 2usize..6).prop_flat_map(|(n, m)| {
        (
            prop::collection::vec(0u32..40, n),
            prop::collection::vec(prop::bool::weighted(0.35), n * m),
        )
            .prop_map(move |(w, covers)| Coverage {
                weights: w.into_iter().map(f64::from).collect(),
                m,
                covers,
            })
    })
}

fn mexclp_case() -> impl Strategy<Value = (Coverage, (FleetOptions, f64))> {
    tiny_cov().prop_flat_map(|cov| {
        let m = cov.m;
        (
            Just(cov),
            1usize..6,
            prop::sample::select(vec![0.0, 0.05, 0.2, 0.35, 0.5, 0.7, 0.9]),
            prop::option::of(1usize..4),
            prop::collection::vec(prop::sample::select(vec![0usize, 0, 0, 1]), m),
        )
            .prop_filter_map("limits must hold the fleet", |(cov, n, q, cap, lo)| {
                let m = cov.m;
                let c = cap.unwrap_or(n).min(n);
                if c * m < n || lo.iter().sum::<usize>() > n || lo.iter().any(|&l| l > c) {
                    return None;
                }
                let mut o = FleetOptions::new(n);
                o.max_per_site = cap;
                o.min_per_site = lo;
                Some((cov, (o, q)))
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn mexclp_equals_brute_force((cov, (o, q)) in mexclp_case()) {
        let m = cov.m;
        let cap = o.max_per_site.unwrap_or(o.ambulances).min(o.ambulances);
        let mut best = f64::NEG_INFINITY;
        for x in placements(&o.min_per_site, &vec![cap; m], o.ambulances) {
            let v: f64 = counts(&cov, &x)
                .iter()
                .zip(&cov.weights)
                .map(|(&c, w)| w * (1.0 - q.powi(c as i32)))
                .sum();
            best = best.max(v);
        }
        let s = mexclp::solve(&cov, q, &o).unwrap();
        prop_assert!(s.cert.optimal, "not proven: {s:?}");
        prop_assert!((s.cert.objective - best).abs() <= 1e-9 * best.max(1.0), "{} vs brute {best}", s.cert.objective);
        prop_assert!(s.cert.bound >= best - 1e-9 * best.max(1.0));
        prop_assert_eq!(s.per_site.iter().sum::<usize>(), o.ambulances);
        for j in 0..m {
            prop_assert!(s.per_site[j] <= cap && s.per_site[j] >= o.min_per_site[j]);
        }
    }
}

#[test]
fn busy_fraction_follows_call_volume_and_job_time() {
    // 2 calls an hour, 1.5 h each, 10 ambulances: 30 % busy.
    let q = mexclp::busy_fraction(2.0, 1.5, 10).unwrap();
    assert!((q - 0.3).abs() < 1e-12);
    assert!(matches!(
        mexclp::busy_fraction(8.0, 1.5, 10),
        Err(OptimizeError::Invalid(m)) if m.contains("needs more than 10 ambulances")
    ));
    assert!(mexclp::busy_fraction(1.0, 1.0, 0).is_err());
    assert!(mexclp::busy_fraction(-1.0, 1.0, 3).is_err());
}

#[test]
fn mexclp_spreads_ambulances_as_busy_fraction_grows() {
    // One big town covered by sites 0 and 1, a small village only by site 2.
    let cov = Coverage {
        weights: vec![1000.0, 100.0],
        m: 3,
        covers: vec![true, false, true, false, false, true],
    };
    // Nobody busy: one ambulance in town is as good as two, so the village gets one.
    let s = mexclp::solve(&cov, 0.0, &FleetOptions::new(2)).unwrap();
    assert_eq!(s.per_site.iter().filter(|&&x| x > 0).count(), 2);
    assert_eq!(s.per_site[2], 1);
    // Busy 50 %: a second ambulance in town adds 1000 × 0.25 = 250 > the village's 50.
    let s = mexclp::solve(&cov, 0.5, &FleetOptions::new(2)).unwrap();
    assert_eq!(s.per_site[2], 0);
    assert!((s.cert.objective - 750.0).abs() < 1e-9);
}

#[test]
fn mexclp_bad_input_is_an_error() {
    let cov = Coverage {
        weights: vec![1.0, 2.0],
        m: 2,
        covers: vec![true, false, false, true],
    };
    let err = |o: FleetOptions, q: f64| mexclp::solve(&cov, q, &o).unwrap_err().to_string();
    assert!(err(FleetOptions::new(0), 0.2).contains("no ambulances"));
    assert!(err(FleetOptions::new(2), 1.0).contains("[0, 1)"));
    assert!(err(FleetOptions::new(2), f64::NAN).contains("[0, 1)"));
    let mut o = FleetOptions::new(5);
    o.max_per_site = Some(2);
    assert!(err(o, 0.2).contains("cannot take 5"));
    let mut o = FleetOptions::new(2);
    o.min_per_site = vec![2, 1];
    assert!(err(o, 0.2).contains("fixed open"));
    let mut o = FleetOptions::new(2);
    o.min_per_site = vec![1];
    assert!(err(o, 0.2).contains("1 minimums given for 2 sites"));
    let bad = Coverage {
        weights: vec![-1.0, 2.0],
        ..cov.clone()
    };
    assert!(mexclp::solve(&bad, 0.1, &FleetOptions::new(1)).is_err());
}

fn dsm_case() -> impl Strategy<Value = (DoubleCoverage, FleetOptions, f64)> {
    (2usize..8, 2usize..6).prop_flat_map(|(n, m)| {
        (
            prop::collection::vec(prop::sample::select(vec![0u32, 1, 4, 9, 20]), n),
            prop::collection::vec(prop::bool::weighted(0.6), n * m),
            prop::collection::vec(prop::bool::weighted(0.5), n * m),
            1usize..6,
            prop::option::of(1usize..3),
            prop::sample::select(vec![0.0, 0.5, 0.8, 0.95, 1.0]),
        )
            .prop_filter_map(
                "limits must hold the fleet",
                move |(w, far, keep, amb, cap, alpha)| {
                    if cap.unwrap_or(amb).min(amb) * m < amb {
                        return None;
                    }
                    let near = far.iter().zip(&keep).map(|(f, k)| *f && *k).collect();
                    let mut o = FleetOptions::new(amb);
                    o.max_per_site = cap;
                    Some((
                        DoubleCoverage {
                            weights: w.into_iter().map(f64::from).collect(),
                            m,
                            near,
                            far,
                        },
                        o,
                        alpha,
                    ))
                },
            )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn backup_coverage_equals_brute_force((dc, o, alpha) in dsm_case()) {
        let (n, m) = (dc.weights.len(), dc.m);
        let total: f64 = dc.weights.iter().sum();
        let cap = o.max_per_site.unwrap_or(o.ambulances).min(o.ambulances);
        let mut best: Option<f64> = None;
        for x in placements(&vec![0; m], &vec![cap; m], o.ambulances) {
            let count = |c: &[bool], i: usize| -> usize {
                (0..m).filter(|&j| c[j * n + i]).map(|j| x[j]).sum()
            };
            let feasible_far = (0..n).all(|i| dc.weights[i] == 0.0 || count(&dc.far, i) >= 1);
            let single: f64 = (0..n).filter(|&i| count(&dc.near, i) >= 1).map(|i| dc.weights[i]).sum();
            let double: f64 = (0..n).filter(|&i| count(&dc.near, i) >= 2).map(|i| dc.weights[i]).sum();
            if feasible_far && single >= alpha * total - 1e-9 {
                best = Some(best.map_or(double, |b: f64| b.max(double)));
            }
        }
        match (backup::solve(&dc, alpha, &o), best) {
            (Ok(s), Some(b)) => {
                prop_assert!(s.cert.optimal, "not proven: {s:?}");
                prop_assert_eq!(s.cert.objective, b);
                prop_assert!(s.cert.bound >= b - 1e-9);
                prop_assert_eq!(s.per_site.iter().sum::<usize>(), o.ambulances);
                let a = dc.achieved(&s.per_site);
                prop_assert_eq!(a.uncovered, 0);
                prop_assert!(a.single >= alpha * total - 1e-9);
            }
            (Err(OptimizeError::DoubleStandard { proven, .. }), None) => prop_assert!(proven),
            (Err(OptimizeError::Infeasible { proven, .. }), None) => prop_assert!(proven),
            (got, want) => prop_assert!(false, "solver {got:?}, brute force {want:?}"),
        }
    }
}

#[test]
fn backup_coverage_bad_input_is_an_error() {
    let dc = DoubleCoverage {
        weights: vec![5.0, 3.0],
        m: 2,
        near: vec![true, false, false, false],
        far: vec![true, false, false, true],
    };
    let o = FleetOptions::new(2);
    assert!(
        backup::solve(&dc, 1.5, &o)
            .unwrap_err()
            .to_string()
            .contains("[0, 1]")
    );
    // Near but not far: the standards are the wrong way round.
    let swapped = DoubleCoverage {
        near: dc.far.clone(),
        far: dc.near.clone(),
        ..dc.clone()
    };
    let e = backup::solve(&swapped, 0.5, &o).unwrap_err().to_string();
    assert!(e.contains("secondary standard must be the wider"), "{e}");
    // Demand 1 is beyond the secondary standard of every site.
    let lonely = DoubleCoverage {
        far: vec![true, false, true, false],
        ..dc.clone()
    };
    assert_eq!(
        backup::solve(&lonely, 0.0, &o),
        Err(OptimizeError::Infeasible {
            p: 2,
            uncovered: vec![1],
            proven: true
        })
    );
    // Everyone within r2 of site 1, but only demand 0 (5 of 8) within r1 of anything: 95 %
    // cannot be met.
    let e = backup::solve(&dc, 0.95, &o).unwrap_err();
    assert!(
        matches!(&e, OptimizeError::DoubleStandard { proven: true, share_pct, .. } if (*share_pct - 62.5).abs() < 1e-9),
        "{e:?}"
    );
    assert!(e.to_string().contains("required: 95.0 %"), "{e}");
}
