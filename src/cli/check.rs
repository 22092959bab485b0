//! `ems check`: the annual standards check of a scenario and its incident log.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::args::Delays;
use super::{Format, load_scenario, print_json, write_and_tell};
use ems::model;
use ems::report;
use ems::standards::{self, Targets};

/// Annual standards check: service radius, ambulances per population, detention rate and
/// response time against a target preset, from the scenario and its incident log.
#[derive(Args)]
pub struct CheckArgs {
    /// Scenario TOML [default: the embedded demo].
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Incident log CSV [default: the one the scenario names, if any].
    #[arg(long)]
    incidents: Option<PathBuf>,
    /// Target preset (shanghai-2020, china-2020-national) or a targets TOML file.
    #[arg(long, default_value = standards::targets::DEFAULT_PRESET)]
    targets: String,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Also write a self-contained HTML report with a map and histograms.
    #[arg(long)]
    html: Option<PathBuf>,
    /// Skip unparseable incident rows (they are counted and listed in the report).
    #[arg(long)]
    skip_invalid: bool,
    #[command(flatten)]
    delays: Delays,
}

pub fn run(a: CheckArgs) -> Result<()> {
    let sc = load_scenario(a.scenario.as_deref(), a.skip_invalid)?;
    let targets = Targets::load(&a.targets)?;
    let log = match &a.incidents {
        Some(p) => model::read_incidents(
            p,
            &model::ParseOptions {
                timezone: sc.timezone,
                skip_invalid: a.skip_invalid,
            },
        )?,
        None => sc.incidents.clone(),
    };
    let tm = sc.travel_model()?;
    let opts = a.delays.check_options();
    let r = standards::check(&sc, &tm, &log, &targets, &opts)?;
    match a.format {
        Format::Json => print_json(&report::check::json(&r))?,
        Format::Text => print!("{}", report::check::text(&r)),
    }
    if let Some(p) = &a.html {
        let nodes = standards::node_response_minutes(&sc, &tm, &opts);
        write_and_tell(p, report::html::page(&r, &sc, &tm.network, &nodes)?)?;
    }
    Ok(())
}
