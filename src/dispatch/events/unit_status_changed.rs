//! [`Event::UnitStatusChanged`](super::Event::UnitStatusChanged): a unit reports its next
//! status (see the lifecycle in [`crate::dispatch`]).
//!
//! This file owns that event's validation and its change: the unit's status and the position
//! its lifecycle implies, its assignment's stage time, and closing the incident when its last
//! unit leaves. It must not enter `dispatched` (only an assignment does).

use chrono::{DateTime, Utc};

use super::{after, not_future};
use crate::dispatch::{Assignment, DispatchError, Fleet, UnitStatus};

impl Fleet {
    /// The lifecycle allows the step, the time follows the unit's last change, and a hospital
    /// is known (and given where the step needs one).
    pub(super) fn validate_unit_status_changed(
        &self,
        unit: &str,
        status: &UnitStatus,
        at: &DateTime<Utc>,
        hospital: &Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), DispatchError> {
        let u = self.unit(unit)?;
        not_future(*at, now)?;
        if !u.status.next().contains(status) {
            return Err(DispatchError::Transition {
                unit: unit.to_string(),
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

    /// Moves the unit to `status`, then records the step on its incident.
    pub(super) fn apply_unit_status_changed(
        &mut self,
        unit: &str,
        status: &UnitStatus,
        at: &DateTime<Utc>,
        hospital: &Option<String>,
    ) {
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
            UnitStatus::AtHospital => uh.as_ref().and_then(|h| self.hospital_at.get(h)).copied(),
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
        record_stage(a, status, at, position, uh);
        inc.summarise();
        // Closed when its last unit leaves, once one has reached it.
        if inc.active_units().next().is_none() && inc.on_scene.is_some() {
            inc.closed = Some(*at);
        }
    }
}

/// The stage time (and hospital, start) that `status` at `at` sets on the unit's assignment;
/// `position` is the unit's, `uh` its hospital.
fn record_stage(
    a: &mut Assignment,
    status: &UnitStatus,
    at: &DateTime<Utc>,
    position: [f64; 2],
    uh: Option<String>,
) {
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
}
