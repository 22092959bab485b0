//! OSM tag interpretation: which ways are drivable, their direction, and their car speed.
//!
//! This module owns the rules that turn OpenStreetMap tags into routing attributes. It must not
//! read files or build graphs; it only answers questions about one way's tags, so the same rules
//! serve the PBF and the XML readers.
//!
//! # Rules
//! - **Drivable classes**: `motorway`, `trunk`, `primary`, `secondary`, `tertiary` and their
//!   `_link` roads, `unclassified`, `residential`, `living_street`, `service`. Everything else
//!   (`footway`, `cycleway`, `path`, `steps`, `pedestrian`, `track`, `construction`, ...) is not
//!   routed.
//! - **Excluded**: `area=yes`; `access=no|private` unless the way carries
//!   `emergency=yes|designated` (kept as [`Access::EmergencyOnly`]) or `bus`/`psv=yes|designated`
//!   (kept as [`Access::BusOnly`]); the speed profile decides whether an ambulance drives them
//!   (`emergency_access`, `bus_lanes`). Restrictions in
//!   `vehicle`, `motor_vehicle` or `motorcar` are deliberately *not* applied: they mostly mark
//!   residents-only streets and hospital access roads (`motor_vehicle=private` on Monaco's
//!   Route de l'Hôpital, for one) that ambulances do use.
//! - **Direction**: `oneway=yes|1|true` forward, `oneway=-1` backward (the geometry is reversed so
//!   that every kept one-way runs forward), `oneway=no|0|false` both ways. `oneway=reversible` and
//!   `oneway=alternating` are open in one direction at a time on a schedule we do not have; they
//!   are kept in **both** directions and counted in the import summary. One-way is implied on
//!   `highway=motorway`, `highway=motorway_link` and `junction=roundabout|circular` unless an
//!   explicit `oneway` tag says otherwise.
//! - **Bus roads and lanes**: `highway=busway` is kept as [`Access::BusOnly`] with the speed of a
//!   tertiary road (OSRM's car profile has no busway speed; busways are urban through routes).
//!   A general road with a tagged bus lane is [`Access::BusLane`]: `busway=lane` (or
//!   `busway:left|right|both=lane`), `lanes:bus` or `lanes:psv` above 0, or `bus:lanes` /
//!   `psv:lanes` with a `designated` lane.
//! - **Speed**: see [`default_speed_kmh`] and [`parse_maxspeed`].

use serde::{Deserialize, Serialize};

use super::Access;

/// A drivable OSM highway class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RoadClass {
    Motorway,
    MotorwayLink,
    Trunk,
    TrunkLink,
    Primary,
    PrimaryLink,
    Secondary,
    SecondaryLink,
    Tertiary,
    TertiaryLink,
    Unclassified,
    Residential,
    LivingStreet,
    Service,
}

impl RoadClass {
    /// Every class, in OSM order from the most to the least important.
    pub const ALL: [RoadClass; 14] = [
        RoadClass::Motorway,
        RoadClass::MotorwayLink,
        RoadClass::Trunk,
        RoadClass::TrunkLink,
        RoadClass::Primary,
        RoadClass::PrimaryLink,
        RoadClass::Secondary,
        RoadClass::SecondaryLink,
        RoadClass::Tertiary,
        RoadClass::TertiaryLink,
        RoadClass::Unclassified,
        RoadClass::Residential,
        RoadClass::LivingStreet,
        RoadClass::Service,
    ];

    /// Parses the value of a `highway=*` tag; `None` for classes that are not routed.
    pub fn from_highway(value: &str) -> Option<RoadClass> {
        Some(match value {
            "motorway" => RoadClass::Motorway,
            "motorway_link" => RoadClass::MotorwayLink,
            "trunk" => RoadClass::Trunk,
            "trunk_link" => RoadClass::TrunkLink,
            "primary" => RoadClass::Primary,
            "primary_link" => RoadClass::PrimaryLink,
            "secondary" => RoadClass::Secondary,
            "secondary_link" => RoadClass::SecondaryLink,
            "tertiary" => RoadClass::Tertiary,
            "tertiary_link" => RoadClass::TertiaryLink,
            "unclassified" => RoadClass::Unclassified,
            "residential" => RoadClass::Residential,
            "living_street" => RoadClass::LivingStreet,
            "service" => RoadClass::Service,
            _ => return None,
        })
    }

    /// The OSM tag value.
    pub fn as_str(self) -> &'static str {
        match self {
            RoadClass::Motorway => "motorway",
            RoadClass::MotorwayLink => "motorway_link",
            RoadClass::Trunk => "trunk",
            RoadClass::TrunkLink => "trunk_link",
            RoadClass::Primary => "primary",
            RoadClass::PrimaryLink => "primary_link",
            RoadClass::Secondary => "secondary",
            RoadClass::SecondaryLink => "secondary_link",
            RoadClass::Tertiary => "tertiary",
            RoadClass::TertiaryLink => "tertiary_link",
            RoadClass::Unclassified => "unclassified",
            RoadClass::Residential => "residential",
            RoadClass::LivingStreet => "living_street",
            RoadClass::Service => "service",
        }
    }

    /// Minor roads: where an ambulance profile may be allowed to drive against `oneway`.
    pub fn is_minor(self) -> bool {
        matches!(
            self,
            RoadClass::Unclassified
                | RoadClass::Residential
                | RoadClass::LivingStreet
                | RoadClass::Service
        )
    }

    /// Index into per-class tables (`0..14`).
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Default car speed in km/h per class when a way has no usable `maxspeed`.
///
/// Source: the free-flow defaults of OSRM's `car.lua` profile (Project OSRM, v5.x), which are
/// themselves calibrated to typical urban and rural traffic rather than legal limits.
///
/// | class | km/h | class | km/h |
/// |---|---|---|---|
/// | motorway | 90 | motorway_link | 45 |
/// | trunk | 85 | trunk_link | 40 |
/// | primary | 65 | primary_link | 30 |
/// | secondary | 55 | secondary_link | 25 |
/// | tertiary | 40 | tertiary_link | 20 |
/// | unclassified | 25 | residential | 25 |
/// | living_street | 10 | service | 15 |
pub fn default_speed_kmh(class: RoadClass) -> f64 {
    match class {
        RoadClass::Motorway => 90.0,
        RoadClass::MotorwayLink => 45.0,
        RoadClass::Trunk => 85.0,
        RoadClass::TrunkLink => 40.0,
        RoadClass::Primary => 65.0,
        RoadClass::PrimaryLink => 30.0,
        RoadClass::Secondary => 55.0,
        RoadClass::SecondaryLink => 25.0,
        RoadClass::Tertiary => 40.0,
        RoadClass::TertiaryLink => 20.0,
        RoadClass::Unclassified => 25.0,
        RoadClass::Residential => 25.0,
        RoadClass::LivingStreet => 10.0,
        RoadClass::Service => 15.0,
    }
}

/// Share of a signed `maxspeed` that traffic actually reaches (OSRM `car.lua` uses the same 0.8).
pub const MAXSPEED_REDUCTION: f64 = 0.8;

/// Parses an OSM `maxspeed` value into km/h.
///
/// Accepts plain numbers (`"50"`), units (`"30 mph"`, `"20mph"`, `"10 knots"`), `"walk"` (7 km/h),
/// `"none"` (no limit: 130 km/h, the German advisory speed), lists (`"50;30"`: the lowest) and
/// country zone codes (`"RU:urban"`, `"DE:rural"`, `"FR:motorway"`, `"GB:nsl_single"`) through
/// [`zone_speed_kmh`]. Returns `None` for values with no number in them (`"signals"`,
/// `"variable"`), so the class default applies.
pub fn parse_maxspeed(value: &str) -> Option<f64> {
    value
        .split(';')
        .filter_map(|part| parse_one_maxspeed(part.trim()))
        .fold(None, |acc: Option<f64>, v| {
            Some(acc.map_or(v, |a| a.min(v)))
        })
}

fn parse_one_maxspeed(v: &str) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    match v {
        "walk" => return Some(7.0),
        "none" => return Some(130.0),
        _ => {}
    }
    if let Some((country, zone)) = v.split_once(':') {
        return zone_speed_kmh(country, zone);
    }
    let lower = v.to_ascii_lowercase();
    let (number, factor) = if let Some(n) = lower.strip_suffix("mph") {
        (n, 1.609_344)
    } else if let Some(n) = lower.strip_suffix("knots") {
        (n, 1.852)
    } else if let Some(n) = lower.strip_suffix("km/h") {
        (n, 1.0)
    } else if let Some(n) = lower.strip_suffix("kmh") {
        (n, 1.0)
    } else {
        (lower.as_str(), 1.0)
    };
    let kmh = number.trim().parse::<f64>().ok()? * factor;
    (kmh.is_finite() && kmh > 0.0).then_some(kmh)
}

/// Speed in km/h for an implicit country zone code such as `RU:urban`.
///
/// Generic zone defaults: `urban` 50, `rural` 90, `motorway` 110, `trunk` 100,
/// `living_street` 20, `school`/`zone30`/`zone:30` 30, `walk` 7. Country overrides where the law
/// differs: `DE:rural` 100, `DE:motorway` 130 (advisory), `FR:rural` 80, `FR:motorway` 130,
/// `IT:motorway` 130, `CH:rural` 80, `CH:motorway` 120, `AT:rural` 100, `AT:motorway` 130,
/// `GB:nsl_single` 96.6 (60 mph), `GB:nsl_dual` and `GB:motorway` 112.7 (70 mph),
/// `CN:motorway` 120. A zone code with a number in it (`DE:zone30`, `zone:maxspeed` style
/// `DE:30`) gives that number. Unknown zones give `None`.
pub fn zone_speed_kmh(country: &str, zone: &str) -> Option<f64> {
    let c = country.to_ascii_uppercase();
    let z = zone.to_ascii_lowercase();
    let specific = match (c.as_str(), z.as_str()) {
        ("DE", "rural") => Some(100.0),
        ("DE", "motorway") => Some(130.0),
        ("FR", "rural") => Some(80.0),
        ("FR", "motorway") => Some(130.0),
        ("IT", "motorway") => Some(130.0),
        ("CH", "rural") => Some(80.0),
        ("CH", "motorway") => Some(120.0),
        ("AT", "rural") => Some(100.0),
        ("AT", "motorway") => Some(130.0),
        ("GB", "nsl_single") => Some(96.56),
        ("GB", "nsl_dual") | ("GB", "motorway") => Some(112.65),
        ("CN", "motorway") => Some(120.0),
        _ => None,
    };
    if specific.is_some() {
        return specific;
    }
    match z.as_str() {
        "urban" => Some(50.0),
        "rural" => Some(90.0),
        "motorway" => Some(110.0),
        "trunk" => Some(100.0),
        "living_street" => Some(20.0),
        "school" => Some(30.0),
        "walk" => Some(7.0),
        _ => {
            let digits: String = z.chars().filter(|c| c.is_ascii_digit()).collect();
            digits.parse::<f64>().ok().filter(|v| *v > 0.0)
        }
    }
}

/// The direction(s) a way may be driven in, relative to its node order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oneway {
    /// Both directions.
    No,
    /// Only in node order.
    Forward,
    /// Only against node order (`oneway=-1`).
    Backward,
    /// `oneway=reversible|alternating`: kept in both directions, counted separately.
    Reversible,
}

/// Why a highway way was not kept as a drivable road.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Not a drivable `highway` class (footway, cycleway, track, ...).
    NotDrivable,
    /// `area=yes`.
    Area,
    /// `access=no|private` without an emergency exemption.
    NoAccess,
}

/// The routing attributes of a kept way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WayAttributes {
    pub class: RoadClass,
    pub oneway: Oneway,
    /// Signed `maxspeed` in km/h, if the tag parsed.
    pub maxspeed_kmh: Option<f64>,
    /// Who may drive it (general traffic, emergency-only, bus-only, with a bus lane).
    pub access: Access,
}

/// Classifies a way with a `highway` tag from its tags, looked up through `tag`.
pub fn classify_way<'a>(tag: impl Fn(&str) -> Option<&'a str>) -> Result<WayAttributes, Rejection> {
    let highway = tag("highway").ok_or(Rejection::NotDrivable)?;
    let busway = highway == "busway";
    let class = if busway {
        RoadClass::Tertiary
    } else {
        RoadClass::from_highway(highway).ok_or(Rejection::NotDrivable)?
    };
    if tag("area") == Some("yes") {
        return Err(Rejection::Area);
    }
    let yes = |k: &str| matches!(tag(k), Some("yes" | "designated"));
    let restricted = matches!(tag("access"), Some("no" | "private"));
    let access = if restricted && yes("emergency") {
        Access::EmergencyOnly
    } else if busway || (restricted && (yes("bus") || yes("psv"))) {
        Access::BusOnly
    } else if restricted {
        return Err(Rejection::NoAccess);
    } else if has_bus_lane(&tag) {
        Access::BusLane
    } else {
        Access::General
    };
    let implied = matches!(class, RoadClass::Motorway | RoadClass::MotorwayLink)
        || matches!(tag("junction"), Some("roundabout" | "circular"));
    let oneway = match tag("oneway") {
        Some("yes" | "1" | "true") => Oneway::Forward,
        Some("-1" | "reverse") => Oneway::Backward,
        Some("reversible" | "alternating") => Oneway::Reversible,
        Some("no" | "0" | "false") => Oneway::No,
        _ if implied => Oneway::Forward,
        _ => Oneway::No,
    };
    Ok(WayAttributes {
        class,
        oneway,
        maxspeed_kmh: tag("maxspeed").and_then(parse_maxspeed),
        access,
    })
}

/// Whether a general road carries a bus lane in either direction.
fn has_bus_lane<'a>(tag: &impl Fn(&str) -> Option<&'a str>) -> bool {
    let lane = ["busway", "busway:both", "busway:left", "busway:right"]
        .iter()
        .any(|k| matches!(tag(k), Some("lane" | "opposite_lane")));
    let count = [
        "lanes:bus",
        "lanes:psv",
        "lanes:bus:forward",
        "lanes:bus:backward",
    ]
    .iter()
    .any(|k| {
        tag(k)
            .and_then(|v| v.trim().parse::<u32>().ok())
            .is_some_and(|n| n > 0)
    });
    let per_lane = [
        "bus:lanes",
        "psv:lanes",
        "bus:lanes:forward",
        "bus:lanes:backward",
        "psv:lanes:forward",
        "psv:lanes:backward",
    ]
    .iter()
    .any(|k| tag(k).is_some_and(|v| v.split('|').any(|l| l.trim() == "designated")));
    lane || count || per_lane
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn classify(tags: &[(&'static str, &'static str)]) -> Result<WayAttributes, Rejection> {
        let map: HashMap<&str, &str> = tags.iter().copied().collect();
        classify_way(|k| map.get(k).copied())
    }

    #[test]
    fn maxspeed_forms() {
        assert_eq!(parse_maxspeed("50"), Some(50.0));
        assert!((parse_maxspeed("30 mph").unwrap() - 48.28).abs() < 0.01);
        assert!((parse_maxspeed("20mph").unwrap() - 32.19).abs() < 0.01);
        assert_eq!(parse_maxspeed("RU:urban"), Some(50.0));
        assert_eq!(parse_maxspeed("RU:rural"), Some(90.0));
        assert_eq!(parse_maxspeed("DE:rural"), Some(100.0));
        assert_eq!(parse_maxspeed("DE:zone30"), Some(30.0));
        assert_eq!(parse_maxspeed("50;30"), Some(30.0));
        assert_eq!(parse_maxspeed("walk"), Some(7.0));
        assert_eq!(parse_maxspeed("none"), Some(130.0));
        assert_eq!(parse_maxspeed("signals"), None);
        assert_eq!(parse_maxspeed("-5"), None);
        assert_eq!(parse_maxspeed("NaN"), None);
        assert_eq!(parse_maxspeed(""), None);
    }

    #[test]
    fn drivable_filter() {
        assert_eq!(
            classify(&[("highway", "footway")]),
            Err(Rejection::NotDrivable)
        );
        assert_eq!(
            classify(&[("highway", "track")]),
            Err(Rejection::NotDrivable)
        );
        assert_eq!(classify(&[("name", "x")]), Err(Rejection::NotDrivable));
        assert_eq!(
            classify(&[("highway", "service"), ("area", "yes")]),
            Err(Rejection::Area)
        );
        assert_eq!(
            classify(&[("highway", "service"), ("access", "private")]),
            Err(Rejection::NoAccess)
        );
        assert!(classify(&[("highway", "residential"), ("motor_vehicle", "private")]).is_ok());
        let a = classify(&[
            ("highway", "service"),
            ("access", "no"),
            ("emergency", "designated"),
        ])
        .unwrap();
        assert_eq!(a.access, Access::EmergencyOnly);
        let a = classify(&[("highway", "residential"), ("maxspeed", "30")]).unwrap();
        assert_eq!(a.maxspeed_kmh, Some(30.0));
        assert_eq!(a.access, Access::General);
    }

    #[test]
    fn issue_13_bus_roads_and_lanes() {
        let access = |t: &[(&'static str, &'static str)]| classify(t).map(|a| a.access);
        let busway = classify(&[("highway", "busway")]).unwrap();
        assert_eq!(
            (busway.access, busway.class),
            (Access::BusOnly, RoadClass::Tertiary)
        );
        for k in ["bus", "psv"] {
            for v in ["yes", "designated"] {
                assert_eq!(
                    access(&[("highway", "service"), ("access", "no"), (k, v)]),
                    Ok(Access::BusOnly)
                );
            }
        }
        assert_eq!(
            access(&[("highway", "service"), ("access", "no"), ("bus", "no")]),
            Err(Rejection::NoAccess)
        );
        // The emergency exemption wins over the bus one.
        assert_eq!(
            access(&[
                ("highway", "service"),
                ("access", "private"),
                ("bus", "yes"),
                ("emergency", "yes")
            ]),
            Ok(Access::EmergencyOnly)
        );
        for lane in [
            &[("highway", "primary"), ("busway", "lane")][..],
            &[("highway", "primary"), ("busway:right", "lane")],
            &[("highway", "primary"), ("lanes:bus", "1")],
            &[("highway", "primary"), ("lanes:psv", "2")],
            &[("highway", "primary"), ("bus:lanes", "|designated")],
            &[
                ("highway", "primary"),
                ("psv:lanes:forward", "yes|designated"),
            ],
        ] {
            assert_eq!(access(lane), Ok(Access::BusLane), "{lane:?}");
        }
        for plain in [
            &[("highway", "primary"), ("busway", "no")][..],
            &[("highway", "primary"), ("lanes:bus", "0")],
            &[("highway", "primary"), ("bus:lanes", "yes|yes")],
            &[("highway", "primary"), ("lanes:bus", "x")],
        ] {
            assert_eq!(access(plain), Ok(Access::General), "{plain:?}");
        }
        assert_eq!(
            access(&[("highway", "busway"), ("area", "yes")]),
            Err(Rejection::Area)
        );
    }

    #[test]
    fn oneway_rules() {
        let ow = |t: &[(&'static str, &'static str)]| classify(t).unwrap().oneway;
        assert_eq!(ow(&[("highway", "primary")]), Oneway::No);
        assert_eq!(
            ow(&[("highway", "primary"), ("oneway", "yes")]),
            Oneway::Forward
        );
        assert_eq!(
            ow(&[("highway", "primary"), ("oneway", "1")]),
            Oneway::Forward
        );
        assert_eq!(
            ow(&[("highway", "primary"), ("oneway", "true")]),
            Oneway::Forward
        );
        assert_eq!(
            ow(&[("highway", "primary"), ("oneway", "-1")]),
            Oneway::Backward
        );
        assert_eq!(
            ow(&[("highway", "primary"), ("oneway", "reversible")]),
            Oneway::Reversible
        );
        assert_eq!(ow(&[("highway", "motorway")]), Oneway::Forward);
        assert_eq!(ow(&[("highway", "motorway"), ("oneway", "no")]), Oneway::No);
        assert_eq!(
            ow(&[("highway", "tertiary"), ("junction", "roundabout")]),
            Oneway::Forward
        );
    }
}
