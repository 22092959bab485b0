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

use std::time::Duration;

use serde::Serialize;

use super::OptimizeError;
use super::mclp::{Coverage, solve_levels};
use super::pmedian::Options;

/// What to place and under which busy fraction.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetOptions {
    /// Ambulances to place, `N`.
    pub ambulances: usize,
    /// The busy fraction `q`, in `[0, 1)`.
    pub busy: f64,
    /// The most ambulances one site may hold (`None`: no limit).
    pub max_per_site: Option<usize>,
    /// Ambulances that must stay at each site (empty: none).
    pub min_per_site: Vec<usize>,
    /// Stop branch and bound after this long.
    pub time_limit: Duration,
    pub seed: u64,
    pub restarts: usize,
}

impl FleetOptions {
    /// Defaults: no per-site limits, 60 s, seed 1, 8 restarts.
    pub fn new(ambulances: usize, busy: f64) -> FleetOptions {
        FleetOptions {
            ambulances,
            busy,
            max_per_site: None,
            min_per_site: Vec::new(),
            time_limit: Duration::from_secs(60),
            seed: 1,
            restarts: 8,
        }
    }
}

/// Ambulances per site with the certificate (in expected covered demand).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetSolution {
    /// Ambulances at each candidate site.
    pub per_site: Vec<usize>,
    /// Expected covered demand, `Σ_i w_i (1 − q^{c_i})`.
    pub objective: f64,
    /// Proven upper bound on it.
    pub bound: f64,
    /// `(bound − objective) / bound`, percent.
    pub gap_pct: f64,
    pub optimal: bool,
    pub total_demand: f64,
    pub busy: f64,
    pub nodes: u64,
    pub seconds: f64,
}

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

/// The most ambulances each site may hold, after checking the options.
fn capacities(cov: &Coverage, o: &FleetOptions) -> Result<Vec<usize>, OptimizeError> {
    let (m, n_amb) = (cov.m, o.ambulances);
    if !(o.busy.is_finite() && (0.0..1.0).contains(&o.busy)) {
        return Err(OptimizeError::Invalid(format!(
            "busy fraction {} must be in [0, 1)",
            o.busy
        )));
    }
    if m == 0 {
        return Err(OptimizeError::BadP { p: n_amb, m });
    }
    if n_amb == 0 {
        return Err(OptimizeError::Invalid("no ambulances to place".into()));
    }
    if cov.covers.len() != cov.weights.len() * m {
        return Err(OptimizeError::Invalid(format!(
            "coverage matrix has {} entries, expected {m} x {}",
            cov.covers.len(),
            cov.weights.len()
        )));
    }
    if let Some(i) = cov
        .weights
        .iter()
        .position(|w| !(w.is_finite() && *w >= 0.0))
    {
        return Err(OptimizeError::Invalid(format!(
            "weight of demand {i} is {}",
            cov.weights[i]
        )));
    }
    let cap = o.max_per_site.unwrap_or(n_amb).min(n_amb);
    if cap * m < n_amb {
        return Err(OptimizeError::Invalid(format!(
            "{m} sites holding at most {cap} ambulances each cannot take {n_amb}"
        )));
    }
    let mut caps = vec![cap; m];
    if !o.min_per_site.is_empty() {
        if o.min_per_site.len() != m {
            return Err(OptimizeError::Invalid(format!(
                "{} minimums given for {m} sites",
                o.min_per_site.len()
            )));
        }
        let fixed: usize = o.min_per_site.iter().sum();
        if fixed > n_amb {
            return Err(OptimizeError::TooManyFixed { fixed, p: n_amb });
        }
        for (c, &lo) in caps.iter_mut().zip(&o.min_per_site) {
            *c = (*c).max(lo);
        }
    }
    Ok(caps)
}

/// Solves the MEXCLP (see the module docs).
pub fn solve(cov: &Coverage, o: &FleetOptions) -> Result<FleetSolution, OptimizeError> {
    let t0 = std::time::Instant::now();
    let caps = capacities(cov, o)?;
    let n = cov.weights.len();
    let q = o.busy;
    // Level values (1 − q) q^k, k < N, without trailing zeros (q = 0 is the MCLP).
    let mut profile: Vec<f64> = (0..o.ambulances)
        .map(|k| (1.0 - q) * q.powi(k as i32))
        .collect();
    while profile.len() > 1 && profile.last() == Some(&0.0) {
        profile.pop();
    }
    // Slots: copies of each site, consecutive.
    let mut slot_site = Vec::new();
    let mut group = Vec::new();
    let mut fixed = Vec::new();
    for (j, &c) in caps.iter().enumerate() {
        let lo = o.min_per_site.get(j).copied().unwrap_or(0);
        for k in 0..c {
            if k < lo {
                fixed.push(slot_site.len());
            }
            slot_site.push(j);
            group.push(j as u32);
        }
    }
    let ms = slot_site.len();
    let mut covers = vec![false; ms * n];
    for (s, &j) in slot_site.iter().enumerate() {
        covers[s * n..(s + 1) * n].copy_from_slice(&cov.covers[j * n..(j + 1) * n]);
    }
    let slots = Coverage {
        weights: cov.weights.clone(),
        m: ms,
        covers,
    };
    let opts = Options {
        p: o.ambulances,
        fixed_open: fixed,
        time_limit: o.time_limit,
        seed: o.seed,
        restarts: o.restarts,
    };
    let (open, bound, optimal, nodes) = solve_levels(&slots, &profile, &group, &opts)?;
    let mut per_site = vec![0; cov.m];
    for s in open {
        per_site[slot_site[s]] += 1;
    }
    let objective = expected_covered(cov, &per_site, q);
    let total: f64 = cov.weights.iter().sum();
    let bound = if optimal {
        objective
    } else {
        bound.max(objective).min(total)
    };
    Ok(FleetSolution {
        per_site,
        objective,
        bound,
        gap_pct: if bound > 0.0 {
            ((bound - objective) / bound * 100.0).max(0.0)
        } else {
            0.0
        },
        optimal,
        total_demand: total,
        busy: q,
        nodes,
        seconds: t0.elapsed().as_secs_f64(),
    })
}
