//! The domain model and its file formats: stations, hospitals, demand zones, the region
//! boundary, incidents, and the TOML scenario that names them all.
//!
//! This module owns reading and validating those files. It must not compute travel times or
//! standards; it hands validated objects to the analyses. Every malformed file gives a
//! [`ModelError`] naming the file, the feature or row, and the field. The formats are documented
//! with tables and examples in `README.md` ("File formats").

pub mod city;
pub mod demand;
pub mod demo;
pub mod gis;
pub mod incidents;
pub mod placement;
pub mod population;
pub mod write;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use geo::{Centroid, MultiPolygon, Polygon};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use write::{boundary_geojson, demand_zones_geojson, hospitals_geojson, stations_geojson};

pub use incidents::{
    FilterArg, Incident, IncidentLog, InvalidRow, LogOptions, Mapping, MappingArg, ParseOptions,
    TimeZoneSpec, UnitStages, lead_units, parse_incidents, parse_log, read_incidents, read_log,
    write_incidents,
};

use crate::network::profile::ProfileError;
use crate::network::{ImportError, RoadNetwork, SpeedProfile, TravelModel, TravelSettings};
use crate::spatial::polygon::checked_polygon;

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

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |e| ModelError::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// A parsed GeoJSON feature: geometry, properties, index and id for messages.
pub struct RawFeature {
    pub index: usize,
    pub id: Option<String>,
    pub geometry: Option<geojson::GeometryValue>,
    pub properties: Map<String, Value>,
}

/// Context for per-feature errors.
pub struct FeatureCtx<'a> {
    pub path: &'a str,
    pub index: usize,
    pub id: Option<String>,
}

impl FeatureCtx<'_> {
    pub fn err(&self, field: &str, message: impl Into<String>) -> ModelError {
        ModelError::Feature {
            path: self.path.to_string(),
            index: self.index,
            id: self.id.clone(),
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Splits GeoJSON text (a FeatureCollection, a Feature, or a bare geometry) into features.
pub fn parse_features(text: &str, path: &str) -> Result<Vec<RawFeature>, ModelError> {
    let v: Value = serde_json::from_str(text).map_err(|e| ModelError::GeoJson {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    let top_err = |m: &str| ModelError::GeoJson {
        path: path.to_string(),
        message: m.to_string(),
    };
    let items: Vec<Value> = match v.get("type").and_then(Value::as_str) {
        Some("FeatureCollection") => match v.get("features") {
            Some(Value::Array(a)) => a.clone(),
            _ => return Err(top_err("a FeatureCollection needs a `features` array")),
        },
        Some("Feature") => vec![v],
        Some(_) => vec![serde_json::json!({"type": "Feature", "geometry": v, "properties": {}})],
        None => return Err(top_err("top-level object has no `type`")),
    };
    let mut out = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let id = item
            .get("properties")
            .and_then(|p| p.get("id"))
            .or_else(|| item.get("id"))
            .and_then(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        let ctx = FeatureCtx {
            path,
            index,
            id: id.clone(),
        };
        if item.get("type").and_then(Value::as_str) != Some("Feature") {
            return Err(ctx.err("type", "expected \"Feature\""));
        }
        let properties = match item.get("properties") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(_) => return Err(ctx.err("properties", "must be an object")),
        };
        let geometry = match item.get("geometry") {
            None | Some(Value::Null) => None,
            Some(g) => Some(
                serde_json::from_value::<geojson::Geometry>(g.clone())
                    .map_err(|e| ctx.err("geometry", e.to_string()))?
                    .value,
            ),
        };
        out.push(RawFeature {
            index,
            id,
            geometry,
            properties,
        });
    }
    Ok(out)
}

fn check_lon_lat(ctx: &FeatureCtx, field: &str, p: &[f64]) -> Result<[f64; 2], ModelError> {
    if p.len() < 2 {
        return Err(ctx.err(field, "a position needs [lon, lat]"));
    }
    let (lon, lat) = (p[0], p[1]);
    if !(lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat))
    {
        return Err(ctx.err(
            field,
            format!("[{lon}, {lat}] is not a valid [lon, lat] (lon -180..180, lat -90..90)"),
        ));
    }
    Ok([lon, lat])
}

fn feature_point(
    ctx: &FeatureCtx,
    g: &Option<geojson::GeometryValue>,
) -> Result<[f64; 2], ModelError> {
    match g {
        Some(geojson::GeometryValue::Point { coordinates }) => {
            check_lon_lat(ctx, "geometry", coordinates.as_slice())
        }
        Some(other) => Err(ctx.err(
            "geometry",
            format!("expected a Point, got {}", other.type_name()),
        )),
        None => Err(ctx.err("geometry", "missing")),
    }
}

fn to_polygon(
    ctx: &FeatureCtx,
    rings: &[Vec<geojson::Position>],
) -> Result<Polygon<f64>, ModelError> {
    let mut out = Vec::with_capacity(rings.len());
    for ring in rings {
        let mut coords = Vec::with_capacity(ring.len());
        for p in ring {
            coords.push(check_lon_lat(ctx, "geometry", p.as_slice())?);
        }
        if coords.len() < 4 {
            return Err(ctx.err("geometry", "a polygon ring needs at least 4 positions"));
        }
        out.push(coords);
    }
    checked_polygon(out).map_err(|e| ctx.err("geometry", e.to_string()))
}

pub(crate) fn feature_polygon(
    ctx: &FeatureCtx,
    g: &geojson::GeometryValue,
) -> Result<Option<MultiPolygon<f64>>, ModelError> {
    Ok(match g {
        geojson::GeometryValue::Polygon { coordinates } => {
            Some(MultiPolygon::new(vec![to_polygon(ctx, coordinates)?]))
        }
        geojson::GeometryValue::MultiPolygon { coordinates } => Some(MultiPolygon::new(
            coordinates
                .iter()
                .map(|p| to_polygon(ctx, p))
                .collect::<Result<_, _>>()?,
        )),
        _ => None,
    })
}

fn prop_str(
    ctx: &FeatureCtx,
    props: &Map<String, Value>,
    key: &str,
    required: bool,
) -> Result<Option<String>, ModelError> {
    match props.get(key) {
        None | Some(Value::Null) if required => Err(ctx.err(key, "missing")),
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() && required => Err(ctx.err(key, "empty")),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(ctx.err(key, format!("expected a string, got {other}"))),
    }
}

fn prop_u32(
    ctx: &FeatureCtx,
    props: &Map<String, Value>,
    key: &str,
) -> Result<Option<u32>, ModelError> {
    match props.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .filter(|v| *v <= u32::MAX as u64)
            .map(|v| Some(v as u32))
            .ok_or_else(|| ctx.err(key, format!("expected a non-negative integer, got {n}"))),
        Some(other) => Err(ctx.err(key, format!("expected a non-negative integer, got {other}"))),
    }
}

fn prop_f64(
    ctx: &FeatureCtx,
    props: &Map<String, Value>,
    key: &str,
) -> Result<Option<f64>, ModelError> {
    match props.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(Some)
            .ok_or_else(|| ctx.err(key, format!("expected a non-negative number, got {n}"))),
        Some(other) => Err(ctx.err(key, format!("expected a non-negative number, got {other}"))),
    }
}

fn ctx_of<'a>(path: &'a str, f: &RawFeature) -> FeatureCtx<'a> {
    FeatureCtx {
        path,
        index: f.index,
        id: f.id.clone(),
    }
}

/// Parses every feature, checks its `id` is present and unique, and builds an item from it.
fn parse_each<T>(
    text: &str,
    path: &str,
    mut build: impl FnMut(&FeatureCtx, &RawFeature, String) -> Result<T, ModelError>,
) -> Result<Vec<T>, ModelError> {
    let mut seen = HashSet::new();
    parse_features(text, path)?
        .iter()
        .map(|f| {
            let ctx = ctx_of(path, f);
            let id = unique_id(&ctx, &f.properties, &mut seen)?;
            build(&ctx, f, id)
        })
        .collect()
}

fn unique_id(
    ctx: &FeatureCtx,
    props: &Map<String, Value>,
    seen: &mut HashSet<String>,
) -> Result<String, ModelError> {
    let id = prop_str(ctx, props, "id", true)?.expect("required");
    if !seen.insert(id.clone()) {
        return Err(ctx.err("id", format!("duplicate id `{id}`")));
    }
    Ok(id)
}

/// Parses a stations GeoJSON (Point features; properties `id`, `name`, `ambulances`,
/// `negative_pressure`, `source`).
pub fn parse_stations(text: &str, path: &str) -> Result<Vec<Station>, ModelError> {
    parse_each(text, path, |ctx, f, id| {
        let p = &f.properties;
        let ambulances =
            prop_u32(ctx, p, "ambulances")?.ok_or_else(|| ctx.err("ambulances", "missing"))?;
        let negative_pressure = prop_u32(ctx, p, "negative_pressure")?;
        if negative_pressure.is_some_and(|n| n > ambulances) {
            return Err(ctx.err("negative_pressure", "more than `ambulances`"));
        }
        Ok(Station {
            name: prop_str(ctx, p, "name", false)?.unwrap_or_else(|| id.clone()),
            id,
            lon_lat: feature_point(ctx, &f.geometry)?,
            ambulances,
            negative_pressure,
            source: prop_str(ctx, p, "source", false)?,
        })
    })
}

/// Parses a hospitals GeoJSON (Point features; properties `id`, `name`, `capabilities`,
/// `ed_bays`, `source`).
pub fn parse_hospitals(text: &str, path: &str) -> Result<Vec<Hospital>, ModelError> {
    parse_each(text, path, |ctx, f, id| {
        let p = &f.properties;
        let capabilities = match p.get("capabilities") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|c| {
                    c.as_str().and_then(Capability::parse).ok_or_else(|| {
                        ctx.err(
                            "capabilities",
                            format!(
                                "unknown capability {c}; expected one of {}",
                                Capability::ALL.map(|c| c.as_str()).join(", ")
                            ),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(other) => {
                return Err(ctx.err(
                    "capabilities",
                    format!("expected an array of strings, got {other}"),
                ));
            }
        };
        Ok(Hospital {
            name: prop_str(ctx, p, "name", false)?.unwrap_or_else(|| id.clone()),
            id,
            lon_lat: feature_point(ctx, &f.geometry)?,
            capabilities,
            ed_bays: prop_u32(ctx, p, "ed_bays")?,
            source: prop_str(ctx, p, "source", false)?,
        })
    })
}

/// Parses a demand-zones GeoJSON (Polygon/MultiPolygon or Point features; properties `id`,
/// `name`, `population`, optional `demand_point` `[lon, lat]`).
pub fn parse_demand_zones(text: &str, path: &str) -> Result<Vec<DemandZone>, ModelError> {
    parse_each(text, path, |ctx, f, id| {
        let p = &f.properties;
        let population =
            prop_f64(ctx, p, "population")?.ok_or_else(|| ctx.err("population", "missing"))?;
        let g = f
            .geometry
            .as_ref()
            .ok_or_else(|| ctx.err("geometry", "missing"))?;
        let polygon = feature_polygon(ctx, g)?;
        let explicit = match p.get("demand_point") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => {
                let xs: Vec<f64> = a.iter().filter_map(Value::as_f64).collect();
                Some(check_lon_lat(ctx, "demand_point", &xs)?)
            }
            Some(other) => {
                return Err(ctx.err("demand_point", format!("expected [lon, lat], got {other}")));
            }
        };
        let lon_lat = match (explicit, &polygon, g) {
            (Some(p), _, _) => p,
            (None, Some(mp), _) => {
                let c = mp
                    .centroid()
                    .ok_or_else(|| ctx.err("geometry", "polygon has no area"))?;
                [c.x(), c.y()]
            }
            (None, None, geojson::GeometryValue::Point { coordinates }) => {
                check_lon_lat(ctx, "geometry", coordinates.as_slice())?
            }
            (None, None, other) => {
                return Err(ctx.err(
                    "geometry",
                    format!(
                        "expected Point, Polygon or MultiPolygon, got {}",
                        other.type_name()
                    ),
                ));
            }
        };
        Ok(DemandZone {
            name: prop_str(ctx, p, "name", false)?.unwrap_or_else(|| id.clone()),
            id,
            polygon,
            lon_lat,
            population,
        })
    })
}

/// Parses candidate sites: a GeoJSON of Point features (properties are ignored).
pub fn parse_points(text: &str, path: &str) -> Result<Vec<[f64; 2]>, ModelError> {
    parse_features(text, path)?
        .iter()
        .map(|f| feature_point(&ctx_of(path, f), &f.geometry))
        .collect()
}

/// Parses a region boundary: one or more Polygon/MultiPolygon features, merged.
pub fn parse_boundary(text: &str, path: &str) -> Result<Region, ModelError> {
    let feats = parse_features(text, path)?;
    let mut polys = Vec::new();
    for f in &feats {
        let ctx = ctx_of(path, f);
        let g = f
            .geometry
            .as_ref()
            .ok_or_else(|| ctx.err("geometry", "missing"))?;
        match feature_polygon(&ctx, g)? {
            Some(mp) => polys.extend(mp.0),
            None => {
                return Err(ctx.err(
                    "geometry",
                    format!("expected Polygon or MultiPolygon, got {}", g.type_name()),
                ));
            }
        }
    }
    if polys.is_empty() {
        return Err(ModelError::GeoJson {
            path: path.to_string(),
            message: "the boundary file has no polygon".into(),
        });
    }
    Ok(Region {
        boundary: MultiPolygon::new(polys),
    })
}

fn read_text(path: &Path) -> Result<String, ModelError> {
    std::fs::read_to_string(path).map_err(io_err(path))
}

/// Reads a demand-zones file.
pub fn read_demand_zones(path: &Path) -> Result<Vec<DemandZone>, ModelError> {
    parse_demand_zones(&read_text(path)?, &path.display().to_string())
}

/// The scenario file (TOML). Paths are relative to the scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: String,
    /// OSM extract or `ems` cache.
    pub map: PathBuf,
    pub boundary: PathBuf,
    pub stations: PathBuf,
    pub hospitals: PathBuf,
    pub demand: PathBuf,
    pub incidents: Option<PathBuf>,
    /// Overrides the boundary's geodesic area, km².
    pub area_km2: Option<f64>,
    /// Overrides the sum of the demand zones' population.
    pub population: Option<f64>,
    /// Speed profile; defaults to the ambulance profile.
    pub profile: Option<SpeedProfile>,
    /// Traffic profile: a `.toml` file of travel-time factors by road class and local hour
    /// (relative to the scenario), or `free-flow` (the default).
    pub traffic: Option<String>,
    /// Snapping limit, metres (default 1,000).
    pub snap_limit_m: Option<f64>,
    /// Speed of the off-road leg between a point and its road, km/h (default 5, walking; 0:
    /// free).
    pub off_road_kmh: Option<f64>,
    /// Time zone of incident timestamps written without an offset: `UTC` (default), a fixed
    /// offset such as `+08:00`, or an IANA name such as `Asia/Shanghai`.
    pub timezone: Option<String>,
    /// How calls arise, for `ems simulate` (`[simulation]`).
    pub simulation: Option<CallMix>,
}

/// How calls arise and how long handovers take, for the simulator (the scenario file's
/// `[simulation]` table). Every field is optional; the simulator documents its defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallMix {
    /// Calls per 1,000 residents per year.
    pub calls_per_1000: Option<f64>,
    /// Relative call volume by local hour of day: 24 non-negative numbers.
    pub hour_profile: Option<Vec<f64>>,
    /// Shares of priorities 1, 2, 3 (and 4): 1 to 4 non-negative numbers.
    pub priority_shares: Option<Vec<f64>>,
    /// Share of calls by condition (`stroke`, `chest_pain`, `trauma`, `maternal`, `neonatal`,
    /// `other`); the rest have none. The shares add up to at most 1.
    pub condition_shares: Option<std::collections::BTreeMap<String, f64>>,
    /// Handover minutes by hospital id, `[median, 90th percentile]` of a log-normal.
    pub handover_min: Option<std::collections::BTreeMap<String, [f64; 2]>>,
    /// Minutes on scene, `[median, 90th percentile]` of a log-normal.
    pub on_scene_min: Option<[f64; 2]>,
    /// Minutes on scene by priority (`"1" = [median, p90]`), overriding `on_scene_min`.
    pub on_scene_min_by_priority: Option<std::collections::BTreeMap<String, [f64; 2]>>,
    /// Share of calls transported to hospital, 0 to 1.
    pub transport_share: Option<f64>,
    /// Hospitals release an ambulance this many minutes after it arrives, handover done or not
    /// (the NHS's 45-minute rule); absent: it waits as long as the handover takes.
    pub release_after_min: Option<f64>,
    /// Stretchers (trolleys) for ambulance patients by hospital id; hospitals not named have
    /// no limit.
    pub stretchers: Option<std::collections::BTreeMap<String, i64>>,
    /// Minutes a patient keeps a hospital stretcher after the handover, `[median, p90]`.
    pub stretcher_hold_min: Option<[f64; 2]>,
    /// With no free stretcher the ambulance `wait`s (detention) or `leave`s its own and drives
    /// to its station for a spare.
    pub stretcher_rule: Option<String>,
}

/// Checks a `[median, p90]` pair; `field` names it.
fn check_median_p90(field: &str, [median, p90]: [f64; 2]) -> Result<(), String> {
    if median.is_finite() && median > 0.0 && p90.is_finite() && p90 >= median {
        Ok(())
    } else {
        Err(format!(
            "`{field}` = [{median}, {p90}]: need 0 < median <= p90"
        ))
    }
}

impl CallMix {
    /// Checks the values (hospital ids against `hospitals`); the message names the field.
    fn check(&self, hospitals: &[Hospital]) -> Result<(), String> {
        let fin = |v: &f64| v.is_finite() && *v >= 0.0;
        if let Some(r) = self.calls_per_1000
            && !fin(&r)
        {
            return Err(format!(
                "`simulation.calls_per_1000` = {r} must be non-negative"
            ));
        }
        if let Some(h) = &self.hour_profile
            && (h.len() != 24 || !h.iter().all(fin) || h.iter().sum::<f64>() <= 0.0)
        {
            return Err(
                "`simulation.hour_profile` needs 24 non-negative numbers, not all 0".into(),
            );
        }
        if let Some(p) = &self.priority_shares
            && (p.is_empty() || p.len() > 4 || !p.iter().all(fin) || p.iter().sum::<f64>() <= 0.0)
        {
            return Err("`simulation.priority_shares` needs 1 to 4 non-negative shares".into());
        }
        if let Some(c) = &self.condition_shares {
            for (k, v) in c {
                if !CONDITIONS.contains(&k.as_str()) {
                    return Err(format!(
                        "`simulation.condition_shares.{k}`: not one of {}",
                        CONDITIONS.join(", ")
                    ));
                }
                if !fin(v) {
                    return Err(format!(
                        "`simulation.condition_shares.{k}` = {v} must be non-negative"
                    ));
                }
            }
            let total: f64 = c.values().sum();
            if total > 1.0 + 1e-9 {
                return Err(format!(
                    "`simulation.condition_shares` add up to {total}, more than 1"
                ));
            }
        }
        if let Some(h) = &self.handover_min {
            for (id, [median, p90]) in h {
                if !hospitals.iter().any(|x| &x.id == id) {
                    return Err(format!(
                        "`simulation.handover_min.{id}`: no hospital `{id}`"
                    ));
                }
                check_median_p90(&format!("simulation.handover_min.{id}"), [*median, *p90])?;
            }
        }
        if let Some(d) = self.on_scene_min {
            check_median_p90("simulation.on_scene_min", d)?;
        }
        if let Some(by) = &self.on_scene_min_by_priority {
            for (k, d) in by {
                if !matches!(k.parse::<u8>(), Ok(1..=9)) {
                    return Err(format!(
                        "`simulation.on_scene_min_by_priority.{k}`: the key must be a priority, \
                         1 to 9"
                    ));
                }
                check_median_p90(&format!("simulation.on_scene_min_by_priority.{k}"), *d)?;
            }
        }
        if let Some(t) = self.transport_share
            && !(t.is_finite() && (0.0..=1.0).contains(&t))
        {
            return Err(format!(
                "`simulation.transport_share` = {t} must be between 0 and 1"
            ));
        }
        if let Some(st) = &self.stretchers {
            for (id, n) in st {
                if !hospitals.iter().any(|x| &x.id == id) {
                    return Err(format!("`simulation.stretchers.{id}`: no hospital `{id}`"));
                }
                if !(0..=100_000).contains(n) {
                    return Err(format!(
                        "`simulation.stretchers.{id}` = {n}: a stretcher count is 0 or more"
                    ));
                }
            }
        }
        if let Some(d) = self.stretcher_hold_min {
            check_median_p90("simulation.stretcher_hold_min", d)?;
        }
        if let Some(r) = &self.stretcher_rule
            && r != "wait"
            && r != "leave"
        {
            return Err(format!(
                "`simulation.stretcher_rule` = \"{r}\": use \"wait\" or \"leave\""
            ));
        }
        if let Some(r) = self.release_after_min
            && !(r.is_finite() && r > 0.0)
        {
            return Err(format!(
                "`simulation.release_after_min` = {r} must be a positive number of minutes"
            ));
        }
        Ok(())
    }
}

impl TravelModel {
    /// The travel model of a scenario: its road network (shared, not copied), its speed profile
    /// and its snapping limit. The one way a scenario's model is built.
    pub fn for_scenario(sc: &Scenario) -> Result<TravelModel, ProfileError> {
        TravelModel::for_map(sc.network.clone(), sc.travel.clone())
    }
}

/// A loaded scenario: every file read and validated.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// The road network, shared (cloning a scenario does not copy it).
    pub network: Arc<RoadNetwork>,
    pub region: Region,
    pub stations: Vec<Station>,
    pub hospitals: Vec<Hospital>,
    pub demand: Vec<DemandZone>,
    /// The incident log named by the scenario (empty when it names none).
    pub incidents: IncidentLog,
    pub timezone: TimeZoneSpec,
    pub area_km2: Option<f64>,
    pub population: Option<f64>,
    /// The speed profile and the snapping limit.
    pub travel: TravelSettings,
    /// The `[simulation]` table (defaults where absent).
    pub simulation: CallMix,
}

/// Reads every file a scenario names. `read` turns a scenario-relative path into its bytes and
/// the name used in messages; `map` imports the map.
pub trait Source {
    fn text(&self, rel: &Path) -> Result<(String, String), ModelError>;
    fn map(&self, rel: &Path) -> Result<RoadNetwork, ModelError>;
}

struct DirSource(PathBuf);

impl Source for DirSource {
    fn text(&self, rel: &Path) -> Result<(String, String), ModelError> {
        let p = self.0.join(rel);
        Ok((read_text(&p)?, p.display().to_string()))
    }
    fn map(&self, rel: &Path) -> Result<RoadNetwork, ModelError> {
        Ok(crate::network::import_path(&self.0.join(rel))?)
    }
}

impl Scenario {
    /// Loads a scenario TOML file and everything it names.
    pub fn load(path: &Path) -> Result<Scenario, ModelError> {
        Scenario::load_with(path, false)
    }

    /// As [`Scenario::load`], with `skip_invalid` for the incident log.
    pub fn load_with(path: &Path, skip_invalid: bool) -> Result<Scenario, ModelError> {
        let text = read_text(path)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Scenario::from_toml_with(
            &text,
            &path.display().to_string(),
            &DirSource(dir),
            skip_invalid,
        )
    }

    /// Parses scenario TOML text and loads its files through `source`.
    pub fn from_toml(text: &str, path: &str, source: &dyn Source) -> Result<Scenario, ModelError> {
        Scenario::from_toml_with(text, path, source, false)
    }

    /// As [`Scenario::from_toml`]; `skip_invalid` keeps going past unparseable incident rows
    /// (they are listed in [`IncidentLog::invalid`]).
    pub fn from_toml_with(
        text: &str,
        path: &str,
        source: &dyn Source,
        skip_invalid: bool,
    ) -> Result<Scenario, ModelError> {
        let file: ScenarioFile = toml::from_str(text).map_err(|e| ModelError::Toml {
            path: path.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let bad = |field: &str, v: f64| ModelError::Toml {
            path: path.to_string(),
            message: format!("`{field}` must be a positive number, got {v}"),
        };
        for (field, v) in [
            ("area_km2", file.area_km2),
            ("population", file.population),
            ("snap_limit_m", file.snap_limit_m),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                return Err(bad(field, v));
            }
        }
        if let Some(v) = file.off_road_kmh
            && !(v.is_finite() && v >= 0.0)
        {
            return Err(ModelError::Toml {
                path: path.to_string(),
                message: format!("`off_road_kmh` must be 0 (free) or a positive speed, got {v}"),
            });
        }
        let timezone = match &file.timezone {
            None => TimeZoneSpec::default(),
            Some(tz) => TimeZoneSpec::parse(tz).ok_or_else(|| ModelError::Toml {
                path: path.to_string(),
                message: format!("`timezone` = \"{tz}\": expected UTC, an offset such as +08:00, or an IANA name such as Asia/Shanghai"),
            })?,
        };
        let profile = file.profile.clone().unwrap_or_default();
        profile.validate().map_err(|e| ModelError::Toml {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        let traffic = match file.traffic.as_deref() {
            None | Some("free-flow") => None,
            Some(name) if name.ends_with(".toml") => {
                let (t, p) = source.text(Path::new(name))?;
                Some(Arc::new(crate::network::TrafficProfile::parse(&t, &p)?))
            }
            Some(name) => {
                return Err(ModelError::Toml {
                    path: path.to_string(),
                    message: format!(
                        "`traffic` = \"{name}\": unknown traffic profile; give a .toml file \
                         (relative to the scenario) or \"free-flow\""
                    ),
                });
            }
        };
        let (t, p) = source.text(&file.boundary)?;
        let region = parse_boundary(&t, &p)?;
        let (t, p) = source.text(&file.stations)?;
        let stations = parse_stations(&t, &p)?;
        let (t, p) = source.text(&file.hospitals)?;
        let hospitals = parse_hospitals(&t, &p)?;
        let (t, p) = source.text(&file.demand)?;
        let demand = parse_demand_zones(&t, &p)?;
        let incidents = match &file.incidents {
            Some(rel) => {
                let (t, p) = source.text(rel)?;
                parse_incidents(
                    t.as_bytes(),
                    &p,
                    &ParseOptions {
                        timezone,
                        skip_invalid,
                    },
                )?
            }
            None => IncidentLog::default(),
        };
        let simulation = file.simulation.clone().unwrap_or_default();
        simulation
            .check(&hospitals)
            .map_err(|message| ModelError::Toml {
                path: path.to_string(),
                message,
            })?;
        let network = source.map(&file.map)?;
        Ok(Scenario {
            simulation,
            name: file.name,
            network: Arc::new(network),
            region,
            stations,
            hospitals,
            demand,
            incidents,
            timezone,
            area_km2: file.area_km2,
            population: file.population,
            travel: TravelSettings {
                profile,
                traffic,
                snap_limit_m: file
                    .snap_limit_m
                    .unwrap_or(crate::network::travel::DEFAULT_SNAP_LIMIT_M),
                off_road_kmh: match file.off_road_kmh {
                    None => Some(crate::network::travel::DEFAULT_OFF_ROAD_KMH),
                    Some(v) if v > 0.0 => Some(v),
                    Some(_) => None,
                },
            },
        })
    }

    /// The embedded demo scenario (Monaco).
    pub fn demo() -> Result<Scenario, ModelError> {
        demo::scenario()
    }

    /// The scenario's travel model: its map with its speed profile and snapping limit. Every
    /// command and the live API build the model through this one function.
    pub fn travel_model(&self) -> Result<TravelModel, ProfileError> {
        TravelModel::for_scenario(self)
    }

    /// The hours a modelled figure averages over by default: weighted by the calls per local
    /// hour of `log` (or of the scenario's own log) when it has any, else by
    /// `simulation.hour_profile`, else every hour alike.
    pub fn modelled_hours(&self, log: Option<&IncidentLog>) -> crate::network::Hours {
        use chrono::Timelike;
        let log = log.unwrap_or(&self.incidents);
        if !log.incidents.is_empty() {
            let mut counts = [0.0; 24];
            for inc in &log.incidents {
                counts[inc.call_received.hour() as usize] += 1.0;
            }
            return crate::network::Hours::weighted(&counts, "calls per hour in the incident log");
        }
        if let Some(p) = &self.simulation.hour_profile
            && let Ok(a) = <[f64; 24]>::try_from(p.as_slice())
        {
            return crate::network::Hours::weighted(&a, "simulation.hour_profile");
        }
        crate::network::Hours::default()
    }

    /// Region area in km²: the override, else the boundary's geodesic area.
    pub fn area_km2(&self) -> f64 {
        self.area_km2.unwrap_or_else(|| self.region.area_km2())
    }

    /// Resident population: the override, else the sum over demand zones.
    pub fn population(&self) -> f64 {
        self.population
            .unwrap_or_else(|| self.demand.iter().map(|z| z.population).sum())
    }
}
