//! The travel-time model: a road network, a speed profile, its query graph and its snapping
//! index, and the queries every analysis uses (snap, route, one-to-many, matrix).
//!
//! This module owns how a point on the map becomes a place on the graph and how partial edges
//! count. It must not hold domain objects (stations, incidents); callers pass points.
//!
//! # Snapping and partial edges
//! A point snaps to the nearest point on any road segment (R-tree over the segments' straight
//! pieces in a [`LocalProjection`]). The snapped point lies at fraction `f` of the segment's
//! length. Leaving it, a vehicle reaches the segment's `to` node after `(1 - f)` of the forward
//! time, or its `from` node after `f` of the backward time where the segment may be driven that
//! way; arriving is symmetric. Two points on the same segment also get the direct drive along
//! it. A point farther from every road than [`TravelSettings::snap_limit_m`] is an error.
//!
//! # The off-road leg
//! The straight line from a point to its snapped road point is not free: with
//! [`TravelSettings::off_road_kmh`] set (the default, 5 km/h: a crew on foot with equipment),
//! every time from or to a point includes `distance to the road / off-road speed`, and every
//! distance includes that length. So a point placed far from the road (a station or hospital
//! beyond the local streets the map holds, a demand point in a park) costs what reaching it
//! costs instead of being hidden by a generous snapping limit.
//!
//! # Construction
//! A scenario's model is built by `TravelModel::for_scenario` (in [`crate::model`]), which takes
//! the profile and the snapping limit from the scenario; a bare map by [`TravelModel::for_map`]
//! with explicit [`TravelSettings`]. The road network is shared behind an [`Arc`], never copied.

use std::sync::{Arc, OnceLock};

use geo::{Distance, Haversine, Point};
use rayon::prelude::*;
use serde::Serialize;

use super::RoadNetwork;
use super::ch::{ChQuery, Hierarchy};
use super::csr::Csr;
use super::dijkstra::{Dijkstra, Direction, Seed};
use super::profile::{ProfileError, SpeedProfile};
use super::traffic::{HourTimes, TrafficProfile};
use crate::spatial::{LocalProjection, PolylineIndex};

/// Default snapping limit, metres.
pub const DEFAULT_SNAP_LIMIT_M: f64 = 1000.0;

/// A point placed on the road graph.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Snapped {
    /// The point asked for, `[lon, lat]`.
    pub input: [f64; 2],
    /// The road segment it snapped to.
    pub segment: u32,
    /// Metres along the segment from its `from` node.
    pub offset_m: f64,
    /// `offset_m / length`, 0..=1.
    pub fraction: f64,
    /// The snapped point on the road, `[lon, lat]`.
    pub on_road: [f64; 2],
    /// Haversine distance from the input to the road, metres.
    pub distance_m: f64,
}

/// Why a point could not be placed on the road graph.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SnapError {
    /// Longitude/latitude out of range or not finite: check the coordinate order (lon, lat).
    #[error("invalid coordinate ({lon}, {lat}): expected lon in -180..180 and lat in -90..90")]
    InvalidCoordinate { lon: f64, lat: f64 },
    /// The point is farther from every road than the limit: check the coordinates, or that the
    /// map covers this area.
    #[error(
        "point ({lon}, {lat}) is {distance_m:.0} m from the nearest road, beyond the {limit_m:.0} m \
         snapping limit"
    )]
    TooFar {
        lon: f64,
        lat: f64,
        distance_m: f64,
        limit_m: f64,
    },
}

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

/// A cost to add at a graph node: `(node, extra ms, extra metres)`.
type Entry = (u32, u64, f64);
/// At most two entries per snapped point (one per direction of its segment).
type Entries = [Option<Entry>; 2];

/// Default off-road speed, km/h: walking with equipment (about 1.4 m/s).
pub const DEFAULT_OFF_ROAD_KMH: f64 = 5.0;

/// How to travel on a map: the vehicle's speed profile, how far from a road a point may lie
/// and still be placed on it, and how fast the rest of the way is covered. A scenario file sets
/// them (`profile`, `snap_limit_m`, `off_road_kmh`).
#[derive(Debug, Clone, PartialEq)]
pub struct TravelSettings {
    pub profile: SpeedProfile,
    /// Travel-time factors by road class and local hour (`None`: free flow at every hour).
    pub traffic: Option<Arc<TrafficProfile>>,
    /// Largest distance from a road at which a point still snaps, metres.
    pub snap_limit_m: f64,
    /// Speed of the off-road leg between a point and its road, km/h (`None`: the leg is free,
    /// times are between road points only).
    pub off_road_kmh: Option<f64>,
}

impl Default for TravelSettings {
    /// The ambulance profile, a 1,000 m snapping limit and a 5 km/h off-road leg.
    fn default() -> Self {
        TravelSettings {
            profile: SpeedProfile::ambulance(),
            traffic: None,
            snap_limit_m: DEFAULT_SNAP_LIMIT_M,
            off_road_kmh: Some(DEFAULT_OFF_ROAD_KMH),
        }
    }
}

impl TravelSettings {
    /// The given profile with the default snapping limit and off-road leg.
    pub fn with_profile(profile: SpeedProfile) -> TravelSettings {
        TravelSettings {
            profile,
            ..TravelSettings::default()
        }
    }

    /// The default settings with a free off-road leg: times between road points only (for
    /// oracle tests of the road search itself).
    pub fn on_road() -> TravelSettings {
        TravelSettings {
            off_road_kmh: None,
            ..TravelSettings::default()
        }
    }
}

/// The travel-time model shared by every analysis.
pub struct TravelModel {
    pub network: Arc<RoadNetwork>,
    pub profile: SpeedProfile,
    pub graph: Arc<Csr>,
    index: Arc<PolylineIndex>,
    /// Largest distance from a road at which a point still snaps (metres).
    snap_limit_m: f64,
    /// Milliseconds per metre of the off-road leg (0: free).
    off_road_ms_per_m: f64,
    /// The contraction hierarchy of `graph`, built on the first large matrix.
    hierarchy: Arc<OnceLock<Hierarchy>>,
    /// The traffic profile the model was built with, if any.
    traffic: Option<Arc<TrafficProfile>>,
    /// The local hour whose traffic factors `graph` carries (`None`: free flow).
    hour: Option<usize>,
    /// The free-flow model's hierarchy, whose node order an hour's hierarchy reuses.
    free_flow_hierarchy: Option<Arc<OnceLock<Hierarchy>>>,
}

/// A matrix with at least this many entries, and at least [`CH_MIN_SIDE`] rows and columns,
/// is answered by the contraction hierarchy (bucket many-to-many) instead of one Dijkstra
/// search per row or column: below that, building the hierarchy costs more than it saves.
pub const CH_MATRIX_FROM: usize = 250_000;

/// See [`CH_MATRIX_FROM`].
pub const CH_MIN_SIDE: usize = 64;

/// `ems serve` builds (or reads) the contraction hierarchy at start for maps with at least
/// this many nodes, so that ranking units ([`TravelModel::many_to_one`]) costs a few upward
/// searches instead of a search over the map; smaller maps keep Dijkstra.
pub const LIVE_HIERARCHY_FROM: usize = 20_000;

/// [`TravelModel::pair_times`] answers this many pairs or more by the contraction hierarchy.
pub const PAIRS_BY_HIERARCHY: usize = 200;

impl TravelModel {
    /// Builds the query graph and the snapping index.
    fn new(
        network: Arc<RoadNetwork>,
        settings: TravelSettings,
    ) -> Result<TravelModel, ProfileError> {
        let TravelSettings {
            profile,
            traffic,
            snap_limit_m,
            off_road_kmh,
        } = settings;
        let graph = Csr::build(&network, &profile)?;
        // A hierarchy the cache held for this profile (checked when it was read).
        let hierarchy = OnceLock::new();
        if let Some(h) = network.stored_hierarchy(&profile)
            && h.num_nodes() == graph.num_nodes()
        {
            let _ = hierarchy.set((*h).clone());
        }
        let projection = LocalProjection::around(&network.nodes);
        let index = PolylineIndex::new(
            projection,
            network.segments.iter().map(|s| s.geometry.as_slice()),
        );
        Ok(TravelModel {
            network,
            profile,
            graph: Arc::new(graph),
            index: Arc::new(index),
            snap_limit_m,
            off_road_ms_per_m: off_road_kmh
                .filter(|v| v.is_finite() && *v > 0.0)
                .map_or(0.0, |kmh| 3600.0 / kmh),
            hierarchy: Arc::new(hierarchy),
            traffic: traffic.filter(|t| !t.is_free_flow()),
            hour: None,
            free_flow_hierarchy: None,
        })
    }

    /// The traffic profile the model carries (`None`: free flow at every hour).
    pub fn traffic(&self) -> Option<&TrafficProfile> {
        self.traffic.as_deref()
    }

    /// The local hour this model's times are for (`None`: free flow, the model of the speed
    /// profile alone).
    pub fn hour(&self) -> Option<usize> {
        self.hour
    }

    /// The model at local `hour` (0..23): every segment's time multiplied by the traffic
    /// profile's factor for its class at that hour, the off-road leg by the hour's `by_hour`
    /// factor. Shares the road network and the snapping index; the graph is re-weighted (linear
    /// in its size) and its hierarchy, when a large matrix needs one, is re-contracted in the
    /// free-flow hierarchy's node order (no new ordering). Without a traffic profile it is the
    /// free-flow model again (sharing everything).
    pub fn at_hour(&self, hour: usize) -> TravelModel {
        let hour = hour % 24;
        let base_hierarchy = self
            .free_flow_hierarchy
            .clone()
            .unwrap_or_else(|| self.hierarchy.clone());
        let Some(traffic) = self.traffic.clone() else {
            return TravelModel {
                network: self.network.clone(),
                profile: self.profile.clone(),
                graph: self.graph.clone(),
                index: self.index.clone(),
                snap_limit_m: self.snap_limit_m,
                off_road_ms_per_m: self.off_road_ms_per_m,
                hierarchy: base_hierarchy,
                traffic: None,
                hour: None,
                free_flow_hierarchy: None,
            };
        };
        // The profile validated when the free-flow graph was built.
        let graph =
            Csr::build_with_factor(&self.network, &self.profile, |c| traffic.factor(c, hour))
                .unwrap_or_else(|_| (*self.graph).clone());
        let base_off_road = match self.hour {
            Some(h) => self.off_road_ms_per_m / traffic.hour_factor(h),
            None => self.off_road_ms_per_m,
        };
        TravelModel {
            network: self.network.clone(),
            profile: self.profile.clone(),
            graph: Arc::new(graph),
            index: self.index.clone(),
            snap_limit_m: self.snap_limit_m,
            off_road_ms_per_m: base_off_road * traffic.hour_factor(hour),
            hierarchy: Arc::new(OnceLock::new()),
            traffic: Some(traffic),
            hour: Some(hour),
            free_flow_hierarchy: Some(base_hierarchy),
        }
    }

    /// The model of a bare map (no scenario): `ems route`, benchmarks and oracle tests. A
    /// scenario's model comes from `TravelModel::for_scenario`, which reads the settings from it.
    pub fn for_map(
        network: impl Into<Arc<RoadNetwork>>,
        settings: TravelSettings,
    ) -> Result<TravelModel, ProfileError> {
        TravelModel::new(network.into(), settings)
    }

    /// Largest distance from a road at which a point still snaps, metres.
    pub fn snap_limit_m(&self) -> f64 {
        self.snap_limit_m
    }

    /// The off-road leg of a snapped point: milliseconds and metres between it and its road.
    pub fn off_road(&self, s: &Snapped) -> (u64, f64) {
        if self.off_road_ms_per_m == 0.0 {
            return (0, 0.0);
        }
        (
            (s.distance_m * self.off_road_ms_per_m).round() as u64,
            s.distance_m,
        )
    }

    /// Fresh query state for this graph (one per thread; reuse it across queries).
    pub fn query(&self) -> Dijkstra {
        Dijkstra::new(self.graph.num_nodes())
    }

    /// The snapping index (for oracle tests and diagnostics).
    pub fn index(&self) -> &PolylineIndex {
        &self.index
    }

    /// Places a point on the nearest road.
    pub fn snap(&self, lon_lat: [f64; 2]) -> Result<Snapped, SnapError> {
        let [lon, lat] = lon_lat;
        if !(lon.is_finite()
            && lat.is_finite()
            && (-180.0..=180.0).contains(&lon)
            && (-90.0..=90.0).contains(&lat))
        {
            return Err(SnapError::InvalidCoordinate { lon, lat });
        }
        let hit = self.index.nearest(lon_lat).ok_or(SnapError::TooFar {
            lon,
            lat,
            distance_m: f64::INFINITY,
            limit_m: self.snap_limit_m,
        })?;
        let seg = &self.network.segments[hit.polyline as usize];
        let on_road = self.index.projection().unproject(hit.xy);
        let distance_m = haversine(lon_lat, on_road);
        if distance_m > self.snap_limit_m {
            return Err(SnapError::TooFar {
                lon,
                lat,
                distance_m,
                limit_m: self.snap_limit_m,
            });
        }
        let piece = hit.piece as usize;
        let before: f64 = seg.geometry[..=piece]
            .windows(2)
            .map(|w| haversine(w[0], w[1]))
            .sum();
        let piece_len = haversine(seg.geometry[piece], seg.geometry[piece + 1]);
        let offset_m = (before + hit.t * piece_len).clamp(0.0, seg.length_m);
        let fraction = if seg.length_m > 0.0 {
            offset_m / seg.length_m
        } else {
            0.0
        };
        Ok(Snapped {
            input: lon_lat,
            segment: hit.polyline,
            offset_m,
            fraction,
            on_road,
            distance_m,
        })
    }

    fn seg_len_times(&self, s: &Snapped) -> (f64, [u32; 2]) {
        (
            self.network.segments[s.segment as usize].length_m,
            self.graph.segment_times(s.segment),
        )
    }

    /// Where a vehicle leaving `s` enters the graph: up to two `(node, ms, m)` entries, the
    /// off-road leg included.
    fn departures(&self, s: &Snapped) -> Entries {
        let seg = &self.network.segments[s.segment as usize];
        let (len, [tf, tb]) = self.seg_len_times(s);
        let (om, ol) = self.off_road(s);
        let f = s.fraction;
        [
            (tf != u32::MAX).then(|| {
                (
                    seg.to,
                    ((1.0 - f) * tf as f64).round() as u64 + om,
                    (1.0 - f) * len + ol,
                )
            }),
            (tb != u32::MAX).then(|| (seg.from, (f * tb as f64).round() as u64 + om, f * len + ol)),
        ]
    }

    /// Graph nodes from which a vehicle reaches `s`, with the remaining cost on its segment
    /// and the off-road leg.
    fn arrivals(&self, s: &Snapped) -> Entries {
        let seg = &self.network.segments[s.segment as usize];
        let (len, [tf, tb]) = self.seg_len_times(s);
        let (om, ol) = self.off_road(s);
        let f = s.fraction;
        [
            (tf != u32::MAX).then(|| (seg.from, (f * tf as f64).round() as u64 + om, f * len + ol)),
            (tb != u32::MAX).then(|| {
                (
                    seg.to,
                    ((1.0 - f) * tb as f64).round() as u64 + om,
                    (1.0 - f) * len + ol,
                )
            }),
        ]
    }

    /// Search seeds for leaving `s` (forward searches from it; several points' seeds may be
    /// combined into one multi-source search, e.g. every station at once).
    pub fn departure_seeds(&self, s: &Snapped) -> impl Iterator<Item = Seed> {
        Self::seeds(&self.departures(s))
            .into_iter()
            .filter(|x| x.time != u32::MAX)
    }

    /// Search seeds for arriving at `s` (reverse searches towards it).
    pub fn arrival_seeds(&self, s: &Snapped) -> impl Iterator<Item = Seed> {
        Self::seeds(&self.arrivals(s))
            .into_iter()
            .filter(|x| x.time != u32::MAX)
    }

    /// The drive from `a` to `b` along their common segment, if they share one and its
    /// direction allows it, with both off-road legs.
    fn direct(&self, a: &Snapped, b: &Snapped) -> Option<Eta> {
        if a.segment != b.segment {
            return None;
        }
        let (len, [tf, tb]) = self.seg_len_times(a);
        let (am, al) = self.off_road(a);
        let (bm, bl) = self.off_road(b);
        let d = b.fraction - a.fraction;
        let t = if d >= 0.0 { tf } else { tb };
        (t != u32::MAX).then(|| Eta {
            time_ms: (d.abs() * t as f64).round() as u64 + am + bm,
            distance_m: d.abs() * len + al + bl,
        })
    }

    fn seeds(entries: &Entries) -> [Seed; 2] {
        entries.map(|e| {
            e.map_or(
                Seed {
                    node: 0,
                    time: u32::MAX,
                    length_m: 0.0,
                },
                |(node, t, l)| Seed {
                    node,
                    time: t.min(u32::MAX as u64 - 1) as u32,
                    length_m: l,
                },
            )
        })
    }

    fn best(q: &Dijkstra, entries: &Entries, direct: Option<Eta>) -> Option<Eta> {
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

    fn route_inner(
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

    /// Whether the speed profile keeps some roads of this network at free flow whatever the
    /// hour's traffic factor (bus lanes and bus-only roads with `bus_lanes`), so that an hour's
    /// times are not the free-flow times scaled ([`TrafficProfile::hour_plan`]).
    pub fn has_exempt_roads(&self) -> bool {
        self.network
            .segments
            .iter()
            .any(|s| self.profile.free_flow_at_every_hour(s))
    }

    /// Whether the hierarchy is built (or was read from the cache) already.
    pub fn has_hierarchy(&self) -> bool {
        self.hierarchy.get().is_some()
    }

    /// Writes the network as a cache with this model's hierarchy (building it if needed), so
    /// that a later model with the same speed profile starts with it; returns the bytes. An
    /// hour's model (`at_hour`) writes the network alone.
    pub fn save_cache(&self, path: &std::path::Path) -> Result<u64, super::cache::CacheError> {
        // An hour's hierarchy has other weights than the profile's key promises.
        let h = self
            .hour
            .is_none()
            .then(|| (&self.profile, self.hierarchy()));
        super::cache::write_cache(&self.network, path, h)
    }

    /// The contraction hierarchy of the query graph (built once, on first use).
    pub fn hierarchy(&self) -> &Hierarchy {
        self.hierarchy
            .get_or_init(|| match &self.free_flow_hierarchy {
                Some(base) => {
                    // The free-flow graph has the same nodes; only the weights differ.
                    let order = base.get_or_init(|| {
                        Hierarchy::build(
                            &Csr::build(&self.network, &self.profile)
                                .unwrap_or_else(|_| (*self.graph).clone()),
                        )
                    });
                    Hierarchy::build_in_order(&self.graph, &order.order())
                }
                None => Hierarchy::build(&self.graph),
            })
    }

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
    /// re-weighted model, one per band of equal hours ([`TrafficProfile::hour_plan`]). Without
    /// a traffic profile, the free-flow matrix. Entries beyond `cutoff_ms` (after averaging) are unreachable.
    pub fn matrix_over(
        &self,
        hours: &super::traffic::Hours,
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

    /// What [`TravelModel::matrix_over`] models for `hours`, for reports.
    pub fn describe_hours(&self, hours: &super::traffic::Hours) -> String {
        self.describe_traffic(&format!(", {}", hours.describe()))
    }

    /// The speed profile, and the traffic profile followed by `when` (which hours it is
    /// applied at), or free flow: the one wording every report uses.
    pub fn describe_traffic(&self, when: &str) -> String {
        match &self.traffic {
            None => format!(
                "speed profile `{}`, free flow (the scenario names no traffic profile)",
                self.profile.name
            ),
            Some(t) => format!(
                "speed profile `{}`, traffic profile `{}`{when}",
                self.profile.name, t.name
            ),
        }
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

/// `cand` where it is strictly faster than `kept`, else `kept`: the one tie rule of every query
/// (the same-edge drive, or the first entry found, wins a tie against the network).
fn faster(kept: Option<Eta>, cand: Option<Eta>) -> Option<Eta> {
    match (kept, cand) {
        (Some(k), Some(c)) if c.time_ms >= k.time_ms => Some(k),
        (k, None) => k,
        (_, c) => c,
    }
}

/// Haversine distance between two `[lon, lat]` points, metres.
pub fn haversine(a: [f64; 2], b: [f64; 2]) -> f64 {
    Haversine.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]))
}
