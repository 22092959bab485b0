//! Simulating a scenario: calls from its demand zones or from an incident log, travel times
//! from the shared model, replications in parallel, and figures with 95 % confidence
//! intervals computed by the standards check's own definitions.
//!
//! This module owns turning a scenario into a [`SimModel`] and its results into figures and an
//! incident log. It must not compute travel times itself (it asks the shared
//! [`TravelModel`]'s matrices), define the indicators (it feeds the simulated log to
//! [`crate::standards`]) nor format text (that is [`crate::report::simulate`]).
//!
//! # Defaults (the demo's synthetic log uses the same ones)
//! - Calls: 90 per 1,000 residents per year, Poisson per zone, hour of day by
//!   [`super::synthetic::HOUR_PROFILE`]; priority 1/2/3 with 0.25/0.45/0.30; condition
//!   stroke 8 %, chest pain 12 %, trauma 20 %, maternal 2 %, neonatal 1 %, none otherwise.
//! - Delays (log-normal, median / 90th percentile): call handling 60 s / 100 s, turnout
//!   75 s / 133 s, on scene 15 / 23.5 min, handover 6 / 9.4 min; 70 % transported.
//! - Travel: road times from the shared model, times an hour-of-day factor (1 by default).

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;
use serde::Serialize;

use super::demand::LogDemand;
use super::des::{
    self, Call, DetentionMix, Dist, Geometry, QueuePolicy, RoadService, Service, SimError,
    SimModel, SimPolicy, StretcherRule,
};
use super::synthetic::HOUR_PROFILE;
use crate::dispatch::coverage::{Budget, Coverage};
use crate::dispatch::policy::{Caps, ComplianceTable, PolicyKind};

use crate::model::{Capability, Incident, IncidentLog, Scenario};
use crate::network::traffic::HourTimes;
use crate::network::{Snapped, TravelModel};
use crate::standards::log::{DetentionSums, HandoverRules, ResponseSums};
use crate::standards::{self, DataQuality, ZoneAssigner};

/// Simulation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    pub days: f64,
    pub replications: usize,
    pub seed: u64,
    /// Calls per 1,000 residents per year (generated calls).
    pub calls_per_1000: f64,
    pub call_handling_s: Dist,
    pub turnout_s: Dist,
    pub on_scene_min: Dist,
    pub transport_share: f64,
    pub handover_min: Dist,
    /// Multiplies every handover (0.5 halves detention).
    pub handover_scale: f64,
    pub hour_factor: [f64; 24],
    pub response_target_min: f64,
    pub detention_threshold_min: f64,
    /// Relative call volume by local hour (generated calls).
    pub hour_profile: [f64; 24],
    /// Shares of priorities 1, 2, ... (generated calls).
    pub priority_shares: Vec<f64>,
    /// Shares of conditions; the rest have none (generated calls).
    pub condition_shares: Vec<(Capability, f64)>,
    /// Handover distributions by hospital id, overriding `handover_min`.
    pub handover_by_hospital: Vec<(String, Dist)>,
    /// On-scene distributions by priority, overriding `on_scene_min`.
    pub on_scene_by_priority: Vec<(u8, Dist)>,
    /// Hospitals release an ambulance this many minutes after its arrival.
    pub release_after_min: Option<f64>,
    /// Set the detained share of hospital arrivals directly (the detention sweep).
    pub detention: Option<DetentionMix>,
    /// Stretchers by hospital id (hospitals not named: no limit).
    pub stretchers: Vec<(String, u32)>,
    pub stretcher_hold_min: Dist,
    pub stretcher_rule: StretcherRule,
    pub policy: PolicyOptions,
    /// Keep the first replication's incident log ([`Outcome::incidents`]); otherwise each
    /// replication keeps only its figures.
    pub keep_incidents: bool,
    /// Generated calls by zone and hour of week as fitted to an incident log (replacing
    /// `calls_per_1000` and `hour_profile`).
    pub fitted_demand: Option<LogDemand>,
}

/// The move-up policy of a simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyOptions {
    pub kind: PolicyKind,
    /// The compliance table and the file it came from (the `table` policy).
    pub table: Option<(String, ComplianceTable)>,
    pub caps: Caps,
    /// Dynamic MEXCLP's busy fraction (`None`: the running estimate).
    pub busy: Option<f64>,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            kind: PolicyKind::Static,
            table: None,
            caps: Caps::default(),
            busy: None,
        }
    }
}

impl SimOptions {
    /// The defaults with the scenario's `[simulation]` table applied.
    pub fn for_scenario(sc: &Scenario) -> SimOptions {
        let mut o = SimOptions::default();
        let m = &sc.simulation;
        if let Some(r) = m.calls_per_1000 {
            o.calls_per_1000 = r;
        }
        if let Some(h) = &m.hour_profile {
            for (k, v) in h.iter().take(24).enumerate() {
                o.hour_profile[k] = *v;
            }
        }
        if let Some(p) = &m.priority_shares {
            o.priority_shares = p.clone();
        }
        if let Some(c) = &m.condition_shares {
            o.condition_shares = c
                .iter()
                .filter_map(|(k, v)| Capability::for_condition(Some(k)).map(|c| (c, *v)))
                .collect();
        }
        if let Some(h) = &m.handover_min {
            o.handover_by_hospital = h
                .iter()
                .map(|(id, [median, p90])| {
                    (
                        id.clone(),
                        Dist::LogNormal {
                            median: *median,
                            p90: *p90,
                        },
                    )
                })
                .collect();
        }
        let ln = |[median, p90]: [f64; 2]| Dist::LogNormal { median, p90 };
        if let Some(d) = m.on_scene_min {
            o.on_scene_min = ln(d);
        }
        if let Some(by) = &m.on_scene_min_by_priority {
            o.on_scene_by_priority = by
                .iter()
                .filter_map(|(k, d)| Some((k.parse::<u8>().ok()?, ln(*d))))
                .collect();
        }
        if let Some(t) = m.transport_share {
            o.transport_share = t;
        }
        o.release_after_min = m.release_after_min;
        if let Some(st) = &m.stretchers {
            o.stretchers = st
                .iter()
                .map(|(id, n)| (id.clone(), (*n).clamp(0, u32::MAX as i64) as u32))
                .collect();
        }
        if let Some(d) = m.stretcher_hold_min {
            o.stretcher_hold_min = ln(d);
        }
        if m.stretcher_rule.as_deref() == Some("leave") {
            o.stretcher_rule = StretcherRule::Leave;
        }
        o
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            days: 365.0,
            replications: 10,
            seed: 1,
            calls_per_1000: 90.0,
            call_handling_s: Dist::LogNormal {
                median: 60.0,
                p90: 100.0,
            },
            turnout_s: Dist::LogNormal {
                median: 75.0,
                p90: 133.0,
            },
            on_scene_min: Dist::LogNormal {
                median: 15.0,
                p90: 23.5,
            },
            transport_share: 0.7,
            handover_min: Dist::LogNormal {
                median: 6.0,
                p90: 9.4,
            },
            handover_scale: 1.0,
            hour_factor: [1.0; 24],
            response_target_min: 12.0,
            detention_threshold_min: standards::Targets::default_preset().detention_threshold_min,
            hour_profile: HOUR_PROFILE,
            priority_shares: vec![0.25, 0.45, 0.30],
            condition_shares: vec![
                (Capability::Stroke, 0.08),
                (Capability::ChestPain, 0.12),
                (Capability::Trauma, 0.20),
                (Capability::Maternal, 0.02),
                (Capability::Neonatal, 0.01),
            ],
            handover_by_hospital: Vec::new(),
            on_scene_by_priority: Vec::new(),
            release_after_min: None,
            detention: None,
            stretchers: Vec::new(),
            stretcher_hold_min: Dist::LogNormal {
                median: 60.0,
                p90: 180.0,
            },
            stretcher_rule: StretcherRule::Wait,
            policy: PolicyOptions::default(),
            keep_incidents: false,
            fitted_demand: None,
        }
    }
}

/// A scenario ready to simulate.
#[derive(Debug)]
pub struct Prepared {
    pub model: SimModel,
    /// Each atom's zone id (generated calls) or `None` (trace points).
    atom_zone: Vec<Option<String>>,
    atom_point: Vec<[f64; 2]>,
    /// Residents per zone atom (generated calls).
    atom_population: Vec<f64>,
    /// Trace calls, and the instant of time 0.
    trace: Option<Vec<Call>>,
    trace_ids: Vec<String>,
    origin: DateTime<FixedOffset>,
    /// Trace calls outside the region or off the map, left out.
    calls_left_out: usize,
    /// The travel model behind the times, for reports.
    travel: String,
}

/// An estimate over replications.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    /// Half-width of the 95 % confidence interval (Student t), 0 with one replication.
    pub ci95: f64,
}

fn estimate(v: &[f64]) -> Option<Estimate> {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return Some(Estimate { mean, ci95: 0.0 });
    }
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    Some(Estimate {
        mean,
        ci95: t975(v.len() - 1) * sd / n.sqrt(),
    })
}

/// The 97.5 % quantile of Student's t with `df ≥ 1` degrees of freedom: the root of statrs'
/// CDF by bisection (its `inverse_cdf` drifts for very large `df`: 1.8266 at 10^7), exact to
/// about 1e-12 for any number of replications.
fn t975(df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let Ok(t) = StudentsT::new(0.0, 1.0, df.max(1) as f64) else {
        return 1.959_963_984_540_054;
    };
    // The quantile lies between the normal's (1.96) and df = 1's (12.71).
    let (mut lo, mut hi) = (1.9, 13.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if t.cdf(mid) < 0.975 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The figures of a simulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub replications: usize,
    pub calls_per_replication: Option<Estimate>,
    pub mean_response_min: Option<Estimate>,
    pub share_within_target: Option<Estimate>,
    pub p90_response_min: Option<Estimate>,
    pub response_target_min: f64,
    /// By priority: (priority, mean response, share within target).
    pub by_priority: Vec<(u8, Option<Estimate>, Option<Estimate>)>,
    /// By zone: (zone, mean response, share within target).
    pub by_zone: Vec<(String, Option<Estimate>, Option<Estimate>)>,
    pub detention_rate: Option<Estimate>,
    pub detention_threshold_min: f64,
    pub lost_hours: Option<Estimate>,
    /// Share of calls that waited for a free unit.
    pub waited_share: Option<Estimate>,
    /// Busy fraction of each unit.
    pub unit_busy: Vec<(String, Option<Estimate>)>,
    /// In some replication at least 1 % of the calls (and 10) were still waiting for a unit
    /// when the last call came: demand exceeds capacity, and the figures depend on the horizon.
    pub unstable: bool,
    /// Replayed calls outside the region or off the road map, left out.
    pub calls_left_out: usize,
    /// The travel model behind the times: free flow, or the traffic profile at each call's
    /// local hour (times the `hour_factor` option where it is not 1).
    pub travel: String,
    /// Where the calls come from: generated per zone (by residents, or fitted to a log) or
    /// replayed.
    pub calls: String,
    /// The move-up policy.
    pub policy: PolicyKind,
    /// Relocations per unit per hour of the simulated period.
    pub relocations_per_unit_hour: Option<Estimate>,
    /// Hospital arrivals that found no free stretcher (`null` without stretcher counts).
    pub stretcher_short_share: Option<Estimate>,
}

/// One replication's headline figures (for paired comparisons).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RepFigures {
    pub mean_response_min: Option<f64>,
    pub share_within_target: Option<f64>,
    pub p90_response_min: Option<f64>,
    pub detention_rate: Option<f64>,
    pub lost_hours: f64,
    pub waited_share: f64,
    pub relocations_per_unit_hour: f64,
}

/// The simulation's output: figures, each replication's headline figures, and the first
/// replication's incident log.
pub struct Outcome {
    pub summary: Summary,
    pub reps: Vec<RepFigures>,
    pub incidents: Vec<Incident>,
}

/// Plan B against plan A on the same calls (common random numbers): each figure for both, and
/// the paired difference `B − A` with its 95 % confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub rows: Vec<ComparisonRow>,
}

/// `(figure, A, B, B − A)`.
pub type ComparisonRow = (String, Option<Estimate>, Option<Estimate>, Option<Estimate>);

/// Compares two outcomes replication by replication.
pub fn compare(a: &Outcome, b: &Outcome) -> Comparison {
    type Get = fn(&RepFigures) -> Option<f64>;
    let figures: [(&str, Get); 8] = [
        ("mean response (min)", |r| r.mean_response_min),
        ("share within target", |r| r.share_within_target),
        ("late arrivals", |r| r.share_within_target.map(|w| 1.0 - w)),
        ("P90 response (min)", |r| r.p90_response_min),
        ("detention rate", |r| r.detention_rate),
        ("lost hours at EDs", |r| Some(r.lost_hours)),
        ("calls that waited", |r| Some(r.waited_share)),
        ("relocations/unit-hour", |r| {
            Some(r.relocations_per_unit_hour)
        }),
    ];
    let rows = figures
        .iter()
        .map(|(name, get)| {
            let va: Vec<f64> = a.reps.iter().filter_map(get).collect();
            let vb: Vec<f64> = b.reps.iter().filter_map(get).collect();
            let diff: Vec<f64> = a
                .reps
                .iter()
                .zip(&b.reps)
                .filter_map(|(x, y)| Some(get(y)? - get(x)?))
                .collect();
            (
                name.to_string(),
                estimate(&va),
                estimate(&vb),
                estimate(&diff),
            )
        })
        .collect();
    Comparison { rows }
}

/// One detention level of [`detention_sweep`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepLevel {
    /// The share of hospital arrivals made detained, percent.
    pub detention_pct: f64,
    /// The detention measured (bay waits come on top), percent.
    pub measured_pct: Option<Estimate>,
    pub mean_response_min: Option<Estimate>,
    pub share_within_target: Option<Estimate>,
    /// Calls reached beyond the target.
    pub late_share: Option<Estimate>,
    /// Mean response minus the first level's, seconds, paired by replication.
    pub mean_response_diff_s: Option<Estimate>,
    pub lost_hours: Option<Estimate>,
}

/// What detention costs in response: each level on the same calls, and the slopes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    pub replications: usize,
    pub response_target_min: f64,
    pub detention_threshold_min: f64,
    /// A detained handover lasts the threshold plus a draw of this (minutes).
    pub detained_excess_min: Dist,
    pub levels: Vec<SweepLevel>,
    /// Seconds of mean response per percentage point of measured detention: the least-squares
    /// slope within each replication, then its mean and 95 % interval over replications.
    pub seconds_per_point: Option<Estimate>,
    /// Percentage points of calls within the target per percentage point of detention.
    pub within_points_per_point: Option<Estimate>,
}

/// Least-squares slope of `y` on `x` (`None` when `x` does not vary).
fn slope(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    (sxx > 1e-12).then(|| sxy / sxx)
}

/// Runs the simulation at each detention level (percent of hospital arrivals detained, see
/// [`DetentionMix`]) on the same calls, and estimates what each point of detention costs.
pub fn detention_sweep(
    sc: &Scenario,
    p: &mut Prepared,
    o: &SimOptions,
    levels_pct: &[f64],
    excess_min: Dist,
) -> Result<Sweep, SimError> {
    if levels_pct.is_empty() {
        return Err(SimError::Invalid(
            "--detention-sweep needs at least one level".into(),
        ));
    }
    if let Some(bad) = levels_pct
        .iter()
        .find(|l| !(l.is_finite() && (0.0..=100.0).contains(*l)))
    {
        return Err(SimError::Invalid(format!(
            "--detention-sweep: level {bad} is not a percentage between 0 and 100"
        )));
    }
    excess_min.check("--detained-excess-min")?;
    let mut outs = Vec::new();
    for &l in levels_pct {
        if let Service::Road(r) = &mut p.model.service {
            r.detention = Some(DetentionMix {
                share: l / 100.0,
                excess_min,
            });
        }
        outs.push(simulate(sc, p, o)?);
    }
    if let Service::Road(r) = &mut p.model.service {
        r.detention = None;
    }
    let reps = o.replications;
    let per_rep = |get: &dyn Fn(&RepFigures) -> Option<f64>, k: usize| -> Vec<f64> {
        outs.iter().filter_map(|out| get(&out.reps[k])).collect()
    };
    let mut secs = Vec::new();
    let mut within = Vec::new();
    for k in 0..reps {
        let x = per_rep(&|r| r.detention_rate.map(|d| d * 100.0), k);
        let y = per_rep(&|r| r.mean_response_min.map(|m| m * 60.0), k);
        let w = per_rep(&|r| r.share_within_target.map(|m| m * 100.0), k);
        if x.len() == outs.len() && y.len() == outs.len() {
            secs.extend(slope(&x, &y));
        }
        if x.len() == outs.len() && w.len() == outs.len() {
            within.extend(slope(&x, &w));
        }
    }
    let levels = outs
        .iter()
        .zip(levels_pct)
        .map(|(out, &l)| {
            let diff: Vec<f64> = out
                .reps
                .iter()
                .zip(&outs[0].reps)
                .filter_map(|(b, a)| Some((b.mean_response_min? - a.mean_response_min?) * 60.0))
                .collect();
            let col = |get: &dyn Fn(&RepFigures) -> Option<f64>| {
                estimate(&out.reps.iter().filter_map(get).collect::<Vec<_>>())
            };
            SweepLevel {
                detention_pct: l,
                measured_pct: col(&|r| r.detention_rate.map(|d| d * 100.0)),
                mean_response_min: out.summary.mean_response_min,
                share_within_target: out.summary.share_within_target,
                late_share: col(&|r| r.share_within_target.map(|w| 1.0 - w)),
                mean_response_diff_s: estimate(&diff),
                lost_hours: out.summary.lost_hours,
            }
        })
        .collect();
    Ok(Sweep {
        replications: reps,
        response_target_min: o.response_target_min,
        detention_threshold_min: o.detention_threshold_min,
        detained_excess_min: excess_min,
        levels,
        seconds_per_point: estimate(&secs),
        within_points_per_point: estimate(&within),
    })
}

fn snap(tm: &TravelModel, p: [f64; 2], what: &str) -> Result<Snapped, SimError> {
    tm.snap(p)
        .map_err(|e| SimError::Invalid(format!("{what}: {e}")))
}

/// Where calls arise: one atom per demand zone (generated calls) or per logged call (trace).
#[derive(Default)]
struct Atoms {
    points: Vec<Snapped>,
    zone: Vec<Option<String>>,
    lon_lat: Vec<[f64; 2]>,
    population: Vec<f64>,
}

impl Atoms {
    fn push(&mut self, s: Snapped, zone: Option<String>, lon_lat: [f64; 2], population: f64) {
        self.points.push(s);
        self.zone.push(zone);
        self.lon_lat.push(lon_lat);
        self.population.push(population);
    }
}

/// A trace's calls in time order, their ids, and the instant of time 0 (the first call's local
/// midnight).
struct Trace {
    calls: Vec<Call>,
    ids: Vec<String>,
    origin: DateTime<FixedOffset>,
}

/// One atom per logged call inside the region and on the map, and the calls in time order;
/// `left_out` counts the others. A log none of whose calls is on the map is an error.
fn trace_atoms(
    sc: &Scenario,
    tm: &TravelModel,
    log: &IncidentLog,
    atoms: &mut Atoms,
    left_out: &mut usize,
) -> Result<Trace, SimError> {
    let first = log
        .incidents
        .iter()
        .map(|i| i.call_received)
        .min()
        .ok_or_else(|| SimError::Empty("the incident log has no calls".into()))?;
    let midnight = first.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default();
    let origin = first
        .timezone()
        .from_local_datetime(&midnight)
        .earliest()
        .unwrap_or(first);
    let mut calls = Vec::new();
    let mut ids = Vec::new();
    for inc in &log.incidents {
        let located = inc.lon_lat.filter(|p| sc.in_region(*p));
        let snapped = located.and_then(|p| tm.snap(p).ok().map(|s| (s, p)));
        let Some((s, point)) = snapped else {
            *left_out += 1;
            continue;
        };
        atoms.push(s, inc.zone.clone(), point, 0.0);
        let t = (inc.call_received - origin).num_milliseconds() as f64 / 1000.0;
        calls.push(Call {
            t,
            atom: atoms.points.len() - 1,
            priority: inc.priority,
            condition: Capability::for_condition(inc.condition.as_deref()),
        });
        ids.push(inc.id.clone());
    }
    if calls.is_empty() {
        return Err(SimError::Empty(
            crate::model::placement::NoCallOnMap::new(sc, log).to_string(),
        ));
    }
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by(|&a, &b| calls[a].t.total_cmp(&calls[b].t).then(a.cmp(&b)));
    Ok(Trace {
        ids: order.iter().map(|&k| ids[k].clone()).collect(),
        calls: order.into_iter().map(|k| calls[k].clone()).collect(),
        origin,
    })
}

/// The travel-time matrices the engine needs, in seconds (`∞` where unreachable).
fn geometry(
    tm: &TravelModel,
    stations: &[Snapped],
    hospitals: &[Snapped],
    atoms: &[Snapped],
) -> Geometry {
    let flat = |m: crate::network::Matrix| -> Vec<f64> {
        (0..m.rows)
            .flat_map(|r| (0..m.cols).map(move |c| (r, c)))
            .map(|(r, c)| m.get(r, c).map_or(f64::INFINITY, |e| e.seconds()))
            .collect()
    };
    Geometry {
        stations: stations.len(),
        hospitals: hospitals.len(),
        atoms: atoms.len(),
        station_to_atom: flat(tm.matrix(stations, atoms, None)),
        atom_to_station: flat(tm.matrix(atoms, stations, None)),
        atom_to_hospital: flat(tm.matrix(atoms, hospitals, None)),
        hospital_to_atom: flat(tm.matrix(hospitals, atoms, None)),
        hospital_to_station: flat(tm.matrix(hospitals, stations, None)),
        station_to_station: flat(tm.matrix(stations, stations, None)),
    }
}

/// The settings a simulation cannot run without.
fn check_options(sc: &Scenario, o: &SimOptions) -> Result<(), SimError> {
    if sc.stations.iter().all(|s| s.ambulances == 0) {
        return Err(SimError::Empty(
            "the scenario has no units (no station has ambulances)".into(),
        ));
    }
    if sc.hospitals.is_empty() && o.transport_share > 0.0 {
        return Err(SimError::Empty("the scenario has no hospitals".into()));
    }
    if !(o.calls_per_1000.is_finite() && o.calls_per_1000 >= 0.0) {
        return Err(SimError::Invalid(format!(
            "call rate {} per 1,000 residents must be non-negative",
            o.calls_per_1000
        )));
    }
    if !(o.days.is_finite() && o.days > 0.0) || o.replications == 0 {
        return Err(SimError::Invalid(
            "days and replications must be positive".into(),
        ));
    }
    Ok(())
}

/// Builds the model: units from the stations, hospitals, atoms from the zones (or the log's
/// points with `trace`), and the travel matrices.
pub fn prepare(
    sc: &Scenario,
    tm: &TravelModel,
    o: &SimOptions,
    trace: Option<&IncidentLog>,
) -> Result<Prepared, SimError> {
    check_options(sc, o)?;
    let stations: Vec<Snapped> = sc
        .stations
        .iter()
        .map(|s| snap(tm, s.lon_lat, &format!("station `{}`", s.id)))
        .collect::<Result<_, _>>()?;
    let hospitals: Vec<Snapped> = sc
        .hospitals
        .iter()
        .map(|h| snap(tm, h.lon_lat, &format!("hospital `{}`", h.id)))
        .collect::<Result<_, _>>()?;
    let mut atoms = Atoms::default();
    let mut left_out = 0;
    let trace = match trace {
        None => {
            for z in &sc.demand {
                if let Ok(s) = tm.snap(z.lon_lat) {
                    atoms.push(s, Some(z.id.clone()), z.lon_lat, z.population);
                }
            }
            None
        }
        Some(log) => Some(trace_atoms(sc, tm, log, &mut atoms, &mut left_out)?),
    };
    let origin = match &trace {
        Some(t) => t.origin,
        None => sc
            .timezone
            .localize(
                &NaiveDate::from_ymd_opt(2025, 1, 1)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .unwrap_or_default(),
            )
            .unwrap_or_else(|| Utc::now().fixed_offset()),
    };
    let mut unit_station = Vec::new();
    let mut unit_ids = Vec::new();
    for (k, st) in sc.stations.iter().enumerate() {
        for a in 1..=st.ambulances {
            unit_station.push(k);
            unit_ids.push(st.unit_id(a));
        }
    }
    // A traffic profile: hours with one factor on every class scale the free-flow times; the
    // others (factors by road class) get their own matrices, one per band of equal hours.
    let mut hour_factor = o.hour_factor;
    let mut hour_geometry = [None; 24];
    let mut hour_geometries = Vec::new();
    if let Some(t) = tm.traffic() {
        let (plan, own) = t.hour_plan(tm.has_exempt_roads());
        for (h, times) in plan.iter().enumerate() {
            match *times {
                HourTimes::Scaled(f) => hour_factor[h] *= f,
                HourTimes::Own(k) => hour_geometry[h] = Some(k),
            }
        }
        hour_geometries = own
            .iter()
            .map(|&h| geometry(&tm.at_hour(h), &stations, &hospitals, &atoms.points))
            .collect();
    }
    let model = SimModel {
        geometry: geometry(tm, &stations, &hospitals, &atoms.points),
        hour_geometries,
        hour_geometry,
        unit_station,
        unit_ids,
        hospitals: sc.hospitals.clone(),
        service: Service::Road(RoadService {
            on_scene_min: o.on_scene_min,
            transport_share: o.transport_share,
            handover_min: sc
                .hospitals
                .iter()
                .map(|h| {
                    o.handover_by_hospital
                        .iter()
                        .find(|(id, _)| *id == h.id)
                        .map_or(o.handover_min, |x| x.1)
                })
                .collect(),
            handover_scale: o.handover_scale,
            on_scene_by_priority: o.on_scene_by_priority.clone(),
            release_after_min: o.release_after_min,
            detention: o.detention,
            stretchers: sc
                .hospitals
                .iter()
                .map(|h| o.stretchers.iter().find(|(id, _)| *id == h.id).map(|x| x.1))
                .collect(),
            stretcher_hold_min: o.stretcher_hold_min,
            stretcher_rule: o.stretcher_rule,
        }),
        call_handling_s: o.call_handling_s,
        turnout_s: o.turnout_s,
        queue: QueuePolicy::Infinite,
        hour_factor,
        detention_threshold_min: o.detention_threshold_min,
        policy: sim_policy(sc, tm, o)?,
    };
    model.check()?;
    let (trace_calls, trace_ids) = match trace {
        Some(t) => (Some(t.calls), t.ids),
        None => (None, Vec::new()),
    };
    Ok(Prepared {
        model,
        atom_zone: atoms.zone,
        atom_point: atoms.lon_lat,
        atom_population: atoms.population,
        trace: trace_calls,
        trace_ids,
        origin,
        calls_left_out: left_out,
        travel: {
            let peaks = if o.hour_factor.iter().any(|f| *f != 1.0) {
                ", times the hour factors given (--peak-factor)"
            } else {
                ""
            };
            tm.describe_traffic(" at each moment's local hour") + peaks
        },
    })
}

/// The engine's policy from the options: the compliance table checked against the scenario,
/// or dynamic MEXCLP's coverage.
fn sim_policy(sc: &Scenario, tm: &TravelModel, o: &SimOptions) -> Result<SimPolicy, SimError> {
    let p = &o.policy;
    p.caps.check().map_err(SimError::Invalid)?;
    let units: usize = sc.stations.iter().map(|s| s.ambulances as usize).sum();
    let mut out = SimPolicy {
        kind: p.kind,
        caps: p.caps,
        busy: p.busy,
        target_s: o.response_target_min * 60.0,
        ..SimPolicy::default()
    };
    match p.kind {
        PolicyKind::Static => {}
        PolicyKind::Table => {
            let Some((path, table)) = &p.table else {
                return Err(SimError::Invalid(
                    "the table policy needs a compliance table (--table FILE, from `ems optimize \
                     --model compliance-table`)"
                        .into(),
                ));
            };
            let ids: Vec<String> = sc.stations.iter().map(|s| s.id.clone()).collect();
            out.table = table
                .resolve(path, &sc.name, &ids, units)
                .map_err(|e| SimError::Invalid(e.to_string()))?;
        }
        PolicyKind::Dmexclp | PolicyKind::DmexclpReturn => {
            // The live board's coverage rule, with the mean delays.
            let budget = Budget {
                response_target_min: o.response_target_min,
                call_handling_s: o.call_handling_s.mean(),
                turnout_s: o.turnout_s.mean(),
            };
            out.cover = Some(Coverage::new(sc, tm, budget).cover_model())
        }
    }
    Ok(out)
}

fn weighted(rng: &mut ChaCha8Rng, w: &[f64]) -> usize {
    let total: f64 = w.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, v) in w.iter().enumerate() {
        if x < *v {
            return i;
        }
        x -= v;
    }
    w.len() - 1
}

/// Poisson calls from the zone atoms over `days`, in time order (a function of the seed
/// only, so two plans see the same calls), generated as they are pulled.
struct CallGen {
    rng: ChaCha8Rng,
    per_s: Vec<f64>,
    /// Relative volume by hour of day (24) or of week (168), from time 0's hour `offset`.
    profile: Vec<f64>,
    offset: usize,
    hour_mean: f64,
    peak: f64,
    total: f64,
    horizon: f64,
    priority_shares: Vec<f64>,
    conditions: Vec<Option<Capability>>,
    condition_w: Vec<f64>,
    t: f64,
}

fn generate(p: &Prepared, o: &SimOptions, seed: u64) -> CallGen {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::MAX);
    let (per_s, profile, offset): (Vec<f64>, Vec<f64>, usize) = match &o.fitted_demand {
        None => (
            p.atom_population
                .iter()
                .map(|pop| o.calls_per_1000 * pop / 1000.0 / (365.0 * 86_400.0))
                .collect(),
            o.hour_profile.to_vec(),
            0,
        ),
        // A zone's rate is its share of the log's weekly calls; zones off the map have none.
        Some(d) => {
            let shares = d.shares();
            (
                p.atom_zone
                    .iter()
                    .map(|z| {
                        let share = z
                            .as_deref()
                            .and_then(|z| shares.get(z))
                            .copied()
                            .unwrap_or(0.0);
                        d.fitted.calls_per_week * share / (7.0 * 86_400.0)
                    })
                    .collect(),
                d.fitted.profile.clone(),
                super::demand::hour_of_week(&p.origin),
            )
        }
    };
    let hour_mean = profile.iter().sum::<f64>() / profile.len() as f64;
    let peak = profile.iter().copied().fold(0.0, f64::max) / hour_mean;
    let total: f64 = per_s.iter().sum::<f64>() * peak;
    let mut conditions: Vec<Option<Capability>> =
        o.condition_shares.iter().map(|(c, _)| Some(*c)).collect();
    let mut condition_w: Vec<f64> = o.condition_shares.iter().map(|(_, w)| *w).collect();
    conditions.push(None);
    condition_w.push((1.0 - condition_w.iter().sum::<f64>()).max(0.0));
    CallGen {
        rng,
        per_s,
        profile,
        offset,
        hour_mean,
        peak,
        total,
        horizon: o.days * 86_400.0,
        priority_shares: o.priority_shares.clone(),
        conditions,
        condition_w,
        t: 0.0,
    }
}

impl Iterator for CallGen {
    type Item = Call;

    fn next(&mut self) -> Option<Call> {
        if self.total <= 0.0 || !self.total.is_finite() {
            return None;
        }
        // Thinning: candidate arrivals at the peak rate, kept by the hour's share.
        loop {
            self.t += -(1.0 - self.rng.random::<f64>()).ln() / self.total;
            if self.t > self.horizon {
                self.total = 0.0;
                return None;
            }
            let hour = (self.offset + (self.t / 3600.0) as usize) % self.profile.len();
            if self.rng.random::<f64>() * self.peak > self.profile[hour] / self.hour_mean {
                continue;
            }
            let atom = weighted(&mut self.rng, &self.per_s);
            let priority = weighted(&mut self.rng, &self.priority_shares) as u8 + 1;
            let condition = self.conditions[weighted(&mut self.rng, &self.condition_w)];
            return Some(Call {
                t: self.t,
                atom,
                priority,
                condition,
            });
        }
    }
}

/// Where the calls come from, for reports.
fn calls_text(p: &Prepared, o: &SimOptions) -> String {
    match (&p.trace, &o.fitted_demand) {
        (Some(c), _) => format!("{} calls replayed from the incident log", c.len()),
        (None, Some(d)) => format!(
            "Poisson by zone and hour of week, fitted to {}: {:.1} calls per week ({} calls over \
             {:.1} weeks; zone shares shrunk toward {}, α = {}, β = {}, γ = {})",
            d.source,
            d.fitted.calls_per_week,
            d.calls_used,
            d.weeks,
            d.prior,
            d.smoothing.alpha,
            d.smoothing.beta,
            d.smoothing.gamma
        ),
        (None, None) => format!(
            "Poisson by zone, {} per 1,000 residents per year, by hour of day",
            o.calls_per_1000
        ),
    }
}

fn condition_name(c: Option<Capability>) -> Option<String> {
    c.map(|c| c.as_str().to_string())
}

/// Call `k` of a replication as the incident log the standards check reads.
fn to_incident(p: &Prepared, k: usize, c: &Call, rec: &des::CallRecord) -> Incident {
    let at = |s: f64| p.origin + Duration::milliseconds((s * 1000.0).round() as i64);
    Incident {
        line: k as u64 + 2,
        dispatched: rec.dispatched.map(at),
        departed: rec.departed.map(at),
        on_scene: rec.on_scene.map(at),
        at_hospital: rec.at_hospital.map(at),
        handover_complete: rec.handover_complete.map(at),
        unit: rec.unit.map(|u| p.model.unit_ids[u].clone()),
        hospital: rec.hospital.map(|h| p.model.hospitals[h].id.clone()),
        condition: condition_name(c.condition),
        zone: p.atom_zone[c.atom].clone(),
        ..Incident::call(
            p.trace_ids
                .get(k)
                .cloned()
                .unwrap_or_else(|| format!("sim-{:06}", k + 1)),
            at(rec.received),
            c.priority,
            p.atom_point[c.atom],
        )
    }
}

/// One replication's figures (its incidents are summed as they finish, not kept).
struct Rep {
    calls: usize,
    response: standards::log::Response,
    detention: standards::log::Detention,
    busy: Vec<f64>,
    waited: f64,
    unstable: bool,
    relocations_per_unit_hour: f64,
    /// Hospital arrivals that found no free stretcher (`None`: no hospital counts them).
    stretcher_short: Option<f64>,
    incidents: Option<Vec<Incident>>,
}

/// Runs replication `k`: its calls stream through the engine and each finished call is added
/// to the response and detention sums by the standards' own definitions.
fn replicate(
    sc: &Scenario,
    p: &Prepared,
    o: &SimOptions,
    zones: &ZoneAssigner,
    k: u64,
) -> Result<Rep, SimError> {
    let seed = o.seed.wrapping_mul(1_000_003).wrapping_add(k);
    let calls: Box<dyn Iterator<Item = Call> + '_> = match &p.trace {
        Some(c) => Box::new(c.iter().cloned()),
        None => Box::new(generate(p, o, seed)),
    };
    let mut resp = ResponseSums::default();
    let mut det = DetentionSums::default();
    let mut dq = DataQuality::default();
    let mut kept = (o.keep_incidents && k == 0).then(Vec::new);
    let r = des::run_with(&p.model, calls, seed, false, &mut |i, c, rec| {
        let inc = to_incident(p, i, c, rec);
        resp.push(&inc, zones.zone_of(&inc).map(str::to_string), &mut dq);
        det.push(&inc, &mut dq);
        if let Some(v) = &mut kept {
            v.push(inc);
        }
    })?;
    if let Some(v) = &mut kept {
        v.sort_by_key(|i| i.line);
    }
    let rules = HandoverRules {
        detention_threshold_min: o.detention_threshold_min,
        thresholds_min: &standards::targets::DEFAULT_HANDOVER_THRESHOLDS_MIN,
        lost_after_min: standards::targets::DEFAULT_HANDOVER_LOST_AFTER_MIN,
    };
    // Only the figures stay: the samples behind them would grow with the replications.
    let mut response = resp.finish(o.response_target_min);
    response.samples_min = Vec::new();
    let mut detention = det.finish(&|id| standards::hospital_name(sc, id), &rules);
    detention.samples_min = Vec::new();
    for h in &mut detention.per_hospital {
        h.samples_min = Vec::new();
    }
    if let Some(w) = &mut detention.wall_time_proxy {
        for h in &mut w.per_hospital {
            h.samples_min = Vec::new();
        }
    }
    let horizon = r.horizon_s.max(1e-9);
    let unit_hours = r.unit_busy_s.len() as f64 * horizon / 3600.0;
    Ok(Rep {
        calls: r.calls,
        response,
        detention,
        busy: r.unit_busy_s.iter().map(|b| b / horizon).collect(),
        waited: r.waited as f64 / r.calls.max(1) as f64,
        unstable: r.left_waiting >= 10 && r.left_waiting * 100 >= r.calls,
        relocations_per_unit_hour: r.relocations as f64 / unit_hours.max(1e-9),
        stretcher_short: (!o.stretchers.is_empty() && r.hospital_arrivals > 0)
            .then(|| r.stretcher_short as f64 / r.hospital_arrivals as f64),
        incidents: kept,
    })
}

/// Runs the replications in parallel and summarises them. Each replication is reduced to its
/// figures as it finishes, so memory does not grow with the number of replications.
pub fn simulate(sc: &Scenario, p: &Prepared, o: &SimOptions) -> Result<Outcome, SimError> {
    let zones = ZoneAssigner::new(sc);
    let reps: Vec<Result<Rep, SimError>> = (0..o.replications as u64)
        .into_par_iter()
        .map(|k| replicate(sc, p, o, &zones, k))
        .collect();
    let mut reps: Vec<Rep> = reps.into_iter().collect::<Result<_, _>>()?;
    let col = |f: &dyn Fn(&Rep) -> Option<f64>| -> Option<Estimate> {
        estimate(&reps.iter().filter_map(f).collect::<Vec<_>>())
    };
    let mut priorities: Vec<u8> = reps
        .iter()
        .flat_map(|r| r.response.by_priority.keys().copied())
        .collect();
    priorities.sort_unstable();
    priorities.dedup();
    let mut zone_ids: Vec<String> = reps
        .iter()
        .flat_map(|r| r.response.by_zone.keys().cloned())
        .collect();
    zone_ids.sort();
    zone_ids.dedup();
    let overall = |r: &Rep| r.response.overall.clone();
    let summary = Summary {
        replications: reps.len(),
        calls_per_replication: col(&|r| Some(r.calls as f64)),
        mean_response_min: col(&|r| overall(r).map(|g| g.summary.mean)),
        share_within_target: col(&|r| overall(r).map(|g| g.share_within_target)),
        p90_response_min: col(&|r| overall(r).map(|g| g.summary.p90)),
        response_target_min: o.response_target_min,
        by_priority: priorities
            .iter()
            .map(|pr| {
                (
                    *pr,
                    col(&|r| r.response.by_priority.get(pr).map(|g| g.summary.mean)),
                    col(&|r| {
                        r.response
                            .by_priority
                            .get(pr)
                            .map(|g| g.share_within_target)
                    }),
                )
            })
            .collect(),
        by_zone: zone_ids
            .iter()
            .map(|z| {
                (
                    z.clone(),
                    col(&|r| r.response.by_zone.get(z).map(|g| g.summary.mean)),
                    col(&|r| r.response.by_zone.get(z).map(|g| g.share_within_target)),
                )
            })
            .collect(),
        detention_rate: col(&|r| r.detention.rate),
        detention_threshold_min: o.detention_threshold_min,
        lost_hours: col(&|r| Some(r.detention.lost_hours)),
        waited_share: col(&|r| Some(r.waited)),
        unit_busy: p
            .model
            .unit_ids
            .iter()
            .enumerate()
            .map(|(u, id)| (id.clone(), col(&|r| Some(r.busy[u]))))
            .collect(),
        unstable: reps.iter().any(|r| r.unstable),
        calls_left_out: p.calls_left_out,
        travel: p.travel.clone(),
        calls: calls_text(p, o),
        policy: o.policy.kind,
        relocations_per_unit_hour: col(&|r| Some(r.relocations_per_unit_hour)),
        stretcher_short_share: col(&|r| r.stretcher_short),
    };
    let figures = reps
        .iter()
        .map(|r| {
            let g = overall(r);
            RepFigures {
                mean_response_min: g.as_ref().map(|g| g.summary.mean),
                share_within_target: g.as_ref().map(|g| g.share_within_target),
                p90_response_min: g.as_ref().map(|g| g.summary.p90),
                detention_rate: r.detention.rate,
                lost_hours: r.detention.lost_hours,
                waited_share: r.waited,
                relocations_per_unit_hour: r.relocations_per_unit_hour,
            }
        })
        .collect();
    let incidents = reps
        .first_mut()
        .and_then(|r| r.incidents.take())
        .unwrap_or_default();
    Ok(Outcome {
        summary,
        reps: figures,
        incidents,
    })
}

#[cfg(test)]
mod tests {
    /// Published two-sided 95 % critical values (e.g. NIST/SEMATECH e-Handbook, Table 1.4.2),
    /// and the normal limit.
    #[test]
    fn student_t_quantiles() {
        for (df, t) in [
            (1, 12.706),
            (2, 4.303),
            (9, 2.262),
            (30, 2.042),
            (31, 2.040),
            (40, 2.021),
            (60, 2.000),
            (100, 1.984),
        ] {
            assert!(
                (super::t975(df) - t).abs() < 5e-4,
                "df {df}: {}",
                super::t975(df)
            );
        }
        for df in [1_000_000, 10_000_000] {
            assert!(
                (super::t975(df) - 1.959_964).abs() < 1e-5,
                "{}",
                super::t975(df)
            );
        }
    }
}
