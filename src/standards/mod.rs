//! The annual standards check: the four plan targets and the indicators behind them.
//!
//! This module owns the definitions of every indicator `ems check` reports and computes them from
//! a scenario, the shared [`TravelModel`] and an incident log. It must not parse files (that is
//! [`crate::model`]), build a travel-time model of its own, or format output (that is
//! [`crate::report`]).
//!
//! # Definitions
//! 1. **Service radius, official** (急救站点平均服务半径): `r = sqrt(A / (π N))`, with `A` the
//!    region's area in km² (geodesic area of the boundary, or the scenario's `area_km2`) and `N`
//!    the number of stations. **Network reality** beside it: for each demand zone the station
//!    with the shortest road travel time from it; the road distance along that fastest route and
//!    its time, summarised with population weights (mean, P90, P95, max), and the share of
//!    residents whose road distance is within the radius target.
//! 2. **Ambulances per population** (每3万人1辆): required = `ceil(P / 30,000)`; the value is
//!    ambulances per 30,000 residents (`ambulances × 30,000 / P`), target ≥ 1. The share of
//!    negative-pressure ambulances is reported when the stations file says how many there are.
//! 3. **Detention rate** (压车率): among hospital arrivals with a valid handover
//!    (`at_hospital` → `handover_complete`, not negative), the share whose handover exceeds `T`
//!    minutes (default 10). Per hospital also P50/P90 handover and "lost hours"
//!    `Σ max(0, handover − 15 min)`.
//! 4. **Response time** (急救平均反应时间): `on_scene − call_received` over incidents that
//!    reached a scene: mean (the target), median, P90, P95, share ≤ 12 min, by priority and by
//!    zone; components call handling (received → dispatched), turnout (dispatched → departed,
//!    with the 3-minute departure rate, target ≥ 95 %) and travel (departed → on scene).
//! 5. **Modelled response time**, for plans and scenarios without a log: per zone, call handling
//!    plus turnout (configurable, [`CheckOptions`]) plus the road travel time from the nearest
//!    station, summarised with population weights.
//!
//! A row whose timestamps needed by a metric are missing does not count in that metric; a row
//! whose timestamps go back in time is excluded from the affected metric, counted, and listed by
//! CSV line in the data-quality section. Statistics follow [`stats`].
//!
//! # Layout
//! This file runs the check ([`check`], [`check_log_only`]); `results` holds the report's
//! types ([`CheckReport`]), `indicators` the scenario's figures and the targets table, `access`
//! the road figures from the stations, `zones` the scenario's zones and hospital names for a
//! log, [`log`] the log's figures, [`targets`] the target presets and [`calibrate`] the traffic
//! calibration.

mod access;
pub mod calibrate;
mod indicators;
pub mod log;
mod results;
mod shown;
pub mod stats;
pub mod targets;
mod zones;

use chrono::{DateTime, FixedOffset};

use crate::model::{Incident, IncidentLog, Scenario};
use crate::network::TravelModel;
pub use access::node_response_minutes;
use access::zone_access;
pub use indicators::official_radius_km;
use indicators::{fleet_figures, region_figures, service_radius, target_rows};
pub use log::{
    Detention, HandoverRules, HospitalHandover, HospitalWallTime, MultiUnit, NotComputed,
    OverThreshold, Response, ResponseGroup, Transport, WallTime,
};
pub use results::{
    CheckError, CheckOptions, CheckReport, Comparison, DataQuality, Exclusions, Fleet, LogInfo,
    MAX_LISTED, ModelledResponse, RegionFigures, ServiceRadius, Source, TargetResult, Unit,
    ZoneAccess,
};
pub use shown::shown;
pub use stats::{Summary, WeightedSummary};
pub use targets::Targets;
pub use zones::{ZoneAssigner, detention_from_log, hospital_name, response_from_log};

fn minutes(a: DateTime<FixedOffset>, b: DateTime<FixedOffset>) -> f64 {
    (b - a).num_milliseconds() as f64 / 60_000.0
}

/// The log figures shared by the full and the log-only check.
struct LogFigures {
    detention: Option<Detention>,
    response: Option<Response>,
    transport: Option<Transport>,
    multi_unit: Option<MultiUnit>,
    info: LogInfo,
    not_computed: Vec<NotComputed>,
}

fn log_figures(
    log: &IncidentLog,
    calls: &[Incident],
    zone_of: &dyn Fn(&Incident) -> Option<String>,
    name_of: &dyn Fn(&str) -> String,
    targets: &Targets,
    model: bool,
    dq: &mut DataQuality,
) -> LogFigures {
    let target_min = targets.mean_response_min.unwrap_or(12.0);
    let has_log = !calls.is_empty();
    let rules = HandoverRules {
        detention_threshold_min: targets.detention_threshold_min,
        thresholds_min: &targets.handover_thresholds_min,
        lost_after_min: targets.handover_lost_after_min,
    };
    dq.skipped = log.skipped.clone();
    for i in calls.iter().filter(|i| i.lon_lat.is_none()) {
        dq.no_location.add(i.line);
    }
    LogFigures {
        detention: has_log.then(|| log::detention_from_log(calls, name_of, &rules, dq)),
        response: has_log.then(|| log::response_from_log(calls, zone_of, target_min, dq)),
        transport: has_log.then(|| log::transport_from_log(calls, dq)),
        multi_unit: log::multi_unit_from_log(log, calls),
        info: LogInfo {
            mapping: log.mapping.clone(),
            crs: log.crs,
            incidents: calls.len(),
            read_incidents: log.incidents.len(),
            rows_read: log.rows
                - log.skipped.iter().map(|s| s.count).sum::<u64>()
                - log.invalid.len() as u64,
            call_times_only: log::call_times_only(calls),
            notes: log.notes.clone(),
        },
        not_computed: if log.incidents.is_empty() && log.rows == 0 {
            Vec::new()
        } else {
            log::not_computed(log, calls, model)
        },
    }
}

/// Runs the check. `log` is the incident log to use (the scenario's own, or another).
pub fn check(
    sc: &Scenario,
    tm: &TravelModel,
    log: &IncidentLog,
    targets: &Targets,
    opts: &CheckOptions,
) -> Result<CheckReport, CheckError> {
    let sc_all_ambulances: u32 = sc.stations.iter().map(|s| s.ambulances).sum();
    let (mut used, placement) = sc.on_map(tm);
    used.stations.retain(|s| s.ambulances > 0);
    if used.stations.is_empty() {
        let why = if sc.stations.is_empty() {
            " (it has none)".to_string()
        } else {
            format!(": {}", placement.lines().join("; "))
        };
        return Err(CheckError::NoStations(why));
    }
    let sc = &used;
    for (name, v) in [
        ("call_handling_s", opts.call_handling_s),
        ("turnout_s", opts.turnout_s),
    ] {
        if !(v.is_finite() && v >= 0.0) {
            return Err(CheckError::Option(name));
        }
    }
    let mut dq = DataQuality {
        rows: log.rows,
        invalid_rows: log.invalid.clone(),
        off_map: placement.off_map,
        unstaffed_stations: placement.unstaffed_stations,
        coordinate_hint: crate::model::placement::coordinate_hint(
            &|p| sc.in_region(p),
            &log.incidents,
            log.crs,
        )
        .map(|h| h.text),
        ..Default::default()
    };
    let in_region = crate::model::placement::split_by_region(sc, &log.incidents);
    if !log.incidents.is_empty() && in_region.inside.is_empty() {
        return Err(crate::model::placement::NoCallOnMap::new(sc, log).into());
    }
    for line in in_region.outside_lines {
        dq.outside_region.add(line);
    }
    let calls: Vec<Incident> = in_region.inside.into_iter().cloned().collect();
    let mut region = region_figures(sc);
    // Every ambulance counts in the fleet, at a station on the map or not.
    region.ambulances = sc_all_ambulances;
    let access = zone_access(sc, tm, opts, &mut dq)?;
    let service_radius = service_radius(&region, &access, targets);
    let fleet = fleet_figures(sc, &region, targets);

    // 3-4. From the log.
    let zones = ZoneAssigner::new(sc);
    let name_of = |id: &str| hospital_name(sc, id);
    let lf = log_figures(
        log,
        &calls,
        &|i| zones.zone_of(i).map(str::to_string),
        &name_of,
        targets,
        true,
        &mut dq,
    );

    // 5. Modelled.
    let target_min = targets.mean_response_min.unwrap_or(12.0);
    let modelled_items: Vec<(f64, f64)> = access
        .iter()
        .map(|a| (a.modelled_response_min, a.population))
        .collect();
    let modelled_response = ModelledResponse {
        call_handling_s: opts.call_handling_s,
        turnout_s: opts.turnout_s,
        target_min,
        travel: tm.describe_hours(&opts.hours),
        summary: stats::summarize_weighted(&modelled_items),
        share_within_target: stats::weighted_share_within(&modelled_items, target_min),
        zones: access,
    };
    let targets_table = target_rows(
        targets,
        Some(&service_radius),
        Some(&fleet),
        lf.detention.as_ref(),
        lf.response.as_ref(),
        Some(&modelled_response),
    );
    Ok(CheckReport {
        scenario: Some(sc.name.clone()),
        targets_id: targets.id.clone(),
        targets_name: targets.name.clone(),
        region: Some(region),
        targets: targets_table,
        service_radius: Some(service_radius),
        fleet: Some(fleet),
        detention: lf.detention,
        response: lf.response,
        transport: lf.transport,
        multi_unit: lf.multi_unit,
        modelled_response: Some(modelled_response),
        log: (log.rows > 0 || !log.incidents.is_empty()).then_some(lf.info),
        not_computed: lf.not_computed,
        data_quality: dq,
        assumptions: *opts,
    })
}

/// The check of a log alone (`ems check --log-only`): the log figures (response, handover,
/// detention, departure, transport) in the same shape as [`check`]; the figures that need a
/// scenario are `None` and listed in `not_computed`. Zones come from the log's `zone` field;
/// hospitals are named by their ids.
pub fn check_log_only(log: &IncidentLog, targets: &Targets) -> Result<CheckReport, CheckError> {
    let mut dq = DataQuality {
        rows: log.rows,
        invalid_rows: log.invalid.clone(),
        ..Default::default()
    };
    let lf = log_figures(
        log,
        &log.incidents,
        &|i| i.zone.clone(),
        &|id| id.to_string(),
        targets,
        false,
        &mut dq,
    );
    let mut not_computed = log::needs_scenario();
    not_computed.extend(lf.not_computed);
    Ok(CheckReport {
        scenario: None,
        targets_id: targets.id.clone(),
        targets_name: targets.name.clone(),
        region: None,
        targets: target_rows(
            targets,
            None,
            None,
            lf.detention.as_ref(),
            lf.response.as_ref(),
            None,
        ),
        service_radius: None,
        fleet: None,
        detention: lf.detention,
        response: lf.response,
        transport: lf.transport,
        multi_unit: lf.multi_unit,
        modelled_response: None,
        log: Some(lf.info),
        not_computed,
        data_quality: dq,
        assumptions: CheckOptions::default(),
    })
}
