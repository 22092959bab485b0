//! Where a city's residents are: demand zones from census zones, a population raster, or a
//! total spread over buildings, roads or the area, gridded inside the boundary.
//!
//! This file owns the demand zones and their assumptions, and [`road_weight`]. It must not
//! touch stations, hospitals or the boundary.

use std::path::Path;

use geo::MultiPolygon;

use super::{City, CityError, CityRequest, DemandInput, RasterValues, Spread, unique_id};
use crate::model::DemandZone;
use crate::model::demand::{self, Weighted};
use crate::model::gis::{self, GisError};
use crate::network::{RoadClass, RoadNetwork};
use crate::spatial::polygon::multi_area_m2;

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

pub(super) fn demand(
    city: &mut City,
    req: &CityRequest,
    net: &RoadNetwork,
) -> Result<(), CityError> {
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
            weight: crate::model::population::weight(b, crate::model::population::DEFAULT_LEVELS),
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
                crate::model::population::DEFAULT_LEVELS
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
