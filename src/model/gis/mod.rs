//! Real GIS inputs: Shapefiles (zipped or not, reprojected from their `.prj`), CSV point tables
//! with configurable columns and title lines, GeoJSON features with any properties, and
//! GeoTIFF population rasters with their georeferencing.
//!
//! This module owns reading these formats into points and polygons in WGS 84 with their
//! attributes as text. It must not decide what a record means (a station, a zone): `ems init`
//! maps attributes to fields. Every error names the file, the record (feature, row or line) and
//! the field; nothing is dropped silently.
//!
//! - [`crs`]: coordinate reference systems from a `.prj` (WKT) or an EPSG code, through the
//!   pure-Rust `proj4rs` (WKT converted by `proj4wkt`).
//! - [`shp`]: Shapefiles (`.shp`, `.dbf`, `.prj`), also inside a `.zip`.
//! - [`table`]: CSV points.
//! - [`raster`]: GeoTIFF rasters.

pub mod crs;
pub mod raster;
pub mod shp;
pub mod table;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use geo::MultiPolygon;

/// A record's attributes, by column or field name, as text.
pub type Attrs = BTreeMap<String, String>;

/// A point record in WGS 84.
#[derive(Debug, Clone, PartialEq)]
pub struct PointRecord {
    /// Where it is in its file, for messages: `feature 3`, `line 7`.
    pub at: String,
    pub lon_lat: [f64; 2],
    pub attrs: Attrs,
}

/// A polygon record in WGS 84 (validated and oriented).
#[derive(Debug, Clone, PartialEq)]
pub struct PolygonRecord {
    pub at: String,
    pub polygon: MultiPolygon<f64>,
    pub attrs: Attrs,
}

/// A GIS file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum GisError {
    /// The file could not be read: check the path.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file is not what it should be (not a Shapefile, a zip without one, a TIFF without
    /// georeferencing).
    #[error("{path}: {message}")]
    Format { path: String, message: String },
    /// One record is wrong.
    #[error("{path}: {at}: field `{field}`: {message}")]
    Record {
        path: String,
        at: String,
        field: String,
        message: String,
    },
    /// The coordinate system is not supported or cannot be converted to WGS 84.
    #[error("{path}: coordinate system: {message}")]
    Crs { path: String, message: String },
}

impl GisError {
    pub(crate) fn format(path: &Path, message: impl Into<String>) -> GisError {
        GisError::Format {
            path: path.display().to_string(),
            message: message.into(),
        }
    }
}

/// A file's bytes.
pub(crate) fn read_bytes(path: &Path) -> Result<Vec<u8>, GisError> {
    std::fs::read(path).map_err(|e| GisError::Io {
        path: path.display().to_string(),
        source: e,
    })
}

/// Whether a path ends with one of `exts` (case-insensitive).
pub(crate) fn has_ext(path: &Path, exts: &[&str]) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    exts.iter().any(|e| name.ends_with(e))
}

/// The members of a zip archive whose names end with `ext`, as `(name, bytes)`.
pub(crate) fn zip_members(path: &Path, ext: &str) -> Result<Vec<(String, Vec<u8>)>, GisError> {
    let bytes = read_bytes(path)?;
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| GisError::format(path, format!("not a readable zip archive: {e}")))?;
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z
            .by_index(i)
            .map_err(|e| GisError::format(path, format!("zip member {i}: {e}")))?;
        let name = f
            .name()
            .map_err(|e| GisError::format(path, format!("zip member {i}: {e}")))?
            .to_string();
        if name.to_ascii_lowercase().ends_with(ext) && !name.contains("__MACOSX") {
            let mut buf = Vec::with_capacity(f.size() as usize);
            f.read_to_end(&mut buf)
                .map_err(|e| GisError::format(path, format!("zip member {name}: {e}")))?;
            out.push((name, buf));
        }
    }
    Ok(out)
}

/// Point records from a GeoJSON file (Point features, any properties).
pub fn geojson_points(path: &Path) -> Result<Vec<PointRecord>, GisError> {
    let name = path.display().to_string();
    let text = String::from_utf8(read_bytes(path)?)
        .map_err(|_| GisError::format(path, "not UTF-8 text"))?;
    let feats = super::parse_features(&text, &name).map_err(|e| GisError::Format {
        path: name.clone(),
        message: e.to_string(),
    })?;
    feats
        .into_iter()
        .map(|f| {
            let at = format!("feature {}", f.index);
            let lon_lat = match &f.geometry {
                Some(geojson::GeometryValue::Point { coordinates }) if coordinates.len() >= 2 => {
                    [coordinates[0], coordinates[1]]
                }
                _ => {
                    return Err(GisError::Record {
                        path: name.clone(),
                        at,
                        field: "geometry".into(),
                        message: "expected a Point".into(),
                    });
                }
            };
            check_lon_lat(path, &at, lon_lat)?;
            Ok(PointRecord {
                at,
                lon_lat,
                attrs: props_to_attrs(&f.properties),
            })
        })
        .collect()
}

/// Polygon records from a GeoJSON file (Polygon or MultiPolygon features, any properties).
pub fn geojson_polygons(path: &Path) -> Result<Vec<PolygonRecord>, GisError> {
    let name = path.display().to_string();
    let text = String::from_utf8(read_bytes(path)?)
        .map_err(|_| GisError::format(path, "not UTF-8 text"))?;
    let feats = super::parse_features(&text, &name).map_err(|e| GisError::Format {
        path: name.clone(),
        message: e.to_string(),
    })?;
    let mut out = Vec::with_capacity(feats.len());
    for f in feats {
        let ctx = super::FeatureCtx {
            path: &name,
            index: f.index,
            id: f.id.clone(),
        };
        let g = f.geometry.as_ref().ok_or_else(|| GisError::Record {
            path: name.clone(),
            at: format!("feature {}", f.index),
            field: "geometry".into(),
            message: "missing".into(),
        })?;
        let polygon = super::feature_polygon(&ctx, g)
            .map_err(|e| GisError::Format {
                path: name.clone(),
                message: e.to_string(),
            })?
            .ok_or_else(|| GisError::Record {
                path: name.clone(),
                at: format!("feature {}", f.index),
                field: "geometry".into(),
                message: format!("expected Polygon or MultiPolygon, got {}", g.type_name()),
            })?;
        out.push(PolygonRecord {
            at: format!("feature {}", f.index),
            polygon,
            attrs: props_to_attrs(&f.properties),
        });
    }
    Ok(out)
}

fn props_to_attrs(p: &serde_json::Map<String, serde_json::Value>) -> Attrs {
    p.iter()
        .filter_map(|(k, v)| {
            let s = match v {
                serde_json::Value::Null => return None,
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join(";"),
                other => other.to_string(),
            };
            Some((k.clone(), s))
        })
        .collect()
}

/// A coordinate must be a WGS 84 `[lon, lat]`.
pub(crate) fn check_lon_lat(path: &Path, at: &str, p: [f64; 2]) -> Result<(), GisError> {
    let [lon, lat] = p;
    if lon.is_finite()
        && lat.is_finite()
        && (-180.0..=180.0).contains(&lon)
        && (-90.0..=90.0).contains(&lat)
    {
        Ok(())
    } else {
        Err(GisError::Record {
            path: path.display().to_string(),
            at: at.to_string(),
            field: "coordinates".into(),
            message: format!(
                "({lon}, {lat}) is not a WGS 84 lon/lat (is the file projected, or are the \
                 columns swapped?)"
            ),
        })
    }
}

/// Point records from a GeoJSON, CSV or Shapefile (by extension; `.zip` holds a Shapefile).
pub fn read_points(path: &Path, csv: &table::CsvOptions) -> Result<Vec<PointRecord>, GisError> {
    if has_ext(path, &[".geojson", ".json"]) {
        geojson_points(path)
    } else if has_ext(path, &[".csv", ".txt", ".tsv"]) {
        table::read_points(path, csv)
    } else if has_ext(path, &[".shp", ".zip"]) {
        shp::read(path)?
            .into_iter()
            .map(|f| match f.geometry {
                shp::Geometry::Point(p) => Ok(PointRecord {
                    at: f.at,
                    lon_lat: p,
                    attrs: f.attrs,
                }),
                shp::Geometry::Polygons(_) => Err(GisError::Record {
                    path: path.display().to_string(),
                    at: f.at,
                    field: "geometry".into(),
                    message: "expected a point, got a polygon".into(),
                }),
            })
            .collect()
    } else {
        Err(GisError::format(
            path,
            "unknown file type: expected .geojson, .csv or a Shapefile (.shp or .zip)",
        ))
    }
}

/// Polygon records from a GeoJSON or Shapefile (by extension; `.zip` holds a Shapefile).
pub fn read_polygons(path: &Path) -> Result<Vec<PolygonRecord>, GisError> {
    if has_ext(path, &[".geojson", ".json"]) {
        geojson_polygons(path)
    } else if has_ext(path, &[".shp", ".zip"]) {
        shp::read(path)?
            .into_iter()
            .map(|f| match f.geometry {
                shp::Geometry::Polygons(polygon) => Ok(PolygonRecord {
                    at: f.at,
                    polygon,
                    attrs: f.attrs,
                }),
                shp::Geometry::Point(_) => Err(GisError::Record {
                    path: path.display().to_string(),
                    at: f.at,
                    field: "geometry".into(),
                    message: "expected a polygon, got a point".into(),
                }),
            })
            .collect()
    } else {
        Err(GisError::format(
            path,
            "unknown file type: expected .geojson or a Shapefile (.shp or .zip)",
        ))
    }
}
