//! Station planning on a scenario: where to add `k` stations to the existing network.
//!
//! This module owns turning a scenario into a location problem (demand points, candidate sites,
//! travel-time costs from the shared [`TravelModel`](crate::network::TravelModel)) and the answer back into sites on the map.
//! It must not compute travel times itself, nor format output.
//!
//! - **Demand**: the scenario's demand zones weighted by population, or incident locations
//!   weighted one each ([`DemandSource`]).
//! - **Candidates**: the existing stations (kept open unless relocating) plus new sites: road
//!   nodes inside the region boundary thinned to one per grid cell of a given spacing (the node
//!   nearest the cell centre), or points from a GeoJSON file (taken as given).
//! - **Costs**: response time as the standards check defines it, call handling + turnout + road
//!   travel time from the site, in seconds; or road distance along the fastest route, metres.
//!
//! The request and result types are here; `problem` builds the location problem,
//! `stations` places stations ([`plan`]) and `ambulances` places ambulances
//! ([`plan_fleet`], [`compliance_table`]).

mod ambulances;
mod problem;
mod stations;

use serde::Serialize;

use super::{Certificate, OptimizeError, SolveOptions};
use crate::network::SnapError;
use crate::standards::Source;
pub use ambulances::{busy_from_log, compliance_table, plan_fleet};
pub use problem::grid_candidates;
pub use stations::plan;

/// Where demand comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandSource {
    /// Demand zones, weighted by population.
    Zones,
    /// The incident log's locations, one each.
    Incidents,
}

/// The coverage standard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standard {
    /// Response time (call handling + turnout + road travel) within this many minutes.
    Minutes(f64),
    /// Road distance within this many km.
    Km(f64),
}

/// Which objective to optimise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Model {
    /// Population-weighted mean response time.
    #[serde(rename = "p-median")]
    PMedian,
    /// Population covered within the standard.
    #[serde(rename = "mclp")]
    Mclp,
    /// The fewest new stations that put every resident within the standard (`add` is ignored).
    #[serde(rename = "lscp")]
    Lscp,
    /// The smallest worst-case response time.
    #[serde(rename = "p-center")]
    PCenter,
    /// Ambulances over sites maximising expected coverage under a busy fraction
    /// ([`super::mexclp`]; planned by [`plan_fleet`]).
    #[serde(rename = "mexclp")]
    Mexclp,
    /// Ambulances over sites maximising demand covered twice within the standard, everyone
    /// within a secondary one ([`super::backup`]; planned by [`plan_fleet`]).
    #[serde(rename = "backup")]
    Backup,
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Model {
    /// The model's name in output: `p-median`, `mclp`, `lscp`, `p-center`, `mexclp`, `backup`.
    pub fn as_str(self) -> &'static str {
        match self {
            Model::PMedian => "p-median",
            Model::Mclp => "mclp",
            Model::Lscp => "lscp",
            Model::PCenter => "p-center",
            Model::Mexclp => "mexclp",
            Model::Backup => "backup",
        }
    }

    /// Whether the model places ambulances ([`plan_fleet`]) rather than stations ([`plan`]).
    pub fn places_ambulances(self) -> bool {
        matches!(self, Model::Mexclp | Model::Backup)
    }
}

/// What the ambulance placement models need beyond a [`PlanRequest`].
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRequest {
    /// Ambulances to place (`None`: `ceil(population / 30,000)`, the one-per-30,000 target).
    pub ambulances: Option<usize>,
    /// MEXCLP busy fraction (`None`: estimated from the incident log).
    pub busy: Option<f64>,
    /// The most ambulances one site may hold.
    pub max_per_site: Option<usize>,
    /// Backup coverage: the secondary standard everyone must be within.
    pub secondary: Option<Standard>,
    /// Backup coverage: the share of demand that must be within the primary standard.
    pub alpha: f64,
}

/// How the busy fraction was obtained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusyEstimate {
    pub q: f64,
    /// `given` or `incident log`.
    pub source: Source,
    pub calls_per_hour: Option<f64>,
    pub mean_job_min: Option<f64>,
    /// Incidents whose job time could be measured.
    pub jobs_measured: usize,
}

/// Ambulances at one site, now and in the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetSite {
    /// Station id, or `new-K` for the `K`-th candidate site that receives ambulances.
    pub id: String,
    pub lon_lat: [f64; 2],
    pub before: usize,
    pub after: usize,
}

/// An ambulance placement with before/after figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetPlan {
    pub model: Model,
    pub ambulances: usize,
    /// Where `ambulances` comes from.
    pub ambulances_source: String,
    pub current_fleet: usize,
    pub busy: Option<BusyEstimate>,
    /// Every site holding an ambulance before or after.
    pub sites: Vec<FleetSite>,
    /// Expected covered demand (MEXCLP) or demand covered twice (backup), with its bound.
    #[serde(flatten)]
    pub cert: Certificate,
    /// The same objective for the current fleet where it stands.
    pub objective_before: f64,
    pub total_demand: f64,
    pub covered_before: f64,
    pub covered_after: f64,
    pub covered_twice_before: f64,
    pub covered_twice_after: f64,
    pub mean_response_before_min: f64,
    pub mean_response_after_min: f64,
    pub candidates: usize,
    pub demand_points: usize,
    pub unreachable_demand: Vec<usize>,
}

/// A planning request.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRequest {
    pub model: Model,
    /// New stations to add.
    pub add: usize,
    pub standard: Standard,
    pub demand: DemandSource,
    /// Extra candidate points `[lon, lat]` (e.g. from a GeoJSON file).
    pub candidate_points: Vec<[f64; 2]>,
    /// Grid spacing in metres for candidates generated from road nodes (`None`: no grid).
    pub grid_m: Option<f64>,
    /// Let existing stations move (otherwise they stay open).
    pub relocate: bool,
    pub call_handling_s: f64,
    pub turnout_s: f64,
    /// The hours whose travel times the plan optimises (with a traffic profile): one hour, or
    /// the mean over hours weighted by call volume.
    pub hours: crate::network::Hours,
    pub solve: SolveOptions,
    /// Zone weights by zone id replacing the residents (with [`DemandSource::Zones`]; a zone
    /// not named weighs 0), and what they are (e.g. calls fitted to a log).
    pub zone_weights: Option<(String, Vec<(String, f64)>)>,
}

/// A chosen new site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewSite {
    /// Candidate point `[lon, lat]`.
    pub lon_lat: [f64; 2],
    /// The point on the road it snapped to, and how far that is.
    pub on_road: [f64; 2],
    pub snap_distance_m: f64,
    /// OSM way of the road it snapped to.
    pub road_way_id: i64,
    /// Residents (or incidents) newly within the standard thanks to this site.
    pub newly_covered: f64,
    /// Demand for which this site becomes the nearest.
    pub served: f64,
}

/// The plan with before/after figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Indices of the open candidates (existing stations first, then new candidates).
    #[serde(skip)]
    pub open: Vec<usize>,
    pub model: Model,
    pub candidates: usize,
    pub demand_points: usize,
    pub total_demand: f64,
    pub new_sites: Vec<NewSite>,
    /// Existing stations kept open (all unless relocating).
    pub kept_stations: Vec<String>,
    /// The optimised objective with its bound: weighted mean response in minutes (p-median),
    /// covered demand (MCLP), new stations needed (LSCP), or the worst response in minutes
    /// (p-center).
    #[serde(flatten)]
    pub cert: Certificate,
    pub mean_response_before_min: f64,
    pub mean_response_after_min: f64,
    pub covered_before: f64,
    pub covered_after: f64,
    /// Demand points that no candidate reaches (left out).
    pub unreachable_demand: Vec<usize>,
    /// The travel model and hours the plan used.
    pub travel: String,
}

/// Why a plan cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A station or candidate point is off the road network.
    #[error("{what}: {source}")]
    Snap {
        what: String,
        #[source]
        source: SnapError,
    },
    /// The scenario has no demand of the chosen kind.
    #[error("no demand: {0}")]
    NoDemand(&'static str),
    /// The solver rejected the problem.
    #[error(transparent)]
    Optimize(#[from] OptimizeError),
    /// Some demand cannot be served as asked; the message names the demand points by id.
    #[error("{0}")]
    Demand(String),
    /// The incident log has calls, but none inside the region.
    #[error(transparent)]
    NoCallOnMap(#[from] crate::model::placement::NoCallOnMap),
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

impl std::str::FromStr for Standard {
    type Err = String;

    /// `12min`, `8 min`, `3.5km` or `500m`.
    fn from_str(s: &str) -> Result<Standard, String> {
        parse_standard(s).ok_or_else(|| {
            format!("`{s}`: expected a time such as 12min or a distance such as 3.5km or 500m")
        })
    }
}

impl std::fmt::Display for Standard {
    /// `12min` or `3.5km`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Standard::Minutes(m) => write!(f, "{m}min"),
            Standard::Km(km) => write!(f, "{km}km"),
        }
    }
}

/// Parses `12min`, `8 min`, `3.5km`, `500m` into a standard (also through `FromStr`).
///
/// ```
/// use ems::optimize::plan::Standard;
/// assert_eq!("12min".parse::<Standard>(), Ok(Standard::Minutes(12.0)));
/// assert_eq!("8 min".parse::<Standard>(), Ok(Standard::Minutes(8.0)));
/// assert_eq!("3.5km".parse::<Standard>(), Ok(Standard::Km(3.5)));
/// assert_eq!("500m".parse::<Standard>(), Ok(Standard::Km(0.5)));
/// assert!("soon".parse::<Standard>().is_err());
/// assert!("-3km".parse::<Standard>().is_err());
/// ```
pub fn parse_standard(s: &str) -> Option<Standard> {
    let t = s.trim().to_ascii_lowercase().replace(' ', "");
    let num = |x: &str| x.parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0);
    if let Some(x) = t.strip_suffix("min") {
        return num(x).map(Standard::Minutes);
    }
    if let Some(x) = t.strip_suffix("km") {
        return num(x).map(Standard::Km);
    }
    if let Some(x) = t.strip_suffix('m') {
        return num(x).map(|v| Standard::Km(v / 1000.0));
    }
    None
}
