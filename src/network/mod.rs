//! The road graph: OpenStreetMap import, the compact query graph, speed profiles, snapping,
//! Dijkstra and travel-time matrices.
//!
//! This module owns the one travel-time model of `ems`. The optimizer, the simulator, the
//! standards check and the live API all ask [`TravelModel`] for times; none of them may build a
//! second graph or apply speeds of its own. It must not know about stations, hospitals or
//! incidents as domain objects: it answers questions about points on the map.
//!
//! The flow is: an extract ([`import_path`]) or a cache ([`RoadNetwork::load`]) gives a
//! [`RoadNetwork`] (topology, geometry, points of interest); a [`SpeedProfile`] turns it into a
//! [`Csr`]; [`TravelModel`] bundles both with the snapping index. [`ch`] holds a contraction
//! hierarchy over the same [`Csr`] and its queries, checked against Dijkstra; [`TravelModel`]
//! answers large matrices with it and every other query with Dijkstra.

pub(crate) mod build;
pub mod cache;
pub mod ch;
pub mod csr;
pub(crate) mod dijkstra;
pub mod dimacs;
pub(crate) mod osm;
pub mod profile;
pub mod rings;
pub(crate) mod tags;
pub mod traffic;
pub mod travel;

use std::io::{BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use csr::Csr;
pub use dijkstra::{Dijkstra, Direction, Seed};
pub use osm::PoiKind;
pub use profile::SpeedProfile;
pub use tags::RoadClass;
pub use traffic::{Hours, TrafficError, TrafficProfile};
pub use travel::{Eta, Matrix, Route, SnapError, Snapped, TravelModel, TravelSettings};

/// A stretch of road between two graph nodes (intersections or way ends).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub from: u32,
    pub to: u32,
    /// The OSM way it comes from.
    pub way_id: i64,
    pub class: RoadClass,
    /// Drivable only from `from` to `to` (one-way roads are stored in their legal direction).
    pub oneway: bool,
    /// Signed speed limit in km/h, when tagged.
    pub maxspeed_kmh: Option<f32>,
    /// Who may drive it: general traffic, emergency vehicles only, buses only, or general
    /// traffic with a bus lane (the profile decides which of these an ambulance uses).
    pub access: Access,
    /// Haversine length along the geometry, metres.
    pub length_m: f64,
    /// `[lon, lat]` points from `from` to `to`, both included.
    pub geometry: Vec<[f64; 2]>,
}

/// Who may drive a road segment, from its OSM access tags (see `network::tags`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Access {
    /// Open to general traffic.
    #[default]
    General,
    /// Closed to general traffic, open to emergency vehicles: `access=no|private` with
    /// `emergency=yes|designated`. Driven by profiles with `emergency_access`.
    EmergencyOnly,
    /// Closed to general traffic, open to buses: `highway=busway`, or `access=no|private` with
    /// `bus` or `psv` `=yes|designated`. Driven by profiles with `bus_lanes`.
    BusOnly,
    /// Open to general traffic, with a bus lane (`busway=lane`, `busway:left|right|both=lane`,
    /// `lanes:bus` or `lanes:psv` > 0, `bus:lanes` or `psv:lanes` naming `designated`). A
    /// profile with `bus_lanes` drives it at free flow at every hour (in the bus lane).
    BusLane,
}

/// A point of interest found in the extract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Poi {
    pub kind: PoiKind,
    /// `node/ID` or `way/ID`.
    pub osm: String,
    pub name: Option<String>,
    /// The node, or the centroid of the way.
    pub lon_lat: [f64; 2],
    /// `emergency=yes` (hospitals with an emergency department).
    pub emergency: bool,
    /// Every OSM tag of the object.
    pub tags: std::collections::BTreeMap<String, String>,
}

/// A building footprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Building {
    pub lon_lat: [f64; 2],
    /// Geodesic footprint area, m².
    pub area_m2: f64,
    /// `building:levels`, when tagged.
    pub levels: Option<f32>,
    /// The `building=*` value (`yes`, `residential`, `apartments`, ...).
    pub building: String,
}

/// What an import found and dropped. Every field is in the `--format json` output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub source: String,
    /// `pbf` or `xml`.
    pub format: String,
    pub osm_nodes: u64,
    pub osm_ways: u64,
    pub osm_relations: u64,
    /// Ways with a `highway` tag.
    pub highway_ways: u64,
    /// Highway ways kept as drivable.
    pub drivable_ways: u64,
    pub rejected_not_drivable: u64,
    pub rejected_area: u64,
    pub rejected_access: u64,
    pub reversible_ways: u64,
    pub emergency_only_ways: u64,
    /// Ways closed to general traffic but open to buses (`highway=busway`, or `access=no`
    /// with `bus`/`psv=yes|designated`); driven only by profiles with `bus_lanes`.
    pub bus_only_ways: u64,
    /// Ways open to general traffic with a tagged bus lane.
    pub bus_lane_ways: u64,
    pub maxspeed_tagged_ways: u64,
    /// Way node references to nodes absent from the extract (dropped; the way keeps the rest).
    pub missing_node_refs: u64,
    pub ways_with_missing_refs: u64,
    /// Drivable ways left with fewer than two nodes.
    pub ways_without_geometry: u64,
    /// Graph nodes kept (largest strongly connected component).
    pub nodes: u64,
    /// Directed edges kept (two per two-way segment), car one-way rules.
    pub edges: u64,
    /// Road segments kept (between intersections).
    pub segments: u64,
    /// Length of the kept road, km (each segment once, whatever its directions).
    pub road_km: f64,
    /// Strongly connected components before filtering.
    pub components: u64,
    pub dropped_nodes: u64,
    pub dropped_segments: u64,
    pub dropped_road_km: f64,
    /// Kept nodes / all graph nodes.
    pub largest_scc_share: f64,
    pub hospitals: u64,
    pub hospitals_with_emergency: u64,
    pub ambulance_stations: u64,
    pub fire_stations: u64,
    pub buildings: u64,
    /// POIs or buildings mapped as relations, which are not read.
    pub poi_relations_skipped: u64,
}

/// An imported road network with its points of interest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoadNetwork {
    /// `[lon, lat]` of each graph node.
    pub nodes: Vec<[f64; 2]>,
    pub node_osm_ids: Vec<i64>,
    pub segments: Vec<Segment>,
    pub pois: Vec<Poi>,
    pub buildings: Vec<Building>,
    pub summary: ImportSummary,
    /// The contraction hierarchy a cache held (not serialised with the network; see
    /// [`cache`]).
    #[serde(skip)]
    pub accelerator: cache::Accelerator,
}

/// Errors from reading an extract or a cache. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be opened or read: check the path and permissions.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file starts like none of the formats `ems` reads (OSM PBF, OSM XML, `ems` cache).
    #[error(
        "{path}: not an OSM PBF file, an OSM XML file or an ems cache (the first bytes are {head})"
    )]
    UnknownFormat { path: String, head: String },
    /// The PBF decoder failed: the file is truncated, corrupt, or not PBF.
    #[error("{path}: invalid or truncated OSM PBF: {message}")]
    Pbf { path: String, message: String },
    /// The XML is not well formed.
    #[error("{path}:{line}: malformed OSM XML: {message}")]
    Xml {
        path: String,
        line: u64,
        message: String,
    },
    /// An element lacks a required attribute, or it does not parse.
    #[error("{path}:{line}: field `{field}`: {message}")]
    XmlField {
        path: String,
        line: u64,
        field: String,
        message: String,
    },
    /// The extract holds no nodes and no ways.
    #[error("{path}: the extract is empty (no nodes, no ways)")]
    Empty { path: String },
    /// None of the ways is a drivable road with at least two known nodes.
    #[error(
        "{path}: no drivable road: {highway_ways} highway ways, none of them routable by car \
         (motorway..residential, service, living_street, *_link) with two or more nodes in the file"
    )]
    NoDrivableRoads { path: String, highway_ways: u64 },
    /// The cache file could not be read; see [`cache::CacheError`].
    #[error(transparent)]
    Cache(#[from] cache::CacheError),
}

/// What a file is, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Pbf,
    Xml,
    Cache,
}

/// Sniffs the format from the first bytes: the cache magic, `<` after optional BOM/whitespace for
/// XML, or a PBF blob header (`OSMHeader` within the first bytes).
pub fn sniff(head: &[u8]) -> Option<FileKind> {
    if head.starts_with(cache::MAGIC) {
        return Some(FileKind::Cache);
    }
    let trimmed = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = trimmed.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'<') {
        return Some(FileKind::Xml);
    }
    if head.len() >= 13 && head[4..].windows(9).take(8).any(|w| w == b"OSMHeader") {
        return Some(FileKind::Pbf);
    }
    None
}

/// Sniffs a file's kind from its first bytes (`None`: none of the formats `ems` reads).
pub fn file_kind(path: &Path) -> Result<Option<FileKind>, ImportError> {
    let mut head = [0u8; 64];
    let mut f = std::fs::File::open(path).map_err(|e| ImportError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => {
                return Err(ImportError::Io {
                    path: path.display().to_string(),
                    source: e,
                });
            }
        }
    }
    Ok(sniff(&head[..n]))
}

fn describe_head(head: &[u8]) -> String {
    if head.is_empty() {
        return "missing (the file is empty)".into();
    }
    head.iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Imports an extract from bytes (`source` names it in messages).
pub fn import_bytes(bytes: &[u8], source: &str) -> Result<RoadNetwork, ImportError> {
    import_reader(bytes, source)
}

/// Imports an OSM extract (PBF or XML) or loads an `ems` cache, by content.
pub fn import_path(path: &Path) -> Result<RoadNetwork, ImportError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| ImportError::Io {
        path: name.clone(),
        source: e,
    })?;
    import_reader(file, &name)
}

/// Imports from any reader: sniffs the format, then streams it.
pub fn import_reader<R: Read + Send>(reader: R, source: &str) -> Result<RoadNetwork, ImportError> {
    Ok(import_reader_with(reader, source, false)?.0)
}

/// Imports an extract with its administrative boundaries (assembled into rings), for
/// `ems init`. A cache holds no boundaries.
pub fn import_with_boundaries(
    path: &Path,
) -> Result<(RoadNetwork, Vec<rings::AdminArea>), ImportError> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| ImportError::Io {
        path: name.clone(),
        source: e,
    })?;
    import_reader_with(file, &name, true)
}

fn import_reader_with<R: Read + Send>(
    reader: R,
    source: &str,
    boundaries: bool,
) -> Result<(RoadNetwork, Vec<rings::AdminArea>), ImportError> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let head = {
        use std::io::BufRead;
        reader
            .fill_buf()
            .map_err(|e| ImportError::Io {
                path: source.to_string(),
                source: e,
            })?
            .to_vec()
    };
    let (mut raw, format) = match sniff(&head) {
        Some(FileKind::Cache) => return Ok((cache::read_cache(reader, source)?, Vec::new())),
        Some(FileKind::Xml) => (osm::read_xml(reader, source, boundaries)?, "xml"),
        Some(FileKind::Pbf) => (osm::read_pbf(reader, source, boundaries)?, "pbf"),
        None if head.is_empty() => {
            return Err(ImportError::Empty {
                path: source.to_string(),
            });
        }
        None => {
            return Err(ImportError::UnknownFormat {
                path: source.to_string(),
                head: describe_head(&head),
            });
        }
    };
    let areas = rings::admin_areas(&mut raw);
    Ok((build::build_network(raw, source, format)?, areas))
}
