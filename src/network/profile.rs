//! Speed profiles: how fast a vehicle drives on each road class, and where it may go.
//!
//! This module owns the travel-time model's only tunable part. It must not know about graphs or
//! files beyond its own serde form; [`super::Csr::build`] applies a profile to a network.
//!
//! # Defaults and their sources
//! - **Car** ([`SpeedProfile::car`]): the class speeds of `tags::default_speed_kmh` (OSRM
//!   `car.lua`), or 80 % of a signed `maxspeed` (OSRM's reduction), factor 1.0 everywhere,
//!   one-way streets respected.
//! - **Ambulance** ([`SpeedProfile::ambulance`], the default everywhere in `ems`): the car speed
//!   times a per-class factor for driving with lights and siren: 1.10 on motorways and trunks
//!   (and their links), 1.20 on primary, secondary and tertiary roads (and links), 1.15 on
//!   unclassified and residential streets, 1.0 on living streets and service roads. These factors
//!   are an **assumption**, chosen to be modest: Hunt et al. (1995, *Ann. Emerg. Med.* 25(4)) measured
//!   a mean saving of 43.5 s per urban trip with lights and siren, a gain of roughly 10-20 % on
//!   typical trip times; calibrate them against your own AVL data. One-way streets are respected
//!   by default; [`SpeedProfile::against_oneway_minor`] lets the ambulance drive against `oneway`
//!   on minor roads (unclassified, residential, living street, service) at
//!   [`SpeedProfile::against_oneway_factor`] (default 0.5) of its speed there.
//!
//! # The emergency options (OSRM issue #4967's list)
//! - `against_oneway_minor` (ambulance: off): against `oneway` on minor roads, as above.
//! - `emergency_access` (ambulance: on; car: off): ways closed to general traffic but open to
//!   emergency vehicles (`access=no|private` with `emergency=yes|designated`).
//! - `bus_lanes` (ambulance: on; car: off): bus-only roads (`highway=busway`, `access=no` with
//!   `bus`/`psv=yes|designated`) are driven, and on roads with a tagged bus lane, and on bus-only
//!   roads, time-of-day traffic factors above 1 do not apply: the ambulance is assumed to use the
//!   bus lane at free-flow speed. Chinese law (道路交通安全法 art. 53) and most European rules
//!   let an ambulance on an emergency run use bus lanes; switch it off where they do not.
//!
//! A segment's access is read at import ([`super::Access`], `network::tags`).

use serde::{Deserialize, Serialize};

use super::tags::{MAXSPEED_REDUCTION, RoadClass, default_speed_kmh};
use super::{Access, Segment};

/// A speed profile. Serialises as a TOML table, e.g. in a scenario file:
///
/// ```toml
/// [profile]
/// name = "ambulance"
/// against_oneway_minor = true
/// [profile.class_factor]
/// primary = 1.3
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeedProfile {
    /// A label for reports.
    pub name: String,
    /// Factor over the car speed per class; classes not listed keep the base profile's factor.
    pub class_factor: std::collections::BTreeMap<String, f64>,
    /// Drive against `oneway` on minor roads.
    pub against_oneway_minor: bool,
    /// Drive ways closed to general traffic but open to emergency vehicles.
    pub emergency_access: bool,
    /// Drive bus-only roads, and use bus lanes at free flow whatever the hour's traffic.
    pub bus_lanes: bool,
    /// Speed factor when driving against `oneway` (0 < f <= 1).
    pub against_oneway_factor: f64,
    /// Use 80 % of a signed `maxspeed` instead of the class default where tagged.
    pub use_maxspeed: bool,
    /// Upper bound on any speed, km/h.
    pub max_speed_kmh: f64,
}

impl Default for SpeedProfile {
    fn default() -> Self {
        SpeedProfile::ambulance()
    }
}

/// A profile value that cannot give positive finite travel times.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ProfileError {
    /// `class_factor` names a class that is not routed; check the spelling against OSM
    /// `highway=*` values (`primary`, `residential`, ...).
    #[error("profile `{profile}`: unknown road class `{class}` in class_factor")]
    UnknownClass { profile: String, class: String },
    /// A factor or speed is zero, negative or not a number.
    #[error("profile `{profile}`: `{field}` must be a positive finite number, got {value}")]
    NotPositive {
        profile: String,
        field: String,
        value: f64,
    },
}

impl SpeedProfile {
    /// Plain car speeds (factor 1.0), one-way respected.
    pub fn car() -> Self {
        SpeedProfile {
            name: "car".into(),
            class_factor: RoadClass::ALL
                .iter()
                .map(|c| (c.as_str().to_string(), 1.0))
                .collect(),
            against_oneway_minor: false,
            emergency_access: false,
            bus_lanes: false,
            against_oneway_factor: 0.5,
            use_maxspeed: true,
            max_speed_kmh: 150.0,
        }
    }

    /// The documented ambulance defaults (see the module docs).
    pub fn ambulance() -> Self {
        let factor = |c: RoadClass| match c {
            RoadClass::Motorway
            | RoadClass::MotorwayLink
            | RoadClass::Trunk
            | RoadClass::TrunkLink => 1.10,
            RoadClass::Primary
            | RoadClass::PrimaryLink
            | RoadClass::Secondary
            | RoadClass::SecondaryLink
            | RoadClass::Tertiary
            | RoadClass::TertiaryLink => 1.20,
            RoadClass::Unclassified | RoadClass::Residential => 1.15,
            RoadClass::LivingStreet | RoadClass::Service => 1.0,
        };
        SpeedProfile {
            name: "ambulance".into(),
            class_factor: RoadClass::ALL
                .iter()
                .map(|c| (c.as_str().to_string(), factor(*c)))
                .collect(),
            emergency_access: true,
            bus_lanes: true,
            ..SpeedProfile::car()
        }
    }

    /// Checks every value; called by [`super::Csr::build`].
    pub fn validate(&self) -> Result<(), ProfileError> {
        let bad = |field: &str, value: f64| ProfileError::NotPositive {
            profile: self.name.clone(),
            field: field.to_string(),
            value,
        };
        for (k, v) in &self.class_factor {
            if RoadClass::from_highway(k).is_none() {
                return Err(ProfileError::UnknownClass {
                    profile: self.name.clone(),
                    class: k.clone(),
                });
            }
            if !(v.is_finite() && *v > 0.0) {
                return Err(bad(&format!("class_factor.{k}"), *v));
            }
        }
        let f = self.against_oneway_factor;
        if !(f.is_finite() && f > 0.0 && f <= 1.0) {
            return Err(bad("against_oneway_factor", f));
        }
        if !(self.max_speed_kmh.is_finite() && self.max_speed_kmh > 0.0) {
            return Err(bad("max_speed_kmh", self.max_speed_kmh));
        }
        Ok(())
    }

    fn factor(&self, class: RoadClass) -> f64 {
        self.class_factor
            .get(class.as_str())
            .copied()
            .unwrap_or(1.0)
    }

    /// Speed in km/h on a segment in its allowed direction.
    pub fn speed_kmh(&self, seg: &Segment) -> f64 {
        let base = match (self.use_maxspeed, seg.maxspeed_kmh) {
            (true, Some(m)) => m as f64 * MAXSPEED_REDUCTION,
            _ => default_speed_kmh(seg.class),
        };
        (base * self.factor(seg.class)).min(self.max_speed_kmh)
    }

    /// Travel time in milliseconds along a segment (`forward`: from `from` to `to`), or `None`
    /// where the profile may not drive that way. Always at least 1 ms.
    pub fn travel_time_ms(&self, seg: &Segment, forward: bool) -> Option<u32> {
        self.travel_time_ms_scaled(seg, forward, 1.0)
    }

    /// Whether the profile may drive a segment at all (its access, not its direction).
    pub fn may_drive(&self, seg: &Segment) -> bool {
        match seg.access {
            Access::General | Access::BusLane => true,
            Access::EmergencyOnly => self.emergency_access,
            Access::BusOnly => self.bus_lanes,
        }
    }

    /// Whether traffic factors above 1 pass a segment by (bus lanes and bus-only roads, for a
    /// profile that uses them).
    pub fn free_flow_at_every_hour(&self, seg: &Segment) -> bool {
        self.bus_lanes && matches!(seg.access, Access::BusLane | Access::BusOnly)
    }

    /// As [`SpeedProfile::travel_time_ms`], with the time multiplied by `factor` (> 0) before
    /// rounding: a traffic profile's factor for the segment's class at one hour (capped at 1
    /// where [`SpeedProfile::free_flow_at_every_hour`]).
    pub fn travel_time_ms_scaled(&self, seg: &Segment, forward: bool, factor: f64) -> Option<u32> {
        if !self.may_drive(seg) {
            return None;
        }
        let factor = if self.free_flow_at_every_hour(seg) {
            factor.min(1.0)
        } else {
            factor
        };
        let mut kmh = self.speed_kmh(seg);
        if !forward && seg.oneway {
            if self.against_oneway_minor && seg.class.is_minor() {
                kmh *= self.against_oneway_factor;
            } else {
                return None;
            }
        }
        Some(time_ms(seg.length_m, kmh / factor))
    }
}

/// Milliseconds to drive `length_m` metres at `kmh`, rounded, at least 1.
pub fn time_ms(length_m: f64, kmh: f64) -> u32 {
    let ms = (length_m / (kmh / 3.6) * 1000.0).round();
    ms.clamp(1.0, u32::MAX as f64 / 4.0) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        SpeedProfile::car().validate().unwrap();
        SpeedProfile::ambulance().validate().unwrap();
    }

    #[test]
    fn bad_values_are_named() {
        let mut p = SpeedProfile::car();
        p.class_factor.insert("footway".into(), 1.0);
        assert!(matches!(
            p.validate(),
            Err(ProfileError::UnknownClass { .. })
        ));
        let mut p = SpeedProfile::car();
        p.class_factor.insert("primary".into(), 0.0);
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("class_factor.primary"), "{e}");
    }

    #[test]
    fn time_is_positive() {
        assert_eq!(time_ms(0.0, 50.0), 1);
        assert_eq!(time_ms(1000.0, 36.0), 100_000);
    }
}
