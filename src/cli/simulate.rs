//! `ems simulate`: a year of calls with busy units, transport and handover, with confidence
//! intervals; or two plans compared on the same calls.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use super::args::{
    LogArgs, LonLat, MedianP90, Percents, StationAmbulances, call_rate, days, non_negative,
    positive,
};
use super::{Format, load_scenario, print_json, write_file};
use ems::dispatch::policy::{Caps, ComplianceTable, PolicyKind};
use ems::model::{self, Scenario};
use ems::optimize::change::{self, Change};
use ems::report;
use ems::simulate::demand::{self, LogDemand};
use ems::simulate::des::Dist;
use ems::simulate::scenario::{self as sim, PolicyOptions, SimOptions};

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
    /// Generate calls by zone and hour of week as fitted to this incident log (its weekly
    /// volume, zone shares smoothed toward the residents', its hour-of-week profile) instead
    /// of residents × --calls-per-1000 by hour of day; read with --columns etc. `ems demand`
    /// prints the fit and its backtest.
    #[arg(long, value_name = "LOG", conflicts_with_all = ["calls", "calls_per_1000"])]
    demand_from: Option<PathBuf>,
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
    /// Move-up policy: static (units go home), table (a compliance table, --table), dmexclp
    /// (dynamic MEXCLP for the return post and the dispatched unit) or dmexclp-return (the
    /// return post only; the nearest unit is dispatched).
    #[arg(long, default_value = "static")]
    policy: PolicyKind,
    /// Compare two policies on the same calls, e.g. `static,dmexclp`: each figure for both and
    /// the paired difference B - A with its confidence interval.
    #[arg(long, value_name = "A,B", conflicts_with_all = ["compare", "detention_sweep"])]
    compare_policies: Option<String>,
    /// The compliance table for the table policy (JSON from `ems optimize --model
    /// compliance-table --format json`).
    #[arg(long)]
    table: Option<PathBuf>,
    /// Relocations one unit may make in any 60 minutes (at least 1).
    #[arg(long, default_value_t = 2, allow_negative_numbers = true, value_parser = relocation_cap)]
    max_relocations_per_hour: u32,
    /// The longest relocation drive, minutes.
    #[arg(long, default_value_t = 15.0, value_parser = positive, allow_negative_numbers = true)]
    max_relocation_min: f64,
    /// Busy fraction for dynamic MEXCLP [default: the running share of time units were busy].
    #[arg(long, value_parser = busy_fraction, allow_negative_numbers = true)]
    busy: Option<f64>,
    /// Hospitals release an ambulance this many minutes after it arrives, handover done or not
    /// (e.g. 45, the NHS rule) [default: the scenario's `[simulation]` value, else never].
    #[arg(long, value_parser = positive, allow_negative_numbers = true)]
    release_after_min: Option<f64>,
    /// Simulate at each detention level (percent of hospital arrivals detained), e.g.
    /// `0,2.5,5,10`, and print what each point of detention costs in response.
    #[arg(long, value_name = "PCTS", conflicts_with = "compare")]
    detention_sweep: Option<Percents>,
    /// In the sweep, a detained handover lasts the detention threshold plus a log-normal with
    /// this median and 90th percentile, minutes.
    #[arg(long, default_value = "20,60", value_name = "MEDIAN,P90")]
    detained_excess_min: MedianP90,
}

fn relocation_cap(s: &str) -> Result<u32, String> {
    let v: i64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a whole number"))?;
    if (1..=1000).contains(&v) {
        Ok(v as u32)
    } else {
        Err(format!(
            "{v}: a unit must be allowed at least 1 relocation per hour (and at most 1000)"
        ))
    }
}

fn busy_fraction(s: &str) -> Result<f64, String> {
    let v = non_negative(s)?;
    if v < 1.0 {
        Ok(v)
    } else {
        Err(format!("{v}: a busy fraction is below 1"))
    }
}

impl SimulateArgs {
    /// The demand fitted to `--demand-from`, with the scenario's zones.
    fn fitted(&self, sc: &Scenario) -> Result<Option<LogDemand>> {
        let Some(p) = &self.demand_from else {
            return Ok(None);
        };
        let log = model::read_log(p, &self.log.options(sc.timezone, "the scenario", false))?;
        let d = demand::from_log(Some(sc), &log, &p.display().to_string(), 0.25)?;
        Ok(Some(d))
    }

    /// The scenario's simulation settings with the command line's overrides and the fitted
    /// demand.
    fn options(&self, sc: &Scenario, fitted: &Option<LogDemand>) -> SimOptions {
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
            release_after_min: self.release_after_min.or(base.release_after_min),
            keep_incidents: self.export_incidents.is_some(),
            fitted_demand: fitted.clone(),
            ..base
        }
    }

    /// The move-up policy `kind` with the command line's caps and table.
    fn policy(&self, kind: PolicyKind) -> Result<PolicyOptions> {
        let table = match (&self.table, kind) {
            (Some(p), PolicyKind::Table) => {
                Some((p.display().to_string(), ComplianceTable::read(p)?))
            }
            (None, PolicyKind::Table) => anyhow::bail!(
                "--policy table needs --table FILE (a compliance table from `ems optimize \
                 --model compliance-table --format json > FILE`)"
            ),
            _ => None,
        };
        Ok(PolicyOptions {
            kind,
            table,
            caps: Caps {
                per_unit_hour: self.max_relocations_per_hour,
                max_relocation_s: self.max_relocation_min * 60.0,
            },
            busy: self.busy,
        })
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
        let fitted = a.fitted(&sc)?;
        let o = SimOptions {
            policy: a.policy(a.policy)?,
            ..a.options(&sc, &fitted)
        };
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

/// `--compare-policies A,B`.
fn compare_policies(a: &SimulateArgs, spec: &str) -> Result<()> {
    let names: Vec<&str> = spec.split(',').map(str::trim).collect();
    let [na, nb] = names.as_slice() else {
        anyhow::bail!("--compare-policies `{spec}`: give two policies, e.g. static,dmexclp");
    };
    let kinds: Vec<PolicyKind> = [na, nb]
        .iter()
        .map(|n| {
            n.parse::<PolicyKind>()
                .map_err(|e| anyhow::anyhow!("--compare-policies: {e}"))
        })
        .collect::<Result<_>>()?;
    let (sc, tm, trace) = setup(a)?;
    let fitted = a.fitted(&sc)?;
    let mut outs = Vec::new();
    for k in &kinds {
        let o = SimOptions {
            policy: a.policy(*k)?,
            keep_incidents: false,
            ..a.options(&sc, &fitted)
        };
        let prepared = sim::prepare(&sc, &tm, &o, trace.as_ref())?;
        outs.push(sim::simulate(&sc, &prepared, &o)?);
    }
    let c = sim::compare(&outs[0], &outs[1]);
    match a.format {
        Format::Json => print_json(&c),
        Format::Text => {
            print!("{}", report::simulate::compare_text(&c, na, nb));
            Ok(())
        }
    }
}

/// The scenario with the command line's changes, its travel model and the replayed calls.
fn setup(
    a: &SimulateArgs,
) -> Result<(
    Scenario,
    ems::network::TravelModel,
    Option<model::IncidentLog>,
)> {
    let base = load_scenario(a.scenario.as_deref(), false)?;
    let sc = change::apply(&base, &a.changes(), "ems simulate --add-station")?;
    let tm = sc.travel_model()?;
    let sc = super::on_map(sc, &tm);
    let trace = match &a.calls {
        Some(p) => Some(model::read_log(
            p,
            &a.log.options(sc.timezone, "the scenario", false),
        )?),
        None => None,
    };
    Ok((sc, tm, trace))
}

pub fn run(a: SimulateArgs) -> Result<()> {
    if let [pa, pb] = a.compare.as_slice() {
        return compare(&a, pa, pb);
    }
    if let Some(spec) = &a.compare_policies {
        return compare_policies(&a, spec);
    }
    if let Some(levels) = &a.detention_sweep {
        let (sc, tm, trace) = setup(&a)?;
        let fitted = a.fitted(&sc)?;
        let o = SimOptions {
            policy: a.policy(a.policy)?,
            keep_incidents: false,
            ..a.options(&sc, &fitted)
        };
        let mut prepared = sim::prepare(&sc, &tm, &o, trace.as_ref())?;
        let MedianP90(median, p90) = a.detained_excess_min;
        let sweep = sim::detention_sweep(
            &sc,
            &mut prepared,
            &o,
            &levels.0,
            Dist::LogNormal { median, p90 },
        )?;
        return match a.format {
            Format::Json => print_json(&sweep),
            Format::Text => {
                print!("{}", report::simulate::sweep_text(&sweep));
                Ok(())
            }
        };
    }
    let (sc, tm, trace) = setup(&a)?;
    let fitted = a.fitted(&sc)?;
    let o = SimOptions {
        policy: a.policy(a.policy)?,
        ..a.options(&sc, &fitted)
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
