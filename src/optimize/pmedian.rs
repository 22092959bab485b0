//! The p-median problem with a certified optimality gap.
//!
//! Choose `p` sites (some may be fixed open: existing stations) minimising the weighted sum of
//! each demand point's cost to its nearest open site: `min Σ_i w_i min_{j ∈ S} c_ij`,
//! `|S| = p`. With travel times as costs this is the population-weighted mean response time
//! (Hakimi 1964; ReVelle & Swain 1970).
//!
//! # Solvers
//! - **Upper bound**: greedy construction (Kuehn & Hamburger 1963), then local search by fast
//!   interchange (Whitaker 1983, in the form of Resende & Werneck 2007: for each candidate
//!   entering, one pass over the demand points prices every leaving site at once), restarted from
//!   randomised greedy solutions with a fixed seed, so results are deterministic.
//! - **Lower bound**: Lagrangian relaxation of the assignment constraints (Cornuéjols, Fisher &
//!   Nemhauser 1977; Beasley 1985/1993). For multipliers `λ`,
//!   `L(λ) = Σ_i λ_i + Σ_{j ∈ S(λ)} ρ_j` with `ρ_j = Σ_i min(0, w_i c_ij − λ_i)` and `S(λ)` the
//!   fixed sites plus the most negative remaining `ρ_j`; `λ` follows subgradient optimisation
//!   (Held, Wolfe & Crowder 1974) with the step `θ (UB − L) / ‖g‖²`, `θ` halved after 20
//!   iterations without improvement. Each Lagrangian solution is also tried as a heuristic.
//! - **Branch and bound** on the site variables, depth first, with the Lagrangian bound at every
//!   node (warm-started from the parent's multipliers) and Lagrangian reduced-cost fixing
//!   (a site whose forced inclusion or exclusion pushes the bound past the incumbent is fixed).
//!   It stops at the time limit; the reported bound is then the smallest bound of the open
//!   nodes, so the gap is always a valid certificate. With integer data, bounds round up.

use std::time::Instant;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

use super::bnb::{self, CLOSED, FREE, Limits, OPEN, Relaxation};
use super::{Certificate, Instance, OptimizeError, SiteOptions};

/// A solution with its certificate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Solution {
    /// Open sites, ascending (0-based candidate indices).
    pub open: Vec<usize>,
    /// The objective `Σ_i w_i min_{j ∈ open} c_ij`, a proven lower bound on the optimum and
    /// the gap `(objective − bound) / objective`.
    #[serde(flatten)]
    pub cert: Certificate,
    /// Lower bound at the root node.
    pub root_bound: f64,
    /// Objective of the heuristic before branch and bound.
    pub heuristic_objective: f64,
}

/// `Σ_i w_i min_{j ∈ open} c_ij` (infinite if some weighted demand point is unreachable).
pub fn evaluate(inst: &Instance, open: &[usize]) -> f64 {
    let n = inst.n();
    (0..n)
        .map(|i| {
            let d = open
                .iter()
                .map(|&j| inst.c(j, i))
                .fold(f64::INFINITY, f64::min);
            if inst.weights[i] == 0.0 {
                0.0
            } else {
                inst.weights[i] * d
            }
        })
        .sum()
}

/// Exhaustive search (for tests on tiny instances): the optimal objective and sites.
pub fn brute_force(inst: &Instance, p: usize, fixed: &[usize]) -> (f64, Vec<usize>) {
    let free: Vec<usize> = (0..inst.m).filter(|j| !fixed.contains(j)).collect();
    let k = p - fixed.len();
    let mut best = (f64::INFINITY, Vec::new());
    let mut pick: Vec<usize> = (0..k).collect();
    loop {
        let mut open: Vec<usize> = fixed.to_vec();
        open.extend(pick.iter().map(|&x| free[x]));
        let v = evaluate(inst, &open);
        if v < best.0 {
            open.sort_unstable();
            best = (v, open);
        }
        // Next k-combination of 0..free.len().
        let mut i = k;
        loop {
            if i == 0 {
                return best;
            }
            i -= 1;
            if pick[i] < free.len() - k + i {
                pick[i] += 1;
                for t in i + 1..k {
                    pick[t] = pick[t - 1] + 1;
                }
                break;
            }
        }
    }
}

/// The working data: weighted costs with unreachable pairs replaced by a large finite penalty.
struct Data {
    n: usize,
    m: usize,
    /// `w_i c_ij`, candidate-major.
    wc: Vec<f64>,
    integral: bool,
}

impl Data {
    #[inline]
    fn wc(&self, j: usize, i: usize) -> f64 {
        self.wc[j * self.n + i]
    }
}

/// Nearest and second-nearest open site of every demand point.
struct Assignment {
    d1: Vec<f64>,
    f1: Vec<usize>,
    d2: Vec<f64>,
}

fn assign(d: &Data, open: &[usize]) -> Assignment {
    let mut a = Assignment {
        d1: vec![f64::INFINITY; d.n],
        f1: vec![usize::MAX; d.n],
        d2: vec![f64::INFINITY; d.n],
    };
    for &j in open {
        for i in 0..d.n {
            let c = d.wc(j, i);
            if c < a.d1[i] {
                a.d2[i] = a.d1[i];
                a.d1[i] = c;
                a.f1[i] = j;
            } else if c < a.d2[i] {
                a.d2[i] = c;
            }
        }
    }
    a
}

fn total(a: &Assignment) -> f64 {
    a.d1.iter().sum()
}

/// Greedy construction from `start`; with `rng`, each step picks at random among the 3 best.
fn greedy(d: &Data, start: &[usize], p: usize, mut rng: Option<&mut ChaCha8Rng>) -> Vec<usize> {
    let mut open = start.to_vec();
    let mut is_open = vec![false; d.m];
    for &j in &open {
        is_open[j] = true;
    }
    let mut cur = if open.is_empty() {
        vec![f64::INFINITY; d.n]
    } else {
        assign(d, &open).d1
    };
    while open.len() < p {
        let mut scored: Vec<(f64, usize)> = (0..d.m)
            .filter(|j| !is_open[*j])
            .map(|j| {
                let v: f64 = (0..d.n).map(|i| cur[i].min(d.wc(j, i))).sum();
                (v, j)
            })
            .collect();
        scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let pick = match rng.as_deref_mut() {
            Some(r) => scored[r.random_range(0..scored.len().min(3))].1,
            None => scored[0].1,
        };
        is_open[pick] = true;
        open.push(pick);
        for (i, c) in cur.iter_mut().enumerate() {
            *c = c.min(d.wc(pick, i));
        }
    }
    open
}

/// Fast interchange local search: best improving swap until none improves.
fn local_search(d: &Data, open: &mut [usize], fixed: &[bool]) -> f64 {
    let mut a = assign(d, open);
    let mut is_open = vec![false; d.m];
    let mut pos = vec![usize::MAX; d.m];
    let mut adj = vec![0.0; open.len()];
    loop {
        for (k, &j) in open.iter().enumerate() {
            is_open[j] = true;
            pos[j] = k;
        }
        let scale = total(&a).abs().max(1.0);
        let mut best = (1e-9 * scale, usize::MAX, usize::MAX);
        for (jin, _) in is_open.iter().enumerate().filter(|(_, o)| !**o) {
            let mut gain = 0.0;
            adj.iter_mut().for_each(|x| *x = 0.0);
            for i in 0..d.n {
                let c = d.wc(jin, i);
                let (d1, d2) = (a.d1[i], a.d2[i]);
                let g = (d1 - c).max(0.0);
                gain += g;
                adj[pos[a.f1[i]]] += (d1 - d2.min(c)) - g;
            }
            for (k, &jout) in open.iter().enumerate() {
                if fixed[jout] {
                    continue;
                }
                let profit = gain + adj[k];
                if profit > best.0 {
                    best = (profit, jin, k);
                }
            }
        }
        if best.1 == usize::MAX {
            return total(&a);
        }
        is_open[open[best.2]] = false;
        open[best.2] = best.1;
        a = assign(d, open);
    }
}

struct Search {
    d: Data,
    limits: Limits,
    /// Sites fixed open by the caller (existing stations).
    fixed: Vec<bool>,
    ub: f64,
    incumbent: Vec<usize>,
    rho: Vec<f64>,
    order: Vec<usize>,
}

impl Search {
    /// `ceil` for integral data (with a little tolerance), identity otherwise.
    fn round_bound(&self, b: f64) -> f64 {
        if self.d.integral {
            (b - 1e-6).ceil()
        } else {
            b
        }
    }

    /// `L(λ)` and the chosen sites for a node; fills `self.rho` and `self.order`.
    fn lagrangian(&mut self, status: &[u8], lambda: &[f64]) -> Option<(f64, Vec<usize>)> {
        let d = &self.d;
        for (j, (r, st)) in self.rho.iter_mut().zip(status).enumerate() {
            *r = if *st == CLOSED {
                0.0
            } else {
                let col = &d.wc[j * d.n..(j + 1) * d.n];
                col.iter().zip(lambda).map(|(c, l)| (c - l).min(0.0)).sum()
            };
        }
        let p = self.limits.p;
        let forced: Vec<usize> = (0..d.m).filter(|&j| status[j] == OPEN).collect();
        if forced.len() > p {
            return None;
        }
        self.order.clear();
        self.order.extend((0..d.m).filter(|&j| status[j] == FREE));
        let k = p - forced.len();
        if self.order.len() < k {
            return None;
        }
        let rho = &self.rho;
        self.order
            .sort_by(|a, b| rho[*a].total_cmp(&rho[*b]).then(a.cmp(b)));
        let mut chosen = forced;
        chosen.extend(self.order.iter().take(k));
        let l = lambda.iter().sum::<f64>() + chosen.iter().map(|&j| self.rho[j]).sum::<f64>();
        Some((l, chosen))
    }
}

impl Relaxation for Search {
    const MAXIMISE: bool = false;
    const NONNEGATIVE: bool = false;

    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn relax(&mut self, status: &[u8], lambda: &[f64]) -> Option<(f64, Vec<usize>)> {
        self.lagrangian(status, lambda)
    }

    /// `g_i = 1 − |{j ∈ S : w_i c_ij < λ_i}|`: demand assigned to no chosen site pushes its
    /// multiplier up, demand assigned to several pushes it down.
    fn direction(&mut self, chosen: &[usize], lambda: &[f64], g: &mut [f64]) {
        for (i, gi) in g.iter_mut().enumerate() {
            let covered = chosen
                .iter()
                .filter(|&&j| self.d.wc(j, i) < lambda[i])
                .count() as f64;
            *gi = 1.0 - covered;
        }
    }

    fn step_gap(&self, bound: f64) -> f64 {
        (self.ub - bound).max(1e-9 * self.ub.abs().max(1.0))
    }

    fn tighten(&self, bound: f64, parent: f64) -> f64 {
        self.round_bound(bound.max(parent))
    }

    /// True when a subtree with this bound cannot hold a strictly better solution.
    fn prunes(&self, bound: f64) -> bool {
        if self.d.integral {
            self.round_bound(bound) >= self.ub - 1e-9
        } else {
            bound >= self.ub - 1e-9 * self.ub.abs().max(1.0)
        }
    }

    /// Lagrangian heuristic at the root and every 8th node: local search from the relaxation's
    /// choice of sites.
    fn heuristic(&mut self, status: &[u8], mult: &[f64], node: u64) {
        if (node == 1 || node.is_multiple_of(8))
            && let Some((_, mut chosen)) = self.lagrangian(status, mult)
        {
            let v = local_search(&self.d, &mut chosen, &self.fixed);
            if v < self.ub {
                self.try_solution(&chosen);
            }
        }
    }

    fn order(&self) -> &[usize] {
        &self.order
    }

    fn site_values(&self) -> &[f64] {
        &self.rho
    }

    fn try_solution(&mut self, open: &[usize]) {
        let v = total(&assign(&self.d, open));
        if v < self.ub {
            self.ub = v;
            let mut o = open.to_vec();
            o.sort_unstable();
            self.incumbent = o;
        }
    }

    /// The free chosen site with the most negative reduced cost.
    fn branch_site(&mut self, status: &[u8], mult: &[f64]) -> Option<usize> {
        let (_, chosen) = self.lagrangian(status, mult)?;
        chosen
            .into_iter()
            .filter(|&j| status[j] == FREE)
            .min_by(|a, b| self.rho[*a].total_cmp(&self.rho[*b]))
    }

    fn schedule(&self, node: u64) -> (usize, f64) {
        if node == 1 { (3000, 2.0) } else { (300, 0.5) }
    }
}

/// Solves a p-median instance: heuristic, Lagrangian bound, branch and bound.
pub fn solve(inst: &Instance, opts: &SiteOptions) -> Result<Solution, OptimizeError> {
    let t0 = Instant::now();
    inst.validate()?;
    let (n, m, p) = (inst.n(), inst.m, opts.p);
    if p == 0 || p > m {
        return Err(OptimizeError::BadP { p, m });
    }
    let mut fixed = vec![false; m];
    for &j in &opts.fixed_open {
        if j >= m {
            return Err(OptimizeError::BadFixed { site: j, m });
        }
        fixed[j] = true;
    }
    let fixed_list: Vec<usize> = (0..m).filter(|&j| fixed[j]).collect();
    if fixed_list.len() > p {
        return Err(OptimizeError::TooManyFixed {
            fixed: fixed_list.len(),
            p,
        });
    }
    // Unreachable pairs cost a penalty larger than any feasible total.
    let max_finite = inst
        .cost
        .iter()
        .filter(|c| c.is_finite())
        .fold(0.0f64, |a, b| a.max(*b));
    let penalty = (max_finite + 1.0) * (inst.weights.iter().sum::<f64>() + 1.0) * 10.0;
    let wc: Vec<f64> = (0..m)
        .flat_map(|j| (0..n).map(move |i| (j, i)))
        .map(|(j, i)| {
            let c = inst.c(j, i);
            inst.weights[i] * if c.is_finite() { c } else { penalty }
        })
        .collect();
    let d = Data {
        n,
        m,
        wc,
        integral: inst.is_integral(),
    };

    // Heuristic upper bound.
    let mut best_open = greedy(&d, &fixed_list, p, None);
    let mut ub = local_search(&d, &mut best_open, &fixed);
    let mut rng = ChaCha8Rng::seed_from_u64(opts.solve.seed);
    for _ in 0..opts.solve.restarts {
        let mut open = greedy(&d, &fixed_list, p, Some(&mut rng));
        let v = local_search(&d, &mut open, &fixed);
        if v < ub - 1e-9 {
            ub = v;
            best_open = open;
        }
    }
    best_open.sort_unstable();
    let heuristic_objective = ub;

    let mut s = Search {
        d,
        limits: Limits::new(p, t0, &opts.solve),
        ub,
        incumbent: best_open,
        fixed: fixed.clone(),
        rho: vec![0.0; m],
        order: Vec::with_capacity(m),
    };
    // Initial multipliers: each demand point's second-smallest weighted cost.
    let lambda0: Vec<f64> = (0..n)
        .map(|i| {
            let mut a = f64::INFINITY;
            let mut b = f64::INFINITY;
            for j in 0..m {
                let c = s.d.wc(j, i);
                if c < a {
                    b = a;
                    a = c;
                } else if c < b {
                    b = c;
                }
            }
            if b.is_finite() { b } else { a }
        })
        .collect();
    let root_status: Vec<u8> = (0..m).map(|j| if fixed[j] { OPEN } else { FREE }).collect();
    let out = bnb::search(&mut s, root_status, lambda0);
    let (nodes, root_bound) = (out.nodes, out.root_bound);
    let optimal = out.open_bound.is_none();
    let open_bound = out.open_bound.unwrap_or(f64::INFINITY);
    let objective = evaluate(inst, &s.incumbent);
    if !objective.is_finite() {
        let uncovered = (0..n)
            .filter(|&i| {
                inst.weights[i] > 0.0 && s.incumbent.iter().all(|&j| !inst.c(j, i).is_finite())
            })
            .collect();
        return Err(OptimizeError::Infeasible {
            p,
            uncovered,
            proven: optimal,
        });
    }
    let bound = if optimal { s.ub } else { open_bound.min(s.ub) };
    Ok(Solution {
        open: s.incumbent,
        cert: Certificate::new(objective, bound, optimal, nodes, t0),
        root_bound: root_bound.min(s.ub),
        heuristic_objective,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_instance() -> Instance {
        // Five points on a line at 0, 1, 2, 10, 11; every point a candidate.
        let x = [0.0f64, 1.0, 2.0, 10.0, 11.0];
        let cost = x
            .iter()
            .flat_map(|a| x.iter().map(move |b| (a - b).abs()))
            .collect();
        Instance {
            weights: vec![1.0; 5],
            m: 5,
            cost,
        }
    }

    #[test]
    fn two_medians_on_a_line() {
        let inst = line_instance();
        let s = solve(&inst, &SiteOptions::new(2)).unwrap();
        assert_eq!(s.cert.objective, 3.0);
        assert_eq!(s.open, vec![1, 3]);
        assert!(s.cert.optimal);
        assert_eq!(s.cert.bound, 3.0);
        assert_eq!(brute_force(&inst, 2, &[]).0, 3.0);
        // With site 0 fixed open, the best second site is 3 (or 4): 1 + 2 + 1 = 4.
        let mut o = SiteOptions::new(2);
        o.fixed_open = vec![0];
        let s = solve(&inst, &o).unwrap();
        assert_eq!(s.cert.objective, 4.0);
        assert!(s.open.contains(&0));
    }

    #[test]
    fn bad_input() {
        let inst = line_instance();
        assert_eq!(
            solve(&inst, &SiteOptions::new(6)).unwrap_err(),
            OptimizeError::BadP { p: 6, m: 5 }
        );
        assert_eq!(
            solve(&inst, &SiteOptions::new(0)).unwrap_err(),
            OptimizeError::BadP { p: 0, m: 5 }
        );
        let mut o = SiteOptions::new(1);
        o.fixed_open = vec![0, 1];
        assert!(matches!(
            solve(&inst, &o),
            Err(OptimizeError::TooManyFixed { .. })
        ));
        let mut bad = line_instance();
        for j in 0..5 {
            bad.cost[j * 5 + 2] = f64::INFINITY;
        }
        assert_eq!(
            solve(&bad, &SiteOptions::new(1)).unwrap_err(),
            OptimizeError::Unreachable(vec![2])
        );
    }
}
