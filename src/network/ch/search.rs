//! One upward search with stall-on-demand, reusable between queries: the building block of the
//! point-to-point query, of filling buckets and of scanning them.
//!
//! This module owns the search's state and steps. It must not decide which searches a query
//! runs (that is `super::query`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::Hierarchy;
use super::buckets::{Buckets, Entry};
use crate::network::dijkstra::{INF, Seed};

/// One upward search's state, reusable; indexed by rank.
#[derive(Debug, Clone)]
pub(super) struct Upward {
    pub(super) dist: Vec<u32>,
    /// Road length along the path that gave `dist`, metres.
    len: Vec<f64>,
    touched: Vec<u32>,
    heap: BinaryHeap<Reverse<(u32, u32)>>,
}

impl Upward {
    pub(super) fn new(n: usize) -> Upward {
        Upward {
            dist: vec![INF; n],
            len: vec![0.0; n],
            touched: Vec::new(),
            heap: BinaryHeap::new(),
        }
    }

    /// An upward search from the seeds (nodes by id) with stall-on-demand; `settle(rank,
    /// dist, length)` sees each settled, unstalled node once and returns `false` to stop.
    pub(super) fn run(
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
    pub(super) fn start(&mut self, h: &Hierarchy, seeds: &[Seed]) {
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
    pub(super) fn min_key(&self) -> u32 {
        self.heap.peek().map_or(INF, |Reverse((d, _))| *d)
    }

    /// Settles the next node that is neither stale nor stalled, relaxes its upward arcs and
    /// returns `(rank, dist, length)`; `None` once the queue is empty or beyond `cutoff`.
    pub(super) fn next(
        &mut self,
        h: &Hierarchy,
        forward: bool,
        cutoff: u32,
    ) -> Option<(u32, u32, f64)> {
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
    pub(super) fn fill(
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
    pub(super) fn scan(
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
