//! Your own city: a complete scenario from an OpenStreetMap extract and whatever GIS files the
//! planner has (boundary, stations, hospitals, census zones, a population raster), with every
//! inferred value written down as an assumption. Behind `ems init`.
//!
//! This module owns turning those inputs into the scenario's objects and its list of
//! assumptions. It must not write files (the command does) nor compute travel times; it reads
//! through [`super::gis`] and builds demand with [`super::demand`]. Where a required input
//! cannot be found, the error says what to pass instead of producing an empty scenario.

use std::path::{Path, PathBuf};

use geo::{BooleanOps, MultiPolygon};

use super::demand::{self, Weighted};
use super::gis::table::CsvOptions;
use super::gis::{self, GisError, PointRecord};
use super::{Capability, DemandZone, Hospital, Region, Station};
use crate::network::rings::AdminArea;
use crate::network::{ImportError, PoiKind, RoadClass, RoadNetwork};
use crate::spatial::polygon::{PolygonError, checked_polygon, multi_area_m2};

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

/// People per metre of road, relative: where residents are in an extract without buildings.
/// Local streets carry homes, arterials fewer, motorways none.
pub fn road_weight(class: RoadClass) -> f64 {
    use RoadClass as R;
    match class {
        R::Residential | R::LivingStreet => 1.0,
        R::Unclassified | R::Service => 0.6,
        R::Tertiary | R::TertiaryLink => 0.5,
        R::Secondary | R::SecondaryLink => 0.3,
        R::Primary | R::PrimaryLink => 0.2,
        R::Trunk | R::TrunkLink | R::Motorway | R::MotorwayLink => 0.0,
    }
}

fn merge(mps: impl IntoIterator<Item = MultiPolygon<f64>>) -> MultiPolygon<f64> {
    mps.into_iter()
        .fold(MultiPolygon::new(vec![]), |acc, mp| acc.union(&mp))
}

/// Polygons from an assembled area: each outer ring with the inner rings it contains; a ring
/// that pinches or crosses itself is resolved by `geo`'s overlay (its union with itself).
fn area_polygons(area: &AdminArea) -> Result<(MultiPolygon<f64>, bool), PolygonError> {
    use geo::Contains;
    let mut repaired = false;
    let mut out = Vec::new();
    for outer in &area.outer {
        let shell = checked_polygon(vec![outer.clone()]);
        let holes: Vec<Vec<[f64; 2]>> = area
            .inner
            .iter()
            .filter(|h| {
                let p = geo::Point::new(h[0][0], h[0][1]);
                shell.as_ref().is_ok_and(|s| s.contains(&p))
            })
            .cloned()
            .collect();
        let mut rings = vec![outer.clone()];
        rings.extend(holes);
        match checked_polygon(rings.clone()) {
            Ok(p) => out.push(p),
            Err(PolygonError::Invalid(_)) => {
                repaired = true;
                let raw = geo::Polygon::new(
                    geo::LineString::from(
                        rings[0].iter().map(|p| (p[0], p[1])).collect::<Vec<_>>(),
                    ),
                    rings[1..]
                        .iter()
                        .map(|r| {
                            geo::LineString::from(
                                r.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>(),
                            )
                        })
                        .collect(),
                );
                let fixed =
                    MultiPolygon::new(vec![raw.clone()]).union(&MultiPolygon::new(vec![raw]));
                for p in fixed.0 {
                    let mut rs = vec![
                        p.exterior()
                            .0
                            .iter()
                            .map(|c| [c.x, c.y])
                            .collect::<Vec<_>>(),
                    ];
                    rs.extend(
                        p.interiors()
                            .iter()
                            .map(|r| r.0.iter().map(|c| [c.x, c.y]).collect()),
                    );
                    out.push(checked_polygon(rs)?);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok((MultiPolygon::new(out), repaired))
}

fn boundary(
    city: &mut City,
    req: &CityRequest,
    net: &RoadNetwork,
    areas: &[AdminArea],
) -> Result<(), CityError> {
    let pick = |area: &AdminArea, city: &mut City| -> Result<(), CityError> {
        let (mp, repaired) = area_polygons(area)
            .map_err(|e| CityError::Invalid(format!("OSM relation {}: {e}", area.osm_id)))?;
        if mp.0.is_empty() {
            return Err(CityError::Invalid(format!(
                "OSM relation {} has no closed outer ring in the extract",
                area.osm_id
            )));
        }
        city.region = Region { boundary: mp };
        city.boundary_name = area
            .name
            .clone()
            .unwrap_or_else(|| format!("relation {}", area.osm_id));
        city.boundary_source = format!("osm:relation/{}", area.osm_id);
        let mut how = format!(
            "OSM relation {} ({}, admin_level {}), assembled from its member ways",
            area.osm_id,
            city.boundary_name,
            area.admin_level.as_deref().unwrap_or("?")
        );
        if area.gaps_closed > 0 || area.missing_ways > 0 {
            how.push_str(&format!(
                "; {} member ways are missing from the extract and {} gaps were closed with \
                 straight lines to the nearest free way end",
                area.missing_ways, area.gaps_closed
            ));
        }
        if repaired {
            how.push_str("; rings that pinched were split into valid polygons");
        }
        city.assume("region boundary", city.boundary_name.clone(), how);
        Ok(())
    };
    match &req.boundary {
        BoundarySource::File(p) => {
            let polys = gis::read_polygons(p)?;
            if polys.is_empty() {
                return Err(CityError::Invalid(format!(
                    "{}: the boundary file has no polygon",
                    p.display()
                )));
            }
            city.region = Region {
                boundary: merge(polys.into_iter().map(|r| r.polygon)),
            };
            city.boundary_name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            city.boundary_source = p.display().to_string();
            city.assume(
                "region boundary",
                city.boundary_name.clone(),
                p.display().to_string(),
            );
        }
        BoundarySource::OsmRelation(id) => {
            let a = areas.iter().find(|a| a.osm_id == *id).ok_or_else(|| {
                CityError::Missing(format!(
                    "the extract has no administrative boundary relation {id}{}",
                    listing(areas)
                ))
            })?;
            pick(a, city)?;
        }
        BoundarySource::Admin(name) => {
            let found: Vec<&AdminArea> = areas
                .iter()
                .filter(|a| {
                    a.name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
                .collect();
            match found.as_slice() {
                [a] => pick(a, city)?,
                [] => {
                    return Err(CityError::Missing(format!(
                        "no administrative area named `{name}` in the extract{}",
                        listing(areas)
                    )));
                }
                many => {
                    let ids: Vec<String> = many
                        .iter()
                        .map(|a| {
                            format!(
                                "osm:relation/{} (admin_level {})",
                                a.osm_id,
                                a.admin_level.as_deref().unwrap_or("?")
                            )
                        })
                        .collect();
                    return Err(CityError::Missing(format!(
                        "several administrative areas are named `{name}`: pass one of {}",
                        ids.join(", ")
                    )));
                }
            }
        }
        BoundarySource::ExtractBounds => {
            let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
            for p in &net.nodes {
                for k in 0..2 {
                    lo[k] = lo[k].min(p[k]);
                    hi[k] = hi[k].max(p[k]);
                }
            }
            let ring = vec![
                [lo[0], lo[1]],
                [hi[0], lo[1]],
                [hi[0], hi[1]],
                [lo[0], hi[1]],
                [lo[0], lo[1]],
            ];
            let p = checked_polygon(vec![ring]).map_err(|e| CityError::Invalid(e.to_string()))?;
            city.region = Region {
                boundary: MultiPolygon::new(vec![p]),
            };
            city.boundary_name = "extract bounds".into();
            city.boundary_source = "the extract's road nodes".into();
            city.assume(
                "region boundary",
                format!("the extract's bounding box, lon {:.4}..{:.4}, lat {:.4}..{:.4}", lo[0], hi[0], lo[1], hi[1]),
                "no --boundary given: the area, the service radius and the grid cover the whole box, \
                 which is rarely the district; pass --boundary FILE, osm:relation/ID or admin:NAME",
            );
        }
    }
    city.assume(
        "region area",
        format!("{:.2} km²", multi_area_m2(&city.region.boundary) / 1e6),
        "geodesic area of the boundary (Karney, WGS 84), either ring orientation",
    );
    Ok(())
}

/// Up to 20 of the extract's administrative areas, for messages.
fn listing(areas: &[AdminArea]) -> String {
    if areas.is_empty() {
        return " (it has no boundary=administrative relations)".into();
    }
    let names: Vec<String> = areas
        .iter()
        .take(20)
        .map(|a| {
            format!(
                "{} = osm:relation/{} (admin_level {})",
                a.name.as_deref().unwrap_or("unnamed"),
                a.osm_id,
                a.admin_level.as_deref().unwrap_or("?")
            )
        })
        .collect();
    format!("; it has: {}", names.join("; "))
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

fn stations_from_file(city: &mut City, req: &CityRequest, p: &Path) -> Result<(), CityError> {
    let recs: Vec<PointRecord> = gis::read_points(p, &req.csv)?;
    let (mut no_id, mut no_amb) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    for (k, r) in recs.iter().enumerate() {
        let id = match req.csv.get("id", &r.attrs) {
            Some(v) => v.to_string(),
            None => {
                no_id += 1;
                format!("station-{}", k + 1)
            }
        };
        let ambulances = match req.csv.get("ambulances", &r.attrs) {
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|x| *x >= 0.0 && x.fract() == 0.0)
                .ok_or_else(|| GisError::Record {
                    path: p.display().to_string(),
                    at: r.at.clone(),
                    field: "ambulances".into(),
                    message: format!("`{v}` is not a whole number of ambulances"),
                })? as u32,
            None => {
                no_amb += 1;
                req.default_ambulances
            }
        };
        let id = unique_id(&mut seen, id);
        city.stations.push(Station {
            name: req
                .csv
                .get("name", &r.attrs)
                .map_or_else(|| id.clone(), str::to_string),
            id,
            lon_lat: r.lon_lat,
            ambulances,
            negative_pressure: None,
            source: Some(format!("{} {}", p.display(), r.at)),
        });
    }
    city.assume(
        "stations",
        format!("{} stations", recs.len()),
        p.display().to_string(),
    );
    if no_id > 0 {
        city.assume(
            "station ids",
            format!("station-N for {no_id} stations"),
            "no id column",
        );
    }
    if no_amb > 0 {
        city.assume(
            "ambulances per station",
            format!("{} at {no_amb} stations", req.default_ambulances),
            "no ambulances column: the default (--ambulances-per-station); correct them in stations.geojson",
        );
    }
    Ok(())
}

fn stations_from_osm(
    city: &mut City,
    req: &CityRequest,
    net: &RoadNetwork,
) -> Result<(), CityError> {
    let count = |k: PoiKind| net.pois.iter().filter(|p| p.kind == k).count();
    let (amb, fire) = (
        count(PoiKind::AmbulanceStation),
        count(PoiKind::FireStation),
    );
    let kinds: &[PoiKind] = if amb > 0 {
        &[PoiKind::AmbulanceStation]
    } else if req.fire_stations && fire > 0 {
        &[PoiKind::FireStation]
    } else {
        return Err(CityError::Missing(format!(
            "the extract has no emergency=ambulance_station{}: pass --stations FILE (GeoJSON, CSV \
             or Shapefile of your stations, with lon, lat, id, name and ambulances){}",
            if fire > 0 {
                format!(" (it has {fire} amenity=fire_station)")
            } else {
                String::new()
            },
            if fire > 0 && !req.fire_stations {
                ", or --fire-stations to use the fire stations"
            } else {
                ""
            }
        )));
    };
    let mut seen = std::collections::HashSet::new();
    for p in net.pois.iter().filter(|p| kinds.contains(&p.kind)) {
        let id = unique_id(&mut seen, p.osm.replace('/', "-"));
        city.stations.push(Station {
            name: p.name.clone().unwrap_or_else(|| id.clone()),
            id,
            lon_lat: p.lon_lat,
            ambulances: req.default_ambulances,
            negative_pressure: None,
            source: Some(format!("osm:{}", p.osm)),
        });
    }
    city.assume(
        "stations",
        format!("{} from OpenStreetMap", city.stations.len()),
        if kinds[0] == PoiKind::AmbulanceStation {
            "emergency=ambulance_station nodes and ways (ways at their centroid)"
        } else {
            "amenity=fire_station (--fire-stations): the extract has no emergency=ambulance_station"
        },
    );
    city.assume(
        "ambulances per station",
        format!("{} at each", req.default_ambulances),
        "OpenStreetMap does not say: correct them in stations.geojson",
    );
    Ok(())
}

/// Capabilities from OSM `healthcare:speciality` (and `emergency=yes`).
pub fn osm_capabilities(tags: &std::collections::BTreeMap<String, String>) -> Vec<Capability> {
    let mut caps = vec![Capability::Emergency];
    let spec = tags
        .get("healthcare:speciality")
        .map(String::as_str)
        .unwrap_or("");
    for s in spec.split([';', ',']).map(str::trim) {
        let c = match s {
            "cardiology" | "cardiac_surgery" => Capability::ChestPain,
            "neurology" | "stroke" | "neurosurgery" => Capability::Stroke,
            "trauma" | "traumatology" | "emergency_surgery" => Capability::Trauma,
            "obstetrics" | "gynaecology" | "maternity" => Capability::Maternal,
            "neonatology" => Capability::Neonatal,
            "paediatrics" | "pediatrics" => Capability::Pediatric,
            _ => continue,
        };
        if !caps.contains(&c) {
            caps.push(c);
        }
    }
    caps
}

fn hospitals_from_file(city: &mut City, req: &CityRequest, p: &Path) -> Result<(), CityError> {
    let recs = gis::read_points(p, &req.csv)?;
    let mut assumed_caps = 0;
    let mut seen = std::collections::HashSet::new();
    for (k, r) in recs.iter().enumerate() {
        let id = unique_id(
            &mut seen,
            req.csv
                .get("id", &r.attrs)
                .map_or_else(|| format!("hospital-{}", k + 1), str::to_string),
        );
        let capabilities = match req.csv.get("capabilities", &r.attrs) {
            Some(v) => v
                .split([';', ',', '|'])
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| {
                    Capability::parse(x).ok_or_else(|| GisError::Record {
                        path: p.display().to_string(),
                        at: r.at.clone(),
                        field: "capabilities".into(),
                        message: format!(
                            "unknown capability `{x}`; expected one of {}",
                            Capability::ALL.map(|c| c.as_str()).join(", ")
                        ),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => {
                assumed_caps += 1;
                vec![Capability::Emergency]
            }
        };
        let ed_bays = req
            .csv
            .get("ed_bays", &r.attrs)
            .and_then(|v| v.parse().ok());
        city.hospitals.push(Hospital {
            name: req
                .csv
                .get("name", &r.attrs)
                .map_or_else(|| id.clone(), str::to_string),
            id,
            lon_lat: r.lon_lat,
            capabilities,
            ed_bays,
            source: Some(format!("{} {}", p.display(), r.at)),
        });
    }
    city.assume(
        "hospitals",
        format!("{} hospitals", recs.len()),
        p.display().to_string(),
    );
    if assumed_caps > 0 {
        city.assume(
            "hospital capabilities",
            format!("emergency only, at {assumed_caps} hospitals"),
            "no capabilities column: add stroke, chest_pain, trauma, maternal, neonatal in hospitals.geojson",
        );
    }
    Ok(())
}

fn hospitals_from_osm(
    city: &mut City,
    req: &CityRequest,
    net: &RoadNetwork,
) -> Result<(), CityError> {
    let all: Vec<&crate::network::Poi> = net
        .pois
        .iter()
        .filter(|p| p.kind == PoiKind::Hospital)
        .collect();
    let chosen: Vec<&&crate::network::Poi> = all
        .iter()
        .filter(|p| p.emergency || req.all_hospitals)
        .collect();
    if chosen.is_empty() {
        return Err(CityError::Missing(if all.is_empty() {
            "the extract has no amenity=hospital: pass --hospitals FILE (GeoJSON, CSV or Shapefile \
             of the receiving hospitals, with lon, lat, id, name and capabilities)"
                .to_string()
        } else {
            format!(
                "the extract has {} amenity=hospital but none tagged emergency=yes: pass --hospitals \
                 FILE, or --all-hospitals to take them all",
                all.len()
            )
        }));
    }
    let mut seen = std::collections::HashSet::new();
    for p in &chosen {
        let id = unique_id(&mut seen, p.osm.replace('/', "-"));
        city.hospitals.push(Hospital {
            name: p.name.clone().unwrap_or_else(|| id.clone()),
            id,
            lon_lat: p.lon_lat,
            capabilities: osm_capabilities(&p.tags),
            ed_bays: None,
            source: Some(format!("osm:{}", p.osm)),
        });
    }
    city.assume(
        "hospitals",
        format!("{} from OpenStreetMap", chosen.len()),
        if req.all_hospitals {
            "every amenity=hospital (--all-hospitals)"
        } else {
            "amenity=hospital with emergency=yes"
        },
    );
    city.assume(
        "hospital capabilities",
        "emergency, plus what healthcare:speciality says (cardiology: chest_pain, neurology: stroke, trauma, obstetrics: maternal, neonatology: neonatal)",
        "OpenStreetMap tags; designations are rarely mapped: correct them in hospitals.geojson",
    );
    Ok(())
}

fn raster_points(
    path: &Path,
    values: RasterValues,
    mask: &crate::spatial::mask::RegionMask,
) -> Result<Vec<Weighted>, CityError> {
    use geo::GeodesicArea;
    let r = gis::raster::read(path)?;
    let mut out = Vec::new();
    let crs_err = |m: String| GisError::Crs {
        path: path.display().to_string(),
        message: m,
    };
    // The area of a pixel in km²: geodesic, from its corners in lon/lat.
    let pixel_km2 = |col: usize, row: usize| -> Result<f64, GisError> {
        let [x0, y0] = [
            r.origin[0] + col as f64 * r.pixel[0],
            r.origin[1] - row as f64 * r.pixel[1],
        ];
        let c = [
            [x0, y0],
            [x0 + r.pixel[0], y0],
            [x0 + r.pixel[0], y0 - r.pixel[1]],
            [x0, y0 - r.pixel[1]],
        ];
        let ll: Vec<(f64, f64)> = c
            .iter()
            .map(|p| r.crs.to_lon_lat(*p).map(|q| (q[0], q[1])))
            .collect::<Result<_, _>>()
            .map_err(crs_err)?;
        let mut ring = ll.clone();
        ring.push(ll[0]);
        Ok(geo::Polygon::new(geo::LineString::from(ring), vec![])
            .geodesic_area_signed()
            .abs()
            / 1e6)
    };
    let mut row_area: Option<(usize, f64)> = None;
    for row in 0..r.height {
        for col in 0..r.width {
            let v = r.value(col, row);
            if !(v.is_finite() && v > 0.0) {
                continue;
            }
            let ll = r.crs.to_lon_lat(r.centre(col, row)).map_err(crs_err)?;
            if !mask.contains(ll) {
                continue;
            }
            let residents = match values {
                RasterValues::Count => v,
                _ => {
                    // Geographic rasters: every pixel of a row has the same area.
                    let a = match row_area {
                        Some((rr, a)) if rr == row && r.crs.is_wgs84() => a,
                        _ => {
                            let a = pixel_km2(col, row)?;
                            row_area = Some((row, a));
                            a
                        }
                    };
                    if values == RasterValues::PerKm2 {
                        v * a
                    } else {
                        v * a * 1e6
                    }
                }
            };
            out.push(Weighted {
                lon_lat: ll,
                weight: residents,
            });
        }
    }
    Ok(out)
}

fn demand(city: &mut City, req: &CityRequest, net: &RoadNetwork) -> Result<(), CityError> {
    let cell = req.cell_m;
    let mask = crate::spatial::mask::RegionMask::new(&city.region.boundary);
    let (points, total, what, source): DemandPoints = match &req.demand {
        DemandInput::Zones { path, field } => return zones_demand(city, req, path, field),
        DemandInput::Raster {
            path,
            values,
            total,
        } => (
            raster_points(path, *values, &mask)?,
            *total,
            "population raster".into(),
            format!(
                "{} ({}){}",
                path.display(),
                match values {
                    RasterValues::Count => "residents per cell",
                    RasterValues::PerKm2 => "residents per km² × the cell's geodesic area",
                    RasterValues::PerM2 => "residents per m² × the cell's geodesic area",
                },
                if total.is_some() {
                    ", rescaled to the total given"
                } else {
                    ""
                }
            ),
        ),
        DemandInput::Total { population, spread } => {
            spread_points(net, &city.region.boundary, cell, *population, *spread)?
        }
    };
    let (zones, rep) = demand::grid_zones(&city.region, cell, points, total);
    if zones.is_empty() {
        return Err(CityError::Missing(format!(
            "no residents inside the region from the {what} ({} points outside it): check that \
             the boundary and the demand source cover the same place",
            rep.outside
        )));
    }
    let residents: f64 = zones.iter().map(|z| z.population).sum();
    let area_km2 = multi_area_m2(&city.region.boundary) / 1e6;
    if let DemandInput::Raster { values, .. } = &req.demand
        && residents < area_km2
    {
        let hint = match values {
            RasterValues::PerKm2 => "if its values are per m², pass --raster-density per-m2",
            RasterValues::Count => {
                "if its values are densities, pass --raster-density per-km2 or per-m2"
            }
            RasterValues::PerM2 => "check the raster's units",
        };
        let w = format!(
            "the raster gives {residents:.1} residents over {area_km2:.1} km², under one per km²: {hint}"
        );
        city.assume("WARNING", w.clone(), "a check on the demand");
        city.warnings.push(w);
    }
    city.assume(
        "demand zones",
        format!(
            "{} cells of {cell:.0} m with residents, {residents:.0} residents",
            zones.len()
        ),
        format!(
            "{source}; cells clipped to the boundary; each zone's demand point is where its \
             residents are (their weighted mean); {} points outside the boundary left out",
            rep.outside
        ),
    );
    city.demand = zones;
    Ok(())
}

/// Demand from census zones: one demand point per zone, at its centroid.
fn zones_demand(
    city: &mut City,
    req: &CityRequest,
    path: &Path,
    field: &str,
) -> Result<(), CityError> {
    let recs = gis::read_polygons(path)?;
    let mut seen = std::collections::HashSet::new();
    for (k, r) in recs.iter().enumerate() {
        let v = r.attrs.get(field).ok_or_else(|| GisError::Record {
            path: path.display().to_string(),
            at: r.at.clone(),
            field: field.to_string(),
            message: format!(
                "missing; the fields are: {}",
                r.attrs.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })?;
        let population: f64 = v
            .parse()
            .ok()
            .filter(|x: &f64| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| GisError::Record {
                path: path.display().to_string(),
                at: r.at.clone(),
                field: field.to_string(),
                message: format!("`{v}` is not a non-negative number"),
            })?;
        let id = unique_id(
            &mut seen,
            req.csv
                .get("id", &r.attrs)
                .map_or_else(|| format!("zone-{}", k + 1), str::to_string),
        );
        use geo::Centroid;
        let c = r.polygon.centroid().ok_or_else(|| {
            CityError::Invalid(format!("{}: {} has no area", path.display(), r.at))
        })?;
        city.demand.push(DemandZone {
            name: req
                .csv
                .get("name", &r.attrs)
                .map_or_else(|| id.clone(), str::to_string),
            id,
            polygon: Some(r.polygon.clone()),
            lon_lat: [c.x(), c.y()],
            population,
        });
    }
    city.assume(
        "demand zones",
        format!(
            "{} zones, {:.0} residents",
            recs.len(),
            city.demand.iter().map(|z| z.population).sum::<f64>()
        ),
        format!(
            "{} (field `{field}`); each zone's demand point is its centroid",
            path.display()
        ),
    );
    Ok(())
}

/// Demand points for a total population: building floor area, road length or an even spread.
fn spread_points(
    net: &RoadNetwork,
    boundary: &MultiPolygon<f64>,
    cell: f64,
    population: f64,
    spread: Spread,
) -> Result<DemandPoints, CityError> {
    let buildings: Vec<Weighted> = net
        .buildings
        .iter()
        .map(|b| Weighted {
            lon_lat: b.lon_lat,
            weight: super::population::weight(b, super::population::DEFAULT_LEVELS),
        })
        .filter(|w| w.weight > 0.0)
        .collect();
    let use_buildings = match spread {
        Spread::Buildings => true,
        Spread::Auto => !buildings.is_empty(),
        _ => false,
    };
    let points = if use_buildings {
        if buildings.is_empty() {
            return Err(CityError::Missing(
                "the extract has no residential building footprints: pass --spread roads or \
                 uniform, or --population-raster FILE, or --zones FILE --population-field NAME"
                    .into(),
            ));
        }
        (
            buildings,
            Some(population),
            "population from buildings".into(),
            format!(
                "{population:.0} residents (--population) shared over residential floor area \
             (footprint × building:levels, {} levels where untagged)",
                super::population::DEFAULT_LEVELS
            ),
        )
    } else if spread == Spread::Uniform {
        let step = cell / 10.0;
        let pts = lattice(boundary, step);
        (
            pts,
            Some(population),
            "population spread evenly".into(),
            format!(
                "{population:.0} residents (--population) spread evenly over the region's area: \
             WARNING, no buildings or raster to say where people live"
            ),
        )
    } else {
        let pts: Vec<Weighted> = net
            .segments
            .iter()
            .map(|s| Weighted {
                lon_lat: s.geometry[s.geometry.len() / 2],
                weight: s.length_m * road_weight(s.class),
            })
            .collect();
        (
            pts,
            Some(population),
            "population from road length".into(),
            format!(
                "{population:.0} residents (--population) shared over road length weighted by \
             class (residential 1, unclassified/service 0.6, tertiary 0.5, secondary 0.3, \
             primary 0.2, trunk/motorway 0): WARNING, the extract has no buildings"
            ),
        )
    };
    Ok(points)
}

/// Demand points, the total to rescale them to, what they are and where they come from.
type DemandPoints = (Vec<Weighted>, Option<f64>, String, String);

/// Points every `step` metres over the region's bounding box, weight 1 (the mask keeps those
/// inside).
fn lattice(mp: &MultiPolygon<f64>, step: f64) -> Vec<Weighted> {
    use geo::BoundingRect;
    let Some(r) = mp.bounding_rect() else {
        return Vec::new();
    };
    let proj = crate::spatial::LocalProjection::new(
        (r.min().x + r.max().x) / 2.0,
        (r.min().y + r.max().y) / 2.0,
    );
    let a = proj.project([r.min().x, r.min().y]);
    let b = proj.project([r.max().x, r.max().y]);
    let mut out = Vec::new();
    let mut y = a[1] + step / 2.0;
    while y < b[1] {
        let mut x = a[0] + step / 2.0;
        while x < b[0] {
            out.push(Weighted {
                lon_lat: proj.unproject([x, y]),
                weight: 1.0,
            });
            x += step;
        }
        y += step;
    }
    out
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
