//! The scenario's GeoJSON files written back: stations, hospitals, demand zones and the region
//! boundary, in exactly the formats this module's readers take (`ems init`, `ems population`).
//!
//! This module owns the written shape of those files. It must not compute anything: values are
//! written as given, coordinates rounded to 7 decimals (about 1 cm) in polygons and 6 in points.

use geo::{LineString, MultiPolygon};
use serde_json::{Value, json};

use super::{DemandZone, Hospital, Region, Station};

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

fn point(p: [f64; 2]) -> Value {
    json!([round(p[0], 6), round(p[1], 6)])
}

/// A (multi)polygon's GeoJSON geometry.
fn polygons(mp: &MultiPolygon<f64>) -> Value {
    let ring = |l: &LineString<f64>| -> Value {
        l.0.iter()
            .map(|c| json!([round(c.x, 7), round(c.y, 7)]))
            .collect()
    };
    let polys: Vec<Value> =
        mp.0.iter()
            .map(|p| {
                let mut rings = vec![ring(p.exterior())];
                rings.extend(p.interiors().iter().map(ring));
                Value::Array(rings)
            })
            .collect();
    if polys.len() == 1 {
        json!({"type": "Polygon", "coordinates": polys[0]})
    } else {
        json!({"type": "MultiPolygon", "coordinates": polys})
    }
}

fn collection(features: Vec<Value>) -> String {
    let fc = json!({"type": "FeatureCollection", "features": features});
    serde_json::to_string_pretty(&fc).expect("JSON values serialise")
}

/// Demand zones as GeoJSON text (the format [`super::parse_demand_zones`] reads).
pub fn demand_zones_geojson(zones: &[DemandZone]) -> String {
    collection(
        zones
            .iter()
            .map(|z| {
                let geometry = match &z.polygon {
                    Some(mp) => polygons(mp),
                    None => json!({"type": "Point", "coordinates": point(z.lon_lat)}),
                };
                json!({
                    "type": "Feature",
                    "geometry": geometry,
                    "properties": {
                        "id": z.id,
                        "name": z.name,
                        "population": (z.population * 10.0).round() / 10.0,
                        "demand_point": point(z.lon_lat),
                    }
                })
            })
            .collect(),
    )
}

/// Stations as GeoJSON text (the format [`super::parse_stations`] reads).
pub fn stations_geojson(stations: &[Station]) -> String {
    collection(
        stations
            .iter()
            .map(|s| {
                json!({
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": point(s.lon_lat)},
                    "properties": {
                        "id": s.id, "name": s.name, "ambulances": s.ambulances,
                        "negative_pressure": s.negative_pressure, "source": s.source,
                    }
                })
            })
            .collect(),
    )
}

/// Hospitals as GeoJSON text (the format [`super::parse_hospitals`] reads).
pub fn hospitals_geojson(hospitals: &[Hospital]) -> String {
    collection(
        hospitals
            .iter()
            .map(|h| {
                json!({
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": point(h.lon_lat)},
                    "properties": {
                        "id": h.id, "name": h.name,
                        "capabilities": h.capabilities.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
                        "ed_bays": h.ed_bays, "source": h.source,
                    }
                })
            })
            .collect(),
    )
}

/// A region boundary as GeoJSON text (the format [`super::parse_boundary`] reads).
pub fn boundary_geojson(region: &Region, name: &str, source: &str) -> String {
    collection(vec![json!({
        "type": "Feature",
        "geometry": polygons(&region.boundary),
        "properties": {"name": name, "source": source},
    })])
}
