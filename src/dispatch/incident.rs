//! An incident as the live state keeps it: the call, each unit's part in it ([`Assignment`])
//! and the incident's own stage times, and the rows it gives the incident log.
//!
//! This file owns [`IncidentRecord`] and [`Assignment`]. It must not change an incident on its
//! own: only the events ([`super::Fleet::apply`]) do, through `summarise` and `active_mut`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{Incident, TimeZoneSpec};

/// One unit's part in an incident: its own stage times.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    pub unit: String,
    pub dispatched: DateTime<Utc>,
    pub departed: Option<DateTime<Utc>>,
    pub on_scene: Option<DateTime<Utc>>,
    /// Left the scene with a patient (`transporting`).
    pub left_scene: Option<DateTime<Utc>>,
    pub at_hospital: Option<DateTime<Utc>>,
    pub handover_complete: Option<DateTime<Utc>>,
    /// Left the incident after reaching it (`returning`).
    pub cleared: Option<DateTime<Utc>>,
    /// Stood down before reaching the scene (by its crew, or the call cancelled).
    pub stood_down: Option<DateTime<Utc>>,
    pub hospital: Option<String>,
    /// Where it set off from: its last known position when assigned, updated when it reports
    /// `en_route` (the start of the drive `ems calibrate` measures).
    pub start_lon_lat: Option<[f64; 2]>,
}

impl Assignment {
    /// Still working the incident.
    pub fn active(&self) -> bool {
        self.cleared.is_none() && self.stood_down.is_none()
    }

    fn stages(&self) -> crate::model::UnitStages<DateTime<Utc>> {
        crate::model::UnitStages {
            ambulance: true,
            dispatched: Some(self.dispatched),
            on_scene: self.on_scene,
            left_scene: self.left_scene,
            at_hospital: self.at_hospital,
        }
    }
}

/// A call and its stage times.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IncidentRecord {
    pub id: u64,
    pub lon_lat: [f64; 2],
    pub priority: u8,
    pub condition: Option<String>,
    pub note: Option<String>,
    pub call_received: DateTime<Utc>,
    /// The incident's stage times: dispatch, departure and arrival of its first unit on scene
    /// (before any is, its first dispatched), hospital stages of its first unit at a hospital
    /// (see the module header).
    pub dispatched: Option<DateTime<Utc>>,
    pub departed: Option<DateTime<Utc>>,
    pub on_scene: Option<DateTime<Utc>>,
    pub at_hospital: Option<DateTime<Utc>>,
    pub handover_complete: Option<DateTime<Utc>>,
    /// When its last unit left it; an incident is open until then.
    pub closed: Option<DateTime<Utc>>,
    /// The unit whose times the incident's are (first on scene, else first dispatched).
    pub unit: Option<String>,
    pub hospital: Option<String>,
    /// Where `unit` set off from.
    pub start_lon_lat: Option<[f64; 2]>,
    /// Every unit sent, in the order assigned (a unit sent twice appears twice).
    pub units: Vec<Assignment>,
    /// When a dispatcher cancelled it (its units stood down), and why.
    pub cancelled: Option<DateTime<Utc>>,
    pub cancel_reason: Option<String>,
    /// The priority at the call, when triage changed it since (`priority` is the current one).
    pub initial_priority: Option<u8>,
}

impl IncidentRecord {
    pub fn open(&self) -> bool {
        self.closed.is_none()
    }

    /// The units working it now.
    pub fn active_units(&self) -> impl Iterator<Item = &Assignment> {
        self.units.iter().filter(|a| a.active())
    }

    /// `unit`'s current assignment, if it is working this incident.
    pub(super) fn active_mut(&mut self, unit: &str) -> Option<&mut Assignment> {
        self.units
            .iter_mut()
            .rev()
            .find(|a| a.unit == unit && a.active())
    }

    /// Sets the incident's own stage times from its units' ([`crate::model::lead_units`]).
    pub(super) fn summarise(&mut self) {
        let stages: Vec<_> = self.units.iter().map(Assignment::stages).collect();
        let (first, transport) = crate::model::lead_units(&stages);
        let first = first.map(|k| &self.units[k]);
        let transport = transport.map(|k| &self.units[k]);
        self.dispatched = first.map(|a| a.dispatched);
        self.departed = first.and_then(|a| a.departed);
        self.on_scene = first.and_then(|a| a.on_scene);
        self.start_lon_lat = first.and_then(|a| a.start_lon_lat);
        self.unit = first.map(|a| a.unit.clone());
        self.at_hospital = transport.and_then(|a| a.at_hospital);
        self.handover_complete = transport.and_then(|a| a.handover_complete);
        self.hospital = transport.and_then(|a| a.hospital.clone());
    }

    /// The row the incident log (and so the standards check) reads, in time zone `tz`.
    pub fn to_incident(&self, tz: &TimeZoneSpec) -> Incident {
        let t = |x: DateTime<Utc>| tz.from_utc(x);
        let stages: Vec<_> = self.units.iter().map(Assignment::stages).collect();
        let (_, transport) = crate::model::lead_units(&stages);
        let n = self.units.len().max(1) as u32;
        Incident {
            dispatched: self.dispatched.map(t),
            departed: self.departed.map(t),
            on_scene: self.on_scene.map(t),
            left_scene: transport.and_then(|k| self.units[k].left_scene).map(t),
            at_hospital: self.at_hospital.map(t),
            handover_complete: self.handover_complete.map(t),
            start_lon_lat: self.start_lon_lat,
            unit: self.unit.clone(),
            hospital: self.hospital.clone(),
            condition: self.condition.clone(),
            units: n,
            ambulances: n,
            ..Incident::call(
                self.id.to_string(),
                t(self.call_received),
                self.priority,
                self.lon_lat,
            )
        }
    }

    /// One row per unit sent (one row without a unit if none was), each with that unit's own
    /// stage times: the layout of a CAD export, read back by the `ems-units` mapping preset
    /// into the same incidents as [`IncidentRecord::to_incident`].
    pub fn unit_rows(&self, tz: &TimeZoneSpec) -> Vec<Incident> {
        let t = |x: DateTime<Utc>| tz.from_utc(x);
        let call = || {
            Incident::call(
                self.id.to_string(),
                t(self.call_received),
                self.priority,
                self.lon_lat,
            )
        };
        if self.units.is_empty() {
            return vec![Incident {
                condition: self.condition.clone(),
                ..call()
            }];
        }
        self.units
            .iter()
            .map(|a| Incident {
                dispatched: Some(t(a.dispatched)),
                departed: a.departed.map(t),
                on_scene: a.on_scene.map(t),
                left_scene: a.left_scene.map(t),
                at_hospital: a.at_hospital.map(t),
                handover_complete: a.handover_complete.map(t),
                start_lon_lat: a.start_lon_lat,
                unit: Some(a.unit.clone()),
                hospital: a.hospital.clone(),
                condition: self.condition.clone(),
                ..call()
            })
            .collect()
    }
}
