//! The `ems` command line.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use ems::model::{self, Scenario};
use ems::network::{self, RoadNetwork, SpeedProfile, TravelModel};
use ems::report;
use ems::standards::{self, Targets};

#[derive(Parser)]
#[command(
    name = "ems",
    version,
    about = "Ambulance coverage and dispatch on an OpenStreetMap road graph"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum PlanModel {
    Pmedian,
    Mclp,
    Lscp,
    Pcenter,
    Mexclp,
    Backup,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum PlanDemand {
    Zones,
    Incidents,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum InstanceFormat {
    OrlibPmed,
    LorenaMclp,
}

#[derive(Subcommand)]
enum Command {
    /// Import an OSM extract (.osm.pbf or .osm XML) into a road-graph cache and print a summary.
    Import {
        /// The extract (PBF or XML), or an existing cache to summarise.
        extract: PathBuf,
        /// Where to write the cache [default: <extract name>.ems in the current directory].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Do not write a cache, only print the summary.
        #[arg(long)]
        no_cache: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Fastest ambulance route between two points: ETA, distance and optionally the path.
    Route {
        /// Map: an extract or a cache [default: the embedded demo map].
        #[arg(long)]
        map: Option<PathBuf>,
        /// Origin as LON,LAT.
        #[arg(long, allow_hyphen_values = true)]
        from: String,
        /// Destination as LON,LAT.
        #[arg(long, allow_hyphen_values = true)]
        to: String,
        /// Print the path as a GeoJSON Feature.
        #[arg(long)]
        geojson: bool,
        /// Use plain car speeds instead of the ambulance profile.
        #[arg(long)]
        car: bool,
        /// Snapping limit in metres.
        #[arg(long, default_value_t = 1000.0)]
        snap_limit: f64,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Resident population from building footprints (area x levels), scaled to a total.
    Population {
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
        #[arg(long, default_value_t = 500.0)]
        cell: f64,
        /// Levels assumed for buildings without `building:levels`.
        #[arg(long, default_value_t = model::population::DEFAULT_LEVELS)]
        default_levels: f64,
        /// Write the demand zones GeoJSON here (otherwise to standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Annual standards check: service radius, ambulances per population, detention rate and
    /// response time against a target preset, from the scenario and its incident log.
    Check {
        /// Scenario TOML [default: the embedded demo].
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Incident log CSV [default: the one the scenario names, if any].
        #[arg(long)]
        incidents: Option<PathBuf>,
        /// Target preset (shanghai-2020, china-2020-national) or a targets TOML file.
        #[arg(long, default_value = ems::standards::targets::DEFAULT_PRESET)]
        targets: String,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Also write a self-contained HTML report with a map and histograms.
        #[arg(long)]
        html: Option<PathBuf>,
        /// Skip unparseable incident rows (they are counted and listed in the report).
        #[arg(long)]
        skip_invalid: bool,
        /// Call handling assumed by the modelled response time, seconds.
        #[arg(long, default_value_t = 60.0)]
        call_handling_s: f64,
        /// Turnout assumed by the modelled response time, seconds.
        #[arg(long, default_value_t = 60.0)]
        turnout_s: f64,
    },
    /// Write a synthetic year of incidents for a scenario (Poisson calls by population, road
    /// travel times, recorded delays; no queueing). The output is labelled synthetic in README.
    SynthIncidents {
        /// Scenario TOML [default: the embedded demo].
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Output CSV.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 2024)]
        seed: u64,
        #[arg(long, default_value_t = 2024)]
        year: i32,
        /// Calls per 1,000 residents per year.
        #[arg(long, default_value_t = 90.0)]
        rate: f64,
        /// Share of calls given one deliberate recording error.
        #[arg(long, default_value_t = 0.002)]
        error_share: f64,
    },
    /// Where to add stations: the sites that most improve mean response time (p-median) or
    /// coverage within a standard (MCLP), with a certified optimality gap and before/after
    /// standards.
    Optimize {
        /// Scenario TOML [default: the embedded demo].
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// `pmedian` (mean response time), `mclp` (coverage within --within), `lscp` (fewest
        /// new stations putting everyone within --within; --add is ignored), `pcenter`
        /// (smallest worst-case response time); or, to spread ambulances over stations,
        /// `mexclp` (expected coverage with busy ambulances) or `backup` (demand covered twice
        /// within --within, everyone within --secondary).
        #[arg(long, value_enum, default_value = "pmedian")]
        model: PlanModel,
        /// mexclp/backup: ambulances to place [default: ceil(population / 30,000)].
        #[arg(long)]
        fleet: Option<usize>,
        /// mexclp: the busy fraction q in [0, 1) [default: calls/h x mean job time / fleet,
        /// from the incident log].
        #[arg(long)]
        busy: Option<f64>,
        /// mexclp/backup: the most ambulances one site may hold.
        #[arg(long)]
        max_per_site: Option<usize>,
        /// backup: the secondary standard everyone must be within.
        #[arg(long, default_value = "15min")]
        secondary: String,
        /// backup: the share of demand that must be within --within.
        #[arg(long, default_value_t = 0.95)]
        alpha: f64,
        /// New stations to add.
        #[arg(long, default_value_t = 1)]
        add: usize,
        /// Coverage standard: a response time (`12min`) or a road distance (`3.5km`).
        #[arg(long, default_value = "12min")]
        within: String,
        /// Candidate sites: `grid:500m` (road nodes thinned to a spacing), `stations` (existing
        /// ones only, with --relocate), or a GeoJSON file of points [default: grid:300m; for
        /// mexclp and backup, stations].
        #[arg(long)]
        candidates: Option<String>,
        /// Let existing stations move instead of keeping them open.
        #[arg(long)]
        relocate: bool,
        /// Weight by `zones` (population) or `incidents` (historical calls).
        #[arg(long, value_enum, default_value = "zones")]
        demand: PlanDemand,
        /// Branch-and-bound time limit, seconds.
        #[arg(long, default_value_t = 60.0)]
        time_limit: f64,
        /// Ambulances at each new station (for the before/after standards).
        #[arg(long, default_value_t = 1)]
        ambulances_per_site: u32,
        #[arg(long, default_value_t = 60.0)]
        call_handling_s: f64,
        #[arg(long, default_value_t = 60.0)]
        turnout_s: f64,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Write the new sites as GeoJSON here.
        #[arg(long)]
        geojson: Option<PathBuf>,
        /// Write a self-contained HTML page with before/after maps and standards.
        #[arg(long)]
        html: Option<PathBuf>,
    },
    /// What-if: rank station additions and closures by their effect on the standards and on
    /// coverage (each change alone, then all together).
    Evaluate {
        /// Scenario TOML [default: the embedded demo].
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// A new station at LON,LAT (repeatable).
        #[arg(long, allow_hyphen_values = true)]
        add_site: Vec<String>,
        /// Close an existing station by id (repeatable).
        #[arg(long)]
        remove_station: Vec<String>,
        /// Ambulances at each added site.
        #[arg(long, default_value_t = 1)]
        ambulances_per_site: u32,
        /// Target preset or targets TOML file.
        #[arg(long, default_value = ems::standards::targets::DEFAULT_PRESET)]
        targets: String,
        #[arg(long, default_value_t = 60.0)]
        call_handling_s: f64,
        #[arg(long, default_value_t = 60.0)]
        turnout_s: f64,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Solve a literature benchmark instance and print JSON: objective, bound, gap, sites, time.
    SolveInstance {
        /// `orlib-pmed` (Beasley's p-median files) or `lorena-mclp` (São José dos Campos MCLP).
        #[arg(long, value_enum)]
        format: InstanceFormat,
        /// The instance file.
        file: PathBuf,
        /// Sites to open (MCLP; p-median files carry their own p, which this overrides).
        #[arg(long)]
        p: Option<usize>,
        /// Coverage radius in the file's units (MCLP).
        #[arg(long)]
        radius: Option<f64>,
        /// Branch-and-bound time limit, seconds.
        #[arg(long, default_value_t = 60.0)]
        time_limit: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Simulate a year of calls with busy units, transport and hospital handover (discrete
    /// events, the live API's dispatch rule), with 95 % confidence intervals over replications.
    Simulate {
        /// Scenario TOML [default: the embedded demo].
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Replay the calls of this incident CSV (the standards check's format) instead of
        /// generating Poisson calls from the demand zones.
        #[arg(long)]
        calls: Option<PathBuf>,
        /// Compare two scenario files on the same calls: each figure for both and the paired
        /// difference B - A with its confidence interval.
        #[arg(long, num_args = 2, value_names = ["A", "B"], conflicts_with = "scenario")]
        compare: Vec<PathBuf>,
        /// Days to simulate (generated calls).
        #[arg(long, default_value_t = 365.0)]
        days: f64,
        #[arg(long, default_value_t = 10)]
        replications: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Calls per 1,000 residents per year (generated calls) [default: the scenario's
        /// `[simulation]` value, else 90].
        #[arg(long, allow_negative_numbers = true)]
        calls_per_1000: Option<f64>,
        /// Multiply every handover time (0.5 halves detention).
        #[arg(long, default_value_t = 1.0, allow_negative_numbers = true)]
        detention_scale: f64,
        /// Travel-time factor at the peaks, 07:00-09:59 and 17:00-19:59 local time (1.25:
        /// a quarter slower).
        #[arg(long, default_value_t = 1.0)]
        peak_factor: f64,
        /// Set a station's ambulances: STATION=N (repeatable).
        #[arg(long)]
        ambulances: Vec<String>,
        /// Add a station with one ambulance at LON,LAT (repeatable).
        #[arg(long, allow_hyphen_values = true)]
        add_station: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Write the first replication's incidents as CSV (readable by `ems check`).
        #[arg(long)]
        export_incidents: Option<PathBuf>,
    },
    /// Serve the live dispatch API: nearest units by road, hospital choice, the unit
    /// lifecycle, and a durable SQLite event log. Without arguments: the embedded demo on
    /// 127.0.0.1:8080 with the demo configuration (public demo tokens).
    Serve {
        /// Scenario TOML [default: the embedded demo].
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// host:port to listen on [default: the config's, 127.0.0.1:8080]; port 0 picks a free one.
        #[arg(long)]
        listen: Option<String>,
        /// The SQLite event log [default: the config's, ems-dispatch.sqlite in the working
        /// directory].
        #[arg(long)]
        db: Option<PathBuf>,
        /// Service configuration TOML (tokens, delays, targets) [default: the demo's].
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run the embedded demo: import the map, load the scenario, route each station to the
    /// nearest hospital, and summarise.
    Demo {
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn parse_lon_lat(s: &str, what: &str) -> Result<[f64; 2]> {
    let (a, b) = s
        .split_once(',')
        .with_context(|| format!("--{what} `{s}`: expected LON,LAT, e.g. 7.42,43.73"))?;
    let lon: f64 = a
        .trim()
        .parse()
        .with_context(|| format!("--{what}: longitude `{a}` is not a number"))?;
    let lat: f64 = b
        .trim()
        .parse()
        .with_context(|| format!("--{what}: latitude `{b}` is not a number"))?;
    Ok([lon, lat])
}

/// Imports with a progress bar on a terminal.
fn import_with_progress(path: &Path) -> Result<RoadNetwork> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let name = path.display().to_string();
    let net = if std::io::stderr().is_terminal() {
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
                .expect("static template")
                .progress_chars("=> "),
        );
        pb.set_message(format!("reading {}", path.display()));
        let r = network::import_reader(pb.wrap_read(file), &name);
        pb.finish_and_clear();
        r?
    } else {
        network::import_reader(file, &name)?
    };
    Ok(net)
}

/// Runs `f` with a spinner and the elapsed time on a terminal (long optimisations).
fn with_spinner<T>(message: &str, f: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return f();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("static template"),
    );
    pb.set_message(message.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    let out = f();
    pb.finish_and_clear();
    out
}

fn load_map(map: Option<&Path>) -> Result<RoadNetwork> {
    match map {
        Some(p) => import_with_progress(p),
        None => Ok(model::demo::map()?),
    }
}

fn load_scenario(path: Option<&Path>, skip_invalid: bool) -> Result<Scenario> {
    Ok(match path {
        Some(p) => Scenario::load_with(p, skip_invalid)?,
        None => model::demo::scenario_with(skip_invalid)?,
    })
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Import {
            extract,
            out,
            no_cache,
            format,
        } => {
            let is_cache = network::file_kind(&extract)? == Some(network::FileKind::Cache);
            let t0 = std::time::Instant::now();
            let net = import_with_progress(&extract)?;
            let secs = t0.elapsed().as_secs_f64();
            let mut cache = None;
            // A cache given as input is summarised, not copied, unless --out asks for a copy.
            if !no_cache && (!is_cache || out.is_some()) {
                let out = out.unwrap_or_else(|| {
                    let stem = extract
                        .file_name()
                        .map(|s| s.to_string_lossy().to_string())
                        .unwrap_or_else(|| "map".into());
                    let stem = stem
                        .trim_end_matches(".pbf")
                        .trim_end_matches(".osm")
                        .to_string();
                    PathBuf::from(format!("{stem}.ems"))
                });
                let bytes = net.save(&out)?;
                cache = Some((out, bytes));
            }
            match format {
                Format::Json => {
                    let mut v = serde_json::to_value(&net.summary)?;
                    v["import_seconds"] = serde_json::json!(secs);
                    if let Some((p, b)) = &cache {
                        v["cache"] =
                            serde_json::json!({"path": p.display().to_string(), "bytes": b});
                    }
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                Format::Text => {
                    print!("{}", report::import_summary_text(&net.summary));
                    println!("  import time     {secs:.2} s");
                    if let Some((p, b)) = &cache {
                        println!(
                            "  cache           {} ({:.1} MB)",
                            p.display(),
                            *b as f64 / 1e6
                        );
                    }
                }
            }
        }
        Command::Route {
            map,
            from,
            to,
            geojson,
            car,
            snap_limit,
            format,
        } => {
            let a = parse_lon_lat(&from, "from")?;
            let b = parse_lon_lat(&to, "to")?;
            let net = load_map(map.as_deref())?;
            let profile = if car {
                SpeedProfile::car()
            } else {
                SpeedProfile::ambulance()
            };
            let tm = TravelModel::for_map(
                net,
                network::TravelSettings {
                    profile,
                    snap_limit_m: snap_limit,
                },
            )?;
            let sa = tm.snap(a).context("--from")?;
            let sb = tm.snap(b).context("--to")?;
            let mut q = tm.query();
            let Some(route) = tm.route(&mut q, &sa, &sb) else {
                bail!(
                    "no route from {from} to {to}: the destination cannot be reached by road from the origin"
                );
            };
            let out = report::route_json(&tm, &sa, &sb, &route);
            if geojson {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report::route_geojson(&tm, &sa, &sb, &route))?
                );
            } else if format == Format::Json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                print!("{}", report::route_text(&tm, &sa, &sb, &route));
            }
        }
        Command::Population {
            map,
            from_buildings: _,
            total,
            zones,
            cell,
            default_levels,
            out,
        } => {
            let net = load_map(map.as_deref())?;
            let opts = model::population::Options {
                total,
                default_levels,
            };
            let zones_fc = match zones {
                Some(z) => {
                    let zs = model::read_demand_zones(&z)?;
                    model::population::into_zones(&net.buildings, &zs, &opts)?
                }
                None => model::population::into_grid(&net.buildings, cell, &opts)?,
            };
            let text = model::demand_zones_geojson(&zones_fc);
            match out {
                Some(p) => {
                    std::fs::write(&p, text)
                        .with_context(|| format!("{}: cannot write", p.display()))?;
                    eprintln!(
                        "wrote {} zones, {:.0} residents, to {}",
                        zones_fc.len(),
                        total,
                        p.display()
                    );
                }
                None => println!("{text}"),
            }
        }
        Command::Check {
            scenario,
            incidents,
            targets,
            format,
            html,
            skip_invalid,
            call_handling_s,
            turnout_s,
        } => {
            let sc = load_scenario(scenario.as_deref(), skip_invalid)?;
            let targets = Targets::load(&targets)?;
            let log = match incidents {
                Some(p) => model::read_incidents(
                    &p,
                    &model::ParseOptions {
                        timezone: sc.timezone,
                        skip_invalid,
                    },
                )?,
                None => sc.incidents.clone(),
            };
            let tm = TravelModel::for_scenario(&sc)?;
            let opts = standards::CheckOptions {
                call_handling_s,
                turnout_s,
            };
            let r = standards::check(&sc, &tm, &log, &targets, &opts)?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report::check::json(&r))?
                ),
                Format::Text => print!("{}", report::check::text(&r)),
            }
            if let Some(p) = html {
                let nodes = standards::node_response_minutes(&sc, &tm, &opts);
                std::fs::write(&p, report::html::page(&r, &sc, &tm.network, &nodes))
                    .with_context(|| format!("{}: cannot write", p.display()))?;
                eprintln!("wrote {}", p.display());
            }
        }
        Command::SynthIncidents {
            scenario,
            out,
            seed,
            year,
            rate,
            error_share,
        } => {
            let sc = load_scenario(scenario.as_deref(), false)?;
            let tm = TravelModel::for_scenario(&sc)?;
            let opts = ems::simulate::synthetic::SynthOptions {
                seed,
                year,
                calls_per_1000: rate,
                error_share,
            };
            let csv = ems::simulate::synthetic::generate(&sc, &tm, &sc.timezone, &opts)?;
            std::fs::write(&out, &csv)
                .with_context(|| format!("{}: cannot write", out.display()))?;
            eprintln!(
                "wrote {} synthetic incidents to {}",
                csv.lines().count() - 1,
                out.display()
            );
        }
        Command::Optimize {
            scenario,
            model,
            fleet,
            busy,
            max_per_site,
            secondary,
            alpha,
            add,
            within,
            candidates,
            relocate,
            demand,
            time_limit,
            ambulances_per_site,
            call_handling_s,
            turnout_s,
            format,
            geojson,
            html,
        } => {
            use ems::optimize::plan;
            if !(time_limit.is_finite() && time_limit > 0.0) {
                bail!("--time-limit must be a positive number of seconds");
            }
            let standard = plan::parse_standard(&within).with_context(|| {
                format!(
                    "--within `{within}`: expected a time such as 12min or a distance such as 3.5km"
                )
            })?;
            let fleet_model = matches!(model, PlanModel::Mexclp | PlanModel::Backup);
            let candidates = candidates
                .unwrap_or_else(|| if fleet_model { "stations" } else { "grid:300m" }.to_string());
            let sc = load_scenario(scenario.as_deref(), false)?;
            let tm = TravelModel::for_scenario(&sc)?;
            let (grid_m, candidate_points) = if let Some(g) = candidates.strip_prefix("grid:") {
                let m = match plan::parse_standard(g) {
                    Some(plan::Standard::Km(km)) => km * 1000.0,
                    _ => bail!(
                        "--candidates `{candidates}`: expected grid:<spacing>, e.g. grid:500m"
                    ),
                };
                (Some(m), Vec::new())
            } else if candidates == "stations" {
                (None, Vec::new())
            } else {
                let path = PathBuf::from(&candidates);
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("--candidates {}: cannot read", path.display()))?;
                (None, model::parse_points(&text, &candidates)?)
            };
            let mut opts = ems::optimize::pmedian::Options::new(1);
            opts.time_limit = std::time::Duration::from_secs_f64(time_limit);
            let req = plan::PlanRequest {
                model: match model {
                    PlanModel::Pmedian => plan::Model::PMedian,
                    PlanModel::Mclp => plan::Model::Mclp,
                    PlanModel::Lscp => plan::Model::Lscp,
                    PlanModel::Pcenter => plan::Model::PCenter,
                    PlanModel::Mexclp => plan::Model::Mexclp,
                    PlanModel::Backup => plan::Model::Backup,
                },
                add,
                standard,
                demand: match demand {
                    PlanDemand::Zones => plan::DemandSource::Zones,
                    PlanDemand::Incidents => plan::DemandSource::Incidents,
                },
                candidate_points,
                grid_m,
                relocate,
                call_handling_s,
                turnout_s,
                options: opts,
            };
            // Before/after standards from the model: the incident log describes the past, not
            // the plan, so both checks run without it.
            let no_log = model::IncidentLog::default();
            let check_opts = standards::CheckOptions {
                call_handling_s,
                turnout_s,
            };
            let targets = Targets::default_preset();
            let before = standards::check(&sc, &tm, &no_log, &targets, &check_opts)?;
            let new_station = |k: usize, lon_lat: [f64; 2], ambulances: u32| model::Station {
                id: format!("new-{}", k + 1),
                name: format!("New site {}", k + 1),
                lon_lat,
                ambulances,
                negative_pressure: None,
                source: Some("ems optimize".into()),
            };
            let mut after_sc = sc.clone();
            let (heading, summary, geo, out_json, out_text, after);
            if fleet_model {
                let secondary_std = plan::parse_standard(&secondary).with_context(|| {
                    format!("--secondary `{secondary}`: expected a time such as 15min or a distance such as 8km")
                })?;
                let fr = plan::FleetRequest {
                    ambulances: fleet,
                    busy,
                    max_per_site,
                    secondary: Some(secondary_std),
                    alpha,
                };
                let result = with_spinner(
                    "placing ambulances (branch and bound; --time-limit caps it)",
                    || plan::plan_fleet(&sc, &tm, &req, &fr),
                )?;
                // Stations left without ambulances close; new sites with ambulances open.
                after_sc.stations.clear();
                for site in &result.sites {
                    if site.after == 0 {
                        continue;
                    }
                    match sc.stations.iter().find(|s| s.id == site.id) {
                        Some(st) => after_sc.stations.push(model::Station {
                            ambulances: site.after as u32,
                            ..st.clone()
                        }),
                        None => {
                            let k = after_sc.stations.len();
                            let mut st = new_station(k, site.lon_lat, site.after as u32);
                            st.id = site.id.clone();
                            after_sc.stations.push(st);
                        }
                    }
                }
                after = standards::check(&after_sc, &tm, &no_log, &targets, &check_opts)?;
                heading = "Ambulance placement 车辆配置";
                summary = report::optimize::fleet_summary(&result);
                geo = report::optimize::fleet_geojson(&result);
                out_json = report::optimize::fleet_json(&result, &before, &after);
                out_text =
                    report::optimize::fleet_text(&result, &before, &after, &within, &secondary);
            } else {
                let result = with_spinner(
                    "optimising (branch and bound; --time-limit caps it)",
                    || plan::plan(&sc, &tm, &req),
                )?;
                after_sc
                    .stations
                    .retain(|s| result.kept_stations.contains(&s.id));
                for (k, site) in result.new_sites.iter().enumerate() {
                    after_sc
                        .stations
                        .push(new_station(k, site.lon_lat, ambulances_per_site));
                }
                after = standards::check(&after_sc, &tm, &no_log, &targets, &check_opts)?;
                heading = "Station plan 站点规划";
                summary = report::optimize::summary(&result);
                geo = report::optimize::sites_geojson(&result);
                out_json = report::optimize::json(&result, &before, &after);
                out_text = report::optimize::text(&result, &before, &after, &within);
            }
            if let Some(p) = &html {
                let nb = standards::node_response_minutes(&sc, &tm, &check_opts);
                let na = standards::node_response_minutes(&after_sc, &tm, &check_opts);
                let page = report::html::plan_page(
                    heading,
                    &summary,
                    (&before, &sc, &nb),
                    (&after, &after_sc, &na),
                    &tm.network,
                );
                std::fs::write(p, page)
                    .with_context(|| format!("{}: cannot write", p.display()))?;
                eprintln!("wrote {}", p.display());
            }
            if let Some(p) = &geojson {
                std::fs::write(p, serde_json::to_string_pretty(&geo)?)
                    .with_context(|| format!("{}: cannot write", p.display()))?;
                eprintln!("wrote {}", p.display());
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&out_json)?),
                Format::Text => print!("{out_text}"),
            }
        }
        Command::Evaluate {
            scenario,
            add_site,
            remove_station,
            ambulances_per_site,
            targets,
            call_handling_s,
            turnout_s,
            format,
        } => {
            use ems::optimize::evaluate::{self, Change};
            let sc = load_scenario(scenario.as_deref(), false)?;
            let tm = TravelModel::for_scenario(&sc)?;
            let mut changes = Vec::new();
            for a in &add_site {
                let p = parse_lon_lat(a, "add-site")?;
                tm.snap(p).with_context(|| format!("--add-site {a}"))?;
                changes.push(Change::AddSite {
                    lon_lat: p,
                    ambulances: ambulances_per_site,
                });
            }
            changes.extend(remove_station.into_iter().map(Change::RemoveStation));
            let targets = Targets::load(&targets)?;
            let opts = standards::CheckOptions {
                call_handling_s,
                turnout_s,
            };
            let variants = evaluate::evaluate(&sc, &tm, &changes, &targets, &opts)?;
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&variants)?),
                Format::Text => print!("{}", report::optimize::evaluate_text(&variants)),
            }
        }
        Command::SolveInstance {
            format,
            file,
            p,
            radius,
            time_limit,
            seed,
        } => {
            if !(time_limit.is_finite() && time_limit > 0.0) {
                bail!("--time-limit must be a positive number of seconds");
            }
            let limit = std::time::Duration::from_secs_f64(time_limit);
            let out = match format {
                InstanceFormat::OrlibPmed => {
                    let inst = ems::optimize::orlib::read_pmed(&file)?;
                    let mut opts = ems::optimize::pmedian::Options::new(p.unwrap_or(inst.p));
                    opts.time_limit = limit;
                    opts.seed = seed;
                    let s = with_spinner("solving p-median", || {
                        ems::optimize::pmedian::solve(&inst.instance, &opts)
                    })?;
                    serde_json::json!({
                        "instance": file.display().to_string(), "model": "p-median",
                        "n": inst.instance.n(), "p": opts.p,
                        "objective": s.objective, "bound": s.bound, "gap_pct": s.gap_pct, "optimal": s.optimal,
                        "sites": s.open.iter().map(|j| j + 1).collect::<Vec<_>>(),
                        "nodes": s.nodes, "seconds": s.seconds,
                    })
                }
                InstanceFormat::LorenaMclp => {
                    let (Some(p), Some(radius)) = (p, radius) else {
                        bail!("lorena-mclp needs --p and --radius");
                    };
                    if !(radius.is_finite() && radius >= 0.0) {
                        bail!("--radius must be a non-negative number");
                    }
                    let inst = ems::optimize::mclp::read_lorena(&file)?;
                    let mut opts = ems::optimize::pmedian::Options::new(p);
                    opts.time_limit = limit;
                    opts.seed = seed;
                    let s = with_spinner("solving MCLP", || {
                        ems::optimize::mclp::solve(&inst.coverage(radius), &opts)
                    })?;
                    serde_json::json!({
                        "instance": file.display().to_string(), "model": "mclp",
                        "n": inst.points.len(), "p": p, "radius": radius,
                        "objective": s.objective, "bound": s.bound, "gap_pct": s.gap_pct, "optimal": s.optimal,
                        "total_demand": s.total_demand,
                        "sites": s.open.iter().map(|j| j + 1).collect::<Vec<_>>(),
                        "nodes": s.nodes, "seconds": s.seconds,
                    })
                }
            };
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        Command::Simulate {
            scenario,
            calls,
            compare,
            days,
            replications,
            seed,
            calls_per_1000,
            detention_scale,
            peak_factor,
            ambulances,
            add_station,
            format,
            export_incidents,
        } => {
            use ems::simulate::scenario as sim;
            let mut hour_factor = [1.0; 24];
            for h in [7, 8, 9, 17, 18, 19] {
                hour_factor[h] = peak_factor;
            }
            let opts_for = |sc: &Scenario| {
                let base = sim::SimOptions::for_scenario(sc);
                sim::SimOptions {
                    days,
                    replications,
                    seed,
                    calls_per_1000: calls_per_1000.unwrap_or(base.calls_per_1000),
                    handover_scale: detention_scale,
                    hour_factor,
                    ..base
                }
            };
            if let [a, b] = compare.as_slice() {
                let run_one = |p: &Path| -> Result<sim::Outcome> {
                    let sc = Scenario::load(p)?;
                    let tm = TravelModel::for_scenario(&sc)?;
                    let o = opts_for(&sc);
                    let prepared = sim::prepare(&sc, &tm, &o, None)?;
                    Ok(sim::simulate(&sc, &prepared, &o)?)
                };
                let (oa, ob) = (run_one(a)?, run_one(b)?);
                let c = sim::compare(&oa, &ob);
                match format {
                    Format::Json => println!("{}", serde_json::to_string_pretty(&c)?),
                    Format::Text => print!(
                        "{}",
                        sim::compare_text(&c, &a.display().to_string(), &b.display().to_string())
                    ),
                }
                return Ok(());
            }
            let mut sc = load_scenario(scenario.as_deref(), false)?;
            for a in &ambulances {
                let (id, n) = a
                    .split_once('=')
                    .with_context(|| format!("--ambulances `{a}`: expected STATION=N"))?;
                let n: u32 = n
                    .trim()
                    .parse()
                    .with_context(|| format!("--ambulances `{a}`: N must be a whole number"))?;
                let st = sc
                    .stations
                    .iter_mut()
                    .find(|s| s.id == id.trim())
                    .with_context(|| format!("--ambulances `{a}`: no station `{id}`"))?;
                st.ambulances = n;
            }
            for (k, a) in add_station.iter().enumerate() {
                let p = parse_lon_lat(a, "add-station")?;
                sc.stations.push(model::Station {
                    id: format!("new-{}", k + 1),
                    name: format!("New station {}", k + 1),
                    lon_lat: p,
                    ambulances: 1,
                    negative_pressure: None,
                    source: Some("ems simulate --add-station".into()),
                });
            }
            let tm = TravelModel::for_scenario(&sc)?;
            let o = opts_for(&sc);
            let trace = match &calls {
                Some(p) => Some(model::read_incidents(
                    p,
                    &model::ParseOptions {
                        timezone: sc.timezone,
                        skip_invalid: false,
                    },
                )?),
                None => None,
            };
            let prepared = sim::prepare(&sc, &tm, &o, trace.as_ref())?;
            let out = sim::simulate(&sc, &prepared, &o)?;
            if let Some(p) = &export_incidents {
                std::fs::write(p, model::write_incidents(&out.incidents))
                    .with_context(|| format!("{}: cannot write", p.display()))?;
                eprintln!("wrote {} ({} incidents)", p.display(), out.incidents.len());
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&out.summary)?),
                Format::Text => print!("{}", sim::text(&out.summary)),
            }
        }
        Command::Serve {
            scenario,
            listen,
            db,
            config,
        } => {
            use ems::api::{self, AppState, Config};
            let mut config = match config {
                Some(p) => Config::load(&p)?,
                None => {
                    eprintln!(
                        "using the demo configuration: its tokens `demo-dispatcher` and \
                         `demo-viewer` are public and for the demo only"
                    );
                    Config::demo()
                }
            };
            if let Some(l) = listen {
                config.listen = l;
            }
            if let Some(d) = db {
                config.db = d;
            }
            let _ = tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .with_max_level(tracing::Level::INFO)
                .try_init();
            let sc = load_scenario(scenario.as_deref(), false)?;
            let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            rt.block_on(async move {
                let state = AppState::open(sc, config.clone())?;
                let listener = tokio::net::TcpListener::bind(&config.listen)
                    .await
                    .with_context(|| format!("cannot listen on {}", config.listen))?;
                let addr = listener.local_addr()?;
                println!(
                    "listening on http://{addr} (event log {})",
                    config.db.display()
                );
                use std::io::Write;
                std::io::stdout().flush()?;
                api::run(listener, state, shutdown_signal()).await?;
                eprintln!("stopped");
                anyhow::Ok(())
            })?;
        }
        Command::Demo { format } => {
            let t0 = std::time::Instant::now();
            let sc = Scenario::demo()?;
            let tm = TravelModel::for_scenario(&sc)?;
            let mut q = tm.query();
            let eds: Vec<(&model::Hospital, network::Snapped)> = sc
                .hospitals
                .iter()
                .filter(|h| h.capabilities.contains(&model::Capability::Emergency))
                .map(|h| {
                    Ok((
                        h,
                        tm.snap(h.lon_lat)
                            .with_context(|| format!("hospital {}", h.id))?,
                    ))
                })
                .collect::<Result<_>>()?;
            let mut routes = Vec::new();
            for st in &sc.stations {
                let from = tm
                    .snap(st.lon_lat)
                    .with_context(|| format!("station {}", st.id))?;
                let best = eds
                    .iter()
                    .filter_map(|(h, to)| tm.route(&mut q, &from, to).map(|r| (*h, *to, r)))
                    .min_by_key(|(_, _, r)| r.eta.time_ms);
                if let Some((hospital, to, route)) = best {
                    routes.push(report::StationRoute {
                        station: st,
                        hospital,
                        from,
                        to,
                        route,
                    });
                }
            }
            let check = standards::check(
                &sc,
                &tm,
                &sc.incidents,
                &Targets::default_preset(),
                &standards::CheckOptions::default(),
            )?;
            let demo = report::demo_report(&sc, &tm, &routes, &check, t0.elapsed().as_secs_f64());
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&demo.json)?),
                Format::Text => print!("{}", demo.text),
            }
        }
    }
    Ok(())
}
