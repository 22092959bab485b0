//! [`Event::IncidentCancelled`](super::Event::IncidentCancelled): a dispatcher cancels an open
//! call before its units arrive; its units on the way are stood down.
//!
//! This file owns that event's validation and its change. It must not cancel a call a unit
//! has reached (that one closes when its units clear).

use chrono::{DateTime, Utc};

use super::after;
use crate::dispatch::{DispatchError, Fleet, UnitStatus};

impl Fleet {
    /// The call is open, no unit has reached it, and the reason is short.
    pub(super) fn validate_incident_cancelled(
        &self,
        incident: &u64,
        at: &DateTime<Utc>,
        reason: &Option<String>,
    ) -> Result<(), DispatchError> {
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

    /// Closes the call as cancelled and makes its units on the way available.
    pub(super) fn apply_incident_cancelled(
        &mut self,
        incident: &u64,
        at: &DateTime<Utc>,
        reason: &Option<String>,
    ) {
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
}
