//! The discrete-event simulation engine: calls, dispatch, busy units, transport and hospital
//! handover, on precomputed road travel times.
//!
//! This module owns the event loop and its bookkeeping. It must not compute travel times (the
//! caller builds a [`Geometry`] from the shared travel model) nor define dispatch rules: it
//! applies [`crate::dispatch::recommend`]'s (`turnout_delay`, `unit_order`, `designated`,
//! `detaining`, `hospital_order`), the same ones the live API uses.
//!
//! # Model
//! - A call at atom `a` is handled (call-handling delay), then dispatched to the free unit with
//!   the smallest ETA = turnout (none if already rolling) + travel. Free units are those at
//!   their post, those returning and those relocating. A moving unit's position is not
//!   tracked: its ETA is the shorter of two routes it could take, driving on to where it is
//!   heading and from there, or turning back (the time it has driven) to where it left and
//!   from there (a hospital; for calls, not a scene, as the engine has no scene-to-scene
//!   times, so a unit returning from a scene finishes its return first), a
//!   documented approximation.
//! - With no free unit the call waits in a priority queue (priority, then arrival); the first
//!   unit to become free takes the head of the queue. With [`QueuePolicy::Lost`] it is lost.
//! - [`Service::Exponential`]: the unit is busy for one exponential time from dispatch and
//!   is then back at its station (the hypercube's assumptions).
//! - [`Service::Road`]: travel to the scene, an on-scene time, transport with a probability
//!   (hospital chosen by the dispatch rule with the live handover queues), handover at the
//!   emergency department (waiting for a bay when the hospital has bays), and the drive back.
//! - Travel times are scaled by an hour-of-day factor. Time 0 is local midnight.
//! - Every call draws its random numbers from its own generator, seeded by the replication seed
//!   and its index, as uniforms turned into times by each distribution's quantile function
//!   ([`Dist::quantile`]): two plans, two policies or two detention levels see the same calls
//!   with the same on-scene and handover draws (common random numbers), and a longer
//!   distribution stretches the same draw.
//! - Move-ups ([`SimPolicy`], the rules of [`crate::dispatch::policy`]): a free unit stands at
//!   or drives to its **post** (its home station under the static policy). A unit relocating
//!   between posts is free; its ETA to a call is the shorter of driving on to the new post and
//!   from there, or turning back to the old post (the time already driven) and from there.
//! - Hospital release rule: with `release_after_min`, an ambulance still waiting or handing
//!   over that long after arriving is released (the handover is complete then).
//! - Stretchers: a hospital with `stretchers` has that many trolleys for ambulance patients; a
//!   patient keeps one from the handover's end for a draw of `stretcher_hold_min`. An
//!   ambulance that finds none free either waits for one before its handover
//!   ([`StretcherRule::Wait`], the wait counts as detention) or leaves its own stretcher with
//!   the patient and drives back to its station for a spare, busy until it is there
//!   ([`StretcherRule::Leave`]).
//! - Memory: calls are pulled from an iterator as they arrive and each call's record is handed
//!   to a sink as soon as it is final (the unit leaves the scene or the hospital), so a run
//!   holds only the calls in progress.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use ordered_float::OrderedFloat;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use statrs::distribution::ContinuousCDF;

use crate::dispatch::policy::{
    self, Candidate, Caps, CoverModel, FreeUnit, PolicyKind, RelocationLog,
};
use crate::dispatch::recommend;
use crate::model::{Capability, Hospital};

/// Travel times in seconds between stations, hospitals and call atoms (row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry {
    pub stations: usize,
    pub hospitals: usize,
    pub atoms: usize,
    /// `[s * atoms + a]`
    pub station_to_atom: Vec<f64>,
    /// `[a * stations + s]`
    pub atom_to_station: Vec<f64>,
    /// `[a * hospitals + h]`
    pub atom_to_hospital: Vec<f64>,
    /// `[h * atoms + a]`
    pub hospital_to_atom: Vec<f64>,
    /// `[h * stations + s]`
    pub hospital_to_station: Vec<f64>,
    /// `[s * stations + t]` (relocations).
    pub station_to_station: Vec<f64>,
}

/// A distribution of a duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Dist {
    Fixed(f64),
    Exponential {
        mean: f64,
    },
    /// Log-normal given by its median and 90th percentile.
    LogNormal {
        median: f64,
        p90: f64,
    },
}

impl Dist {
    /// Checks the parameters; `what` names the distribution in the message.
    pub fn check(&self, what: &str) -> Result<(), SimError> {
        let ok = match *self {
            Dist::Fixed(v) => v.is_finite() && v >= 0.0,
            Dist::Exponential { mean } => mean.is_finite() && mean > 0.0,
            Dist::LogNormal { median, p90 } => {
                median.is_finite() && median > 0.0 && p90.is_finite() && p90 >= median
            }
        };
        if ok {
            Ok(())
        } else {
            Err(SimError::Invalid(format!(
                "{what}: invalid distribution {self:?}"
            )))
        }
    }

    /// The value at cumulative probability `u` (clamped into (0, 1)): the inverse CDF.
    pub fn quantile(&self, u: f64) -> f64 {
        let u = u.clamp(1e-12, 1.0 - 1e-12);
        match *self {
            Dist::Fixed(v) => v,
            Dist::Exponential { mean } => -mean * (1.0 - u).ln(),
            Dist::LogNormal { median, p90 } => median * (log_sigma(median, p90) * probit(u)).exp(),
        }
    }

    /// `P(X ≤ x)`.
    pub fn cdf(&self, x: f64) -> f64 {
        match *self {
            Dist::Fixed(v) => f64::from(u8::from(x >= v)),
            Dist::Exponential { mean } => {
                if x <= 0.0 {
                    0.0
                } else {
                    1.0 - (-x / mean).exp()
                }
            }
            Dist::LogNormal { median, p90 } => {
                if x <= 0.0 {
                    return 0.0;
                }
                let sigma = log_sigma(median, p90);
                if sigma == 0.0 {
                    return f64::from(u8::from(x >= median));
                }
                normal().cdf((x / median).ln() / sigma)
            }
        }
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Exponential { mean } => mean,
            Dist::LogNormal { median, p90 } => {
                median * (log_sigma(median, p90).powi(2) / 2.0).exp()
            }
        }
    }
}

/// The standard normal.
fn normal() -> statrs::distribution::Normal {
    statrs::distribution::Normal::standard()
}

/// `Φ⁻¹(u)`.
fn probit(u: f64) -> f64 {
    use statrs::distribution::ContinuousCDF;
    normal().inverse_cdf(u)
}

/// The log-normal's σ from its median and 90th percentile (z_0.9 = 1.2815515655446004).
fn log_sigma(median: f64, p90: f64) -> f64 {
    (p90 / median).ln() / 1.281_551_565_544_600_4
}

/// What a unit does after dispatch.
#[derive(Debug, Clone, PartialEq)]
pub enum Service {
    /// Busy for one exponential time (minutes) from dispatch, then back at its station.
    Exponential { mean_min: f64 },
    /// The job on the road model.
    Road(RoadService),
}

/// The job's stages beyond travel.
#[derive(Debug, Clone, PartialEq)]
pub struct RoadService {
    /// Minutes on scene.
    pub on_scene_min: Dist,
    /// Share of calls transported to hospital.
    pub transport_share: f64,
    /// Handover minutes at each hospital (arrival → handover complete, once a bay is free).
    pub handover_min: Vec<Dist>,
    /// Multiplies handover times (0.5 halves detention).
    pub handover_scale: f64,
    /// On-scene minutes by priority, overriding `on_scene_min`.
    pub on_scene_by_priority: Vec<(u8, Dist)>,
    /// An ambulance is released this many minutes after arriving at the hospital, handover
    /// done or not (the NHS's 45-minute rule); `None`: it waits as long as it takes.
    pub release_after_min: Option<f64>,
    /// Set the share of detained arrivals directly (the detention sweep).
    pub detention: Option<DetentionMix>,
    /// Stretchers for ambulance patients at each hospital (`None`: not limited).
    pub stretchers: Vec<Option<u32>>,
    /// Minutes a patient keeps a hospital stretcher after the handover.
    pub stretcher_hold_min: Dist,
    pub stretcher_rule: StretcherRule,
}

/// What an ambulance does when the hospital has no free stretcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum StretcherRule {
    /// It waits with the patient on its own stretcher until one is free (detention).
    #[default]
    Wait,
    /// It leaves its stretcher with the patient and drives to its station for a spare.
    Leave,
}

/// Handover times that make a given share of hospital arrivals detained: with probability
/// `share` the handover lasts the detention threshold plus a draw of `excess_min`; otherwise a
/// draw of the hospital's handover distribution conditioned below the threshold (its quantile
/// at `u × F(threshold)`). Waiting for a bay comes on top, so the detention measured can be a
/// little higher.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DetentionMix {
    pub share: f64,
    pub excess_min: Dist,
}

/// The move-up policy the engine applies (see [`crate::dispatch::policy`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SimPolicy {
    pub kind: PolicyKind,
    /// Which zones a unit idle at each station covers (dynamic MEXCLP).
    pub cover: Option<CoverModel>,
    /// The compliance table: `table[k - 1]` holds the stations of `k` free units.
    pub table: Vec<Vec<usize>>,
    pub caps: Caps,
    /// The busy fraction for dynamic MEXCLP; `None`: the running share of time units have
    /// been busy so far (starting from 0.3 for the first hour).
    pub busy: Option<f64>,
    /// The response target, seconds (which units reach a call in time).
    pub target_s: f64,
}

impl Default for SimPolicy {
    /// The static policy.
    fn default() -> Self {
        SimPolicy {
            kind: PolicyKind::Static,
            cover: None,
            table: Vec::new(),
            caps: Caps::default(),
            busy: None,
            target_s: 12.0 * 60.0,
        }
    }
}

/// What happens to a call when no unit is free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum QueuePolicy {
    /// It waits for the first free unit.
    Infinite,
    /// It is lost.
    Lost,
}

/// The simulated system.
#[derive(Debug, Clone, PartialEq)]
pub struct SimModel {
    /// Travel times at free flow (or at every hour without a geometry of its own).
    pub geometry: Geometry,
    /// Travel times of hours whose traffic factors differ by road class (a traffic profile's
    /// bands); `hour_geometry[h]` picks one for local hour `h` (`None`: `geometry`, times
    /// `hour_factor[h]`).
    pub hour_geometries: Vec<Geometry>,
    pub hour_geometry: [Option<usize>; 24],
    /// Each unit's station.
    pub unit_station: Vec<usize>,
    /// Unit ids (for ties and the incident log).
    pub unit_ids: Vec<String>,
    /// The hospitals (designations and bays), in geometry order.
    pub hospitals: Vec<Hospital>,
    pub service: Service,
    /// Seconds.
    pub call_handling_s: Dist,
    /// Seconds.
    pub turnout_s: Dist,
    pub queue: QueuePolicy,
    /// Travel-time factor by local hour (1 = free flow).
    pub hour_factor: [f64; 24],
    pub detention_threshold_min: f64,
    pub policy: SimPolicy,
}

/// A call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Call {
    /// Seconds from local midnight of day 0.
    pub t: f64,
    pub atom: usize,
    /// 1 is the most urgent.
    pub priority: u8,
    pub condition: Option<Capability>,
}

/// One call's simulated times (seconds from time 0; `None` when not reached).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    pub received: f64,
    pub dispatched: Option<f64>,
    pub departed: Option<f64>,
    pub on_scene: Option<f64>,
    pub at_hospital: Option<f64>,
    pub handover_complete: Option<f64>,
    pub unit: Option<usize>,
    pub hospital: Option<usize>,
    /// It waited for a unit.
    pub waited: bool,
    /// It was lost (no free unit, no queue).
    pub lost: bool,
}

/// One replication's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replication {
    pub calls: Vec<CallRecord>,
    /// Seconds each unit was busy (dispatch → free at its station).
    pub unit_busy_s: Vec<f64>,
    /// `dispatches[u][a]`: dispatches of unit `u` to atom `a`.
    pub dispatches: Vec<Vec<u64>>,
    /// Length of the simulated period, seconds.
    pub horizon_s: f64,
    /// Calls waiting for a unit when the last call was handled: a backlog that grows with the
    /// horizon means the load exceeds the fleet.
    pub left_waiting: usize,
    /// Relocations made (see [`crate::dispatch::policy`]).
    pub relocations: u64,
}

/// A run's figures beyond each call's record (which goes to the sink of [`run_with`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStats {
    pub calls: usize,
    pub waited: usize,
    pub lost: usize,
    pub unit_busy_s: Vec<f64>,
    /// `dispatches[u][a]`, when counted (empty otherwise).
    pub dispatches: Vec<Vec<u64>>,
    pub horizon_s: f64,
    pub left_waiting: usize,
    pub relocations: u64,
    /// Seconds driven relocating.
    pub relocation_s: f64,
    /// Hospital arrivals, and those that found no free stretcher (hospitals with a count).
    pub hospital_arrivals: usize,
    pub stretcher_short: usize,
}

/// Why a simulation cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// The scenario has no units or no hospitals where the service needs them.
    #[error("{0}")]
    Empty(String),
    /// A parameter is out of range.
    #[error("{0}")]
    Invalid(String),
    /// With an infinite queue the offered load reaches the capacity: the queue would grow
    /// without bound.
    #[error("unstable: demand exceeds capacity ({0})")]
    Unstable(String),
}

impl SimModel {
    /// Checks the model against its geometry.
    pub fn check(&self) -> Result<(), SimError> {
        if self
            .hour_geometry
            .iter()
            .flatten()
            .any(|&k| k >= self.hour_geometries.len())
        {
            return Err(SimError::Invalid("an hour names a missing geometry".into()));
        }
        let g = &self.geometry;
        if self.unit_station.is_empty() {
            return Err(SimError::Empty("the scenario has no units".into()));
        }
        if self.unit_station.len() != self.unit_ids.len()
            || self.unit_station.iter().any(|&s| s >= g.stations)
        {
            return Err(SimError::Invalid("units and stations disagree".into()));
        }
        let sizes = [
            (g.station_to_atom.len(), g.stations * g.atoms),
            (g.atom_to_station.len(), g.stations * g.atoms),
            (g.atom_to_hospital.len(), g.hospitals * g.atoms),
            (g.hospital_to_atom.len(), g.hospitals * g.atoms),
            (g.hospital_to_station.len(), g.hospitals * g.stations),
            (g.station_to_station.len(), g.stations * g.stations),
        ];
        let same_shape = |h: &Geometry| {
            h.stations == g.stations
                && h.atoms == g.atoms
                && h.hospitals == g.hospitals
                && h.station_to_atom.len() == g.station_to_atom.len()
                && h.atom_to_station.len() == g.atom_to_station.len()
                && h.atom_to_hospital.len() == g.atom_to_hospital.len()
                && h.hospital_to_atom.len() == g.hospital_to_atom.len()
                && h.hospital_to_station.len() == g.hospital_to_station.len()
                && h.station_to_station.len() == g.station_to_station.len()
        };
        if sizes.iter().any(|(a, b)| a != b)
            || self.hospitals.len() != g.hospitals
            || !self.hour_geometries.iter().all(same_shape)
        {
            return Err(SimError::Invalid(
                "travel matrices do not match the sizes".into(),
            ));
        }
        self.call_handling_s.check("call handling")?;
        self.turnout_s.check("turnout")?;
        if self
            .hour_factor
            .iter()
            .any(|f| !(f.is_finite() && *f > 0.0))
        {
            return Err(SimError::Invalid("hour factors must be positive".into()));
        }
        match &self.service {
            Service::Exponential { mean_min } => {
                Dist::Exponential { mean: *mean_min }.check("service time")?
            }
            Service::Road(r) => {
                r.on_scene_min.check("on-scene time")?;
                if !(0.0..=1.0).contains(&r.transport_share) {
                    return Err(SimError::Invalid(format!(
                        "transport share {} must be in [0, 1]",
                        r.transport_share
                    )));
                }
                if r.transport_share > 0.0 && g.hospitals == 0 {
                    return Err(SimError::Empty(
                        "the scenario has no hospitals to transport patients to".into(),
                    ));
                }
                if r.handover_min.len() != g.hospitals {
                    return Err(SimError::Invalid(
                        "one handover distribution per hospital".into(),
                    ));
                }
                for (h, d) in r.handover_min.iter().enumerate() {
                    d.check(&format!("handover at hospital {h}"))?;
                }
                if !(r.handover_scale.is_finite() && r.handover_scale >= 0.0) {
                    return Err(SimError::Invalid(format!(
                        "handover scale {} must be non-negative",
                        r.handover_scale
                    )));
                }
                for (p, d) in &r.on_scene_by_priority {
                    d.check(&format!("on-scene time of priority {p}"))?;
                }
                if let Some(n) = r.release_after_min
                    && !(n.is_finite() && n > 0.0)
                {
                    return Err(SimError::Invalid(format!(
                        "release_after_min {n} must be a positive number of minutes"
                    )));
                }
                if r.stretchers.len() != g.hospitals {
                    return Err(SimError::Invalid(
                        "one stretcher count (or none) per hospital".into(),
                    ));
                }
                r.stretcher_hold_min.check("stretcher_hold_min")?;
                if let Some(mix) = &r.detention {
                    if !(0.0..=1.0).contains(&mix.share) {
                        return Err(SimError::Invalid(format!(
                            "detention share {} must be in [0, 1]",
                            mix.share
                        )));
                    }
                    mix.excess_min
                        .check("detained handover beyond the threshold")?;
                }
            }
        }
        self.check_policy()
    }

    fn check_policy(&self) -> Result<(), SimError> {
        let p = &self.policy;
        let s = self.geometry.stations;
        p.caps.check().map_err(SimError::Invalid)?;
        match p.kind {
            PolicyKind::Static => {}
            PolicyKind::Table => {
                if p.table.len() != self.unit_station.len()
                    || p.table.iter().enumerate().any(|(k, l)| l.len() != k + 1)
                    || p.table.iter().flatten().any(|&x| x >= s)
                {
                    return Err(SimError::Invalid(format!(
                        "the compliance table needs one level per number of free units, 1 to {}, \
                         on this scenario's {s} stations",
                        self.unit_station.len()
                    )));
                }
            }
            PolicyKind::Dmexclp | PolicyKind::DmexclpReturn => {
                if p.cover.as_ref().is_none_or(|c| c.stations() != s) {
                    return Err(SimError::Invalid(
                        "dynamic MEXCLP needs the stations' coverage of the demand zones".into(),
                    ));
                }
                if let Some(q) = p.busy
                    && !(0.0..1.0).contains(&q)
                {
                    return Err(SimError::Invalid(format!(
                        "busy fraction {q} must be in [0, 1)"
                    )));
                }
            }
        }
        if !(p.target_s.is_finite() && p.target_s > 0.0) {
            return Err(SimError::Invalid(
                "the response target must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// Where a unit is, or left from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Loc {
    Station(usize),
    Hospital(usize),
    Scene(usize),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Where {
    /// Free at its post.
    Idle,
    Busy,
    /// On its way back to its post from a job at `from` (left at `start`), there at `arrive`.
    Returning {
        from: Loc,
        start: f64,
        arrive: f64,
    },
    /// Moving up from station `from` (left at `start`) to its post, there at `arrive`.
    Relocating {
        from: usize,
        start: f64,
        arrive: f64,
    },
}

impl Where {
    fn free(self) -> bool {
        self != Where::Busy
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// The next call comes in.
    Arrival,
    /// Call `i` handled: dispatch it.
    Ready(usize),
    /// Unit `u` (epoch) back at its post from a job.
    Free(usize, u64),
    /// Unit `u` (epoch) at its new post.
    Moved(usize, u64),
    OnScene(usize, u64),
    LeaveScene(usize, u64),
    AtHospital(usize, u64),
    HandoverDone(usize, u64),
    /// The hospital's release rule.
    Release(usize, u64),
    /// Unit `u` (epoch) back at its station with a spare stretcher.
    Restocked(usize, u64),
    /// A stretcher at hospital `h` is free again.
    StretcherFree(usize),
}

/// The uniforms each call draws, in order: call handling, turnout, on scene, transport,
/// handover, detained or not, detained excess, stretcher hold.
const DRAWS: usize = 8;

/// A call in progress.
struct Active {
    call: Call,
    rec: CallRecord,
    u: [f64; DRAWS],
}

/// Per-unit state.
struct UnitState {
    at: Where,
    /// The station it stands at or heads to.
    post: usize,
    epoch: u64,
    job: Option<usize>,
    busy_since: f64,
    /// At a hospital since (waiting for a bay or handing over).
    at_hospital_since: f64,
    in_bay: bool,
    /// It holds one of the hospital's stretchers for its patient.
    hospital_stretcher: bool,
    /// It left its stretcher at a hospital: back to its station, busy, for a spare.
    restock: bool,
    moves: RelocationLog,
}

struct Sim<'a, 's> {
    m: &'a SimModel,
    seed: u64,
    source: Box<dyn Iterator<Item = Call> + 'a>,
    /// The next call, not yet arrived.
    pending: Option<Call>,
    pulled: usize,
    last_t: f64,
    error: Option<SimError>,
    active: std::collections::HashMap<usize, Active>,
    sink: &'s mut dyn FnMut(usize, &Call, &CallRecord),
    t: f64,
    heap: BinaryHeap<Reverse<(OrderedFloat<f64>, u64, Ev)>>,
    seq: u64,
    units: Vec<UnitState>,
    n_busy: usize,
    busy_area: f64,
    queue: BinaryHeap<Reverse<(u8, OrderedFloat<f64>, usize)>>,
    /// Units waiting for a bay, and bays in use, per hospital.
    ed_wait: Vec<VecDeque<(usize, u64)>>,
    ed_busy: Vec<usize>,
    /// Units at each hospital (in a bay or waiting for one), as the live API counts them.
    at_hosp: Vec<Vec<usize>>,
    /// Free stretchers, and units waiting for one, per hospital.
    stretchers_free: Vec<u32>,
    stretcher_wait: Vec<VecDeque<(usize, u64)>>,
    stats: RunStats,
    count_dispatches: bool,
}

impl<'a, 's> Sim<'a, 's> {
    fn at(&mut self, t: f64, ev: Ev) {
        self.seq += 1;
        self.heap.push(Reverse((OrderedFloat(t), self.seq, ev)));
    }

    fn hour(&self) -> usize {
        ((self.t / 3600.0).floor() as i64).rem_euclid(24) as usize
    }

    fn factor(&self) -> f64 {
        self.m.hour_factor[self.hour()]
    }

    /// The travel times of the current hour (borrowed from the model, not from `self`).
    fn geo(&self) -> &'a Geometry {
        let m: &'a SimModel = self.m;
        match m.hour_geometry[self.hour()] {
            Some(k) => &m.hour_geometries[k],
            None => &m.geometry,
        }
    }

    /// Pulls the next call from the source (checked) into `pending` and schedules its arrival.
    fn pull(&mut self) {
        let Some(c) = self.source.next() else {
            self.pending = None;
            return;
        };
        let bad = if c.atom >= self.m.geometry.atoms {
            Some(format!(
                "a call at {} s refers to atom {} of {}",
                c.t, c.atom, self.m.geometry.atoms
            ))
        } else if !c.t.is_finite() {
            Some("a call has no valid time".to_string())
        } else if c.t < self.last_t {
            Some("calls must be sorted by time".to_string())
        } else {
            None
        };
        if let Some(msg) = bad {
            self.error = Some(SimError::Invalid(msg));
            self.pending = None;
            return;
        }
        self.last_t = c.t;
        self.at(c.t, Ev::Arrival);
        self.pending = Some(c);
    }

    /// The pending call comes in: it gets its draws and is handled.
    fn arrive(&mut self) {
        let Some(c) = self.pending.take() else { return };
        let i = self.pulled;
        self.pulled += 1;
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(i as u64 + 1);
        let u: [f64; DRAWS] = std::array::from_fn(|_| rng.random::<f64>());
        let handling = self.m.call_handling_s.quantile(u[0]);
        self.at(c.t + handling, Ev::Ready(i));
        self.stats.calls += 1;
        self.active.insert(
            i,
            Active {
                rec: CallRecord {
                    received: c.t,
                    dispatched: None,
                    departed: None,
                    on_scene: None,
                    at_hospital: None,
                    handover_complete: None,
                    unit: None,
                    hospital: None,
                    waited: false,
                    lost: false,
                },
                call: c,
                u,
            },
        );
        self.pull();
    }

    /// Hands call `i`'s final record to the sink.
    fn finish(&mut self, i: usize) {
        if let Some(a) = self.active.remove(&i) {
            (self.sink)(i, &a.call, &a.rec);
        }
    }

    fn call(&self, i: usize) -> &Active {
        &self.active[&i]
    }

    fn rec(&mut self, i: usize) -> &mut CallRecord {
        &mut self.active.get_mut(&i).expect("an active call").rec
    }

    /// Free unit `u`'s time to a place, given `from(loc)`, the time from a station, hospital or
    /// scene to it: from its post when idle; when moving, the shorter of driving on (the rest
    /// of the drive, then from its post) and turning back (the time driven, then from where it
    /// left). `None` when it is busy.
    fn reach(&self, u: usize, from: impl Fn(Loc) -> f64) -> Option<f64> {
        let st = &self.units[u];
        let (origin, start, arrive) = match st.at {
            Where::Idle => return Some(from(Loc::Station(st.post))),
            Where::Busy => return None,
            Where::Returning {
                from,
                start,
                arrive,
            } => (from, start, arrive),
            Where::Relocating {
                from,
                start,
                arrive,
            } => (Loc::Station(from), start, arrive),
        };
        let on = (arrive - self.t).max(0.0) + from(Loc::Station(st.post));
        Some(on.min((self.t - start) + from(origin)))
    }

    /// Unit `u`'s travel time to atom `a` now, and whether it is already rolling; `None` when it
    /// is busy (or has no road to the atom).
    fn travel(&self, u: usize, a: usize) -> Option<(f64, bool)> {
        let g = self.geo();
        let f = self.factor();
        let t = self.reach(u, |loc| match loc {
            Loc::Station(s) => g.station_to_atom[s * g.atoms + a] * f,
            Loc::Hospital(h) => g.hospital_to_atom[h * g.atoms + a] * f,
            // The matrices have no scene-to-scene times: only the way on.
            Loc::Scene(_) => f64::INFINITY,
        })?;
        let rolling = self.units[u].at != Where::Idle;
        t.is_finite().then_some((t, rolling))
    }

    /// Free unit `u`'s drive to station `x` now (0 to its own post).
    fn drive_to(&self, u: usize, x: usize) -> f64 {
        if x == self.units[u].post {
            return 0.0;
        }
        self.reach(u, |loc| self.drive_from(loc, x))
            .unwrap_or(f64::INFINITY)
    }

    /// The busy fraction dynamic MEXCLP uses now.
    fn busy_fraction(&self) -> f64 {
        if let Some(q) = self.m.policy.busy {
            return q;
        }
        let n = self.units.len() as f64;
        let prior = 0.3 * n * 3600.0;
        ((self.busy_area + prior) / (n * (self.t.max(0.0) + 3600.0))).clamp(0.0, 0.99)
    }

    /// The free unit to send to call `i` at atom `a` (and its travel and whether it rolls).
    fn best_unit(&self, i: usize, a: usize) -> Option<(usize, f64, bool)> {
        // Expected turnout ranks units; the drawn turnout applies to the one sent.
        let mean_turnout = match self.m.turnout_s {
            Dist::Fixed(v) => v,
            Dist::Exponential { mean } => mean,
            Dist::LogNormal { median, .. } => median,
        };
        let mut free: Vec<(f64, usize, f64, bool)> = Vec::new();
        for u in 0..self.units.len() {
            if let Some((travel, rolling)) = self.travel(u, a) {
                let eta = recommend::turnout_delay(rolling, mean_turnout) + travel;
                free.push((eta, u, travel, rolling));
            }
        }
        let pick = match (&self.m.policy.kind, &self.m.policy.cover) {
            (PolicyKind::Dmexclp, Some(cm)) => {
                let waited = self.t - self.call(i).call.t;
                let posts = self.units.iter().filter(|s| s.at.free()).map(|s| s.post);
                let counts = cm.counts(posts);
                let cands: Vec<Candidate> = free
                    .iter()
                    .map(|&(eta, u, _, _)| Candidate {
                        post: self.units[u].post,
                        eta_s: eta,
                        in_time: waited + eta <= self.m.policy.target_s,
                    })
                    .collect();
                policy::dmexclp_dispatch(cm, &counts, self.busy_fraction(), &cands)
            }
            _ => (0..free.len()).min_by(|&x, &y| {
                recommend::unit_order(
                    (free[x].0, &self.m.unit_ids[free[x].1]),
                    (free[y].0, &self.m.unit_ids[free[y].1]),
                )
            }),
        };
        pick.map(|k| (free[k].1, free[k].2, free[k].3))
    }

    fn dispatch(&mut self, u: usize, i: usize, travel: f64, rolling: bool) {
        let (atom, u_turnout) = {
            let a = self.call(i);
            (a.call.atom, a.u[1])
        };
        let was_returning = matches!(self.units[u].at, Where::Returning { .. });
        let st = &mut self.units[u];
        if !was_returning {
            st.busy_since = self.t;
        }
        st.at = Where::Busy;
        st.epoch += 1;
        st.job = Some(i);
        let e = st.epoch;
        self.n_busy += 1;
        if self.count_dispatches {
            self.stats.dispatches[u][atom] += 1;
        }
        let turnout = if rolling {
            0.0
        } else {
            self.m.turnout_s.quantile(u_turnout)
        };
        let t = self.t;
        let r = self.rec(i);
        r.dispatched = Some(t);
        r.departed = Some(t + turnout);
        r.on_scene = Some(t + turnout + travel);
        r.unit = Some(u);
        match &self.m.service {
            Service::Exponential { mean_min } => {
                let d = Dist::Exponential {
                    mean: mean_min * 60.0,
                }
                .quantile(self.call(i).u[2]);
                self.at(self.t + d, Ev::Free(u, e));
            }
            Service::Road(_) => self.at(self.t + turnout + travel, Ev::OnScene(u, e)),
        }
    }

    /// A unit became free (at its post or on its way): it takes the head of the queue.
    fn serve_queue(&mut self, u: usize) -> bool {
        if let Some(&Reverse((_, _, i))) = self.queue.peek()
            && let Some((travel, rolling)) = self.travel(u, self.call(i).call.atom)
        {
            self.queue.pop();
            self.dispatch(u, i, travel, rolling);
            return true;
        }
        false
    }

    /// The exponential service's end: back at its station, free.
    fn free(&mut self, u: usize) {
        let st = &mut self.units[u];
        self.stats.unit_busy_s[u] += self.t - st.busy_since;
        st.at = Where::Idle;
        if let Some(i) = st.job.take() {
            self.n_busy -= 1;
            self.finish(i);
        }
        self.serve_queue(u);
    }

    /// Unit `u` has finished its job at `from`: it heads home (or where the policy says), or
    /// takes a waiting call.
    fn release(&mut self, u: usize, from: Loc) {
        if let Some(i) = self.units[u].job.take() {
            self.finish(i);
        }
        let home = self.m.unit_station[u];
        if self.units[u].restock {
            // Busy until it has a spare stretcher at its station.
            self.units[u].restock = false;
            self.units[u].post = home;
            let drive = self.drive_from(from, home);
            let st = &mut self.units[u];
            st.epoch += 1;
            let e = st.epoch;
            self.at(self.t + drive, Ev::Restocked(u, e));
            return;
        }
        self.n_busy -= 1;
        self.units[u].post = home;
        let drive = self.drive_from(from, home);
        self.head_back(u, from, drive);
        if self.serve_queue(u) {
            return;
        }
        match self.m.policy.kind {
            PolicyKind::Static => {}
            PolicyKind::Table => self.rebalance(),
            PolicyKind::Dmexclp | PolicyKind::DmexclpReturn => self.dmexclp_return(u, from),
        }
    }

    fn drive_from(&self, from: Loc, s: usize) -> f64 {
        let g = self.geo();
        let f = self.factor();
        match from {
            Loc::Station(k) => g.station_to_station[k * g.stations + s] * f,
            Loc::Hospital(h) => g.hospital_to_station[h * g.stations + s] * f,
            Loc::Scene(a) => g.atom_to_station[a * g.stations + s] * f,
        }
    }

    /// Sets unit `u` on its way back from `from` to its post, `drive` seconds away.
    fn head_back(&mut self, u: usize, from: Loc, drive: f64) {
        let arrive = self.t + drive;
        let start = self.t;
        let st = &mut self.units[u];
        st.at = Where::Returning {
            from,
            start,
            arrive,
        };
        st.epoch += 1;
        let e = st.epoch;
        self.at(arrive, Ev::Free(u, e));
    }

    /// Dynamic MEXCLP: the post that adds the most expected coverage for a unit just freed.
    fn dmexclp_return(&mut self, u: usize, from: Loc) {
        let Some(cm) = &self.m.policy.cover else {
            return;
        };
        let caps = self.m.policy.caps;
        let t = self.t;
        if !self.units[u].moves.may_move(t, &caps) {
            return;
        }
        let home = self.m.unit_station[u];
        let mut candidates = vec![home];
        for s in 0..self.m.geometry.stations {
            if s != home && self.drive_from(from, s) <= caps.max_relocation_s {
                candidates.push(s);
            }
        }
        let others = self
            .units
            .iter()
            .enumerate()
            .filter(|(k, s)| *k != u && s.at.free())
            .map(|(_, s)| s.post);
        let counts = cm.counts(others);
        let q = self.busy_fraction();
        if let Some(s) = policy::dmexclp_post(cm, &counts, q, &candidates)
            && s != home
        {
            let drive = self.drive_from(from, s);
            self.units[u].post = s;
            self.head_back(u, from, drive);
            self.count_move(u, drive);
        }
    }

    fn count_move(&mut self, u: usize, drive: f64) {
        self.units[u].moves.record(self.t);
        self.stats.relocations += 1;
        self.stats.relocation_s += drive;
    }

    /// Compliance table: moves the free units towards the level of their number.
    fn rebalance(&mut self) {
        let free: Vec<usize> = (0..self.units.len())
            .filter(|&u| self.units[u].at.free())
            .collect();
        let k = free.len();
        if k == 0 || k > self.m.policy.table.len() {
            return;
        }
        let caps = self.m.policy.caps;
        let t = self.t;
        let fu: Vec<FreeUnit> = free
            .iter()
            .map(|&u| FreeUnit {
                post: self.units[u].post,
                movable: self.units[u].moves.may_move(t, &caps),
            })
            .collect();
        let moves = policy::table_moves(
            &self.m.policy.table[k - 1],
            &fu,
            self.m.geometry.stations,
            &mut |j, x| self.drive_to(free[j], x),
            caps.max_relocation_s,
        );
        for (j, x) in moves {
            self.send(free[j], x);
        }
    }

    /// Sends free unit `u` to station `x`.
    fn send(&mut self, u: usize, x: usize) {
        let drive = self.drive_to(u, x);
        let t = self.t;
        let st = &mut self.units[u];
        let from = st.post;
        st.post = x;
        st.epoch += 1;
        let e = st.epoch;
        match st.at {
            Where::Returning {
                from: loc, start, ..
            } => {
                st.at = Where::Returning {
                    from: loc,
                    start,
                    arrive: t + drive,
                };
                self.at(t + drive, Ev::Free(u, e));
            }
            _ => {
                st.at = Where::Relocating {
                    from,
                    start: t,
                    arrive: t + drive,
                };
                self.at(t + drive, Ev::Moved(u, e));
            }
        }
        self.count_move(u, drive);
    }

    fn choose_hospital(&self, i: usize) -> Option<usize> {
        let g = self.geo();
        let c = &self.call(i).call;
        let a = c.atom;
        let f = self.factor();
        let needed = c.condition;
        let mut best: Option<(bool, bool, f64, usize)> = None;
        for (h, hosp) in self.m.hospitals.iter().enumerate() {
            let eta = g.atom_to_hospital[a * g.hospitals + h] * f;
            if !eta.is_finite() {
                continue;
            }
            let waiting = self.at_hosp[h].len();
            let longest = self.at_hosp[h]
                .iter()
                .map(|&uu| (self.t - self.units[uu].at_hospital_since) / 60.0)
                .fold(0.0, f64::max);
            let key = (
                recommend::designated(hosp, needed),
                recommend::detaining(
                    waiting,
                    hosp.ed_bays,
                    longest,
                    self.m.detention_threshold_min,
                ),
                eta,
                h,
            );
            if best.is_none_or(|b| recommend::hospital_order(key, b).is_lt()) {
                best = Some(key);
            }
        }
        best.map(|b| b.3)
    }

    /// Handover minutes at hospital `h` for call `i`.
    fn handover_min(&self, r: &RoadService, h: usize, i: usize) -> f64 {
        let u = &self.call(i).u;
        let base = r.handover_min[h];
        match r.detention {
            None => base.quantile(u[4]) * r.handover_scale,
            Some(mix) => {
                let thr = self.m.detention_threshold_min;
                if u[5] < mix.share {
                    thr + mix.excess_min.quantile(u[6])
                } else if r.handover_scale <= 0.0 {
                    0.0
                } else {
                    let below = base.cdf(thr / r.handover_scale);
                    (base.quantile(u[4] * below) * r.handover_scale).min(thr)
                }
            }
        }
    }

    fn start_handover(&mut self, u: usize, h: usize, e: u64) {
        let Service::Road(r) = &self.m.service else {
            return;
        };
        let Some(i) = self.units[u].job else { return };
        self.ed_busy[h] += 1;
        self.units[u].in_bay = true;
        let d = self.handover_min(r, h, i) * 60.0;
        self.at(self.t + d, Ev::HandoverDone(u, e));
    }

    /// Unit `u` at hospital `h` goes for a bay (waits when all are taken) and hands over.
    fn seek_bay(&mut self, u: usize, h: usize, e: u64) {
        let bays = self.m.hospitals[h].ed_bays;
        if bays.is_some_and(|b| self.ed_busy[h] >= b as usize) {
            self.ed_wait[h].push_back((u, e));
        } else {
            self.start_handover(u, h, e);
        }
    }

    /// Unit `u` leaves hospital `h` (handover done, or released by the rule).
    fn leave_hospital(&mut self, u: usize, h: usize, e: u64) {
        if let Some(i) = self.units[u].job {
            let t = self.t;
            self.rec(i).handover_complete = Some(t);
            if self.units[u].hospital_stretcher {
                self.units[u].hospital_stretcher = false;
                if let Service::Road(r) = &self.m.service {
                    let hold = r.stretcher_hold_min.quantile(self.call(i).u[7]) * 60.0;
                    self.at(t + hold, Ev::StretcherFree(h));
                }
            }
        }
        self.stretcher_wait[h].retain(|&(w, we)| !(w == u && we == e));
        if self.units[u].in_bay {
            self.units[u].in_bay = false;
            self.ed_busy[h] -= 1;
            if let Some((w, we)) = self.ed_wait[h].pop_front() {
                self.start_handover(w, h, we);
            }
        } else {
            self.ed_wait[h].retain(|&(w, we)| !(w == u && we == e));
        }
        self.at_hosp[h].retain(|&x| x != u);
        self.release(u, Loc::Hospital(h));
    }

    fn step(&mut self, ev: Ev) {
        let g = self.geo();
        match ev {
            Ev::Arrival => self.arrive(),
            Ev::Ready(i) => {
                if self.pending.is_none() && i + 1 == self.pulled {
                    // Calls still queued when the last one is handled: the backlog.
                    self.stats.left_waiting = self.queue.len();
                }
                let (a, pr, ct) = {
                    let c = &self.call(i).call;
                    (c.atom, c.priority, c.t)
                };
                match self.best_unit(i, a) {
                    Some((u, travel, rolling)) => {
                        self.dispatch(u, i, travel, rolling);
                        if self.m.policy.kind == PolicyKind::Table {
                            self.rebalance();
                        }
                    }
                    None => match self.m.queue {
                        QueuePolicy::Lost => {
                            self.rec(i).lost = true;
                            self.stats.lost += 1;
                            self.finish(i);
                        }
                        QueuePolicy::Infinite => {
                            self.rec(i).waited = true;
                            self.stats.waited += 1;
                            self.queue.push(Reverse((pr, OrderedFloat(ct), i)));
                        }
                    },
                }
            }
            Ev::Free(u, e) => {
                if self.units[u].epoch != e {
                    return;
                }
                if self.units[u].at == Where::Busy {
                    // The exponential service: the job ends here.
                    self.free(u);
                } else {
                    let st = &mut self.units[u];
                    self.stats.unit_busy_s[u] += self.t - st.busy_since;
                    st.at = Where::Idle;
                }
            }
            Ev::Moved(u, e) => {
                if self.units[u].epoch == e {
                    self.units[u].at = Where::Idle;
                }
            }
            Ev::OnScene(u, e) => {
                if self.units[u].epoch != e {
                    return;
                }
                let (Service::Road(r), Some(i)) = (&self.m.service, self.units[u].job) else {
                    return;
                };
                let c = self.call(i);
                let dist = r
                    .on_scene_by_priority
                    .iter()
                    .find(|(p, _)| *p == c.call.priority)
                    .map_or(r.on_scene_min, |x| x.1);
                let d = dist.quantile(c.u[2]) * 60.0;
                self.at(self.t + d, Ev::LeaveScene(u, e));
            }
            Ev::LeaveScene(u, e) => {
                if self.units[u].epoch != e {
                    return;
                }
                let (Service::Road(r), Some(i)) = (&self.m.service, self.units[u].job) else {
                    return;
                };
                let transport = self.call(i).u[3] < r.transport_share;
                let a = self.call(i).call.atom;
                let f = self.factor();
                match transport.then(|| self.choose_hospital(i)).flatten() {
                    Some(h) => {
                        self.rec(i).hospital = Some(h);
                        let d = g.atom_to_hospital[a * g.hospitals + h] * f;
                        self.at(self.t + d, Ev::AtHospital(u, e));
                    }
                    None => self.release(u, Loc::Scene(a)),
                }
            }
            Ev::AtHospital(u, e) => {
                if self.units[u].epoch != e {
                    return;
                }
                let Some(i) = self.units[u].job else { return };
                let Some(h) = self.call(i).rec.hospital else {
                    return;
                };
                let t = self.t;
                self.rec(i).at_hospital = Some(t);
                self.units[u].at_hospital_since = t;
                self.at_hosp[h].push(u);
                if let Service::Road(RoadService {
                    release_after_min: Some(n),
                    ..
                }) = &self.m.service
                {
                    self.at(t + n * 60.0, Ev::Release(u, e));
                }
                self.stats.hospital_arrivals += 1;
                let limited = match &self.m.service {
                    Service::Road(r) => r.stretchers[h].is_some().then_some(r.stretcher_rule),
                    Service::Exponential { .. } => None,
                };
                match limited {
                    Some(_) if self.stretchers_free[h] > 0 => {
                        self.stretchers_free[h] -= 1;
                        self.units[u].hospital_stretcher = true;
                        self.seek_bay(u, h, e);
                    }
                    Some(StretcherRule::Wait) => {
                        self.stats.stretcher_short += 1;
                        self.stretcher_wait[h].push_back((u, e));
                    }
                    Some(StretcherRule::Leave) => {
                        self.stats.stretcher_short += 1;
                        self.units[u].restock = true;
                        self.seek_bay(u, h, e);
                    }
                    None => self.seek_bay(u, h, e),
                }
            }
            Ev::StretcherFree(h) => match self.stretcher_wait[h].pop_front() {
                Some((w, we)) => {
                    self.units[w].hospital_stretcher = true;
                    self.seek_bay(w, h, we);
                }
                None => self.stretchers_free[h] += 1,
            },
            Ev::Restocked(u, e) => {
                if self.units[u].epoch != e {
                    return;
                }
                self.n_busy -= 1;
                let st = &mut self.units[u];
                self.stats.unit_busy_s[u] += self.t - st.busy_since;
                st.at = Where::Idle;
                if !self.serve_queue(u) && self.m.policy.kind == PolicyKind::Table {
                    self.rebalance();
                }
            }
            Ev::HandoverDone(u, e) | Ev::Release(u, e) => {
                if self.units[u].epoch != e {
                    return;
                }
                let Some(i) = self.units[u].job else { return };
                let Some(h) = self.call(i).rec.hospital else {
                    return;
                };
                self.leave_hospital(u, h, e);
            }
        }
    }
}

/// Simulates `calls` (sorted by time) through `m`, with random draws from `seed`, handing each
/// call's record to `sink` once it is final (in completion order, with the call's index).
/// `count_dispatches` fills [`RunStats::dispatches`] (units × atoms).
pub fn run_with<'a>(
    m: &'a SimModel,
    calls: impl IntoIterator<Item = Call> + 'a,
    seed: u64,
    count_dispatches: bool,
    sink: &mut dyn FnMut(usize, &Call, &CallRecord),
) -> Result<RunStats, SimError> {
    m.check()?;
    let n_units = m.unit_station.len();
    let h = m.geometry.hospitals;
    let mut sim = Sim {
        m,
        seed,
        source: Box::new(calls.into_iter()),
        pending: None,
        pulled: 0,
        last_t: f64::NEG_INFINITY,
        error: None,
        active: std::collections::HashMap::new(),
        sink,
        t: 0.0,
        heap: BinaryHeap::new(),
        seq: 0,
        units: m
            .unit_station
            .iter()
            .map(|&s| UnitState {
                at: Where::Idle,
                post: s,
                epoch: 0,
                job: None,
                busy_since: 0.0,
                at_hospital_since: 0.0,
                in_bay: false,
                hospital_stretcher: false,
                restock: false,
                moves: RelocationLog::default(),
            })
            .collect(),
        n_busy: 0,
        busy_area: 0.0,
        queue: BinaryHeap::new(),
        ed_wait: vec![VecDeque::new(); h],
        ed_busy: vec![0; h],
        at_hosp: vec![Vec::new(); h],
        stretchers_free: match &m.service {
            Service::Road(r) => r.stretchers.iter().map(|s| s.unwrap_or(0)).collect(),
            Service::Exponential { .. } => vec![0; h],
        },
        stretcher_wait: vec![VecDeque::new(); h],
        stats: RunStats {
            calls: 0,
            waited: 0,
            lost: 0,
            unit_busy_s: vec![0.0; n_units],
            dispatches: if count_dispatches {
                vec![vec![0; m.geometry.atoms]; n_units]
            } else {
                Vec::new()
            },
            horizon_s: 0.0,
            left_waiting: 0,
            relocations: 0,
            relocation_s: 0.0,
            hospital_arrivals: 0,
            stretcher_short: 0,
        },
        count_dispatches,
    };
    // The table's posting for the whole fleet free, from the start.
    if m.policy.kind == PolicyKind::Table {
        sim.rebalance();
    }
    sim.pull();
    while let Some(Reverse((t, _, ev))) = sim.heap.pop() {
        if let Some(e) = sim.error.take() {
            return Err(e);
        }
        sim.busy_area += sim.n_busy as f64 * (t.0 - sim.t);
        sim.t = t.0;
        sim.step(ev);
    }
    if let Some(e) = sim.error.take() {
        return Err(e);
    }
    let end = sim.t.max(sim.last_t);
    for u in 0..n_units {
        if sim.units[u].at != Where::Idle && !matches!(sim.units[u].at, Where::Relocating { .. }) {
            sim.stats.unit_busy_s[u] += end - sim.units[u].busy_since;
        }
    }
    // Calls still in progress (none once every event has run), in order.
    let mut left: Vec<usize> = sim.active.keys().copied().collect();
    left.sort_unstable();
    for i in left {
        sim.finish(i);
    }
    sim.stats.horizon_s = end.max(0.0);
    Ok(sim.stats)
}

/// Simulates `calls` (sorted by time) through `m`, with random times from `seed`, keeping
/// every call's record and counting dispatches by unit and atom.
pub fn run(m: &SimModel, calls: &[Call], seed: u64) -> Result<Replication, SimError> {
    let mut recs: Vec<Option<CallRecord>> = vec![None; calls.len()];
    let stats = run_with(m, calls.iter().cloned(), seed, true, &mut |i, _, r| {
        recs[i] = Some(r.clone());
    })?;
    Ok(Replication {
        calls: recs.into_iter().flatten().collect(),
        unit_busy_s: stats.unit_busy_s,
        dispatches: stats.dispatches,
        horizon_s: stats.horizon_s,
        left_waiting: stats.left_waiting,
        relocations: stats.relocations,
    })
}
