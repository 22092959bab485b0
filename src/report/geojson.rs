//! GeoJSON output as typed structures: a FeatureCollection of points with typed properties.
//!
//! This module owns the shape of the GeoJSON that `ems` writes (RFC 7946), so each command's
//! properties are a `Serialize` struct and the schema is in the code. It must not read GeoJSON
//! (that is [`crate::model`]).

use serde::Serialize;

/// A GeoJSON Point geometry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `[lon, lat]`.
    pub coordinates: [f64; 2],
}

/// A Feature with a Point geometry and properties `P`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointFeature<P> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub geometry: Point,
    pub properties: P,
}

/// A FeatureCollection of point features.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointCollection<P> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub features: Vec<PointFeature<P>>,
}

/// A FeatureCollection from `(lon_lat, properties)` pairs.
pub fn point_collection<P>(items: impl IntoIterator<Item = ([f64; 2], P)>) -> PointCollection<P> {
    PointCollection {
        kind: "FeatureCollection",
        features: items
            .into_iter()
            .map(|(coordinates, properties)| PointFeature {
                kind: "Feature",
                geometry: Point {
                    kind: "Point",
                    coordinates,
                },
                properties,
            })
            .collect(),
    }
}
