//! Regression tests for defects named in the issues, each test named after its issue.

mod common;

use std::process::{Command, Output};

use ems::model::Scenario;
use ems::network::{TravelModel, TravelSettings};

fn ems(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(args)
        .output()
        .expect("run ems")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A point south of the first demo station, `1,100..1,900` m from the nearest road (in the sea
/// off Monaco), found by walking south with a model whose limit is large.
fn offshore_point(sc: &Scenario) -> ([f64; 2], f64) {
    let wide = TravelModel::for_map(
        sc.network.clone(),
        TravelSettings {
            snap_limit_m: 50_000.0,
            ..TravelSettings::default()
        },
    )
    .unwrap();
    let [lon, lat] = sc.stations[0].lon_lat;
    (1..400)
        .map(|k| [lon, lat - k as f64 * 0.0005])
        .map(|p| (p, wide.snap(p).unwrap().distance_m))
        .find(|(_, d)| (1_100.0..1_900.0).contains(d))
        .expect("an offshore point 1.1-1.9 km from the roads")
}

/// Issue #10: `ems synth-incidents` built its travel model without the scenario's
/// `snap_limit_m`, so a station the scenario allows 2 km off the road was refused by it alone.
#[test]
fn issue_10_synth_incidents_uses_the_scenario_snap_limit() {
    let sc = Scenario::demo().unwrap();
    let (p, d) = offshore_point(&sc);
    let dir = tempfile::tempdir().unwrap();
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    let stations = std::fs::read_to_string(demo.join("stations.geojson")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&stations).unwrap();
    v["features"][0]["geometry"]["coordinates"] = serde_json::json!(p);
    let moved = dir.path().join("stations.geojson");
    std::fs::write(&moved, v.to_string()).unwrap();
    let toml = common::demo_toml()
        .replace(
            &format!("{:?}", demo.join("stations.geojson").display().to_string()),
            &format!("{:?}", moved.display().to_string()),
        )
        .replace("[profile]", "snap_limit_m = 2000\n\n[profile]");
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, toml).unwrap();
    let sc = Scenario::load(&path).unwrap();
    assert_eq!(sc.travel.snap_limit_m, 2000.0);
    let tm = TravelModel::for_scenario(&sc).unwrap();
    assert_eq!(tm.snap_limit_m(), 2000.0);
    assert!(
        tm.snap(p).is_ok(),
        "the station {d:.0} m off the road snaps"
    );

    let out = dir.path().join("synth.csv");
    let o = ems(&[
        "synth-incidents",
        "--scenario",
        path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--rate",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(csv.lines().count() > 1, "{csv}");
    // The check, on the same scenario, accepts the station too.
    let o = ems(&["check", "--scenario", path.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
}
