//! The live coverage rules (`dispatch::coverage`) on their own, without HTTP: coverage now and
//! the best move-up against a brute force that routes every unit to every zone point to point,
//! on random fleets over the demo.

use std::collections::BTreeMap;

use ems::dispatch::coverage::{Budget, Coverage, union};
use ems::dispatch::{Fleet, Unit, UnitStatus};
use ems::model::Scenario;
use ems::network::TravelModel;
use proptest::prelude::*;

/// Covered zones by brute force: a point-to-point route from every free unit to every zone.
fn oracle_cover(
    sc: &Scenario,
    tm: &TravelModel,
    units: &BTreeMap<String, Unit>,
    b: Budget,
) -> Vec<bool> {
    let mut q = tm.query();
    sc.demand
        .iter()
        .map(|z| {
            let Ok(to) = tm.snap(z.lon_lat) else {
                return false;
            };
            units.values().filter(|u| u.status.assignable()).any(|u| {
                let from = tm.snap(u.position).unwrap();
                tm.eta(&mut q, &from, &to)
                    .is_some_and(|e| e.seconds() <= b.travel_s(u.status.rolling()))
            })
        })
        .collect()
}

fn covered(sc: &Scenario, cover: &[bool]) -> f64 {
    sc.demand
        .iter()
        .zip(cover)
        .filter(|(_, c)| **c)
        .map(|(z, _)| z.population)
        .sum()
}

#[test]
fn budgets_and_unions_by_hand() {
    let b = Budget {
        response_target_min: 12.0,
        call_handling_s: 60.0,
        turnout_s: 75.0,
    };
    assert_eq!(b.travel_s(false), 720.0 - 60.0 - 75.0);
    assert_eq!(b.travel_s(true), 660.0);
    let a = [true, false, false];
    let c = [false, false, true];
    assert_eq!(union(3, [&a[..], &c[..]]), vec![true, false, true]);
    assert_eq!(union(2, std::iter::empty()), vec![false, false]);
}

const STATUSES: [UnitStatus; 4] = [
    UnitStatus::Available,
    UnitStatus::Returning,
    UnitStatus::OnScene,
    UnitStatus::OutOfService,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Units in random statuses and places, a random target: coverage now equals the brute
    /// force, and the best move-up gains exactly what the brute force over every (unit,
    /// station) pair finds best.
    #[test]
    fn coverage_and_move_up_equal_brute_force(
        target in 2.5f64..6.0,
        picks in prop::collection::vec((0usize..4, 0usize..100_000), 5),
    ) {
        let sc = Scenario::demo().unwrap();
        let tm = TravelModel::for_scenario(&sc).unwrap();
        let b = Budget { response_target_min: target, call_handling_s: 60.0, turnout_s: 60.0 };
        let cov = Coverage::new(&sc, &tm, b);
        let mut units = Fleet::new(&sc).units;
        let nodes = &tm.network.nodes;
        for (u, (s, p)) in units.values_mut().zip(&picks) {
            u.status = STATUSES[*s];
            if u.status == UnitStatus::Returning {
                u.position = nodes[p % nodes.len()];
            }
        }
        let truth = oracle_cover(&sc, &tm, &units, b);
        let total: f64 = sc.demand.iter().map(|z| z.population).sum();
        let now = cov.coverage_now(&tm, &units).unwrap();
        prop_assert!((now - covered(&sc, &truth) / total).abs() < 1e-12, "{now}");

        // Brute force over every move of an available unit to another station.
        let mut best = 0.0f64;
        for (id, u) in units.iter().filter(|(_, u)| u.status == UnitStatus::Available) {
            for st in sc.stations.iter().filter(|s| s.id != u.station) {
                let mut moved = units.clone();
                moved.get_mut(id).unwrap().position = st.lon_lat;
                best = best.max(covered(&sc, &oracle_cover(&sc, &tm, &moved, b)) - covered(&sc, &truth));
            }
        }
        let gaps = cov.gaps(&sc, &tm, &units);
        match &gaps.move_up {
            None => prop_assert!(best <= 1e-9, "brute force gains {best}"),
            Some(m) => {
                prop_assert!((m.population_gained - best).abs() < 1e-6, "{m:?} vs {best}");
                // Carrying it out gives the coverage it promised.
                let mut moved = units.clone();
                let st = sc.stations.iter().find(|s| s.id == m.to_station).unwrap();
                moved.get_mut(&m.unit).unwrap().position = st.lon_lat;
                let after = cov.coverage_now(&tm, &moved).unwrap();
                prop_assert!((after - m.coverage_after).abs() < 1e-12);
            }
        }
        let uncovered: f64 = gaps.uncovered.iter().map(|g| g.population).sum();
        prop_assert!((uncovered - (total - covered(&sc, &truth))).abs() < 1e-6);
    }
}
