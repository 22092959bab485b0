//! Chinese map coordinates: GCJ-02 (国测局, used by AMap/高德 and Tencent/腾讯) and BD-09 (Baidu/百度)
//! to and from WGS 84.
//!
//! The forward transforms (WGS 84 → GCJ-02 → BD-09) are the published obfuscation formulas, taken
//! from the `coordtransform` crate. The inverse has no closed form: `coordtransform`'s own
//! `gcj02_to_wgs84` is a one-step approximation with errors of a metre or more, so this module
//! inverts by fixed-point iteration on the forward transform (`w ← w − (f(w) − g)`), which
//! contracts because the offset changes by under 10⁻⁵ per degree; eight iterations bring the
//! round trip under 10⁻⁹ degrees (0.1 mm). Outside China's bounding box the offset is zero, as in
//! every published implementation, so a WGS 84 point abroad comes back unchanged.
//!
//! Complexity: O(1) per point (at most [`MAX_ITERATIONS`] forward evaluations).
//! This module must not guess a log's system: [`Crs`] is given by the mapping or `--crs`.

use serde::{Deserialize, Serialize};

/// Iterations of the inverse at the most.
pub const MAX_ITERATIONS: usize = 30;

/// A geographic coordinate system of an incident log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    /// WGS 84 (GPS, OpenStreetMap).
    #[default]
    Wgs84,
    /// GCJ-02, the "Mars" system of AMap and Tencent maps.
    Gcj02,
    /// BD-09, Baidu's system (GCJ-02 with a further offset).
    Bd09,
}

impl Crs {
    pub fn as_str(self) -> &'static str {
        match self {
            Crs::Wgs84 => "wgs84",
            Crs::Gcj02 => "gcj02",
            Crs::Bd09 => "bd09",
        }
    }

    /// The name people know it by: `WGS 84`, `GCJ-02`, `BD-09`.
    pub fn label(self) -> &'static str {
        match self {
            Crs::Wgs84 => "WGS 84",
            Crs::Gcj02 => "GCJ-02",
            Crs::Bd09 => "BD-09",
        }
    }

    /// This system's point as WGS 84 `[lon, lat]`.
    pub fn to_wgs84(self, lon_lat: [f64; 2]) -> [f64; 2] {
        match self {
            Crs::Wgs84 => lon_lat,
            Crs::Gcj02 => gcj02_to_wgs84(lon_lat),
            Crs::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(lon_lat)),
        }
    }

    /// A WGS 84 point in this system.
    pub fn from_wgs84(self, lon_lat: [f64; 2]) -> [f64; 2] {
        match self {
            Crs::Wgs84 => lon_lat,
            Crs::Gcj02 => wgs84_to_gcj02(lon_lat),
            Crs::Bd09 => gcj02_to_bd09(wgs84_to_gcj02(lon_lat)),
        }
    }
}

impl std::fmt::Display for Crs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ```
/// use ems::spatial::china::Crs;
/// assert_eq!("amap".parse::<Crs>(), Ok(Crs::Gcj02));
/// assert_eq!("BD09".parse::<Crs>(), Ok(Crs::Bd09));
/// assert_eq!("4326".parse::<Crs>(), Ok(Crs::Wgs84));
/// assert!("utm".parse::<Crs>().is_err());
/// ```
impl std::str::FromStr for Crs {
    type Err = String;
    fn from_str(s: &str) -> Result<Crs, String> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_', ' '], "")
            .as_str()
        {
            "wgs84" | "epsg4326" | "4326" => Ok(Crs::Wgs84),
            "gcj02" | "gcj" | "mars" | "amap" | "tencent" => Ok(Crs::Gcj02),
            "bd09" | "bd09ll" | "baidu" => Ok(Crs::Bd09),
            _ => Err(format!(
                "unknown coordinate system `{s}`: expected wgs84, gcj02 or bd09"
            )),
        }
    }
}

/// WGS 84 → GCJ-02 (the offset Chinese maps such as AMap and Tencent use; a few hundred
/// metres in mainland China, none outside it). `O(1)`.
///
/// ```
/// use ems::spatial::china::{gcj02_to_wgs84, wgs84_to_gcj02};
/// // The reference pair of the coordtransform libraries (Beijing, Tiananmen).
/// let g = wgs84_to_gcj02([116.404, 39.915]);
/// assert!((g[0] - 116.41024449916938).abs() < 1e-9 && (g[1] - 39.91640428150164).abs() < 1e-9);
/// // The inverse is exact to 1e-9 degrees.
/// let w = gcj02_to_wgs84(g);
/// assert!((w[0] - 116.404).abs() < 1e-9 && (w[1] - 39.915).abs() < 1e-9);
/// // Outside China nothing moves (Monaco).
/// assert_eq!(wgs84_to_gcj02([7.42, 43.73]), [7.42, 43.73]);
/// ```
pub fn wgs84_to_gcj02([lon, lat]: [f64; 2]) -> [f64; 2] {
    let (x, y) = coordtransform::wgs84_to_gcj02(lon, lat);
    [x, y]
}

/// GCJ-02 → BD-09 (Baidu's further offset). `O(1)`.
///
/// ```
/// use ems::spatial::china::{bd09_to_gcj02, gcj02_to_bd09};
/// let g = [121.5, 31.3]; // Yangpu, Shanghai
/// let b = gcj02_to_bd09(g);
/// assert!((b[0] - g[0]).abs() > 1e-3, "BD-09 lies some 700 m off");
/// let back = bd09_to_gcj02(b);
/// assert!((back[0] - g[0]).abs() < 1e-9 && (back[1] - g[1]).abs() < 1e-9);
/// ```
pub fn gcj02_to_bd09([lon, lat]: [f64; 2]) -> [f64; 2] {
    let (x, y) = coordtransform::gcj02_to_bd09(lon, lat);
    [x, y]
}

/// GCJ-02 → WGS 84, exact to 10⁻⁹ degrees (the inverse of [`wgs84_to_gcj02`]).
pub fn gcj02_to_wgs84(g: [f64; 2]) -> [f64; 2] {
    invert(g, wgs84_to_gcj02, |p| {
        let (x, y) = coordtransform::gcj02_to_wgs84(p[0], p[1]);
        [x, y]
    })
}

/// BD-09 → GCJ-02, exact to 10⁻⁹ degrees (the inverse of [`gcj02_to_bd09`]).
pub fn bd09_to_gcj02(b: [f64; 2]) -> [f64; 2] {
    invert(b, gcj02_to_bd09, |p| {
        let (x, y) = coordtransform::bd09_to_gcj02(p[0], p[1]);
        [x, y]
    })
}

/// Solves `forward(w) = target` from the approximate inverse `guess(target)`.
fn invert(
    target: [f64; 2],
    forward: impl Fn([f64; 2]) -> [f64; 2],
    guess: impl Fn([f64; 2]) -> [f64; 2],
) -> [f64; 2] {
    let mut w = guess(target);
    for _ in 0..MAX_ITERATIONS {
        let f = forward(w);
        let d = [f[0] - target[0], f[1] - target[1]];
        w = [w[0] - d[0], w[1] - d[1]];
        if d[0].abs() < 1e-12 && d[1].abs() < 1e-12 {
            break;
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_is_exact() {
        for p in [[116.404, 39.915], [121.4737, 31.2304], [113.2644, 23.1291]] {
            for crs in [Crs::Gcj02, Crs::Bd09] {
                let back = crs.to_wgs84(crs.from_wgs84(p));
                assert!((back[0] - p[0]).abs() < 1e-9 && (back[1] - p[1]).abs() < 1e-9);
            }
        }
        // Abroad, nothing moves.
        assert_eq!(Crs::Gcj02.to_wgs84([7.42, 43.73]), [7.42, 43.73]);
        assert_eq!("GCJ-02".parse::<Crs>(), Ok(Crs::Gcj02));
        assert!("utm".parse::<Crs>().is_err());
    }
}
