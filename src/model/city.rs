//! Your own city: a complete scenario from an OpenStreetMap extract and whatever GIS files the
//! planner has (boundary, stations, hospitals, census zones, a population raster), with every
//! inferred value written down as an assumption. Behind `ems init`.
//!
//! This module owns turning those inputs into the scenario's objects and its list of
//! assumptions. It must not write files (the command does) nor compute travel times; it reads
//! through [`super::gis`] and builds demand with [`super::demand`]. Where a required input
//! cannot be found, the error says what to pass instead of producing an empty scenario.
//!
//! # Files
//! This file holds the request, the result and [`build`], which runs the steps in order:
//! `city/boundary.rs` the region boundary, `city/facilities.rs` the stations and hospitals,
//! `city/residents.rs` the demand zones. It must not carry out a step itself.

mod boundary;
mod facilities;
mod residents;

use std::path::PathBuf;

use geo::MultiPolygon;

use super::gis::GisError;
use super::gis::table::CsvOptions;
use super::{DemandZone, Hospital, Region, Station};
use crate::network::rings::AdminArea;
use crate::network::{ImportError, RoadNetwork};

pub use facilities::osm_capabilities;
pub use residents::road_weight;

use boundary::boundary;
use facilities::{hospitals_from_file, hospitals_from_osm, stations_from_file, stations_from_osm};
use residents::demand;

/// Where the region boundary comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum BoundarySource {
    /// A GeoJSON or Shapefile of polygons (merged).
    File(PathBuf),
    /// An administrative relation of the extract, by OSM id.
    OsmRelation(i64),
    /// An administrative relation of the extract, by name.
    Admin(String),
    /// The extract's own bounding box (flagged: an extract is rarely the district).
    ExtractBounds,
}

/// What a raster's values are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RasterValues {
    /// Residents per cell.
    Count,
    /// Residents per km².
    PerKm2,
    /// Residents per m².
    PerM2,
}

/// How residents are spread when only a total is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spread {
    /// Building floor area where the extract has buildings, else road length.
    Auto,
    Buildings,
    /// Road length, weighted by class (see [`road_weight`]).
    Roads,
    /// Evenly over the region's area.
    Uniform,
}

/// Where demand comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DemandInput {
    /// A total shared over the map's buildings, roads or area.
    Total { population: f64, spread: Spread },
    /// A GeoTIFF of residents (optionally rescaled to a total).
    Raster {
        path: PathBuf,
        values: RasterValues,
        total: Option<f64>,
    },
    /// Census zones with a population field.
    Zones { path: PathBuf, field: String },
}

/// Everything `ems init` was told.
#[derive(Debug, Clone)]
pub struct CityRequest {
    pub boundary: BoundarySource,
    pub stations: Option<PathBuf>,
    pub hospitals: Option<PathBuf>,
    /// Use `amenity=fire_station` as stations where there is no `emergency=ambulance_station`.
    pub fire_stations: bool,
    /// Use every `amenity=hospital`, not only those with `emergency=yes`.
    pub all_hospitals: bool,
    pub csv: CsvOptions,
    pub demand: DemandInput,
    /// Grid cell of generated demand zones, metres.
    pub cell_m: f64,
    /// Ambulances at a station whose file does not say.
    pub default_ambulances: u32,
}

/// An inferred value and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Assumption {
    pub what: String,
    pub value: String,
    pub source: String,
}

/// The scenario's objects and what was assumed to make them.
#[derive(Debug, Clone)]
pub struct City {
    pub region: Region,
    /// The boundary's name and source, for its file.
    pub boundary_name: String,
    pub boundary_source: String,
    pub stations: Vec<Station>,
    pub hospitals: Vec<Hospital>,
    pub demand: Vec<DemandZone>,
    pub assumptions: Vec<Assumption>,
    /// Values that look wrong, for the planner to check (also in the assumptions).
    pub warnings: Vec<String>,
}

/// Why a city cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum CityError {
    #[error(transparent)]
    Gis(#[from] GisError),
    #[error(transparent)]
    Import(#[from] ImportError),
    /// A required input is missing; the message says what to pass.
    #[error("{0}")]
    Missing(String),
    /// A value is unusable; the message names it.
    #[error("{0}")]
    Invalid(String),
}

impl City {
    fn assume(&mut self, what: &str, value: impl Into<String>, source: impl Into<String>) {
        self.assumptions.push(Assumption {
            what: what.to_string(),
            value: value.into(),
            source: source.into(),
        });
    }
}

/// Ids that are unique, as the stations and hospitals files need.
fn unique_id(seen: &mut std::collections::HashSet<String>, id: String) -> String {
    let mut candidate = id.clone();
    let mut k = 2;
    while !seen.insert(candidate.clone()) {
        candidate = format!("{id}-{k}");
        k += 1;
    }
    candidate
}

/// Builds a city from the extract (already imported, with its administrative areas) and the
/// request.
pub fn build(net: &RoadNetwork, areas: &[AdminArea], req: &CityRequest) -> Result<City, CityError> {
    if !(req.cell_m.is_finite() && req.cell_m >= 50.0) {
        return Err(CityError::Invalid(format!(
            "the demand grid cell {} m must be at least 50 m",
            req.cell_m
        )));
    }
    let mut city = City {
        region: Region {
            boundary: MultiPolygon::new(vec![]),
        },
        boundary_name: String::new(),
        boundary_source: String::new(),
        stations: Vec::new(),
        hospitals: Vec::new(),
        demand: Vec::new(),
        assumptions: Vec::new(),
        warnings: Vec::new(),
    };
    boundary(&mut city, req, net, areas)?;
    match &req.stations {
        Some(p) => stations_from_file(&mut city, req, p)?,
        None => stations_from_osm(&mut city, req, net)?,
    }
    match &req.hospitals {
        Some(p) => hospitals_from_file(&mut city, req, p)?,
        None => hospitals_from_osm(&mut city, req, net)?,
    }
    demand(&mut city, req, net)?;
    let outside = city
        .stations
        .iter()
        .filter(|s| {
            !crate::spatial::mask::RegionMask::new(&city.region.boundary).contains(s.lon_lat)
        })
        .count();
    if outside > 0 {
        city.assume(
            "stations outside the boundary",
            format!("{outside} kept"),
            "they serve the region from outside it; remove them from stations.geojson if they do not",
        );
    }
    Ok(city)
}
