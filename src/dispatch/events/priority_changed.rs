//! [`Event::PriorityChanged`](super::Event::PriorityChanged): triage changed an open call's
//! priority.
//!
//! This file owns that event's validation and its change. It must not forget the priority at
//! the call (kept as `initial_priority`).

use crate::dispatch::{DispatchError, Fleet};

impl Fleet {
    /// The call is open and the priority 1 to 4.
    pub(super) fn validate_priority_changed(
        &self,
        incident: &u64,
        priority: &u8,
    ) -> Result<(), DispatchError> {
        self.open_incident(*incident)?;
        if !(1..=4).contains(priority) {
            return Err(DispatchError::Invalid(format!(
                "priority {priority} must be 1 (most urgent) to 4"
            )));
        }
        Ok(())
    }

    /// Sets the priority, keeping the first one.
    pub(super) fn apply_priority_changed(&mut self, incident: &u64, priority: &u8) {
        if let Some(inc) = self.incidents.get_mut(incident) {
            inc.initial_priority.get_or_insert(inc.priority);
            inc.priority = *priority;
        }
    }
}
