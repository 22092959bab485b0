//! Demand zones for a region without census zones: a square grid over the region, each cell
//! clipped to the boundary, holding the residents of what lies in it (building floor area,
//! road length, raster population, or the cell's area).
//!
//! This module owns the grid, the clipping and the sharing of a population over weights. It
//! must not read files; `ems init` gives it weighted points from the map or a raster.
//!
//! # Method
//! - Cells are squares of `cell_m` in a local metric projection ([`LocalProjection`]) of the
//!   region; a point belongs to the cell its projection falls in, and only points inside the
//!   boundary count ([`RegionMask`]).
//! - Each cell with weight is clipped to the boundary in one overlay of all cells (shrunk by
//!   1 mm so that neighbours do not merge) with `geo`'s boolean operations; a cell's zone is
//!   what of it lies inside.
//! - A zone's demand point is the weighted mean of its points (where its residents are), not
//!   the centroid of its polygon.
//! - With a total, each zone gets `total × weight / Σ weight`; without one (a raster of
//!   counts), the weights are the residents.

use std::collections::BTreeMap;

use geo::{BooleanOps, Centroid, Coord, LineString, MultiPolygon, Polygon};

use super::{DemandZone, Region};
use crate::spatial::LocalProjection;
use crate::spatial::mask::RegionMask;

/// A weighted point: where residents (or their proxy) are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weighted {
    pub lon_lat: [f64; 2],
    pub weight: f64,
}

/// What the grid left out, for the assumptions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GridReport {
    /// Points outside the region.
    pub outside: usize,
    /// Cells with weight.
    pub cells: usize,
    /// Total weight inside the region.
    pub weight: f64,
}

/// Demand zones on a `cell_m` grid over `region` from weighted points; `total` shares that
/// many residents over the weights (else the weights are the residents).
pub fn grid_zones(
    region: &Region,
    cell_m: f64,
    points: impl IntoIterator<Item = Weighted>,
    total: Option<f64>,
) -> (Vec<DemandZone>, GridReport) {
    let ring_pts: Vec<[f64; 2]> = region
        .boundary
        .0
        .iter()
        .flat_map(|p| p.exterior().0.iter().map(|c| [c.x, c.y]))
        .collect();
    let proj = LocalProjection::around(&ring_pts);
    let mask = RegionMask::new(&region.boundary);
    // key -> (weight, Σ w·lon, Σ w·lat)
    let mut cells: BTreeMap<(i64, i64), (f64, f64, f64)> = BTreeMap::new();
    let mut report = GridReport::default();
    for p in points {
        if !(p.weight.is_finite() && p.weight > 0.0) {
            continue;
        }
        if !mask.contains(p.lon_lat) {
            report.outside += 1;
            continue;
        }
        let xy = proj.project(p.lon_lat);
        let key = (
            (xy[0] / cell_m).floor() as i64,
            (xy[1] / cell_m).floor() as i64,
        );
        let c = cells.entry(key).or_insert((0.0, 0.0, 0.0));
        c.0 += p.weight;
        c.1 += p.weight * p.lon_lat[0];
        c.2 += p.weight * p.lon_lat[1];
    }
    report.cells = cells.len();
    report.weight = cells.values().map(|c| c.0).sum();
    let clipped = clip_cells(region, &proj, cell_m, cells.keys().copied());
    let scale = match total {
        Some(t) if report.weight > 0.0 => t / report.weight,
        _ => 1.0,
    };
    let zones = cells
        .iter()
        .filter_map(|(key, (w, sx, sy))| {
            let polygon = clipped.get(key).cloned()?;
            Some(DemandZone {
                id: format!("g{}_{}", key.0, key.1),
                name: format!("cell {} {}", key.0, key.1),
                polygon: Some(polygon),
                lon_lat: [sx / w, sy / w],
                population: w * scale,
            })
        })
        .collect();
    (zones, report)
}

/// The square of cell `key`, shrunk by 1 mm, as lon/lat.
fn cell_square(proj: &LocalProjection, cell_m: f64, key: (i64, i64)) -> Polygon<f64> {
    let e = 0.001;
    let (x0, y0) = (key.0 as f64 * cell_m + e, key.1 as f64 * cell_m + e);
    let (x1, y1) = (x0 + cell_m - 2.0 * e, y0 + cell_m - 2.0 * e);
    let c = |x: f64, y: f64| {
        let [lon, lat] = proj.unproject([x, y]);
        Coord { x: lon, y: lat }
    };
    Polygon::new(
        LineString::new(vec![c(x0, y0), c(x1, y0), c(x1, y1), c(x0, y1), c(x0, y0)]),
        vec![],
    )
}

/// The part of each cell inside the region, by cell.
fn clip_cells(
    region: &Region,
    proj: &LocalProjection,
    cell_m: f64,
    keys: impl Iterator<Item = (i64, i64)>,
) -> BTreeMap<(i64, i64), MultiPolygon<f64>> {
    let squares = MultiPolygon::new(keys.map(|k| cell_square(proj, cell_m, k)).collect());
    let pieces = region.boundary.intersection(&squares);
    let mut out: BTreeMap<(i64, i64), Vec<Polygon<f64>>> = BTreeMap::new();
    for piece in pieces.0 {
        let Some(c) = piece.centroid() else { continue };
        let xy = proj.project([c.x(), c.y()]);
        let key = (
            (xy[0] / cell_m).floor() as i64,
            (xy[1] / cell_m).floor() as i64,
        );
        out.entry(key).or_default().push(piece);
    }
    out.into_iter()
        .map(|(k, v)| (k, MultiPolygon::new(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3 km square region, 1 km cells, weights on a 100 m lattice: the cells cover the
    /// region exactly once clipped, the total is shared in proportion to weight, points outside
    /// are left out and counted, and a zone's point is where its weight is.
    #[test]
    fn grid_shares_the_total_over_clipped_cells() {
        let proj = LocalProjection::new(7.0, 43.0);
        let corner = |x: f64, y: f64| proj.unproject([x, y]);
        let ring: Vec<[f64; 2]> = [
            (0.0, 0.0),
            (3000.0, 0.0),
            (3000.0, 3000.0),
            (0.0, 3000.0),
            (0.0, 0.0),
        ]
        .iter()
        .map(|&(x, y)| corner(x, y))
        .collect();
        let region = Region {
            boundary: MultiPolygon::new(vec![
                crate::spatial::polygon::checked_polygon(vec![ring]).unwrap(),
            ]),
        };
        let mut pts = Vec::new();
        for i in 0..30 {
            for j in 0..30 {
                pts.push(Weighted {
                    lon_lat: corner(i as f64 * 100.0 + 50.0, j as f64 * 100.0 + 50.0),
                    weight: if i < 15 { 1.0 } else { 3.0 },
                });
            }
        }
        pts.push(Weighted {
            lon_lat: corner(5000.0, 500.0),
            weight: 99.0,
        });
        let (zones, rep) = grid_zones(&region, 1000.0, pts, Some(1800.0));
        assert_eq!(rep.outside, 1);
        assert_eq!(rep.weight, 450.0 + 1350.0);
        let total: f64 = zones.iter().map(|z| z.population).sum();
        assert!((total - 1800.0).abs() < 1e-6);
        let area: f64 = zones
            .iter()
            .map(|z| crate::spatial::polygon::multi_area_m2(z.polygon.as_ref().unwrap()))
            .sum();
        assert!((area - 9e6).abs() < 0.005 * 9e6, "{area}");
        // Each zone's population is its points' weight.
        for z in &zones {
            use geo::Contains;
            let inside = z
                .polygon
                .as_ref()
                .unwrap()
                .contains(&geo::Point::new(z.lon_lat[0], z.lon_lat[1]));
            assert!(inside, "{}: demand point outside its cell", z.id);
        }
    }
}
