//! The fleet state machine under random event sequences: refused events change nothing,
//! accepted ones keep units and incidents consistent, stage times stay in order, and replaying
//! the accepted events rebuilds the same state (issue #5); every applied event can be taken
//! back, alone or as a queue newest first (issue #14).

use chrono::{Duration, TimeZone, Utc};
use ems::dispatch::{Event, Fleet, UnitStatus};
use ems::model::Scenario;
use proptest::prelude::*;

/// The demo scenario, loaded once.
fn demo() -> &'static Scenario {
    static SC: std::sync::OnceLock<Scenario> = std::sync::OnceLock::new();
    SC.get_or_init(|| Scenario::demo().unwrap())
}

fn op() -> impl Strategy<Value = (u8, usize, usize, u8, u16)> {
    (0u8..4, 0usize..4, 0usize..6, 0u8..9, 0u16..600)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_events_keep_the_fleet_consistent(ops in prop::collection::vec(op(), 1..80)) {
        let sc = demo();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap();
        let mut fleet = Fleet::new(sc);
        let units: Vec<String> = fleet.units.keys().cloned().collect();
        let mut now = t0;
        let mut accepted = Vec::new();
        for (kind, u, inc, status, dt) in ops {
            now += Duration::seconds(dt as i64);
            let unit = units[u % units.len()].clone();
            let ev = match kind {
                0 => Event::IncidentCreated {
                    id: fleet.next_incident_id(),
                    at: now,
                    lon: 7.42,
                    lat: 43.735,
                    priority: 1 + (status % 4),
                    condition: None,
                    note: None,
                },
                1 => Event::UnitAssigned { incident: inc as u64 + 1, unit, at: now },
                2 => Event::UnitStatusChanged {
                    unit,
                    status: UnitStatus::ALL[status as usize % UnitStatus::ALL.len()],
                    at: now,
                    hospital: Some(sc.hospitals[status as usize % 2].id.clone()),
                    reported_at: None,
                },
                _ => Event::UnitPosition { unit, lon: 7.42, lat: 43.735, at: now, reported_at: None },
            };
            let before = fleet.clone();
            match fleet.validate(&ev, now) {
                Ok(()) => {
                    // Issue #14: an applied event taken back leaves the state as it was.
                    let undo = fleet.apply(&ev);
                    let after = fleet.clone();
                    fleet.undo(undo);
                    prop_assert_eq!(&fleet, &before);
                    fleet.apply(&ev);
                    prop_assert_eq!(&fleet, &after);
                    accepted.push(ev);
                }
                Err(_) => prop_assert_eq!(&fleet, &before),
            }
            for (id, u) in &fleet.units {
                if let Some(i) = u.incident {
                    let inc = &fleet.incidents[&i];
                    prop_assert_eq!(inc.unit.as_deref(), Some(id.as_str()));
                    prop_assert!(inc.open());
                }
                if u.status == UnitStatus::Available || u.status == UnitStatus::OutOfService {
                    prop_assert!(u.incident.is_none());
                }
            }
            for inc in fleet.incidents.values() {
                if inc.open()
                    && let Some(u) = &inc.unit
                {
                    prop_assert_eq!(fleet.units[u].incident, Some(inc.id));
                }
                let stages = [inc.dispatched, inc.departed, inc.on_scene, inc.at_hospital, inc.handover_complete];
                let present: Vec<_> = stages.iter().flatten().collect();
                prop_assert!(present.windows(2).all(|w| w[0] <= w[1]), "{inc:?}");
                prop_assert!(inc.call_received <= *present.first().copied().unwrap_or(&inc.call_received));
            }
        }
        let mut replayed = Fleet::new(sc);
        let mut undos = Vec::new();
        for ev in &accepted {
            prop_assert!(replayed.validate(ev, now).is_ok());
            undos.push(replayed.apply(ev));
        }
        prop_assert_eq!(&replayed, &fleet);
        // Issue #14: a failed group commit takes back a whole queue, newest first.
        for u in undos.into_iter().rev() {
            replayed.undo(u);
        }
        prop_assert_eq!(replayed, Fleet::new(sc));
    }
}
