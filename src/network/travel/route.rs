//! Point-to-point and one-to-many queries by Dijkstra (or, for many to one, the hierarchy when
//! the model holds it): times, distances and route geometry between snapped points.
//!
//! This module owns those queries and the tie rule between the network and the same-edge
//! drive. It must not snap points (that is `super::snap`) or fill matrices (that is
//! `super::matrix`).

use serde::Serialize;

use super::snap::Entries;
use super::{Snapped, TravelModel, faster, haversine};
use crate::network::ch::ChQuery;
use crate::network::dijkstra::{Dijkstra, Direction, Seed};

/// A travel time with the length of the same path.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Eta {
    pub time_ms: u64,
    pub distance_m: f64,
}

impl Eta {
    pub fn seconds(&self) -> f64 {
        self.time_ms as f64 / 1000.0
    }

    pub fn minutes(&self) -> f64 {
        self.time_ms as f64 / 60_000.0
    }
}

/// A route between two snapped points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    pub eta: Eta,
    /// `[lon, lat]` polyline from the origin's road point to the destination's.
    pub geometry: Vec<[f64; 2]>,
}

impl TravelModel {
    pub(super) fn best(q: &Dijkstra, entries: &Entries, direct: Option<Eta>) -> Option<Eta> {
        let mut best = direct;
        for &(node, t, l) in entries.iter().flatten() {
            if let (Some(dt), Some(dl)) = (q.time(node), q.length_m(node)) {
                let cand = Eta {
                    time_ms: dt as u64 + t,
                    distance_m: dl + l,
                };
                best = faster(best, Some(cand));
            }
        }
        best
    }

    /// Fastest time and distance from `from` to `to`.
    pub fn eta(&self, q: &mut Dijkstra, from: &Snapped, to: &Snapped) -> Option<Eta> {
        self.route_inner(q, from, to).map(|(eta, _)| eta)
    }

    pub(super) fn route_inner(
        &self,
        q: &mut Dijkstra,
        from: &Snapped,
        to: &Snapped,
    ) -> Option<(Eta, Option<u32>)> {
        let seeds = Self::seeds(&self.departures(from));
        let targets = self.arrivals(to);
        let mut remaining = targets.map(|e| e.map(|e| e.0));
        q.run_until(&self.graph, Direction::Forward, &seeds, None, |v| {
            for r in remaining.iter_mut() {
                if *r == Some(v) {
                    *r = None;
                }
            }
            remaining.iter().all(Option::is_none)
        });
        let direct = self.direct(from, to);
        let best = Self::best(q, &targets, direct)?;
        if direct == Some(best) {
            return Some((best, None));
        }
        let end = targets
            .iter()
            .flatten()
            .filter(|e| q.time(e.0).is_some())
            .min_by_key(|e| q.time(e.0).unwrap() as u64 + e.1)
            .map(|e| e.0);
        Some((best, end))
    }

    /// Fastest route from `from` to `to`, with its geometry.
    pub fn route(&self, q: &mut Dijkstra, from: &Snapped, to: &Snapped) -> Option<Route> {
        let (eta, end) = self.route_inner(q, from, to)?;
        let Some(end) = end else {
            return Some(Route {
                eta,
                geometry: self.slice(from.segment, from.fraction, to.fraction),
            });
        };
        let arcs = q.path_arcs(&self.graph, end);
        // The node where the path leaves the origin's segment.
        let start = match arcs.first() {
            Some(&a) => self.graph.tail(a as usize),
            None => end,
        };
        let seg_from = &self.network.segments[from.segment as usize];
        let mut geometry = self.slice(
            from.segment,
            from.fraction,
            if start == seg_from.to { 1.0 } else { 0.0 },
        );
        for a in arcs {
            let code = self.graph.segment(a as usize);
            let (s, rev) = (code >> 1, code & 1 == 1);
            let g = &self.network.segments[s as usize].geometry;
            if rev {
                geometry.extend(g.iter().rev().skip(1));
            } else {
                geometry.extend(g.iter().skip(1));
            }
        }
        let seg_to = &self.network.segments[to.segment as usize];
        let tail = self.slice(
            to.segment,
            if end == seg_to.from { 0.0 } else { 1.0 },
            to.fraction,
        );
        geometry.extend(tail.into_iter().skip(1));
        geometry.dedup();
        Some(Route { eta, geometry })
    }

    /// The part of a segment's geometry between two fractions (reversed when `f1 < f0`).
    pub fn slice(&self, segment: u32, f0: f64, f1: f64) -> Vec<[f64; 2]> {
        let seg = &self.network.segments[segment as usize];
        let (lo, hi) = (f0.min(f1) * seg.length_m, f0.max(f1) * seg.length_m);
        let mut out = Vec::new();
        let mut acc = 0.0;
        for w in seg.geometry.windows(2) {
            let l = haversine(w[0], w[1]);
            let (a, b) = (acc, acc + l);
            let at = |d: f64| {
                let t = if l > 0.0 {
                    ((d - a) / l).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                [
                    w[0][0] + t * (w[1][0] - w[0][0]),
                    w[0][1] + t * (w[1][1] - w[0][1]),
                ]
            };
            if b >= lo && a <= hi {
                if out.is_empty() {
                    out.push(at(lo));
                }
                if b <= hi {
                    out.push(w[1]);
                } else {
                    out.push(at(hi));
                }
            }
            acc = b;
        }
        if out.is_empty() {
            out.push(seg.geometry[0]);
        }
        out.dedup();
        if f1 < f0 {
            out.reverse();
        }
        out
    }

    /// Times from `origin` to every target ([`Direction::Forward`], e.g. from a station), or from
    /// every target to `origin` ([`Direction::Reverse`], e.g. to an incident). Entries beyond
    /// `cutoff_ms` are `None`.
    pub fn one_to_many(
        &self,
        q: &mut Dijkstra,
        origin: &Snapped,
        targets: &[Snapped],
        dir: Direction,
        cutoff_ms: Option<u32>,
    ) -> Vec<Option<Eta>> {
        let seeds = match dir {
            Direction::Forward => Self::seeds(&self.departures(origin)),
            Direction::Reverse => Self::seeds(&self.arrivals(origin)),
        };
        q.run(&self.graph, dir, &seeds, cutoff_ms);
        targets
            .iter()
            .map(|t| {
                let eta = match dir {
                    Direction::Forward => Self::best(q, &self.arrivals(t), self.direct(origin, t)),
                    Direction::Reverse => {
                        Self::best(q, &self.departures(t), self.direct(t, origin))
                    }
                };
                eta.filter(|e| cutoff_ms.is_none_or(|c| e.time_ms <= c as u64))
            })
            .collect()
    }

    /// Times and distances from every source to `target` (many to one: the units to a call),
    /// `None` beyond `cutoff_ms` or unreachable. When the model holds its contraction hierarchy
    /// (built, or read from the cache: `ems serve` builds it at start for large maps), one
    /// upward search per source and one from the target, whatever the map's size; else one
    /// reverse Dijkstra search ([`TravelModel::one_to_many`]). The same times either way
    /// (oracle-tested); where two routes tie on time, the distance may be either's.
    pub fn many_to_one(
        &self,
        q: &mut Dijkstra,
        sources: &[Snapped],
        target: &Snapped,
        cutoff_ms: Option<u32>,
    ) -> Vec<Option<Eta>> {
        let Some(h) = self.hierarchy.get() else {
            return self.one_to_many(q, target, sources, Direction::Reverse, cutoff_ms);
        };
        let from: Vec<Vec<Seed>> = sources
            .iter()
            .map(|s| self.departure_seeds(s).collect())
            .collect();
        let mut ch = ChQuery::new(h);
        let buckets = ch.buckets(h, &from, true, cutoff_ms);
        let to: Vec<Seed> = self.arrival_seeds(target).collect();
        let via = ch.scan(h, &buckets, &to, cutoff_ms);
        sources
            .iter()
            .zip(via)
            .map(|(s, v)| {
                let v = v.map(|(t, l)| Eta {
                    time_ms: u64::from(t),
                    distance_m: l,
                });
                faster(self.direct(s, target), v)
                    .filter(|e| cutoff_ms.is_none_or(|c| e.time_ms <= c as u64))
            })
            .collect()
    }
}
