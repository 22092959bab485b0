//! The scenario file (TOML) and its reader: every file a scenario names, read and validated
//! into a [`Scenario`], and the travel model a scenario gives.
//!
//! This file owns [`ScenarioFile`], [`Scenario`] and [`Source`]. It must not parse a layer
//! itself (that is `layers.rs`) nor the incident log (that is [`super::incidents`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::layers::{
    parse_boundary, parse_demand_zones, parse_hospitals, parse_stations, read_text,
};
use super::{
    CallMix, DemandZone, Hospital, IncidentLog, ModelError, ParseOptions, Region, Station,
    TimeZoneSpec, demo, parse_incidents,
};
use crate::network::profile::ProfileError;
use crate::network::{RoadNetwork, SpeedProfile, TravelModel, TravelSettings};

/// The scenario file (TOML). Paths are relative to the scenario file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: String,
    /// OSM extract or `ems` cache.
    pub map: PathBuf,
    pub boundary: PathBuf,
    pub stations: PathBuf,
    pub hospitals: PathBuf,
    pub demand: PathBuf,
    pub incidents: Option<PathBuf>,
    /// Overrides the boundary's geodesic area, km².
    pub area_km2: Option<f64>,
    /// Overrides the sum of the demand zones' population.
    pub population: Option<f64>,
    /// Speed profile; defaults to the ambulance profile.
    pub profile: Option<SpeedProfile>,
    /// Traffic profile: a `.toml` file of travel-time factors by road class and local hour
    /// (relative to the scenario), or `free-flow` (the default).
    pub traffic: Option<String>,
    /// Snapping limit, metres (default 1,000).
    pub snap_limit_m: Option<f64>,
    /// Speed of the off-road leg between a point and its road, km/h (default 5, walking; 0:
    /// free).
    pub off_road_kmh: Option<f64>,
    /// Time zone of incident timestamps written without an offset: `UTC` (default), a fixed
    /// offset such as `+08:00`, or an IANA name such as `Asia/Shanghai`.
    pub timezone: Option<String>,
    /// How calls arise, for `ems simulate` (`[simulation]`).
    pub simulation: Option<CallMix>,
}

impl TravelModel {
    /// The travel model of a scenario: its road network (shared, not copied), its speed profile
    /// and its snapping limit. The one way a scenario's model is built.
    pub fn for_scenario(sc: &Scenario) -> Result<TravelModel, ProfileError> {
        TravelModel::for_map(sc.network.clone(), sc.travel.clone())
    }
}

/// A loaded scenario: every file read and validated.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    /// The road network, shared (cloning a scenario does not copy it).
    pub network: Arc<RoadNetwork>,
    pub region: Region,
    pub stations: Vec<Station>,
    pub hospitals: Vec<Hospital>,
    pub demand: Vec<DemandZone>,
    /// The incident log named by the scenario (empty when it names none).
    pub incidents: IncidentLog,
    pub timezone: TimeZoneSpec,
    pub area_km2: Option<f64>,
    pub population: Option<f64>,
    /// The speed profile and the snapping limit.
    pub travel: TravelSettings,
    /// The `[simulation]` table (defaults where absent).
    pub simulation: CallMix,
}

/// Reads every file a scenario names. `read` turns a scenario-relative path into its bytes and
/// the name used in messages; `map` imports the map.
pub trait Source {
    fn text(&self, rel: &Path) -> Result<(String, String), ModelError>;
    fn map(&self, rel: &Path) -> Result<RoadNetwork, ModelError>;
}

struct DirSource(PathBuf);

impl Source for DirSource {
    fn text(&self, rel: &Path) -> Result<(String, String), ModelError> {
        let p = self.0.join(rel);
        Ok((read_text(&p)?, p.display().to_string()))
    }
    fn map(&self, rel: &Path) -> Result<RoadNetwork, ModelError> {
        Ok(crate::network::import_path(&self.0.join(rel))?)
    }
}

impl Scenario {
    /// Loads a scenario TOML file and everything it names.
    pub fn load(path: &Path) -> Result<Scenario, ModelError> {
        Scenario::load_with(path, false)
    }

    /// As [`Scenario::load`], with `skip_invalid` for the incident log.
    pub fn load_with(path: &Path, skip_invalid: bool) -> Result<Scenario, ModelError> {
        let text = read_text(path)?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Scenario::from_toml_with(
            &text,
            &path.display().to_string(),
            &DirSource(dir),
            skip_invalid,
        )
    }

    /// Parses scenario TOML text and loads its files through `source`.
    pub fn from_toml(text: &str, path: &str, source: &dyn Source) -> Result<Scenario, ModelError> {
        Scenario::from_toml_with(text, path, source, false)
    }

    /// As [`Scenario::from_toml`]; `skip_invalid` keeps going past unparseable incident rows
    /// (they are listed in [`IncidentLog::invalid`]).
    pub fn from_toml_with(
        text: &str,
        path: &str,
        source: &dyn Source,
        skip_invalid: bool,
    ) -> Result<Scenario, ModelError> {
        let file: ScenarioFile = toml::from_str(text).map_err(|e| ModelError::Toml {
            path: path.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let bad = |field: &str, v: f64| ModelError::Toml {
            path: path.to_string(),
            message: format!("`{field}` must be a positive number, got {v}"),
        };
        for (field, v) in [
            ("area_km2", file.area_km2),
            ("population", file.population),
            ("snap_limit_m", file.snap_limit_m),
        ] {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                return Err(bad(field, v));
            }
        }
        if let Some(v) = file.off_road_kmh
            && !(v.is_finite() && v >= 0.0)
        {
            return Err(ModelError::Toml {
                path: path.to_string(),
                message: format!("`off_road_kmh` must be 0 (free) or a positive speed, got {v}"),
            });
        }
        let timezone = match &file.timezone {
            None => TimeZoneSpec::default(),
            Some(tz) => TimeZoneSpec::parse(tz).ok_or_else(|| ModelError::Toml {
                path: path.to_string(),
                message: format!("`timezone` = \"{tz}\": expected UTC, an offset such as +08:00, or an IANA name such as Asia/Shanghai"),
            })?,
        };
        let profile = file.profile.clone().unwrap_or_default();
        profile.validate().map_err(|e| ModelError::Toml {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        let traffic = match file.traffic.as_deref() {
            None | Some("free-flow") => None,
            Some(name) if name.ends_with(".toml") => {
                let (t, p) = source.text(Path::new(name))?;
                Some(Arc::new(crate::network::TrafficProfile::parse(&t, &p)?))
            }
            Some(name) => {
                return Err(ModelError::Toml {
                    path: path.to_string(),
                    message: format!(
                        "`traffic` = \"{name}\": unknown traffic profile; give a .toml file \
                         (relative to the scenario) or \"free-flow\""
                    ),
                });
            }
        };
        let (t, p) = source.text(&file.boundary)?;
        let region = parse_boundary(&t, &p)?;
        let (t, p) = source.text(&file.stations)?;
        let stations = parse_stations(&t, &p)?;
        let (t, p) = source.text(&file.hospitals)?;
        let hospitals = parse_hospitals(&t, &p)?;
        let (t, p) = source.text(&file.demand)?;
        let demand = parse_demand_zones(&t, &p)?;
        let incidents = match &file.incidents {
            Some(rel) => {
                let (t, p) = source.text(rel)?;
                parse_incidents(
                    t.as_bytes(),
                    &p,
                    &ParseOptions {
                        timezone,
                        skip_invalid,
                    },
                )?
            }
            None => IncidentLog::default(),
        };
        let simulation = file.simulation.clone().unwrap_or_default();
        simulation
            .check(&hospitals)
            .map_err(|message| ModelError::Toml {
                path: path.to_string(),
                message,
            })?;
        let network = source.map(&file.map)?;
        Ok(Scenario {
            simulation,
            name: file.name,
            network: Arc::new(network),
            region,
            stations,
            hospitals,
            demand,
            incidents,
            timezone,
            area_km2: file.area_km2,
            population: file.population,
            travel: TravelSettings {
                profile,
                traffic,
                snap_limit_m: file
                    .snap_limit_m
                    .unwrap_or(crate::network::travel::DEFAULT_SNAP_LIMIT_M),
                off_road_kmh: match file.off_road_kmh {
                    None => Some(crate::network::travel::DEFAULT_OFF_ROAD_KMH),
                    Some(v) if v > 0.0 => Some(v),
                    Some(_) => None,
                },
            },
        })
    }

    /// The embedded demo scenario (Monaco).
    pub fn demo() -> Result<Scenario, ModelError> {
        demo::scenario()
    }

    /// The scenario's travel model: its map with its speed profile and snapping limit. Every
    /// command and the live API build the model through this one function.
    pub fn travel_model(&self) -> Result<TravelModel, ProfileError> {
        TravelModel::for_scenario(self)
    }

    /// The hours a modelled figure averages over by default: weighted by the calls per local
    /// hour of `log` (or of the scenario's own log) when it has any, else by
    /// `simulation.hour_profile`, else every hour alike.
    pub fn modelled_hours(&self, log: Option<&IncidentLog>) -> crate::network::Hours {
        use chrono::Timelike;
        let log = log.unwrap_or(&self.incidents);
        if !log.incidents.is_empty() {
            let mut counts = [0.0; 24];
            for inc in &log.incidents {
                counts[inc.call_received.hour() as usize] += 1.0;
            }
            return crate::network::Hours::weighted(&counts, "calls per hour in the incident log");
        }
        if let Some(p) = &self.simulation.hour_profile
            && let Ok(a) = <[f64; 24]>::try_from(p.as_slice())
        {
            return crate::network::Hours::weighted(&a, "simulation.hour_profile");
        }
        crate::network::Hours::default()
    }

    /// Region area in km²: the override, else the boundary's geodesic area.
    pub fn area_km2(&self) -> f64 {
        self.area_km2.unwrap_or_else(|| self.region.area_km2())
    }

    /// Resident population: the override, else the sum over demand zones.
    ///
    /// The zones' sum is exact to a millionth of a resident: added with compensation
    /// ([`exact_total`]), so thousands of zones written to a tenth do not drift the total
    /// across a threshold (150,000 residents read back as 150,000.00000003 would need a sixth
    /// ambulance).
    pub fn population(&self) -> f64 {
        self.population
            .unwrap_or_else(|| exact_total(self.demand.iter().map(|z| z.population)))
    }
}

/// The sum of `values` to a millionth: Neumaier's compensated summation (the error does not
/// grow with the number of terms), rounded to 6 decimals (no input of a count of residents is
/// finer). `O(n)`.
///
/// ```
/// use ems::model::exact_total;
/// let tenths = vec![0.1; 1_500_000];
/// assert_eq!(exact_total(tenths.iter().copied()), 150_000.0);
/// assert_ne!(tenths.iter().sum::<f64>(), 150_000.0, "a plain sum drifts");
/// ```
pub fn exact_total(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut sum, mut carry) = (0.0f64, 0.0f64);
    for v in values {
        let t = sum + v;
        carry += if sum.abs() >= v.abs() {
            (sum - t) + v
        } else {
            (v - t) + sum
        };
        sum = t;
    }
    ((sum + carry) * 1e6).round() / 1e6
}
