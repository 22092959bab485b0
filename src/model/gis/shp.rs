//! Shapefiles: the `.shp` geometry, the `.dbf` attributes and the `.prj` coordinate system,
//! from the files beside each other or from one `.zip`.
//!
//! This module owns turning Shapefile records into WGS 84 points and polygons. Polygon rings
//! follow the Shapefile convention (outer rings clockwise, holes counter-clockwise); each hole
//! goes to the outer ring that contains it, and every polygon is validated and re-oriented by
//! [`crate::spatial::polygon`]. Without a `.prj` the coordinates must already be longitude and
//! latitude, and are refused otherwise.

use std::io::Cursor;
use std::path::Path;

use geo::{Contains, Coord, LineString, MultiPolygon, Point, Polygon};

use super::crs::Crs;
use super::{Attrs, GisError, has_ext, read_bytes, zip_members};
use crate::spatial::polygon::checked_polygon;

/// A record's geometry in WGS 84.
#[derive(Debug, Clone, PartialEq)]
pub enum Geometry {
    Point([f64; 2]),
    Polygons(MultiPolygon<f64>),
}

/// One Shapefile record.
#[derive(Debug, Clone, PartialEq)]
pub struct Feature {
    /// `record N` (1-based, as GIS tools number them).
    pub at: String,
    pub geometry: Geometry,
    pub attrs: Attrs,
}

/// The three files' bytes.
struct Parts {
    shp: Vec<u8>,
    dbf: Option<Vec<u8>>,
    prj: Option<String>,
}

fn parts(path: &Path) -> Result<Parts, GisError> {
    if has_ext(path, &[".zip"]) {
        let shps = zip_members(path, ".shp")?;
        let (name, shp) = match shps.len() {
            1 => shps.into_iter().next().expect("one"),
            0 => return Err(GisError::format(path, "the zip archive holds no .shp file")),
            _ => {
                let names: Vec<String> = shps.into_iter().map(|x| x.0).collect();
                return Err(GisError::format(
                    path,
                    format!(
                        "the zip archive holds several Shapefiles ({}): unzip the one to use",
                        names.join(", ")
                    ),
                ));
            }
        };
        let stem = name[..name.len() - 4].to_ascii_lowercase();
        let find = |ext: &str| -> Result<Option<Vec<u8>>, GisError> {
            Ok(zip_members(path, ext)?
                .into_iter()
                .find(|(n, _)| n.to_ascii_lowercase() == format!("{stem}{ext}"))
                .map(|x| x.1))
        };
        Ok(Parts {
            shp,
            dbf: find(".dbf")?,
            prj: find(".prj")?.map(|b| String::from_utf8_lossy(&b).into_owned()),
        })
    } else {
        let side = |ext: &str| {
            let p = path.with_extension(ext);
            p.exists().then(|| read_bytes(&p)).transpose()
        };
        Ok(Parts {
            shp: read_bytes(path)?,
            dbf: side("dbf")?,
            prj: side("prj")?.map(|b| String::from_utf8_lossy(&b).into_owned()),
        })
    }
}

fn field_text(v: &shapefile::dbase::FieldValue) -> Option<String> {
    use shapefile::dbase::FieldValue as F;
    match v {
        F::Character(s) => s.clone().map(|s| s.trim().to_string()),
        F::Memo(s) => Some(s.trim().to_string()),
        F::Numeric(n) => n.map(|x| x.to_string()),
        F::Float(n) => n.map(|x| x.to_string()),
        F::Integer(i) => Some(i.to_string()),
        F::Double(d) | F::Currency(d) => Some(d.to_string()),
        F::Logical(b) => b.map(|x| x.to_string()),
        F::Date(d) => d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())),
        F::DateTime(d) => Some(format!("{d:?}")),
    }
}

/// Groups rings into polygons: each outer ring with the holes it contains.
fn polygons(
    path: &Path,
    at: &str,
    outer: Vec<Vec<[f64; 2]>>,
    inner: Vec<Vec<[f64; 2]>>,
) -> Result<MultiPolygon<f64>, GisError> {
    let bad = |m: String| GisError::Record {
        path: path.display().to_string(),
        at: at.to_string(),
        field: "geometry".into(),
        message: m,
    };
    let shells: Vec<Polygon<f64>> = outer
        .iter()
        .map(|r| {
            Polygon::new(
                LineString::new(r.iter().map(|&[x, y]| Coord { x, y }).collect()),
                vec![],
            )
        })
        .collect();
    let mut holes: Vec<Vec<Vec<[f64; 2]>>> = vec![Vec::new(); outer.len()];
    for h in inner {
        let probe = Point::new(h[0][0], h[0][1]);
        let owner = shells
            .iter()
            .position(|s| s.contains(&probe))
            .ok_or_else(|| bad("a hole lies in no outer ring".into()))?;
        holes[owner].push(h);
    }
    let mut out = Vec::with_capacity(outer.len());
    for (k, (shell, hs)) in outer.into_iter().zip(holes).enumerate() {
        let mut rings = vec![shell];
        rings.extend(hs);
        out.push(checked_polygon(rings).map_err(|e| bad(format!("polygon {k}: {e}")))?);
    }
    Ok(MultiPolygon::new(out))
}

/// Reads a Shapefile (`.shp` with its `.dbf` and `.prj` beside it, or a `.zip` holding one):
/// points and polygons in WGS 84 with their attributes.
pub fn read(path: &Path) -> Result<Vec<Feature>, GisError> {
    let p = parts(path)?;
    let name = path.display().to_string();
    let crs = match &p.prj {
        Some(wkt) => Crs::from_wkt(wkt).map_err(|message| GisError::Crs {
            path: name.clone(),
            message,
        })?,
        None => Crs::Wgs84,
    };
    let shapes = shapefile::ShapeReader::new(Cursor::new(p.shp))
        .and_then(|r| r.read())
        .map_err(|e| GisError::format(path, format!("not a readable Shapefile: {e}")))?;
    let records: Vec<Attrs> = match p.dbf {
        Some(dbf) => {
            let mut r = shapefile::dbase::Reader::new(Cursor::new(dbf))
                .map_err(|e| GisError::format(path, format!("attribute table (.dbf): {e}")))?;
            r.read()
                .map_err(|e| GisError::format(path, format!("attribute table (.dbf): {e}")))?
                .into_iter()
                .map(|rec| {
                    let m: std::collections::HashMap<String, shapefile::dbase::FieldValue> =
                        rec.into();
                    m.iter()
                        .filter_map(|(k, v)| field_text(v).map(|t| (k.clone(), t)))
                        .collect()
                })
                .collect()
        }
        None => Vec::new(),
    };
    let convert = |at: &str, x: f64, y: f64| -> Result<[f64; 2], GisError> {
        let ll = crs.to_lon_lat([x, y]).map_err(|message| GisError::Crs {
            path: name.clone(),
            message: format!("{at}: {message}"),
        })?;
        super::check_lon_lat(path, at, ll)?;
        Ok(ll)
    };
    let mut out = Vec::with_capacity(shapes.len());
    for (i, shape) in shapes.into_iter().enumerate() {
        let at = format!("record {}", i + 1);
        let ring = |pts: &[shapefile::Point]| -> Result<Vec<[f64; 2]>, GisError> {
            pts.iter().map(|q| convert(&at, q.x, q.y)).collect()
        };
        use shapefile::PolygonRing;
        use shapefile::Shape as S;
        let geometry = match shape {
            S::NullShape => continue,
            S::Point(q) => Geometry::Point(convert(&at, q.x, q.y)?),
            S::PointZ(q) => Geometry::Point(convert(&at, q.x, q.y)?),
            S::PointM(q) => Geometry::Point(convert(&at, q.x, q.y)?),
            S::Polygon(poly) => {
                let (mut o, mut h) = (Vec::new(), Vec::new());
                for r in poly.rings() {
                    match r {
                        PolygonRing::Outer(pts) => o.push(ring(pts)?),
                        PolygonRing::Inner(pts) => h.push(ring(pts)?),
                    }
                }
                Geometry::Polygons(polygons(path, &at, o, h)?)
            }
            S::PolygonZ(poly) => {
                let (mut o, mut h) = (Vec::new(), Vec::new());
                for r in poly.rings() {
                    let pts: Vec<shapefile::Point> = r
                        .points()
                        .iter()
                        .map(|q| shapefile::Point::new(q.x, q.y))
                        .collect();
                    match r {
                        PolygonRing::Outer(_) => o.push(ring(&pts)?),
                        PolygonRing::Inner(_) => h.push(ring(&pts)?),
                    }
                }
                Geometry::Polygons(polygons(path, &at, o, h)?)
            }
            other => {
                return Err(GisError::Record {
                    path: name.clone(),
                    at,
                    field: "geometry".into(),
                    message: format!(
                        "{} shapes are not read: expected points or polygons",
                        other.shapetype()
                    ),
                });
            }
        };
        out.push(Feature {
            attrs: records.get(i).cloned().unwrap_or_default(),
            at,
            geometry,
        });
    }
    Ok(out)
}
