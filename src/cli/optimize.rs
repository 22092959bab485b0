//! `ems optimize`: where to add stations, or how to spread ambulances, with a certificate and
//! the standards before and after.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use super::args::{Candidates, Delays, LogArgs, positive, share};
use super::{Format, load_scenario, with_spinner, write_and_tell};
use ems::model::{self, IncidentLog, Scenario};
use ems::network::TravelModel;
use ems::optimize::plan::{self, DemandSource, FleetRequest, Model, PlanRequest, Standard};
use ems::optimize::{SolveOptions, change};
use ems::report;
use ems::standards::{self, CheckReport, Targets};

/// `--model`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum PlanModel {
    Pmedian,
    Mclp,
    Lscp,
    Pcenter,
    Mexclp,
    Backup,
    ComplianceTable,
}

impl From<PlanModel> for Model {
    fn from(m: PlanModel) -> Model {
        match m {
            PlanModel::Pmedian => Model::PMedian,
            PlanModel::Mclp => Model::Mclp,
            PlanModel::Lscp => Model::Lscp,
            PlanModel::Pcenter => Model::PCenter,
            PlanModel::Mexclp | PlanModel::ComplianceTable => Model::Mexclp,
            PlanModel::Backup => Model::Backup,
        }
    }
}

/// `--demand`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum PlanDemand {
    /// The demand zones weighted by residents.
    Zones,
    /// The incident log's locations, one each.
    Incidents,
    /// The demand zones weighted by call shares fitted to the incident log (smoothed toward
    /// residents; `ems demand` shows the fit and its backtest).
    Fitted,
}

/// Where to add stations: the sites that most improve mean response time (p-median) or
/// coverage within a standard (MCLP), with a certified optimality gap and before/after
/// standards.
#[derive(Args)]
pub struct OptimizeArgs {
    /// Scenario TOML [default: the embedded demo].
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// `pmedian` (mean response time), `mclp` (coverage within --within), `lscp` (fewest
    /// new stations putting everyone within --within; --add is ignored), `pcenter`
    /// (smallest worst-case response time); or, to spread ambulances over stations,
    /// `mexclp` (expected coverage with busy ambulances) or `backup` (demand covered twice
    /// within --within, everyone within --secondary); or `compliance-table` (the MEXCLP
    /// posting for each number of free units 1..N, for `ems simulate --policy table` and
    /// `ems serve`).
    #[arg(long, value_enum, default_value = "pmedian")]
    model: PlanModel,
    /// mexclp/backup: ambulances to place [default: ceil(population / 30,000)].
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    fleet: Option<u64>,
    /// mexclp: the busy fraction q in [0, 1) [default: calls/h x mean job time / fleet,
    /// from the incident log].
    #[arg(long)]
    busy: Option<f64>,
    /// mexclp/backup: the most ambulances one site may hold.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), allow_negative_numbers = true)]
    max_per_site: Option<u64>,
    /// backup: the secondary standard everyone must be within.
    #[arg(long, default_value = "15min")]
    secondary: Standard,
    /// backup: the share of demand that must be within --within.
    #[arg(long, default_value_t = 0.95, value_parser = share, allow_negative_numbers = true)]
    alpha: f64,
    /// New stations to add.
    #[arg(long, default_value_t = 1)]
    add: usize,
    /// Coverage standard: a response time (`12min`) or a road distance (`3.5km`).
    #[arg(long, default_value = "12min")]
    within: Standard,
    /// Candidate sites: `grid:500m` (road nodes thinned to a spacing), `stations` (existing
    /// ones only, with --relocate), or a GeoJSON file of points [default: grid:300m; for
    /// mexclp and backup, stations].
    #[arg(long)]
    candidates: Option<Candidates>,
    /// Let existing stations move instead of keeping them open.
    #[arg(long)]
    relocate: bool,
    /// The incident log for `--demand incidents|fitted` and the busy fraction [default: the
    /// scenario's]; another system's export with --columns.
    #[arg(long)]
    incidents: Option<PathBuf>,
    #[command(flatten)]
    log: LogArgs,
    /// Weight by `zones` (residents), `incidents` (historical calls, one point each) or
    /// `fitted` (zones weighted by call shares fitted to the log).
    #[arg(long, value_enum, default_value = "zones")]
    demand: PlanDemand,
    /// Branch-and-bound time limit, seconds.
    #[arg(long, default_value_t = 60.0, value_parser = positive, allow_negative_numbers = true)]
    time_limit: f64,
    /// Ambulances at each new station (for the before/after standards).
    #[arg(long, default_value_t = 1)]
    ambulances_per_site: u32,
    #[command(flatten)]
    delays: Delays,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write the new sites as GeoJSON here.
    #[arg(long)]
    geojson: Option<PathBuf>,
    /// Write a self-contained HTML page with before/after maps and standards.
    #[arg(long)]
    html: Option<PathBuf>,
    /// compliance-table: keep the previous level plus one unit when that loses at most this
    /// share of the optimum's expected coverage (fewer relocations between levels).
    #[arg(long, default_value_t = 0.005, value_parser = share, allow_negative_numbers = true)]
    nesting_tolerance: f64,
    /// compliance-table: also write the table as CSV (level, slot, station) here.
    #[arg(long)]
    csv: Option<PathBuf>,
}

/// A plan made, in every output form, with the scenario after it.
struct Made {
    heading: &'static str,
    summary: Vec<String>,
    geojson: String,
    json: String,
    text: String,
    after_sc: Scenario,
    after: CheckReport,
}

/// Modelled standards of a scenario (no log: the log describes the past, not the plan).
fn modelled(sc: &Scenario, tm: &TravelModel, a: &OptimizeArgs) -> Result<CheckReport> {
    let none = IncidentLog::default();
    let opts = a.delays.check_options(sc, None);
    Ok(standards::check(
        sc,
        tm,
        &none,
        &Targets::default_preset(),
        &opts,
    )?)
}

fn request(a: &OptimizeArgs) -> Result<PlanRequest> {
    let default = if Model::from(a.model).places_ambulances() {
        Candidates::Stations
    } else {
        Candidates::Grid(300.0)
    };
    let (grid_m, candidate_points) = match a.candidates.clone().unwrap_or(default) {
        Candidates::Grid(m) => (Some(m), Vec::new()),
        Candidates::Stations => (None, Vec::new()),
        Candidates::File(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("--candidates {}: cannot read", path.display()))?;
            let name = path.display().to_string();
            (None, model::parse_points(&text, &name)?)
        }
    };
    Ok(PlanRequest {
        model: a.model.into(),
        add: a.add,
        standard: a.within,
        demand: match a.demand {
            PlanDemand::Zones | PlanDemand::Fitted => DemandSource::Zones,
            PlanDemand::Incidents => DemandSource::Incidents,
        },
        candidate_points,
        grid_m,
        relocate: a.relocate,
        call_handling_s: a.delays.call_handling_s,
        turnout_s: a.delays.turnout_s,
        // Set from the scenario once it is loaded.
        hours: ems::network::Hours::default(),
        solve: SolveOptions::seconds(a.time_limit),
        // Set from the log once the scenario is loaded.
        zone_weights: None,
    })
}

/// `--demand fitted`: each zone's share of the calls fitted to the log, scaled to the
/// residents' total so figures keep their units.
fn fitted_weights(sc: &Scenario, a: &OptimizeArgs) -> Result<(String, Vec<(String, f64)>)> {
    let source = match &a.incidents {
        Some(p) => p.display().to_string(),
        None => format!("the incident log of scenario `{}`", sc.name),
    };
    if sc.incidents.incidents.is_empty() {
        anyhow::bail!("--demand fitted needs an incident log: give it with --incidents FILE");
    }
    let d = ems::simulate::demand::from_log(Some(sc), &sc.incidents, &source, 0.25)?;
    let total = sc.population().max(1.0);
    Ok((
        format!(
            "zone call shares fitted to {source} ({} calls, {:.1} weeks; smoothing α = {}), \
             scaled to the residents' total",
            d.calls_used, d.weeks, d.smoothing.alpha
        ),
        d.zones
            .iter()
            .zip(&d.fitted.zone_share)
            .map(|(z, s)| (z.clone(), s * total))
            .collect(),
    ))
}

fn stations(
    sc: &Scenario,
    tm: &TravelModel,
    a: &OptimizeArgs,
    req: &PlanRequest,
    before: &CheckReport,
) -> Result<Made> {
    let (result, ba) = with_spinner(
        "optimising (branch and bound; --time-limit caps it)",
        || {
            ems::optimize::evaluate::plan_before_after(
                sc,
                tm,
                req,
                a.ambulances_per_site,
                &Targets::default_preset(),
                &a.delays.check_options(sc, None),
            )
        },
    )?;
    let (after_sc, after) = (ba.after_scenario, ba.after);
    let within = a.within.to_string();
    Ok(Made {
        heading: "Station plan 站点规划",
        summary: report::optimize::summary(&result),
        geojson: serde_json::to_string_pretty(&report::optimize::sites_geojson(&result))?,
        json: serde_json::to_string_pretty(&report::optimize::json(&result, before, &after))?,
        text: report::optimize::text(&result, before, &after, &within),
        after_sc,
        after,
    })
}

fn fleet(
    sc: &Scenario,
    tm: &TravelModel,
    a: &OptimizeArgs,
    req: &PlanRequest,
    before: &CheckReport,
) -> Result<Made> {
    let fr = FleetRequest {
        ambulances: a.fleet.map(|n| n as usize),
        busy: a.busy,
        max_per_site: a.max_per_site.map(|n| n as usize),
        secondary: Some(a.secondary),
        alpha: a.alpha,
    };
    let result = with_spinner(
        "placing ambulances (branch and bound; --time-limit caps it)",
        || plan::plan_fleet(sc, tm, req, &fr),
    )?;
    let after_sc = change::apply(sc, &result.changes(sc), "ems optimize")?;
    let after = modelled(&after_sc, tm, a)?;
    let (within, secondary) = (a.within.to_string(), a.secondary.to_string());
    Ok(Made {
        heading: "Ambulance placement 车辆配置",
        summary: report::optimize::fleet_summary(&result),
        geojson: serde_json::to_string_pretty(&report::optimize::fleet_geojson(&result))?,
        json: serde_json::to_string_pretty(&report::optimize::json(&result, before, &after))?,
        text: report::optimize::fleet_text(&result, before, &after, &within, &secondary),
        after_sc,
        after,
    })
}

/// `--model compliance-table`.
fn table(sc: &Scenario, tm: &TravelModel, a: &OptimizeArgs, req: &PlanRequest) -> Result<()> {
    let fr = FleetRequest {
        ambulances: a.fleet.map(|n| n as usize),
        busy: a.busy,
        max_per_site: a.max_per_site.map(|n| n as usize),
        secondary: None,
        alpha: a.alpha,
    };
    let t = with_spinner(
        "computing the compliance table (one MEXCLP per level; --time-limit caps each)",
        || plan::compliance_table(sc, tm, req, &fr, a.nesting_tolerance),
    )?;
    if let Some(p) = &a.csv {
        write_and_tell(p, report::optimize::compliance_csv(&t))?;
    }
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&t)?),
        Format::Text => print!("{}", report::optimize::compliance_text(&t)),
    }
    Ok(())
}

pub fn run(a: OptimizeArgs) -> Result<()> {
    let mut req = request(&a)?;
    let mut sc = load_scenario(a.scenario.as_deref(), false)?;
    if let Some(log) = a.log.read(a.incidents.as_deref(), sc.timezone, false)? {
        sc.incidents = log;
    }
    req.hours = a.delays.check_options(&sc, None).hours;
    let tm = sc.travel_model()?;
    let sc = super::on_map(sc, &tm);
    if a.demand == PlanDemand::Fitted {
        req.zone_weights = Some(fitted_weights(&sc, &a)?);
    }
    if a.model == PlanModel::ComplianceTable {
        return table(&sc, &tm, &a, &req);
    }
    let before = modelled(&sc, &tm, &a)?;
    let made = if req.model.places_ambulances() {
        fleet(&sc, &tm, &a, &req, &before)?
    } else {
        stations(&sc, &tm, &a, &req, &before)?
    };
    if let Some(p) = &a.html {
        let opts = a.delays.check_options(&sc, None);
        let nb = standards::node_response_minutes(&sc, &tm, &opts);
        let na = standards::node_response_minutes(&made.after_sc, &tm, &opts);
        let page = report::html::plan_page(
            made.heading,
            &made.summary,
            (&before, &sc, &nb),
            (&made.after, &made.after_sc, &na),
            &tm.network,
        )?;
        write_and_tell(p, page)?;
    }
    if let Some(p) = &a.geojson {
        write_and_tell(p, &made.geojson)?;
    }
    match a.format {
        Format::Json => println!("{}", made.json),
        Format::Text => print!("{}", made.text),
    }
    Ok(())
}
