//! `ems calibrate`: fit a traffic profile (travel-time factors by local hour) to an incident
//! log's observed drives, print the error before and after, and write the profile.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::args::LogArgs;
use super::{Format, load_scenario, print_json, write_and_tell};
use ems::report;
use ems::standards::calibrate::{self, Start};

/// Where each observed drive starts.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StartArg {
    /// The start position the log records (`start_lon`, `start_lat`: the live server's
    /// export), else the station of the log's unit.
    Auto,
    /// The logged start position only (rows without one are left out and counted).
    Logged,
    /// The station of the log's unit (`{station}-{k}` or the station id).
    UnitStation,
    /// The station nearest to the scene by road (logs whose units are not the scenario's;
    /// overstates the factor where another station often responded).
    NearestStation,
}

/// Fit the scenario's traffic profile to the log: the travel-time factor against free flow by
/// local hour, from departed → on scene, with the median error before and after.
#[derive(Args)]
pub struct CalibrateArgs {
    /// Scenario TOML [default: the embedded demo].
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Incident log [default: the one the scenario names].
    #[arg(long)]
    incidents: Option<PathBuf>,
    #[command(flatten)]
    log: LogArgs,
    /// Where drives start.
    #[arg(long, value_enum, default_value = "auto")]
    start: StartArg,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the fitted profile here (a traffic profile TOML; name it in the scenario with
    /// `traffic = "FILE"`).
    #[arg(long, value_name = "PROFILE.toml")]
    out: Option<PathBuf>,
    /// Skip unparseable incident rows (they are counted).
    #[arg(long)]
    skip_invalid: bool,
}

pub fn run(a: CalibrateArgs) -> Result<()> {
    let sc = load_scenario(a.scenario.as_deref(), a.skip_invalid)?;
    let (log, source) = match a
        .log
        .read(a.incidents.as_deref(), sc.timezone, a.skip_invalid)?
    {
        Some(log) => (log, a.incidents.as_ref().map(|p| p.display().to_string())),
        None => (sc.incidents.clone(), None),
    };
    let source = source.unwrap_or_else(|| format!("the log of scenario `{}`", sc.name));
    if log.incidents.is_empty() {
        anyhow::bail!("{source}: no incidents to calibrate on; give a log with --incidents FILE");
    }
    let tm = sc.travel_model()?;
    let start = match a.start {
        StartArg::Auto => Start::Auto,
        StartArg::Logged => Start::Logged,
        StartArg::UnitStation => Start::UnitStation,
        StartArg::NearestStation => Start::NearestStation,
    };
    let c = calibrate::calibrate(&sc, &tm, &log, &source, start)?;
    match a.format {
        Format::Json => print_json(&c)?,
        Format::Text => print!("{}", report::calibrate::text(&c)),
    }
    if let Some(p) = &a.out {
        let head = format!(
            "# Written by `ems calibrate` from {} ({} drives): travel-time factors against free\n\
             # flow by local hour. Name it in the scenario with traffic = \"{}\".\n",
            c.source,
            c.rows_used,
            p.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
        write_and_tell(p, head + &c.profile.to_toml())?;
    }
    Ok(())
}
