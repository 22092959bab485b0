//! The layer files of a scenario: stations, hospitals, demand zones, candidate sites and the
//! region boundary, each parsed from GeoJSON into the model's objects.
//!
//! This file owns what each layer's features must hold. It must not read the scenario file
//! (that is `scenario.rs`) nor know GeoJSON's structure (that is `features.rs`).

use std::path::Path;

use geo::{Centroid, MultiPolygon};
use serde_json::Value;

use super::features::{
    check_lon_lat, ctx_of, feature_point, feature_polygon, parse_each, parse_features, prop_f64,
    prop_str, prop_u32,
};
use super::{Capability, DemandZone, Hospital, ModelError, Region, Station};

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
    move |e| ModelError::Io {
        path: path.display().to_string(),
        source: e,
    }
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

pub(super) fn read_text(path: &Path) -> Result<String, ModelError> {
    std::fs::read_to_string(path).map_err(io_err(path))
}

/// Reads a demand-zones file.
pub fn read_demand_zones(path: &Path) -> Result<Vec<DemandZone>, ModelError> {
    parse_demand_zones(&read_text(path)?, &path.display().to_string())
}
