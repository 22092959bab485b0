//! The scenario's indicators of the standards check: the region's figures, the service radius
//! (target 1), the fleet against population (target 2), and the targets table with its verdicts.
//!
//! This module owns how those figures and verdicts are defined. It must not read the incident
//! log (that is [`super::log`]), route (the road figures come in as [`ZoneAccess`]) or format
//! output.

use super::{
    Comparison, Detention, Fleet, ModelledResponse, RegionFigures, Response, ServiceRadius, Source,
    TargetResult, Targets, Unit, ZoneAccess, stats,
};
use crate::model::Scenario;

/// `sqrt(A / (π N))`: the radius of a circle with the area per station, km (the district
/// plan's definition of the average station service radius). `O(1)`.
///
/// ```
/// use ems::standards::official_radius_km;
/// // 38.5 km² served by one station: a circle of 38.5 km², radius 3.5 km.
/// assert!((official_radius_km(38.5, 1) - 3.5007).abs() < 1e-4);
/// // Four times the stations, half the radius.
/// let (one, four) = (official_radius_km(100.0, 2), official_radius_km(100.0, 8));
/// assert!((one / four - 2.0).abs() < 1e-12);
/// // No station: no finite radius.
/// assert!(official_radius_km(10.0, 0).is_infinite());
/// ```
pub fn official_radius_km(area_km2: f64, stations: usize) -> f64 {
    (area_km2 / (std::f64::consts::PI * stations as f64)).sqrt()
}

pub(super) fn verdict(
    value: Option<f64>,
    threshold: Option<f64>,
    comparison: Comparison,
) -> Option<bool> {
    Some(comparison.holds(value?, threshold?))
}

pub(super) fn region_figures(sc: &Scenario) -> RegionFigures {
    RegionFigures {
        area_km2: sc.area_km2(),
        area_source: if sc.area_km2.is_some() {
            Source::Scenario
        } else {
            Source::Boundary
        },
        stations: sc.stations.len(),
        ambulances: sc.stations.iter().map(|s| s.ambulances).sum(),
        population: sc.population(),
        population_source: if sc.population.is_some() {
            Source::Scenario
        } else {
            Source::DemandZones
        },
    }
}

/// Target 1: the official radius, and the road distance and time to each zone's fastest station.
pub(super) fn service_radius(
    region: &RegionFigures,
    access: &[ZoneAccess],
    targets: &Targets,
) -> ServiceRadius {
    let radius_km = targets.service_radius_km.unwrap_or(3.5);
    let dist: Vec<(f64, f64)> = access
        .iter()
        .map(|a| (a.distance_km, a.population))
        .collect();
    let time: Vec<(f64, f64)> = access
        .iter()
        .map(|a| (a.travel_min, a.population))
        .collect();
    ServiceRadius {
        official_km: official_radius_km(region.area_km2, region.stations),
        formula: "sqrt(A / (pi * N))",
        road_distance_km: stats::summarize_weighted(&dist),
        travel_time_min: stats::summarize_weighted(&time),
        radius_km,
        share_within_radius_by_road: stats::weighted_share_within(&dist, radius_km),
    }
}

/// Target 2: ambulances against the population, and the negative-pressure share where stated.
pub(super) fn fleet_figures(sc: &Scenario, region: &RegionFigures, targets: &Targets) -> Fleet {
    let (ambulances, population) = (region.ambulances, region.population);
    let per_amb = targets.residents_per_ambulance.unwrap_or(30_000.0);
    let known: Vec<&crate::model::Station> = sc
        .stations
        .iter()
        .filter(|s| s.negative_pressure.is_some())
        .collect();
    let negative_pressure = (!known.is_empty()).then(|| {
        known
            .iter()
            .filter_map(|s| s.negative_pressure)
            .sum::<u32>()
    });
    let required = (population / per_amb).ceil().max(0.0) as u64;
    Fleet {
        ambulances,
        population,
        residents_per_ambulance_target: per_amb,
        required,
        per_30k: (population > 0.0).then(|| ambulances as f64 * 30_000.0 / population),
        shortfall: required.saturating_sub(ambulances as u64),
        negative_pressure,
        negative_pressure_share: negative_pressure
            .filter(|_| ambulances > 0)
            .map(|n| n as f64 / ambulances as f64),
        negative_pressure_unknown_stations: if known.is_empty() {
            Vec::new()
        } else {
            sc.stations
                .iter()
                .filter(|s| s.negative_pressure.is_none())
                .map(|s| s.id.clone())
                .collect()
        },
    }
}

/// One row of the targets table, with its verdict.
#[allow(clippy::too_many_arguments)]
fn row(
    id: &'static str,
    label_en: &'static str,
    label_zh: &'static str,
    unit: Unit,
    value: Option<f64>,
    threshold: Option<f64>,
    comparison: Comparison,
    source: Source,
) -> TargetResult {
    TargetResult {
        id,
        label_en,
        label_zh,
        unit,
        value,
        threshold,
        comparison,
        pass: verdict(value, threshold, comparison),
        source,
    }
}

/// The targets table: each plan target against its value, from the scenario, the log or
/// the model.
pub(super) fn target_rows(
    targets: &Targets,
    service_radius: Option<&ServiceRadius>,
    fleet: Option<&Fleet>,
    detention: Option<&Detention>,
    response: Option<&Response>,
    modelled: Option<&ModelledResponse>,
) -> Vec<TargetResult> {
    let log_mean = response
        .and_then(|r| r.overall.as_ref())
        .map(|g| g.summary.mean);
    let (mean_value, mean_source) = match log_mean {
        Some(m) => (Some(m), Source::IncidentLog),
        None => (
            modelled.and_then(|m| m.summary.as_ref()).map(|s| s.mean),
            if modelled.is_some() {
                Source::Model
            } else {
                Source::IncidentLog
            },
        ),
    };
    let per_30k_threshold = targets.residents_per_ambulance.map(|r| 30_000.0 / r);
    vec![
        row(
            "service_radius_km",
            "Average station service radius",
            "急救站点平均服务半径",
            Unit::Km,
            service_radius.map(|r| r.official_km),
            targets.service_radius_km,
            Comparison::AtMost,
            Source::Scenario,
        ),
        row(
            "ambulances_per_30k",
            "Ambulances per 30,000 residents",
            "每3万人口救护车数",
            Unit::Vehicles,
            fleet.and_then(|f| f.per_30k),
            per_30k_threshold,
            Comparison::AtLeast,
            Source::Scenario,
        ),
        row(
            "detention_rate",
            "Ambulance detention rate at hospitals",
            "平均院前急救压车率",
            Unit::Share,
            detention.and_then(|d| d.rate),
            targets.detention_rate_max,
            Comparison::Below,
            Source::IncidentLog,
        ),
        row(
            "mean_response_min",
            "Mean response time",
            "急救平均反应时间",
            Unit::Min,
            mean_value,
            targets.mean_response_min,
            Comparison::AtMost,
            mean_source,
        ),
        row(
            "departure_3min_rate",
            "3-minute departure rate",
            "3分钟出车率",
            Unit::Share,
            response.and_then(|r| r.departure_3min_rate),
            targets.departure_3min_rate_min,
            Comparison::AtLeast,
            Source::IncidentLog,
        ),
        row(
            "negative_pressure_share",
            "Negative-pressure ambulance share",
            "负压救护车占比",
            Unit::Share,
            fleet.and_then(|f| f.negative_pressure_share),
            targets.negative_pressure_share_min,
            Comparison::AtLeast,
            Source::Scenario,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_published_radius() {
        // Shanghai: 6,340.5 km²; 175 stations -> 3.40 km, 128 stations -> 3.97 km.
        assert_eq!(
            (official_radius_km(6340.5, 175) * 100.0).round() / 100.0,
            3.40
        );
        assert_eq!(
            (official_radius_km(6340.5, 128) * 100.0).round() / 100.0,
            3.97
        );
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            verdict(Some(3.5), Some(3.5), Comparison::AtMost),
            Some(true)
        );
        assert_eq!(
            verdict(Some(0.025), Some(0.025), Comparison::Below),
            Some(false)
        );
        assert_eq!(
            verdict(Some(0.95), Some(0.95), Comparison::AtLeast),
            Some(true)
        );
        assert_eq!(verdict(None, Some(1.0), Comparison::AtLeast), None);
        assert_eq!(verdict(Some(1.0), None, Comparison::AtLeast), None);
    }
}
