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

pub mod coverage;
pub mod journal;
pub mod policy;
pub mod posting;
pub mod recommend;
pub mod store;
pub mod today;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Incident, Scenario, TimeZoneSpec};

/// Where a unit is in its job cycle.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    Available,
    Dispatched,
    EnRoute,
    OnScene,
    Transporting,
    AtHospital,
    HandoverComplete,
    Returning,
    OutOfService,
    /// Moved up to another post to cover a gap ([`Event::UnitMoved`]); available for calls on
    /// the way, and `available` at the post when it arrives.
    Relocating,
}

impl UnitStatus {
    pub const ALL: [UnitStatus; 10] = [
        UnitStatus::Available,
        UnitStatus::Dispatched,
        UnitStatus::EnRoute,
        UnitStatus::OnScene,
        UnitStatus::Transporting,
        UnitStatus::AtHospital,
        UnitStatus::HandoverComplete,
        UnitStatus::Returning,
        UnitStatus::OutOfService,
        UnitStatus::Relocating,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitStatus::Available => "available",
            UnitStatus::Dispatched => "dispatched",
            UnitStatus::EnRoute => "en_route",
            UnitStatus::OnScene => "on_scene",
            UnitStatus::Transporting => "transporting",
            UnitStatus::AtHospital => "at_hospital",
            UnitStatus::HandoverComplete => "handover_complete",
            UnitStatus::Returning => "returning",
            UnitStatus::OutOfService => "out_of_service",
            UnitStatus::Relocating => "relocating",
        }
    }

    pub fn parse(s: &str) -> Option<UnitStatus> {
        UnitStatus::ALL.into_iter().find(|u| u.as_str() == s)
    }

    /// The statuses a unit may go to from this one (by a status report; `dispatched` only by an
    /// assignment).
    pub fn next(self) -> &'static [UnitStatus] {
        use UnitStatus::*;
        match self {
            Available => &[OutOfService],
            Dispatched => &[EnRoute, Available],
            EnRoute => &[OnScene, Available],
            OnScene => &[Transporting, Returning],
            Transporting => &[AtHospital],
            AtHospital => &[HandoverComplete],
            HandoverComplete => &[Returning],
            Returning => &[Available],
            OutOfService => &[Available],
            Relocating => &[Available],
        }
    }

    /// Free for a new call: at its post, on the way back, or moving to a new post.
    pub fn assignable(self) -> bool {
        matches!(
            self,
            UnitStatus::Available | UnitStatus::Returning | UnitStatus::Relocating
        )
    }

    /// Already moving, so no turnout delay before it drives.
    pub fn rolling(self) -> bool {
        !matches!(self, UnitStatus::Available | UnitStatus::OutOfService)
    }
}

/// An ambulance.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Unit {
    pub id: String,
    pub station: String,
    pub status: UnitStatus,
    /// When the current status began; `None` until the unit's first status change (the log
    /// does not say since when it has been available).
    pub since: Option<DateTime<Utc>>,
    /// Last known position `[lon, lat]`: the latest AVL report, or where the lifecycle puts
    /// the unit (the scene on `on_scene`, the hospital on `at_hospital`, its station when it
    /// becomes available after returning), whichever came last. The station at first.
    pub position: [f64; 2],
    pub position_at: Option<DateTime<Utc>>,
    /// The incident it is working, if any.
    pub incident: Option<u64>,
    /// The hospital it is taking a patient to or waiting at.
    pub hospital: Option<String>,
    /// The station it is posted at after a move-up (`None`: its own station). Cleared when it
    /// is assigned a call: after the job it returns to its own station.
    pub post: Option<String>,
}

impl Unit {
    /// The station it stands by at: its post after a move-up, else its own.
    pub fn post_or_station(&self) -> &str {
        self.post.as_deref().unwrap_or(&self.station)
    }
}

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
    fn active_mut(&mut self, unit: &str) -> Option<&mut Assignment> {
        self.units
            .iter_mut()
            .rev()
            .find(|a| a.unit == unit && a.active())
    }

    /// Sets the incident's own stage times from its units' ([`crate::model::lead_units`]).
    fn summarise(&mut self) {
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

/// A state change, as stored in the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    IncidentCreated {
        id: u64,
        at: DateTime<Utc>,
        lon: f64,
        lat: f64,
        priority: u8,
        condition: Option<String>,
        note: Option<String>,
    },
    UnitAssigned {
        incident: u64,
        unit: String,
        at: DateTime<Utc>,
    },
    UnitStatusChanged {
        unit: String,
        status: UnitStatus,
        at: DateTime<Utc>,
        hospital: Option<String>,
        /// The time the client reported when it was moved into the tolerated clock skew
        /// (see [`Fleet::stamp`]); `at` is then the server's.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reported_at: Option<DateTime<Utc>>,
    },
    UnitPosition {
        unit: String,
        lon: f64,
        lat: f64,
        at: DateTime<Utc>,
        /// As for [`Event::UnitStatusChanged`].
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reported_at: Option<DateTime<Utc>>,
    },
    /// A dispatcher cancels an open call (a duplicate, a hoax, no patient found before
    /// arrival): a unit dispatched or on its way is stood down; closed at once.
    IncidentCancelled {
        incident: u64,
        at: DateTime<Utc>,
        reason: Option<String>,
    },
    /// A dispatcher closes an open call no unit is working (handled by phone, or its unit
    /// already left).
    IncidentClosed { incident: u64, at: DateTime<Utc> },
    /// A dispatcher moves an idle unit to another post (a move-up): it becomes `relocating`,
    /// then `available` at that station when it reports so.
    UnitMoved {
        unit: String,
        station: String,
        at: DateTime<Utc>,
    },
    /// Triage changed an open call's priority.
    PriorityChanged {
        incident: u64,
        priority: u8,
        at: DateTime<Utc>,
    },
}

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

    /// Puts a client's times on the server clock, before [`Fleet::validate`]. `tolerance_s` is
    /// the clock skew tolerated:
    /// - a time before [`EARLIEST_YEAR`], or more than `tolerance_s` ahead of `now`, is refused;
    /// - a time ahead of `now` within the tolerance becomes `now`;
    /// - a status time before the unit's last change, within the tolerance, becomes that
    ///   change's time (a tablet a little slow can still report `en_route` after a dispatch the
    ///   server stamped);
    /// - an assignment is stamped `now`, or the unit's last change or the call if either is
    ///   later (a unit that is recommended can always be assigned).
    ///
    /// A moved client time is kept in the event's `reported_at`.
    pub fn stamp(
        &self,
        ev: &mut Event,
        now: DateTime<Utc>,
        tolerance_s: i64,
    ) -> Result<(), DispatchError> {
        use chrono::Datelike;
        let ahead = |at: DateTime<Utc>| -> Result<(), DispatchError> {
            if at.year() < EARLIEST_YEAR {
                return Err(DispatchError::Invalid(format!(
                    "at: {at} is before {EARLIEST_YEAR}; check the device's clock"
                )));
            }
            let s = (at - now).num_seconds();
            if s > tolerance_s {
                return Err(DispatchError::Time(format!(
                    "at: {at} is {s} s ahead of the server clock ({now}); the tolerated clock \
                     skew is {tolerance_s} s"
                )));
            }
            Ok(())
        };
        match ev {
            Event::IncidentCreated { .. }
            | Event::UnitMoved { .. }
            | Event::IncidentCancelled { .. }
            | Event::IncidentClosed { .. }
            | Event::PriorityChanged { .. } => Ok(()),
            Event::UnitAssigned { incident, unit, at } => {
                let mut t = *at;
                if let Some(since) = self.units.get(unit.as_str()).and_then(|u| u.since) {
                    t = t.max(since);
                }
                if let Some(i) = self.incidents.get(incident) {
                    t = t.max(i.call_received);
                }
                *at = t;
                Ok(())
            }
            Event::UnitStatusChanged {
                unit,
                at,
                reported_at,
                ..
            } => {
                ahead(*at)?;
                let reported = *at;
                if *at > now {
                    *at = now;
                }
                if let Some(since) = self.units.get(unit.as_str()).and_then(|u| u.since)
                    && *at < since
                    && (since - *at).num_seconds() <= tolerance_s
                {
                    *at = since;
                }
                if *at != reported {
                    *reported_at = Some(reported);
                }
                Ok(())
            }
            Event::UnitPosition {
                at, reported_at, ..
            } => {
                ahead(*at)?;
                if *at > now {
                    *reported_at = Some(*at);
                    *at = now;
                }
                Ok(())
            }
        }
    }

    /// Checks an event against the state; `now` is the server clock.
    pub fn validate(&self, ev: &Event, now: DateTime<Utc>) -> Result<(), DispatchError> {
        let not_future = |at: DateTime<Utc>| {
            if (at - now).num_seconds() > MAX_FUTURE_S {
                Err(DispatchError::Time(format!(
                    "time {at} is more than {MAX_FUTURE_S} s after the server clock ({now})"
                )))
            } else {
                Ok(())
            }
        };
        let after = |at: DateTime<Utc>, prev: DateTime<Utc>, what: &str| {
            if at < prev {
                Err(DispatchError::Time(format!(
                    "time {at} is before {what} ({prev})"
                )))
            } else {
                Ok(())
            }
        };
        match ev {
            Event::IncidentCreated {
                id,
                lon,
                lat,
                priority,
                condition,
                ..
            } => {
                if self.incidents.contains_key(id) {
                    return Err(DispatchError::Conflict(format!("incident {id} exists")));
                }
                check_lon_lat(*lon, *lat)?;
                if !(1..=4).contains(priority) {
                    return Err(DispatchError::Invalid(format!(
                        "priority {priority} must be 1 (most urgent) to 4"
                    )));
                }
                if let Some(c) = condition
                    && !crate::model::CONDITIONS.contains(&c.as_str())
                {
                    return Err(DispatchError::Invalid(format!(
                        "condition `{c}` is not one of {}",
                        crate::model::CONDITIONS.join(", ")
                    )));
                }
                Ok(())
            }
            Event::UnitAssigned { incident, unit, at } => {
                let inc = self.incident(*incident)?;
                let u = self.unit(unit)?;
                not_future(*at)?;
                if !inc.open() {
                    return Err(DispatchError::Conflict(format!(
                        "incident {incident} is closed"
                    )));
                }
                if u.incident == Some(*incident) {
                    return Err(DispatchError::Conflict(format!(
                        "unit `{unit}` is already on incident {incident}"
                    )));
                }
                if !u.status.assignable() {
                    return Err(DispatchError::Conflict(format!(
                        "unit `{unit}` is {} and cannot take a call (it must be available or returning)",
                        u.status.as_str()
                    )));
                }
                after(*at, inc.call_received, "the call")?;
                match u.since {
                    Some(since) => after(*at, since, "the unit's last status change"),
                    None => Ok(()),
                }
            }
            Event::UnitStatusChanged {
                unit,
                status,
                at,
                hospital,
                ..
            } => {
                let u = self.unit(unit)?;
                not_future(*at)?;
                if !u.status.next().contains(status) {
                    return Err(DispatchError::Transition {
                        unit: unit.clone(),
                        from: u.status.as_str(),
                        to: status.as_str(),
                        allowed: u
                            .status
                            .next()
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    });
                }
                if let Some(since) = u.since {
                    after(*at, since, "the unit's last status change")?;
                }
                if let Some(h) = hospital
                    && !self.hospitals.contains(h)
                {
                    return Err(DispatchError::UnknownHospital(h.clone()));
                }
                if matches!(status, UnitStatus::Transporting | UnitStatus::AtHospital)
                    && hospital.is_none()
                    && u.hospital.is_none()
                {
                    return Err(DispatchError::Invalid(format!(
                        "unit `{unit}` going {} needs a hospital_id",
                        status.as_str()
                    )));
                }
                Ok(())
            }
            Event::IncidentCancelled {
                incident,
                at,
                reason,
            } => {
                let inc = self.open_incident(*incident)?;
                after(*at, inc.call_received, "the call")?;
                if let Some(r) = reason
                    && r.chars().count() > 500
                {
                    return Err(DispatchError::Invalid(
                        "reason: at most 500 characters".into(),
                    ));
                }
                if inc.on_scene.is_some() {
                    return Err(DispatchError::Conflict(format!(
                        "incident {incident}: a unit has reached the scene; stand the others \
                         down (status available) and it closes when the last one clears"
                    )));
                }
                if let Some(u) = self
                    .units_on(inc)
                    .find(|u| !matches!(u.status, UnitStatus::Dispatched | UnitStatus::EnRoute))
                {
                    return Err(DispatchError::Conflict(format!(
                        "incident {incident}: unit `{}` is {}; a call is cancelled only before \
                         its units arrive (close it when they clear)",
                        u.id,
                        u.status.as_str()
                    )));
                }
                Ok(())
            }
            Event::UnitMoved { unit, station, at } => {
                let u = self.unit(unit)?;
                if !self.station_at.contains_key(station) {
                    return Err(DispatchError::Invalid(format!(
                        "unknown station `{station}`"
                    )));
                }
                if !matches!(u.status, UnitStatus::Available | UnitStatus::Returning) {
                    return Err(DispatchError::Conflict(format!(
                        "unit `{unit}` is {}; only an available or returning unit is moved up",
                        u.status.as_str()
                    )));
                }
                if u.status == UnitStatus::Available && u.post_or_station() == station {
                    return Err(DispatchError::Conflict(format!(
                        "unit `{unit}` is already at `{station}`"
                    )));
                }
                if let Some(since) = u.since {
                    after(*at, since, "the unit's last status change")?;
                }
                Ok(())
            }
            Event::IncidentClosed { incident, at } => {
                let inc = self.open_incident(*incident)?;
                after(*at, inc.call_received, "the call")?;
                if let Some(u) = self.units_on(inc).next() {
                    return Err(DispatchError::Conflict(format!(
                        "incident {incident}: unit `{}` is still on it ({}); cancel the call \
                         (stands its units down) or wait until they clear",
                        u.id,
                        u.status.as_str()
                    )));
                }
                Ok(())
            }
            Event::PriorityChanged {
                incident, priority, ..
            } => {
                self.open_incident(*incident)?;
                if !(1..=4).contains(priority) {
                    return Err(DispatchError::Invalid(format!(
                        "priority {priority} must be 1 (most urgent) to 4"
                    )));
                }
                Ok(())
            }
            Event::UnitPosition {
                unit, lon, lat, at, ..
            } => {
                let u = self.unit(unit)?;
                check_lon_lat(*lon, *lat)?;
                not_future(*at)?;
                if let Some(prev) = u.position_at {
                    after(*at, prev, "the unit's last position report")?;
                }
                Ok(())
            }
        }
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

    fn change(&mut self, ev: &Event) {
        match ev {
            Event::IncidentCreated {
                id,
                at,
                lon,
                lat,
                priority,
                condition,
                note,
            } => {
                self.incidents.insert(
                    *id,
                    IncidentRecord {
                        id: *id,
                        lon_lat: [*lon, *lat],
                        priority: *priority,
                        condition: condition.clone(),
                        note: note.clone(),
                        call_received: *at,
                        dispatched: None,
                        departed: None,
                        on_scene: None,
                        at_hospital: None,
                        handover_complete: None,
                        closed: None,
                        unit: None,
                        hospital: None,
                        start_lon_lat: None,
                        units: Vec::new(),
                        cancelled: None,
                        cancel_reason: None,
                        initial_priority: None,
                    },
                );
            }
            Event::UnitAssigned { incident, unit, at } => {
                let start = self.units.get(unit).map(|u| u.position);
                if let Some(u) = self.units.get_mut(unit) {
                    // A diverted unit leaves its previous job behind.
                    u.status = UnitStatus::Dispatched;
                    u.since = Some(*at);
                    u.incident = Some(*incident);
                    u.hospital = None;
                    u.post = None;
                }
                if let Some(inc) = self.incidents.get_mut(incident) {
                    inc.units.push(Assignment {
                        unit: unit.clone(),
                        dispatched: *at,
                        departed: None,
                        on_scene: None,
                        left_scene: None,
                        at_hospital: None,
                        handover_complete: None,
                        cleared: None,
                        stood_down: None,
                        hospital: None,
                        start_lon_lat: start,
                    });
                    inc.summarise();
                }
            }
            Event::UnitStatusChanged {
                unit,
                status,
                at,
                hospital,
                ..
            } => {
                let Some(u) = self.units.get_mut(unit) else {
                    return;
                };
                let was = u.status;
                u.status = *status;
                u.since = Some(*at);
                if hospital.is_some() {
                    u.hospital = hospital.clone();
                }
                let inc_id = u.incident;
                let uh = u.hospital.clone();
                // Positions the lifecycle implies (an AVL report may follow and refine them).
                let implied = match status {
                    UnitStatus::OnScene => inc_id
                        .and_then(|i| self.incidents.get(&i))
                        .map(|i| i.lon_lat),
                    UnitStatus::AtHospital => {
                        uh.as_ref().and_then(|h| self.hospital_at.get(h)).copied()
                    }
                    UnitStatus::Available
                        if matches!(was, UnitStatus::Returning | UnitStatus::Relocating) =>
                    {
                        self.station_at.get(u.post_or_station()).copied()
                    }
                    _ => None,
                };
                if let Some(p) = implied {
                    u.position = p;
                }
                let position = u.position;
                match status {
                    UnitStatus::Available | UnitStatus::OutOfService => {
                        u.incident = None;
                        u.hospital = None;
                    }
                    UnitStatus::Returning => {
                        u.incident = None;
                    }
                    _ => {}
                }
                let Some(inc) = inc_id.and_then(|i| self.incidents.get_mut(&i)) else {
                    return;
                };
                let Some(a) = inc.active_mut(unit) else {
                    return;
                };
                match status {
                    UnitStatus::EnRoute => {
                        a.departed = Some(*at);
                        a.start_lon_lat = Some(position);
                    }
                    UnitStatus::OnScene => a.on_scene = Some(*at),
                    UnitStatus::Transporting => {
                        a.hospital = uh;
                        a.left_scene = Some(*at);
                    }
                    UnitStatus::AtHospital => {
                        a.hospital = uh;
                        a.at_hospital = Some(*at);
                    }
                    UnitStatus::HandoverComplete => a.handover_complete = Some(*at),
                    UnitStatus::Returning => a.cleared = Some(*at),
                    // Stood down: the call stays open for another unit.
                    UnitStatus::Available => a.stood_down = Some(*at),
                    _ => {}
                }
                inc.summarise();
                // Closed when its last unit leaves, once one has reached it.
                if inc.active_units().next().is_none() && inc.on_scene.is_some() {
                    inc.closed = Some(*at);
                }
            }
            Event::UnitPosition {
                unit, lon, lat, at, ..
            } => {
                if let Some(u) = self.units.get_mut(unit) {
                    u.position = [*lon, *lat];
                    u.position_at = Some(*at);
                }
            }
            Event::IncidentCancelled {
                incident,
                at,
                reason,
            } => {
                let Some(inc) = self.incidents.get_mut(incident) else {
                    return;
                };
                inc.cancelled = Some(*at);
                inc.cancel_reason = reason.clone();
                inc.closed = Some(*at);
                // Its units on the way are stood down (the incident keeps who was sent and
                // when, as the log shows it).
                for a in inc.units.iter_mut().filter(|a| a.active()) {
                    a.stood_down = Some(*at);
                    if let Some(u) = self.units.get_mut(&a.unit)
                        && u.incident == Some(*incident)
                    {
                        u.status = UnitStatus::Available;
                        u.since = Some(*at);
                        u.incident = None;
                        u.hospital = None;
                    }
                }
            }
            Event::IncidentClosed { incident, at } => {
                if let Some(inc) = self.incidents.get_mut(incident) {
                    inc.closed = Some(*at);
                }
            }
            Event::UnitMoved { unit, station, at } => {
                if let Some(u) = self.units.get_mut(unit) {
                    u.status = UnitStatus::Relocating;
                    u.since = Some(*at);
                    u.incident = None;
                    u.hospital = None;
                    u.post = (*station != u.station).then(|| station.clone());
                }
            }
            Event::PriorityChanged {
                incident, priority, ..
            } => {
                if let Some(inc) = self.incidents.get_mut(incident) {
                    inc.initial_priority.get_or_insert(inc.priority);
                    inc.priority = *priority;
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
