//! The depth-first branch and bound shared by the p-median, MCLP/MEXCLP and backup-coverage
//! solvers.
//!
//! This module owns the search tree (node statuses, warm-started multipliers, pruning, fixing,
//! branching, the time limit and the node budget) and the subgradient optimisation of the
//! Lagrangian multipliers. It must not know a model: each solver supplies a [`Relaxation`] (its
//! Lagrangian and subgradient, heuristic, fixing rule and branching choice), whether it
//! minimises (bounds from below) or maximises (bounds from above).

use std::time::Instant;

/// Site status in a node: free, forced open, or closed.
pub(crate) const FREE: u8 = 0;
pub(crate) const OPEN: u8 = 1;
pub(crate) const CLOSED: u8 = 2;

/// What stops a search: sites to open, a deadline and a node budget.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Sites (or slots) to open in total.
    pub p: usize,
    /// Stop branching after this instant (`None`: no time limit).
    pub deadline: Option<Instant>,
    /// Stop branching after this many nodes (`None`: no node budget).
    pub node_limit: Option<u64>,
}

impl Limits {
    pub fn new(p: usize, t0: Instant, o: &super::SolveOptions) -> Limits {
        Limits {
            p,
            deadline: o.time_limit.and_then(|d| t0.checked_add(d)),
            node_limit: o.node_limit,
        }
    }

    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() > d)
    }
}

/// A model's side of the search: its Lagrangian relaxation and the rules built on it. The
/// subgradient optimisation of the multipliers ([`subgradient`]) and the tree ([`search`]) are
/// shared.
pub(crate) trait Relaxation {
    /// True for maximising models, whose Lagrangian bounds are upper bounds.
    const MAXIMISE: bool;
    /// True when the multipliers are sign-constrained (`≥ 0`): steps are projected.
    const NONNEGATIVE: bool;
    /// Sites to open, deadline and node budget.
    fn limits(&self) -> &Limits;
    /// The Lagrangian at `mult`: the bound and the chosen sites, or `None` if the node is
    /// infeasible. A model may keep what its [`Relaxation::direction`] needs (the relaxed
    /// demand variables) in itself.
    fn relax(&mut self, status: &[u8], mult: &[f64]) -> Option<(f64, Vec<usize>)>;
    /// The subgradient at the last [`Relaxation::relax`] as the direction in which the
    /// multipliers move (`mult += t g`).
    fn direction(&mut self, chosen: &[usize], mult: &[f64], g: &mut [f64]);
    /// The distance from `bound` to the incumbent that scales the step `θ gap / ‖g‖²`.
    fn step_gap(&self, bound: f64) -> f64;
    /// The node's bound from its own and its parent's (the tighter one), rounded for integral
    /// data.
    fn tighten(&self, bound: f64, parent: f64) -> f64;
    /// True when a subtree with this bound cannot hold a better solution than the incumbent.
    fn prunes(&self, bound: f64) -> bool;
    /// Tries the relaxation's choice of sites as a heuristic (the `node`-th node processed).
    fn heuristic(&mut self, status: &[u8], mult: &[f64], node: u64);
    /// After [`Relaxation::relax`]: the free sites best first by their Lagrangian value.
    fn order(&self) -> &[usize];
    /// After [`Relaxation::relax`]: each site's Lagrangian value (its reduced cost).
    fn site_values(&self) -> &[f64];
    /// Fixes sites whose flipped choice cannot beat the incumbent ([`fix_by_swaps`] at the
    /// relaxation's choice).
    fn fix(&mut self, status: &mut [u8], mult: &[f64]) {
        let Some((bound, chosen)) = self.relax(status, mult) else {
            return;
        };
        let p = self.limits().p;
        fix_by_swaps(
            status,
            bound,
            &chosen,
            self.order(),
            self.site_values(),
            p,
            |b| self.prunes(b),
        );
    }
    /// Offers a complete solution.
    fn try_solution(&mut self, open: &[usize]);
    /// The free site to branch on.
    fn branch_site(&mut self, status: &[u8], mult: &[f64]) -> Option<usize>;
    /// Subgradient iterations at the root and at other nodes, with their initial step factors.
    fn schedule(&self, node: u64) -> (usize, f64);
    /// Propagates a model's own implications between statuses before a node is bounded (e.g.
    /// interchangeable copies of one site open in order); `false` if the node is infeasible.
    fn prepare(&self, _status: &mut [u8]) -> bool {
        true
    }
}

/// Subgradient optimisation of a node's Lagrangian (Held, Wolfe & Crowder 1974), shared by
/// every model: `iterations` steps of `mult += θ gap / ‖g‖² · g` from `mult`, projected on
/// `mult ≥ 0` where the model says so, with θ from `theta0` halved after 20 steps without
/// improvement. Every 5th relaxed solution, and one whose subgradient vanishes, is offered as
/// a solution. Leaves the best multipliers in `mult` and returns the best bound; `None` if the
/// node is infeasible. `O(iterations × cost of one relaxation)`.
pub(crate) fn subgradient<R: Relaxation>(
    r: &mut R,
    status: &[u8],
    mult: &mut [f64],
    iterations: usize,
    theta0: f64,
) -> Option<f64> {
    let mut sg = Subgradient::new(mult, theta0, R::MAXIMISE);
    let mut g = vec![0.0; mult.len()];
    for it in 0..iterations {
        let (bound, chosen) = r.relax(status, mult)?;
        sg.record(bound, mult);
        if it % 5 == 0 {
            r.try_solution(&chosen);
        }
        if r.prunes(sg.best) {
            break;
        }
        r.direction(&chosen, mult, &mut g);
        let mut norm = 0.0;
        for (gk, mk) in g.iter_mut().zip(mult.iter()) {
            // Projected: a multiplier at zero cannot decrease further.
            if R::NONNEGATIVE && *mk <= 0.0 && *gk < 0.0 {
                *gk = 0.0;
            }
            norm += *gk * *gk;
        }
        if norm == 0.0 {
            // The relaxed solution satisfies the relaxed constraints: feasible for this node.
            r.try_solution(&chosen);
            break;
        }
        if !sg.cool() {
            break;
        }
        let step = sg.theta * r.step_gap(bound) / norm;
        for (mk, gk) in mult.iter_mut().zip(&g) {
            *mk += step * gk;
            if R::NONNEGATIVE {
                *mk = mk.max(0.0);
            }
        }
        if r.limits().past_deadline() {
            break;
        }
    }
    Some(sg.finish(mult))
}

/// Lagrangian fixing shared by both models. At the node's multipliers the relaxation picks
/// `chosen` (forced sites plus the best `k` free ones, `order` being the free sites best first by
/// `value`). Flipping one free site's choice swaps it against the marginal site, changing the
/// bound by the difference of their values; a site whose flipped bound `prunes` keeps its
/// current choice: chosen sites are forced open, the others closed.
pub(crate) fn fix_by_swaps(
    status: &mut [u8],
    bound: f64,
    chosen: &[usize],
    order: &[usize],
    value: &[f64],
    p: usize,
    prunes: impl Fn(f64) -> bool,
) {
    let forced = status.iter().filter(|x| **x == OPEN).count();
    let k = p - forced;
    if k == 0 {
        return;
    }
    let last_in = value[order[k - 1]];
    let first_out = order.get(k).map(|&j| value[j]);
    let mut in_chosen = vec![false; status.len()];
    for &j in chosen {
        in_chosen[j] = true;
    }
    for &j in order {
        if in_chosen[j] {
            if let Some(fo) = first_out
                && prunes(bound - value[j] + fo)
            {
                status[j] = OPEN;
            }
        } else if prunes(bound - last_in + value[j]) {
            status[j] = CLOSED;
        }
    }
}

/// Copies of one site (consecutive slots with the same `group`) open in order: an open copy
/// opens the earlier ones, a closed copy closes the later ones. `false` when a closed copy
/// precedes an open one.
pub(crate) fn order_copies(group: &[u32], status: &mut [u8]) -> bool {
    let mut start = 0;
    while start < group.len() {
        let mut end = start + 1;
        while end < group.len() && group[end] == group[start] {
            end += 1;
        }
        if end - start > 1 {
            let last_open = (start..end).rev().find(|&j| status[j] == OPEN);
            let first_closed = (start..end).find(|&j| status[j] == CLOSED);
            if let (Some(o), Some(c)) = (last_open, first_closed)
                && c < o
            {
                return false;
            }
            if let Some(o) = last_open {
                status[start..o].iter_mut().for_each(|x| *x = OPEN);
            }
            if let Some(c) = first_closed {
                status[c..end].iter_mut().for_each(|x| *x = CLOSED);
            }
        }
        start = end;
    }
    true
}

/// The bookkeeping of a subgradient run: the best bound and its multipliers, and the step
/// factor θ, halved after 20 iterations without improvement.
struct Subgradient {
    pub best: f64,
    best_mult: Vec<f64>,
    pub theta: f64,
    stall: u32,
    /// True for an upper bound (maximising models), which improves downwards.
    upper: bool,
}

impl Subgradient {
    pub fn new(mult: &[f64], theta: f64, upper: bool) -> Subgradient {
        Subgradient {
            best: if upper {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            },
            best_mult: mult.to_vec(),
            theta,
            stall: 0,
            upper,
        }
    }

    /// Records the bound at `mult`.
    pub fn record(&mut self, bound: f64, mult: &[f64]) {
        let tol = 1e-9 * self.best.abs().max(1.0);
        let improved = if self.upper {
            !self.best.is_finite() || bound < self.best - tol
        } else {
            !self.best.is_finite() || bound > self.best + tol
        };
        if improved {
            self.best = bound;
            self.best_mult.copy_from_slice(mult);
            self.stall = 0;
        } else {
            self.stall += 1;
        }
    }

    /// Halves θ after a stall; `false` once it is too small to go on.
    pub fn cool(&mut self) -> bool {
        if self.stall >= 20 {
            self.theta /= 2.0;
            self.stall = 0;
        }
        self.theta >= 1e-3
    }

    /// Leaves `mult` at the best multipliers and returns the best bound.
    pub fn finish(self, mult: &mut [f64]) -> f64 {
        mult.copy_from_slice(&self.best_mult);
        self.best
    }
}

#[derive(Clone)]
struct Node {
    status: Vec<u8>,
    mult: Vec<f64>,
    /// The parent's bound (valid for this node before it is processed).
    bound: f64,
}

/// How a search ended.
pub(crate) struct Outcome {
    pub nodes: u64,
    /// The root's bound (`no_bound` if the root was pruned at once).
    pub root_bound: f64,
    /// `None` when the tree was exhausted (the incumbent is optimal); otherwise the weakest bound
    /// among the nodes left open at the time limit.
    pub open_bound: Option<f64>,
}

/// Runs the search from the root `status` and multipliers, depth first, until the tree is
/// exhausted, the deadline passes or the node budget is spent.
pub(crate) fn search<R: Relaxation>(r: &mut R, status: Vec<u8>, mult: Vec<f64>) -> Outcome {
    // The trivial bound, and the weaker of two bounds.
    let (no_bound, weaker): (f64, fn(f64, f64) -> f64) = if R::MAXIMISE {
        (f64::INFINITY, f64::max)
    } else {
        (f64::NEG_INFINITY, f64::min)
    };
    let m = status.len();
    let p = r.limits().p;
    let mut stack = vec![Node {
        status,
        mult,
        bound: no_bound,
    }];
    let mut nodes = 0u64;
    let mut root_bound = no_bound;
    let mut open_bound = None;
    while let Some(mut node) = stack.pop() {
        let limits = r.limits();
        let spent = limits.past_deadline() || limits.node_limit.is_some_and(|l| nodes >= l);
        if spent && nodes > 0 {
            open_bound = Some(stack.iter().map(|x| x.bound).fold(node.bound, weaker));
            break;
        }
        if r.prunes(node.bound) {
            continue;
        }
        if !r.prepare(&mut node.status) {
            continue;
        }
        nodes += 1;
        let (iterations, theta) = r.schedule(nodes);
        let Some(b) = subgradient(r, &node.status, &mut node.mult, iterations, theta) else {
            continue;
        };
        let b = r.tighten(b, node.bound);
        if nodes == 1 {
            root_bound = b;
        }
        if r.prunes(b) {
            continue;
        }
        r.heuristic(&node.status, &node.mult, nodes);
        if r.prunes(b) {
            continue;
        }
        r.fix(&mut node.status, &node.mult);
        if !r.prepare(&mut node.status) {
            continue;
        }
        let forced = node.status.iter().filter(|x| **x == OPEN).count();
        let free = node.status.iter().filter(|x| **x == FREE).count();
        if forced > p || forced + free < p {
            continue;
        }
        if forced == p || forced + free == p {
            // Either the forced sites are all, or every remaining site must open.
            let keep = if forced == p { OPEN } else { FREE };
            let open: Vec<usize> = (0..m)
                .filter(|&j| node.status[j] == OPEN || node.status[j] == keep)
                .collect();
            r.try_solution(&open);
            continue;
        }
        let Some(j) = r.branch_site(&node.status, &node.mult) else {
            continue;
        };
        let mut closed = node.clone();
        closed.status[j] = CLOSED;
        closed.bound = b;
        let mut opened = node;
        opened.status[j] = OPEN;
        opened.bound = b;
        stack.push(closed);
        stack.push(opened);
    }
    Outcome {
        nodes,
        root_bound,
        open_bound,
    }
}
