//! Fast point-in-polygon for one large region (a city boundary of 100,000 vertices tested
//! against millions of raster cells or buildings).
//!
//! This module owns the banded crossing test. It must not know what the region is.
//!
//! # Method
//! The polygon's edges are bucketed into `B` horizontal bands of its bounding box; an edge goes
//! into every band its latitude range overlaps. A point is inside when a ray from it to the east
//! crosses an odd number of edges (even-odd rule, so holes and several polygons work); only the
//! edges of the point's band can cross its latitude, so a query costs the edges of one band,
//! about `E / B` plus the edges that span many bands. Building costs `O(E + B)` memory and time.
//! Points exactly on an edge count as inside or outside arbitrarily.

use geo::MultiPolygon;

/// A region prepared for many containment tests.
#[derive(Debug, Clone)]
pub struct RegionMask {
    y0: f64,
    band_h: f64,
    x_max: f64,
    /// Edges `(x1, y1, x2, y2)` per band.
    bands: Vec<Vec<[f64; 4]>>,
}

impl RegionMask {
    /// Prepares `mp` (rings in `[x, y]` = `[lon, lat]`).
    pub fn new(mp: &MultiPolygon<f64>) -> RegionMask {
        let mut edges = Vec::new();
        let (mut ymin, mut ymax, mut xmax) = (f64::MAX, f64::MIN, f64::MIN);
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for w in ring.0.windows(2) {
                    let (a, b) = (w[0], w[1]);
                    if a.y == b.y {
                        continue;
                    }
                    edges.push([a.x, a.y, b.x, b.y]);
                    ymin = ymin.min(a.y.min(b.y));
                    ymax = ymax.max(a.y.max(b.y));
                    xmax = xmax.max(a.x.max(b.x));
                }
            }
        }
        let n_bands = (edges.len() / 8).clamp(1, 4096);
        let band_h = ((ymax - ymin) / n_bands as f64).max(1e-12);
        let mut bands = vec![Vec::new(); n_bands];
        for e in edges {
            let (lo, hi) = (e[1].min(e[3]), e[1].max(e[3]));
            let b0 = (((lo - ymin) / band_h).floor().max(0.0) as usize).min(n_bands - 1);
            let b1 = (((hi - ymin) / band_h).floor().max(0.0) as usize).min(n_bands - 1);
            for band in &mut bands[b0..=b1] {
                band.push(e);
            }
        }
        RegionMask {
            y0: ymin,
            band_h,
            x_max: xmax,
            bands,
        }
    }

    /// Whether `[x, y]` lies inside.
    pub fn contains(&self, p: [f64; 2]) -> bool {
        let [x, y] = p;
        if !(x.is_finite() && y.is_finite()) || x > self.x_max || y < self.y0 {
            return false;
        }
        let b = ((y - self.y0) / self.band_h).floor() as usize;
        let Some(band) = self.bands.get(b) else {
            return false;
        };
        let mut inside = false;
        for &[x1, y1, x2, y2] in band {
            // Half-open in y, so a vertex is counted once.
            if (y1 > y) != (y2 > y) {
                let xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1);
                if xc > x {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, Point};

    /// The mask equals geo's `Contains` on random points, with holes and two polygons.
    #[test]
    fn mask_equals_geo_contains() {
        let sq =
            |x: f64, y: f64, d: f64| vec![[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]];
        let p1 =
            crate::spatial::polygon::checked_polygon(vec![sq(0.0, 0.0, 10.0), sq(2.0, 2.0, 3.0)])
                .unwrap();
        let mut star: Vec<[f64; 2]> = (0..40)
            .map(|k| {
                let a = k as f64 / 40.0 * std::f64::consts::TAU;
                let r = if k % 2 == 0 { 4.0 } else { 1.5 };
                [20.0 + r * a.cos(), 5.0 + r * a.sin()]
            })
            .collect();
        star.push(star[0]);
        let p2 = crate::spatial::polygon::checked_polygon(vec![star]).unwrap();
        let mp = MultiPolygon::new(vec![p1, p2]);
        let mask = RegionMask::new(&mp);
        let mut s = 12345u64;
        let mut rnd = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s % 1_000_000) as f64 / 1_000_000.0
        };
        for _ in 0..20_000 {
            let p = [rnd() * 30.0 - 2.0, rnd() * 14.0 - 2.0];
            assert_eq!(
                mask.contains(p),
                mp.contains(&Point::new(p[0], p[1])),
                "{p:?}"
            );
        }
    }
}
