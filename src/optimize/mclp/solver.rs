//! The MCLP solver on sparse coverage lists (see the parent module for the method).

use std::time::Instant;

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::{CoverSolution, Coverage};
use crate::optimize::bnb::{self, CLOSED, FREE, Limits, OPEN, Relaxation};
use crate::optimize::{Certificate, OptimizeError, SiteOptions};

/// Perturbation rounds of the iterated local search after the greedy restarts.
const ILS_ROUNDS: usize = 300;

/// Coverage as compressed lists, for multiple coverage: the `k`-th open slot covering demand
/// `i` (0-based) adds `w_i · profile[k]`. Plain MCLP has `profile = [1]`. Slots in one `group`
/// are interchangeable copies of one site (ambulances at one station), stored consecutively.
struct Sparse {
    n: usize,
    m: usize,
    w: Vec<f64>,
    site_ptr: Vec<usize>,
    site_dem: Vec<u32>,
    dem_ptr: Vec<usize>,
    dem_site: Vec<u32>,
    /// Non-increasing, non-negative.
    profile: Vec<f64>,
    /// `cum[c]`: the profile's sum over the first `c` levels.
    cum: Vec<f64>,
    group: Vec<u32>,
    integral: bool,
}

impl Sparse {
    fn new(cov: &Coverage, profile: &[f64], group: &[u32]) -> Sparse {
        let n = cov.weights.len();
        let m = cov.m;
        let (mut site_ptr, mut site_dem) = (vec![0], Vec::new());
        for j in 0..m {
            site_dem.extend((0..n).filter(|&i| cov.covers[j * n + i]).map(|i| i as u32));
            site_ptr.push(site_dem.len());
        }
        let mut deg = vec![0usize; n + 1];
        for &i in &site_dem {
            deg[i as usize + 1] += 1;
        }
        for i in 0..n {
            deg[i + 1] += deg[i];
        }
        let dem_ptr = deg.clone();
        let mut dem_site = vec![0u32; site_dem.len()];
        for j in 0..m {
            for &i in &site_dem[site_ptr[j]..site_ptr[j + 1]] {
                dem_site[deg[i as usize]] = j as u32;
                deg[i as usize] += 1;
            }
        }
        let mut cum = vec![0.0];
        for r in profile {
            cum.push(cum.last().copied().unwrap_or(0.0) + r);
        }
        Sparse {
            n,
            m,
            w: cov.weights.clone(),
            site_ptr,
            site_dem,
            dem_ptr,
            dem_site,
            profile: profile.to_vec(),
            cum,
            group: group.to_vec(),
            integral: profile == [1.0] && cov.weights.iter().all(|w| w.fract() == 0.0),
        }
    }

    #[inline]
    fn covers(&self, j: usize) -> &[u32] {
        &self.site_dem[self.site_ptr[j]..self.site_ptr[j + 1]]
    }

    #[inline]
    fn covered_by(&self, i: usize) -> &[u32] {
        &self.dem_site[self.dem_ptr[i]..self.dem_ptr[i + 1]]
    }

    /// The value of the `c+1`-th covering slot (0 beyond the profile).
    #[inline]
    fn r(&self, c: u32) -> f64 {
        self.profile.get(c as usize).copied().unwrap_or(0.0)
    }

    /// The value of demand covered `c` times.
    #[inline]
    fn level(&self, c: u32) -> f64 {
        self.cum[(c as usize).min(self.profile.len())]
    }

    fn value(&self, open: &[usize]) -> f64 {
        let mut count = vec![0u32; self.n];
        for &j in open {
            for &i in self.covers(j) {
                count[i as usize] += 1;
            }
        }
        (0..self.n)
            .filter(|&i| count[i] > 0)
            .map(|i| self.w[i] * self.level(count[i]))
            .sum()
    }

    /// The relaxed demand side at multiplier `mu`: `Σ_k max(0, w_i·profile[k] − mu)` and how
    /// many levels are taken.
    #[inline]
    fn relaxed_cover(&self, i: usize, mu: f64) -> (f64, u32) {
        let mut v = 0.0;
        let mut k = 0;
        for r in &self.profile {
            let a = self.w[i] * r - mu;
            if a <= 0.0 {
                break;
            }
            v += a;
            k += 1;
        }
        (v, k)
    }

    /// Whether closed slot `j` is worth trying to open: the first closed copy of its site.
    #[inline]
    fn first_closed(&self, j: usize, is_open: impl Fn(usize) -> bool) -> bool {
        !is_open(j) && (j == 0 || self.group[j - 1] != self.group[j] || is_open(j - 1))
    }
}

fn greedy(sp: &Sparse, start: &[usize], p: usize, mut rng: Option<&mut ChaCha8Rng>) -> Vec<usize> {
    let mut open = start.to_vec();
    let mut is_open = vec![false; sp.m];
    let mut count = vec![0u32; sp.n];
    for &j in &open {
        is_open[j] = true;
        for &i in sp.covers(j) {
            count[i as usize] += 1;
        }
    }
    while open.len() < p {
        let mut scored: Vec<(f64, usize)> = (0..sp.m)
            .filter(|&j| sp.first_closed(j, |k| is_open[k]))
            .map(|j| {
                (
                    sp.covers(j)
                        .iter()
                        .map(|i| sp.w[*i as usize] * sp.r(count[*i as usize]))
                        .sum(),
                    j,
                )
            })
            .collect();
        if scored.is_empty() {
            scored = (0..sp.m)
                .filter(|j| !is_open[*j])
                .map(|j| (0.0, j))
                .collect();
        }
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let pick = match rng.as_deref_mut() {
            Some(r) => scored[r.random_range(0..scored.len().min(3))].1,
            None => scored[0].1,
        };
        is_open[pick] = true;
        open.push(pick);
        for &i in sp.covers(pick) {
            count[i as usize] += 1;
        }
    }
    open
}

/// Swap local search (fast interchange on coverage); returns the covered value.
///
/// For an entering slot, `gain` is the value of one more cover at each demand it covers and
/// `loss[k]` the value each open slot `k` alone would take away; a demand covered by both the
/// entering and the leaving slot changes by neither, which `adj[k]` restores. With `profile =
/// [1]` only a demand's sole coverer is adjusted (found from the sum of its coverers' indices).
fn local_search(sp: &Sparse, open: &mut [usize], fixed: &[bool]) -> f64 {
    let p = open.len();
    let mut count = vec![0u32; sp.n];
    let mut sum = vec![0u64; sp.n];
    let mut pos = vec![usize::MAX; sp.m];
    let mut loss = vec![0.0; p];
    let mut adj = vec![0.0; p];
    let mut touched: Vec<usize> = Vec::new();
    loop {
        count.iter_mut().for_each(|c| *c = 0);
        sum.iter_mut().for_each(|s| *s = 0);
        pos.iter_mut().for_each(|x| *x = usize::MAX);
        for (k, &j) in open.iter().enumerate() {
            pos[j] = k;
            for &i in sp.covers(j) {
                count[i as usize] += 1;
                sum[i as usize] += j as u64;
            }
        }
        let value: f64 = (0..sp.n)
            .filter(|&i| count[i] > 0)
            .map(|i| sp.w[i] * sp.level(count[i]))
            .sum();
        for (k, &j) in open.iter().enumerate() {
            loss[k] = sp
                .covers(j)
                .iter()
                .map(|i| sp.w[*i as usize] * sp.r(count[*i as usize] - 1))
                .sum();
        }
        let Some(min_k) = (0..p)
            .filter(|&k| !fixed[open[k]])
            .min_by(|a, b| loss[*a].total_cmp(&loss[*b]))
        else {
            return value;
        };
        let mut best = (1e-9 * value.abs().max(1.0), usize::MAX, usize::MAX);
        for jin in 0..sp.m {
            if !sp.first_closed(jin, |k| pos[k] != usize::MAX) {
                continue;
            }
            let mut gain = 0.0;
            for &i in sp.covers(jin) {
                let i = i as usize;
                let c = count[i];
                gain += sp.w[i] * sp.r(c);
                if c == 0 {
                    continue;
                }
                let delta = sp.w[i] * (sp.r(c - 1) - sp.r(c));
                if delta <= 0.0 {
                    continue;
                }
                if c == 1 {
                    let k = pos[sum[i] as usize];
                    if adj[k] == 0.0 {
                        touched.push(k);
                    }
                    adj[k] += delta;
                } else {
                    for &j2 in sp.covered_by(i) {
                        let k = pos[j2 as usize];
                        if k != usize::MAX {
                            if adj[k] == 0.0 {
                                touched.push(k);
                            }
                            adj[k] += delta;
                        }
                    }
                }
            }
            // Untouched leaving sites: the cheapest one is a lower estimate of its true profit.
            let mut cand = (gain - loss[min_k], min_k);
            for &k in &touched {
                if !fixed[open[k]] {
                    let v = gain - loss[k] + adj[k];
                    if v > cand.0 {
                        cand = (v, k);
                    }
                }
                adj[k] = 0.0;
            }
            touched.clear();
            if cand.0 > best.0 {
                best = (cand.0, jin, cand.1);
            }
        }
        if best.1 == usize::MAX {
            return value;
        }
        open[best.2] = best.1;
    }
}

struct Search {
    sp: Sparse,
    limits: Limits,
    /// Sites fixed open by the caller.
    fixed: Vec<bool>,
    total: f64,
    lb: f64,
    incumbent: Vec<usize>,
    s: Vec<f64>,
    order: Vec<usize>,
    /// Covering open slots per demand point, for the subgradient.
    cov: Vec<u32>,
}

impl Search {
    fn round(&self, ub: f64) -> f64 {
        if self.sp.integral {
            (ub + 1e-6).floor()
        } else {
            ub
        }
    }

    /// `UB(μ)` and the chosen sites; fills `self.s` and `self.order` (free sites by `s`
    /// descending).
    fn relax(&mut self, status: &[u8], mu: &[f64]) -> Option<(f64, Vec<usize>)> {
        let sp = &self.sp;
        for (j, (sj, st)) in self.s.iter_mut().zip(status).enumerate() {
            *sj = if *st == CLOSED {
                0.0
            } else {
                sp.covers(j).iter().map(|i| mu[*i as usize]).sum()
            };
        }
        let p = self.limits.p;
        let forced: Vec<usize> = (0..sp.m).filter(|&j| status[j] == OPEN).collect();
        if forced.len() > p {
            return None;
        }
        let k = p - forced.len();
        self.order.clear();
        self.order.extend((0..sp.m).filter(|&j| status[j] == FREE));
        if self.order.len() < k {
            return None;
        }
        let s = &self.s;
        self.order
            .sort_by(|a, b| s[*b].total_cmp(&s[*a]).then(a.cmp(b)));
        let mut chosen = forced;
        chosen.extend(self.order.iter().take(k));
        let ub = (0..sp.n).map(|i| sp.relaxed_cover(i, mu[i]).0).sum::<f64>()
            + chosen.iter().map(|&j| self.s[j]).sum::<f64>();
        Some((ub, chosen))
    }
}

impl Relaxation for Search {
    const MAXIMISE: bool = true;
    const NONNEGATIVE: bool = true;

    fn limits(&self) -> &Limits {
        &self.limits
    }

    fn relax(&mut self, status: &[u8], mu: &[f64]) -> Option<(f64, Vec<usize>)> {
        Search::relax(self, status, mu)
    }

    /// `g_i = y_i − Σ_{j ∈ S} cover(j, i)`: demand counted as covered more often than the
    /// chosen slots cover it pushes its multiplier up.
    fn direction(&mut self, chosen: &[usize], mu: &[f64], g: &mut [f64]) {
        self.cov.iter_mut().for_each(|c| *c = 0);
        for &j in chosen {
            for &i in self.sp.covers(j) {
                self.cov[i as usize] += 1;
            }
        }
        for (i, gi) in g.iter_mut().enumerate() {
            let y = self.sp.relaxed_cover(i, mu[i]).1 as f64;
            *gi = y - self.cov[i] as f64;
        }
    }

    fn step_gap(&self, ub: f64) -> f64 {
        (ub - self.lb).max(1e-9 * ub.abs().max(1.0))
    }

    /// Nothing covers more than all the demand.
    fn tighten(&self, bound: f64, parent: f64) -> f64 {
        self.round(bound.min(parent).min(self.total))
    }

    /// True when a subtree with this upper bound cannot beat the incumbent.
    fn prunes(&self, ub: f64) -> bool {
        if self.sp.integral {
            self.round(ub) <= self.lb + 1e-9
        } else {
            ub <= self.lb + 1e-9 * self.lb.abs().max(1.0)
        }
    }

    /// Local search from the relaxation's choice of sites: at every node for plain coverage
    /// (cheap on sparse lists), at every 4th for multiple coverage, whose swaps cost more.
    fn heuristic(&mut self, status: &[u8], mult: &[f64], node: u64) {
        if self.sp.profile.len() > 1 && node % 4 != 1 {
            return;
        }
        if let Some((_, mut chosen)) = self.relax(status, mult) {
            let v = local_search(&self.sp, &mut chosen, &self.fixed);
            if v > self.lb {
                self.try_solution(&chosen);
            }
        }
    }

    fn order(&self) -> &[usize] {
        &self.order
    }

    fn site_values(&self) -> &[f64] {
        &self.s
    }

    fn try_solution(&mut self, open: &[usize]) {
        let v = self.sp.value(open);
        if v > self.lb {
            self.lb = v;
            let mut o = open.to_vec();
            o.sort_unstable();
            self.incumbent = o;
        }
    }

    /// The free chosen site with the largest Lagrangian value.
    fn branch_site(&mut self, status: &[u8], mult: &[f64]) -> Option<usize> {
        let (_, chosen) = self.relax(status, mult)?;
        let mut best: Option<usize> = None;
        for j in chosen.into_iter().filter(|&j| status[j] == FREE) {
            if best.is_none_or(|b| self.s[j] > self.s[b] || (self.s[j] == self.s[b] && j < b)) {
                best = Some(j);
            }
        }
        best
    }

    fn prepare(&self, status: &mut [u8]) -> bool {
        bnb::order_copies(&self.sp.group, status)
    }

    fn schedule(&self, node: u64) -> (usize, f64) {
        if node == 1 { (3000, 2.0) } else { (200, 0.5) }
    }
}

/// A smaller equivalent problem: dominated sites removed, demand points with the same covering
/// sites merged, uncoverable demand dropped. `sites[k]` is the original index of reduced site `k`.
struct Reduced {
    cov: Coverage,
    sites: Vec<usize>,
}

/// Site `a` is dominated when another site covers everything `a` covers (on equal sets the
/// lower index stays). Fixed sites are kept. Opening a dominating site instead never loses
/// coverage, so some optimal solution avoids dominated sites.
fn reduce(cov: &Coverage, fixed: &[bool]) -> Reduced {
    let n = cov.weights.len();
    let lists: Vec<Vec<u32>> = (0..cov.m)
        .map(|j| {
            (0..n)
                .filter(|&i| cov.covers[j * n + i])
                .map(|i| i as u32)
                .collect()
        })
        .collect();
    let subset = |a: &[u32], b: &[u32]| {
        let mut k = 0;
        for x in a {
            while k < b.len() && b[k] < *x {
                k += 1;
            }
            if k == b.len() || b[k] != *x {
                return false;
            }
        }
        true
    };
    let mut keep = vec![true; cov.m];
    for a in 0..cov.m {
        if fixed[a] {
            continue;
        }
        keep[a] = !(0..cov.m).any(|b| {
            b != a
                && lists[a].len() <= lists[b].len()
                && (lists[a].len() < lists[b].len() || b < a)
                && subset(&lists[a], &lists[b])
        });
    }
    let sites: Vec<usize> = (0..cov.m).filter(|&j| keep[j]).collect();
    // Merge demand points covered by the same sites.
    let mut groups: std::collections::BTreeMap<Vec<u32>, f64> = Default::default();
    for i in 0..n {
        if cov.weights[i] == 0.0 {
            continue;
        }
        let key: Vec<u32> = sites
            .iter()
            .enumerate()
            .filter(|(_, j)| cov.covers[**j * n + i])
            .map(|(k, _)| k as u32)
            .collect();
        if !key.is_empty() {
            *groups.entry(key).or_default() += cov.weights[i];
        }
    }
    let rn = groups.len();
    let mut covers = vec![false; sites.len() * rn];
    let mut weights = Vec::with_capacity(rn);
    for (g, (key, w)) in groups.into_iter().enumerate() {
        weights.push(w);
        for k in key {
            covers[k as usize * rn + g] = true;
        }
    }
    Reduced {
        cov: Coverage {
            weights,
            m: sites.len(),
            covers,
        },
        sites,
    }
}

pub(super) fn solve(cov: &Coverage, opts: &SiteOptions) -> Result<CoverSolution, OptimizeError> {
    let t0 = Instant::now();
    let m = cov.m;
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
    if opts.p == 0 || opts.p > m {
        return Err(OptimizeError::BadP { p: opts.p, m });
    }
    let mut fixed = vec![false; m];
    for &j in &opts.fixed_open {
        if j >= m {
            return Err(OptimizeError::BadFixed { site: j, m });
        }
        fixed[j] = true;
    }
    let n_fixed = fixed.iter().filter(|f| **f).count();
    if n_fixed > opts.p {
        return Err(OptimizeError::TooManyFixed {
            fixed: n_fixed,
            p: opts.p,
        });
    }
    let red = reduce(cov, &fixed);
    let total: f64 = cov.weights.iter().sum();
    let finish = |mut open: Vec<usize>, bound_reduced: Option<f64>, optimal: bool, nodes: u64| {
        // Fill up to p with unused sites (dominated ones add nothing).
        for j in 0..m {
            if open.len() >= opts.p {
                break;
            }
            if !open.contains(&j) {
                open.push(j);
            }
        }
        open.sort_unstable();
        let objective = cov.covered(&open);
        let bound = if optimal {
            objective
        } else {
            bound_reduced.unwrap_or(total).max(objective).min(total)
        };
        CoverSolution {
            cert: Certificate::new(objective, bound, optimal, nodes, t0),
            total_demand: total,
            open,
        }
    };
    if red.sites.len() <= opts.p || red.cov.weights.is_empty() {
        // Every useful site fits: open them all.
        return Ok(finish(red.sites.clone(), None, true, 0));
    }
    let fixed_red: Vec<usize> = red
        .sites
        .iter()
        .enumerate()
        .filter(|(_, j)| fixed[**j])
        .map(|(k, _)| k)
        .collect();
    let sub = SiteOptions {
        fixed_open: fixed_red,
        ..opts.clone()
    };
    let group: Vec<u32> = (0..red.cov.m as u32).collect();
    let (open, bound, optimal, nodes) = solve_reduced(&red.cov, &[1.0], &group, &sub, t0)?;
    Ok(finish(
        open.into_iter().map(|k| red.sites[k]).collect(),
        Some(bound),
        optimal,
        nodes,
    ))
}

/// Multiple coverage over slots (see [`Sparse`]): opens `opts.p` slots maximising
/// `Σ_i w_i Σ_{k < c_i} profile[k]`, `c_i` the open slots covering `i`. `profile` must be
/// non-increasing and non-negative, and copies of a site consecutive in `group`. Returns the open
/// slots, the bound, whether it is proven and the nodes searched.
pub(in crate::optimize) fn solve_levels(
    cov: &Coverage,
    profile: &[f64],
    group: &[u32],
    opts: &SiteOptions,
) -> Result<(Vec<usize>, f64, bool, u64), OptimizeError> {
    let t0 = Instant::now();
    if cov.covers.len() != cov.weights.len() * cov.m || group.len() != cov.m {
        return Err(OptimizeError::Invalid(format!(
            "coverage matrix has {} entries and {} groups, expected {} x {}",
            cov.covers.len(),
            group.len(),
            cov.m,
            cov.weights.len()
        )));
    }
    if profile.is_empty()
        || profile.iter().any(|r| !(r.is_finite() && *r >= 0.0))
        || profile.windows(2).any(|w| w[1] > w[0])
    {
        return Err(OptimizeError::Invalid(format!(
            "coverage profile {profile:?} must be non-empty, non-negative and non-increasing"
        )));
    }
    if opts.p == 0 || opts.p > cov.m {
        return Err(OptimizeError::BadP {
            p: opts.p,
            m: cov.m,
        });
    }
    solve_reduced(cov, profile, group, opts, t0)
}

fn solve_reduced(
    cov: &Coverage,
    profile: &[f64],
    group: &[u32],
    opts: &SiteOptions,
    t0: Instant,
) -> Result<(Vec<usize>, f64, bool, u64), OptimizeError> {
    let (m, p) = (cov.m, opts.p);
    let mut fixed = vec![false; m];
    for &j in &opts.fixed_open {
        fixed[j] = true;
    }
    let fixed_list: Vec<usize> = (0..m).filter(|&j| fixed[j]).collect();
    if fixed_list.len() > p {
        return Err(OptimizeError::TooManyFixed {
            fixed: fixed_list.len(),
            p,
        });
    }
    let sp = Sparse::new(cov, profile, group);
    let mut best_open = greedy(&sp, &fixed_list, p, None);
    let mut lb = local_search(&sp, &mut best_open, &fixed);
    let mut rng = ChaCha8Rng::seed_from_u64(opts.solve.seed);
    for _ in 0..opts.solve.restarts {
        let mut open = greedy(&sp, &fixed_list, p, Some(&mut rng));
        let v = local_search(&sp, &mut open, &fixed);
        if v > lb + 1e-9 {
            lb = v;
            best_open = open;
        }
    }
    // Iterated local search: kick two random open sites out, repair, keep improvements.
    for _ in 0..ILS_ROUNDS {
        let mut cand = best_open.clone();
        for _ in 0..2 {
            let k = rng.random_range(0..cand.len());
            if fixed[cand[k]] {
                continue;
            }
            let j = rng.random_range(0..m);
            if !cand.contains(&j) {
                cand[k] = j;
            }
        }
        let v = local_search(&sp, &mut cand, &fixed);
        if v > lb + 1e-9 {
            lb = v;
            best_open = cand;
        }
    }
    best_open.sort_unstable();
    // Nothing is worth more than every demand covered at every level.
    let total = sp.w.iter().sum::<f64>() * sp.cum.last().copied().unwrap_or(0.0);
    let mut s = Search {
        cov: vec![0; sp.n],
        sp,
        limits: Limits::new(p, t0, &opts.solve),
        fixed: fixed.clone(),
        total,
        lb,
        incumbent: best_open,
        s: vec![0.0; m],
        order: Vec::with_capacity(m),
    };
    let mu0: Vec<f64> = s.sp.w.iter().map(|w| w * s.sp.profile[0] * 0.5).collect();
    let root: Vec<u8> = (0..m).map(|j| if fixed[j] { OPEN } else { FREE }).collect();
    let out = bnb::search(&mut s, root, mu0);
    let optimal = out.open_bound.is_none();
    let (open_bound, nodes) = (out.open_bound.unwrap_or(f64::NEG_INFINITY), out.nodes);
    Ok((s.incumbent, open_bound, optimal, nodes))
}
