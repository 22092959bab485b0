//! `ems evaluate`: what-if station additions and closures, ranked.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::args::{Delays, LonLat};
use super::{Format, load_scenario, print_json};
use ems::optimize::evaluate::{self, Change};
use ems::report;
use ems::standards::{self, Targets};

/// What-if: rank station additions and closures by their effect on the standards and on
/// coverage (each change alone, then all together).
#[derive(Args)]
pub struct EvaluateArgs {
    /// Scenario TOML [default: the embedded demo].
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// A new station at LON,LAT (repeatable).
    #[arg(long, allow_hyphen_values = true)]
    add_site: Vec<LonLat>,
    /// Close an existing station by id (repeatable).
    #[arg(long)]
    remove_station: Vec<String>,
    /// Ambulances at each added site.
    #[arg(long, default_value_t = 1)]
    ambulances_per_site: u32,
    /// Target preset or targets TOML file.
    #[arg(long, default_value = standards::targets::DEFAULT_PRESET)]
    targets: String,
    #[command(flatten)]
    delays: Delays,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(a: EvaluateArgs) -> Result<()> {
    let sc = load_scenario(a.scenario.as_deref(), false)?;
    let tm = sc.travel_model()?;
    let sc = super::on_map(sc, &tm);
    let mut changes = Vec::new();
    for LonLat(p) in &a.add_site {
        tm.snap(*p)
            .with_context(|| format!("--add-site {},{}", p[0], p[1]))?;
        changes.push(Change::AddSite {
            lon_lat: *p,
            ambulances: a.ambulances_per_site,
        });
    }
    changes.extend(a.remove_station.into_iter().map(Change::RemoveStation));
    let targets = Targets::load(&a.targets)?;
    let variants = evaluate::evaluate(
        &sc,
        &tm,
        &changes,
        &targets,
        &a.delays.check_options(&sc, None),
    )?;
    match a.format {
        Format::Json => print_json(&variants),
        Format::Text => {
            print!("{}", report::optimize::evaluate_text(&variants));
            Ok(())
        }
    }
}
