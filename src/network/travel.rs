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
//!
//! # Layout
//! This file holds the model itself (settings, construction, the hour's model, the hierarchy);
//! `snap` places points on the graph ([`Snapped`]), `route` answers point-to-point and
//! one-to-many queries ([`Eta`], [`Route`]) and `matrix` the matrices ([`Matrix`]).

mod matrix;
mod route;
mod snap;

use std::sync::{Arc, OnceLock};

use geo::{Distance, Haversine, Point};

use super::RoadNetwork;
use super::ch::Hierarchy;
use super::csr::Csr;
use super::dijkstra::Dijkstra;
use super::profile::{ProfileError, SpeedProfile};
use super::traffic::TrafficProfile;
use crate::spatial::{LocalProjection, PolylineIndex};
pub use matrix::Matrix;
pub use route::{Eta, Route};
pub use snap::{SnapError, Snapped};

/// Default snapping limit, metres.
pub const DEFAULT_SNAP_LIMIT_M: f64 = 1000.0;

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
