//! The `ems` binary end to end: subcommands, outputs and exit codes.

mod common;

use std::process::{Command, Output};

fn ems(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(args)
        .output()
        .expect("run ems")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_lists_subcommands() {
    let o = ems(&["--help"]);
    assert!(o.status.success());
    let out = stdout(&o);
    for cmd in ["import", "route", "population", "demo"] {
        assert!(out.contains(cmd), "{cmd} missing from --help:\n{out}");
    }
}

#[test]
fn demo_runs() {
    let o = ems(&["demo"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Imported road network"), "{out}");
    assert!(
        out.contains("Centre de secours principal de la Condamine"),
        "{out}"
    );
    assert!(out.contains("-> Centre"), "{out}");
    assert!(
        out.contains("6. Data quality"),
        "the demo shows the standards check: {out}"
    );
    let o = ems(&["demo", "--format", "json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["stations"], 3);
    assert_eq!(v["station_to_nearest_ed"].as_array().unwrap().len(), 3);
    assert_eq!(v["check"]["targets"].as_array().unwrap().len(), 6);
    assert!(v["check"]["response"]["reached_scene"].as_u64().unwrap() > 0);
}

#[test]
fn import_writes_cache_and_json_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("monaco.ems");
    let map = concat!(env!("CARGO_MANIFEST_DIR"), "/maps/monaco.osm.pbf");
    let o = ems(&[
        "import",
        map,
        "--out",
        out.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for key in [
        "nodes",
        "edges",
        "road_km",
        "dropped_nodes",
        "missing_node_refs",
        "hospitals",
        "ambulance_stations",
        "largest_scc_share",
    ] {
        assert!(v.get(key).is_some(), "{key} missing: {v}");
    }
    assert!(out.exists());
    // The cache is a valid --map for route, and gives the same answer as the extract.
    let a = ems(&[
        "route",
        "--map",
        out.to_str().unwrap(),
        "--from",
        "7.4216,43.7324",
        "--to",
        "7.4248,43.7377",
        "--format",
        "json",
    ]);
    let b = ems(&[
        "route",
        "--map",
        map,
        "--from",
        "7.4216,43.7324",
        "--to",
        "7.4248,43.7377",
        "--format",
        "json",
    ]);
    assert!(a.status.success() && b.status.success(), "{}", stderr(&a));
    assert_eq!(stdout(&a), stdout(&b));
}

#[test]
fn route_outputs() {
    let o = ems(&[
        "route",
        "--from",
        "7.4216,43.7324",
        "--to",
        "7.4248,43.7377",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let eta = v["eta_s"].as_f64().unwrap();
    let dist = v["distance_m"].as_f64().unwrap();
    assert!(eta > 30.0 && eta < 900.0, "{eta}");
    assert!(dist > 500.0 && dist < 5000.0, "{dist}");
    let o = ems(&[
        "route",
        "--from",
        "7.4216,43.7324",
        "--to",
        "7.4248,43.7377",
        "--geojson",
    ]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["type"], "Feature");
    assert_eq!(v["geometry"]["type"], "LineString");
    assert!(v["geometry"]["coordinates"].as_array().unwrap().len() > 2);
    // The car is slower than the ambulance profile on the same path.
    let car = ems(&[
        "route",
        "--from",
        "7.4216,43.7324",
        "--to",
        "7.4248,43.7377",
        "--format",
        "json",
        "--car",
    ]);
    let c: serde_json::Value = serde_json::from_slice(&car.stdout).unwrap();
    assert!(c["eta_s"].as_f64().unwrap() > eta);
}

#[test]
fn bad_input_exits_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("cut.osm.pbf");
    std::fs::write(&bad, &ems::model::demo::MAP_PBF[..5000]).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["import", bad.to_str().unwrap(), "--no-cache"],
            "invalid or truncated OSM PBF",
        ),
        (
            vec!["import", "/nonexistent/x.osm.pbf"],
            "/nonexistent/x.osm.pbf",
        ),
        (
            vec!["route", "--from", "0,0", "--to", "7.4248,43.7377"],
            "from the nearest road",
        ),
        (
            vec!["route", "--from", "seven,43", "--to", "7.4248,43.7377"],
            "longitude `seven` is not a number",
        ),
        (
            vec!["population", "--from-buildings", "--total", "-5"],
            "`total` must be a positive number",
        ),
    ];
    for (args, expect) in cases {
        let o = ems(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn population_from_buildings_sums_to_total() {
    let o = ems(&[
        "population",
        "--from-buildings",
        "--total",
        "10000",
        "--cell",
        "400",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let zones = ems::model::parse_demand_zones(&stdout(&o), "stdout").unwrap();
    let total: f64 = zones.iter().map(|z| z.population).sum();
    assert!((total - 10_000.0).abs() < 1.0, "{total}");
    assert!(zones.len() > 5);
}
