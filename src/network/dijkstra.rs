//! One-to-many Dijkstra on a [`Csr`], forward or reverse, with a time cutoff and reusable state.
//!
//! This module owns the search itself. It must not snap points or know about stations and
//! incidents: callers give it seed nodes with initial costs (see `TravelModel` for how snapped
//! points become seeds). A [`Dijkstra`] keeps its arrays between queries and resets only what the
//! last query touched, so repeated queries do not allocate.
//!
//! # Algorithm
//! Textbook Dijkstra (1959) with a binary heap and lazy deletion. Ties are broken by node id,
//! so results are deterministic. With [`Direction::Reverse`] it runs on the reverse adjacency,
//! giving the time *to* the seeds from every node.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::csr::Csr;

/// Unreached.
pub const INF: u32 = u32::MAX;

/// Search direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the seeds outward (e.g. from a station).
    Forward,
    /// Towards the seeds (e.g. to an incident).
    Reverse,
}

/// A search seed: a node with an initial cost (the part of the way on a snapped edge).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Seed {
    pub node: u32,
    pub time: u32,
    pub length_m: f64,
}

/// Reusable Dijkstra state for one graph size.
#[derive(Debug, Clone)]
pub struct Dijkstra {
    time: Vec<u32>,
    length: Vec<f64>,
    /// Forward arc used to reach the node, `u32::MAX` at seeds.
    pred: Vec<u32>,
    settled: Vec<bool>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(u32, u32)>>,
    direction: Direction,
    settled_count: usize,
}

impl Dijkstra {
    /// State for graphs of `num_nodes` nodes.
    pub fn new(num_nodes: usize) -> Dijkstra {
        Dijkstra {
            time: vec![INF; num_nodes],
            length: vec![0.0; num_nodes],
            pred: vec![u32::MAX; num_nodes],
            settled: vec![false; num_nodes],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
            direction: Direction::Forward,
            settled_count: 0,
        }
    }

    fn reset(&mut self) {
        for &v in &self.touched {
            let v = v as usize;
            self.time[v] = INF;
            self.length[v] = 0.0;
            self.pred[v] = u32::MAX;
            self.settled[v] = false;
        }
        self.touched.clear();
        self.heap.clear();
        self.settled_count = 0;
    }

    /// Runs a full search (up to `cutoff`, inclusive) from the seeds.
    pub fn run(&mut self, g: &Csr, dir: Direction, seeds: &[Seed], cutoff: Option<u32>) {
        self.run_until(g, dir, seeds, cutoff, |_| false);
    }

    /// Runs a search that stops early once `stop(node)` returns true for a settled node.
    pub fn run_until(
        &mut self,
        g: &Csr,
        dir: Direction,
        seeds: &[Seed],
        cutoff: Option<u32>,
        mut stop: impl FnMut(u32) -> bool,
    ) {
        assert_eq!(
            self.time.len(),
            g.num_nodes(),
            "Dijkstra state sized for another graph"
        );
        self.reset();
        self.direction = dir;
        let cutoff = cutoff.unwrap_or(INF - 1);
        for s in seeds {
            let v = s.node as usize;
            if s.time > cutoff {
                continue;
            }
            if self.time[v] == INF {
                self.touched.push(s.node);
            }
            if s.time < self.time[v] {
                self.time[v] = s.time;
                self.length[v] = s.length_m;
                self.pred[v] = u32::MAX;
                self.heap.push(Reverse((s.time, s.node)));
            }
        }
        while let Some(Reverse((t, u))) = self.heap.pop() {
            let ui = u as usize;
            if self.settled[ui] || t > self.time[ui] {
                continue;
            }
            self.settled[ui] = true;
            self.settled_count += 1;
            if stop(u) {
                break;
            }
            let lu = self.length[ui];
            match dir {
                Direction::Forward => {
                    for a in g.out_arcs(u) {
                        let v = g.head(a);
                        let nt = t.saturating_add(g.weight(a));
                        self.relax(v, nt, lu + g.length_m(a) as f64, a as u32, cutoff);
                    }
                }
                Direction::Reverse => {
                    for e in g.in_entries(u) {
                        let (v, w, a) = g.in_entry(e);
                        let nt = t.saturating_add(w);
                        self.relax(v, nt, lu + g.length_m(a) as f64, a as u32, cutoff);
                    }
                }
            }
        }
    }

    #[inline]
    fn relax(&mut self, v: u32, nt: u32, nl: f64, arc: u32, cutoff: u32) {
        let vi = v as usize;
        if nt > cutoff || self.settled[vi] {
            return;
        }
        let cur = self.time[vi];
        if nt < cur {
            if cur == INF {
                self.touched.push(v);
            }
            self.time[vi] = nt;
            self.length[vi] = nl;
            self.pred[vi] = arc;
            self.heap.push(Reverse((nt, v)));
        }
    }

    /// Best time to (forward) or from (reverse) a node, if reached within the cutoff.
    #[inline]
    pub fn time(&self, v: u32) -> Option<u32> {
        let t = self.time[v as usize];
        (t != INF).then_some(t)
    }

    /// Whether the node's time is final.
    #[inline]
    pub fn is_settled(&self, v: u32) -> bool {
        self.settled[v as usize]
    }

    /// Length in metres of the fastest path found to a node.
    #[inline]
    pub fn length_m(&self, v: u32) -> Option<f64> {
        self.time(v).map(|_| self.length[v as usize])
    }

    /// Nodes settled by the last query.
    pub fn settled_count(&self) -> usize {
        self.settled_count
    }

    /// Direction of the last query.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The forward arcs of the path, in driving order: from a seed to `v` for a forward search,
    /// from `v` to a seed for a reverse search.
    pub fn path_arcs(&self, g: &Csr, v: u32) -> Vec<u32> {
        let mut arcs = Vec::new();
        if self.time(v).is_none() {
            return arcs;
        }
        let mut cur = v;
        while self.pred[cur as usize] != u32::MAX {
            let a = self.pred[cur as usize];
            arcs.push(a);
            cur = match self.direction {
                Direction::Forward => g.tail(a as usize),
                Direction::Reverse => g.head(a as usize),
            };
        }
        if self.direction == Direction::Forward {
            arcs.reverse();
        }
        arcs
    }
}
