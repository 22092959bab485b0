//! `ems demand`: call rates by zone and hour of week fitted to an incident log, with a
//! backtest on the held-back end of the log.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::args::LogArgs;
use super::{Format, print_json, write_and_tell};
use ems::model::{self, Scenario, TimeZoneSpec};
use ems::report;
use ems::simulate::demand;

/// Fit call rates by zone and hour of week to an incident log (smoothed toward residents and
/// the hour of day, the smoothing chosen on the log) and backtest them on its last part: what
/// `ems simulate --demand-from` and `ems optimize --demand fitted` use.
#[derive(Args)]
pub struct DemandArgs {
    /// The incident log (our own format, or another system's with --columns).
    #[arg(long)]
    incidents: PathBuf,
    #[command(flatten)]
    log: LogArgs,
    /// Scenario TOML whose demand zones and residents to use; without it the zones are the
    /// log's own `zone` values (e.g. station areas) with equal prior shares.
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// The share of the log's period (its end) held back for the backtest.
    #[arg(long, default_value_t = 0.25, allow_negative_numbers = true)]
    holdout: f64,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the expected calls per hour by zone and hour of week as CSV.
    #[arg(long, value_name = "RATES.csv")]
    out: Option<PathBuf>,
}

pub fn run(a: DemandArgs) -> Result<()> {
    let sc = match &a.scenario {
        Some(p) => Some(Scenario::load(p)?),
        None => None,
    };
    let (tz, from) = match &sc {
        Some(sc) => (sc.timezone, "the scenario"),
        None => (TimeZoneSpec::default(), "the default (UTC)"),
    };
    let log = model::read_log(&a.incidents, &a.log.options(tz, from, false))?;
    let d = demand::from_log(
        sc.as_ref(),
        &log,
        &a.incidents.display().to_string(),
        a.holdout,
    )?;
    match a.format {
        Format::Json => print_json(&d)?,
        Format::Text => print!("{}", report::demand::text(&d)),
    }
    if let Some(p) = &a.out {
        write_and_tell(p, report::demand::rates_csv(&d)?)?;
    }
    Ok(())
}
