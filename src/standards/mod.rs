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

pub mod calibrate;
pub mod log;
pub mod stats;
pub mod targets;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use crate::model::{Incident, IncidentLog, InvalidRow, Scenario};
use crate::network::{Direction, Seed, Snapped, TravelModel};
use crate::spatial::{LocalProjection, PointIndex, PolygonIndex};
pub use log::{
    Detention, HandoverRules, HospitalHandover, HospitalWallTime, MultiUnit, NotComputed,
    OverThreshold, Response, ResponseGroup, Transport, WallTime,
};
pub use stats::{Summary, WeightedSummary};
pub use targets::Targets;

/// Modelling assumptions for the check.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CheckOptions {
    /// Call handling (received → dispatched) assumed by the modelled response time, seconds.
    pub call_handling_s: f64,
    /// Turnout (dispatched → departed) assumed by the modelled response time, seconds.
    pub turnout_s: f64,
    /// The hours whose travel times the modelled figures use (with a traffic profile).
    pub hours: crate::network::Hours,
}

impl Default for CheckOptions {
    /// 60 s call handling and 60 s turnout: inside the national 3-minute departure rule with
    /// room to spare, and typical of dispatch-centre statistics. Replace them with your own
    /// log's medians.
    fn default() -> Self {
        CheckOptions {
            call_handling_s: 60.0,
            turnout_s: 60.0,
            hours: crate::network::Hours::default(),
        }
    }
}

/// Why a check cannot run.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The scenario has no station with an ambulance on the map: the service radius and
    /// response times are undefined.
    #[error("the scenario has no station with an ambulance on the road map{0}")]
    NoStations(String),
    /// A log was given, but none of its calls lies inside the region.
    #[error(transparent)]
    NoCallOnMap(#[from] crate::model::placement::NoCallOnMap),
    /// An option is out of range.
    #[error("`{0}` must be a non-negative number of seconds")]
    Option(&'static str),
}

/// The unit of a target's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Km,
    /// A count of vehicles (per population).
    Vehicles,
    /// A share in `[0, 1]`, shown in percent.
    Share,
    /// Minutes.
    Min,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Km => "km",
            Unit::Vehicles => "vehicles",
            Unit::Share => "share",
            Unit::Min => "min",
        }
    }
}

/// How a value is compared with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    #[serde(rename = "<=")]
    AtMost,
    #[serde(rename = "<")]
    Below,
    #[serde(rename = ">=")]
    AtLeast,
}

impl Comparison {
    /// `<=`, `<` or `>=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::AtMost => "<=",
            Comparison::Below => "<",
            Comparison::AtLeast => ">=",
        }
    }

    /// Whether `value` meets `threshold` (with a rounding tolerance for `<=` and `>=`).
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::AtMost => value <= threshold + 1e-12,
            Comparison::Below => value < threshold,
            Comparison::AtLeast => value >= threshold - 1e-12,
        }
    }
}

/// Where a figure comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Source {
    /// The scenario's files (or a figure given in the scenario TOML).
    #[serde(rename = "scenario")]
    Scenario,
    #[serde(rename = "incident log")]
    IncidentLog,
    /// The travel-time model.
    #[serde(rename = "model")]
    Model,
    /// The region boundary's geodesic area.
    #[serde(rename = "boundary")]
    Boundary,
    /// The sum over the demand zones.
    #[serde(rename = "demand zones")]
    DemandZones,
    /// Given on the command line.
    #[serde(rename = "given")]
    Given,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Scenario => "scenario",
            Source::IncidentLog => "incident log",
            Source::Model => "model",
            Source::Boundary => "boundary",
            Source::DemandZones => "demand zones",
            Source::Given => "given",
        }
    }
}

macro_rules! display_as_str {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    )*};
}
display_as_str!(Unit, Comparison, Source);

/// One row of the targets table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetResult {
    /// Stable id: `service_radius_km`, `ambulances_per_30k`, `detention_rate`,
    /// `mean_response_min`, `departure_3min_rate`, `negative_pressure_share`.
    pub id: &'static str,
    pub label_en: &'static str,
    pub label_zh: &'static str,
    pub unit: Unit,
    /// `None` when there is no data (e.g. no incident log for the detention rate).
    pub value: Option<f64>,
    /// `None` when the target set sets no threshold.
    pub threshold: Option<f64>,
    pub comparison: Comparison,
    /// `None` when either side is missing.
    pub pass: Option<bool>,
    /// `scenario`, `incident log` or `model`.
    pub source: Source,
}

/// The region's headline figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionFigures {
    pub area_km2: f64,
    /// `boundary` (geodesic area) or `scenario` (`area_km2` given).
    pub area_source: Source,
    pub stations: usize,
    pub ambulances: u32,
    pub population: f64,
    /// `demand zones` or `scenario`.
    pub population_source: Source,
}

/// Per-zone travel from the nearest station.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneAccess {
    pub zone: String,
    pub name: String,
    pub population: f64,
    /// Station with the shortest travel time.
    pub station: String,
    pub travel_min: f64,
    /// Road distance along that fastest route, km.
    pub distance_km: f64,
    /// Call handling + turnout + travel, minutes.
    pub modelled_response_min: f64,
}

/// Service radius: official formula and network reality.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceRadius {
    pub official_km: f64,
    pub formula: &'static str,
    /// Population-weighted road distance to the nearest station (by time), km.
    pub road_distance_km: Option<WeightedSummary>,
    /// Population-weighted travel time to the nearest station, minutes.
    pub travel_time_min: Option<WeightedSummary>,
    /// The radius the network shares are measured against, km.
    pub radius_km: f64,
    /// Share of residents within `radius_km` of a station by road.
    pub share_within_radius_by_road: Option<f64>,
}

/// Fleet size against population.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fleet {
    pub ambulances: u32,
    pub population: f64,
    pub residents_per_ambulance_target: f64,
    pub required: u64,
    pub per_30k: Option<f64>,
    pub shortfall: u64,
    /// Negative-pressure ambulances, where the stations file says.
    pub negative_pressure: Option<u32>,
    pub negative_pressure_share: Option<f64>,
    /// Stations that do not say how many negative-pressure ambulances they have.
    pub negative_pressure_unknown_stations: Vec<String>,
}

/// Modelled response times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelledResponse {
    pub call_handling_s: f64,
    pub turnout_s: f64,
    pub target_min: f64,
    /// The travel model and hours behind the figures (free flow, or the traffic profile at an
    /// hour or averaged over hours).
    pub travel: String,
    pub summary: Option<WeightedSummary>,
    pub share_within_target: Option<f64>,
    pub zones: Vec<ZoneAccess>,
}

/// Rows left out of a metric, with their CSV lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exclusions {
    pub count: usize,
    /// CSV lines (the first [`MAX_LISTED`]).
    pub lines: Vec<u64>,
}

/// How many excluded lines are listed per metric.
pub const MAX_LISTED: usize = 1000;

impl Exclusions {
    fn add(&mut self, line: u64) {
        self.count += 1;
        if self.lines.len() < MAX_LISTED {
            self.lines.push(line);
        }
    }
}

/// What was left out, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DataQuality {
    /// Data rows in the log.
    pub rows: u64,
    /// Rows that could not be parsed (with `--skip-invalid`).
    pub invalid_rows: Vec<InvalidRow>,
    /// on_scene before call_received.
    pub response_out_of_order: Exclusions,
    /// handover_complete before at_hospital.
    pub handover_out_of_order: Exclusions,
    /// at_hospital without handover_complete.
    pub handover_missing: Exclusions,
    /// dispatched before call_received.
    pub call_handling_out_of_order: Exclusions,
    /// departed before dispatched.
    pub turnout_out_of_order: Exclusions,
    /// on_scene before departed.
    pub travel_out_of_order: Exclusions,
    /// left_scene before on_scene.
    pub scene_out_of_order: Exclusions,
    /// at_hospital before left_scene.
    pub transport_out_of_order: Exclusions,
    /// available before at_hospital (left out of the wall-time proxy).
    pub wall_time_out_of_order: Exclusions,
    /// Rows the mapping's filters left out, by reason (first lines of each).
    pub skipped: Vec<crate::model::incidents::Skipped>,
    /// Incidents without coordinates (zone-level logs, or `(0, 0)`): kept in the log figures,
    /// not placed on the map.
    pub no_location: Exclusions,
    /// When most calls fall outside the region: what share another coordinate system or column
    /// order would put inside.
    pub coordinate_hint: Option<String>,
    /// Demand zones whose point is off the road network: left out of the network figures.
    pub unsnapped_zones: Vec<String>,
    /// Demand zones that no station reaches by road.
    pub unreachable_zones: Vec<String>,
    /// Stations, hospitals and demand points beyond the snapping limit (left out, with their
    /// distance to the road).
    pub off_map: Vec<crate::model::placement::OffMap>,
    /// Stations with no ambulance (not counted as stations).
    pub unstaffed_stations: Vec<String>,
    /// Incidents outside the region boundary (left out of the region's figures).
    pub outside_region: Exclusions,
}

/// How the log was read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogInfo {
    /// The mapping (`ems`, `datasf`, a file's name).
    pub mapping: String,
    /// The coordinate system the log's points were read in (converted to WGS 84).
    pub crs: crate::spatial::china::Crs,
    /// Incidents after grouping, filters and the region.
    pub incidents: usize,
    /// Incidents read from the file (before the region).
    pub read_incidents: usize,
    /// Rows read into those incidents (the rest were left out by filters or unparseable).
    pub rows_read: u64,
    /// True when no incident has a time after the call: response, handover and the other
    /// stage figures cannot be computed from this log (see `not_computed`).
    pub call_times_only: bool,
    /// The mapping, zone and coordinate system used, and what was assumed.
    pub notes: Vec<String>,
}

/// The complete result of a check. A log-only check (`ems check --log-only`) has no
/// `scenario`, `region`, `service_radius`, `fleet` or `modelled_response`; `not_computed` says
/// so.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckReport {
    pub scenario: Option<String>,
    pub targets_id: String,
    pub targets_name: String,
    pub region: Option<RegionFigures>,
    pub targets: Vec<TargetResult>,
    pub service_radius: Option<ServiceRadius>,
    pub fleet: Option<Fleet>,
    pub detention: Option<Detention>,
    pub response: Option<Response>,
    pub transport: Option<Transport>,
    pub multi_unit: Option<MultiUnit>,
    pub modelled_response: Option<ModelledResponse>,
    pub log: Option<LogInfo>,
    /// Figures this check cannot give, why, and what stands in for them.
    pub not_computed: Vec<NotComputed>,
    pub data_quality: DataQuality,
    pub assumptions: CheckOptions,
}

/// `sqrt(A / (π N))`: the radius of a circle with the area per station, km.
pub fn official_radius_km(area_km2: f64, stations: usize) -> f64 {
    (area_km2 / (std::f64::consts::PI * stations as f64)).sqrt()
}

fn minutes(a: DateTime<FixedOffset>, b: DateTime<FixedOffset>) -> f64 {
    (b - a).num_milliseconds() as f64 / 60_000.0
}

/// Per-zone access from the nearest station (by travel time).
fn zone_access(
    sc: &Scenario,
    tm: &TravelModel,
    opts: &CheckOptions,
    dq: &mut DataQuality,
) -> Result<Vec<ZoneAccess>, CheckError> {
    // The stations are on the map (the check removed those that are not).
    let stations: Vec<Snapped> = sc
        .stations
        .iter()
        .filter_map(|s| tm.snap(s.lon_lat).ok())
        .collect();
    let mut zones = Vec::new();
    let mut snapped = Vec::new();
    for z in &sc.demand {
        match tm.snap(z.lon_lat) {
            Ok(s) => {
                zones.push(z);
                snapped.push(s);
            }
            Err(_) => dq.unsnapped_zones.push(z.id.clone()),
        }
    }
    let m = tm.matrix_over(&opts.hours, &stations, &snapped, None);
    let mut out = Vec::new();
    for (c, z) in zones.iter().enumerate() {
        let best = (0..m.rows)
            .filter_map(|r| m.get(r, c).map(|e| (r, e)))
            .min_by_key(|(_, e)| e.time_ms);
        match best {
            Some((r, e)) => {
                let travel = e.minutes();
                out.push(ZoneAccess {
                    zone: z.id.clone(),
                    name: z.name.clone(),
                    population: z.population,
                    station: sc.stations[r].id.clone(),
                    travel_min: travel,
                    distance_km: e.distance_m / 1000.0,
                    modelled_response_min: travel + (opts.call_handling_s + opts.turnout_s) / 60.0,
                });
            }
            None => dq.unreachable_zones.push(z.id.clone()),
        }
    }
    Ok(out)
}

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

fn verdict(value: Option<f64>, threshold: Option<f64>, comparison: Comparison) -> Option<bool> {
    Some(comparison.holds(value?, threshold?))
}

fn region_figures(sc: &Scenario) -> RegionFigures {
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
fn service_radius(
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
fn fleet_figures(sc: &Scenario, region: &RegionFigures, targets: &Targets) -> Fleet {
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
fn target_rows(
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

/// The earliest modelled response time at every road node: one multi-source search from all
/// stations, plus call handling and turnout. Minutes; `None` where unreached. For maps.
pub fn node_response_minutes(
    sc: &Scenario,
    tm: &TravelModel,
    opts: &CheckOptions,
) -> Vec<Option<f64>> {
    // One hour: that hour's graph. Weighted hours: the free-flow graph scaled by the weighted
    // mean of the hours' `by_hour` factors (a map shading, not a figure).
    let (model, scale) = match (tm.traffic(), opts.hours) {
        (None, _) => (None, 1.0),
        (Some(_), crate::network::Hours::Hour { hour }) => (Some(tm.at_hour(hour)), 1.0),
        (Some(t), h) => {
            let w = h.weights();
            (None, (0..24).map(|k| w[k] * t.hour_factor(k)).sum::<f64>())
        }
    };
    let tm = model.as_ref().unwrap_or(tm);
    let seeds: Vec<Seed> = sc
        .staffed_stations()
        .filter_map(|s| tm.snap(s.lon_lat).ok())
        .flat_map(|sn| tm.departure_seeds(&sn).collect::<Vec<_>>())
        .collect();
    let mut q = tm.query();
    q.run(&tm.graph, Direction::Forward, &seeds, None);
    let fixed = (opts.call_handling_s + opts.turnout_s) / 60.0;
    (0..tm.graph.num_nodes() as u32)
        .map(|v| q.time(v).map(|t| scale * t as f64 / 60_000.0 + fixed))
        .collect()
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
