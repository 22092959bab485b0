//! `ems route`: the fastest ambulance route between two points on a map.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;

use super::args::{LonLat, non_negative, positive};
use super::{Format, load_map, print_json};
use ems::network::{SpeedProfile, TravelModel, TravelSettings};
use ems::report;

/// Fastest ambulance route between two points: ETA, distance and optionally the path.
#[derive(Args)]
pub struct RouteArgs {
    /// Map: an extract or a cache [default: the embedded demo map].
    #[arg(long)]
    map: Option<PathBuf>,
    /// Origin as LON,LAT.
    #[arg(long, allow_hyphen_values = true)]
    from: LonLat,
    /// Destination as LON,LAT.
    #[arg(long, allow_hyphen_values = true)]
    to: LonLat,
    /// Print the path as a GeoJSON Feature.
    #[arg(long)]
    geojson: bool,
    /// Use plain car speeds instead of the ambulance profile.
    #[arg(long)]
    car: bool,
    /// Snapping limit in metres.
    #[arg(long, default_value_t = 1000.0, value_parser = positive, allow_negative_numbers = true)]
    snap_limit: f64,
    /// Speed of the off-road leg between each point and its road, km/h (0: free).
    #[arg(long, default_value_t = ems::network::travel::DEFAULT_OFF_ROAD_KMH, value_parser = non_negative, allow_negative_numbers = true)]
    off_road_kmh: f64,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(a: RouteArgs) -> Result<()> {
    let net = load_map(a.map.as_deref())?;
    let profile = if a.car {
        SpeedProfile::car()
    } else {
        SpeedProfile::ambulance()
    };
    let settings = TravelSettings {
        profile,
        traffic: None,
        snap_limit_m: a.snap_limit,
        off_road_kmh: (a.off_road_kmh > 0.0).then_some(a.off_road_kmh),
    };
    let tm = TravelModel::for_map(net, settings)?;
    let sa = tm.snap(a.from.0).context("--from")?;
    let sb = tm.snap(a.to.0).context("--to")?;
    let mut q = tm.query();
    let Some(route) = tm.route(&mut q, &sa, &sb) else {
        let ([x0, y0], [x1, y1]) = (a.from.0, a.to.0);
        bail!(
            "no route from {x0},{y0} to {x1},{y1}: the destination cannot be reached by road from \
             the origin"
        );
    };
    if a.geojson {
        print_json(&report::route_geojson(&tm, &sa, &sb, &route))
    } else if a.format == Format::Json {
        print_json(&report::route_json(&tm, &sa, &sb, &route))
    } else {
        print!("{}", report::route_text(&tm, &sa, &sb, &route));
        Ok(())
    }
}
