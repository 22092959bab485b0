//! Buckets: the upward search spaces of a set of points, sorted by node, kept to answer many
//! queries from (or to) other points ([`ChQuery::scan`](super::ChQuery::scan), the tables).
//!
//! This module owns making and storing them. It must not run the opposite search that reads
//! them (that is `super::search`).

use rayon::prelude::*;

use super::search::Upward;
use super::{Hierarchy, PARALLEL_FROM, chunk_len};
use crate::network::dijkstra::{INF, Seed};

impl Hierarchy {
    /// Runs the upward searches from each point (forward: from the points; backward: to them)
    /// and keeps, at every node they settle, `(point, time, length)`: the buckets that
    /// [`ChQuery::scan`](crate::network::ch::ChQuery::scan) reads. Built once, they answer any number of queries from (or to)
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
    pub(super) fn buckets_with(
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

/// One settled node of one point's upward search, before sorting into buckets.
pub(super) struct Entry {
    pub(super) rank: u32,
    pub(super) point: u32,
    pub(super) time: u32,
    pub(super) len: f64,
}

/// The upward search spaces of a set of points, by node (rank): for each node, the points
/// whose search settled it, with the time and road length between point and node. Made by
/// [`Hierarchy::buckets`]; one flat array per field, so a scan reads contiguous memory.
#[derive(Debug, Clone)]
pub struct Buckets {
    /// `true` when the searches ran forward (from the points).
    pub(super) forward: bool,
    pub(super) points: usize,
    /// The cutoff the searches stopped at.
    pub(super) cutoff: u32,
    pub(super) first: Vec<u32>,
    pub(super) point: Vec<u32>,
    pub(super) time: Vec<u32>,
    pub(super) len: Vec<f64>,
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
