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

use super::des::{
    self, Call, Dist, Geometry, QueuePolicy, RoadService, Service, SimError, SimModel,
};
use super::synthetic::HOUR_PROFILE;

use crate::model::{Capability, Incident, IncidentLog, Scenario};
use crate::network::traffic::HourTimes;
use crate::network::{Snapped, TravelModel};
use crate::standards::{self, DataQuality};

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
    let figures: [(&str, Get); 6] = [
        ("mean response (min)", |r| r.mean_response_min),
        ("share within target", |r| r.share_within_target),
        ("P90 response (min)", |r| r.p90_response_min),
        ("detention rate", |r| r.detention_rate),
        ("lost hours at EDs", |r| Some(r.lost_hours)),
        ("calls that waited", |r| Some(r.waited_share)),
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
        }),
        call_handling_s: o.call_handling_s,
        turnout_s: o.turnout_s,
        queue: QueuePolicy::Infinite,
        hour_factor,
        detention_threshold_min: o.detention_threshold_min,
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

/// Poisson calls from the zone atoms over `days` (a function of the seed only, so two plans
/// see the same calls).
fn generate(p: &Prepared, o: &SimOptions, seed: u64) -> Vec<Call> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::MAX);
    let per_s: Vec<f64> = p
        .atom_population
        .iter()
        .map(|pop| o.calls_per_1000 * pop / 1000.0 / (365.0 * 86_400.0))
        .collect();
    let profile = &o.hour_profile;
    let hour_mean = profile.iter().sum::<f64>() / 24.0;
    let peak = profile.iter().copied().fold(0.0, f64::max) / hour_mean;
    let total: f64 = per_s.iter().sum::<f64>() * peak;
    let horizon = o.days * 86_400.0;
    let mut out = Vec::new();
    if total <= 0.0 || !total.is_finite() {
        return out;
    }
    let mut conditions: Vec<Option<Capability>> =
        o.condition_shares.iter().map(|(c, _)| Some(*c)).collect();
    let mut condition_w: Vec<f64> = o.condition_shares.iter().map(|(_, w)| *w).collect();
    conditions.push(None);
    condition_w.push((1.0 - condition_w.iter().sum::<f64>()).max(0.0));
    // Thinning: candidate arrivals at the peak rate, kept by the hour's share.
    let mut t = 0.0;
    loop {
        t += -(1.0 - rng.random::<f64>()).ln() / total;
        if t > horizon {
            return out;
        }
        let hour = ((t / 3600.0) as usize) % 24;
        if rng.random::<f64>() * peak > profile[hour] / hour_mean {
            continue;
        }
        let atom = weighted(&mut rng, &per_s);
        let priority = weighted(&mut rng, &o.priority_shares) as u8 + 1;
        let condition = conditions[weighted(&mut rng, &condition_w)];
        out.push(Call {
            t,
            atom,
            priority,
            condition,
        });
    }
}

fn condition_name(c: Option<Capability>) -> Option<String> {
    c.map(|c| c.as_str().to_string())
}

/// A replication's calls as the incident log the standards check reads.
fn to_incidents(p: &Prepared, calls: &[Call], r: &des::Replication) -> Vec<Incident> {
    let at = |s: f64| p.origin + Duration::milliseconds((s * 1000.0).round() as i64);
    calls
        .iter()
        .zip(&r.calls)
        .enumerate()
        .map(|(k, (c, rec))| Incident {
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
        })
        .collect()
}

/// Runs the replications in parallel and summarises them.
pub fn simulate(sc: &Scenario, p: &Prepared, o: &SimOptions) -> Result<Outcome, SimError> {
    struct Rep {
        incidents: Vec<Incident>,
        busy: Vec<f64>,
        waited: f64,
        unstable: bool,
    }
    let reps: Vec<Result<Rep, SimError>> = (0..o.replications as u64)
        .into_par_iter()
        .map(|k| {
            let seed = o.seed.wrapping_mul(1_000_003).wrapping_add(k);
            let calls = match &p.trace {
                Some(c) => c.clone(),
                None => generate(p, o, seed),
            };
            let r = des::run(&p.model, &calls, seed)?;
            let busy = r
                .unit_busy_s
                .iter()
                .map(|b| b / r.horizon_s.max(1e-9))
                .collect();
            let waited =
                r.calls.iter().filter(|c| c.waited).count() as f64 / r.calls.len().max(1) as f64;
            Ok(Rep {
                incidents: to_incidents(p, &calls, &r),
                busy,
                waited,
                unstable: r.left_waiting >= 10 && r.left_waiting * 100 >= r.calls.len(),
            })
        })
        .collect();
    let reps: Vec<Rep> = reps.into_iter().collect::<Result<_, _>>()?;
    let mut resp = Vec::new();
    let mut det = Vec::new();
    for r in &reps {
        let mut dq = DataQuality::default();
        resp.push(standards::response_from_log(
            sc,
            &r.incidents,
            o.response_target_min,
            &mut dq,
        ));
        det.push(standards::detention_from_log(
            sc,
            &r.incidents,
            o.detention_threshold_min,
            &mut dq,
        ));
    }
    let col = |f: &dyn Fn(usize) -> Option<f64>| -> Option<Estimate> {
        estimate(&(0..reps.len()).filter_map(f).collect::<Vec<_>>())
    };
    let mut priorities: Vec<u8> = resp
        .iter()
        .flat_map(|r| r.by_priority.keys().copied())
        .collect();
    priorities.sort_unstable();
    priorities.dedup();
    let mut zones: Vec<String> = resp
        .iter()
        .flat_map(|r| r.by_zone.keys().cloned())
        .collect();
    zones.sort();
    zones.dedup();
    let summary = Summary {
        replications: reps.len(),
        calls_per_replication: col(&|k| Some(reps[k].incidents.len() as f64)),
        mean_response_min: col(&|k| resp[k].overall.as_ref().map(|g| g.summary.mean)),
        share_within_target: col(&|k| resp[k].overall.as_ref().map(|g| g.share_within_target)),
        p90_response_min: col(&|k| resp[k].overall.as_ref().map(|g| g.summary.p90)),
        response_target_min: o.response_target_min,
        by_priority: priorities
            .iter()
            .map(|pr| {
                (
                    *pr,
                    col(&|k| resp[k].by_priority.get(pr).map(|g| g.summary.mean)),
                    col(&|k| resp[k].by_priority.get(pr).map(|g| g.share_within_target)),
                )
            })
            .collect(),
        by_zone: zones
            .iter()
            .map(|z| {
                (
                    z.clone(),
                    col(&|k| resp[k].by_zone.get(z).map(|g| g.summary.mean)),
                    col(&|k| resp[k].by_zone.get(z).map(|g| g.share_within_target)),
                )
            })
            .collect(),
        detention_rate: col(&|k| det[k].rate),
        detention_threshold_min: o.detention_threshold_min,
        lost_hours: col(&|k| Some(det[k].lost_hours)),
        waited_share: col(&|k| Some(reps[k].waited)),
        unit_busy: p
            .model
            .unit_ids
            .iter()
            .enumerate()
            .map(|(u, id)| (id.clone(), col(&|k| Some(reps[k].busy[u]))))
            .collect(),
        unstable: reps.iter().any(|r| r.unstable),
        calls_left_out: p.calls_left_out,
        travel: p.travel.clone(),
    };
    let figures = (0..reps.len())
        .map(|k| RepFigures {
            mean_response_min: resp[k].overall.as_ref().map(|g| g.summary.mean),
            share_within_target: resp[k].overall.as_ref().map(|g| g.share_within_target),
            p90_response_min: resp[k].overall.as_ref().map(|g| g.summary.p90),
            detention_rate: det[k].rate,
            lost_hours: det[k].lost_hours,
            waited_share: reps[k].waited,
        })
        .collect();
    let incidents = reps
        .into_iter()
        .next()
        .map(|r| r.incidents)
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
