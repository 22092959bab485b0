//! Coverage now, the move-up search and today's figures: the live rules a dispatch board shows,
//! as plain functions over the fleet's units and the shared travel model.
//!
//! This module owns what "covered now" means and which move-up is best. It must not know HTTP
//! (the API only serialises these results) nor hold state; callers pass the units in, so the
//! live API, the simulator and a web board apply the same rules.
//!
//! # Rules
//! - A demand zone is **covered** when some free unit (available, or returning and so already
//!   rolling) reaches its point within the response target minus call handling, minus turnout
//!   for a unit at its station: `travel ≤ target − call handling − turnout`.
//! - **Coverage now** is the covered share of residents.
//! - A **move-up** sends one available unit to another station; the best is the one that adds
//!   the most covered residents (ties: the first unit, then the first station, in id order).
//!   `O(units × stations × zones)` after one search per unit and per station.
//! - **Today's figures** are the standards check's own response and detention definitions on
//!   the incidents received since local midnight.

use std::collections::BTreeMap;

use serde::Serialize;

use super::today::DaySums;
use super::{Unit, UnitStatus};
use crate::model::Scenario;
use crate::network::{Dijkstra, Direction, Snapped, TravelModel};

/// The response budget: the target and the delays before a unit drives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub response_target_min: f64,
    pub call_handling_s: f64,
    /// Dispatched → departed, for a unit at its station.
    pub turnout_s: f64,
}

impl Budget {
    /// Seconds of travel left to a unit, rolling (no turnout) or not.
    pub fn travel_s(&self, rolling: bool) -> f64 {
        let turnout = if rolling { 0.0 } else { self.turnout_s };
        self.response_target_min * 60.0 - self.call_handling_s - turnout
    }
}

/// The demand zones snapped once, with the coverage of an idle unit at each station.
#[derive(Debug, Clone)]
pub struct Coverage {
    budget: Budget,
    /// Each demand zone's point on the road, if it snaps.
    zones: Vec<Option<Snapped>>,
    /// The zones that snapped, in order (the targets of coverage searches).
    targets: Vec<Snapped>,
    population: Vec<f64>,
    /// `station_cover[s][z]`: an idle unit at station `s` reaches zone `z` within the budget.
    station_cover: Vec<Vec<bool>>,
}

/// A demand zone no free unit reaches within the target.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Gap {
    pub zone: String,
    pub name: String,
    pub population: f64,
}

/// Moving an idle unit to a station to restore coverage.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MoveUp {
    pub unit: String,
    pub from_station: String,
    pub to_station: String,
    /// Residents newly within the target.
    pub population_gained: f64,
    pub coverage_after: f64,
}

/// Coverage gaps now and the best move-up.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Gaps {
    pub response_target_min: f64,
    pub coverage_now: Option<f64>,
    pub uncovered: Vec<Gap>,
    pub move_up: Option<MoveUp>,
    /// The local hour of the traffic profile whose travel times gave the coverage; `null`
    /// without a profile (free flow).
    pub travel_hour: Option<usize>,
}

/// Today's figures (since local midnight in the scenario's time zone).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Kpis {
    pub date: String,
    pub incidents_today: usize,
    pub reached_scene: usize,
    pub response_target_min: f64,
    pub mean_response_min: Option<f64>,
    pub share_within_target: Option<f64>,
    /// Share of turnouts (dispatched → departed) within 3 minutes.
    pub departure_3min_rate: Option<f64>,
    pub detention_threshold_min: f64,
    pub hospital_arrivals: usize,
    pub detention_rate: Option<f64>,
    pub units_available: usize,
    pub units_busy: usize,
    pub units_out_of_service: usize,
    /// Share of residents within the target of an available (or returning) unit now.
    pub coverage_now: Option<f64>,
    /// The local hour of the traffic profile whose travel times gave `coverage_now`; `null`
    /// without a profile (free flow).
    pub travel_hour: Option<usize>,
}

/// Zones covered by any of `covers` (each `n` long).
pub fn union<'a>(n: usize, covers: impl IntoIterator<Item = &'a [bool]>) -> Vec<bool> {
    let mut any = vec![false; n];
    for c in covers {
        for (a, b) in any.iter_mut().zip(c) {
            *a |= *b;
        }
    }
    any
}

impl Coverage {
    /// Snaps the scenario's demand zones and searches once from every station.
    pub fn new(sc: &Scenario, tm: &TravelModel, budget: Budget) -> Coverage {
        let zones: Vec<Option<Snapped>> =
            sc.demand.iter().map(|z| tm.snap(z.lon_lat).ok()).collect();
        let targets: Vec<Snapped> = zones.iter().flatten().copied().collect();
        let mut c = Coverage {
            budget,
            zones,
            targets,
            population: sc.demand.iter().map(|z| z.population).collect(),
            station_cover: Vec::new(),
        };
        let mut q = tm.query();
        let idle = budget.travel_s(false);
        c.station_cover = sc
            .stations
            .iter()
            .map(|st| c.zones_within(tm, &mut q, st.lon_lat, idle))
            .collect();
        c
    }

    pub fn budget(&self) -> Budget {
        self.budget
    }

    /// Number of demand zones.
    pub fn zone_count(&self) -> usize {
        self.zones.len()
    }

    /// Which zones a unit at `from` reaches within `budget_s` seconds of travel (none when it
    /// is off the road or the budget is spent).
    pub fn zones_within(
        &self,
        tm: &TravelModel,
        q: &mut Dijkstra,
        from: [f64; 2],
        budget_s: f64,
    ) -> Vec<bool> {
        let mut cover = vec![false; self.zones.len()];
        if let (Ok(p), true) = (tm.snap(from), budget_s >= 0.0) {
            let etas = tm.one_to_many(q, &p, &self.targets, Direction::Forward, None);
            let mut k = 0;
            for (z, zs) in self.zones.iter().enumerate() {
                if zs.is_some() {
                    cover[z] = etas[k].is_some_and(|e| e.seconds() <= budget_s);
                    k += 1;
                }
            }
        }
        cover
    }

    /// The coverage the move-up policies weigh ([`super::policy`]): stations by zones,
    /// residents as weights.
    pub fn cover_model(&self) -> super::policy::CoverModel {
        super::policy::CoverModel::new(self.station_cover.len(), self.population.clone(), |s, z| {
            self.station_cover[s][z]
        })
    }

    /// The zones an idle unit at station `k` (scenario order) covers.
    pub fn station_cover(&self, k: usize) -> &[bool] {
        &self.station_cover[k]
    }

    /// The zones each free unit covers now, by unit id.
    pub fn unit_cover(
        &self,
        tm: &TravelModel,
        units: &BTreeMap<String, Unit>,
    ) -> Vec<(String, Vec<bool>)> {
        let mut q = tm.query();
        units
            .values()
            .filter(|u| u.status.assignable())
            .map(|u| {
                let budget = self.budget.travel_s(u.status.rolling());
                (
                    u.id.clone(),
                    self.zones_within(tm, &mut q, u.position, budget),
                )
            })
            .collect()
    }

    /// Residents in the covered zones (`+ 0.0`: an empty sum is `0`, not `-0`).
    pub fn covered_population(&self, covered: &[bool]) -> f64 {
        self.population
            .iter()
            .zip(covered)
            .filter(|(_, c)| **c)
            .map(|(p, _)| *p)
            .sum::<f64>()
            + 0.0
    }

    /// All residents.
    pub fn total_population(&self) -> f64 {
        self.population.iter().sum::<f64>() + 0.0
    }

    /// The covered share of residents (`None` without residents).
    pub fn share(&self, covered: &[bool]) -> Option<f64> {
        let total = self.total_population();
        (total > 0.0).then(|| self.covered_population(covered) / total)
    }

    /// The covered share now, with every free unit where it is.
    pub fn coverage_now(&self, tm: &TravelModel, units: &BTreeMap<String, Unit>) -> Option<f64> {
        let cover = self.unit_cover(tm, units);
        let any = union(self.zones.len(), cover.iter().map(|(_, c)| c.as_slice()));
        self.share(&any)
    }

    /// The best move-up: an available unit to another station (see the module docs).
    pub fn best_move_up(
        &self,
        sc: &Scenario,
        units: &BTreeMap<String, Unit>,
        cover: &[(String, Vec<bool>)],
    ) -> Option<MoveUp> {
        let n = self.zones.len();
        // Coverage of every free unit but `skip`, plus `extra`.
        let cover_with = |skip: Option<&str>, extra: Option<&[bool]>| {
            let others = cover
                .iter()
                .filter(|(id, _)| Some(id.as_str()) != skip)
                .map(|(_, c)| c.as_slice());
            union(n, others.chain(extra))
        };
        let total = self.total_population();
        let current = self.covered_population(&cover_with(None, None));
        let mut best: Option<MoveUp> = None;
        for u in units.values().filter(|u| u.status == UnitStatus::Available) {
            for (k, st) in sc.stations.iter().enumerate() {
                if st.id == u.post_or_station() {
                    continue;
                }
                let after =
                    self.covered_population(&cover_with(Some(&u.id), Some(&self.station_cover[k])));
                let gain = after - current;
                if gain > 1e-9 && best.as_ref().is_none_or(|b| gain > b.population_gained) {
                    best = Some(MoveUp {
                        unit: u.id.clone(),
                        from_station: u.post_or_station().to_string(),
                        to_station: st.id.clone(),
                        population_gained: gain,
                        coverage_after: after / total.max(1e-300),
                    });
                }
            }
        }
        best
    }

    /// The zones no free unit covers now, and the best move-up.
    pub fn gaps(&self, sc: &Scenario, tm: &TravelModel, units: &BTreeMap<String, Unit>) -> Gaps {
        let cover = self.unit_cover(tm, units);
        let now = union(self.zones.len(), cover.iter().map(|(_, c)| c.as_slice()));
        Gaps {
            response_target_min: self.budget.response_target_min,
            coverage_now: self.share(&now),
            uncovered: sc
                .demand
                .iter()
                .zip(&now)
                .filter(|(z, c)| !**c && z.population > 0.0)
                .map(|(z, _)| Gap {
                    zone: z.id.clone(),
                    name: z.name.clone(),
                    population: z.population,
                })
                .collect(),
            move_up: self.best_move_up(sc, units, &cover),
            travel_hour: None,
        }
    }
}

/// The live figures: today's sums ([`super::today`]), the units' states, and coverage now.
pub fn kpis(
    tm: &TravelModel,
    coverage: &Coverage,
    date: String,
    day: &DaySums,
    units: &BTreeMap<String, Unit>,
    detention_threshold_min: f64,
) -> Kpis {
    let target = coverage.budget.response_target_min;
    let count = |f: fn(UnitStatus) -> bool| units.values().filter(|u| f(u.status)).count();
    Kpis {
        date,
        incidents_today: day.calls as usize,
        reached_scene: day.reached_scene() as usize,
        response_target_min: target,
        mean_response_min: day.mean_response_min(),
        share_within_target: day.share_within_target(),
        departure_3min_rate: day.departure_3min_rate(),
        detention_threshold_min,
        hospital_arrivals: day.hospital_arrivals() as usize,
        detention_rate: day.detention_rate(),
        units_available: count(|s| s == UnitStatus::Available),
        units_busy: count(|s| !matches!(s, UnitStatus::Available | UnitStatus::OutOfService)),
        units_out_of_service: count(|s| s == UnitStatus::OutOfService),
        coverage_now: coverage.coverage_now(tm, units),
        travel_hour: None,
    }
}
