//! The base map the web board and planning page draw instead of internet tiles: the scenario's
//! own roads, boundary, demand zones, stations and hospitals as one GeoJSON FeatureCollection.
//!
//! This module owns that document's shape. It must not compute figures (coverage, response):
//! the pages fetch those from the API and colour the zones by id. Roads are drawn once per
//! pair of nodes (a two-way road is stored once per direction), their geometry simplified with
//! Ramer–Douglas–Peucker (`geo::Simplify`, about 1 m), coordinates rounded to 6 decimals:
//! O(segments · points) once per server start.

use std::collections::BTreeMap;
use std::collections::HashSet;

use geo::{LineString, Simplify};
use serde_json::{Value, json};

use crate::model::Scenario;
use crate::network::RoadNetwork;

/// Tolerance of the road simplification, degrees (about 1 m).
const SIMPLIFY_DEG: f64 = 1e-5;

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

fn coords(points: impl IntoIterator<Item = [f64; 2]>) -> Value {
    points
        .into_iter()
        .map(|p| json!([round6(p[0]), round6(p[1])]))
        .collect()
}

/// The roads, one MultiLineString feature per road class (`kind: "road"`, `class`).
fn roads(net: &RoadNetwork) -> Vec<Value> {
    let mut seen = HashSet::new();
    let mut by_class: BTreeMap<&'static str, Vec<Value>> = BTreeMap::new();
    for s in &net.segments {
        let key = (s.from.min(s.to), s.from.max(s.to), s.way_id);
        if !seen.insert(key) || s.geometry.len() < 2 {
            continue;
        }
        let line: LineString<f64> = s.geometry.iter().map(|p| (p[0], p[1])).collect();
        let line = line.simplify(SIMPLIFY_DEG);
        by_class
            .entry(s.class.as_str())
            .or_default()
            .push(coords(line.0.iter().map(|c| [c.x, c.y])));
    }
    by_class
        .into_iter()
        .map(|(class, lines)| {
            json!({
                "type": "Feature",
                "geometry": {"type": "MultiLineString", "coordinates": lines},
                "properties": {"kind": "road", "class": class},
            })
        })
        .collect()
}

/// The base map: roads (by class), the boundary, demand zones (polygon or point, with
/// `id`, `name`, `population`), stations (`id`, `name`, `ambulances`) and hospitals (`id`,
/// `name`, `capabilities`, `ed_bays`), each feature with a `kind`.
pub fn base_map(sc: &Scenario, net: &RoadNetwork) -> Value {
    let mut features = roads(net);
    let parse = |text: String| -> Vec<Value> {
        serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.get("features").and_then(Value::as_array).cloned())
            .unwrap_or_default()
    };
    let tagged = |fs: Vec<Value>, kind: &str| -> Vec<Value> {
        fs.into_iter()
            .map(|mut f| {
                if let Some(p) = f.get_mut("properties").and_then(Value::as_object_mut) {
                    p.insert("kind".into(), json!(kind));
                }
                f
            })
            .collect()
    };
    features.extend(tagged(
        parse(crate::model::boundary_geojson(
            &sc.region, &sc.name, "scenario",
        )),
        "boundary",
    ));
    features.extend(tagged(
        parse(crate::model::demand_zones_geojson(&sc.demand)),
        "zone",
    ));
    features.extend(tagged(
        parse(crate::model::stations_geojson(&sc.stations)),
        "station",
    ));
    features.extend(tagged(
        parse(crate::model::hospitals_geojson(&sc.hospitals)),
        "hospital",
    ));
    // The extract's file name only: the server's folders are not the client's business.
    let source = std::path::Path::new(&net.summary.source)
        .file_name()
        .map_or_else(
            || net.summary.source.clone(),
            |f| f.to_string_lossy().into_owned(),
        );
    let attribution = format!("Roads: © OpenStreetMap contributors (ODbL), {source}");
    json!({
        "type": "FeatureCollection",
        "features": features,
        "properties": {"name": sc.name, "attribution": attribution},
    })
}
