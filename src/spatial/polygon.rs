//! Polygons that cannot lie: rings closed and checked for self-intersection, oriented
//! (exterior counter-clockwise, holes clockwise), and a geodesic area that is the same for
//! either ring orientation.
//!
//! This module owns polygon validity and area. It must not know what a polygon stands for
//! (a region, a zone, a building): readers turn its errors into messages that name the file
//! and the feature.
//!
//! # Why
//! Karney's geodesic area (`geo::GeodesicArea`) measures the region to the left of a ring, so a
//! clockwise exterior (the Shapefile convention, common in GeoJSON found in the wild) measured
//! "unsigned" is the rest of the Earth: 510,065,621 km² minus the polygon. Here the area is the
//! absolute value of the signed area, which is right for either orientation (for polygons
//! smaller than a hemisphere), and polygons are oriented on reading so that every later use
//! (containment, drawing) sees one convention. Validity is `geo`'s OGC check
//! (`Validation`); its cost is dominated by the self-intersection sweep, `O(n log n)` in the
//! ring's points.

use geo::algorithm::Validation;
use geo::orient::{Direction, Orient};
use geo::{Coord, GeodesicArea, LineString, MultiPolygon, Polygon};

/// Why rings do not make a polygon.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolygonError {
    /// No ring at all.
    #[error("a polygon needs at least one ring")]
    NoRing,
    /// A ring's first and last positions differ (GeoJSON and Shapefile rings are closed).
    #[error(
        "ring {ring} is not closed: its first position {first:?} differs from its last {last:?}"
    )]
    Unclosed {
        ring: usize,
        first: [f64; 2],
        last: [f64; 2],
    },
    /// A ring with fewer than 4 positions (3 distinct points and the closing one).
    #[error(
        "ring {ring} has {points} positions; a ring needs at least 4 (3 distinct points, closed)"
    )]
    TooFewPoints { ring: usize, points: usize },
    /// The OGC validity check failed: a self-intersecting ring, a hole outside the exterior,
    /// rings that cross.
    #[error("invalid polygon: {0}")]
    Invalid(String),
}

/// Builds a polygon from closed rings (the first is the exterior, the others holes), checks
/// it, and orients it (exterior counter-clockwise, holes clockwise).
pub fn checked_polygon(rings: Vec<Vec<[f64; 2]>>) -> Result<Polygon<f64>, PolygonError> {
    let mut lines = Vec::with_capacity(rings.len());
    for (k, ring) in rings.into_iter().enumerate() {
        if ring.len() < 4 {
            return Err(PolygonError::TooFewPoints {
                ring: k,
                points: ring.len(),
            });
        }
        let (first, last) = (ring[0], ring[ring.len() - 1]);
        if first != last {
            return Err(PolygonError::Unclosed {
                ring: k,
                first,
                last,
            });
        }
        lines.push(LineString::new(
            ring.into_iter().map(|[x, y]| Coord { x, y }).collect(),
        ));
    }
    let mut it = lines.into_iter();
    let exterior = it.next().ok_or(PolygonError::NoRing)?;
    let polygon = Polygon::new(exterior, it.collect());
    polygon
        .check_validation()
        .map_err(|e| PolygonError::Invalid(e.to_string()))?;
    Ok(polygon.orient(Direction::Default))
}

/// Geodesic area of a polygon in m², holes subtracted, whatever the rings' orientation.
pub fn geodesic_area_m2(p: &Polygon<f64>) -> f64 {
    p.geodesic_area_signed().abs()
}

/// Geodesic area of a multipolygon in m² (the sum over its polygons).
pub fn multi_area_m2(mp: &MultiPolygon<f64>) -> f64 {
    mp.0.iter().map(geodesic_area_m2).sum::<f64>() + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(x0: f64, y0: f64, d: f64) -> Vec<[f64; 2]> {
        vec![
            [x0, y0],
            [x0 + d, y0],
            [x0 + d, y0 + d],
            [x0, y0 + d],
            [x0, y0],
        ]
    }

    /// Either orientation, the same area; a hole is subtracted whichever way it runs.
    #[test]
    fn area_is_the_same_for_either_orientation_and_holes_count() {
        let ccw = checked_polygon(vec![square(7.0, 43.0, 0.1)]).unwrap();
        let mut cw_ring = square(7.0, 43.0, 0.1);
        cw_ring.reverse();
        let raw_cw = Polygon::new(
            LineString::new(cw_ring.iter().map(|&[x, y]| Coord { x, y }).collect()),
            vec![],
        );
        // The bug this module prevents: unsigned area of a clockwise ring is the rest of Earth.
        assert!(raw_cw.geodesic_area_unsigned() > 5e14);
        let a = geodesic_area_m2(&ccw);
        assert!((geodesic_area_m2(&raw_cw) - a).abs() < 1e-6 * a);
        let cw = checked_polygon(vec![cw_ring]).unwrap();
        assert!((geodesic_area_m2(&cw) - a).abs() < 1e-6 * a);
        assert!(a > 8.9e7 && a < 9.1e7, "{a}"); // ~ 11.1 km x 8.1 km at 43° N
        for hole_reversed in [false, true] {
            let mut hole = square(7.02, 43.02, 0.02);
            if hole_reversed {
                hole.reverse();
            }
            let p = checked_polygon(vec![square(7.0, 43.0, 0.1), hole.clone()]).unwrap();
            let h = geodesic_area_m2(&checked_polygon(vec![hole]).unwrap());
            assert!((geodesic_area_m2(&p) - (a - h)).abs() < 1e-6 * a);
        }
    }

    #[test]
    fn invalid_rings_are_errors() {
        let mut open = square(0.0, 0.0, 1.0);
        open.pop();
        assert!(matches!(
            checked_polygon(vec![open]),
            Err(PolygonError::Unclosed { ring: 0, .. })
        ));
        let bowtie = vec![[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]];
        let e = checked_polygon(vec![bowtie]).unwrap_err();
        assert!(e.to_string().contains("self-intersection"), "{e}");
        assert!(matches!(
            checked_polygon(vec![vec![[0.0, 0.0], [1.0, 0.0], [0.0, 0.0]]]),
            Err(PolygonError::TooFewPoints { .. })
        ));
        let outside = square(5.0, 5.0, 1.0);
        let e = checked_polygon(vec![square(0.0, 0.0, 1.0), outside]).unwrap_err();
        assert!(e.to_string().contains("not contained"), "{e}");
    }
}
