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

/// Populations to a tenth of a resident whose sum is the total's, to a tenth: each rounded
/// down, then the tenths left over go to the largest remainders (ties to the first). Rounding
/// each alone could move the total (150,000 became 150,000.2, and the check asked for a sixth
/// ambulance). `O(n log n)`.
fn tenths_keeping_total(values: &[f64]) -> Vec<f64> {
    let scaled: Vec<f64> = values.iter().map(|v| v.max(0.0) * 10.0).collect();
    let mut units: Vec<i64> = scaled.iter().map(|v| v.floor() as i64).collect();
    let want = super::scenario::exact_total(scaled.iter().copied()).round() as i64;
    let short = want - units.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        let (ra, rb) = (scaled[a] - scaled[a].floor(), scaled[b] - scaled[b].floor());
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &k in order.iter().take(short.max(0) as usize) {
        units[k] += 1;
    }
    units.iter().map(|&u| u as f64 / 10.0).collect()
}

/// Demand zones as GeoJSON text (the format [`super::parse_demand_zones`] reads), their
/// populations to a tenth with the total kept (largest remainders).
pub fn demand_zones_geojson(zones: &[DemandZone]) -> String {
    let tenths = tenths_keeping_total(&zones.iter().map(|z| z.population).collect::<Vec<_>>());
    collection(
        zones
            .iter()
            .enumerate()
            .map(|(k, z)| {
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
                        "population": tenths[k],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenths_keep_the_total() {
        // 150,000 residents over 7 cells: each alone rounds to a tenth that adds to 150,000.1.
        let v = vec![150_000.0 / 7.0; 7];
        let t = tenths_keeping_total(&v);
        assert_eq!(
            crate::model::scenario::exact_total(t.iter().copied()),
            150_000.0
        );
        assert!(t.iter().zip(&v).all(|(a, b)| (a - b).abs() < 0.1 + 1e-9));
        assert_eq!(tenths_keeping_total(&[]), Vec::<f64>::new());
    }
}
