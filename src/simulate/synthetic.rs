//! A synthetic incident log for a scenario: Poisson calls by population, road travel times from
//! the shared model, and recorded delays drawn from documented distributions.
//!
//! This module owns the generator behind the demo's `data/demo/incidents.csv`. It must not be
//! mistaken for observed data or for a simulation of the system's load: there is **no queueing**
//! (every call is served by a unit of the nearest station by road, whether or not it would be
//! busy), so response times are optimistic in busy periods.
//!
//! # The process
//! 1. **Calls**: for each demand zone, `N ~ Poisson(rate × population / 1000)` calls in the year
//!    (`rate` calls per 1,000 residents per year). Each call's day is uniform over the year and
//!    its hour follows [`HOUR_PROFILE`] (fewer calls at night); minutes and seconds are uniform.
//! 2. **Where**: a residential building of the zone, chosen with probability proportional to its
//!    floor area (the same weights as `ems population`); the zone's point if it has none.
//! 3. **What**: priority 1/2/3 with probabilities 0.25/0.45/0.30; condition `stroke` 8 %,
//!    `chest_pain` 12 %, `trauma` 20 %, `maternal` 2 %, `neonatal` 1 %, otherwise none.
//! 4. **Who**: a unit of the station with the shortest road time to the scene (units of a station
//!    are numbered and taken in turn).
//! 5. **Delays** (log-normal, median and log-sd): call handling 60 s / 0.4; turnout 75 s / 0.45;
//!    travel = road time × log-normal(1, 0.15); time on scene 15 min / 0.35.
//! 6. **Transport**: 70 % of calls. The hospital is the nearest by road with an emergency
//!    department and, for stroke, chest pain, trauma, maternal and neonatal cases, that
//!    capability (the nearest emergency department if none has it). Transport time = road time ×
//!    log-normal(1, 0.15). Handover: 6 min / 0.35 (about 7 % exceed 10 minutes).
//! 7. **Recording errors**: a share ([`SynthOptions::error_share`], 0.2 % by default) of calls get
//!    one deliberate, realistic error: an on-scene time before the call (a mistyped hour), or a
//!    handover before the arrival, so that the standards check's data-quality section has
//!    something to show.
//!
//! The generator is deterministic for a given seed (ChaCha8).

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal, Poisson};

use crate::model::population::weight;
use crate::model::{Capability, Scenario, TimeZoneSpec};
use crate::network::{Snapped, TravelModel};
use crate::spatial::PolygonIndex;

/// Relative call volume by hour of day (0-23): a night trough and a late-morning peak, the shape
/// reported by most EMS systems.
pub const HOUR_PROFILE: [f64; 24] = [
    0.6, 0.5, 0.45, 0.4, 0.4, 0.45, 0.6, 0.8, 1.0, 1.15, 1.25, 1.3, 1.3, 1.25, 1.2, 1.2, 1.2, 1.2,
    1.15, 1.1, 1.0, 0.9, 0.8, 0.7,
];

/// Generator settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthOptions {
    pub seed: u64,
    pub year: i32,
    /// Calls per 1,000 residents per year.
    pub calls_per_1000: f64,
    /// Share of calls given one deliberate recording error.
    pub error_share: f64,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            seed: 2024,
            year: 2024,
            calls_per_1000: 90.0,
            error_share: 0.002,
        }
    }
}

/// Why a log cannot be generated.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// The scenario has no stations or no hospitals with an emergency department.
    #[error(
        "the scenario needs at least one station and one hospital with the `emergency` capability"
    )]
    Incomplete,
    /// A rate or share is out of range.
    #[error("`{0}` is out of range")]
    Option(&'static str),
}

fn lognormal(median: f64, sigma: f64) -> LogNormal<f64> {
    LogNormal::new(median.ln(), sigma).expect("valid parameters")
}

fn weighted_index(rng: &mut impl RngExt, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        x -= w;
        if x < 0.0 {
            return i;
        }
    }
    weights.len() - 1
}

struct Call {
    at: DateTime<Utc>,
    zone: usize,
    point: Snapped,
    priority: u8,
    condition: Option<&'static str>,
}

/// The largest call rate accepted, per 1,000 residents per year: far beyond any real service,
/// and within what the Poisson sampler can draw for any real population.
pub const MAX_CALLS_PER_1000: f64 = 1e6;

/// Residential buildings per zone, with their floor-area weights (step 2).
fn zone_buildings(sc: &Scenario) -> Vec<(Vec<[f64; 2]>, Vec<f64>)> {
    let zone_index = PolygonIndex::new(
        sc.demand
            .iter()
            .map(|z| {
                z.polygon
                    .clone()
                    .unwrap_or_else(|| geo::MultiPolygon::new(vec![]))
            })
            .collect(),
    );
    let mut out: Vec<(Vec<[f64; 2]>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); sc.demand.len()];
    for b in &sc.network.buildings {
        let w = weight(b, crate::model::population::DEFAULT_LEVELS);
        if w > 0.0
            && let Some(z) = zone_index.containing(b.lon_lat)
        {
            out[z as usize].0.push(b.lon_lat);
            out[z as usize].1.push(w);
        }
    }
    out
}

/// Steps 1 to 3: the year's calls, by time.
fn draw_calls(
    sc: &Scenario,
    tm: &TravelModel,
    opts: &SynthOptions,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Call>, SynthError> {
    let buildings = zone_buildings(sc);
    let start = Utc.from_utc_datetime(
        &NaiveDate::from_ymd_opt(opts.year, 1, 1)
            .ok_or(SynthError::Option("year"))?
            .and_hms_opt(0, 0, 0)
            .expect("midnight"),
    );
    let days = if NaiveDate::from_ymd_opt(opts.year, 2, 29).is_some() {
        366
    } else {
        365
    };
    let mut calls = Vec::new();
    for (zi, z) in sc.demand.iter().enumerate() {
        let lambda = opts.calls_per_1000 * z.population / 1000.0;
        if lambda <= 0.0 {
            continue;
        }
        // Poisson::new refuses rates beyond what it can sample (about 1.8e19).
        let n = Poisson::new(lambda)
            .map_err(|_| SynthError::Option("calls_per_1000"))?
            .sample(rng) as usize;
        for _ in 0..n {
            let day = rng.random_range(0..days);
            let hour = weighted_index(rng, &HOUR_PROFILE);
            let sec = rng.random_range(0..3600);
            let at =
                start + Duration::days(day) + Duration::hours(hour as i64) + Duration::seconds(sec);
            let (pts, ws) = &buildings[zi];
            let p = if pts.is_empty() {
                z.lon_lat
            } else {
                pts[weighted_index(rng, ws)]
            };
            let Ok(point) = tm.snap(p) else { continue };
            let priority = [1u8, 2, 3][weighted_index(rng, &[0.25, 0.45, 0.30])];
            let condition = [
                Some("stroke"),
                Some("chest_pain"),
                Some("trauma"),
                Some("maternal"),
                Some("neonatal"),
                None,
            ][weighted_index(rng, &[0.08, 0.12, 0.20, 0.02, 0.01, 0.57])];
            calls.push(Call {
                at,
                zone: zi,
                point,
                priority,
                condition,
            });
        }
    }
    calls.sort_by_key(|c| c.at);
    Ok(calls)
}

/// The delay distributions of steps 5-6.
struct Delays {
    handling: LogNormal<f64>,
    turnout: LogNormal<f64>,
    noise: LogNormal<f64>,
    on_scene: LogNormal<f64>,
    handover: LogNormal<f64>,
}

impl Delays {
    fn new() -> Delays {
        Delays {
            handling: lognormal(60.0, 0.4),
            turnout: lognormal(75.0, 0.45),
            noise: lognormal(1.0, 0.15),
            on_scene: lognormal(15.0 * 60.0, 0.35),
            handover: lognormal(6.0 * 60.0, 0.35),
        }
    }
}

/// Where each call's patient goes, and the stations and hospitals on the road.
struct Places<'a> {
    sc: &'a Scenario,
    stations: Vec<Snapped>,
    /// Hospitals that snapped, with their index in the scenario.
    hospitals: Vec<(usize, Snapped)>,
}

impl Places<'_> {
    /// Step 6: the nearest emergency department with the capability the condition needs (the
    /// nearest one if none has it), with the drive there; `to_h[k]` is the drive to
    /// `hospitals[k]`.
    fn hospital(
        &self,
        to_h: &[Option<crate::network::Eta>],
        condition: Option<&str>,
    ) -> Option<(usize, crate::network::Eta)> {
        let pick = |need: Option<Capability>| {
            self.hospitals
                .iter()
                .zip(to_h)
                .filter_map(|((hi, _), e)| e.map(|e| (*hi, e)))
                .filter(|(hi, _)| {
                    let h = &self.sc.hospitals[*hi];
                    h.capabilities.contains(&Capability::Emergency)
                        && need.is_none_or(|n| h.capabilities.contains(&n))
                })
                .min_by_key(|(_, e)| e.time_ms)
        };
        let cap = Capability::for_condition(condition);
        pick(cap).or_else(|| pick(None))
    }
}

/// Generates one year of synthetic incidents as CSV text (the incident-log format).
pub fn generate(
    sc: &Scenario,
    tm: &TravelModel,
    tz: &TimeZoneSpec,
    opts: &SynthOptions,
) -> Result<String, SynthError> {
    if !(opts.calls_per_1000.is_finite()
        && (0.0..=MAX_CALLS_PER_1000).contains(&opts.calls_per_1000))
    {
        return Err(SynthError::Option("calls_per_1000"));
    }
    if !(0.0..=1.0).contains(&opts.error_share) {
        return Err(SynthError::Option("error_share"));
    }
    let has_ed = sc
        .hospitals
        .iter()
        .any(|h| h.capabilities.contains(&Capability::Emergency));
    if sc.stations.is_empty() || !has_ed {
        return Err(SynthError::Incomplete);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let stations: Vec<Snapped> = sc
        .stations
        .iter()
        .filter_map(|s| tm.snap(s.lon_lat).ok())
        .collect();
    if stations.len() != sc.stations.len() {
        return Err(SynthError::Incomplete);
    }
    let places = Places {
        sc,
        stations,
        hospitals: sc
            .hospitals
            .iter()
            .enumerate()
            .filter_map(|(i, h)| tm.snap(h.lon_lat).ok().map(|s| (i, s)))
            .collect(),
    };
    let calls = draw_calls(sc, tm, opts, &mut rng)?;

    // 4-7. Units, delays, transport.
    let d = Delays::new();
    let mut next_unit = vec![0u32; sc.stations.len()];
    // Two matrices for all calls at once (one search per station and per hospital, not two
    // per call).
    let points: Vec<Snapped> = calls.iter().map(|c| c.point).collect();
    let hospital_points: Vec<Snapped> = places.hospitals.iter().map(|h| h.1).collect();
    let from_stations = tm.matrix(&places.stations, &points, None);
    let to_hospitals = tm.matrix(&points, &hospital_points, None);
    let fmt = |t: DateTime<Utc>| -> String {
        let local: DateTime<FixedOffset> = match tz {
            TimeZoneSpec::Fixed(o) => t.with_timezone(o),
            TimeZoneSpec::Iana(z) => t.with_timezone(z).fixed_offset(),
        };
        local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    };
    let mut out = crate::model::incidents::COLUMNS.join(",");
    out.push('\n');
    for (k, c) in calls.iter().enumerate() {
        let Some((si, eta)) = (0..places.stations.len())
            .filter_map(|i| from_stations.get(i, k).map(|e| (i, e)))
            .min_by_key(|(_, e)| e.time_ms)
        else {
            continue;
        };
        let amb = sc.stations[si].ambulances.max(1);
        let unit = sc.stations[si].unit_id(next_unit[si] % amb + 1);
        next_unit[si] += 1;
        let secs = |s: f64| Duration::milliseconds((s * 1000.0).round() as i64);
        let received = c.at;
        let dispatched = received + secs(d.handling.sample(&mut rng));
        let departed = dispatched + secs(d.turnout.sample(&mut rng));
        let mut scene = departed + secs(eta.seconds() * d.noise.sample(&mut rng));
        let transported = rng.random::<f64>() < 0.7;
        let mut hospital = String::new();
        let (mut at_h, mut done) = (String::new(), String::new());
        let to_h: Vec<Option<crate::network::Eta>> = (0..hospital_points.len())
            .map(|h| to_hospitals.get(k, h))
            .collect();
        if transported && let Some((hi, e)) = places.hospital(&to_h, c.condition) {
            let arrive = scene
                + secs(d.on_scene.sample(&mut rng))
                + secs(e.seconds() * d.noise.sample(&mut rng));
            let mut finish = arrive + secs(d.handover.sample(&mut rng));
            if rng.random::<f64>() < opts.error_share / 2.0 {
                finish = arrive - Duration::minutes(rng.random_range(1..30));
            }
            hospital = sc.hospitals[hi].id.clone();
            at_h = fmt(arrive);
            done = fmt(finish);
        }
        if rng.random::<f64>() < opts.error_share / 2.0 {
            scene = received - Duration::hours(1) + Duration::minutes(rng.random_range(0..30));
        }
        out.push_str(&format!(
            "{:05},{},{},{},{},{},{},{},{},{},{:.6},{:.6},{},{}\n",
            k + 1,
            fmt(received),
            fmt(dispatched),
            fmt(departed),
            fmt(scene),
            at_h,
            done,
            c.priority,
            unit,
            hospital,
            c.point.input[0],
            c.point.input[1],
            c.condition.unwrap_or(""),
            sc.demand[c.zone].id
        ));
    }
    Ok(out)
}
