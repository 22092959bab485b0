//! Where a scenario's points fall on its map: stations, hospitals and demand points beyond the
//! snapping limit, stations without ambulances, and incidents outside the region.
//!
//! This module owns the rules that keep such points out of the figures without hiding them:
//! every command that uses a scenario reports them (with the distance to the road, or the CSV
//! line), and the analyses leave them out. It must not compute travel times: it only places
//! points on the map through the shared model's snapping.

use geo::{BoundingRect, Contains, Point};
use serde::Serialize;

use super::{Incident, Scenario};
use crate::network::{SnapError, TravelModel};
use crate::spatial::china::Crs;

/// A point of the scenario that is not on the road map.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OffMap {
    /// `station`, `hospital` or `demand zone`.
    pub kind: &'static str,
    pub id: String,
    /// Distance to the nearest road, metres (infinite for an invalid coordinate).
    pub distance_m: f64,
    /// The snapping limit it exceeds, metres.
    pub limit_m: f64,
}

impl std::fmt::Display for OffMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.distance_m.is_finite() {
            write!(
                f,
                "{} `{}` is {:.0} m from the nearest road, beyond the {:.0} m snapping limit",
                self.kind, self.id, self.distance_m, self.limit_m
            )
        } else {
            write!(
                f,
                "{} `{}` has no road within reach (or an invalid coordinate)",
                self.kind, self.id
            )
        }
    }
}

/// What is left out of a scenario's figures, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Placement {
    /// Stations, hospitals and demand points beyond the snapping limit.
    pub off_map: Vec<OffMap>,
    /// Stations with no ambulance: not counted as stations (service radius, nearest station,
    /// placement).
    pub unstaffed_stations: Vec<String>,
}

impl Placement {
    /// Nothing left out.
    pub fn is_empty(&self) -> bool {
        self.off_map.is_empty() && self.unstaffed_stations.is_empty()
    }

    /// One line per point left out, for standard error; more than five of a kind are
    /// summarised (the check's JSON lists them all).
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        for kind in ["station", "hospital", "demand zone"] {
            let of: Vec<&OffMap> = self.off_map.iter().filter(|o| o.kind == kind).collect();
            if of.len() <= 5 {
                out.extend(of.iter().map(|o| format!("{o}: left out")));
                continue;
            }
            let far = of.iter().map(|o| o.distance_m).fold(0.0, f64::max);
            let some: Vec<&str> = of.iter().take(5).map(|o| o.id.as_str()).collect();
            out.push(format!(
                "{} {kind}s are beyond the {:.0} m snapping limit (up to {:.1} km from the nearest road; {}, ...): left out; raise snap_limit_m if the \
                 map lacks their roads",
                of.len(),
                of[0].limit_m,
                far / 1000.0,
                some.join(", ")
            ));
        }
        if !self.unstaffed_stations.is_empty() {
            out.push(format!(
                "stations with no ambulance, not counted as stations: {}",
                self.unstaffed_stations.join(", ")
            ));
        }
        out
    }
}

fn off_map(kind: &'static str, id: &str, e: SnapError, limit_m: f64) -> OffMap {
    OffMap {
        kind,
        id: id.to_string(),
        distance_m: match e {
            SnapError::TooFar { distance_m, .. } => distance_m,
            SnapError::InvalidCoordinate { .. } => f64::INFINITY,
        },
        limit_m,
    }
}

impl Scenario {
    /// Places every station, hospital and demand point on the map.
    pub fn placement(&self, tm: &TravelModel) -> Placement {
        let limit = tm.snap_limit_m();
        let mut p = Placement::default();
        let items = self
            .stations
            .iter()
            .map(|s| ("station", &s.id, s.lon_lat))
            .chain(
                self.hospitals
                    .iter()
                    .map(|h| ("hospital", &h.id, h.lon_lat)),
            )
            .chain(
                self.demand
                    .iter()
                    .map(|z| ("demand zone", &z.id, z.lon_lat)),
            );
        for (kind, id, at) in items {
            if let Err(e) = tm.snap(at) {
                p.off_map.push(off_map(kind, id, e, limit));
            }
        }
        p.unstaffed_stations = self
            .stations
            .iter()
            .filter(|s| s.ambulances == 0)
            .map(|s| s.id.clone())
            .collect();
        p
    }

    /// The scenario as the analyses use it: without the stations and hospitals that are off
    /// the map (demand points off the map are left out by each analysis and reported there),
    /// and the placement that says what was left out. Stations without ambulances stay: a
    /// plan may give them ambulances.
    pub fn on_map(&self, tm: &TravelModel) -> (Scenario, Placement) {
        let p = self.placement(tm);
        let off = |kind: &str, id: &str| p.off_map.iter().any(|o| o.kind == kind && o.id == id);
        let mut sc = self.clone();
        sc.stations.retain(|s| !off("station", &s.id));
        sc.hospitals.retain(|h| !off("hospital", &h.id));
        (sc, p)
    }

    /// The stations that count as stations: those with at least one ambulance.
    pub fn staffed_stations(&self) -> impl Iterator<Item = &super::Station> {
        self.stations.iter().filter(|s| s.ambulances > 0)
    }

    /// Whether a point lies inside the region boundary.
    pub fn in_region(&self, lon_lat: [f64; 2]) -> bool {
        self.region
            .boundary
            .contains(&Point::new(lon_lat[0], lon_lat[1]))
    }
}

/// An incident log split by the region: the calls inside, and the CSV lines of those outside.
/// Calls without coordinates (zone-level logs) are kept inside, and their lines listed.
pub struct InRegion<'a> {
    pub inside: Vec<&'a Incident>,
    pub outside_lines: Vec<u64>,
    pub no_location_lines: Vec<u64>,
}

/// Splits `log` by whether each call lies inside the region of `sc`.
pub fn split_by_region<'a>(sc: &Scenario, log: &'a [Incident]) -> InRegion<'a> {
    let mut r = InRegion {
        inside: Vec::with_capacity(log.len()),
        outside_lines: Vec::new(),
        no_location_lines: Vec::new(),
    };
    for i in log {
        match i.lon_lat {
            None => {
                r.no_location_lines.push(i.line);
                r.inside.push(i);
            }
            Some(p) if sc.in_region(p) => r.inside.push(i),
            Some(_) => r.outside_lines.push(i.line),
        }
    }
    r
}

/// A log none of whose calls falls inside the region: the message says where the calls and
/// the region are, so a wrong scenario or coordinate system shows.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "none of the {calls} calls in the log lies inside the region: the calls span lon \
     {log_lon:.3}..{log_lon_max:.3}, lat {log_lat:.3}..{log_lat_max:.3}; the region spans lon \
     {region_lon:.3}..{region_lon_max:.3}, lat {region_lat:.3}..{region_lat_max:.3} (is this the \
     scenario of this log, and are its coordinates WGS 84 lon/lat?){hint}"
)]
pub struct NoCallOnMap {
    pub calls: usize,
    /// ` ` and a [`coordinate_hint`], or empty.
    pub hint: String,
    pub log_lon: f64,
    pub log_lon_max: f64,
    pub log_lat: f64,
    pub log_lat_max: f64,
    pub region_lon: f64,
    pub region_lon_max: f64,
    pub region_lat: f64,
    pub region_lat_max: f64,
}

impl NoCallOnMap {
    /// The error for `log` (non-empty) against the region of `sc`.
    pub fn new(sc: &Scenario, log: &super::IncidentLog) -> NoCallOnMap {
        // Only a hint that names a better reading: the message already asks the rest.
        let hint = coordinate_hint(&|p| sc.in_region(p), &log.incidents, log.crs)
            .filter(|h| h.names_a_better_reading)
            .map(|h| format!(" {h}"))
            .unwrap_or_default();
        let log = &log.incidents;
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in log.iter().filter_map(|i| i.lon_lat) {
            for k in 0..2 {
                lo[k] = lo[k].min(p[k]);
                hi[k] = hi[k].max(p[k]);
            }
        }
        let r = sc.region.boundary.bounding_rect();
        let (rmin, rmax) = r.map_or(([f64::NAN; 2], [f64::NAN; 2]), |r| {
            ([r.min().x, r.min().y], [r.max().x, r.max().y])
        });
        NoCallOnMap {
            calls: log.len(),
            hint,
            log_lon: lo[0],
            log_lon_max: hi[0],
            log_lat: lo[1],
            log_lat_max: hi[1],
            region_lon: rmin[0],
            region_lon_max: rmax[0],
            region_lat: rmin[1],
            region_lat_max: rmax[1],
        }
    }
}

/// Calls sampled by [`coordinate_hint`].
const HINT_SAMPLE: usize = 2000;

/// When most located calls fall outside the region (`inside`), what share each other reading
/// of the coordinates would put inside: as GCJ-02 (AMap, Tencent), as BD-09 (Baidu), as WGS 84
/// (when the log was read as one of those), and with longitude and latitude swapped. Returns a
/// sentence naming the share outside and the best reading, or `None` when at least half of the
/// calls are inside. O(min(n, 2000)) point-in-region tests per reading.
pub fn coordinate_hint(
    inside: &dyn Fn([f64; 2]) -> bool,
    calls: &[Incident],
    read_as: Crs,
) -> Option<CoordinateHint> {
    let pts: Vec<[f64; 2]> = calls.iter().filter_map(|i| i.lon_lat).collect();
    if pts.is_empty() {
        return None;
    }
    let step = pts.len().div_ceil(HINT_SAMPLE);
    let sample: Vec<[f64; 2]> = pts.iter().step_by(step).copied().collect();
    let share = |f: &dyn Fn([f64; 2]) -> [f64; 2]| {
        sample.iter().filter(|p| inside(f(**p))).count() as f64 / sample.len() as f64
    };
    let now = share(&|p| p);
    if now >= 0.5 {
        return None;
    }
    // The numbers as written in the file, before the conversion the reader applied.
    let raw = |p: [f64; 2]| read_as.from_wgs84(p);
    let mut options: Vec<(String, f64)> = [Crs::Wgs84, Crs::Gcj02, Crs::Bd09]
        .into_iter()
        .filter(|c| *c != read_as)
        .map(|c| {
            (
                format!("read as {} (--crs {})", c.label(), c),
                share(&|p| c.to_wgs84(raw(p))),
            )
        })
        .collect();
    options.push((
        "with longitude and latitude swapped (check the coordinate columns)".to_string(),
        share(&|p| {
            let r = raw(p);
            read_as.to_wgs84([r[1], r[0]])
        }),
    ));
    let best = options
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .filter(|b| b.1 > now + 0.1);
    let out = format!(
        "{:.0} % of the located calls fall outside the region (read as {})",
        (1.0 - now) * 100.0,
        read_as.label()
    );
    Some(CoordinateHint {
        names_a_better_reading: best.is_some(),
        text: match best {
            Some((how, s)) => format!("{out}; {how}, {:.0} % would fall inside.", s * 100.0),
            None => format!(
                "{out}; no other coordinate system (GCJ-02, BD-09, WGS 84) or column order puts \
                 more inside: is this the scenario of this log?"
            ),
        },
    })
}

/// What [`coordinate_hint`] says (its `Display` is the sentence).
#[derive(Debug, Clone, PartialEq)]
pub struct CoordinateHint {
    pub text: String,
    /// Whether another reading of the coordinates puts clearly more calls inside.
    pub names_a_better_reading: bool,
}

impl std::fmt::Display for CoordinateHint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}
