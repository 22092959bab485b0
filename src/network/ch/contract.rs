//! The hierarchy's construction: contracting the nodes one at a time (by priority, or in a
//! given order), with witness searches deciding which shortcuts to add, and storing the upward
//! graphs by rank.
//!
//! This module owns preprocessing only. It must not answer queries (that is `super::query`
//! and `super::buckets`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::{Hierarchy, WITNESS_SETTLE};
use crate::network::csr::Csr;
use crate::network::dijkstra::INF;

/// The graph being contracted: adjacency lists with the lightest arc per node pair.
struct Work {
    out: Vec<Vec<(u32, u32)>>,
    inc: Vec<Vec<(u32, u32)>>,
    contracted: Vec<bool>,
    /// Contracted neighbours per node (the "deleted neighbours" term of the priority).
    deleted: Vec<u32>,
    /// Road length of the kept arc per node pair, metres.
    len: std::collections::HashMap<(u32, u32), f64>,
}

/// Keeps the lighter of an arc to `to` already in `list`, or adds it.
fn upsert(list: &mut Vec<(u32, u32)>, to: u32, w: u32) -> bool {
    match list.iter_mut().find(|(n, _)| *n == to) {
        Some(e) if e.1 <= w => false,
        Some(e) => {
            e.1 = w;
            true
        }
        None => {
            list.push((to, w));
            true
        }
    }
}

/// Reusable state of the witness searches.
struct Witness {
    dist: Vec<u32>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(u32, u32)>>,
}

impl Witness {
    fn new(n: usize) -> Witness {
        Witness {
            dist: vec![INF; n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// Distances from `from` in the remaining graph, avoiding `skip`, up to `limit`.
    fn run(&mut self, g: &Work, from: u32, skip: u32, limit: u32) {
        for &v in &self.touched {
            self.dist[v as usize] = INF;
        }
        self.touched.clear();
        self.heap.clear();
        self.dist[from as usize] = 0;
        self.touched.push(from);
        self.heap.push(Reverse((0, from)));
        let mut settled = 0;
        while let Some(Reverse((d, u))) = self.heap.pop() {
            if d > self.dist[u as usize] {
                continue;
            }
            settled += 1;
            if d > limit || settled > WITNESS_SETTLE {
                break;
            }
            for &(v, w) in &g.out[u as usize] {
                if v == skip || g.contracted[v as usize] {
                    continue;
                }
                let nd = d.saturating_add(w);
                if nd < self.dist[v as usize] {
                    if self.dist[v as usize] == INF {
                        self.touched.push(v);
                    }
                    self.dist[v as usize] = nd;
                    self.heap.push(Reverse((nd, v)));
                }
            }
        }
    }
}

impl Work {
    fn new(g: &Csr) -> Work {
        let n = g.num_nodes();
        let mut w = Work {
            out: vec![Vec::new(); n],
            inc: vec![Vec::new(); n],
            contracted: vec![false; n],
            deleted: vec![0; n],
            len: std::collections::HashMap::new(),
        };
        for u in 0..n as u32 {
            for a in g.out_arcs(u) {
                let v = g.head(a);
                if v != u {
                    w.add(u, v, g.weight(a), g.length_m(a) as f64);
                }
            }
        }
        w
    }

    /// Adds arc `u → v` unless a lighter (or equal) one is there; on a tie the first stays.
    fn add(&mut self, u: u32, v: u32, weight: u32, len: f64) {
        if upsert(&mut self.out[u as usize], v, weight) {
            upsert(&mut self.inc[v as usize], u, weight);
            self.len.insert((u, v), len);
        }
    }

    /// The shortcuts contracting `v` needs now.
    fn shortcuts(&self, v: u32, wit: &mut Witness) -> Vec<(u32, u32, u32)> {
        let live = |list: &Vec<(u32, u32)>| -> Vec<(u32, u32)> {
            list.iter()
                .copied()
                .filter(|(n, _)| !self.contracted[*n as usize] && *n != v)
                .collect()
        };
        let (ins, outs) = (live(&self.inc[v as usize]), live(&self.out[v as usize]));
        let mut found = Vec::new();
        if outs.is_empty() {
            return found;
        }
        let max_out = outs.iter().map(|x| x.1).max().unwrap_or(0);
        for &(u, wu) in &ins {
            wit.run(self, u, v, wu.saturating_add(max_out));
            for &(x, wx) in &outs {
                if x == u {
                    continue;
                }
                let via = wu.saturating_add(wx);
                if wit.dist[x as usize] > via {
                    found.push((u, x, via));
                }
            }
        }
        found
    }

    /// Contracts `v`: adds its shortcuts (with their road lengths) and marks it; returns how
    /// many shortcuts it added.
    fn contract(&mut self, v: u32, found: Vec<(u32, u32, u32)>) -> usize {
        let n = found.len();
        for (u, x, w) in found {
            let len = self.len[&(u, v)] + self.len[&(v, x)];
            self.add(u, x, w, len);
        }
        self.contracted[v as usize] = true;
        n
    }

    /// The priority of contracting `v` now, and the shortcuts it would add.
    fn evaluate(&self, v: u32, wit: &mut Witness) -> (i64, Vec<(u32, u32, u32)>) {
        let degree = |list: &Vec<(u32, u32)>| {
            list.iter()
                .filter(|(n, _)| !self.contracted[*n as usize])
                .count() as i64
        };
        let removed = degree(&self.inc[v as usize]) + degree(&self.out[v as usize]);
        let found = self.shortcuts(v, wit);
        let priority = 2 * (found.len() as i64 - removed) + i64::from(self.deleted[v as usize]);
        (priority, found)
    }
}

impl Hierarchy {
    /// Contracts every node of `g` (weights as they are: milliseconds for road graphs).
    pub fn build(g: &Csr) -> Hierarchy {
        let n = g.num_nodes();
        let mut work = Work::new(g);
        let mut wit = Witness::new(n);
        let mut heap: BinaryHeap<Reverse<(i64, u32)>> = (0..n as u32)
            .map(|v| Reverse((work.evaluate(v, &mut wit).0, v)))
            .collect();
        let mut rank = vec![u32::MAX; n];
        let mut next = 0u32;
        let mut shortcuts = 0;
        while let Some(Reverse((p, v))) = heap.pop() {
            if work.contracted[v as usize] {
                continue;
            }
            let (now, found) = work.evaluate(v, &mut wit);
            if now > p
                && let Some(Reverse((top, _))) = heap.peek()
                && now > *top
            {
                heap.push(Reverse((now, v)));
                continue;
            }
            shortcuts += work.contract(v, found);
            rank[v as usize] = next;
            next += 1;
            let mut neighbours: Vec<u32> = work.out[v as usize]
                .iter()
                .chain(&work.inc[v as usize])
                .map(|x| x.0)
                .filter(|u| !work.contracted[*u as usize])
                .collect();
            neighbours.sort_unstable();
            neighbours.dedup();
            for u in neighbours {
                work.deleted[u as usize] += 1;
            }
        }
        Hierarchy::finish(work, rank, shortcuts)
    }

    /// Contracts every node of `g` in a given order (`order[i]` is the `i`-th node contracted),
    /// skipping the priority computation: the re-weighting step of a customisable set-up. With
    /// the order of a hierarchy of the same graph under other weights (the free-flow order for a
    /// rush-hour graph), queries stay exact (any order is correct; a good one keeps them fast)
    /// and preparation costs only the witness searches. `order` must be a permutation of the
    /// nodes; nodes it leaves out are contracted last, in id order.
    pub fn build_in_order(g: &Csr, order: &[u32]) -> Hierarchy {
        let n = g.num_nodes();
        let mut work = Work::new(g);
        let mut wit = Witness::new(n);
        let mut rank = vec![u32::MAX; n];
        let mut next = 0u32;
        let mut shortcuts = 0;
        let rest: Vec<u32> = (0..n as u32).collect();
        for &v in order.iter().chain(&rest) {
            if v as usize >= n || work.contracted[v as usize] {
                continue;
            }
            let found = work.shortcuts(v, &mut wit);
            shortcuts += work.contract(v, found);
            rank[v as usize] = next;
            next += 1;
        }
        Hierarchy::finish(work, rank, shortcuts)
    }

    /// The upward graphs of a finished contraction, stored by rank: node `v`'s arcs are at index
    /// `rank[v]` and name their other end by its rank, so that an upward search, which climbs
    /// towards the highest ranks, reads neighbouring memory.
    fn finish(work: Work, rank: Vec<u32>, shortcuts: usize) -> Hierarchy {
        let n = rank.len();
        let mut up = Vec::new();
        // Backward upward arcs, keyed by their head.
        let mut down = Vec::new();
        for u in 0..n as u32 {
            for &(v, w) in &work.out[u as usize] {
                let (ru, rv) = (rank[u as usize], rank[v as usize]);
                let l = work.len[&(u, v)];
                if ru < rv {
                    up.push((ru, rv, w, l));
                } else if ru > rv {
                    down.push((rv, ru, w, l));
                }
            }
        }
        let (up_first, up_head, up_weight, up_len) = csr_of(n, up);
        let (down_first, down_tail, down_weight, down_len) = csr_of(n, down);
        Hierarchy {
            num_nodes: n,
            rank,
            up_first,
            up_head,
            up_weight,
            up_len,
            down_first,
            down_tail,
            down_weight,
            down_len,
            shortcuts,
        }
    }
}

/// The CSR arrays of arcs `(key, other, weight, length)`, keyed by `key`.
type CsrArrays = (Vec<u32>, Vec<u32>, Vec<u32>, Vec<f64>);

/// Arcs `(key, other, weight, length)` into CSR arrays keyed by `key`.
fn csr_of(n: usize, mut arcs: Vec<(u32, u32, u32, f64)>) -> CsrArrays {
    arcs.sort_unstable_by_key(|a| (a.0, a.1, a.2));
    let mut first = vec![0u32; n + 1];
    for a in &arcs {
        first[a.0 as usize + 1] += 1;
    }
    for i in 0..n {
        first[i + 1] += first[i];
    }
    (
        first,
        arcs.iter().map(|a| a.1).collect(),
        arcs.iter().map(|a| a.2).collect(),
        arcs.iter().map(|a| a.3).collect(),
    )
}
