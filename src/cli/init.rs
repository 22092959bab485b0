//! `ems init`: a complete scenario folder for your own city from an OpenStreetMap extract and
//! your GIS files, with every inferred value in `ASSUMPTIONS.md`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};

use super::args::{non_negative, positive};
use super::{with_spinner, write_file};
use ems::model::city::{
    self, BoundarySource, City, CityRequest, DemandInput, RasterValues, Spread,
};
use ems::model::gis::table::CsvOptions;
use ems::model::{self, Scenario, ScenarioFile};
use ems::network;

/// `--boundary FILE | osm:relation/ID | admin:NAME`.
#[derive(Debug, Clone, PartialEq)]
pub struct Boundary(BoundarySource);

impl FromStr for Boundary {
    type Err = String;

    fn from_str(s: &str) -> Result<Boundary, String> {
        if let Some(id) = s.strip_prefix("osm:relation/") {
            return id
                .trim()
                .parse()
                .map(|id| Boundary(BoundarySource::OsmRelation(id)))
                .map_err(|_| format!("`{s}`: expected osm:relation/ID with a numeric id"));
        }
        if let Some(name) = s.strip_prefix("admin:") {
            if name.trim().is_empty() {
                return Err("admin:NAME needs a name, e.g. admin:Monaco".into());
            }
            return Ok(Boundary(BoundarySource::Admin(name.trim().to_string())));
        }
        if s.is_empty() {
            return Err("expected a file, osm:relation/ID or admin:NAME".into());
        }
        Ok(Boundary(BoundarySource::File(PathBuf::from(s))))
    }
}

/// `--csv-columns lon=x,lat=y,id=index,...`.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns(Vec<(String, String)>);

impl FromStr for Columns {
    type Err = String;

    fn from_str(s: &str) -> Result<Columns, String> {
        const FIELDS: [&str; 7] = [
            "lon",
            "lat",
            "id",
            "name",
            "ambulances",
            "capabilities",
            "ed_bays",
        ];
        let mut out = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (f, c) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}`: expected FIELD=COLUMN, e.g. lon=x"))?;
            let f = f.trim();
            if !FIELDS.contains(&f) {
                return Err(format!("`{f}` is not one of {}", FIELDS.join(", ")));
            }
            out.push((f.to_string(), c.trim().to_string()));
        }
        Ok(Columns(out))
    }
}

/// `--raster-density`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum Density {
    #[value(name = "per-km2")]
    PerKm2,
    #[value(name = "per-m2")]
    PerM2,
}

/// `--spread`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum SpreadArg {
    Auto,
    Buildings,
    Roads,
    Uniform,
}

/// Write a scenario folder for your own city from an OpenStreetMap extract: boundary,
/// stations, hospitals and demand zones from your files or from the extract, the road cache,
/// scenario.toml, and ASSUMPTIONS.md listing every inferred value and its source.
#[derive(Args)]
pub struct InitArgs {
    /// The folder to write (created if needed).
    dir: PathBuf,
    /// The OSM extract (PBF or XML) of the district.
    #[arg(long)]
    map: PathBuf,
    /// The scenario's name [default: the folder's name].
    #[arg(long)]
    name: Option<String>,
    /// The region: a polygon file (GeoJSON or Shapefile, zipped or not), osm:relation/ID, or
    /// admin:NAME (an administrative relation in the extract) [default: the extract's bounds,
    /// flagged].
    #[arg(long)]
    boundary: Option<Boundary>,
    /// Stations: GeoJSON, CSV or Shapefile of points [default: emergency=ambulance_station
    /// from the extract].
    #[arg(long)]
    stations: Option<PathBuf>,
    /// Hospitals: GeoJSON, CSV or Shapefile of points [default: amenity=hospital with
    /// emergency=yes from the extract].
    #[arg(long)]
    hospitals: Option<PathBuf>,
    /// Without --stations and without ambulance stations in the extract, use its fire
    /// stations.
    #[arg(long)]
    fire_stations: bool,
    /// Without --hospitals, take every amenity=hospital, not only those with emergency=yes.
    #[arg(long)]
    all_hospitals: bool,
    /// Title lines before a CSV's header row (the JEMSS model files have one).
    #[arg(long, default_value_t = 0)]
    csv_skip_rows: usize,
    /// CSV and attribute column names: lon=COL,lat=COL,id=COL,name=COL,ambulances=COL,
    /// capabilities=COL,ed_bays=COL [default: the usual names, e.g. lon/lng/x].
    #[arg(long)]
    csv_columns: Option<Columns>,
    /// Residents: shared over the extract's buildings (or --spread roads|uniform).
    #[arg(long, value_parser = positive, allow_negative_numbers = true)]
    population: Option<f64>,
    /// How --population is spread: buildings, road length, or evenly [default: buildings
    /// where the extract has them, else roads].
    #[arg(long, value_enum, default_value = "auto")]
    spread: SpreadArg,
    /// A GeoTIFF of residents (counts per cell, or a density with --raster-density), or a
    /// .zip holding one.
    #[arg(long, conflicts_with = "zones")]
    population_raster: Option<PathBuf>,
    /// The raster holds a density, not counts.
    #[arg(long, value_enum, requires = "population_raster")]
    raster_density: Option<Density>,
    /// Census zones (GeoJSON or Shapefile polygons) with a population field.
    #[arg(long, requires = "population_field")]
    zones: Option<PathBuf>,
    /// The zones' population field.
    #[arg(long, requires = "zones")]
    population_field: Option<String>,
    /// Grid cell of generated demand zones, metres.
    #[arg(long, default_value_t = 1000.0, value_parser = positive, allow_negative_numbers = true)]
    cell: f64,
    /// Ambulances at a station whose file (or OSM) does not say.
    #[arg(long, default_value_t = 1)]
    ambulances_per_station: u32,
    /// Speed of the off-road leg between a point and its road, km/h (0: free).
    #[arg(long, value_parser = non_negative, allow_negative_numbers = true)]
    off_road_kmh: Option<f64>,
    /// Snapping limit, metres.
    #[arg(long, value_parser = positive, allow_negative_numbers = true)]
    snap_limit: Option<f64>,
    /// Time zone of incident timestamps without an offset (IANA name or +08:00) [default: UTC,
    /// flagged].
    #[arg(long)]
    timezone: Option<String>,
    /// Overwrite the scenario files if the folder already holds them.
    #[arg(long)]
    force: bool,
}

const FILES: [&str; 7] = [
    "scenario.toml",
    "map.ems",
    "boundary.geojson",
    "stations.geojson",
    "hospitals.geojson",
    "demand.geojson",
    "ASSUMPTIONS.md",
];

impl InitArgs {
    fn request(&self) -> Result<CityRequest> {
        let demand = match (&self.population_raster, &self.zones, self.population) {
            (Some(p), _, total) => DemandInput::Raster {
                path: p.clone(),
                values: match self.raster_density {
                    None => RasterValues::Count,
                    Some(Density::PerKm2) => RasterValues::PerKm2,
                    Some(Density::PerM2) => RasterValues::PerM2,
                },
                total,
            },
            (None, Some(z), _) => DemandInput::Zones {
                path: z.clone(),
                field: self.population_field.clone().unwrap_or_default(),
            },
            (None, None, Some(population)) => DemandInput::Total {
                population,
                spread: match self.spread {
                    SpreadArg::Auto => Spread::Auto,
                    SpreadArg::Buildings => Spread::Buildings,
                    SpreadArg::Roads => Spread::Roads,
                    SpreadArg::Uniform => Spread::Uniform,
                },
            },
            (None, None, None) => bail!(
                "say where the residents are: --population N (shared over the extract's \
                 buildings, or --spread roads|uniform), --population-raster FILE.tif (WorldPop, \
                 GHSL), or --zones FILE --population-field NAME (census zones)"
            ),
        };
        Ok(CityRequest {
            boundary: self
                .boundary
                .clone()
                .map_or(BoundarySource::ExtractBounds, |b| b.0),
            stations: self.stations.clone(),
            hospitals: self.hospitals.clone(),
            fire_stations: self.fire_stations,
            all_hospitals: self.all_hospitals,
            csv: CsvOptions {
                skip_rows: self.csv_skip_rows,
                columns: self.csv_columns.clone().map(|c| c.0).unwrap_or_default(),
            },
            demand,
            cell_m: self.cell,
            default_ambulances: self.ambulances_per_station,
        })
    }
}

/// The scenario TOML for the folder.
fn scenario_toml(a: &InitArgs, name: &str) -> Result<String> {
    let file = ScenarioFile {
        name: name.to_string(),
        map: "map.ems".into(),
        boundary: "boundary.geojson".into(),
        stations: "stations.geojson".into(),
        hospitals: "hospitals.geojson".into(),
        demand: "demand.geojson".into(),
        incidents: None,
        area_km2: None,
        population: None,
        profile: None,
        traffic: None,
        snap_limit_m: a.snap_limit,
        off_road_kmh: a.off_road_kmh,
        timezone: a.timezone.clone(),
        simulation: None,
    };
    let toml = toml::to_string(&file).context("scenario.toml")?;
    Ok(format!(
        "# Written by `ems init`; every inferred value is in ASSUMPTIONS.md.\n{toml}"
    ))
}

/// ASSUMPTIONS.md.
fn assumptions(a: &InitArgs, city: &City, sc: &Scenario, placement: &[String]) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "# Assumptions of this scenario\n");
    let _ = writeln!(
        o,
        "Written by `ems init` from `{}`. Every value below was inferred; correct the files \
         (they are plain GeoJSON and TOML) where you know better, then run `ems check`.\n",
        a.map.display()
    );
    let _ = writeln!(o, "| what | value | source |\n|---|---|---|");
    let esc = |s: &str| s.replace('|', "\\|");
    for x in &city.assumptions {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            esc(&x.what),
            esc(&x.value),
            esc(&x.source)
        );
    }
    let s = &sc.travel;
    let _ = writeln!(
        o,
        "| speeds | {} profile | OSRM car.lua class speeds, 80 % of signed maxspeed, ambulance factors (docs/road-graph.md, Speeds) |",
        s.profile.name
    );
    let _ = writeln!(
        o,
        "| snapping limit | {:.0} m | {} |",
        s.snap_limit_m,
        if a.snap_limit.is_some() {
            "--snap-limit"
        } else {
            "default"
        }
    );
    let _ = writeln!(
        o,
        "| off-road leg | {} | {} |",
        s.off_road_kmh
            .map_or("free".to_string(), |v| format!("{v} km/h")),
        if a.off_road_kmh.is_some() {
            "--off-road-kmh"
        } else {
            "default: walking with equipment"
        }
    );
    let _ = writeln!(
        o,
        "| time zone | {} | {} |",
        a.timezone.as_deref().unwrap_or("UTC"),
        if a.timezone.is_some() {
            "--timezone"
        } else {
            "default: pass --timezone Area/City for your incident logs"
        }
    );
    if !placement.is_empty() {
        let _ = writeln!(o, "\n## Left out of the figures\n");
        for p in placement {
            let _ = writeln!(o, "- {p}");
        }
    }
    o
}

pub fn run(a: InitArgs) -> Result<()> {
    let req = a.request()?;
    std::fs::create_dir_all(&a.dir)
        .with_context(|| format!("{}: cannot create", a.dir.display()))?;
    if !a.force {
        let existing: Vec<&str> = FILES
            .iter()
            .copied()
            .filter(|f| a.dir.join(f).exists())
            .collect();
        if !existing.is_empty() {
            bail!(
                "{} already holds {}: pass --force to overwrite",
                a.dir.display(),
                existing.join(", ")
            );
        }
    }
    let t0 = std::time::Instant::now();
    let (net, areas) = with_spinner("importing the extract", || {
        network::import_with_boundaries(&a.map)
    })?;
    let city = city::build(&net, &areas, &req)?;
    let name = a.name.clone().unwrap_or_else(|| {
        a.dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "my city".into())
    });
    let dir = &a.dir;
    net.save(&dir.join("map.ems"))?;
    write_file(
        &dir.join("boundary.geojson"),
        model::boundary_geojson(&city.region, &city.boundary_name, &city.boundary_source),
    )?;
    write_file(
        &dir.join("stations.geojson"),
        model::stations_geojson(&city.stations),
    )?;
    write_file(
        &dir.join("hospitals.geojson"),
        model::hospitals_geojson(&city.hospitals),
    )?;
    write_file(
        &dir.join("demand.geojson"),
        model::demand_zones_geojson(&city.demand),
    )?;
    write_file(&dir.join("scenario.toml"), scenario_toml(&a, &name)?)?;
    // The folder must load as it stands: read it back like every command will.
    let path = dir.join("scenario.toml");
    let sc = Scenario::load(&path)
        .with_context(|| format!("{}: the written scenario does not load", path.display()))?;
    let tm = sc.travel_model()?;
    // Store the scenario profile's contraction hierarchy with the map, for large matrices.
    tm.save_cache(&dir.join("map.ems"))?;
    let placement = sc.placement(&tm).lines();
    write_file(
        &dir.join("ASSUMPTIONS.md"),
        assumptions(&a, &city, &sc, &placement),
    )?;
    for w in &city.warnings {
        eprintln!("warning: {w}");
    }
    report(&a.dir, &sc, &placement, t0.elapsed().as_secs_f64());
    Ok(())
}

fn report(dir: &Path, sc: &Scenario, placement: &[String], secs: f64) {
    let ambulances: u32 = sc.stations.iter().map(|s| s.ambulances).sum();
    println!(
        "wrote {} in {secs:.1} s: {:.2} km², {} stations with {ambulances} ambulances, {} hospitals, {} demand zones with {:.0} residents",
        dir.display(),
        sc.area_km2(),
        sc.stations.len(),
        sc.hospitals.len(),
        sc.demand.len(),
        sc.population()
    );
    for p in placement {
        eprintln!("warning: {p}");
    }
    let s = dir.join("scenario.toml");
    println!(
        "every inferred value is in {}",
        dir.join("ASSUMPTIONS.md").display()
    );
    println!(
        "next: ems check --scenario {0}; ems optimize --scenario {0} --add 2; ems simulate --scenario {0}",
        s.display()
    );
}
