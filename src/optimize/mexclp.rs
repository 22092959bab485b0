//! The maximum expected covering location problem (MEXCLP; Daskin 1983): how to spread `N`
//! ambulances over stations when each one is busy part of the time.
//!
//! This module owns the model, its busy fraction and its solution. It must not build coverage
//! (that comes from the travel-time matrix in [`super::plan`]) nor estimate call volumes from
//! files.
//!
//! # Model
//! Each ambulance is busy, independently, with probability `q`. Demand point `i` with `c_i`
//! ambulances within the standard finds one free with probability `1 − q^{c_i}`. MEXCLP maximises
//! the expected covered demand (Daskin 1983, *Transportation Science* 17(1), 48–70):
//!
//! `max Σ_i w_i Σ_{k=1..N} (1 − q) q^{k−1} y_ik`
//! s.t. `Σ_k y_ik ≤ Σ_{j ∈ N_i} x_j` for every `i`, `Σ_j x_j = N`,
//! `x_j ∈ {min_j, …, cap_j}` integer, `y_ik ∈ {0, 1}`,
//!
//! which equals `Σ_i w_i (1 − q^{c_i})` because the level values `(1 − q) q^{k−1}` decrease in
//! `k`. With `q = 0` it is the MCLP with `N` sites.
//!
//! # The busy fraction
//! Daskin's `q` is the system-wide share of time an ambulance is busy:
//! `q = calls per hour × mean job hours ÷ N` ([`busy_fraction`]). It is estimated from the call
//! volume and the job time, not fixed at 0.5. A `q` of 1 or more means the fleet cannot keep up
//! and is rejected.
//!
//! # Solver
//! Station `j` becomes `cap_j` interchangeable slots (ambulance 1, 2, … at `j`), and the
//! multiple-coverage solver of [`super::mclp`] opens `N` slots with the level values above:
//! greedy and swap local search with a fixed seed for the solution; for the bound, the
//! Lagrangian relaxation of the linking constraints with multipliers `μ ≥ 0`,
//! `UB(μ) = Σ_i Σ_k max(0, w_i (1 − q) q^{k−1} − μ_i) + max_x Σ_j x_j Σ_{i ∈ cover(j)} μ_i`;
//! then branch and bound in which a station's copies open in order, so a branch is
//! `x_j ≥ k + 1` against `x_j ≤ k`.

use super::fleet::{FleetOptions, FleetSolution, Slots, check_weights};
use super::mclp::{Coverage, solve_levels};
use super::{Certificate, OptimizeError};

/// `q = calls per hour × mean job hours ÷ fleet`; an error unless `0 <= q < 1`.
pub fn busy_fraction(
    calls_per_hour: f64,
    job_hours: f64,
    fleet: usize,
) -> Result<f64, OptimizeError> {
    if !(calls_per_hour.is_finite() && calls_per_hour >= 0.0) {
        return Err(OptimizeError::Invalid(format!(
            "call rate {calls_per_hour} per hour must be a non-negative number"
        )));
    }
    if !(job_hours.is_finite() && job_hours >= 0.0) {
        return Err(OptimizeError::Invalid(format!(
            "mean job time {job_hours} h must be a non-negative number"
        )));
    }
    if fleet == 0 {
        return Err(OptimizeError::Invalid("the fleet has no ambulances".into()));
    }
    let q = calls_per_hour * job_hours / fleet as f64;
    if q >= 1.0 {
        return Err(OptimizeError::Invalid(format!(
            "busy fraction {q:.3} >= 1: {calls_per_hour:.3} calls/h x {job_hours:.3} h per job \
             needs more than {fleet} ambulances"
        )));
    }
    Ok(q)
}

/// Expected covered demand of a placement: `Σ_i w_i (1 − q^{c_i})`.
pub fn expected_covered(cov: &Coverage, per_site: &[usize], q: f64) -> f64 {
    let n = cov.weights.len();
    (0..n)
        .map(|i| {
            let c: usize = (0..cov.m)
                .filter(|&j| cov.covers[j * n + i])
                .map(|j| per_site[j])
                .sum();
            cov.weights[i] * (1.0 - q.powi(c as i32))
        })
        .sum()
}

/// Solves the MEXCLP with busy fraction `q` (see the module docs).
pub fn solve(cov: &Coverage, q: f64, o: &FleetOptions) -> Result<FleetSolution, OptimizeError> {
    let t0 = std::time::Instant::now();
    if !(q.is_finite() && (0.0..1.0).contains(&q)) {
        return Err(OptimizeError::Invalid(format!(
            "busy fraction {q} must be in [0, 1)"
        )));
    }
    let slots = Slots::new(cov.m, o)?;
    check_weights(&cov.weights)?;
    // Level values (1 − q) q^k, k < N, without trailing zeros (q = 0 is the MCLP).
    let mut profile: Vec<f64> = (0..o.ambulances)
        .map(|k| (1.0 - q) * q.powi(k as i32))
        .collect();
    while profile.len() > 1 && profile.last() == Some(&0.0) {
        profile.pop();
    }
    let expanded = Coverage {
        weights: cov.weights.clone(),
        m: slots.site.len(),
        covers: slots.expand(&cov.covers, cov.weights.len())?,
    };
    let (open, bound, optimal, nodes) =
        solve_levels(&expanded, &profile, &slots.group, &slots.options(o))?;
    let per_site = slots.per_site(&open);
    let objective = expected_covered(cov, &per_site, q);
    let total: f64 = cov.weights.iter().sum();
    let bound = if optimal {
        objective
    } else {
        bound.max(objective).min(total)
    };
    Ok(FleetSolution {
        per_site,
        cert: Certificate::new(objective, bound, optimal, nodes, t0),
        total_demand: total,
    })
}
