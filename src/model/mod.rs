//! The domain model and its file formats: stations, hospitals, demand zones, the region
//! boundary, incidents, and the TOML scenario that names them all.
//!
//! This module owns reading and validating those files. It must not compute travel times or
//! standards; it hands validated objects to the analyses. Every malformed file gives a
//! [`ModelError`] naming the file, the feature or row, and the field. The formats are documented
//! with tables and examples in `docs/file-formats.md`.
//!
//! # Files
//! This file holds the shared vocabulary: the objects ([`Station`], [`Hospital`],
//! [`DemandZone`], [`Region`], [`Capability`]) and [`ModelError`]. Reading is split by what is
//! read: `features.rs` is the GeoJSON feature reader, `layers.rs` the stations, hospitals,
//! demand-zone, site and boundary files, `scenario.rs` the scenario file and its loader,
//! `call_mix.rs` its `[simulation]` table. This file must not parse anything itself.

mod call_mix;
pub mod city;
pub mod demand;
pub mod demo;
mod features;
pub mod gis;
pub mod incidents;
mod layers;
pub mod placement;
pub mod population;
mod scenario;
pub mod write;

use geo::MultiPolygon;
use serde::{Deserialize, Serialize};

pub use write::{boundary_geojson, demand_zones_geojson, hospitals_geojson, stations_geojson};

pub use incidents::{
    FilterArg, Incident, IncidentLog, InvalidRow, LogOptions, Mapping, MappingArg, ParseOptions,
    TimeZoneSpec, UnitStages, lead_units, parse_incidents, parse_log, read_incidents, read_log,
    write_incidents,
};

pub use call_mix::CallMix;
pub(crate) use features::feature_polygon;
pub use features::{FeatureCtx, RawFeature, parse_features};
pub use layers::{
    parse_boundary, parse_demand_zones, parse_hospitals, parse_points, parse_stations,
    read_demand_zones,
};
pub use scenario::{Scenario, ScenarioFile, Source, exact_total};

use crate::network::ImportError;

/// A malformed or unreadable input file. Each variant names the file and, where it applies, the
/// feature (0-based index in the `features` array, with its `id` if it has one) or CSV line, and
/// the field.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read: check the path (scenario paths are relative to the scenario file).
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The scenario TOML does not parse or has a wrong/unknown key; the message gives line and column.
    #[error("{path}: invalid scenario TOML: {message}")]
    Toml { path: String, message: String },
    /// The file is not valid JSON/GeoJSON at the top level.
    #[error("{path}: invalid GeoJSON: {message}")]
    GeoJson { path: String, message: String },
    /// One feature is wrong.
    #[error("{path}: feature {index}{}: field `{field}`: {message}", id.as_ref().map(|i| format!(" (id {i})")).unwrap_or_default())]
    Feature {
        path: String,
        index: usize,
        id: Option<String>,
        field: String,
        message: String,
    },
    /// One CSV row is wrong (`line` counts the header as line 1).
    #[error("{path}:{line}: field `{field}`: {message}")]
    Csv {
        path: String,
        line: u64,
        field: String,
        message: String,
    },
    /// The scenario's map could not be imported.
    #[error("scenario map: {0}")]
    Map(#[from] ImportError),
    /// An incident-log mapping does not parse or contradicts itself.
    #[error(transparent)]
    Mapping(#[from] incidents::MappingError),
    /// The traffic profile the scenario names is wrong.
    #[error(transparent)]
    Traffic(#[from] crate::network::TrafficError),
}

/// A hospital capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// A 24 h emergency department.
    Emergency,
    /// Designated stroke centre.
    Stroke,
    /// Designated chest-pain centre.
    ChestPain,
    /// Trauma centre.
    Trauma,
    /// Maternal (obstetric) emergencies.
    Maternal,
    /// Neonatal intensive care.
    Neonatal,
    Pediatric,
    /// Fever clinic (infectious disease triage).
    FeverClinic,
}

impl Capability {
    pub const ALL: [Capability; 8] = [
        Capability::Emergency,
        Capability::Stroke,
        Capability::ChestPain,
        Capability::Trauma,
        Capability::Maternal,
        Capability::Neonatal,
        Capability::Pediatric,
        Capability::FeverClinic,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Emergency => "emergency",
            Capability::Stroke => "stroke",
            Capability::ChestPain => "chest_pain",
            Capability::Trauma => "trauma",
            Capability::Maternal => "maternal",
            Capability::Neonatal => "neonatal",
            Capability::Pediatric => "pediatric",
            Capability::FeverClinic => "fever_clinic",
        }
    }

    pub fn parse(s: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The designation a patient condition calls for: `stroke`, `chest_pain`, `trauma`,
    /// `maternal` and `neonatal` each need a designated centre; other conditions need none.
    pub fn for_condition(condition: Option<&str>) -> Option<Capability> {
        match condition? {
            "stroke" => Some(Capability::Stroke),
            "chest_pain" => Some(Capability::ChestPain),
            "trauma" => Some(Capability::Trauma),
            "maternal" => Some(Capability::Maternal),
            "neonatal" => Some(Capability::Neonatal),
            _ => None,
        }
    }
}

/// Patient conditions the incident log and the dispatch API know; `other` and an empty
/// condition need no designated centre.
pub const CONDITIONS: [&str; 6] = [
    "stroke",
    "chest_pain",
    "trauma",
    "maternal",
    "neonatal",
    "other",
];

/// An ambulance station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Station {
    pub id: String,
    pub name: String,
    pub lon_lat: [f64; 2],
    /// Ambulances based here.
    pub ambulances: u32,
    /// Of which negative-pressure ambulances, when known.
    pub negative_pressure: Option<u32>,
    /// Where the location comes from (`osm:node/123`, `hand-placed`, ...).
    pub source: Option<String>,
}

impl Station {
    /// The id of the station's `k`-th ambulance (`k` from 1): `{station}-{k}`, as incident logs,
    /// the live API and the simulator name units.
    pub fn unit_id(&self, k: u32) -> String {
        format!("{}-{k}", self.id)
    }

    /// The id of the `k`-th new site (`k` from 0) that a plan or a what-if adds: `new-{k + 1}`.
    /// The one naming rule for added stations, in plans, GeoJSON, evaluations and simulations.
    pub fn new_site_id(k: usize) -> String {
        format!("new-{}", k + 1)
    }

    /// The `k`-th new site (`k` from 0) at `lon_lat` with `ambulances`, named by
    /// [`Station::new_site_id`]; `source` says what added it.
    pub fn new_site(k: usize, lon_lat: [f64; 2], ambulances: u32, source: &str) -> Station {
        Station {
            id: Station::new_site_id(k),
            name: format!("New site {}", k + 1),
            lon_lat,
            ambulances,
            negative_pressure: None,
            source: Some(source.to_string()),
        }
    }
}

/// A receiving hospital.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hospital {
    pub id: String,
    pub name: String,
    pub lon_lat: [f64; 2],
    pub capabilities: Vec<Capability>,
    /// Emergency-department bays for ambulance handover.
    pub ed_bays: Option<u32>,
    pub source: Option<String>,
}

/// A demand zone: where residents live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DemandZone {
    pub id: String,
    pub name: String,
    /// The zone's area, when given as a polygon.
    pub polygon: Option<MultiPolygon<f64>>,
    /// The point that stands for the zone in travel-time queries: `demand_point` if given, else
    /// the polygon's centroid, else the point geometry.
    pub lon_lat: [f64; 2],
    /// Resident population.
    pub population: f64,
}

/// The region under study.
#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub boundary: MultiPolygon<f64>,
}

impl Region {
    /// Geodesic area in km² (Karney's algorithm via `geo::GeodesicArea`), the same for either
    /// ring orientation, holes subtracted.
    pub fn area_km2(&self) -> f64 {
        crate::spatial::polygon::multi_area_m2(&self.boundary) / 1e6
    }
}
