//! Live fleet state: units, incidents and hospital handover queues, changed only by events.
//!
//! This module owns the unit lifecycle, the events that change the state, their validation,
//! their replay from the durable log ([`store`]), and the dispatch rules shared with the
//! simulator ([`recommend`]: nearest unit by road ETA, hospital by designation and detention).
//! It must not know HTTP (that is [`crate::api`]) nor compute travel times other than through
//! the shared [`crate::network::TravelModel`].
//!
//! # Lifecycle
//! ```text
//! available → dispatched → en_route → on_scene → transporting → at_hospital
//!           → handover_complete → returning → available
//! ```
//! plus `available ⇄ out_of_service`, a move-up `available | returning → relocating →
//! available` (at the new post; `relocating` entered only by [`Event::UnitMoved`]), and three
//! transitions a dispatcher needs:
//! `returning → dispatched` (a unit on its way back is diverted to a new call),
//! `dispatched | en_route → available` (stood down: the call stays open for another unit), and
//! `on_scene → returning` (no transport). `dispatched` is entered only by an assignment.
//!
//! # Several units per incident
//! An incident may have several units ([`IncidentRecord::units`]), each assigned by its own
//! [`Event::UnitAssigned`] and each with its own lifecycle and stage times ([`Assignment`]). A
//! unit works one incident at a time. The incident's own stage times, `unit` and `hospital`
//! follow the incident-log reader's rule ([`crate::model::lead_units`]): call handling,
//! turnout and travel of the **first ambulance on scene** (before any is, the first
//! dispatched), hospital stages of the first to reach a hospital. So the live KPIs, the
//! exported log and `ems check` of that log agree. An incident closes when no unit is left on
//! it and one has reached the scene; a unit stood down before arriving (`dispatched |
//! en_route → available`) leaves the call open for another unit. Cancelling a call stands
//! down every unit on the way.
//!
//! # Files
//! This file owns the [`Fleet`] itself: building it from a scenario, applying an event and
//! taking it back ([`Undo`]), the refusals ([`DispatchError`]) and the handover queues. The
//! unit and its lifecycle are in `unit.rs`, the incident and its rows in `incident.rs`; the
//! events are in `events/`, with one file per event kind holding its validation and its change
//! (`events/mod.rs` dispatches to them). This file must not check or apply one kind of event
//! itself.

pub mod coverage;
mod events;
mod incident;
pub mod journal;
pub mod policy;
pub mod posting;
pub mod recommend;
pub mod store;
pub mod today;
mod unit;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::Scenario;

pub use events::Event;
pub use incident::{Assignment, IncidentRecord};
pub use unit::{Unit, UnitStatus};

/// What an applied event changed, to take it back ([`Fleet::undo`]) when the log cannot be
/// written: the previous value of every unit and incident it touched.
#[derive(Debug, Clone)]
pub struct Undo {
    seq: u64,
    units: Vec<(String, Unit)>,
    incidents: Vec<(u64, Option<IncidentRecord>)>,
}

impl Undo {
    /// The incidents the event touched.
    pub fn incident_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.incidents.iter().map(|(id, _)| *id)
    }
}

/// The earliest time a report may carry: anything before is a broken clock or a typo.
pub const EARLIEST_YEAR: i32 = 2000;

/// Why a change is refused. Nothing is written for a refused change.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DispatchError {
    /// No unit has this id: check `GET /v1/units`.
    #[error("unknown unit `{0}`")]
    UnknownUnit(String),
    /// No incident has this id.
    #[error("unknown incident {0}")]
    UnknownIncident(u64),
    /// No hospital has this id: check `GET /v1/hospitals`.
    #[error("unknown hospital `{0}`")]
    UnknownHospital(String),
    /// The lifecycle does not allow this step from the unit's current status.
    #[error("unit `{unit}` is {from}; it cannot go to {to} (allowed from {from}: {allowed})")]
    Transition {
        unit: String,
        from: &'static str,
        to: &'static str,
        allowed: String,
    },
    /// The unit is busy, or the incident already has a unit or is closed.
    #[error("{0}")]
    Conflict(String),
    /// A time is before the step it follows, or too far in the future.
    #[error("{0}")]
    Time(String),
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// The default clock-skew tolerance: reports may be stamped up to this far ahead of the server
/// clock (and this far before the unit's last change); see [`Fleet::stamp`].
pub const MAX_FUTURE_S: i64 = 300;

/// The whole live state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fleet {
    pub units: BTreeMap<String, Unit>,
    pub incidents: BTreeMap<u64, IncidentRecord>,
    pub hospitals: Vec<String>,
    /// Where each hospital and station is, for positions the lifecycle implies.
    hospital_at: BTreeMap<String, [f64; 2]>,
    station_at: BTreeMap<String, [f64; 2]>,
    /// Events applied (the last sequence number of the log).
    pub seq: u64,
}

impl Fleet {
    /// Units from the scenario's stations (`{station}-{k}` for `k = 1..=ambulances`, as the
    /// incident logs name them), all available at their station.
    pub fn new(sc: &Scenario) -> Fleet {
        let mut units = BTreeMap::new();
        for st in &sc.stations {
            for k in 1..=st.ambulances {
                let id = st.unit_id(k);
                units.insert(
                    id.clone(),
                    Unit {
                        id,
                        station: st.id.clone(),
                        status: UnitStatus::Available,
                        since: None,
                        position: st.lon_lat,
                        position_at: None,
                        incident: None,
                        hospital: None,
                        post: None,
                    },
                );
            }
        }
        Fleet {
            units,
            incidents: BTreeMap::new(),
            hospitals: sc.hospitals.iter().map(|h| h.id.clone()).collect(),
            hospital_at: sc
                .hospitals
                .iter()
                .map(|h| (h.id.clone(), h.lon_lat))
                .collect(),
            station_at: sc
                .stations
                .iter()
                .map(|s| (s.id.clone(), s.lon_lat))
                .collect(),
            seq: 0,
        }
    }

    /// The id the next incident gets.
    pub fn next_incident_id(&self) -> u64 {
        self.incidents.keys().next_back().map_or(1, |k| k + 1)
    }

    fn unit(&self, id: &str) -> Result<&Unit, DispatchError> {
        self.units
            .get(id)
            .ok_or_else(|| DispatchError::UnknownUnit(id.to_string()))
    }

    fn incident(&self, id: u64) -> Result<&IncidentRecord, DispatchError> {
        self.incidents
            .get(&id)
            .ok_or(DispatchError::UnknownIncident(id))
    }

    fn open_incident(&self, id: u64) -> Result<&IncidentRecord, DispatchError> {
        let inc = self.incident(id)?;
        if !inc.open() {
            return Err(DispatchError::Conflict(format!(
                "incident {id} is closed{}",
                if inc.cancelled.is_some() {
                    " (cancelled)"
                } else {
                    ""
                }
            )));
        }
        Ok(inc)
    }

    /// The units working `inc` now.
    fn units_on<'a>(&'a self, inc: &'a IncidentRecord) -> impl Iterator<Item = &'a Unit> + 'a {
        inc.active_units()
            .filter_map(|a| self.units.get(&a.unit))
            .filter(move |u| u.incident == Some(inc.id))
    }

    /// Applies a validated event; the answer takes it back ([`Fleet::undo`]).
    pub fn apply(&mut self, ev: &Event) -> Undo {
        let undo = self.undo_for(ev);
        self.seq += 1;
        self.change(ev);
        undo
    }

    /// The previous values of what `ev` touches.
    fn undo_for(&self, ev: &Event) -> Undo {
        let (units, incidents): (Vec<&String>, Vec<u64>) = match ev {
            Event::IncidentCreated { id, .. } => (Vec::new(), vec![*id]),
            Event::UnitAssigned { incident, unit, .. } => {
                let mut i = vec![*incident];
                i.extend(self.units.get(unit).and_then(|u| u.incident));
                (vec![unit], i)
            }
            Event::UnitStatusChanged { unit, .. } => (
                vec![unit],
                self.units
                    .get(unit)
                    .and_then(|u| u.incident)
                    .into_iter()
                    .collect(),
            ),
            Event::UnitPosition { unit, .. } | Event::UnitMoved { unit, .. } => {
                (vec![unit], Vec::new())
            }
            Event::IncidentCancelled { incident, .. } => (
                self.incidents
                    .get(incident)
                    .map(|i| self.units_on(i).map(|u| &u.id).collect())
                    .unwrap_or_default(),
                vec![*incident],
            ),
            Event::IncidentClosed { incident, .. } | Event::PriorityChanged { incident, .. } => {
                (Vec::new(), vec![*incident])
            }
        };
        Undo {
            seq: self.seq,
            units: units
                .into_iter()
                .filter_map(|u| self.units.get(u))
                .map(|u| (u.id.clone(), u.clone()))
                .collect(),
            incidents: incidents
                .into_iter()
                .map(|i| (i, self.incidents.get(&i).cloned()))
                .collect(),
        }
    }

    /// Takes back an applied event. Undo records must be taken back newest first.
    pub fn undo(&mut self, undo: Undo) {
        self.seq = undo.seq;
        for (id, u) in undo.units {
            self.units.insert(id, u);
        }
        for (id, i) in undo.incidents.into_iter().rev() {
            match i {
                Some(i) => {
                    self.incidents.insert(id, i);
                }
                None => {
                    self.incidents.remove(&id);
                }
            }
        }
    }

    /// Units waiting at a hospital (see [`handover_queue`]).
    pub fn handover_queue(&self, hospital: &str, now: DateTime<Utc>) -> Vec<(String, f64)> {
        handover_queue(&self.units, hospital, now)
    }
}

/// Units waiting at `hospital` (status `at_hospital`), with the minutes each has waited by
/// `now`, longest first.
pub fn handover_queue(
    units: &BTreeMap<String, Unit>,
    hospital: &str,
    now: DateTime<Utc>,
) -> Vec<(String, f64)> {
    let mut q: Vec<(String, f64)> = units
        .values()
        .filter(|u| u.status == UnitStatus::AtHospital && u.hospital.as_deref() == Some(hospital))
        .map(|u| {
            let waited = u.since.map_or(0, |s| (now - s).num_seconds());
            (u.id.clone(), waited as f64 / 60.0)
        })
        .collect();
    q.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    q
}

/// Longitude and latitude must be finite and in range.
pub fn check_lon_lat(lon: f64, lat: f64) -> Result<(), DispatchError> {
    if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
        return Err(DispatchError::Invalid(format!(
            "lon {lon} must be in [-180, 180]"
        )));
    }
    if !(lat.is_finite() && (-90.0..=90.0).contains(&lat)) {
        return Err(DispatchError::Invalid(format!(
            "lat {lat} must be in [-90, 90]"
        )));
    }
    Ok(())
}
