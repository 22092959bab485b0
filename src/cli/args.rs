//! Typed option values, parsed by clap through `FromStr` or a value parser, so a malformed value
//! is rejected by clap itself with exit status 2 and a message naming the option.

use std::path::PathBuf;
use std::str::FromStr;

/// `LON,LAT` in degrees (WGS 84), e.g. `7.42,43.73`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLat(pub [f64; 2]);

impl FromStr for LonLat {
    type Err = String;

    fn from_str(s: &str) -> Result<LonLat, String> {
        let (a, b) = s
            .split_once(',')
            .ok_or_else(|| format!("`{s}`: expected LON,LAT, e.g. 7.42,43.73"))?;
        let lon: f64 = a
            .trim()
            .parse()
            .map_err(|_| format!("longitude `{}` is not a number", a.trim()))?;
        let lat: f64 = b
            .trim()
            .parse()
            .map_err(|_| format!("latitude `{}` is not a number", b.trim()))?;
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return Err(format!("longitude {lon} is outside -180..180"));
        }
        if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
            return Err(format!(
                "latitude {lat} is outside -90..90 (is the order LON,LAT?)"
            ));
        }
        Ok(LonLat([lon, lat]))
    }
}

/// Candidate sites for new stations.
#[derive(Debug, Clone, PartialEq)]
pub enum Candidates {
    /// `grid:300m`: road nodes thinned to one per cell of this spacing, metres.
    Grid(f64),
    /// `stations`: the existing stations only.
    Stations,
    /// A GeoJSON file of points.
    File(PathBuf),
}

impl FromStr for Candidates {
    type Err = String;

    fn from_str(s: &str) -> Result<Candidates, String> {
        use ems::optimize::plan::{Standard, parse_standard};
        if let Some(g) = s.strip_prefix("grid:") {
            return match parse_standard(g) {
                Some(Standard::Km(km)) => Ok(Candidates::Grid(km * 1000.0)),
                _ => Err(format!(
                    "`{s}`: expected grid:<spacing>, e.g. grid:500m or grid:1km"
                )),
            };
        }
        if s == "stations" {
            return Ok(Candidates::Stations);
        }
        if s.is_empty() {
            return Err("expected grid:<spacing>, stations, or a GeoJSON file".into());
        }
        Ok(Candidates::File(PathBuf::from(s)))
    }
}

/// `STATION=N`: a station's ambulances.
#[derive(Debug, Clone, PartialEq)]
pub struct StationAmbulances {
    pub station: String,
    pub ambulances: u32,
}

impl FromStr for StationAmbulances {
    type Err = String;

    fn from_str(s: &str) -> Result<StationAmbulances, String> {
        let (id, n) = s
            .split_once('=')
            .ok_or_else(|| format!("`{s}`: expected STATION=N"))?;
        let ambulances = n
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: N must be a whole number"))?;
        if id.trim().is_empty() {
            return Err(format!("`{s}`: the station id is empty"));
        }
        Ok(StationAmbulances {
            station: id.trim().to_string(),
            ambulances,
        })
    }
}

fn number(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("`{s}` is not a finite number"))
    }
}

/// A finite number greater than 0.
pub fn positive(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{v} must be a positive number"))
    }
}

/// The longest simulation horizon accepted, days (ten years).
pub const MAX_DAYS: f64 = 3660.0;

/// A horizon in days: `0 < days <= 3660`.
pub fn days(s: &str) -> Result<f64, String> {
    let v = positive(s)?;
    if v <= MAX_DAYS {
        Ok(v)
    } else {
        Err(format!("{v} days is more than {MAX_DAYS} (ten years)"))
    }
}

/// A finite number, 0 or more.
pub fn non_negative(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{v} must be non-negative"))
    }
}

/// `MEDIAN,P90` of a log-normal, minutes: `0 < median <= p90`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MedianP90(pub f64, pub f64);

impl std::str::FromStr for MedianP90 {
    type Err = String;
    fn from_str(s: &str) -> Result<MedianP90, String> {
        let (a, b) = s
            .split_once(',')
            .ok_or_else(|| format!("`{s}`: give MEDIAN,P90 in minutes, e.g. 20,60"))?;
        let (m, p) = (positive(a)?, positive(b)?);
        if p < m {
            return Err(format!(
                "`{s}`: the 90th percentile {p} is below the median {m}"
            ));
        }
        Ok(MedianP90(m, p))
    }
}

/// A comma-separated list of percentages, e.g. `0,2.5,5,10`.
#[derive(Debug, Clone, PartialEq)]
pub struct Percents(pub Vec<f64>);

impl std::str::FromStr for Percents {
    type Err = String;
    fn from_str(s: &str) -> Result<Percents, String> {
        let v = s
            .split(',')
            .map(|x| {
                let v = non_negative(x)?;
                if v <= 100.0 {
                    Ok(v)
                } else {
                    Err(format!("{v} is more than 100 %"))
                }
            })
            .collect::<Result<Vec<f64>, String>>()?;
        if v.is_empty() {
            return Err("give at least one percentage".into());
        }
        Ok(Percents(v))
    }
}

/// A share in `[0, 1]`.
pub fn share(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} must be a share between 0 and 1"))
    }
}

use ems::simulate::synthetic::MAX_CALLS_PER_1000;

/// A call rate per 1,000 residents per year: `0..=1e6`.
pub fn call_rate(s: &str) -> Result<f64, String> {
    let v = non_negative(s)?;
    if v <= MAX_CALLS_PER_1000 {
        Ok(v)
    } else {
        Err(format!(
            "{v} calls per 1,000 residents per year is more than {MAX_CALLS_PER_1000}"
        ))
    }
}

/// The delays the modelled response time assumes (shared by `check`, `optimize` and
/// `evaluate`).
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Delays {
    /// Call handling assumed by the modelled response time, seconds.
    #[arg(long, default_value_t = 60.0, value_parser = non_negative, allow_negative_numbers = true)]
    pub call_handling_s: f64,
    /// Turnout assumed by the modelled response time, seconds.
    #[arg(long, default_value_t = 60.0, value_parser = non_negative, allow_negative_numbers = true)]
    pub turnout_s: f64,
    /// Local hour (0-23) whose travel times to model, where the scenario has a traffic profile
    /// [default: the mean over the day weighted by call volume per hour: the log's calls, else
    /// `simulation.hour_profile`, else every hour alike].
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..24))]
    pub hour: Option<u8>,
}

impl Delays {
    /// The check's options: the delays, and the modelled hours (`--hour`, else the scenario's
    /// default weighting with this `log`).
    pub fn check_options(
        self,
        sc: &ems::model::Scenario,
        log: Option<&ems::model::IncidentLog>,
    ) -> ems::standards::CheckOptions {
        ems::standards::CheckOptions {
            call_handling_s: self.call_handling_s,
            turnout_s: self.turnout_s,
            hours: match self.hour {
                Some(h) => ems::network::Hours::Hour { hour: h as usize },
                None => sc.modelled_hours(log),
            },
        }
    }
}

/// How to read an incident log from another system: `--columns`, `--crs`, `--filter`,
/// `--timezone` (shared by every command that reads a log).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogArgs {
    /// Column mapping of the incident log: a preset (ems, ems-units, datasf, nemsis-v3,
    /// nyc-ems, china-120) or a mapping TOML file [default: ems, our own format].
    #[arg(long, value_name = "PRESET|MAPPING.toml")]
    pub columns: Option<ems::model::MappingArg>,
    /// Coordinate system of the log's points: wgs84, gcj02 (AMap, Tencent) or bd09 (Baidu);
    /// converted to WGS 84 on read [default: the mapping's].
    #[arg(long)]
    pub crs: Option<ems::spatial::china::Crs>,
    /// Keep only rows whose COLUMN has one of the values: `COLUMN=V1|V2`, `COLUMN!=V`, or
    /// `COLUMN=*` to keep every value (it replaces the mapping's filter on that column).
    /// Repeatable.
    #[arg(long = "filter", value_name = "COLUMN=VALUES")]
    pub filters: Vec<ems::model::FilterArg>,
    /// Time zone of local times in the log, e.g. Asia/Shanghai or +08:00 [default: the
    /// mapping's, else the scenario's].
    #[arg(long, value_parser = timezone)]
    pub timezone: Option<ems::model::TimeZoneSpec>,
}

impl LogArgs {
    /// The reader's options; `fallback` is the zone when neither the mapping nor `--timezone`
    /// gives one, and `from` says where it comes from.
    pub fn options(
        &self,
        fallback: ems::model::TimeZoneSpec,
        from: &'static str,
        skip_invalid: bool,
    ) -> ems::model::LogOptions {
        let mapping = self
            .columns
            .as_ref()
            .map_or_else(ems::model::Mapping::ems, |m| m.0.clone())
            .with_filters(&self.filters);
        ems::model::LogOptions {
            mapping,
            timezone: self.timezone,
            fallback_timezone: fallback,
            fallback_from: from,
            crs: self.crs,
            skip_invalid,
        }
    }

    /// Reads the log at `path` with these options (local times without a zone in the
    /// scenario's `timezone`); without a path, `None`, or an error when log options were given
    /// for no log.
    pub fn read(
        &self,
        path: Option<&std::path::Path>,
        timezone: ems::model::TimeZoneSpec,
        skip_invalid: bool,
    ) -> anyhow::Result<Option<ems::model::IncidentLog>> {
        match path {
            Some(p) => Ok(Some(ems::model::read_log(
                p,
                &self.options(timezone, "the scenario", skip_invalid),
            )?)),
            None if self.given() => anyhow::bail!(
                "--columns, --crs, --filter and --timezone describe a log: give it with --incidents FILE"
            ),
            None => Ok(None),
        }
    }

    /// Whether any option differs from our own format's defaults.
    fn given(&self) -> bool {
        self.columns.is_some()
            || self.crs.is_some()
            || !self.filters.is_empty()
            || self.timezone.is_some()
    }
}

/// `--timezone`: `UTC`, `+08:00` or an IANA name.
pub fn timezone(s: &str) -> Result<ems::model::TimeZoneSpec, String> {
    ems::model::TimeZoneSpec::parse(s).ok_or_else(|| {
        format!("`{s}` is not a time zone: use UTC, an offset such as +08:00, or a name such as Asia/Shanghai")
    })
}
