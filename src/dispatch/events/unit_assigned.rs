//! [`Event::UnitAssigned`](super::Event::UnitAssigned): a unit sent to an open call (the only
//! way into `dispatched`; a returning or relocating unit is diverted).
//!
//! This file owns that event's validation and its change. It must not pick the unit (that is
//! [`crate::dispatch::recommend`]).

use chrono::{DateTime, Utc};

use super::{after, not_future};
use crate::dispatch::{Assignment, DispatchError, Fleet, UnitStatus};

impl Fleet {
    /// The call is open, the unit free and not already on it, and the time after both.
    pub(super) fn validate_unit_assigned(
        &self,
        incident: &u64,
        unit: &str,
        at: &DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), DispatchError> {
        let inc = self.incident(*incident)?;
        let u = self.unit(unit)?;
        not_future(*at, now)?;
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

    /// The unit becomes `dispatched` on the call, which records its assignment.
    pub(super) fn apply_unit_assigned(&mut self, incident: &u64, unit: &str, at: &DateTime<Utc>) {
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
                unit: unit.to_string(),
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
}
