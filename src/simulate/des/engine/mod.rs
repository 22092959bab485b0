//! The event loop: the simulation's state (units, waiting calls, hospital bays and
//! stretchers, the event heap), pulling calls as they arrive, handing each finished record to
//! the sink, and the run's figures.
//!
//! This module owns the state and the loop; its children own the steps: [`units`] (dispatch and
//! returns), [`moveup`] (relocations), [`hospital`] (transport and handover) and [`events`]
//! (one handler per event kind). It must not define dispatch rules (it applies
//! [`crate::dispatch::recommend`]'s) nor compute travel times (it reads the model's
//! [`Geometry`]). Each call draws its uniforms here, in a fixed order: do not reorder draws.

mod events;
mod hospital;
mod moveup;
mod units;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use ordered_float::OrderedFloat;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::{Call, CallRecord, Geometry, Replication, RunStats, Service, SimError, SimModel};
use crate::dispatch::policy::{PolicyKind, RelocationLog};

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
