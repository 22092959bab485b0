//! The region boundary of a city: from a file, from an administrative relation of the extract
//! (by id or name, its rings assembled and repaired), or the extract's own bounds.
//!
//! This file owns choosing and building the boundary and its assumptions. It must not read
//! stations, hospitals or demand.

use geo::{BooleanOps, MultiPolygon};

use super::{BoundarySource, City, CityError, CityRequest};
use crate::model::Region;
use crate::model::gis;
use crate::network::RoadNetwork;
use crate::network::rings::AdminArea;
use crate::spatial::polygon::{PolygonError, checked_polygon, multi_area_m2};

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

pub(super) fn boundary(
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
