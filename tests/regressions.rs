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

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Issue #10: an MCLP plan with a distance standard printed "nearest station for -0" (an
/// empty sum of `f64` is `-0.0`).
#[test]
fn issue_10_mclp_with_a_distance_standard_prints_no_negative_zero() {
    let o = ems(&["optimize", "--model", "mclp", "--within", "3.5km"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("nearest station for"), "{out}");
    assert!(
        !out.contains("-0 ") && !out.contains("-0,") && !out.contains("-0.0"),
        "{out}"
    );
}

/// Issue #10: an LSCP infeasibility named zones by index ("[1, 7]"), not by id.
#[test]
fn issue_10_lscp_infeasibility_names_zones_by_id() {
    let o = ems(&["optimize", "--model", "lscp", "--within", "2.5min"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("demand zones cannot be served"), "{e}");
    let sc = Scenario::demo().unwrap();
    assert!(sc.demand.iter().any(|z| e.contains(&z.id)), "{e}");
    assert!(!e.contains('['), "indices instead of ids: {e}");
}

/// Issue #10: a backup-coverage failure with nobody beyond the secondary standard printed
/// "leaves 0 demand points beyond the secondary standard []".
#[test]
fn issue_10_backup_failure_without_uncovered_zones_says_so() {
    let o = ems(&[
        "optimize",
        "--model",
        "backup",
        "--within",
        "4min",
        "--secondary",
        "9min",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("meets the double standard"), "{e}");
    assert!(!e.contains("[]") && !e.contains("leaves 0"), "{e}");
    assert!(e.contains("keeps every one of the demand zones within the secondary standard"));
    // The solver's own message says the same.
    let err = ems::optimize::OptimizeError::DoubleStandard {
        p: 2,
        uncovered: vec![],
        share_pct: 40.0,
        alpha_pct: 95.0,
        proven: true,
    };
    assert!(!err.to_string().contains("[]"), "{err}");
}

/// Issue #10: the live coverage showed `-0.0` with every unit busy, and units were "since
/// 1970-01-01" before their first event.
#[test]
fn issue_10_no_negative_zero_coverage_and_no_epoch_since() {
    use ems::dispatch::coverage::{Budget, Coverage};
    use ems::dispatch::{Fleet, UnitStatus};
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let cov = Coverage::new(
        &sc,
        &tm,
        Budget {
            response_target_min: 12.0,
            call_handling_s: 60.0,
            turnout_s: 60.0,
        },
    );
    let mut fleet = Fleet::new(&sc);
    let json = serde_json::to_value(fleet.units.values().next().unwrap()).unwrap();
    assert!(json["since"].is_null(), "{json}");
    for u in fleet.units.values_mut() {
        u.status = UnitStatus::OutOfService;
    }
    let now = cov.coverage_now(&tm, &fleet.units).unwrap();
    assert_eq!(now, 0.0);
    assert!(now.is_sign_positive(), "-0.0");
    assert_eq!(serde_json::to_string(&now).unwrap(), "0.0");
}

/// Issue #10: `ems check` printed "lost hours -0.0 h" for a log with no hospital arrival.
#[test]
fn issue_10_check_prints_no_negative_lost_hours() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    std::fs::write(
        &log,
        "id,call_received,dispatched,departed,on_scene,at_hospital,handover_complete,priority,unit,hospital,lon,lat\n\
         1,2024-03-01T10:00:00+01:00,2024-03-01T10:01:00+01:00,2024-03-01T10:02:00+01:00,2024-03-01T10:08:00+01:00,,,1,fontvieille-1,,7.4167,43.7300\n",
    )
    .unwrap();
    let o = ems(&["check", "--incidents", log.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("lost hours"), "{out}");
    assert!(!out.contains("-0.0"), "{out}");
}

/// Issue #10: `ems synth-incidents --rate 1e30` panicked in the Poisson sampler; every numeric
/// option is range-checked (by clap, naming the option) and the library refuses too.
#[test]
fn issue_10_out_of_range_numbers_are_refused_not_panics() {
    for (args, option) in [
        (
            vec!["synth-incidents", "--out", "/tmp/x.csv", "--rate", "1e30"],
            "--rate",
        ),
        (
            vec![
                "synth-incidents",
                "--out",
                "/tmp/x.csv",
                "--error-share",
                "2",
            ],
            "--error-share",
        ),
        (vec!["simulate", "--days", "1e300"], "--days"),
        (vec!["simulate", "--replications", "0"], "--replications"),
        (vec!["simulate", "--peak-factor", "0"], "--peak-factor"),
        (
            vec!["simulate", "--detention-scale", "-1"],
            "--detention-scale",
        ),
        (vec!["optimize", "--alpha", "1.5"], "--alpha"),
        (vec!["optimize", "--time-limit", "NaN"], "--time-limit"),
        (vec!["optimize", "--fleet", "0"], "--fleet"),
        (vec!["check", "--turnout-s", "-5"], "--turnout-s"),
        (
            vec!["route", "--from", "7.42,143", "--to", "7.4,43.7"],
            "--from",
        ),
        (
            vec![
                "population",
                "--from-buildings",
                "--total",
                "5",
                "--cell",
                "0",
            ],
            "--cell",
        ),
        (
            vec![
                "solve-instance",
                "--format",
                "orlib-pmed",
                "x",
                "--radius",
                "-1",
            ],
            "--radius",
        ),
    ] {
        let o = ems(&args);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {e}");
        assert!(
            e.contains(option) && !e.contains("panicked"),
            "{args:?}: {e}"
        );
    }
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let opts = ems::simulate::synthetic::SynthOptions {
        seed: 1,
        year: 2024,
        calls_per_1000: 1e30,
        error_share: 0.0,
    };
    assert!(ems::simulate::synthetic::generate(&sc, &tm, &sc.timezone, &opts).is_err());
}

/// Issue #10: errors printed each cause twice ("No such file or directory (os error 2): No
/// such file or directory (os error 2)"; "unable to open database file" three times).
#[test]
fn issue_10_errors_print_each_cause_once() {
    let o = ems(&["check", "--scenario", "/nonexistent/scenario.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert_eq!(e.matches("No such file or directory").count(), 1, "{e}");
    assert!(e.contains("/nonexistent/scenario.toml"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("no/such/dir/log.sqlite");
    let o = ems(&[
        "serve",
        "--db",
        db.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    // Since issue #14 the log's lock file is created first: the same missing folder, said once.
    assert_eq!(e.matches("No such file or directory").count(), 1, "{e}");
    assert!(e.contains("no/such/dir/log.sqlite"), "{e}");
}
