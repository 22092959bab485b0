//! Snapping and partial edges: placing a point on the nearest road, and where a vehicle
//! leaving or reaching it enters the graph (the part of its segment and the off-road leg).
//!
//! This module owns how a point on the map becomes a place on the graph. It must not search the
//! graph (that is `super::route` and `super::matrix`).

use serde::Serialize;

use super::{Eta, TravelModel, haversine};
use crate::network::dijkstra::Seed;

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

/// A cost to add at a graph node: `(node, extra ms, extra metres)`.
pub(super) type Entry = (u32, u64, f64);
/// At most two entries per snapped point (one per direction of its segment).
pub(super) type Entries = [Option<Entry>; 2];

impl TravelModel {
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

    pub(super) fn seg_len_times(&self, s: &Snapped) -> (f64, [u32; 2]) {
        (
            self.network.segments[s.segment as usize].length_m,
            self.graph.segment_times(s.segment),
        )
    }

    /// Where a vehicle leaving `s` enters the graph: up to two `(node, ms, m)` entries, the
    /// off-road leg included.
    pub(super) fn departures(&self, s: &Snapped) -> Entries {
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
    pub(super) fn arrivals(&self, s: &Snapped) -> Entries {
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
    pub(super) fn direct(&self, a: &Snapped, b: &Snapped) -> Option<Eta> {
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

    pub(super) fn seeds(entries: &Entries) -> [Seed; 2] {
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
}
