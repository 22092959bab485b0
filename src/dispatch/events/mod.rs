//! The events that change the live state, and the two dispatchers over them:
//! [`Fleet::validate`] checks an event against the state, `Fleet::change` makes its change.
//!
//! This module owns the [`Event`] enum (the log's record format) and the time checks every
//! event shares. Each event kind has its own file holding its pair `validate_*` / `apply_*`,
//! as a server gives each command its own `apply`; a new kind adds a file and two match arms
//! here. It must not hold one kind's rules itself, nor write the log (that is [`super::store`]).

mod incident_cancelled;
mod incident_closed;
mod incident_created;
mod priority_changed;
mod stamp;
mod unit_assigned;
mod unit_moved;
mod unit_position;
mod unit_status_changed;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{DispatchError, Fleet, MAX_FUTURE_S, UnitStatus};

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

/// Refuses a time more than [`MAX_FUTURE_S`] after the server clock `now`.
fn not_future(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), DispatchError> {
    if (at - now).num_seconds() > MAX_FUTURE_S {
        Err(DispatchError::Time(format!(
            "time {at} is more than {MAX_FUTURE_S} s after the server clock ({now})"
        )))
    } else {
        Ok(())
    }
}

/// Refuses a time before `prev`, the time of `what`.
fn after(at: DateTime<Utc>, prev: DateTime<Utc>, what: &str) -> Result<(), DispatchError> {
    if at < prev {
        Err(DispatchError::Time(format!(
            "time {at} is before {what} ({prev})"
        )))
    } else {
        Ok(())
    }
}

impl Fleet {
    /// Checks an event against the state; `now` is the server clock.
    pub fn validate(&self, ev: &Event, now: DateTime<Utc>) -> Result<(), DispatchError> {
        match ev {
            Event::IncidentCreated {
                id,
                lon,
                lat,
                priority,
                condition,
                ..
            } => self.validate_incident_created(id, lon, lat, priority, condition),
            Event::UnitAssigned { incident, unit, at } => {
                self.validate_unit_assigned(incident, unit, at, now)
            }
            Event::UnitStatusChanged {
                unit,
                status,
                at,
                hospital,
                ..
            } => self.validate_unit_status_changed(unit, status, at, hospital, now),
            Event::IncidentCancelled {
                incident,
                at,
                reason,
            } => self.validate_incident_cancelled(incident, at, reason),
            Event::UnitMoved { unit, station, at } => self.validate_unit_moved(unit, station, at),
            Event::IncidentClosed { incident, at } => self.validate_incident_closed(incident, at),
            Event::PriorityChanged {
                incident, priority, ..
            } => self.validate_priority_changed(incident, priority),
            Event::UnitPosition {
                unit, lon, lat, at, ..
            } => self.validate_unit_position(unit, lon, lat, at, now),
        }
    }

    /// Makes a validated event's change (without the sequence number: see [`Fleet::apply`]).
    pub(super) fn change(&mut self, ev: &Event) {
        match ev {
            Event::IncidentCreated {
                id,
                at,
                lon,
                lat,
                priority,
                condition,
                note,
            } => self.apply_incident_created(id, at, [*lon, *lat], priority, condition, note),
            Event::UnitAssigned { incident, unit, at } => {
                self.apply_unit_assigned(incident, unit, at)
            }
            Event::UnitStatusChanged {
                unit,
                status,
                at,
                hospital,
                ..
            } => self.apply_unit_status_changed(unit, status, at, hospital),
            Event::UnitPosition {
                unit, lon, lat, at, ..
            } => self.apply_unit_position(unit, lon, lat, at),
            Event::IncidentCancelled {
                incident,
                at,
                reason,
            } => self.apply_incident_cancelled(incident, at, reason),
            Event::IncidentClosed { incident, at } => self.apply_incident_closed(incident, at),
            Event::UnitMoved { unit, station, at } => self.apply_unit_moved(unit, station, at),
            Event::PriorityChanged {
                incident, priority, ..
            } => self.apply_priority_changed(incident, priority),
        }
    }
}
