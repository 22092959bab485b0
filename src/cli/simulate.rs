//! `ems simulate`: a year of calls with busy units, transport and handover, with confidence
//! intervals; or two plans compared on the same calls.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::args::{LogArgs, LonLat, StationAmbulances, call_rate, days, non_negative, positive};
use super::{Format, load_scenario, print_json, write_file};
use ems::model::{self, Scenario};
use ems::optimize::change::{self, Change};
use ems::report;
use ems::simulate::scenario::{self as sim, SimOptions};

/// Simulate a year of calls with busy units, transport and hospital handover (discrete
/// events, the live API's dispatch rule), with 95 % confidence intervals over replications.
#[derive(Args)]
pub struct SimulateArgs {
    /// Scenario TOML [default: the embedded demo].
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Replay the calls of this incident CSV instead of generating Poisson calls from the
    /// demand zones (our own format, or another system's with --columns).
    #[arg(long)]
    calls: Option<PathBuf>,
    #[command(flatten)]
    log: LogArgs,
    /// Compare two scenario files on the same calls: each figure for both and the paired
    /// difference B - A with its confidence interval.
    #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "scenario")]
    compare: Vec<PathBuf>,
    /// Days to simulate (generated calls).
    #[arg(long, default_value_t = 365.0, value_parser = days, allow_negative_numbers = true)]
    days: f64,
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100_000), allow_negative_numbers = true)]
    replications: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Calls per 1,000 residents per year (generated calls) [default: the scenario's
    /// `[simulation]` value, else 90].
    #[arg(long, allow_negative_numbers = true, value_parser = call_rate)]
    calls_per_1000: Option<f64>,
    /// Multiply every handover time (0.5 halves detention).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_parser = non_negative)]
    detention_scale: f64,
    /// Travel-time factor at the peaks, 07:00-09:59 and 17:00-19:59 local time (1.25:
    /// a quarter slower).
    #[arg(long, default_value_t = 1.0, value_parser = positive, allow_negative_numbers = true)]
    peak_factor: f64,
    /// Set a station's ambulances: STATION=N (repeatable).
    #[arg(long)]
    ambulances: Vec<StationAmbulances>,
    /// Add a station with one ambulance at LON,LAT (repeatable).
    #[arg(long, allow_hyphen_values = true)]
    add_station: Vec<LonLat>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the first replication's incidents as CSV (readable by `ems check`).
    #[arg(long)]
    export_incidents: Option<PathBuf>,
}

impl SimulateArgs {
    /// The scenario's simulation settings with the command line's overrides.
    fn options(&self, sc: &Scenario) -> SimOptions {
        let base = SimOptions::for_scenario(sc);
        let mut hour_factor = [1.0; 24];
        for h in [7, 8, 9, 17, 18, 19] {
            hour_factor[h] = self.peak_factor;
        }
        SimOptions {
            days: self.days,
            replications: self.replications as usize,
            seed: self.seed,
            calls_per_1000: self.calls_per_1000.unwrap_or(base.calls_per_1000),
            handover_scale: self.detention_scale,
            hour_factor,
            ..base
        }
    }

    /// `--ambulances` and `--add-station` as changes to the scenario.
    fn changes(&self) -> Vec<Change> {
        let set = self.ambulances.iter().map(|a| Change::SetAmbulances {
            station: a.station.clone(),
            ambulances: a.ambulances,
        });
        let add = self.add_station.iter().map(|LonLat(p)| Change::AddSite {
            lon_lat: *p,
            ambulances: 1,
        });
        set.chain(add).collect()
    }
}

fn compare(a: &SimulateArgs, pa: &Path, pb: &Path) -> Result<()> {
    let run_one = |p: &Path| -> Result<sim::Outcome> {
        let sc = Scenario::load(p)?;
        let tm = sc.travel_model()?;
        let sc = super::on_map(sc, &tm);
        let o = a.options(&sc);
        let prepared = sim::prepare(&sc, &tm, &o, None)?;
        Ok(sim::simulate(&sc, &prepared, &o)?)
    };
    let c = sim::compare(&run_one(pa)?, &run_one(pb)?);
    match a.format {
        Format::Json => print_json(&c),
        Format::Text => {
            let (na, nb) = (pa.display().to_string(), pb.display().to_string());
            print!("{}", report::simulate::compare_text(&c, &na, &nb));
            Ok(())
        }
    }
}

pub fn run(a: SimulateArgs) -> Result<()> {
    if let [pa, pb] = a.compare.as_slice() {
        return compare(&a, pa, pb);
    }
    let base = load_scenario(a.scenario.as_deref(), false)?;
    let sc = change::apply(&base, &a.changes(), "ems simulate --add-station")?;
    let tm = sc.travel_model()?;
    let sc = super::on_map(sc, &tm);
    let o = a.options(&sc);
    let trace = match &a.calls {
        Some(p) => Some(model::read_log(
            p,
            &a.log.options(sc.timezone, "the scenario", false),
        )?),
        None => None,
    };
    let prepared = sim::prepare(&sc, &tm, &o, trace.as_ref())?;
    let out = sim::simulate(&sc, &prepared, &o)?;
    if let Some(p) = &a.export_incidents {
        write_file(p, model::write_incidents(&out.incidents))?;
        eprintln!("wrote {} ({} incidents)", p.display(), out.incidents.len());
    }
    match a.format {
        Format::Json => print_json(&out.summary),
        Format::Text => {
            print!("{}", report::simulate::text(&out.summary));
            Ok(())
        }
    }
}
