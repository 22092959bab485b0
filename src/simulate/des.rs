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
//!   their station and those returning. A unit returning from a hospital drives from that
//!   hospital; one returning from a scene is taken to finish its return first (the engine has
//!   no scene-to-scene times), a documented approximation.
//! - With no free unit the call waits in a priority queue (priority, then arrival); the first
//!   unit to become free takes the head of the queue. With [`QueuePolicy::Lost`] it is lost.
//! - [`Service::Exponential`]: the unit is busy for one exponential time from dispatch and
//!   is then back at its station (the hypercube's assumptions).
//! - [`Service::Road`]: travel to the scene, an on-scene time, transport with a probability
//!   (hospital chosen by the dispatch rule with the live handover queues), handover at the
//!   emergency department (waiting for a bay when the hospital has bays), and the drive back.
//! - Travel times are scaled by an hour-of-day factor. Time 0 is local midnight.
//! - Every call draws its random times from its own generator, seeded by the replication seed
//!   and its index, so two plans see the same calls with the same on-scene and handover times
//!   (common random numbers).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use ordered_float::OrderedFloat;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;

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

    fn draw(&self, rng: &mut ChaCha8Rng) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Exponential { mean } => {
                let u: f64 = rng.random();
                -mean * (1.0 - u).ln()
            }
            Dist::LogNormal { median, p90 } => {
                // z_0.9 = 1.2815515655446004
                let sigma = (p90 / median).ln() / 1.281_551_565_544_600_4;
                let u1: f64 = rng.random();
                let u2: f64 = rng.random();
                let z = (-2.0 * (1.0 - u1).ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                median * (sigma * z).exp()
            }
        }
    }
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
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Where {
    AtStation,
    Busy,
    /// Returning from a hospital (`Some`) or a scene, back at the station at `arrive`.
    Returning {
        hospital: Option<usize>,
        arrive: f64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// Call `i` handled: dispatch it.
    Ready(usize),
    /// Unit `u` (epoch) free at its station.
    Free(usize, u64),
    OnScene(usize, u64),
    LeaveScene(usize, u64),
    AtHospital(usize, u64),
    HandoverDone(usize, u64),
}

struct Sim<'a> {
    m: &'a SimModel,
    calls: &'a [Call],
    t: f64,
    heap: BinaryHeap<Reverse<(OrderedFloat<f64>, u64, Ev)>>,
    seq: u64,
    unit: Vec<Where>,
    epoch: Vec<u64>,
    job: Vec<Option<usize>>,
    busy_since: Vec<f64>,
    rec: Vec<CallRecord>,
    rngs: Vec<ChaCha8Rng>,
    queue: BinaryHeap<Reverse<(u8, OrderedFloat<f64>, usize)>>,
    /// Units waiting for a bay, and bays in use, per hospital.
    ed_wait: Vec<VecDeque<(usize, u64)>>,
    ed_busy: Vec<usize>,
    /// Units at each hospital (in a bay or waiting for one), as the live API counts them.
    at_hosp: Vec<Vec<usize>>,
    out: Replication,
}

impl<'a> Sim<'a> {
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

    /// Unit `u`'s travel time to atom `a` now, and whether it is already rolling; `None` when it
    /// is busy (or has no road to the atom).
    fn travel(&self, u: usize, a: usize) -> Option<(f64, bool)> {
        let g = self.geo();
        let f = self.factor();
        let s = self.m.unit_station[u];
        let (t, rolling) = match self.unit[u] {
            Where::AtStation => (g.station_to_atom[s * g.atoms + a] * f, false),
            Where::Busy => return None,
            Where::Returning {
                hospital: Some(h), ..
            } => (g.hospital_to_atom[h * g.atoms + a] * f, true),
            Where::Returning {
                hospital: None,
                arrive,
            } => (
                (arrive - self.t).max(0.0) + g.station_to_atom[s * g.atoms + a] * f,
                true,
            ),
        };
        t.is_finite().then_some((t, rolling))
    }

    /// The free unit with the smallest ETA to atom `a` (and its travel and whether it rolls).
    fn best_unit(&self, a: usize) -> Option<(usize, f64, bool)> {
        // Expected turnout ranks units; the drawn turnout applies to the one sent.
        let mean_turnout = match self.m.turnout_s {
            Dist::Fixed(v) => v,
            Dist::Exponential { mean } => mean,
            Dist::LogNormal { median, .. } => median,
        };
        let mut best: Option<(f64, usize, f64, bool)> = None;
        for u in 0..self.unit.len() {
            let Some((travel, rolling)) = self.travel(u, a) else {
                continue;
            };
            let eta = recommend::turnout_delay(rolling, mean_turnout) + travel;
            if best.is_none_or(|b| {
                recommend::unit_order((eta, &self.m.unit_ids[u]), (b.0, &self.m.unit_ids[b.1]))
                    .is_lt()
            }) {
                best = Some((eta, u, travel, rolling));
            }
        }
        best.map(|(_, u, travel, rolling)| (u, travel, rolling))
    }

    fn dispatch(&mut self, u: usize, i: usize, travel: f64, rolling: bool) {
        let call = &self.calls[i];
        if !matches!(self.unit[u], Where::Returning { .. }) {
            self.busy_since[u] = self.t;
        }
        self.unit[u] = Where::Busy;
        self.epoch[u] += 1;
        self.job[u] = Some(i);
        self.out.dispatches[u][call.atom] += 1;
        let turnout = if rolling {
            0.0
        } else {
            self.m.turnout_s.draw(&mut self.rngs[i])
        };
        let r = &mut self.rec[i];
        r.dispatched = Some(self.t);
        r.departed = Some(self.t + turnout);
        r.on_scene = Some(self.t + turnout + travel);
        r.unit = Some(u);
        let e = self.epoch[u];
        match &self.m.service {
            Service::Exponential { mean_min } => {
                let d = Dist::Exponential {
                    mean: mean_min * 60.0,
                }
                .draw(&mut self.rngs[i]);
                self.at(self.t + d, Ev::Free(u, e));
            }
            Service::Road(_) => self.at(self.t + turnout + travel, Ev::OnScene(u, e)),
        }
    }

    /// A unit became free (at its station or returning): it takes the head of the queue.
    fn serve_queue(&mut self, u: usize) {
        if let Some(&Reverse((_, _, i))) = self.queue.peek()
            && let Some((travel, rolling)) = self.travel(u, self.calls[i].atom)
        {
            self.queue.pop();
            self.dispatch(u, i, travel, rolling);
        }
    }

    fn free(&mut self, u: usize) {
        self.out.unit_busy_s[u] += self.t - self.busy_since[u];
        self.unit[u] = Where::AtStation;
        self.job[u] = None;
        self.serve_queue(u);
    }

    fn returning(&mut self, u: usize, hospital: Option<usize>, drive: f64) {
        let arrive = self.t + drive;
        self.unit[u] = Where::Returning { hospital, arrive };
        self.job[u] = None;
        self.epoch[u] += 1;
        let e = self.epoch[u];
        self.at(arrive, Ev::Free(u, e));
        self.serve_queue(u);
    }

    fn choose_hospital(&self, i: usize) -> Option<usize> {
        let g = self.geo();
        let a = self.calls[i].atom;
        let f = self.factor();
        let needed = self.calls[i].condition;
        let mut best: Option<(bool, bool, f64, usize)> = None;
        for (h, hosp) in self.m.hospitals.iter().enumerate() {
            let eta = g.atom_to_hospital[a * g.hospitals + h] * f;
            if !eta.is_finite() {
                continue;
            }
            let waiting = self.at_hosp[h].len();
            let longest = self.at_hosp[h]
                .iter()
                .filter_map(|&uu| self.job[uu].and_then(|c| self.rec[c].at_hospital))
                .map(|t0| (self.t - t0) / 60.0)
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

    fn start_handover(&mut self, u: usize, h: usize, e: u64) {
        let Service::Road(r) = &self.m.service else {
            return;
        };
        let Some(i) = self.job[u] else { return };
        self.ed_busy[h] += 1;
        let d = r.handover_min[h].draw(&mut self.rngs[i]) * 60.0 * r.handover_scale;
        self.at(self.t + d, Ev::HandoverDone(u, e));
    }

    fn step(&mut self, ev: Ev) {
        let g = self.geo();
        match ev {
            Ev::Ready(i) => {
                if i + 1 == self.calls.len() {
                    // Calls still queued when the last one arrives: the backlog.
                    self.out.left_waiting = self.queue.len();
                }
                let a = self.calls[i].atom;
                match self.best_unit(a) {
                    Some((u, travel, rolling)) => self.dispatch(u, i, travel, rolling),
                    None => match self.m.queue {
                        QueuePolicy::Lost => self.rec[i].lost = true,
                        QueuePolicy::Infinite => {
                            self.rec[i].waited = true;
                            let c = &self.calls[i];
                            self.queue.push(Reverse((c.priority, OrderedFloat(c.t), i)));
                        }
                    },
                }
            }
            Ev::Free(u, e) => {
                if self.epoch[u] == e {
                    self.free(u);
                }
            }
            Ev::OnScene(u, e) => {
                if self.epoch[u] != e {
                    return;
                }
                let (Service::Road(r), Some(i)) = (&self.m.service, self.job[u]) else {
                    return;
                };
                let d = r.on_scene_min.draw(&mut self.rngs[i]) * 60.0;
                self.at(self.t + d, Ev::LeaveScene(u, e));
            }
            Ev::LeaveScene(u, e) => {
                if self.epoch[u] != e {
                    return;
                }
                let (Service::Road(r), Some(i)) = (&self.m.service, self.job[u]) else {
                    return;
                };
                let transport = self.rngs[i].random::<f64>() < r.transport_share;
                let a = self.calls[i].atom;
                let f = self.factor();
                match transport.then(|| self.choose_hospital(i)).flatten() {
                    Some(h) => {
                        self.rec[i].hospital = Some(h);
                        let d = g.atom_to_hospital[a * g.hospitals + h] * f;
                        self.at(self.t + d, Ev::AtHospital(u, e));
                    }
                    None => {
                        let s = self.m.unit_station[u];
                        let d = g.atom_to_station[a * g.stations + s] * f;
                        self.returning(u, None, d);
                    }
                }
            }
            Ev::AtHospital(u, e) => {
                if self.epoch[u] != e {
                    return;
                }
                let Some(i) = self.job[u] else { return };
                let Some(h) = self.rec[i].hospital else {
                    return;
                };
                self.rec[i].at_hospital = Some(self.t);
                self.at_hosp[h].push(u);
                let bays = self.m.hospitals[h].ed_bays;
                if bays.is_some_and(|b| self.ed_busy[h] >= b as usize) {
                    self.ed_wait[h].push_back((u, e));
                } else {
                    self.start_handover(u, h, e);
                }
            }
            Ev::HandoverDone(u, e) => {
                if self.epoch[u] != e {
                    return;
                }
                let Some(i) = self.job[u] else { return };
                let Some(h) = self.rec[i].hospital else {
                    return;
                };
                self.rec[i].handover_complete = Some(self.t);
                self.ed_busy[h] -= 1;
                self.at_hosp[h].retain(|&x| x != u);
                if let Some((w, we)) = self.ed_wait[h].pop_front() {
                    self.start_handover(w, h, we);
                }
                let s = self.m.unit_station[u];
                let d = g.hospital_to_station[h * g.stations + s] * self.factor();
                self.returning(u, Some(h), d);
            }
        }
    }
}

/// Simulates `calls` (sorted by time) through `m`, with random times from `seed`.
pub fn run(m: &SimModel, calls: &[Call], seed: u64) -> Result<Replication, SimError> {
    m.check()?;
    if let Some(c) = calls.iter().find(|c| c.atom >= m.geometry.atoms) {
        return Err(SimError::Invalid(format!(
            "a call at {} s refers to atom {} of {}",
            c.t, c.atom, m.geometry.atoms
        )));
    }
    if calls.windows(2).any(|w| w[1].t < w[0].t) {
        return Err(SimError::Invalid("calls must be sorted by time".into()));
    }
    let n_units = m.unit_station.len();
    let h = m.geometry.hospitals;
    let mut sim = Sim {
        m,
        calls,
        t: 0.0,
        heap: BinaryHeap::new(),
        seq: 0,
        unit: vec![Where::AtStation; n_units],
        epoch: vec![0; n_units],
        job: vec![None; n_units],
        busy_since: vec![0.0; n_units],
        rec: Vec::with_capacity(calls.len()),
        rngs: Vec::with_capacity(calls.len()),
        queue: BinaryHeap::new(),
        ed_wait: vec![VecDeque::new(); h],
        ed_busy: vec![0; h],
        at_hosp: vec![Vec::new(); h],
        out: Replication {
            calls: Vec::new(),
            unit_busy_s: vec![0.0; n_units],
            dispatches: vec![vec![0; m.geometry.atoms]; n_units],
            horizon_s: 0.0,
            left_waiting: 0,
        },
    };
    for (i, c) in calls.iter().enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(i as u64 + 1);
        let handling = m.call_handling_s.draw(&mut rng);
        sim.rngs.push(rng);
        sim.rec.push(CallRecord {
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
        });
        sim.at(c.t + handling, Ev::Ready(i));
    }
    while let Some(Reverse((t, _, ev))) = sim.heap.pop() {
        sim.t = t.0;
        sim.step(ev);
    }
    let end = sim.t.max(calls.last().map_or(0.0, |c| c.t));
    for u in 0..n_units {
        if sim.unit[u] != Where::AtStation {
            sim.out.unit_busy_s[u] += end - sim.busy_since[u];
        }
    }
    sim.out.horizon_s = end;
    sim.out.calls = sim.rec;
    Ok(sim.out)
}
