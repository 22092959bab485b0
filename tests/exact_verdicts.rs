//! Issue #28 item 2: verdicts on exact values, and figures shown on the same side of their
//! threshold as their verdict.

use std::process::Command;

use ems::model::{self, Scenario};
use ems::network::TravelModel;
use ems::standards::{self, CheckOptions, Targets};
use proptest::prelude::*;
use serde_json::Value;

fn ems(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(args)
        .output()
        .expect("run ems")
}

/// `ems init --population 150000` spread residents over cells rounded to a tenth each, so the
/// total became 150,000.2 and 5 ambulances showed "1.00 per 30,000 ... FAIL, required 6". Now
/// the written tenths keep the total, and 5 ambulances for 150,000 residents pass.
#[test]
fn issue_28_150000_residents_pass_with_5_ambulances() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let stations = dir.path().join("stations.geojson");
    std::fs::write(
        &stations,
        r#"{"type": "FeatureCollection", "features": [
 {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.4190, 43.7330]}, "properties": {"id": "a", "ambulances": 2}},
 {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.4150, 43.7290]}, "properties": {"id": "b", "ambulances": 2}},
 {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.4200, 43.7370]}, "properties": {"id": "c", "ambulances": 1}}]}"#,
    )
    .unwrap();
    let out = dir.path().join("city");
    let o = ems(&[
        "init",
        out.to_str().unwrap(),
        "--map",
        root.join("maps/monaco.osm.pbf").to_str().unwrap(),
        "--population",
        "150000",
        "--stations",
        stations.to_str().unwrap(),
        "--hospitals",
        root.join("data/demo/hospitals.geojson").to_str().unwrap(),
        "--cell",
        "200",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let scenario = out.join("scenario.toml");
    let o = ems(&[
        "check",
        "--scenario",
        scenario.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let row = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "ambulances_per_30k")
        .unwrap()
        .clone();
    assert_eq!(row["value"], 1.0, "{row}");
    assert_eq!(row["pass"], true, "{row}");
    let fleet = &v["fleet"];
    assert_eq!(fleet["population"], 150_000.0, "{fleet}");
    assert_eq!(
        (fleet["required"].as_u64(), fleet["shortfall"].as_u64()),
        (Some(5), Some(0))
    );
    // The terminal table agrees.
    let o = ems(&["check", "--scenario", scenario.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&o.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Ambulances per 30,000"))
        .unwrap();
    assert!(line.contains("1.00") && line.contains("PASS"), "{line}");
}

/// The demo scenario with `tenths` tenths of residents spread over its zones and `ambulances`
/// spread over its stations.
fn demo_with(tenths: u64, ambulances: u32) -> Scenario {
    let mut sc = Scenario::demo().unwrap();
    sc.population = None;
    let n = sc.demand.len() as u64;
    for (k, z) in sc.demand.iter_mut().enumerate() {
        let share = tenths / n + u64::from((k as u64) < tenths % n);
        z.population = share as f64 / 10.0;
    }
    let m = sc.stations.len() as u32;
    for (k, s) in sc.stations.iter_mut().enumerate() {
        s.ambulances = ambulances / m + u32::from((k as u32) < ambulances % m);
    }
    sc
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Over random populations (to a tenth of a resident, around the threshold as often as
    /// not) and fleets, the verdict on ambulances per 30,000 is the exact comparison
    /// `ambulances × 30,000 ≥ residents`, the fleet's shortfall agrees with it, and the
    /// figure in the terminal table never reads as the other side of the threshold.
    #[test]
    fn issue_28_verdicts_are_exact_and_shown_on_their_side(
        ambulances in 4u32..40,
        offset in -30i64..30,
        far in proptest::bool::ANY,
        factor in 0.5f64..2.0,
    ) {
        // Near the threshold: exactly 30,000 per ambulance plus a few tenths either way.
        let tenths = if far {
            (f64::from(ambulances) * 300_000.0 * factor) as u64
        } else {
            (i64::from(ambulances) * 300_000 + offset).max(1) as u64
        };
        let sc = demo_with(tenths, ambulances);
        let tm = TravelModel::for_scenario(&sc).unwrap();
        let r = standards::check(
            &sc,
            &tm,
            &model::IncidentLog::default(),
            &Targets::default_preset(),
            &CheckOptions::default(),
        )
        .unwrap();
        let exact = u64::from(ambulances) * 300_000 >= tenths;
        let row = r.targets.iter().find(|t| t.id == "ambulances_per_30k").unwrap();
        prop_assert_eq!(row.pass, Some(exact), "{} tenths, {} ambulances", tenths, ambulances);
        let fleet = r.fleet.as_ref().unwrap();
        prop_assert_eq!(fleet.shortfall == 0, exact, "{:?}", fleet);
        let text = ems::report::check::text(&r);
        let line = text.lines().find(|l| l.contains("Ambulances per 30,000")).unwrap();
        let shown: f64 = line
            .split_whitespace()
            .find_map(|w| w.parse::<f64>().ok().filter(|_| w.contains('.')))
            .unwrap();
        prop_assert_eq!(
            standards::Comparison::AtLeast.holds(shown, 1.0),
            exact,
            "shown {} for {} tenths and {} ambulances: {}", shown, tenths, ambulances, line
        );
    }
}
