//! Resident population from OpenStreetMap building footprints.
//!
//! This module owns the dasymetric estimate used when no census grid is at hand: each building's
//! weight is its footprint area times its number of levels (`building:levels`, or
//! [`DEFAULT_LEVELS`] where untagged), non-residential building types weigh nothing, and a known
//! total population is shared out in proportion to weight. It must not read files; it takes
//! buildings from the road network import and returns [`DemandZone`]s.
//!
//! Non-residential types (weight 0): see [`NON_RESIDENTIAL`]. `building=yes` (untyped) counts as
//! residential, which is how most footprints are mapped.

use geo::{Contains, Coord, LineString, MultiPolygon, Point, Polygon};

use super::DemandZone;
use crate::network::Building;
use crate::spatial::LocalProjection;

/// Levels assumed where `building:levels` is not tagged.
pub const DEFAULT_LEVELS: f64 = 3.0;

/// `building=*` values that house no residents.
pub const NON_RESIDENTIAL: &[&str] = &[
    "commercial",
    "industrial",
    "retail",
    "office",
    "warehouse",
    "supermarket",
    "kiosk",
    "church",
    "chapel",
    "cathedral",
    "mosque",
    "temple",
    "synagogue",
    "religious",
    "shrine",
    "hospital",
    "school",
    "university",
    "college",
    "kindergarten",
    "public",
    "civic",
    "government",
    "fire_station",
    "train_station",
    "transportation",
    "parking",
    "garage",
    "garages",
    "carport",
    "roof",
    "shed",
    "hut",
    "service",
    "construction",
    "ruins",
    "greenhouse",
    "barn",
    "farm_auxiliary",
    "stable",
    "cowshed",
    "sports_hall",
    "stadium",
    "grandstand",
    "pavilion",
    "hotel",
    "toilets",
    "bunker",
    "bridge",
    "tower",
    "water_tower",
    "transformer_tower",
    "storage_tank",
    "silo",
    "military",
    "museum",
    "sports_centre",
];

/// Options for the estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Total residents to share out.
    pub total: f64,
    /// Levels where untagged.
    pub default_levels: f64,
}

/// Why the estimate cannot be made.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PopulationError {
    /// `--total` or `--default-levels` is zero, negative or not a number.
    #[error("`{field}` must be a positive number, got {value}")]
    NotPositive { field: &'static str, value: f64 },
    /// The map has no residential building footprints (inside the zones): nothing to weight by.
    #[error("no residential building footprints{}: the map has {buildings} buildings in all", if *in_zones { " inside the demand zones" } else { "" })]
    NoBuildings { buildings: usize, in_zones: bool },
}

/// A building's weight (m² of floor area, residential only).
pub fn weight(b: &Building, default_levels: f64) -> f64 {
    if NON_RESIDENTIAL.contains(&b.building.as_str()) {
        return 0.0;
    }
    b.area_m2 * b.levels.map(f64::from).unwrap_or(default_levels)
}

fn check(opts: &Options) -> Result<(), PopulationError> {
    for (field, value) in [
        ("total", opts.total),
        ("default_levels", opts.default_levels),
    ] {
        if !(value.is_finite() && value > 0.0) {
            return Err(PopulationError::NotPositive { field, value });
        }
    }
    Ok(())
}

struct Acc {
    w: f64,
    x: f64,
    y: f64,
}

fn finish(mut zones: Vec<(DemandZone, Acc)>, total_w: f64, opts: &Options) -> Vec<DemandZone> {
    zones.retain(|(_, a)| a.w > 0.0);
    zones
        .into_iter()
        .map(|(mut z, a)| {
            z.population = opts.total * a.w / total_w;
            z.lon_lat = [a.x / a.w, a.y / a.w];
            z
        })
        .collect()
}

/// Shares `opts.total` over square grid cells of `cell_m` metres; cells with no residential
/// floor area are left out. Zone ids are `g<col>_<row>`.
pub fn into_grid(
    buildings: &[Building],
    cell_m: f64,
    opts: &Options,
) -> Result<Vec<DemandZone>, PopulationError> {
    check(opts)?;
    if !(cell_m.is_finite() && cell_m > 0.0) {
        return Err(PopulationError::NotPositive {
            field: "cell",
            value: cell_m,
        });
    }
    let proj = LocalProjection::around(buildings.iter().map(|b| &b.lon_lat));
    let mut cells: std::collections::BTreeMap<(i64, i64), Acc> = Default::default();
    let mut total_w = 0.0;
    for b in buildings {
        let w = weight(b, opts.default_levels);
        if w <= 0.0 {
            continue;
        }
        let xy = proj.project(b.lon_lat);
        let key = (
            (xy[0] / cell_m).floor() as i64,
            (xy[1] / cell_m).floor() as i64,
        );
        let a = cells.entry(key).or_insert(Acc {
            w: 0.0,
            x: 0.0,
            y: 0.0,
        });
        a.w += w;
        a.x += w * b.lon_lat[0];
        a.y += w * b.lon_lat[1];
        total_w += w;
    }
    if total_w <= 0.0 {
        return Err(PopulationError::NoBuildings {
            buildings: buildings.len(),
            in_zones: false,
        });
    }
    let zones = cells
        .into_iter()
        .map(|((cx, cy), a)| {
            let corner = |i: i64, j: i64| {
                let p = proj.unproject([(cx + i) as f64 * cell_m, (cy + j) as f64 * cell_m]);
                Coord { x: p[0], y: p[1] }
            };
            let ring = LineString::new(vec![
                corner(0, 0),
                corner(1, 0),
                corner(1, 1),
                corner(0, 1),
                corner(0, 0),
            ]);
            let id = format!("g{cx}_{cy}");
            (
                DemandZone {
                    id: id.clone(),
                    name: id,
                    polygon: Some(MultiPolygon::new(vec![Polygon::new(ring, vec![])])),
                    lon_lat: [0.0, 0.0],
                    population: 0.0,
                },
                a,
            )
        })
        .collect();
    Ok(finish(zones, total_w, opts))
}

/// Shares `opts.total` over given zones by the residential floor area inside each polygon.
/// Zones without a polygon, and buildings outside every zone, get nothing. Each zone's
/// `demand_point` becomes its floor-area-weighted centroid.
pub fn into_zones(
    buildings: &[Building],
    zones: &[DemandZone],
    opts: &Options,
) -> Result<Vec<DemandZone>, PopulationError> {
    check(opts)?;
    let mut acc: Vec<(DemandZone, Acc)> = zones
        .iter()
        .map(|z| {
            (
                z.clone(),
                Acc {
                    w: 0.0,
                    x: 0.0,
                    y: 0.0,
                },
            )
        })
        .collect();
    let mut total_w = 0.0;
    for b in buildings {
        let w = weight(b, opts.default_levels);
        if w <= 0.0 {
            continue;
        }
        let p = Point::new(b.lon_lat[0], b.lon_lat[1]);
        if let Some((_, a)) = acc
            .iter_mut()
            .find(|(z, _)| z.polygon.as_ref().is_some_and(|mp| mp.contains(&p)))
        {
            a.w += w;
            a.x += w * b.lon_lat[0];
            a.y += w * b.lon_lat[1];
            total_w += w;
        }
    }
    if total_w <= 0.0 {
        return Err(PopulationError::NoBuildings {
            buildings: buildings.len(),
            in_zones: true,
        });
    }
    Ok(finish(acc, total_w, opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(lon: f64, lat: f64, area: f64, levels: Option<f32>, kind: &str) -> Building {
        Building {
            lon_lat: [lon, lat],
            area_m2: area,
            levels,
            building: kind.into(),
        }
    }

    #[test]
    fn shares_total_by_floor_area() {
        let bs = [
            b(7.420, 43.730, 100.0, Some(2.0), "yes"),
            b(7.430, 43.730, 100.0, None, "apartments"),
            b(7.430, 43.731, 1000.0, Some(10.0), "office"),
        ];
        let opts = Options {
            total: 500.0,
            default_levels: 3.0,
        };
        let zones = into_grid(&bs, 500.0, &opts).unwrap();
        assert_eq!(zones.len(), 2);
        let total: f64 = zones.iter().map(|z| z.population).sum();
        assert!((total - 500.0).abs() < 1e-9);
        let mut pops: Vec<f64> = zones.iter().map(|z| z.population).collect();
        pops.sort_by(f64::total_cmp);
        assert!((pops[0] - 200.0).abs() < 1e-9 && (pops[1] - 300.0).abs() < 1e-9);
        assert!(matches!(
            into_grid(&bs[2..], 500.0, &opts),
            Err(PopulationError::NoBuildings { .. })
        ));
        assert!(matches!(
            into_grid(
                &bs,
                500.0,
                &Options {
                    total: -1.0,
                    ..opts
                }
            ),
            Err(PopulationError::NotPositive { field: "total", .. })
        ));
    }
}
