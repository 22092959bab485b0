//! Backup coverage: the double standard model (DSM; Gendreau, Laporte & Semet 1997).
//!
//! This module owns the DSM and its solver. It must not build coverage (see [`super::plan`])
//! nor format output.
//!
//! # Model
//! Two standards `r1 ≤ r2` (e.g. 8 and 15 minutes). Place `N` ambulances so that every demand
//! point with people is within `r2` of one, a share `α` of the demand is within `r1` of one, and
//! as much demand as possible is within `r1` of **two** (a backup when the first is busy)
//! (Gendreau, Laporte & Semet 1997, *Parallel Computing* 23(11), 1997, 1655–1678):
//!
//! `max Σ_i w_i y²_i`
//! s.t. `Σ_{j ∈ W_i} x_j ≥ 1` for `w_i > 0` (within `r2`),
//! `Σ_i w_i y¹_i ≥ α Σ_i w_i`,
//! `Σ_{j ∈ V_i} x_j ≥ y¹_i + y²_i` (within `r1`), `y²_i ≤ y¹_i`,
//! `Σ_j x_j = N`, `x_j ∈ {min_j, …, cap_j}` integer, `y ∈ {0, 1}`.
//!
//! # Solver
//! - **Solutions**: greedy, then swap local search over ambulance slots, lexicographic in
//!   (infeasibility, −objective) with infeasibility = uncovered points within `r2` + the
//!   missing share within `r1`; randomised restarts with a fixed seed.
//! - **Upper bound**: Lagrangian relaxation of the three coupling constraints with multipliers
//!   `μ_i, λ_i, β ≥ 0`:
//!   `L = Σ_i max(0, β w_i − μ_i, (1 + β) w_i − 2 μ_i) − Σ_i λ_i − β α W +
//!   max_x Σ_j x_j (Σ_{i ∈ V(j)} μ_i + Σ_{i ∈ W(j)} λ_i)`, minimised by projected
//!   subgradient steps.
//! - **Branch and bound** on the slots (a station's copies open in order) with Lagrangian
//!   fixing, shared with the other models. A tree exhausted without a feasible placement proves
//!   the constraints cannot be met.

use std::time::Instant;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::bnb::{self, CLOSED, FREE, Limits, OPEN, Relaxation};
use super::fleet::{FleetOptions, FleetSolution, Slots, check_weights};
use super::{Certificate, OptimizeError};

/// Coverage under two standards, site-major (`near[j * n + i]`: site `j` within `r1` of `i`).
#[derive(Debug, Clone, PartialEq)]
pub struct DoubleCoverage {
    pub weights: Vec<f64>,
    pub m: usize,
    /// Within the primary standard `r1`.
    pub near: Vec<bool>,
    /// Within the secondary standard `r2` (implied by `near`).
    pub far: Vec<bool>,
}

/// What a placement achieves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Achieved {
    /// Demand within `r1` of two ambulances.
    pub double: f64,
    /// Demand within `r1` of one.
    pub single: f64,
    /// Points with people beyond `r2` of every ambulance.
    pub uncovered: usize,
}

impl DoubleCoverage {
    /// What ambulances `per_site` achieve.
    pub fn achieved(&self, per_site: &[usize]) -> Achieved {
        let n = self.weights.len();
        let mut a = Achieved {
            double: 0.0,
            single: 0.0,
            uncovered: 0,
        };
        for i in 0..n {
            let c1: usize = (0..self.m)
                .filter(|&j| self.near[j * n + i])
                .map(|j| per_site[j])
                .sum();
            let c2: usize = (0..self.m)
                .filter(|&j| self.far[j * n + i])
                .map(|j| per_site[j])
                .sum();
            if c1 >= 1 {
                a.single += self.weights[i];
            }
            if c1 >= 2 {
                a.double += self.weights[i];
            }
            if c2 == 0 && self.weights[i] > 0.0 {
                a.uncovered += 1;
            }
        }
        a
    }
}

/// Lists per slot and per demand point.
struct Lists {
    ptr: Vec<usize>,
    idx: Vec<u32>,
}

impl Lists {
    fn new(rows: usize, cols: usize, at: impl Fn(usize, usize) -> bool) -> Lists {
        let mut l = Lists {
            ptr: vec![0],
            idx: Vec::new(),
        };
        for r in 0..rows {
            l.idx
                .extend((0..cols).filter(|&c| at(r, c)).map(|c| c as u32));
            l.ptr.push(l.idx.len());
        }
        l
    }

    #[inline]
    fn get(&self, r: usize) -> &[u32] {
        &self.idx[self.ptr[r]..self.ptr[r + 1]]
    }
}

/// Running totals of a placement, updated slot by slot.
#[derive(Clone)]
struct State {
    c1: Vec<u32>,
    c2: Vec<u32>,
    double: f64,
    single: f64,
    uncovered: usize,
}

struct Dsm {
    n: usize,
    ms: usize,
    w: Vec<f64>,
    /// `α W`.
    target: f64,
    total: f64,
    near: Lists,
    far: Lists,
    group: Vec<u32>,
    integral: bool,
}

impl Dsm {
    fn empty(&self) -> State {
        State {
            c1: vec![0; self.n],
            c2: vec![0; self.n],
            double: 0.0,
            single: 0.0,
            uncovered: (0..self.n).filter(|&i| self.w[i] > 0.0).count(),
        }
    }

    /// Adds (`d = +1`) or removes (`d = −1`) slot `s`.
    fn apply(&self, st: &mut State, s: usize, d: i32) {
        for &i in self.near.get(s) {
            let i = i as usize;
            let before = st.c1[i];
            let after = (before as i32 + d) as u32;
            st.c1[i] = after;
            let w = self.w[i];
            match (before, after) {
                (0, 1) => st.single += w,
                (1, 0) => st.single -= w,
                (1, 2) => st.double += w,
                (2, 1) => st.double -= w,
                _ => {}
            }
        }
        for &i in self.far.get(s) {
            let i = i as usize;
            let before = st.c2[i];
            let after = (before as i32 + d) as u32;
            st.c2[i] = after;
            if self.w[i] > 0.0 {
                match (before, after) {
                    (0, 1) => st.uncovered -= 1,
                    (1, 0) => st.uncovered += 1,
                    _ => {}
                }
            }
        }
    }

    fn state(&self, open: &[usize]) -> State {
        let mut st = self.empty();
        for &s in open {
            self.apply(&mut st, s, 1);
        }
        st
    }

    /// Infeasibility (0 when feasible) and the objective; smaller infeasibility wins, then the
    /// larger objective.
    fn score(&self, st: &State) -> (f64, f64) {
        let short = (self.target - st.single).max(0.0);
        let short = if short <= 1e-9 * self.total.max(1.0) {
            0.0
        } else {
            short / self.total.max(1e-300)
        };
        (st.uncovered as f64 + short, st.double)
    }

    fn better(a: (f64, f64), b: (f64, f64)) -> bool {
        a.0 < b.0 - 1e-12 || (a.0 <= b.0 + 1e-12 && a.1 > b.1 + 1e-9 * b.1.abs().max(1.0))
    }

    fn first_closed(&self, s: usize, open: &[bool]) -> bool {
        !open[s] && (s == 0 || self.group[s - 1] != self.group[s] || open[s - 1])
    }

    fn greedy(&self, start: &[usize], p: usize, mut rng: Option<&mut ChaCha8Rng>) -> Vec<usize> {
        let mut open = start.to_vec();
        let mut is_open = vec![false; self.ms];
        let mut st = self.state(&open);
        for &s in &open {
            is_open[s] = true;
        }
        while open.len() < p {
            let mut scored: Vec<((f64, f64), usize)> = (0..self.ms)
                .filter(|&s| self.first_closed(s, &is_open))
                .map(|s| {
                    self.apply(&mut st, s, 1);
                    let sc = self.score(&st);
                    self.apply(&mut st, s, -1);
                    (sc, s)
                })
                .collect();
            scored.sort_by(|a, b| {
                a.0.0
                    .total_cmp(&b.0.0)
                    .then(b.0.1.total_cmp(&a.0.1))
                    .then(a.1.cmp(&b.1))
            });
            let pick = match rng.as_deref_mut() {
                Some(r) => scored[r.random_range(0..scored.len().min(3))].1,
                None => scored[0].1,
            };
            is_open[pick] = true;
            open.push(pick);
            self.apply(&mut st, pick, 1);
        }
        open
    }

    /// Best-improvement swaps until none helps.
    fn local_search(&self, open: &mut [usize], fixed: &[bool]) -> (f64, f64) {
        let mut st = self.state(open);
        let mut is_open = vec![false; self.ms];
        for &s in open.iter() {
            is_open[s] = true;
        }
        let mut cur = self.score(&st);
        loop {
            let mut best: Option<((f64, f64), usize, usize)> = None;
            for (k, &out) in open.iter().enumerate() {
                if fixed[out] {
                    continue;
                }
                self.apply(&mut st, out, -1);
                is_open[out] = false;
                for s in 0..self.ms {
                    if s == out || !self.first_closed(s, &is_open) {
                        continue;
                    }
                    self.apply(&mut st, s, 1);
                    let sc = self.score(&st);
                    self.apply(&mut st, s, -1);
                    if Self::better(sc, best.map_or(cur, |b| b.0)) {
                        best = Some((sc, k, s));
                    }
                }
                is_open[out] = true;
                self.apply(&mut st, out, 1);
            }
            let Some((sc, k, s)) = best else {
                return cur;
            };
            self.apply(&mut st, open[k], -1);
            is_open[open[k]] = false;
            self.apply(&mut st, s, 1);
            is_open[s] = true;
            open[k] = s;
            cur = sc;
        }
    }
}

struct Search {
    d: Dsm,
    limits: Limits,
    fixed: Vec<bool>,
    /// The relaxed `(y¹_i, y²_i)` of the last relaxation, for its subgradient.
    y: Vec<(bool, bool)>,
    /// Open slots within `r1` and `r2` of each demand point (subgradient scratch).
    c1: Vec<u32>,
    c2: Vec<u32>,
    /// The incumbent's objective, or slightly below 0 when there is none.
    lb: f64,
    incumbent: Option<Vec<usize>>,
    /// The least infeasible placement seen (for the error when none is feasible).
    closest: (Vec<usize>, (f64, f64)),
    s: Vec<f64>,
    order: Vec<usize>,
}

impl Search {
    fn tol(&self) -> f64 {
        1e-9 * self.d.total.max(1.0)
    }

    fn round(&self, ub: f64) -> f64 {
        if self.d.integral {
            (ub + 1e-6).floor()
        } else {
            ub
        }
    }

    /// `L(μ, λ, β)` with the chosen slots; multipliers laid out as `[μ (n), λ (n), β]`. Fills
    /// `self.s`, `self.order` and the relaxed `y` in `self.y`.
    fn relax(&mut self, status: &[u8], mult: &[f64]) -> Option<(f64, Vec<usize>)> {
        let (n, d) = (self.d.n, &self.d);
        let (mu, lam, beta) = (&mult[..n], &mult[n..2 * n], mult[2 * n]);
        for (s, (sj, st)) in self.s.iter_mut().zip(status).enumerate() {
            *sj = if *st == CLOSED {
                0.0
            } else {
                d.near.get(s).iter().map(|i| mu[*i as usize]).sum::<f64>()
                    + d.far.get(s).iter().map(|i| lam[*i as usize]).sum::<f64>()
            };
        }
        let p = self.limits.p;
        let forced: Vec<usize> = (0..d.ms).filter(|&s| status[s] == OPEN).collect();
        if forced.len() > p {
            return None;
        }
        let k = p - forced.len();
        self.order.clear();
        self.order.extend((0..d.ms).filter(|&s| status[s] == FREE));
        if self.order.len() < k {
            return None;
        }
        let sv = &self.s;
        self.order
            .sort_by(|a, b| sv[*b].total_cmp(&sv[*a]).then(a.cmp(b)));
        let mut chosen = forced;
        chosen.extend(self.order.iter().take(k));
        let mut l = chosen.iter().map(|&s| self.s[s]).sum::<f64>() - beta * d.target;
        let y = &mut self.y;
        y.clear();
        for i in 0..n {
            let w = d.w[i];
            let a1 = beta * w - mu[i];
            let a2 = (1.0 + beta) * w - 2.0 * mu[i];
            let pick = if a2 > 0.0 && a2 >= a1 {
                l += a2;
                (true, true)
            } else if a1 > 0.0 {
                l += a1;
                (true, false)
            } else {
                (false, false)
            };
            y.push(pick);
            l -= lam[i];
        }
        Some((l, chosen))
    }
}

impl Relaxation for Search {
    const MAXIMISE: bool = true;
    const NONNEGATIVE: bool = true;

    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn relax(&mut self, status: &[u8], mult: &[f64]) -> Option<(f64, Vec<usize>)> {
        Search::relax(self, status, mult)
    }

    /// The violation of each relaxed constraint, negated (the Lagrangian is minimised):
    /// `y¹_i + y²_i − c¹_i` for the primary coverage, `1 − c²_i` for the secondary one (demand
    /// with people), `α W − Σ_i w_i y¹_i` for the share.
    fn direction(&mut self, chosen: &[usize], _mult: &[f64], g: &mut [f64]) {
        let n = self.d.n;
        let (c1, c2) = (&mut self.c1, &mut self.c2);
        c1.clear();
        c1.resize(n, 0);
        c2.clear();
        c2.resize(n, 0);
        for &s in chosen {
            for &i in self.d.near.get(s) {
                c1[i as usize] += 1;
            }
            for &i in self.d.far.get(s) {
                c2[i as usize] += 1;
            }
        }
        let mut single = 0.0;
        for i in 0..n {
            let (y1, y2) = self.y[i];
            g[i] = -(c1[i] as f64 - y1 as u32 as f64 - y2 as u32 as f64);
            g[n + i] = if self.d.w[i] > 0.0 {
                -(c2[i] as f64 - 1.0)
            } else {
                0.0
            };
            if y1 {
                single += self.d.w[i];
            }
        }
        g[2 * n] = -(single - self.d.target);
    }

    fn step_gap(&self, l: f64) -> f64 {
        (l - self.lb.max(0.0)).max(1e-6 * self.d.total.max(1.0))
    }

    fn tighten(&self, bound: f64, parent: f64) -> f64 {
        self.round(bound.min(parent).min(self.d.total))
    }

    fn prunes(&self, ub: f64) -> bool {
        if self.d.integral && self.incumbent.is_some() {
            self.round(ub) <= self.lb + 1e-9
        } else {
            ub <= self.lb + self.tol()
        }
    }

    fn heuristic(&mut self, status: &[u8], mult: &[f64], _node: u64) {
        if let Some((_, mut chosen)) = self.relax(status, mult) {
            self.d.local_search(&mut chosen, &self.fixed);
            self.try_solution(&chosen);
        }
    }

    fn order(&self) -> &[usize] {
        &self.order
    }

    fn site_values(&self) -> &[f64] {
        &self.s
    }

    fn try_solution(&mut self, open: &[usize]) {
        let st = self.d.state(open);
        let sc = self.d.score(&st);
        if Dsm::better(sc, self.closest.1) {
            self.closest = (open.to_vec(), sc);
        }
        if sc.0 == 0.0 && (self.incumbent.is_none() || sc.1 > self.lb + self.tol()) {
            self.lb = sc.1;
            let mut o = open.to_vec();
            o.sort_unstable();
            self.incumbent = Some(o);
        }
    }

    fn branch_site(&mut self, status: &[u8], mult: &[f64]) -> Option<usize> {
        let (_, chosen) = self.relax(status, mult)?;
        let mut best: Option<usize> = None;
        for s in chosen.into_iter().filter(|&s| status[s] == FREE) {
            if best.is_none_or(|b| self.s[s] > self.s[b] || (self.s[s] == self.s[b] && s < b)) {
                best = Some(s);
            }
        }
        best
    }

    fn schedule(&self, node: u64) -> (usize, f64) {
        if node == 1 { (2000, 2.0) } else { (150, 0.5) }
    }

    fn prepare(&self, status: &mut [u8]) -> bool {
        bnb::order_copies(&self.d.group, status)
    }
}

/// Solves the DSM with share `alpha` within `r1` (see the module docs).
pub fn solve(
    dc: &DoubleCoverage,
    alpha: f64,
    o: &FleetOptions,
) -> Result<FleetSolution, OptimizeError> {
    let t0 = Instant::now();
    if !(alpha.is_finite() && (0.0..=1.0).contains(&alpha)) {
        return Err(OptimizeError::Invalid(format!(
            "the share within the primary standard, {alpha}, must be in [0, 1]"
        )));
    }
    let slots = Slots::new(dc.m, o)?;
    check_weights(&dc.weights)?;
    let n = dc.weights.len();
    let near = slots.expand(&dc.near, n)?;
    let far = slots.expand(&dc.far, n)?;
    if let Some(k) = (0..near.len()).find(|&k| near[k] && !far[k]) {
        return Err(OptimizeError::Invalid(format!(
            "site {} is within the primary standard of demand {} but not within the secondary \
             one: the secondary standard must be the wider",
            slots.site[k / n.max(1)],
            k % n.max(1)
        )));
    }
    let ms = slots.site.len();
    let total: f64 = dc.weights.iter().sum();
    let unreachable: Vec<usize> = (0..n)
        .filter(|&i| dc.weights[i] > 0.0 && (0..dc.m).all(|j| !dc.far[j * n + i]))
        .collect();
    if !unreachable.is_empty() {
        return Err(OptimizeError::Infeasible {
            p: o.ambulances,
            uncovered: unreachable,
            proven: true,
        });
    }
    let d = Dsm {
        n,
        ms,
        w: dc.weights.clone(),
        target: alpha * total,
        total,
        near: Lists::new(ms, n, |s, i| near[s * n + i]),
        far: Lists::new(ms, n, |s, i| far[s * n + i]),
        group: slots.group.clone(),
        integral: dc.weights.iter().all(|w| w.fract() == 0.0),
    };
    let mut fixed = vec![false; ms];
    for &s in &slots.fixed {
        fixed[s] = true;
    }
    let p = o.ambulances;
    let mut rng = ChaCha8Rng::seed_from_u64(o.solve.seed);
    let mut s = Search {
        fixed: fixed.clone(),
        limits: Limits::new(p, t0, &o.solve),
        y: Vec::with_capacity(n),
        c1: Vec::new(),
        c2: Vec::new(),
        lb: -1e-9 * total.max(1.0),
        incumbent: None,
        closest: (Vec::new(), (f64::INFINITY, 0.0)),
        s: vec![0.0; ms],
        order: Vec::with_capacity(ms),
        d,
    };
    for r in 0..=o.solve.restarts {
        let mut open =
            s.d.greedy(&slots.fixed, p, if r == 0 { None } else { Some(&mut rng) });
        s.d.local_search(&mut open, &fixed);
        s.try_solution(&open);
    }
    let mut mult = vec![0.0; 2 * n + 1];
    for (m, w) in mult.iter_mut().zip(&dc.weights) {
        *m = w * 0.5;
    }
    let root: Vec<u8> = (0..ms)
        .map(|k| if fixed[k] { OPEN } else { FREE })
        .collect();
    let out = bnb::search(&mut s, root, mult);
    let optimal = out.open_bound.is_none();
    let Some(open) = s.incumbent.clone() else {
        let per_site = slots.per_site(&s.closest.0);
        let a = dc.achieved(&per_site);
        let uncovered: Vec<usize> = (0..n)
            .filter(|&i| {
                dc.weights[i] > 0.0 && (0..dc.m).all(|j| !(dc.far[j * n + i] && per_site[j] > 0))
            })
            .collect();
        return Err(OptimizeError::DoubleStandard {
            p,
            uncovered,
            share_pct: if total > 0.0 {
                a.single / total * 100.0
            } else {
                0.0
            },
            alpha_pct: alpha * 100.0,
            proven: optimal,
        });
    };
    let per_site = slots.per_site(&open);
    let objective = dc.achieved(&per_site).double;
    let bound = if optimal {
        objective
    } else {
        out.open_bound.unwrap_or(total).max(objective).min(total)
    };
    Ok(FleetSolution {
        per_site,
        cert: Certificate::new(objective, bound, optimal, out.nodes, t0),
        total_demand: total,
    })
}
