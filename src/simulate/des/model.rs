//! The simulated system: travel times, units and their stations, hospitals, the service a
//! unit gives, the queue and move-up policies, the calls; and the checks a model must pass
//! before it runs.
//!
//! This module owns the model's types and their validation. It must not run anything (that is
//! the engine) nor build travel times (the caller builds a [`Geometry`] from the shared travel
//! model).

use serde::Serialize;

use super::{Dist, SimError};
use crate::dispatch::policy::{Caps, CoverModel, PolicyKind};
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
