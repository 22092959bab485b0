//! A contraction hierarchy over a [`Csr`]: preprocessing, point-to-point queries and
//! many-to-many tables by the bucket method (issue #13).
//!
//! This module owns the hierarchy and its queries on travel times. It must not snap points:
//! like the Dijkstra search it takes [`Seed`]s (a node and the cost of the partial edge to it),
//! so snapped points work exactly as with Dijkstra. The travel model answers large matrices with
//! it (`TravelModel::matrix`); Dijkstra answers the other queries and is this module's oracle.
//!
//! # Algorithm
//! Geisberger et al., "Contraction Hierarchies" (WEA 2008). Nodes are contracted one at a time,
//! in the order of a priority `2 × (shortcuts − removed arcs) + contracted neighbours`, kept in a
//! heap with lazy updates (a popped node is re-evaluated; if it is no longer the smallest it goes
//! back). Contracting `v` adds a shortcut `u → w` of weight `w(u,v) + w(v,w)` unless a witness
//! search from `u` that avoids `v` (Dijkstra bounded by that weight and by [`WITNESS_SETTLE`]
//! settled nodes) finds a path at most as short. A bounded witness search can only add
//! needless shortcuts, never lose a path, so queries stay exact.
//!
//! Queries search *upward* only (to higher-ranked nodes): forward from the sources, backward
//! from the targets; the shortest path's highest node is met by both, so the distance is the
//! minimum over nodes of `forward + backward`. Both searches stall on demand (a node reached
//! more cheaply from a higher node by an arc down to it is not expanded). A point-to-point
//! query alternates the two searches, the closer queue first, and stops each once its queue
//! is no closer than the best meeting. A table (Knopp et al., ALENEX 2007) runs one backward
//! search per target, storing `(target, time, length)` in a bucket at every node it settles,
//! then one forward search per source that scans the buckets of the nodes it settles. The
//! buckets ([`Buckets`]) are one flat array sorted by node, and can be kept: the units'
//! forward buckets answer "which units are within N minutes of this call" with one backward
//! search from the call ([`ChQuery::scan`]).
//!
//! Storage: the upward graphs and every search array are indexed by rank, not node id, so a
//! search, which climbs towards the top ranks, reads neighbouring memory (the hierarchy's
//! nodes renumbered in contraction order, as in RoutingKit and OSRM).
//!
//! Complexity: preprocessing is near-linear on road graphs in practice (no bound in general);
//! upward searches settle a few hundred nodes on road graphs of 10⁴–10⁵ nodes, so a query costs
//! microseconds and an `S × T` table `O((S + T) × upward + Σ bucket scans)`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use super::csr::Csr;
use super::dijkstra::{INF, Seed};

/// Tables with fewer sources run their forward searches on the calling thread.
pub const PARALLEL_FROM: usize = 64;

/// Nodes a witness search may settle before it gives up (and the shortcut is added).
pub const WITNESS_SETTLE: usize = 500;

/// A contraction hierarchy: each node's rank and the two upward graphs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Hierarchy {
    num_nodes: usize,
    /// Contraction order: `rank[v]` is when `v` was contracted (0 first).
    rank: Vec<u32>,
    /// Forward upward graph: arcs `u → w` with `rank[u] < rank[w]`, by the tail's rank, heads
    /// named by rank (every array below is indexed and filled by rank, not node id).
    up_first: Vec<u32>,
    up_head: Vec<u32>,
    up_weight: Vec<u32>,
    /// Road length of each upward arc (a shortcut's is the sum of its two arcs'), metres.
    up_len: Vec<f64>,
    /// Backward upward graph: arcs `u → w` with `rank[u] > rank[w]`, stored at `rank[w]` with
    /// `rank[u]`.
    down_first: Vec<u32>,
    down_tail: Vec<u32>,
    down_weight: Vec<u32>,
    down_len: Vec<f64>,
    /// Shortcuts added by the contraction.
    pub shortcuts: usize,
}

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

    /// Checks that the hierarchy is well formed for a graph of `num_nodes` nodes (ranks a
    /// permutation, row offsets monotone and in range, arc ends in range, one length per arc),
    /// so that a hierarchy read from a file can never make a query index out of bounds. It does
    /// not prove the distances right: the cache's checksum and profile key do that.
    pub fn validate(&self, num_nodes: usize) -> Result<(), String> {
        let n = self.num_nodes;
        if n != num_nodes || self.rank.len() != n {
            return Err(format!("{n} nodes, the graph has {num_nodes}"));
        }
        let mut seen = vec![false; n];
        for &r in &self.rank {
            match seen.get_mut(r as usize) {
                Some(x) if !*x => *x = true,
                _ => return Err("the ranks are not a permutation".into()),
            }
        }
        let rows = |first: &[u32], ends: &[u32], w: &[u32], l: &[f64], what: &str| {
            let ok = first.len() == n + 1
                && first.first() == Some(&0)
                && first.windows(2).all(|x| x[0] <= x[1])
                && first.last().map(|&x| x as usize) == Some(ends.len())
                && w.len() == ends.len()
                && l.len() == ends.len()
                && ends.iter().all(|&v| (v as usize) < n);
            if ok {
                Ok(())
            } else {
                Err(format!("the {what} graph is malformed"))
            }
        };
        rows(
            &self.up_first,
            &self.up_head,
            &self.up_weight,
            &self.up_len,
            "upward",
        )?;
        rows(
            &self.down_first,
            &self.down_tail,
            &self.down_weight,
            &self.down_len,
            "downward",
        )
    }

    /// The contraction order: the nodes by rank.
    pub fn order(&self) -> Vec<u32> {
        let mut order = vec![0u32; self.num_nodes];
        for (v, &r) in self.rank.iter().enumerate() {
            order[r as usize] = v as u32;
        }
        order
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

    pub fn num_nodes(&self) -> usize {
        self.num_nodes
    }

    /// A node's rank in the contraction order.
    pub fn rank(&self, v: u32) -> u32 {
        self.rank[v as usize]
    }

    /// Arcs in both upward graphs (originals and shortcuts).
    pub fn num_arcs(&self) -> usize {
        self.up_head.len() + self.down_tail.len()
    }

    /// Bytes held by the hierarchy's arrays.
    pub fn memory_bytes(&self) -> usize {
        4 * (self.rank.len()
            + self.up_first.len()
            + self.up_head.len()
            + self.up_weight.len()
            + self.down_first.len()
            + self.down_tail.len()
            + self.down_weight.len())
            + 8 * (self.up_len.len() + self.down_len.len())
    }

    /// The upward arcs at rank `r`: `(other end's rank, weight, length)`.
    fn upward(&self, forward: bool, r: u32) -> impl Iterator<Item = (u32, u32, f64)> + '_ {
        let (first, to, w, len) = if forward {
            (&self.up_first, &self.up_head, &self.up_weight, &self.up_len)
        } else {
            (
                &self.down_first,
                &self.down_tail,
                &self.down_weight,
                &self.down_len,
            )
        };
        let r = first[r as usize] as usize..first[r as usize + 1] as usize;
        r.map(move |i| (to[i], w[i], len[i]))
    }

    /// Runs the upward searches from each point (forward: from the points; backward: to them)
    /// and keeps, at every node they settle, `(point, time, length)`: the buckets that
    /// [`ChQuery::scan`] reads. Built once, they answer any number of queries from (or to)
    /// other points, e.g. "which units are within N minutes of this call" with the units'
    /// forward buckets. Many points are searched in parallel (rayon). `O(points × upward)`.
    pub fn buckets(&self, points: &[Vec<Seed>], forward: bool, cutoff: Option<u32>) -> Buckets {
        if points.len() < PARALLEL_FROM {
            return self.buckets_with(&mut Upward::new(self.num_nodes), points, forward, cutoff);
        }
        let cut = cutoff.unwrap_or(INF - 1);
        let chunk = chunk_len(points.len());
        let parts: Vec<Vec<Entry>> = points
            .par_chunks(chunk)
            .enumerate()
            .map(|(c, ps)| {
                let mut out = Vec::new();
                Upward::new(self.num_nodes).fill(self, forward, cut, c * chunk, ps, &mut out);
                out
            })
            .collect();
        let entries = parts.into_iter().flatten().collect();
        Buckets::of(self.num_nodes, forward, points.len(), cut, entries)
    }

    /// [`Hierarchy::buckets`] on one thread, with a given search state.
    fn buckets_with(
        &self,
        up: &mut Upward,
        points: &[Vec<Seed>],
        forward: bool,
        cutoff: Option<u32>,
    ) -> Buckets {
        let cut = cutoff.unwrap_or(INF - 1);
        let mut out = Vec::new();
        up.fill(self, forward, cut, 0, points, &mut out);
        Buckets::of(self.num_nodes, forward, points.len(), cut, out)
    }
}

/// How many items each parallel chunk takes: a few chunks per thread, each with its own search
/// state.
fn chunk_len(items: usize) -> usize {
    items.div_ceil(4 * rayon::current_num_threads()).max(1)
}

/// One settled node of one point's upward search, before sorting into buckets.
struct Entry {
    rank: u32,
    point: u32,
    time: u32,
    len: f64,
}

/// The upward search spaces of a set of points, by node (rank): for each node, the points
/// whose search settled it, with the time and road length between point and node. Made by
/// [`Hierarchy::buckets`]; one flat array per field, so a scan reads contiguous memory.
#[derive(Debug, Clone)]
pub struct Buckets {
    /// `true` when the searches ran forward (from the points).
    forward: bool,
    points: usize,
    /// The cutoff the searches stopped at.
    cutoff: u32,
    first: Vec<u32>,
    point: Vec<u32>,
    time: Vec<u32>,
    len: Vec<f64>,
}

impl Buckets {
    /// Sorts entries into buckets by rank (counting sort; entries of one bucket keep their
    /// order, which is by point when the searches ran in point order).
    fn of(n: usize, forward: bool, points: usize, cutoff: u32, entries: Vec<Entry>) -> Buckets {
        let mut first = vec![0u32; n + 1];
        for e in &entries {
            first[e.rank as usize + 1] += 1;
        }
        for i in 0..n {
            first[i + 1] += first[i];
        }
        let mut next = first.clone();
        let m = entries.len();
        let (mut point, mut time, mut len) = (vec![0u32; m], vec![0u32; m], vec![0f64; m]);
        for e in entries {
            let i = next[e.rank as usize] as usize;
            next[e.rank as usize] += 1;
            point[i] = e.point;
            time[i] = e.time;
            len[i] = e.len;
        }
        Buckets {
            forward,
            points,
            cutoff,
            first,
            point,
            time,
            len,
        }
    }

    /// How many points the buckets were made for.
    pub fn points(&self) -> usize {
        self.points
    }

    /// The bucket entries a table between these points and `other`'s would meet: the sum
    /// over nodes of the product of the two buckets' sizes (the scan work of a table, with
    /// stalling as it was when the buckets were made).
    pub fn meetings(&self, other: &Buckets) -> u64 {
        let size = |b: &Buckets, r: usize| u64::from(b.first[r + 1] - b.first[r]);
        (0..self.first.len().min(other.first.len()).saturating_sub(1))
            .map(|r| size(self, r) * size(other, r))
            .sum()
    }

    /// Entries over all buckets (the points' search spaces added up).
    pub fn len(&self) -> usize {
        self.point.len()
    }

    pub fn is_empty(&self) -> bool {
        self.point.is_empty()
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

/// One upward search's state, reusable; indexed by rank.
#[derive(Debug, Clone)]
struct Upward {
    dist: Vec<u32>,
    /// Road length along the path that gave `dist`, metres.
    len: Vec<f64>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(u32, u32)>>,
}

impl Upward {
    fn new(n: usize) -> Upward {
        Upward {
            dist: vec![INF; n],
            len: vec![0.0; n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// An upward search from the seeds (nodes by id) with stall-on-demand; `settle(rank,
    /// dist, length)` sees each settled, unstalled node once and returns `false` to stop.
    fn run(
        &mut self,
        h: &Hierarchy,
        forward: bool,
        seeds: &[Seed],
        cutoff: u32,
        mut settle: impl FnMut(u32, u32, f64) -> bool,
    ) {
        self.start(h, seeds);
        while let Some((u, d, l)) = self.next(h, forward, cutoff) {
            if !settle(u, d, l) {
                break;
            }
        }
    }

    /// Resets the state and queues the seeds (nodes by id; unknown nodes are skipped).
    fn start(&mut self, h: &Hierarchy, seeds: &[Seed]) {
        for &v in &self.touched {
            self.dist[v as usize] = INF;
        }
        self.touched.clear();
        self.heap.clear();
        for s in seeds {
            let Some(&r) = h.rank.get(s.node as usize) else {
                continue;
            };
            let d = &mut self.dist[r as usize];
            if *d == INF {
                self.touched.push(r);
            }
            if s.time < *d {
                *d = s.time;
                self.len[r as usize] = s.length_m;
                self.heap.push(Reverse((s.time, r)));
            }
        }
    }

    /// The smallest queued distance (a lower bound: stale entries included), `INF` if none.
    fn min_key(&self) -> u32 {
        self.heap.peek().map_or(INF, |Reverse((d, _))| *d)
    }

    /// Settles the next node that is neither stale nor stalled, relaxes its upward arcs and
    /// returns `(rank, dist, length)`; `None` once the queue is empty or beyond `cutoff`.
    fn next(&mut self, h: &Hierarchy, forward: bool, cutoff: u32) -> Option<(u32, u32, f64)> {
        while let Some(Reverse((d, u))) = self.heap.pop() {
            if d > self.dist[u as usize] {
                continue;
            }
            if d > cutoff {
                // Both halves of a path are at most its length: nothing beyond can count.
                self.heap.clear();
                return None;
            }
            // Stall-on-demand: a higher node reaches `u` more cheaply by an arc down to it, so
            // no shortest path goes upward through `u` at this distance.
            let stalled = h
                .upward(!forward, u)
                .any(|(w, wt, _)| self.dist[w as usize].saturating_add(wt) < d);
            if stalled {
                continue;
            }
            let lu = self.len[u as usize];
            for (v, w, l) in h.upward(forward, u) {
                let nd = d.saturating_add(w);
                let dv = &mut self.dist[v as usize];
                if nd < *dv {
                    if *dv == INF {
                        self.touched.push(v);
                    }
                    *dv = nd;
                    self.len[v as usize] = lu + l;
                    self.heap.push(Reverse((nd, v)));
                }
            }
            return Some((u, d, lu));
        }
        None
    }

    /// Runs the searches of `points` (numbered from `first`) and pushes every node they settle
    /// as a bucket entry.
    fn fill(
        &mut self,
        h: &Hierarchy,
        forward: bool,
        cutoff: u32,
        first: usize,
        points: &[Vec<Seed>],
        out: &mut Vec<Entry>,
    ) {
        for (i, p) in points.iter().enumerate() {
            self.run(h, forward, p, cutoff, |r, d, l| {
                out.push(Entry {
                    rank: r,
                    point: (first + i) as u32,
                    time: d,
                    len: l,
                });
                true
            });
        }
    }

    /// Runs the search opposite to the buckets' from `seeds`, improving `times[j]` and
    /// `lens[j]` (point `j` of the buckets) at every bucket it meets.
    fn scan(
        &mut self,
        h: &Hierarchy,
        b: &Buckets,
        seeds: &[Seed],
        cutoff: u32,
        times: &mut [u32],
        lens: &mut [f64],
    ) {
        self.run(h, !b.forward, seeds, cutoff, |r, d, l| {
            let range = b.first[r as usize] as usize..b.first[r as usize + 1] as usize;
            let entries = b.point[range.clone()]
                .iter()
                .zip(&b.time[range.clone()])
                .zip(&b.len[range]);
            for ((&j, &bt), &bl) in entries {
                // Branch-free (conditional moves): whether an entry improves its target is
                // unpredictable, and a mispredicted branch costs more than the update.
                let c = d.saturating_add(bt);
                let (t, len) = (&mut times[j as usize], &mut lens[j as usize]);
                let better = c < *t;
                *len = if better { l + bl } else { *len };
                *t = (*t).min(c);
            }
            true
        });
    }
}

/// Query state for one hierarchy; keeps its arrays between queries.
#[derive(Debug, Clone)]
pub struct ChQuery {
    fwd: Upward,
    bwd: Upward,
}

impl ChQuery {
    pub fn new(h: &Hierarchy) -> ChQuery {
        ChQuery {
            fwd: Upward::new(h.num_nodes),
            bwd: Upward::new(h.num_nodes),
        }
    }

    /// The shortest time from any source seed to any target seed, `None` if unreachable.
    pub fn time(&mut self, h: &Hierarchy, sources: &[Seed], targets: &[Seed]) -> Option<u32> {
        self.time_within(h, sources, targets, None)
    }

    /// [`ChQuery::time`] up to a cutoff (inclusive): `None` beyond it. Both searches stop at
    /// the cutoff, so a short cutoff costs less.
    pub fn time_within(
        &mut self,
        h: &Hierarchy,
        sources: &[Seed],
        targets: &[Seed],
        cutoff: Option<u32>,
    ) -> Option<u32> {
        let cut = cutoff.unwrap_or(INF - 1);
        // Both searches in turn, the one with the closer queue first; each stops once its
        // queue is no closer than the best meeting (nothing it settles later can do better).
        self.fwd.start(h, sources);
        self.bwd.start(h, targets);
        let mut best = INF;
        loop {
            let (f, b) = (self.fwd.min_key(), self.bwd.min_key());
            if f.min(b) >= best || f.min(b) > cut {
                break;
            }
            let (this, other, forward) = if f <= b {
                (&mut self.fwd, &self.bwd, true)
            } else {
                (&mut self.bwd, &self.fwd, false)
            };
            // `None` leaves that queue empty, so the next round takes the other side.
            if let Some((v, d, _)) = this.next(h, forward, cut) {
                let o = other.dist[v as usize];
                if o != INF {
                    best = best.min(d.saturating_add(o));
                }
            }
        }
        (best <= cut).then_some(best)
    }

    /// [`Hierarchy::buckets`] with this query's search state for a few points (fewer than
    /// [`PARALLEL_FROM`]: no new per-node arrays, which on a large map cost more than the
    /// searches); many points go to the parallel fill.
    pub fn buckets(
        &mut self,
        h: &Hierarchy,
        points: &[Vec<Seed>],
        forward: bool,
        cutoff: Option<u32>,
    ) -> Buckets {
        if points.len() >= PARALLEL_FROM {
            return h.buckets(points, forward, cutoff);
        }
        h.buckets_with(&mut self.bwd, points, forward, cutoff)
    }

    /// Times and road lengths between `seeds` and every point of prepared buckets, up to the
    /// smaller of `cutoff` and the buckets' own: from the buckets' points to `seeds` when
    /// they were searched forward (units to a call), from `seeds` to them otherwise. One
    /// upward search and the scans of the buckets it meets: with the units' buckets kept
    /// while they stand still, "units within N minutes of this call" costs one search.
    pub fn scan(
        &mut self,
        h: &Hierarchy,
        b: &Buckets,
        seeds: &[Seed],
        cutoff: Option<u32>,
    ) -> Vec<Option<(u32, f64)>> {
        let cut = cutoff.unwrap_or(INF - 1).min(b.cutoff);
        let (mut times, mut lens) = (vec![INF; b.points], vec![0.0; b.points]);
        self.fwd.scan(h, b, seeds, cut, &mut times, &mut lens);
        times
            .into_iter()
            .zip(lens)
            .map(|(t, l)| (t <= cut).then_some((t, l)))
            .collect()
    }

    /// The `S × T` table of shortest times (row-major: `out[s * T + t]`), `None` where
    /// unreachable. The backward searches fill the buckets; the forward searches run in
    /// parallel (rayon), each thread with its own search state, reading the buckets.
    pub fn table(
        &mut self,
        h: &Hierarchy,
        sources: &[Vec<Seed>],
        targets: &[Vec<Seed>],
    ) -> Vec<Option<u32>> {
        self.table_within(h, sources, targets, None)
    }

    /// [`ChQuery::table`] up to a cutoff (inclusive), e.g. the units within N minutes of a
    /// call (many sources, one target): every search stops at the cutoff.
    pub fn table_within(
        &mut self,
        h: &Hierarchy,
        sources: &[Vec<Seed>],
        targets: &[Vec<Seed>],
        cutoff: Option<u32>,
    ) -> Vec<Option<u32>> {
        self.table_with_lengths(h, sources, targets, cutoff)
            .into_iter()
            .map(|e| e.map(|(t, _)| t))
            .collect()
    }

    /// [`ChQuery::table_within`] with the road length of each fastest path (metres, seeds'
    /// `length_m` included). Where two paths tie on time, the length may be either's.
    pub fn table_with_lengths(
        &mut self,
        h: &Hierarchy,
        sources: &[Vec<Seed>],
        targets: &[Vec<Seed>],
        cutoff: Option<u32>,
    ) -> Vec<Option<(u32, f64)>> {
        let n = sources.len() * targets.len();
        let (mut times, mut lens) = (vec![0u32; n], vec![0f64; n]);
        self.rows_into(
            h,
            sources,
            targets,
            cutoff,
            &mut times,
            &mut lens,
            |l| l,
            f64::NAN,
        );
        times
            .into_iter()
            .zip(lens)
            .map(|(t, l)| (t != INF).then_some((t, l)))
            .collect()
    }

    /// The `S × T` table written into `times` (milliseconds, `INF` where unreachable or
    /// beyond `cutoff`) and `lengths` (metres, NaN there), row-major; both `S × T` long. Each
    /// source scans into a row of its own (kept in cache) that is then copied out once: the
    /// travel model's matrices are filled this way, with no intermediate table.
    ///
    /// # Panics
    /// If `times` or `lengths` is not `S × T` long.
    pub fn table_into(
        &mut self,
        h: &Hierarchy,
        sources: &[Vec<Seed>],
        targets: &[Vec<Seed>],
        cutoff: Option<u32>,
        times: &mut [u32],
        lengths: &mut [f32],
    ) {
        self.rows_into(
            h,
            sources,
            targets,
            cutoff,
            times,
            lengths,
            |l| l as f32,
            f32::NAN,
        );
    }

    /// The table's rows: buckets from the targets, then one forward scan per source (in
    /// parallel from [`PARALLEL_FROM`] sources) into a local row, copied out with `conv`.
    #[allow(clippy::too_many_arguments)]
    fn rows_into<L: Copy + Send + Sync>(
        &mut self,
        h: &Hierarchy,
        sources: &[Vec<Seed>],
        targets: &[Vec<Seed>],
        cutoff: Option<u32>,
        times: &mut [u32],
        lengths: &mut [L],
        conv: impl Fn(f64) -> L + Sync,
        absent: L,
    ) {
        let cut = cutoff.unwrap_or(INF - 1);
        let nt = targets.len();
        assert_eq!(times.len(), sources.len() * nt, "times: S x T entries");
        assert_eq!(lengths.len(), sources.len() * nt, "lengths: S x T entries");
        if nt == 0 {
            return;
        }
        let b = h.buckets(targets, false, Some(cut));
        // One source: scan into the local row, copy it out, reset it.
        let one = |up: &mut Upward,
                   row: &mut (Vec<u32>, Vec<f64>),
                   s: &[Seed],
                   t: &mut [u32],
                   l: &mut [L]| {
            up.scan(h, &b, s, cut, &mut row.0, &mut row.1);
            for j in 0..nt {
                let x = row.0[j];
                let ok = x <= cut;
                t[j] = if ok { x } else { INF };
                l[j] = if ok { conv(row.1[j]) } else { absent };
                row.0[j] = INF;
            }
        };
        if sources.len() < PARALLEL_FROM {
            let mut row = (vec![INF; nt], vec![0.0; nt]);
            for ((s, t), l) in sources
                .iter()
                .zip(times.chunks_mut(nt))
                .zip(lengths.chunks_mut(nt))
            {
                one(&mut self.fwd, &mut row, s, t, l);
            }
        } else {
            // Each chunk with its own search state and row.
            let chunk = chunk_len(sources.len());
            sources
                .par_chunks(chunk)
                .zip(times.par_chunks_mut(chunk * nt))
                .zip(lengths.par_chunks_mut(chunk * nt))
                .for_each(|((srcs, ts), ls)| {
                    let mut up = Upward::new(h.num_nodes);
                    let mut row = (vec![INF; nt], vec![0.0; nt]);
                    for ((s, t), l) in srcs.iter().zip(ts.chunks_mut(nt)).zip(ls.chunks_mut(nt)) {
                        one(&mut up, &mut row, s, t, l);
                    }
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::csr::{ArcSpec, NO_SEGMENT};

    fn arc(tail: u32, head: u32, weight: u32) -> ArcSpec {
        ArcSpec {
            tail,
            head,
            weight,
            length_m: 1.0,
            segment: NO_SEGMENT,
        }
    }

    fn seed(node: u32) -> Vec<Seed> {
        vec![Seed {
            node,
            time: 0,
            length_m: 0.0,
        }]
    }

    #[test]
    fn a_line_and_a_detour() {
        // 0 → 1 → 2 costs 2; the direct 0 → 2 costs 5; 2 cannot go back.
        let g = Csr::from_arcs(3, &[arc(0, 1, 1), arc(1, 2, 1), arc(0, 2, 5)]);
        let h = Hierarchy::build(&g);
        let mut q = ChQuery::new(&h);
        assert_eq!(q.time(&h, &seed(0), &seed(2)), Some(2));
        assert_eq!(q.time(&h, &seed(2), &seed(0)), None);
        assert_eq!(q.time(&h, &seed(1), &seed(1)), Some(0));
        let t = q.table(&h, &[seed(0), seed(2)], &[seed(1), seed(2)]);
        assert_eq!(t, vec![Some(1), Some(2), None, Some(0)]);
    }
}
