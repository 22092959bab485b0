//! [`Event::UnitMoved`](super::Event::UnitMoved): a move-up, an idle unit sent to another post
//! (the only way into `relocating`).
//!
//! This file owns that event's validation and its change. It must not choose the post (that is
//! [`crate::dispatch::posting`]).

use chrono::{DateTime, Utc};

use super::after;
use crate::dispatch::{DispatchError, Fleet, UnitStatus};

impl Fleet {
    /// The station exists, the unit is available or returning and not already there.
    pub(super) fn validate_unit_moved(
        &self,
        unit: &str,
        station: &str,
        at: &DateTime<Utc>,
    ) -> Result<(), DispatchError> {
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

    /// The unit becomes `relocating`, posted at `station` (none: its own).
    pub(super) fn apply_unit_moved(&mut self, unit: &str, station: &str, at: &DateTime<Utc>) {
        if let Some(u) = self.units.get_mut(unit) {
            u.status = UnitStatus::Relocating;
            u.since = Some(*at);
            u.incident = None;
            u.hospital = None;
            u.post = (*station != u.station).then(|| station.to_string());
        }
    }
}
