//! The compact query graph: compressed sparse rows with forward and reverse adjacency.
//!
//! This module owns the memory layout that every travel-time query runs on: `u32` node ids,
//! travel times as integer milliseconds, lengths in metres alongside. It must not parse files or
//! choose speeds: a [`Csr`] is built either from a [`RoadNetwork`] and a [`SpeedProfile`], or from
//! plain arcs (DIMACS benchmark graphs, tests).

use super::RoadNetwork;
use super::profile::{ProfileError, SpeedProfile};

/// No segment behind an arc (graphs built from plain arcs).
pub const NO_SEGMENT: u32 = u32::MAX;

/// One directed arc, as input to [`Csr::from_arcs`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ArcSpec {
    pub tail: u32,
    pub head: u32,
    /// Weight: milliseconds for road graphs, the file's unit for DIMACS graphs. Must be > 0.
    pub weight: u32,
    pub length_m: f32,
    /// `segment << 1 | reversed`, or [`NO_SEGMENT`].
    pub segment: u32,
}

/// A static directed graph in forward and reverse CSR form.
#[derive(Debug, Clone)]
pub struct Csr {
    num_nodes: usize,
    first_out: Vec<u32>,
    head: Vec<u32>,
    weight: Vec<u32>,
    length_m: Vec<f32>,
    segment: Vec<u32>,
    first_in: Vec<u32>,
    in_tail: Vec<u32>,
    in_weight: Vec<u32>,
    /// Forward arc id of each reverse entry.
    in_arc: Vec<u32>,
    /// Per road segment: time along / against its geometry, `u32::MAX` where not allowed.
    seg_time: Vec<[u32; 2]>,
}

impl Csr {
    /// Builds a CSR from arbitrary arcs (parallel arcs and self-loops are kept).
    pub fn from_arcs(num_nodes: usize, arcs: &[ArcSpec]) -> Csr {
        let m = arcs.len();
        let mut first_out = vec![0u32; num_nodes + 1];
        for a in arcs {
            first_out[a.tail as usize + 1] += 1;
        }
        for i in 0..num_nodes {
            first_out[i + 1] += first_out[i];
        }
        let mut pos = first_out.clone();
        let (mut head, mut weight, mut length_m, mut segment) =
            (vec![0; m], vec![0; m], vec![0.0; m], vec![0; m]);
        let mut arc_id = vec![0u32; m];
        for (i, a) in arcs.iter().enumerate() {
            let p = pos[a.tail as usize] as usize;
            pos[a.tail as usize] += 1;
            head[p] = a.head;
            weight[p] = a.weight;
            length_m[p] = a.length_m;
            segment[p] = a.segment;
            arc_id[i] = p as u32;
        }
        let mut first_in = vec![0u32; num_nodes + 1];
        for a in arcs {
            first_in[a.head as usize + 1] += 1;
        }
        for i in 0..num_nodes {
            first_in[i + 1] += first_in[i];
        }
        let mut pos = first_in.clone();
        let (mut in_tail, mut in_weight, mut in_arc) = (vec![0; m], vec![0; m], vec![0; m]);
        for (i, a) in arcs.iter().enumerate() {
            let p = pos[a.head as usize] as usize;
            pos[a.head as usize] += 1;
            in_tail[p] = a.tail;
            in_weight[p] = a.weight;
            in_arc[p] = arc_id[i];
        }
        Csr {
            num_nodes,
            first_out,
            head,
            weight,
            length_m,
            segment,
            first_in,
            in_tail,
            in_weight,
            in_arc,
            seg_time: Vec::new(),
        }
    }

    /// Builds the query graph of a road network under a speed profile.
    pub fn build(net: &RoadNetwork, profile: &SpeedProfile) -> Result<Csr, ProfileError> {
        Csr::build_with_factor(net, profile, |_| 1.0)
    }

    /// As [`Csr::build`], with each segment's time multiplied by `factor(class)` (a traffic
    /// profile's factors at one hour; see [`super::traffic`]). Each arc's time is rounded once,
    /// from the exact product, so a factor of 1.0 gives exactly [`Csr::build`]'s graph.
    pub fn build_with_factor(
        net: &RoadNetwork,
        profile: &SpeedProfile,
        factor: impl Fn(super::RoadClass) -> f64,
    ) -> Result<Csr, ProfileError> {
        profile.validate()?;
        let mut arcs = Vec::with_capacity(net.segments.len() * 2);
        let mut seg_time = Vec::with_capacity(net.segments.len());
        for (i, s) in net.segments.iter().enumerate() {
            let f = factor(s.class);
            let fwd = profile.travel_time_ms_scaled(s, true, f);
            let bwd = profile.travel_time_ms_scaled(s, false, f);
            if let Some(w) = fwd {
                arcs.push(ArcSpec {
                    tail: s.from,
                    head: s.to,
                    weight: w,
                    length_m: s.length_m as f32,
                    segment: (i as u32) << 1,
                });
            }
            if let Some(w) = bwd {
                arcs.push(ArcSpec {
                    tail: s.to,
                    head: s.from,
                    weight: w,
                    length_m: s.length_m as f32,
                    segment: (i as u32) << 1 | 1,
                });
            }
            seg_time.push([fwd.unwrap_or(u32::MAX), bwd.unwrap_or(u32::MAX)]);
        }
        let mut csr = Csr::from_arcs(net.nodes.len(), &arcs);
        csr.seg_time = seg_time;
        Ok(csr)
    }

    pub fn num_nodes(&self) -> usize {
        self.num_nodes
    }

    pub fn num_arcs(&self) -> usize {
        self.head.len()
    }

    /// Forward arc ids leaving `v`.
    #[inline]
    pub fn out_arcs(&self, v: u32) -> std::ops::Range<usize> {
        self.first_out[v as usize] as usize..self.first_out[v as usize + 1] as usize
    }

    /// Reverse entries (indices into the reverse arrays) entering `v`.
    #[inline]
    pub fn in_entries(&self, v: u32) -> std::ops::Range<usize> {
        self.first_in[v as usize] as usize..self.first_in[v as usize + 1] as usize
    }

    #[inline]
    pub fn head(&self, arc: usize) -> u32 {
        self.head[arc]
    }

    #[inline]
    pub fn weight(&self, arc: usize) -> u32 {
        self.weight[arc]
    }

    #[inline]
    pub fn length_m(&self, arc: usize) -> f32 {
        self.length_m[arc]
    }

    /// `segment << 1 | reversed` behind a forward arc, or [`NO_SEGMENT`].
    #[inline]
    pub fn segment(&self, arc: usize) -> u32 {
        self.segment[arc]
    }

    #[inline]
    pub(crate) fn in_entry(&self, e: usize) -> (u32, u32, usize) {
        (self.in_tail[e], self.in_weight[e], self.in_arc[e] as usize)
    }

    /// Tail of a forward arc (by binary search over the row offsets).
    pub fn tail(&self, arc: usize) -> u32 {
        (self.first_out.partition_point(|&f| f as usize <= arc) - 1) as u32
    }

    /// Travel time along segment `s` (`[forward, backward]`, `u32::MAX` where not allowed).
    /// Empty for graphs built from plain arcs.
    pub fn segment_times(&self, s: u32) -> [u32; 2] {
        self.seg_time
            .get(s as usize)
            .copied()
            .unwrap_or([u32::MAX; 2])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_reverse_rows_match() {
        let arcs =
            [(0, 1, 5), (0, 2, 3), (2, 1, 1), (1, 0, 2), (2, 2, 7)].map(|(t, h, w)| ArcSpec {
                tail: t,
                head: h,
                weight: w,
                length_m: w as f32,
                segment: NO_SEGMENT,
            });
        let g = Csr::from_arcs(3, &arcs);
        assert_eq!(g.num_arcs(), 5);
        let outs: Vec<(u32, u32)> = g.out_arcs(0).map(|a| (g.head(a), g.weight(a))).collect();
        assert_eq!(outs, vec![(1, 5), (2, 3)]);
        let ins: Vec<(u32, u32)> = g
            .in_entries(1)
            .map(|e| (g.in_entry(e).0, g.in_entry(e).1))
            .collect();
        assert_eq!(ins, vec![(0, 5), (2, 1)]);
        for a in 0..g.num_arcs() {
            let t = g.tail(a);
            assert!(g.out_arcs(t).contains(&a));
        }
    }
}
