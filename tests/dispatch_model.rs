//! The fleet state machine under random event sequences: refused events change nothing,
//! accepted ones keep units and incidents consistent, stage times stay in order, and replaying
//! the accepted events rebuilds the same state (issue #5); every applied event can be taken
//! back, alone or as a queue newest first (issue #14).

use chrono::{Duration, TimeZone, Utc};
use ems::dispatch::today::Today;
use ems::dispatch::{Event, Fleet, UnitStatus};
use ems::model::Scenario;
use ems::standards::DataQuality;
use ems::standards::log::HandoverRules;
use proptest::prelude::*;

/// The demo scenario, loaded once.
fn demo() -> &'static Scenario {
    static SC: std::sync::OnceLock<Scenario> = std::sync::OnceLock::new();
    SC.get_or_init(|| Scenario::demo().unwrap())
}

fn op() -> impl Strategy<Value = (u8, usize, usize, u8, u16)> {
    (0u8..12, 0usize..4, 0usize..4, 0u8..9, 0u16..600)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn random_events_keep_the_fleet_consistent(ops in prop::collection::vec(op(), 1..120)) {
        let sc = demo();
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap();
        let mut fleet = Fleet::new(sc);
        let units: Vec<String> = fleet.units.keys().cloned().collect();
        let mut now = t0;
        let mut accepted = Vec::new();
        let mut today = Today::new(sc.timezone, 12.0, 30.0);
        for (kind, u, inc, status, dt) in ops {
            now += Duration::seconds(dt as i64);
            let unit = units[u % units.len()].clone();
            // Weighted towards assignments and lifecycle steps, so calls get far: several
            // units on one call, several on scene, transports.
            let ev = match kind {
                0 | 1 => Event::IncidentCreated {
                    id: fleet.next_incident_id(),
                    at: now,
                    lon: 7.42,
                    lat: 43.735,
                    priority: 1 + (status % 4),
                    condition: None,
                    note: None,
                },
                2..=4 => Event::UnitAssigned { incident: inc as u64 + 1, unit, at: now },
                5..=8 => Event::UnitStatusChanged {
                    // Mostly the forward step (sometimes the other allowed one, sometimes any
                    // status, to test refusals).
                    status: match fleet.units[&unit].status.next() {
                        [fwd, ..] if status < 5 && *fwd != UnitStatus::OutOfService => *fwd,
                        next if status < 7 => next[next.len() - 1],
                        _ => UnitStatus::ALL[status as usize % UnitStatus::ALL.len()],
                    },
                    unit,
                    at: now,
                    hospital: Some(sc.hospitals[status as usize % 2].id.clone()),
                    reported_at: None,
                },
                9 => Event::UnitPosition { unit, lon: 7.42, lat: 43.735, at: now, reported_at: None },
                10 => match status % 3 {
                    0 => Event::IncidentCancelled { incident: inc as u64 + 1, at: now, reason: None },
                    1 => Event::IncidentClosed { incident: inc as u64 + 1, at: now },
                    _ => Event::UnitMoved {
                        unit,
                        station: sc.stations[status as usize % sc.stations.len()].id.clone(),
                        at: now,
                    },
                },
                _ => Event::PriorityChanged { incident: inc as u64 + 1, priority: status % 6, at: now },
            };
            let before = fleet.clone();
            match fleet.validate(&ev, now) {
                Ok(()) => {
                    // Issue #14: an applied event taken back leaves the state as it was.
                    let undo = fleet.apply(&ev);
                    for id in undo.incident_ids() {
                        today.update(&fleet.incidents[&id]);
                    }
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
                    // Issue #14: each unit on a call has exactly one active assignment there.
                    prop_assert_eq!(inc.active_units().filter(|a| &a.unit == id).count(), 1);
                    prop_assert!(inc.open());
                }
                if u.status == UnitStatus::Available || u.status == UnitStatus::OutOfService {
                    prop_assert!(u.incident.is_none());
                }
            }
            for inc in fleet.incidents.values() {
                for a in inc.active_units() {
                    prop_assert!(inc.open(), "{inc:?}");
                    prop_assert_eq!(fleet.units[&a.unit].incident, Some(inc.id));
                }
                // A closed call has no unit left on it; one that a unit reached is open
                // exactly while a unit is still on it.
                if !inc.open() {
                    prop_assert!(inc.active_units().next().is_none(), "{inc:?}");
                }
                if inc.on_scene.is_some() {
                    prop_assert_eq!(inc.open(), inc.active_units().next().is_some(), "{:?}", inc);
                }
                for a in &inc.units {
                    let stages = [Some(a.dispatched), a.departed, a.on_scene, a.left_scene, a.at_hospital, a.handover_complete];
                    let present: Vec<_> = stages.iter().flatten().collect();
                    prop_assert!(present.windows(2).all(|w| w[0] <= w[1]), "{inc:?}");
                    prop_assert!(inc.call_received <= a.dispatched);
                    prop_assert!(!(a.cleared.is_some() && a.stood_down.is_some()));
                }
                // The incident's times are its first unit on scene's (issue #14).
                if let Some(t) = inc.on_scene {
                    prop_assert!(inc.units.iter().filter_map(|a| a.on_scene).all(|x| x >= t));
                }
                let stages = [inc.dispatched, inc.departed, inc.on_scene, inc.at_hospital, inc.handover_complete];
                let present: Vec<_> = stages.iter().flatten().collect();
                prop_assert!(present.windows(2).all(|w| w[0] <= w[1]), "{inc:?}");
                prop_assert!(inc.call_received <= *present.first().copied().unwrap_or(&inc.call_received));
            }
        }
        // Issue #14: the running sums equal the standards' figures over each day's whole log.
        let log: Vec<_> = fleet.incidents.values().map(|i| i.to_incident(&sc.timezone)).collect();
        let mut days: Vec<_> = log.iter().map(|i| i.call_received.date_naive()).collect();
        days.dedup();
        for day in days {
            let of_day: Vec<_> = log.iter().filter(|i| i.call_received.date_naive() == day).cloned().collect();
            let mut dq = DataQuality::default();
            let r = ems::standards::log::response_from_log(&of_day, &|_| None, 12.0, &mut dq);
            let rules = HandoverRules {
                detention_threshold_min: 30.0,
                thresholds_min: &ems::standards::targets::DEFAULT_HANDOVER_THRESHOLDS_MIN,
                lost_after_min: ems::standards::targets::DEFAULT_HANDOVER_LOST_AFTER_MIN,
            };
            let d = ems::standards::log::detention_from_log(&of_day, &|h| h.to_string(), &rules, &mut dq);
            let sums = today.day(day);
            let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
                (Some(a), Some(b)) => (a - b).abs() < 1e-5,
                (None, None) => true,
                _ => false,
            };
            prop_assert_eq!(sums.calls as usize, of_day.len());
            prop_assert_eq!(sums.reached_scene() as usize, r.reached_scene);
            prop_assert!(close(sums.mean_response_min(), r.overall.as_ref().map(|g| g.summary.mean)));
            prop_assert!(close(sums.share_within_target(), r.overall.as_ref().map(|g| g.share_within_target)));
            prop_assert!(close(sums.departure_3min_rate(), r.departure_3min_rate));
            prop_assert_eq!(sums.hospital_arrivals() as usize, d.arrivals);
            prop_assert!(close(sums.detention_rate(), d.rate));
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
