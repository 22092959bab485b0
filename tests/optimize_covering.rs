//! LSCP and p-center against brute force on tiny random instances.

use ems::optimize::SiteOptions;
use ems::optimize::covering;
use ems::optimize::mclp::Coverage;
use ems::optimize::{Instance, OptimizeError};
use proptest::prelude::*;

fn subsets(m: usize, p: usize) -> impl Iterator<Item = Vec<usize>> {
    (0u32..(1 << m))
        .filter(move |mask| mask.count_ones() as usize == p)
        .map(move |mask| (0..m).filter(|j| mask >> j & 1 == 1).collect())
}

fn tiny() -> impl Strategy<Value = (Instance, usize)> {
    (2usize..8, 2usize..7).prop_flat_map(|(n, m)| {
        (
            prop::collection::vec(prop::sample::select(vec![0u32, 1, 5]), n),
            prop::collection::vec(prop::option::weighted(0.85, 0u32..30), n * m),
            1..=m,
        )
            .prop_map(move |(w, c, p)| {
                (
                    Instance {
                        weights: w.into_iter().map(f64::from).collect(),
                        m,
                        cost: c
                            .into_iter()
                            .map(|x| x.map_or(f64::INFINITY, f64::from))
                            .collect(),
                    },
                    p,
                )
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn lscp_equals_brute_force((inst, _p) in tiny(), radius in 0u32..30) {
        let n = inst.n();
        let cov = Coverage::from_costs(inst.weights.clone(), inst.m, &inst.cost, radius as f64);
        let need: Vec<usize> = (0..n).filter(|&i| inst.weights[i] > 0.0).collect();
        let covers_all = |open: &[usize]| need.iter().all(|&i| open.iter().any(|&j| cov.covers[j * n + i]));
        // Zero sites when nobody needs cover.
        let brute = (0..=inst.m).find(|&p| subsets(inst.m, p).any(|s| covers_all(&s)));
        match covering::lscp(&cov, &SiteOptions::new(1)) {
            Ok(s) => {
                prop_assert!(s.cert.optimal);
                prop_assert!(covers_all(&s.open));
                prop_assert_eq!(Some(s.p), brute);
            }
            Err(OptimizeError::Infeasible { uncovered, .. }) => {
                prop_assert!(brute.is_none());
                prop_assert!(!uncovered.is_empty());
            }
            Err(e) => prop_assert!(false, "{e}"),
        }
    }

    #[test]
    fn pcenter_equals_brute_force((inst, p) in tiny()) {
        let n = inst.n();
        let need: Vec<usize> = (0..n).filter(|&i| inst.weights[i] > 0.0).collect();
        let worst = |open: &[usize]| need.iter().map(|&i| open.iter().map(|&j| inst.c(j, i)).fold(f64::INFINITY, f64::min)).fold(0.0, f64::max);
        let brute = subsets(inst.m, p).map(|s| worst(&s)).fold(f64::INFINITY, f64::min);
        match covering::pcenter(&inst, &SiteOptions::new(p)) {
            Ok(s) => {
                prop_assert!(s.cert.optimal);
                prop_assert_eq!(s.cert.objective, brute);
                prop_assert_eq!(worst(&s.open), s.cert.objective);
            }
            Err(OptimizeError::Infeasible { .. }) => prop_assert!(brute.is_infinite()),
            Err(OptimizeError::Unreachable(_)) => prop_assert!(brute.is_infinite()),
            Err(OptimizeError::Invalid(_)) => prop_assert!(need.is_empty()),
            Err(e) => prop_assert!(false, "{e}"),
        }
    }
}
