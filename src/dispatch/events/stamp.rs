//! Putting a client's times on the server clock before an event is validated.
//!
//! This file owns [`Fleet::stamp`]. It must not check an event against the state (that is
//! [`Fleet::validate`]) nor change the state.

use chrono::{DateTime, Utc};

use super::Event;
use crate::dispatch::{DispatchError, EARLIEST_YEAR, Fleet};

impl Fleet {
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
}
