//! Queries on a hierarchy: point-to-point times ([`ChQuery::time`]), scans of kept buckets and
//! many-to-many tables by the bucket method.
//!
//! This module owns which searches a query runs and how their results combine. It must not
//! build or change the hierarchy (that is `super::contract`).

use rayon::prelude::*;

use super::buckets::Buckets;
use super::search::Upward;
use super::{Hierarchy, PARALLEL_FROM, chunk_len};
use crate::network::dijkstra::{INF, Seed};

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
