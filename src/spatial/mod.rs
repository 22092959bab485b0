//! Projection and R-tree indexes.
//!
//! This module owns the local metric projection, the `rstar` R-trees over road pieces and
//! points (stations, hospitals, demand), polygon validity and area ([`polygon`]), and the Chinese
//! map coordinate systems GCJ-02 and BD-09 ([`china`]). It must not know what a road, station or hospital *is*:
//! it indexes polylines and points by id and answers nearest-neighbour and radius queries, so
//! every analysis uses the same indexes.
//!
//! # Projection
//! [`LocalProjection`] is an equirectangular projection centred on the data: `x = R·Δλ·cos φ0`,
//! `y = R·Δφ`, with `R` = 6,371,008.8 m (the IUGG mean Earth radius, the same radius `geo`'s
//! haversine uses). The `x` scale is off by `cos φ / cos φ0 − 1`: below 1 % within 50 km north or
//! south of the centre up to 50° latitude (0.75 % at Monaco's edge of that band), which is ample
//! for choosing the nearest road. The distances the rest of `ems` reports are haversine
//! distances on the sphere, not projected ones.

pub mod china;
pub mod mask;
pub mod polygon;

use rstar::primitives::{GeomWithData, Line};
use rstar::{PointDistance, RTree};

/// Mean Earth radius in metres (IUGG).
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Equirectangular projection around a centre point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalProjection {
    pub lon0: f64,
    pub lat0: f64,
    kx: f64,
    ky: f64,
}

impl LocalProjection {
    /// A projection centred on `[lon0, lat0]`.
    pub fn new(lon0: f64, lat0: f64) -> Self {
        let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        LocalProjection {
            lon0,
            lat0,
            kx: ky * lat0.to_radians().cos(),
            ky,
        }
    }

    /// A projection centred on the bounding box of the points (the origin if there are none).
    pub fn around<'a>(points: impl IntoIterator<Item = &'a [f64; 2]>) -> Self {
        let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
        let mut any = false;
        for p in points {
            any = true;
            for k in 0..2 {
                min[k] = min[k].min(p[k]);
                max[k] = max[k].max(p[k]);
            }
        }
        if !any {
            return LocalProjection::new(0.0, 0.0);
        }
        LocalProjection::new((min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0)
    }

    /// `[lon, lat]` to metres `[x, y]` east and north of the centre (equirectangular on a
    /// sphere of radius [`EARTH_RADIUS_M`], scaled by the cosine of the centre's latitude).
    /// `O(1)`.
    ///
    /// ```
    /// use ems::spatial::LocalProjection;
    /// let p = LocalProjection::new(121.5, 31.3);
    /// // One degree of latitude: 111.195 km on the mean sphere.
    /// let [x, y] = p.project([121.5, 32.3]);
    /// assert!(x.abs() < 1e-6 && (y - 111_195.08).abs() < 0.01);
    /// // One degree of longitude shrinks with the cosine of the latitude.
    /// let [x, _] = p.project([122.5, 31.3]);
    /// assert!((x - 111_195.08 * 31.3f64.to_radians().cos()).abs() < 0.01);
    /// // And back.
    /// let q = p.unproject(p.project([121.51, 31.29]));
    /// assert!((q[0] - 121.51).abs() < 1e-12 && (q[1] - 31.29).abs() < 1e-12);
    /// ```
    #[inline]
    pub fn project(&self, p: [f64; 2]) -> [f64; 2] {
        [(p[0] - self.lon0) * self.kx, (p[1] - self.lat0) * self.ky]
    }

    /// Metres `[x, y]` back to `[lon, lat]`.
    #[inline]
    pub fn unproject(&self, xy: [f64; 2]) -> [f64; 2] {
        [xy[0] / self.kx + self.lon0, xy[1] / self.ky + self.lat0]
    }
}

/// The nearest point on an indexed polyline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PolylineHit {
    /// Id of the polyline (its position in the input).
    pub polyline: u32,
    /// Index of the piece (`points[piece]..points[piece + 1]`).
    pub piece: u32,
    /// Position along the piece, 0..=1.
    pub t: f64,
    /// The nearest point, projected metres.
    pub xy: [f64; 2],
    /// Projected distance from the query point, metres.
    pub distance_m: f64,
}

type Piece = GeomWithData<Line<[f64; 2]>, (u32, u32)>;

/// R-tree over the straight pieces of many polylines, in a local projection.
pub struct PolylineIndex {
    projection: LocalProjection,
    tree: RTree<Piece>,
}

/// Closest point on segment `a..b` to `p`: `(t, point, squared distance)`.
pub fn closest_on_segment(a: [f64; 2], b: [f64; 2], p: [f64; 2]) -> (f64, [f64; 2], f64) {
    let d = [b[0] - a[0], b[1] - a[1]];
    let len2 = d[0] * d[0] + d[1] * d[1];
    let t = if len2 > 0.0 {
        (((p[0] - a[0]) * d[0] + (p[1] - a[1]) * d[1]) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let q = [a[0] + t * d[0], a[1] + t * d[1]];
    let dist2 = (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2);
    (t, q, dist2)
}

impl PolylineIndex {
    /// Indexes `[lon, lat]` polylines (bulk-loaded).
    pub fn new<'a>(
        projection: LocalProjection,
        polylines: impl IntoIterator<Item = &'a [[f64; 2]]>,
    ) -> Self {
        let mut pieces = Vec::new();
        for (i, line) in polylines.into_iter().enumerate() {
            for (j, w) in line.windows(2).enumerate() {
                let a = projection.project(w[0]);
                let b = projection.project(w[1]);
                pieces.push(GeomWithData::new(Line::new(a, b), (i as u32, j as u32)));
            }
        }
        PolylineIndex {
            projection,
            tree: RTree::bulk_load(pieces),
        }
    }

    pub fn projection(&self) -> &LocalProjection {
        &self.projection
    }

    /// Number of indexed pieces.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// The nearest point on any polyline to `[lon, lat]`; ties go to the lowest (polyline, piece).
    pub fn nearest(&self, lon_lat: [f64; 2]) -> Option<PolylineHit> {
        let p = self.projection.project(lon_lat);
        let mut best: Option<(f64, &Piece)> = None;
        for (piece, d2) in self.tree.nearest_neighbor_iter_with_distance_2(&p) {
            match best {
                Some((bd, _)) if d2 > bd => break,
                Some((bd, b)) if d2 == bd && piece.data >= b.data => {}
                _ => best = Some((d2, piece)),
            }
        }
        let (_, piece) = best?;
        let line = piece.geom();
        let (t, xy, d2) = closest_on_segment(line.from, line.to, p);
        Some(PolylineHit {
            polyline: piece.data.0,
            piece: piece.data.1,
            t,
            xy,
            distance_m: d2.sqrt(),
        })
    }

    /// Brute-force version of [`Self::nearest`] (the test oracle): the smallest distance over all
    /// pieces.
    pub fn nearest_brute_force_distance(&self, lon_lat: [f64; 2]) -> Option<f64> {
        let p = self.projection.project(lon_lat);
        self.tree
            .iter()
            .map(|piece| piece.geom().distance_2(&p))
            .min_by(|a, b| a.total_cmp(b))
            .map(f64::sqrt)
    }
}

type IdPoint = GeomWithData<[f64; 2], u32>;

/// R-tree over points (stations, hospitals, demand centroids), by id.
pub struct PointIndex {
    projection: LocalProjection,
    tree: RTree<IdPoint>,
}

impl PointIndex {
    /// Indexes `[lon, lat]` points; ids are their positions in the input.
    pub fn new<'a>(
        projection: LocalProjection,
        points: impl IntoIterator<Item = &'a [f64; 2]>,
    ) -> Self {
        let items = points
            .into_iter()
            .enumerate()
            .map(|(i, p)| GeomWithData::new(projection.project(*p), i as u32))
            .collect();
        PointIndex {
            projection,
            tree: RTree::bulk_load(items),
        }
    }

    /// The `k` nearest points by straight-line distance: `(id, metres)`, nearest first.
    pub fn nearest_k(&self, lon_lat: [f64; 2], k: usize) -> Vec<(u32, f64)> {
        let p = self.projection.project(lon_lat);
        self.tree
            .nearest_neighbor_iter_with_distance_2(&p)
            .take(k)
            .map(|(g, d2)| (g.data, d2.sqrt()))
            .collect()
    }

    /// All points within `radius_m` (straight line): `(id, metres)`, in no particular order.
    pub fn within(&self, lon_lat: [f64; 2], radius_m: f64) -> Vec<(u32, f64)> {
        let p = self.projection.project(lon_lat);
        self.tree
            .locate_within_distance(p, radius_m * radius_m)
            .map(|g| (g.data, g.geom().distance_2(&p).sqrt()))
            .collect()
    }
}

type IdRect = GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, u32>;

/// R-tree over polygon bounding boxes with an exact point-in-polygon test (demand zones,
/// boundaries). Works in `[lon, lat]` directly: containment needs no metric.
pub struct PolygonIndex {
    polygons: Vec<geo::MultiPolygon<f64>>,
    tree: RTree<IdRect>,
}

impl PolygonIndex {
    /// Indexes polygons; ids are their positions in the input.
    pub fn new(polygons: Vec<geo::MultiPolygon<f64>>) -> Self {
        use geo::BoundingRect;
        let items = polygons
            .iter()
            .enumerate()
            .filter_map(|(i, p)| {
                p.bounding_rect().map(|r| {
                    GeomWithData::new(
                        rstar::primitives::Rectangle::from_corners(
                            [r.min().x, r.min().y],
                            [r.max().x, r.max().y],
                        ),
                        i as u32,
                    )
                })
            })
            .collect();
        PolygonIndex {
            polygons,
            tree: RTree::bulk_load(items),
        }
    }

    /// The lowest id of a polygon containing the point, if any.
    pub fn containing(&self, lon_lat: [f64; 2]) -> Option<u32> {
        use geo::Contains;
        let p = geo::Point::new(lon_lat[0], lon_lat[1]);
        self.tree
            .locate_all_at_point(&lon_lat)
            .map(|g| g.data)
            .filter(|i| self.polygons[*i as usize].contains(&p))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projection_round_trips() {
        let pr = LocalProjection::new(7.42, 43.73);
        let p = [7.43, 43.74];
        let back = pr.unproject(pr.project(p));
        assert!((back[0] - p[0]).abs() < 1e-12 && (back[1] - p[1]).abs() < 1e-12);
        // 0.01 degree of latitude is about 1,112 m.
        assert!((pr.project(p)[1] - 1111.95).abs() < 0.1);
    }

    #[test]
    fn polygon_index_contains() {
        use geo::{MultiPolygon, polygon};
        let a = MultiPolygon::new(vec![
            polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 1.0)],
        ]);
        let b = MultiPolygon::new(vec![
            polygon![(x: 1.0, y: 0.0), (x: 2.0, y: 0.0), (x: 1.0, y: 1.0)],
        ]);
        let idx = PolygonIndex::new(vec![a, b]);
        assert_eq!(idx.containing([0.5, 0.5]), Some(0));
        assert_eq!(idx.containing([1.2, 0.1]), Some(1));
        assert_eq!(idx.containing([1.9, 0.9]), None);
        assert_eq!(idx.containing([5.0, 5.0]), None);
    }

    #[test]
    fn point_index_queries() {
        let pts = [[7.42, 43.73], [7.43, 43.73], [7.44, 43.74]];
        let idx = PointIndex::new(LocalProjection::around(&pts), &pts);
        let near = idx.nearest_k([7.4301, 43.7301], 2);
        assert_eq!(near[0].0, 1);
        assert_eq!(near[1].0, 0);
        let w = idx.within([7.42, 43.73], 700.0);
        assert_eq!(w.len(), 1);
        assert_eq!(idx.within([7.42, 43.73], 900.0).len(), 2);
    }
}
