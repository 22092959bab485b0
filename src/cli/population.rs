//! `ems population`: residents shared over building footprints, as demand zones.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::args::positive;
use super::{load_map, write_file};
use ems::model;

/// Resident population from building footprints (area x levels), scaled to a total.
#[derive(Args)]
pub struct PopulationArgs {
    /// Map: an extract or a cache [default: the embedded demo map].
    #[arg(long)]
    map: Option<PathBuf>,
    /// Distribute over building footprints (the only method so far).
    #[arg(long, required = true)]
    from_buildings: bool,
    /// Total resident population to distribute.
    #[arg(long, allow_hyphen_values = true)]
    total: f64,
    /// Demand zones (GeoJSON polygons) to aggregate into; otherwise a square grid.
    #[arg(long)]
    zones: Option<PathBuf>,
    /// Grid cell size in metres when no zones are given.
    #[arg(long, default_value_t = 500.0, value_parser = positive, allow_negative_numbers = true)]
    cell: f64,
    /// Levels assumed for buildings without `building:levels`.
    #[arg(long, default_value_t = model::population::DEFAULT_LEVELS, value_parser = positive, allow_negative_numbers = true)]
    default_levels: f64,
    /// Write the demand zones GeoJSON here (otherwise to standard output).
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(a: PopulationArgs) -> Result<()> {
    let net = load_map(a.map.as_deref())?;
    let opts = model::population::Options {
        total: a.total,
        default_levels: a.default_levels,
    };
    let zones = match &a.zones {
        Some(z) => {
            let zs = model::read_demand_zones(z)?;
            model::population::into_zones(&net.buildings, &zs, &opts)?
        }
        None => model::population::into_grid(&net.buildings, a.cell, &opts)?,
    };
    let text = model::demand_zones_geojson(&zones);
    match &a.out {
        Some(p) => {
            write_file(p, text)?;
            eprintln!(
                "wrote {} zones, {:.0} residents, to {}",
                zones.len(),
                a.total,
                p.display()
            );
        }
        None => println!("{text}"),
    }
    Ok(())
}
