//! Compliance tables: the MEXCLP posting for each number of free units, ordered so that
//! consecutive levels move few units.
//!
//! This module owns the levels' computation on a coverage matrix. It must not build coverage
//! or read scenarios (that is [`super::plan::compliance_table`]) nor apply a table (that is
//! [`crate::dispatch::policy`]).
//!
//! # Levels
//! Level `k` (1..=N) places `k` units over the sites to maximise expected coverage
//! ([`super::mexclp`], busy fraction `q`), solved by branch and bound with its certified bound.
//! To keep relocations few, level `k` is level `k − 1` plus the one site that adds the most
//! ("nested"; among sites that add as much, the one holding fewer units), unless that loses
//! more than `tolerance` (a share) of the optimum's expected coverage; then it is the optimum. The gap of either is against the `k`-unit bound.
//! Cost: N MEXCLP solves, plus `O(N · m · n)` for the nested candidates.

use super::fleet::FleetOptions;
use super::mclp::Coverage;
use super::{OptimizeError, SolveOptions, mexclp};

/// One level: the site of each unit (those the previous level had first, in its order).
#[derive(Debug, Clone, PartialEq)]
pub struct Level {
    pub posts: Vec<usize>,
    pub expected: f64,
    pub bound: f64,
    pub gap_pct: f64,
    /// Units of the previous level that stand elsewhere in this one.
    pub moves_from_previous: usize,
}

/// The levels for 1..=`units` free units (see the module docs).
pub fn levels(
    cov: &Coverage,
    q: f64,
    units: usize,
    max_per_site: Option<usize>,
    solve: &SolveOptions,
    tolerance: f64,
) -> Result<Vec<Level>, OptimizeError> {
    if !(tolerance.is_finite() && (0.0..1.0).contains(&tolerance)) {
        return Err(OptimizeError::Invalid(format!(
            "the nesting tolerance {tolerance} must be a share in [0, 1)"
        )));
    }
    let m = cov.m;
    let mut out: Vec<Level> = Vec::with_capacity(units);
    let mut prev: Vec<usize> = Vec::new();
    for k in 1..=units {
        let o = FleetOptions {
            max_per_site,
            solve: solve.clone(),
            ..FleetOptions::new(k)
        };
        let sol = mexclp::solve(cov, q, &o)?;
        let mut per_prev = vec![0usize; m];
        for &s in &prev {
            per_prev[s] += 1;
        }
        // The previous level plus the best single site (ties: the site holding fewer units,
        // then the first, so equal sites share the units).
        let mut nested: Option<(f64, usize)> = None;
        for j in 0..m {
            if max_per_site.is_some_and(|c| per_prev[j] >= c) {
                continue;
            }
            per_prev[j] += 1;
            let v = mexclp::expected_covered(cov, &per_prev, q);
            per_prev[j] -= 1;
            let better = match nested {
                None => true,
                Some((bv, bj)) => v > bv + 1e-9 || (v > bv - 1e-9 && per_prev[j] < per_prev[bj]),
            };
            if better {
                nested = Some((v, j));
            }
        }
        let optimum = sol.cert.objective;
        let (per_site, expected) = match nested {
            Some((v, j)) if v >= optimum * (1.0 - tolerance) - 1e-9 => {
                let mut x = per_prev.clone();
                x[j] += 1;
                (x, v)
            }
            _ => (sol.per_site.clone(), optimum),
        };
        let mut left = per_site;
        let mut posts = Vec::with_capacity(k);
        for &s in &prev {
            if left[s] > 0 {
                left[s] -= 1;
                posts.push(s);
            }
        }
        let kept = posts.len();
        for (s, c) in left.iter().enumerate() {
            posts.extend(std::iter::repeat_n(s, *c));
        }
        let bound = sol.cert.bound.max(expected);
        out.push(Level {
            moves_from_previous: prev.len() - kept,
            expected,
            bound,
            gap_pct: super::gap_pct(expected, bound),
            posts: posts.clone(),
        });
        prev = posts;
    }
    Ok(out)
}
