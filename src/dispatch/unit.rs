//! A unit (an ambulance) and its status lifecycle: which status may follow which.
//!
//! This file owns [`UnitStatus`] and [`Unit`]. It must not change a unit: only the events
//! ([`super::Fleet::apply`]) do.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a unit is in its job cycle.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    Available,
    Dispatched,
    EnRoute,
    OnScene,
    Transporting,
    AtHospital,
    HandoverComplete,
    Returning,
    OutOfService,
    /// Moved up to another post to cover a gap
    /// ([`Event::UnitMoved`](super::Event::UnitMoved)); available for calls on the way, and
    /// `available` at the post when it arrives.
    Relocating,
}

impl UnitStatus {
    pub const ALL: [UnitStatus; 10] = [
        UnitStatus::Available,
        UnitStatus::Dispatched,
        UnitStatus::EnRoute,
        UnitStatus::OnScene,
        UnitStatus::Transporting,
        UnitStatus::AtHospital,
        UnitStatus::HandoverComplete,
        UnitStatus::Returning,
        UnitStatus::OutOfService,
        UnitStatus::Relocating,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UnitStatus::Available => "available",
            UnitStatus::Dispatched => "dispatched",
            UnitStatus::EnRoute => "en_route",
            UnitStatus::OnScene => "on_scene",
            UnitStatus::Transporting => "transporting",
            UnitStatus::AtHospital => "at_hospital",
            UnitStatus::HandoverComplete => "handover_complete",
            UnitStatus::Returning => "returning",
            UnitStatus::OutOfService => "out_of_service",
            UnitStatus::Relocating => "relocating",
        }
    }

    pub fn parse(s: &str) -> Option<UnitStatus> {
        UnitStatus::ALL.into_iter().find(|u| u.as_str() == s)
    }

    /// The statuses a unit may go to from this one (by a status report; `dispatched` only by an
    /// assignment).
    pub fn next(self) -> &'static [UnitStatus] {
        use UnitStatus::*;
        match self {
            Available => &[OutOfService],
            Dispatched => &[EnRoute, Available],
            EnRoute => &[OnScene, Available],
            OnScene => &[Transporting, Returning],
            Transporting => &[AtHospital],
            AtHospital => &[HandoverComplete],
            HandoverComplete => &[Returning],
            Returning => &[Available],
            OutOfService => &[Available],
            Relocating => &[Available],
        }
    }

    /// Free for a new call: at its post, on the way back, or moving to a new post.
    pub fn assignable(self) -> bool {
        matches!(
            self,
            UnitStatus::Available | UnitStatus::Returning | UnitStatus::Relocating
        )
    }

    /// Already moving, so no turnout delay before it drives.
    pub fn rolling(self) -> bool {
        !matches!(self, UnitStatus::Available | UnitStatus::OutOfService)
    }
}

/// An ambulance.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Unit {
    pub id: String,
    pub station: String,
    pub status: UnitStatus,
    /// When the current status began; `None` until the unit's first status change (the log
    /// does not say since when it has been available).
    pub since: Option<DateTime<Utc>>,
    /// Last known position `[lon, lat]`: the latest AVL report, or where the lifecycle puts
    /// the unit (the scene on `on_scene`, the hospital on `at_hospital`, its station when it
    /// becomes available after returning), whichever came last. The station at first.
    pub position: [f64; 2],
    pub position_at: Option<DateTime<Utc>>,
    /// The incident it is working, if any.
    pub incident: Option<u64>,
    /// The hospital it is taking a patient to or waiting at.
    pub hospital: Option<String>,
    /// The station it is posted at after a move-up (`None`: its own station). Cleared when it
    /// is assigned a call: after the job it returns to its own station.
    pub post: Option<String>,
}

impl Unit {
    /// The station it stands by at: its post after a move-up, else its own.
    pub fn post_or_station(&self) -> &str {
        self.post.as_deref().unwrap_or(&self.station)
    }
}
