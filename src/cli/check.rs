//! `ems check`: the annual standards check of a scenario and its incident log.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::args::{Delays, LogArgs};
use super::{Format, load_scenario, print_json, write_and_tell};
use ems::model;
use ems::report;
use ems::standards::{self, Targets};

/// Annual standards check: service radius, ambulances per population, detention rate and
/// response time against a target preset, from the scenario and its incident log (or, with
/// --log-only, from a log alone).
#[derive(Args)]
pub struct CheckArgs {
    /// Scenario TOML [default: the embedded demo].
    #[arg(long, conflicts_with = "log_only")]
    scenario: Option<PathBuf>,
    /// Incident log CSV [default: the one the scenario names, if any].
    #[arg(long, required_if_eq("log_only", "true"))]
    incidents: Option<PathBuf>,
    /// Check the log alone, with no scenario (not even the demo): response, handover,
    /// detention, departure and transport; the radius and the ambulances per 30,000 need a
    /// scenario and are listed as not computed.
    #[arg(long)]
    log_only: bool,
    #[command(flatten)]
    log: LogArgs,
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
    let targets = Targets::load(&a.targets)?;
    if a.log_only {
        return log_only(&a, &targets);
    }
    let sc = load_scenario(a.scenario.as_deref(), a.skip_invalid)?;
    let log = a
        .log
        .read(a.incidents.as_deref(), sc.timezone, a.skip_invalid)?
        .unwrap_or_else(|| sc.incidents.clone());
    let tm = sc.travel_model()?;
    let opts = a.delays.check_options(&sc, Some(&log));
    let r = standards::check(&sc, &tm, &log, &targets, &opts)?;
    match a.format {
        Format::Json => print_json(&report::check::json(&r))?,
        Format::Text => print!("{}", report::check::text(&r)),
    }
    if let Some(p) = &a.html {
        let nodes = standards::node_response_minutes(&sc, &tm, &opts);
        let map = report::html::MapInput {
            scenario: &sc,
            network: &tm.network,
            node_minutes: &nodes,
        };
        write_and_tell(
            p,
            report::html::page(&r, Some(map), &targets.handover_thresholds_min)?,
        )?;
    }
    Ok(())
}

/// `--log-only`: the log's own figures, no scenario.
fn log_only(a: &CheckArgs, targets: &Targets) -> Result<()> {
    let Some(path) = &a.incidents else {
        anyhow::bail!("--log-only needs the log: --incidents FILE");
    };
    let log = model::read_log(
        path,
        &a.log.options(
            model::TimeZoneSpec::default(),
            "no zone given: UTC; pass --timezone",
            a.skip_invalid,
        ),
    )?;
    let r = standards::check_log_only(&log, targets)?;
    match a.format {
        Format::Json => print_json(&report::check::json(&r))?,
        Format::Text => print!("{}", report::check::text(&r)),
    }
    if let Some(p) = &a.html {
        write_and_tell(
            p,
            report::html::page(&r, None, &targets.handover_thresholds_min)?,
        )?;
    }
    Ok(())
}
