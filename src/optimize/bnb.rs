//! The depth-first branch and bound shared by the p-median and MCLP solvers.
//!
//! This module owns the search tree: node statuses, warm-started multipliers, pruning, fixing,
//! branching and the time limit. It must not know a model: each solver supplies a
//! [`Relaxation`] (its Lagrangian bound, heuristic, fixing rule and branching choice), whether
//! it minimises (bounds from below) or maximises (bounds from above).

use std::time::Instant;

/// Site status in a node: free, forced open, or closed.
pub(crate) const FREE: u8 = 0;
pub(crate) const OPEN: u8 = 1;
pub(crate) const CLOSED: u8 = 2;

/// A model's side of the search.
pub(crate) trait Relaxation {
    /// Sites to open in total.
    fn p(&self) -> usize;
    /// Stop branching after this instant.
    fn deadline(&self) -> Instant;
    /// The node's Lagrangian bound after `iterations` subgradient steps from `mult` (left at the
    /// best multipliers); `None` if the node is infeasible.
    fn bound(
        &mut self,
        status: &[u8],
        mult: &mut [f64],
        iterations: usize,
        theta: f64,
    ) -> Option<f64>;
    /// The node's bound from its own and its parent's (the tighter one), rounded for integral
    /// data.
    fn tighten(&self, bound: f64, parent: f64) -> f64;
    /// True when a subtree with this bound cannot hold a better solution than the incumbent.
    fn prunes(&self, bound: f64) -> bool;
    /// Tries the relaxation's choice of sites as a heuristic (the `node`-th node processed).
    fn heuristic(&mut self, status: &[u8], mult: &[f64], node: u64);
    /// Fixes sites whose flipped choice cannot beat the incumbent.
    fn fix(&mut self, status: &mut [u8], mult: &[f64]);
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

/// The bookkeeping of a subgradient run shared by the solvers: the best bound and its
/// multipliers, and the step factor θ, halved after 20 iterations without improvement.
pub(crate) struct Subgradient {
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

/// Runs the search. `no_bound` is the trivial bound (−∞ when minimising, +∞ when maximising) and
/// `weaker` picks the weaker of two bounds (`f64::min` when minimising, `f64::max` when
/// maximising).
pub(crate) fn search<R: Relaxation>(
    r: &mut R,
    status: Vec<u8>,
    mult: Vec<f64>,
    no_bound: f64,
    weaker: fn(f64, f64) -> f64,
) -> Outcome {
    let m = status.len();
    let p = r.p();
    let mut stack = vec![Node {
        status,
        mult,
        bound: no_bound,
    }];
    let mut nodes = 0u64;
    let mut root_bound = no_bound;
    let mut open_bound = None;
    while let Some(mut node) = stack.pop() {
        if Instant::now() > r.deadline() && nodes > 0 {
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
        let Some(b) = r.bound(&node.status, &mut node.mult, iterations, theta) else {
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
