//! [`Event::IncidentClosed`](super::Event::IncidentClosed): a dispatcher closes an open call no
//! unit is working.
//!
//! This file owns that event's validation and its change. It must not stand units down (that
//! is a cancellation).

use chrono::{DateTime, Utc};

use super::after;
use crate::dispatch::{DispatchError, Fleet};

impl Fleet {
    /// The call is open and no unit is on it.
    pub(super) fn validate_incident_closed(
        &self,
        incident: &u64,
        at: &DateTime<Utc>,
    ) -> Result<(), DispatchError> {
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

    /// Closes the call.
    pub(super) fn apply_incident_closed(&mut self, incident: &u64, at: &DateTime<Utc>) {
        if let Some(inc) = self.incidents.get_mut(incident) {
            inc.closed = Some(*at);
        }
    }
}
