//! Travel-time matrices: by Dijkstra (small ones, and the oracle), by the contraction
//! hierarchy (large ones), over weighted hours with a traffic profile, and independent pairs.
//!
//! This module owns which method answers a matrix and how hours combine. It must not snap
//! points or define partial edges (that is `super::snap`).

use rayon::prelude::*;

use super::{CH_MATRIX_FROM, CH_MIN_SIDE, Eta, PAIRS_BY_HIERARCHY, Snapped, TravelModel, faster};
use crate::network::ch::ChQuery;
use crate::network::dijkstra::{Direction, Seed};
use crate::network::traffic::HourTimes;

/// A travel-time matrix, row-major: `rows` sources × `cols` targets.
#[derive(Debug, Clone, PartialEq)]
pub struct Matrix {
    pub rows: usize,
    pub cols: usize,
    /// Milliseconds; [`Matrix::UNREACHABLE`] where no path exists within the cutoff.
    pub time_ms: Vec<u32>,
    /// Metres along the fastest path; NaN where unreachable.
    pub distance_m: Vec<f32>,
}

impl Matrix {
    pub const UNREACHABLE: u32 = u32::MAX;

    /// A `rows × cols` matrix with every entry unreachable.
    fn unreachable(rows: usize, cols: usize) -> Matrix {
        Matrix {
            rows,
            cols,
            time_ms: vec![Matrix::UNREACHABLE; rows * cols],
            distance_m: vec![f32::NAN; rows * cols],
        }
    }

    /// Sets entry `(r, c)` where there is one (times capped below [`Matrix::UNREACHABLE`]).
    fn put(&mut self, r: usize, c: usize, e: &Option<Eta>) {
        if let Some(e) = e {
            self.time_ms[r * self.cols + c] = e.time_ms.min(u32::MAX as u64 - 1) as u32;
            self.distance_m[r * self.cols + c] = e.distance_m as f32;
        }
    }

    /// The entry for source `r`, target `c`.
    pub fn get(&self, r: usize, c: usize) -> Option<Eta> {
        let t = self.time_ms[r * self.cols + c];
        (t != Self::UNREACHABLE).then(|| Eta {
            time_ms: t as u64,
            distance_m: self.distance_m[r * self.cols + c] as f64,
        })
    }
}

impl TravelModel {
    /// Travel times from every source to every target, in parallel (rayon). Small matrices run
    /// one Dijkstra search per source (forward) or per target (reverse), whichever is fewer;
    /// large ones ([`CH_MATRIX_FROM`]) the contraction hierarchy's bucket many-to-many, which
    /// gives the same times (oracle-tested) and, where two paths tie on time, either's length.
    pub fn matrix(
        &self,
        sources: &[Snapped],
        targets: &[Snapped],
        cutoff_ms: Option<u32>,
    ) -> Matrix {
        let (rows, cols) = (sources.len(), targets.len());
        if rows * cols >= CH_MATRIX_FROM && rows.min(cols) >= CH_MIN_SIDE {
            return self.matrix_ch(sources, targets, cutoff_ms);
        }
        self.matrix_dijkstra(sources, targets, cutoff_ms)
    }

    /// The matrix for the modelled `hours`: at one hour, that hour's times; over weighted hours,
    /// each entry the weighted mean of the hours' times (and lengths), unreachable where it is
    /// unreachable at any hour with weight. Hours whose factors are the same on every class
    /// scale the free-flow matrix by the factor (computed once); the others use their hour's
    /// re-weighted model, one per band of equal hours ([`TrafficProfile::hour_plan`](crate::network::traffic::TrafficProfile::hour_plan)). Without
    /// a traffic profile, the free-flow matrix. Entries beyond `cutoff_ms` (after averaging) are unreachable.
    pub fn matrix_over(
        &self,
        hours: &crate::network::traffic::Hours,
        sources: &[Snapped],
        targets: &[Snapped],
        cutoff_ms: Option<u32>,
    ) -> Matrix {
        let Some(traffic) = self.traffic.clone() else {
            return self.matrix(sources, targets, cutoff_ms);
        };
        let w = hours.weights();
        let (plan, own) = traffic.hour_plan(self.has_exempt_roads());
        // Each matrix once, with its summed weight: the free-flow one (weight of the scaled
        // hours, time weight Σ w·f) and one per band with its own graph.
        let (mut free_w, mut free_tw) = (0.0, 0.0);
        let mut own_w = vec![0.0; own.len()];
        for (h, times) in plan.iter().enumerate() {
            match *times {
                HourTimes::Scaled(f) => {
                    free_w += w[h];
                    free_tw += w[h] * f;
                }
                HourTimes::Own(k) => own_w[k] += w[h],
            }
        }
        let n = sources.len() * targets.len();
        let (mut t, mut d) = (vec![0.0f64; n], vec![0.0f64; n]);
        let mut reach = vec![true; n];
        let mut add = |m: &Matrix, tw: f64, dw: f64| {
            for k in 0..n {
                if m.time_ms[k] == Matrix::UNREACHABLE {
                    reach[k] = false;
                } else {
                    t[k] += tw * m.time_ms[k] as f64;
                    d[k] += dw * m.distance_m[k] as f64;
                }
            }
        };
        if free_w > 0.0 {
            add(&self.matrix(sources, targets, None), free_tw, free_w);
        }
        for (&h, &wk) in own.iter().zip(&own_w) {
            if wk > 0.0 {
                add(&self.at_hour(h).matrix(sources, targets, None), wk, wk);
            }
        }
        let mut out = Matrix::unreachable(sources.len(), targets.len());
        for k in 0..n {
            let ms = t[k].round();
            if reach[k] && cutoff_ms.is_none_or(|c| ms <= c as f64) {
                out.time_ms[k] = (ms as u64).min(u32::MAX as u64 - 1) as u32;
                out.distance_m[k] = d[k] as f32;
            }
        }
        out
    }

    /// [`TravelModel::matrix`] by the contraction hierarchy, whatever its size.
    pub fn matrix_ch(
        &self,
        sources: &[Snapped],
        targets: &[Snapped],
        cutoff_ms: Option<u32>,
    ) -> Matrix {
        let (rows, cols) = (sources.len(), targets.len());
        let h = self.hierarchy();
        let from: Vec<Vec<Seed>> = sources
            .iter()
            .map(|s| self.departure_seeds(s).collect())
            .collect();
        let to: Vec<Vec<Seed>> = targets
            .iter()
            .map(|t| self.arrival_seeds(t).collect())
            .collect();
        let mut m = Matrix::unreachable(rows, cols);
        ChQuery::new(h).table_into(h, &from, &to, cutoff_ms, &mut m.time_ms, &mut m.distance_m);
        // The same-edge drive, unless the network is strictly faster ([`faster`]). Only pairs
        // on one segment have one: found by sorting the targets by segment.
        let mut by_segment: Vec<(u32, usize)> = targets
            .iter()
            .enumerate()
            .map(|(c, t)| (t.segment, c))
            .collect();
        by_segment.sort_unstable();
        for (r, s) in sources.iter().enumerate() {
            let first = by_segment.partition_point(|x| x.0 < s.segment);
            for &(seg, c) in &by_segment[first..] {
                if seg != s.segment {
                    break;
                }
                let Some(d) = self.direct(s, &targets[c]) else {
                    continue;
                };
                if faster(Some(d), m.get(r, c)) == Some(d)
                    && cutoff_ms.is_none_or(|x| d.time_ms <= x as u64)
                {
                    m.put(r, c, &Some(d));
                }
            }
        }
        m
    }

    /// Fastest times in milliseconds for independent pairs `(from, to)` (each drive its own
    /// start and end, as in a log's drives), `None` where unreachable. With [`PAIRS_BY_HIERARCHY`] pairs or
    /// more, point-to-point hierarchy queries (the hierarchy built once, on first use); fewer,
    /// one Dijkstra search with early stop per pair. In parallel (rayon). Same answers either
    /// way (oracle-tested).
    pub fn pair_times(&self, pairs: &[(Snapped, Snapped)]) -> Vec<Option<u64>> {
        if pairs.len() < PAIRS_BY_HIERARCHY {
            let mut q = self.query();
            return pairs
                .iter()
                .map(|(a, b)| self.eta(&mut q, a, b).map(|e| e.time_ms))
                .collect();
        }
        let h = self.hierarchy();
        pairs
            .par_iter()
            .map_init(
                || ChQuery::new(h),
                |q, (a, b)| {
                    let from: Vec<Seed> = self.departure_seeds(a).collect();
                    let to: Vec<Seed> = self.arrival_seeds(b).collect();
                    // Times only: on a tie either drive gives the same answer.
                    let direct = self.direct(a, b).map(|e| e.time_ms);
                    let via = q.time(h, &from, &to).map(u64::from);
                    match (direct, via) {
                        (Some(d), Some(v)) => Some(d.min(v)),
                        (d, v) => d.or(v),
                    }
                },
            )
            .collect()
    }

    /// [`TravelModel::matrix`] by Dijkstra, whatever its size: the hierarchy's oracle.
    pub fn matrix_dijkstra(
        &self,
        sources: &[Snapped],
        targets: &[Snapped],
        cutoff_ms: Option<u32>,
    ) -> Matrix {
        let (rows, cols) = (sources.len(), targets.len());
        let mut m = Matrix::unreachable(rows, cols);
        if rows <= cols {
            let lines: Vec<Vec<Option<Eta>>> = sources
                .par_iter()
                .map_init(
                    || self.query(),
                    |q, s| self.one_to_many(q, s, targets, Direction::Forward, cutoff_ms),
                )
                .collect();
            for (r, line) in lines.iter().enumerate() {
                for (c, e) in line.iter().enumerate() {
                    m.put(r, c, e);
                }
            }
        } else {
            let lines: Vec<Vec<Option<Eta>>> = targets
                .par_iter()
                .map_init(
                    || self.query(),
                    |q, t| self.one_to_many(q, t, sources, Direction::Reverse, cutoff_ms),
                )
                .collect();
            for (c, line) in lines.iter().enumerate() {
                for (r, e) in line.iter().enumerate() {
                    m.put(r, c, e);
                }
            }
        }
        m
    }
}
