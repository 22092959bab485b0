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
//! (containment, drawing) sees one convention.
//!
//! # Validity
//! A ring must be simple (no two of its edges meet except consecutive ones at their shared
//! vertex), rings must not cross one another, and holes must lie inside the exterior: the OGC
//! rules `geo`'s `Validation` checks. `geo`'s check is quadratic on one ring (75 s on a
//! 84,000-vertex city border), so the edges go into an R-tree and each edge is tested only
//! against those whose boxes it touches: `O(n log n)` for ordinary rings. `geo`'s check is the
//! oracle in the tests.

use geo::orient::{Direction, Orient};
use geo::{Contains, Coord, GeodesicArea, LineString, MultiPolygon, Point, Polygon};
use rstar::primitives::{GeomWithData, Line};
use rstar::{RTree, RTreeObject};

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
    validate(&polygon).map_err(PolygonError::Invalid)?;
    Ok(polygon.orient(Direction::Default))
}

/// The ring's role in messages: `exterior ring` or `interior ring at index k`, as `geo` says.
fn role(ring: usize) -> String {
    if ring == 0 {
        "exterior ring".into()
    } else {
        format!("interior ring at index {}", ring - 1)
    }
}

type Edge = GeomWithData<Line<[f64; 2]>, (usize, usize)>;

/// Orientation of `c` relative to `a → b`: positive left, negative right, 0 on the line.
fn orient(a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> f64 {
    (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
}

fn on_segment(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> bool {
    p[0] >= a[0].min(b[0])
        && p[0] <= a[0].max(b[0])
        && p[1] >= a[1].min(b[1])
        && p[1] <= a[1].max(b[1])
}

/// Whether segments `ab` and `cd` share any point.
fn meet(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
    let (o1, o2, o3, o4) = (
        orient(a, b, c),
        orient(a, b, d),
        orient(c, d, a),
        orient(c, d, b),
    );
    if ((o1 > 0.0 && o2 < 0.0) || (o1 < 0.0 && o2 > 0.0))
        && ((o3 > 0.0 && o4 < 0.0) || (o3 < 0.0 && o4 > 0.0))
    {
        return true;
    }
    (o1 == 0.0 && on_segment(a, b, c))
        || (o2 == 0.0 && on_segment(a, b, d))
        || (o3 == 0.0 && on_segment(c, d, a))
        || (o4 == 0.0 && on_segment(c, d, b))
}

/// Whether two segments cross (or overlap along a line) rather than only touch at a point.
fn cross(a: [f64; 2], b: [f64; 2], c: [f64; 2], d: [f64; 2]) -> bool {
    let (o1, o2, o3, o4) = (
        orient(a, b, c),
        orient(a, b, d),
        orient(c, d, a),
        orient(c, d, b),
    );
    let proper = ((o1 > 0.0 && o2 < 0.0) || (o1 < 0.0 && o2 > 0.0))
        && ((o3 > 0.0 && o4 < 0.0) || (o3 < 0.0 && o4 > 0.0));
    let collinear_overlap = o1 == 0.0
        && o2 == 0.0
        && [c, d]
            .iter()
            .any(|p| on_segment(a, b, *p) && *p != a && *p != b);
    proper || collinear_overlap
}

/// The OGC validity rules (see the module docs); the message follows `geo`'s.
pub fn validate(p: &Polygon<f64>) -> Result<(), String> {
    let rings: Vec<&LineString<f64>> = std::iter::once(p.exterior()).chain(p.interiors()).collect();
    let mut edges = Vec::new();
    for (r, ring) in rings.iter().enumerate() {
        let mut distinct: Vec<[f64; 2]> = ring.0.iter().map(|c| [c.x, c.y]).collect();
        if distinct
            .iter()
            .any(|q| !(q[0].is_finite() && q[1].is_finite()))
        {
            return Err(format!("{} has a non-finite coordinate", role(r)));
        }
        distinct.dedup();
        if distinct.len() < 4 {
            return Err(format!("{} must have at least 3 distinct points", role(r)));
        }
        for (i, w) in distinct.windows(2).enumerate() {
            edges.push(Edge::new(Line::new(w[0], w[1]), (r, i)));
        }
    }
    let counts: Vec<usize> = {
        let mut c = vec![0; rings.len()];
        for e in &edges {
            c[e.data.0] += 1;
        }
        c
    };
    let tree = RTree::bulk_load(edges.clone());
    for e in &edges {
        let (r, i) = e.data;
        let (a, b) = (e.geom().from, e.geom().to);
        for f in tree.locate_in_envelope_intersecting(&e.envelope()) {
            let (s, j) = f.data;
            if (s, j) <= (r, i) {
                continue;
            }
            let (c, d) = (f.geom().from, f.geom().to);
            if s == r {
                let n = counts[r];
                let adjacent = j == i + 1 || (i == 0 && j == n - 1);
                if adjacent {
                    // Consecutive edges may only share their common vertex.
                    if cross(a, b, c, d) {
                        return Err(format!("{} has a self-intersection", role(r)));
                    }
                } else if meet(a, b, c, d) {
                    return Err(format!("{} has a self-intersection", role(r)));
                }
            } else if cross(a, b, c, d) {
                return Err(format!("{} and {} intersect on a line", role(r), role(s)));
            }
        }
    }
    let shell = Polygon::new(p.exterior().clone(), vec![]);
    for (k, hole) in p.interiors().iter().enumerate() {
        let inside = hole.0.iter().any(|c| shell.contains(&Point::new(c.x, c.y)));
        if !inside {
            return Err(format!(
                "{} is not contained within the polygon's exterior",
                role(k + 1)
            ));
        }
    }
    Ok(())
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

    /// The fast check agrees with `geo`'s OGC validation on random polygons, valid or not:
    /// random stars (some self-intersecting when their angles are shuffled) with random holes.
    #[test]
    fn fast_validation_equals_geo() {
        use geo::algorithm::Validation;
        let mut s = 7u64;
        let mut rnd = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 1_000_000) as f64 / 1_000_000.0
        };
        let (mut valid, mut invalid) = (0, 0);
        for case in 0..3000 {
            let n = 3 + (rnd() * 12.0) as usize;
            let mut angles: Vec<f64> = (0..n)
                .map(|k| k as f64 / n as f64 * std::f64::consts::TAU)
                .collect();
            if case % 3 == 0 {
                let i = (rnd() * n as f64) as usize % n;
                let j = (rnd() * n as f64) as usize % n;
                angles.swap(i, j);
            }
            let mut ring: Vec<Coord> = angles
                .iter()
                .map(|a| {
                    let r = 1.0 + rnd() * 4.0;
                    Coord {
                        x: (r * a.cos() * 8.0).round() / 8.0,
                        y: (r * a.sin() * 8.0).round() / 8.0,
                    }
                })
                .collect();
            ring.push(ring[0]);
            let mut holes = Vec::new();
            if case % 4 == 1 {
                let (cx, cy, d) = (rnd() * 2.0 - 1.0, rnd() * 2.0 - 1.0, 0.1 + rnd() * 1.5);
                holes.push(LineString::new(vec![
                    Coord { x: cx, y: cy },
                    Coord { x: cx + d, y: cy },
                    Coord {
                        x: cx + d,
                        y: cy + d,
                    },
                    Coord { x: cx, y: cy + d },
                    Coord { x: cx, y: cy },
                ]));
            }
            let p = Polygon::new(LineString::new(ring), holes);
            let ours = validate(&p).is_ok();
            assert_eq!(
                ours,
                p.is_valid(),
                "{p:?}: ours {:?} geo {:?}",
                validate(&p),
                p.check_validation()
            );
            if ours { valid += 1 } else { invalid += 1 }
        }
        assert!(
            valid > 300 && invalid > 300,
            "{valid} valid, {invalid} invalid"
        );
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
