//! The embedded demo scenario: Monaco, from `maps/` and `data/demo/`, compiled into the binary.
//!
//! This module owns nothing but the embedding: it serves the files in `data/demo/` and the map in
//! `maps/` from memory, so `ems demo` and every command's default work from any directory with no
//! set-up. It must not contain data of its own; edit the files, not this module.

use std::path::Path;

use super::{ModelError, Scenario, Source};
use crate::network::{ImportError, RoadNetwork, import_bytes};

/// The demo map: Monaco, OpenStreetMap, December 2023 (`maps/monaco.osm.pbf`).
pub const MAP_PBF: &[u8] = include_bytes!("../../maps/monaco.osm.pbf");
/// Name used in messages for the embedded map.
pub const MAP_NAME: &str = "maps/monaco.osm.pbf";

const FILES: &[(&str, &str)] = &[
    (
        "scenario.toml",
        include_str!("../../data/demo/scenario.toml"),
    ),
    (
        "boundary.geojson",
        include_str!("../../data/demo/boundary.geojson"),
    ),
    (
        "stations.geojson",
        include_str!("../../data/demo/stations.geojson"),
    ),
    (
        "hospitals.geojson",
        include_str!("../../data/demo/hospitals.geojson"),
    ),
    (
        "demand.geojson",
        include_str!("../../data/demo/demand.geojson"),
    ),
    (
        "incidents.csv",
        include_str!("../../data/demo/incidents.csv"),
    ),
];

/// Imports the embedded demo map.
pub fn map() -> Result<RoadNetwork, ImportError> {
    import_bytes(MAP_PBF, MAP_NAME)
}

struct Embedded;

impl Source for Embedded {
    fn text(&self, rel: &Path) -> Result<(String, String), ModelError> {
        let name = rel.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        FILES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, t)| (t.to_string(), format!("data/demo/{n}")))
            .ok_or_else(|| ModelError::Io {
                path: format!("data/demo/{}", rel.display()),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not embedded in the demo",
                ),
            })
    }

    fn map(&self, _rel: &Path) -> Result<RoadNetwork, ModelError> {
        Ok(map()?)
    }
}

/// Loads the embedded demo scenario.
pub fn scenario() -> Result<Scenario, ModelError> {
    scenario_with(false)
}

/// Loads the embedded demo scenario; `skip_invalid` as in [`Scenario::from_toml_with`].
pub fn scenario_with(skip_invalid: bool) -> Result<Scenario, ModelError> {
    Scenario::from_toml_with(
        FILES[0].1,
        "data/demo/scenario.toml",
        &Embedded,
        skip_invalid,
    )
}
