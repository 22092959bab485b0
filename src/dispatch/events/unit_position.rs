//! [`Event::UnitPosition`](super::Event::UnitPosition): an AVL report of where a unit is.
//!
//! This file owns that event's validation and its change. It must not change a unit's status.

use chrono::{DateTime, Utc};

use super::{after, not_future};
use crate::dispatch::{DispatchError, Fleet, check_lon_lat};

impl Fleet {
    /// The place is valid and the time after the unit's last report.
    pub(super) fn validate_unit_position(
        &self,
        unit: &str,
        lon: &f64,
        lat: &f64,
        at: &DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), DispatchError> {
        let u = self.unit(unit)?;
        check_lon_lat(*lon, *lat)?;
        not_future(*at, now)?;
        if let Some(prev) = u.position_at {
            after(*at, prev, "the unit's last position report")?;
        }
        Ok(())
    }

    /// The unit is where it reports.
    pub(super) fn apply_unit_position(
        &mut self,
        unit: &str,
        lon: &f64,
        lat: &f64,
        at: &DateTime<Utc>,
    ) {
        if let Some(u) = self.units.get_mut(unit) {
            u.position = [*lon, *lat];
            u.position_at = Some(*at);
        }
    }
}
