//! The dispatch rules: which unit reaches the scene first, and which hospital receives the
//! patient. The live API and the simulator both use these, so they dispatch alike.
//!
//! This module owns the ranking rules. It must not hold state or touch the event log; callers
//! pass positions and queues in. The rules themselves ([`turnout_delay`], [`unit_order`],
//! [`designated`], [`detaining`], [`hospital_order`]) are plain functions, so a caller with
//! precomputed travel times (the simulator) applies exactly the same ones.
//!
//! - **Stations to emergency departments** ([`routes_to_nearest_ed`]): each station's
//!   fastest road route to a hospital with an emergency department, as the demo shows.
//! - **Units**: ETA = turnout delay (none when the unit is already rolling, e.g. returning) +
//!   road travel time from its last known position, from one reverse Dijkstra search out of the
//!   scene. Ties go to the lower unit id. Units with no road path are left out.
//! - **Hospitals**: the condition's designated centres first (stroke, chest pain, trauma,
//!   maternal, neonatal; [`Capability::for_condition`]); within that, hospitals that are not
//!   holding ambulances before those that are; then by road ETA from the scene. A hospital is
//!   holding ambulances (压车) when as many units wait as it has emergency-department bays, or
//!   one has waited at least the detention threshold. The designation comes first because for
//!   time-critical conditions the right centre outweighs a wait at its door.

use serde::Serialize;

use crate::model::{Capability, Hospital, Scenario, Station};
use crate::network::{Dijkstra, Direction, Route, SnapError, Snapped, TravelModel};

/// A unit the ranking may choose.
#[derive(Debug, Clone)]
pub struct UnitInput {
    pub id: String,
    pub position: Snapped,
    /// Already moving: no turnout delay.
    pub rolling: bool,
}

/// A unit with its ETA to the scene.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RankedUnit {
    pub unit: String,
    pub turnout_s: f64,
    pub travel_s: f64,
    pub eta_s: f64,
    pub distance_m: f64,
}

/// Ranks units by ETA to `scene`, fastest first.
pub fn rank_units(
    tm: &TravelModel,
    q: &mut Dijkstra,
    scene: &Snapped,
    units: &[UnitInput],
    turnout_s: f64,
) -> Vec<RankedUnit> {
    let positions: Vec<Snapped> = units.iter().map(|u| u.position).collect();
    let etas = tm.many_to_one(q, &positions, scene, None);
    let mut out: Vec<RankedUnit> = units
        .iter()
        .zip(etas)
        .filter_map(|(u, e)| {
            let e = e?;
            let turnout = turnout_delay(u.rolling, turnout_s);
            Some(RankedUnit {
                unit: u.id.clone(),
                turnout_s: turnout,
                travel_s: e.seconds(),
                eta_s: turnout + e.seconds(),
                distance_m: e.distance_m,
            })
        })
        .collect();
    out.sort_by(|a, b| unit_order((a.eta_s, &a.unit), (b.eta_s, &b.unit)));
    out
}

/// The turnout delay before a unit drives: none when it is already rolling.
#[inline]
pub fn turnout_delay(rolling: bool, turnout_s: f64) -> f64 {
    if rolling { 0.0 } else { turnout_s }
}

/// The unit order: smaller ETA first, ties to the lower id.
#[inline]
pub fn unit_order<I: Ord>(a: (f64, I), b: (f64, I)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// Whether a hospital holds ambulances (压车): all its bays taken, or a wait at the threshold.
#[inline]
pub fn detaining(
    waiting: usize,
    ed_bays: Option<u32>,
    longest_wait_min: f64,
    threshold_min: f64,
) -> bool {
    ed_bays.is_some_and(|b| waiting >= b as usize)
        || (waiting > 0 && longest_wait_min >= threshold_min)
}

/// Whether a hospital has the designation `needed` (true when none is needed).
#[inline]
pub fn designated(h: &Hospital, needed: Option<Capability>) -> bool {
    needed.is_none_or(|c| h.capabilities.contains(&c))
}

/// The hospital order: designated first, then not detaining, then ETA, then id. Keys are
/// `(designated, detaining, eta, id)`.
#[inline]
pub fn hospital_order<I: Ord>(
    a: (bool, bool, f64, I),
    b: (bool, bool, f64, I),
) -> std::cmp::Ordering {
    (!a.0, a.1)
        .cmp(&(!b.0, b.1))
        .then(a.2.total_cmp(&b.2))
        .then(a.3.cmp(&b.3))
}

/// A hospital and its live handover queue.
#[derive(Debug, Clone)]
pub struct HospitalInput<'a> {
    pub hospital: &'a Hospital,
    pub position: Snapped,
    /// Units waiting to hand over.
    pub waiting: usize,
    /// The longest of their waits, minutes.
    pub longest_wait_min: f64,
}

/// A hospital ranked for a patient, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RankedHospital {
    pub hospital: String,
    pub name: String,
    pub eta_s: f64,
    pub distance_m: f64,
    /// It has the designation the condition calls for (true when none is needed).
    pub designated: bool,
    pub units_waiting: usize,
    pub longest_wait_min: f64,
    /// Holding ambulances (压车): all bays taken, or a wait at the detention threshold.
    pub detaining: bool,
    pub reason: String,
}

/// Ranks hospitals for a patient with `condition` at `scene` (see the module docs).
pub fn rank_hospitals(
    tm: &TravelModel,
    q: &mut Dijkstra,
    scene: &Snapped,
    condition: Option<&str>,
    hospitals: &[HospitalInput],
    detention_threshold_min: f64,
) -> Vec<RankedHospital> {
    let needed = Capability::for_condition(condition);
    let positions: Vec<Snapped> = hospitals.iter().map(|h| h.position).collect();
    let etas = tm.one_to_many(q, scene, &positions, Direction::Forward, None);
    let mut out: Vec<RankedHospital> = hospitals
        .iter()
        .zip(etas)
        .filter_map(|(h, e)| {
            let e = e?;
            let designated = designated(h.hospital, needed);
            let detaining = detaining(
                h.waiting,
                h.hospital.ed_bays,
                h.longest_wait_min,
                detention_threshold_min,
            );
            let mut reason = match needed {
                Some(c) if designated => format!("designated {} centre", c.as_str()),
                Some(c) => format!("not a designated {} centre", c.as_str()),
                None => "no designation needed".to_string(),
            };
            reason.push_str(&format!("; {:.1} min by road", e.minutes()));
            if detaining {
                reason.push_str(&format!(
                    "; holding ambulances: {} waiting{}, longest {:.0} min (threshold {:.0} min)",
                    h.waiting,
                    h.hospital
                        .ed_bays
                        .map(|b| format!(" for {b} bays"))
                        .unwrap_or_default(),
                    h.longest_wait_min,
                    detention_threshold_min
                ));
            } else if h.waiting > 0 {
                reason.push_str(&format!(
                    "; {} waiting, longest {:.0} min",
                    h.waiting, h.longest_wait_min
                ));
            }
            Some(RankedHospital {
                hospital: h.hospital.id.clone(),
                name: h.hospital.name.clone(),
                eta_s: e.seconds(),
                distance_m: e.distance_m,
                designated,
                units_waiting: h.waiting,
                longest_wait_min: h.longest_wait_min,
                detaining,
                reason,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        hospital_order(
            (a.designated, a.detaining, a.eta_s, &a.hospital),
            (b.designated, b.detaining, b.eta_s, &b.hospital),
        )
    });
    out
}

/// One station's fastest road route to an emergency department.
#[derive(Debug, Clone)]
pub struct StationRoute<'a> {
    pub station: &'a Station,
    pub hospital: &'a Hospital,
    pub from: Snapped,
    pub to: Snapped,
    pub route: Route,
}

/// A station or hospital is off the road map.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{what}: {source}")]
pub struct OffRoad {
    /// `station ID` or `hospital ID`.
    pub what: String,
    #[source]
    pub source: SnapError,
}

/// Each station's fastest road route to the nearest hospital with an emergency department
/// (by travel time; a station no such hospital can be reached from is left out). One forward
/// search per station, stopped at the last emergency department.
pub fn routes_to_nearest_ed<'a>(
    sc: &'a Scenario,
    tm: &TravelModel,
) -> Result<Vec<StationRoute<'a>>, OffRoad> {
    let snap = |what: String, p: [f64; 2]| tm.snap(p).map_err(|source| OffRoad { what, source });
    let eds: Vec<(&Hospital, Snapped)> = sc
        .hospitals
        .iter()
        .filter(|h| h.capabilities.contains(&Capability::Emergency))
        .map(|h| Ok((h, snap(format!("hospital {}", h.id), h.lon_lat)?)))
        .collect::<Result<_, OffRoad>>()?;
    let mut q = tm.query();
    let mut routes = Vec::new();
    for st in &sc.stations {
        let from = snap(format!("station {}", st.id), st.lon_lat)?;
        let best = eds
            .iter()
            .filter_map(|(h, to)| tm.route(&mut q, &from, to).map(|r| (*h, *to, r)))
            .min_by_key(|(_, _, r)| r.eta.time_ms);
        if let Some((hospital, to, route)) = best {
            routes.push(StationRoute {
                station: st,
                hospital,
                from,
                to,
                route,
            });
        }
    }
    Ok(routes)
}

/// A unit that can take a call, with its road route to the scene.
#[derive(Debug, Clone)]
pub struct UnitAdvice {
    pub ranked: RankedUnit,
    pub station: String,
    pub status: crate::dispatch::UnitStatus,
    /// The route to the scene, `[lon, lat]` points (empty if it cannot be drawn).
    pub geometry: Vec<[f64; 2]>,
}

/// What the dispatch rules advise for one call: the free units ranked by ETA (the first
/// `limit`, each with its route) and the hospitals for its condition.
#[derive(Debug, Clone)]
pub struct IncidentAdvice {
    pub units: Vec<UnitAdvice>,
    pub hospitals: Vec<RankedHospital>,
}

/// The fleet and the places a recommendation is made from.
pub struct AdviceInput<'a> {
    pub units: &'a std::collections::BTreeMap<String, crate::dispatch::Unit>,
    pub hospitals: &'a [Hospital],
    /// The hospitals' snapped positions, in the order of `hospitals`.
    pub hospital_points: &'a [Snapped],
    pub turnout_s: f64,
    pub detention_threshold_min: f64,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// The recommendation for a call at `scene` ([`rank_units`] over the assignable units that
/// are on the road map, [`rank_hospitals`] with each hospital's handover queue at `now`): the
/// assembly the live API answers with, kept here so that handlers stay thin.
/// `O(Dijkstra + limit × route)`.
pub fn for_incident(
    tm: &TravelModel,
    scene: &Snapped,
    condition: Option<&str>,
    input: &AdviceInput,
    limit: usize,
) -> IncidentAdvice {
    let free: Vec<(&crate::dispatch::Unit, UnitInput)> = input
        .units
        .values()
        .filter(|u| u.status.assignable())
        .filter_map(|u| {
            let position = tm.snap(u.position).ok()?;
            Some((
                u,
                UnitInput {
                    id: u.id.clone(),
                    position,
                    rolling: u.status.rolling(),
                },
            ))
        })
        .collect();
    let inputs: Vec<UnitInput> = free.iter().map(|(_, i)| i.clone()).collect();
    let mut q = tm.query();
    let ranked = rank_units(tm, &mut q, scene, &inputs, input.turnout_s);
    let mut units = Vec::new();
    for r in ranked.into_iter().take(limit) {
        let Some((u, from)) = free.iter().find(|(u, _)| u.id == r.unit) else {
            continue;
        };
        let geometry = tm
            .route(&mut q, &from.position, scene)
            .map(|rt| rt.geometry)
            .unwrap_or_default();
        units.push(UnitAdvice {
            ranked: r,
            station: u.station.clone(),
            status: u.status,
            geometry,
        });
    }
    let queues: Vec<Vec<(String, f64)>> = input
        .hospitals
        .iter()
        .map(|h| crate::dispatch::handover_queue(input.units, &h.id, input.now))
        .collect();
    let hospitals: Vec<HospitalInput> = input
        .hospitals
        .iter()
        .zip(input.hospital_points)
        .zip(&queues)
        .map(|((h, p), qu)| HospitalInput {
            hospital: h,
            position: *p,
            waiting: qu.len(),
            longest_wait_min: qu.first().map_or(0.0, |x| x.1),
        })
        .collect();
    let hospitals = rank_hospitals(
        tm,
        &mut q,
        scene,
        condition,
        &hospitals,
        input.detention_threshold_min,
    );
    IncidentAdvice { units, hospitals }
}
