//! `ems simulate` on the demo (issue #6): trace replay keeps the call times, a fixed seed gives
//! byte-identical output, the export feeds `ems check`, plans see the same calls, the hospital
//! rule is the API's, and bad input is a clear error or a reported instability.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use ems::model::{self, ParseOptions, Scenario};
use ems::network::TravelModel;
use ems::simulate::des::{Dist, SimError};
use ems::simulate::scenario::{self as sim, SimOptions};

fn ems(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(args)
        .output()
        .unwrap()
}

fn demo() -> (Scenario, TravelModel) {
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    (sc, tm)
}

#[test]
fn trace_replay_keeps_every_call_time() {
    let (sc, tm) = demo();
    let log = &sc.incidents;
    let o = SimOptions {
        replications: 1,
        keep_incidents: true,
        ..SimOptions::default()
    };
    let p = sim::prepare(&sc, &tm, &o, Some(log)).unwrap();
    let out = sim::simulate(&sc, &p, &o).unwrap();
    let input: BTreeMap<&str, _> = log
        .incidents
        .iter()
        .map(|i| (i.id.as_str(), i.call_received))
        .collect();
    assert_eq!(out.incidents.len(), log.incidents.len());
    for i in &out.incidents {
        assert_eq!(
            Some(&i.call_received),
            input.get(i.id.as_str()),
            "call {}",
            i.id
        );
        assert!(i.on_scene.is_some_and(|t| t >= i.call_received));
    }
    // The hospital rule is the API's: stroke patients go to the stroke centre.
    let strokes: Vec<_> = out
        .incidents
        .iter()
        .filter(|i| i.condition.as_deref() == Some("stroke") && i.hospital.is_some())
        .collect();
    assert!(!strokes.is_empty());
    assert!(
        strokes
            .iter()
            .all(|i| i.hospital.as_deref() == Some("chpg"))
    );
}

#[test]
fn a_fixed_seed_gives_byte_identical_output_and_check_reads_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let path = dir.path().join(name);
        let out = ems(&[
            "simulate",
            "--seed",
            "7",
            "--replications",
            "4",
            "--days",
            "60",
            "--format",
            "json",
            "--export-incidents",
            path.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (out.stdout, std::fs::read(&path).unwrap(), path)
    };
    let (a, csv_a, path) = run("a.csv");
    let (b, csv_b, _) = run("b.csv");
    assert_eq!(a, b, "same seed, different output");
    assert_eq!(csv_a, csv_b);
    let log = model::parse_incidents(csv_a.as_slice(), "export", &ParseOptions::default()).unwrap();
    assert!(
        log.incidents.len() > 300,
        "{} calls in 60 days",
        log.incidents.len()
    );
    let check = ems(&[
        "check",
        "--format",
        "json",
        "--incidents",
        path.to_str().unwrap(),
    ]);
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let other = ems(&[
        "simulate",
        "--seed",
        "8",
        "--replications",
        "4",
        "--days",
        "60",
        "--format",
        "json",
    ]);
    assert_ne!(a, other.stdout);
}

#[test]
fn two_plans_see_the_same_calls() {
    let (sc, tm) = demo();
    let o = SimOptions {
        days: 90.0,
        replications: 3,
        ..SimOptions::default()
    };
    let base = sim::simulate(&sc, &sim::prepare(&sc, &tm, &o, None).unwrap(), &o).unwrap();
    let mut more = sc.clone();
    more.stations[0].ambulances += 1;
    let plan = sim::simulate(&more, &sim::prepare(&more, &tm, &o, None).unwrap(), &o).unwrap();
    let key = |v: &[model::Incident]| -> Vec<_> {
        v.iter()
            .map(|i| (i.call_received, i.lon_lat, i.priority))
            .collect()
    };
    assert_eq!(key(&base.incidents), key(&plan.incidents));
    assert_eq!(
        base.summary.calls_per_replication,
        plan.summary.calls_per_replication
    );
    assert_eq!(
        plan.summary.unit_busy.len(),
        base.summary.unit_busy.len() + 1
    );
}

#[test]
fn bad_input_is_a_clear_error_or_a_reported_instability() {
    let (sc, tm) = demo();
    let o = SimOptions::default();
    let mut none = sc.clone();
    none.stations.iter_mut().for_each(|s| s.ambulances = 0);
    assert!(
        matches!(sim::prepare(&none, &tm, &o, None), Err(SimError::Empty(m)) if m.contains("no units"))
    );
    let mut no_h = sc.clone();
    no_h.hospitals.clear();
    assert!(
        matches!(sim::prepare(&no_h, &tm, &o, None), Err(SimError::Empty(m)) if m.contains("no hospitals"))
    );
    let neg = SimOptions {
        calls_per_1000: -5.0,
        ..o.clone()
    };
    assert!(
        sim::prepare(&sc, &tm, &neg, None)
            .unwrap_err()
            .to_string()
            .contains("non-negative")
    );
    let bad = SimOptions {
        on_scene_min: Dist::LogNormal {
            median: 15.0,
            p90: 10.0,
        },
        ..o.clone()
    };
    assert!(
        sim::prepare(&sc, &tm, &bad, None)
            .unwrap_err()
            .to_string()
            .contains("on-scene time")
    );
    let bad = SimOptions {
        handover_scale: f64::NAN,
        ..o.clone()
    };
    assert!(sim::prepare(&sc, &tm, &bad, None).is_err());
    // Three times the fleet's capacity: reported, not a hang.
    let over = SimOptions {
        calls_per_1000: 3000.0,
        days: 60.0,
        replications: 2,
        ..o.clone()
    };
    let out = sim::simulate(&sc, &sim::prepare(&sc, &tm, &over, None).unwrap(), &over).unwrap();
    assert!(out.summary.unstable);
    assert!(
        ems::report::simulate::text(&out.summary).contains("unstable: demand exceeds capacity")
    );
    let e = ems(&["simulate", "--calls-per-1000", "-1"]);
    assert_eq!(e.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&e.stderr).contains("must be non-negative"));
    let e = ems(&["simulate", "--ambulances", "nowhere=2"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("no station `nowhere`"));
}

#[test]
fn the_scenario_sets_the_call_mix_and_handovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    let toml = common::demo_toml().replace(
        "[profile]",
        "[simulation]\ncalls_per_1000 = 45\npriority_shares = [1.0]\ncondition_shares = { stroke = 1.0 }\nhandover_min = { chpg = [30.0, 40.0] }\n\n[profile]",
    );
    std::fs::write(&path, toml).unwrap();
    let sc = Scenario::load(&path).unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let o = SimOptions {
        days: 60.0,
        replications: 1,
        keep_incidents: true,
        ..SimOptions::for_scenario(&sc)
    };
    assert_eq!(o.calls_per_1000, 45.0);
    let out = sim::simulate(&sc, &sim::prepare(&sc, &tm, &o, None).unwrap(), &o).unwrap();
    assert!(
        out.incidents
            .iter()
            .all(|i| i.priority == 1 && i.condition.as_deref() == Some("stroke"))
    );
    // Every stroke goes to CHPG, whose handovers now take 30 minutes or more at the median.
    let h: Vec<f64> = out
        .incidents
        .iter()
        .filter_map(|i| Some((i.handover_complete? - i.at_hospital?).num_seconds() as f64 / 60.0))
        .collect();
    let mut sorted = h.clone();
    sorted.sort_by(f64::total_cmp);
    assert!(
        sorted[sorted.len() / 2] > 25.0,
        "median handover {}",
        sorted[sorted.len() / 2]
    );
    // Bad tables are errors naming the field.
    for (bad, says) in [
        ("hour_profile = [1.0, 2.0]", "hour_profile"),
        ("priority_shares = [-1.0]", "priority_shares"),
        ("condition_shares = { flu = 0.5 }", "condition_shares.flu"),
        (
            "condition_shares = { stroke = 0.7, trauma = 0.6 }",
            "more than 1",
        ),
        (
            "handover_min = { nowhere = [5.0, 8.0] }",
            "no hospital `nowhere`",
        ),
        ("handover_min = { chpg = [9.0, 5.0] }", "median <= p90"),
        ("calls_per_1000 = -3", "non-negative"),
        ("colour = 1", "unknown field"),
        // Issue #16: on scene by priority, transport share, release rule.
        ("on_scene_min = [20.0, 10.0]", "on_scene_min"),
        (
            "on_scene_min_by_priority = { urgent = [10.0, 20.0] }",
            "on_scene_min_by_priority.urgent",
        ),
        ("transport_share = 1.5", "transport_share"),
        ("release_after_min = -45", "release_after_min"),
        ("stretchers = { chpg = -2 }", "stretchers.chpg"),
        ("stretchers = { nowhere = 2 }", "no hospital `nowhere`"),
        ("stretcher_rule = \"push\"", "stretcher_rule"),
    ] {
        let toml =
            common::demo_toml().replace("[profile]", &format!("[simulation]\n{bad}\n\n[profile]"));
        std::fs::write(&path, toml).unwrap();
        let e = Scenario::load(&path).unwrap_err().to_string();
        assert!(e.contains("s.toml") && e.contains(says), "{bad}: {e}");
    }
}

#[test]
fn compare_reports_paired_differences() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    let dir = tempfile::tempdir().unwrap();
    let stations = std::fs::read_to_string(demo.join("stations.geojson"))
        .unwrap()
        .replace("\"ambulances\": 2", "\"ambulances\": 5");
    let more = dir.path().join("stations.geojson");
    std::fs::write(&more, stations).unwrap();
    let toml = common::demo_toml().replace(
        &format!("{:?}", demo.join("stations.geojson").display().to_string()),
        &format!("{:?}", more.display().to_string()),
    );
    let b = dir.path().join("b.toml");
    std::fs::write(&b, toml).unwrap();
    let a = demo.join("scenario.toml");
    let out = ems(&[
        "simulate",
        "--compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--replications",
        "4",
        "--days",
        "90",
        "--calls-per-1000",
        "600",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    let waited = rows.iter().find(|r| r[0] == "calls that waited").unwrap();
    // Three more ambulances at the busiest station: fewer calls wait, on the same calls.
    assert!(waited[1]["mean"].as_f64().unwrap() > 0.0, "{waited}");
    assert!(waited[3]["mean"].as_f64().unwrap() < 0.0, "{waited}");
    let text = ems(&[
        "simulate",
        "--compare",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--days",
        "30",
        "--replications",
        "3",
    ]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("B - A"));
}
