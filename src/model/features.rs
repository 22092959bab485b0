//! The GeoJSON reader every layer file goes through: a file split into features, and the
//! checked geometry and properties of one feature, with errors naming the feature and field.
//!
//! This file owns [`RawFeature`], [`FeatureCtx`] and the property and geometry helpers. It must
//! not know what a station, hospital or zone is (that is `layers.rs`).

use std::collections::HashSet;

use geo::{MultiPolygon, Polygon};
use serde_json::{Map, Value};

use super::ModelError;
use crate::spatial::polygon::checked_polygon;

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

pub(super) fn check_lon_lat(
    ctx: &FeatureCtx,
    field: &str,
    p: &[f64],
) -> Result<[f64; 2], ModelError> {
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

pub(super) fn feature_point(
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

pub(super) fn prop_str(
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

pub(super) fn prop_u32(
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

pub(super) fn prop_f64(
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

pub(super) fn ctx_of<'a>(path: &'a str, f: &RawFeature) -> FeatureCtx<'a> {
    FeatureCtx {
        path,
        index: f.index,
        id: f.id.clone(),
    }
}

/// Parses every feature, checks its `id` is present and unique, and builds an item from it.
pub(super) fn parse_each<T>(
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
