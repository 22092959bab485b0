//! The scenario's names for the log: which demand zone an incident belongs to, which hospital an
//! id names, and the response and detention figures of a log with them (the simulator's and the
//! live KPIs').
//!
//! This module owns that assignment. It must not define the figures (that is [`super::log`]) or
//! format output.

use super::{DataQuality, Detention, HandoverRules, Response, log, targets};
use crate::model::{Incident, Scenario};
use crate::spatial::{LocalProjection, PointIndex, PolygonIndex};

/// Assigns incidents to demand zones: the `zone` column if it names a zone, else the zone
/// polygon containing the point, else the nearest zone point.
pub struct ZoneAssigner {
    ids: Vec<String>,
    polygons: PolygonIndex,
    polygon_zone: Vec<usize>,
    points: PointIndex,
}

impl ZoneAssigner {
    pub fn new(sc: &Scenario) -> ZoneAssigner {
        let with_poly: Vec<(usize, geo::MultiPolygon<f64>)> = sc
            .demand
            .iter()
            .enumerate()
            .filter_map(|(i, z)| z.polygon.clone().map(|p| (i, p)))
            .collect();
        let pts: Vec<[f64; 2]> = sc.demand.iter().map(|z| z.lon_lat).collect();
        ZoneAssigner {
            ids: sc.demand.iter().map(|z| z.id.clone()).collect(),
            polygon_zone: with_poly.iter().map(|x| x.0).collect(),
            polygons: PolygonIndex::new(with_poly.into_iter().map(|x| x.1).collect()),
            points: PointIndex::new(LocalProjection::around(&pts), &pts),
        }
    }

    /// The zone id for an incident, if the scenario has zones.
    pub fn zone_of(&self, i: &Incident) -> Option<&str> {
        if let Some(z) = &i.zone
            && let Some(id) = self.ids.iter().find(|id| *id == z)
        {
            return Some(id);
        }
        let at = i.lon_lat?;
        if let Some(p) = self.polygons.containing(at) {
            return Some(&self.ids[self.polygon_zone[p as usize]]);
        }
        self.points
            .nearest_k(at, 1)
            .first()
            .map(|(id, _)| self.ids[*id as usize].as_str())
    }
}

/// The name of hospital `id` in `sc` (the id itself when the scenario does not know it).
pub fn hospital_name(sc: &Scenario, id: &str) -> String {
    sc.hospitals
        .iter()
        .find(|h| h.id == id)
        .map(|h| h.name.clone())
        .unwrap_or_else(|| id.to_string())
}

/// Response figures of `log` with the scenario's zones (the simulator's and the live KPIs').
pub fn response_from_log(
    sc: &Scenario,
    log: &[Incident],
    target_min: f64,
    dq: &mut DataQuality,
) -> Response {
    let zones = ZoneAssigner::new(sc);
    log::response_from_log(
        log,
        &|i| zones.zone_of(i).map(str::to_string),
        target_min,
        dq,
    )
}

/// Detention of `log` with the scenario's hospital names and the default handover thresholds.
pub fn detention_from_log(
    sc: &Scenario,
    log: &[Incident],
    threshold_min: f64,
    dq: &mut DataQuality,
) -> Detention {
    // Constants, not the preset: this runs per live KPI request and per replication.
    let rules = HandoverRules {
        detention_threshold_min: threshold_min,
        thresholds_min: &targets::DEFAULT_HANDOVER_THRESHOLDS_MIN,
        lost_after_min: targets::DEFAULT_HANDOVER_LOST_AFTER_MIN,
    };
    log::detention_from_log(log, &|id| hospital_name(sc, id), &rules, dq)
}
