//! [`Event::IncidentCreated`](super::Event::IncidentCreated): a new call.
//!
//! This file owns that event's validation and its change. It must not touch units.

use chrono::{DateTime, Utc};

use crate::dispatch::{DispatchError, Fleet, IncidentRecord, check_lon_lat};

impl Fleet {
    /// The id is new, the place valid, the priority 1 to 4 and the condition a known one.
    pub(super) fn validate_incident_created(
        &self,
        id: &u64,
        lon: &f64,
        lat: &f64,
        priority: &u8,
        condition: &Option<String>,
    ) -> Result<(), DispatchError> {
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

    /// Opens the incident, with no unit yet.
    pub(super) fn apply_incident_created(
        &mut self,
        id: &u64,
        at: &DateTime<Utc>,
        lon_lat: [f64; 2],
        priority: &u8,
        condition: &Option<String>,
        note: &Option<String>,
    ) {
        self.incidents.insert(
            *id,
            IncidentRecord {
                id: *id,
                lon_lat,
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
}
