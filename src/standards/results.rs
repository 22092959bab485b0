//! The check's result types: the report, its target rows and figures, the data-quality
//! counts, and the options and errors of a check.
//!
//! This module owns the shapes [`crate::report`] formats and the API serves. It must not compute
//! a figure (that is the indicator modules) or format output.

use serde::Serialize;

use super::{Detention, MultiUnit, NotComputed, Response, Transport, WeightedSummary};
use crate::model::InvalidRow;

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
    pub(super) fn add(&mut self, line: u64) {
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
