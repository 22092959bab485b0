//! The maximal covering location problem (MCLP; Church & ReVelle 1974).
//!
//! Choose `p` sites maximising the demand within the coverage standard of an open site:
//! `max Σ_i w_i y_i` s.t. `y_i ≤ Σ_{j ∈ N_i} x_j`, `Σ_j x_j = p`.
//!
//! # Solver
//! Everything runs on sparse coverage lists (site → demand points it covers, and back), so an
//! iteration costs the number of covering pairs, not `n × m`.
//! - **Lower bound** (a solution): greedy by marginal coverage, then swap local search (fast
//!   interchange: for each entering site, the demand it newly covers and the sole-covered
//!   demand of every leaving site price all swaps in one pass), restarted from randomised
//!   greedy solutions with a fixed seed.
//! - **Upper bound**: Lagrangian relaxation of the coverage constraints `y_i ≤ Σ_{j ∈ N_i} x_j`
//!   with multipliers `μ ≥ 0` (Galvão & ReVelle 1996):
//!   `UB(μ) = Σ_i max(0, w_i − μ_i) + Σ_{j ∈ S(μ)} s_j`, `s_j = Σ_{i ∈ cover(j)} μ_i`, `S(μ)`
//!   the fixed sites plus the largest remaining `s_j`; subgradient optimisation with the step
//!   `θ (UB − LB) / ‖g‖²`. Each relaxed solution is also tried as a heuristic.
//! - **Branch and bound** on the site variables, depth first, with the bound at every node and
//!   Lagrangian fixing (a site whose flipped choice cannot beat the incumbent is fixed). With
//!   integer demand, bounds round down. At the time limit the reported bound is the largest
//!   bound among the open nodes.
//!
//! This module also reads the Lorena & Pereira (São José dos Campos) benchmark format.

use std::path::Path;

use serde::Serialize;

use super::{Certificate, InstanceFileError, OptimizeError, SiteOptions};

mod solver;
pub(super) use solver::solve_levels;

/// An MCLP instance: demand weights, candidates, and who covers whom.
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    pub weights: Vec<f64>,
    pub m: usize,
    /// `covers[j * n + i]`: site `j` covers demand `i`.
    pub covers: Vec<bool>,
}

/// An MCLP solution with its certificate (in covered demand).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverSolution {
    pub open: Vec<usize>,
    /// The covered demand, a proven upper bound on it, and the gap `(bound − objective) /
    /// bound`.
    #[serde(flatten)]
    pub cert: Certificate,
    pub total_demand: f64,
}

impl Coverage {
    /// Coverage from a cost matrix (candidate-major) and a standard: covered when `cost <= standard`.
    pub fn from_costs(weights: Vec<f64>, m: usize, cost: &[f64], standard: f64) -> Coverage {
        Coverage {
            weights,
            m,
            covers: cost.iter().map(|c| *c <= standard).collect(),
        }
    }

    /// Covered demand of a set of open sites.
    pub fn covered(&self, open: &[usize]) -> f64 {
        let n = self.weights.len();
        (0..n)
            .filter(|&i| open.iter().any(|&j| self.covers[j * n + i]))
            .map(|i| self.weights[i])
            .sum()
    }
}

/// Solves an MCLP (see the module docs).
pub fn solve(cov: &Coverage, opts: &SiteOptions) -> Result<CoverSolution, OptimizeError> {
    solver::solve(cov, opts)
}

/// A Lorena & Pereira instance: planar points (metres) with demand; every point is a candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct LorenaInstance {
    pub points: Vec<[f64; 2]>,
    pub demand: Vec<f64>,
}

impl LorenaInstance {
    /// Coverage within `radius` metres (Euclidean, inclusive).
    pub fn coverage(&self, radius: f64) -> Coverage {
        let n = self.points.len();
        let mut covers = vec![false; n * n];
        for j in 0..n {
            for i in 0..n {
                let (a, b) = (self.points[j], self.points[i]);
                covers[j * n + i] =
                    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt() <= radius;
            }
        }
        Coverage {
            weights: self.demand.clone(),
            m: n,
            covers,
        }
    }
}

/// Reads the format: first line `N 9999 p S` (the last two may be literal tokens), then `N`
/// lines `x y demand`.
pub fn read_lorena(path: &Path) -> Result<LorenaInstance, InstanceFileError> {
    let (text, name) = super::read_instance_text(path)?;
    parse_lorena(&text, &name)
}

/// Parses the format from text.
pub fn parse_lorena(text: &str, path: &str) -> Result<LorenaInstance, InstanceFileError> {
    let err = |line: usize, message: String| InstanceFileError::Syntax {
        path: path.to_string(),
        line,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (hl, header) = lines.next().ok_or_else(|| err(1, "empty file".into()))?;
    let n: usize = header
        .split_whitespace()
        .next()
        .and_then(|x| x.parse().ok())
        .ok_or_else(|| {
            err(
                hl + 1,
                "the first field must be the number of points".into(),
            )
        })?;
    let mut inst = LorenaInstance {
        points: Vec::with_capacity(n),
        demand: Vec::with_capacity(n),
    };
    for (li, l) in lines {
        let f: Vec<f64> = l
            .split_whitespace()
            .map(|x| x.parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect::<Option<_>>()
            .ok_or_else(|| {
                err(
                    li + 1,
                    format!("expected `x y demand` numbers, got `{}`", l.trim()),
                )
            })?;
        if f.len() != 3 {
            return Err(err(
                li + 1,
                format!("expected `x y demand`, got {} fields", f.len()),
            ));
        }
        if f[2] < 0.0 {
            return Err(err(li + 1, format!("demand {} is negative", f[2])));
        }
        inst.points.push([f[0], f[1]]);
        inst.demand.push(f[2]);
    }
    if inst.points.len() != n {
        return Err(err(
            0,
            format!("header says {n} points, the file has {}", inst.points.len()),
        ));
    }
    Ok(inst)
}
