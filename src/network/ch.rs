//! A contraction hierarchy over a [`Csr`](crate::network::Csr): preprocessing, point-to-point queries and
//! many-to-many tables by the bucket method (issue #13).
//!
//! This module owns the hierarchy and its queries on travel times. It must not snap points:
//! like the Dijkstra search it takes [`Seed`](crate::network::Seed)s (a node and the cost of the partial edge to it),
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
//!
//! # Layout
//! This file holds the [`Hierarchy`] itself (its arrays by rank, validation, accessors);
//! `contract` builds it, `search` is the one upward search every query uses, `buckets` the
//! kept search spaces ([`Buckets`]) and `query` the queries ([`ChQuery`]).

mod buckets;
mod contract;
mod query;
mod search;
#[cfg(test)]
mod tests;

pub use buckets::Buckets;
pub use query::ChQuery;

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

impl Hierarchy {
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
}

/// How many items each parallel chunk takes: a few chunks per thread, each with its own search
/// state.
fn chunk_len(items: usize) -> usize {
    items.div_ceil(4 * rayon::current_num_threads()).max(1)
}
