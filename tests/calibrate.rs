//! Issue #13: `ems calibrate` on a log generated with known travel-time factors per hour (the
//! scenario's own free-flow drives stretched by a known profile, with noise and outliers): the
//! fitted factors come back within 5 %, the error falls, and the profile it writes is read back
//! by the scenario.

mod common;

use std::fmt::Write;
use std::process::Command;

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Normal};

fn ems(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(args)
        .output()
        .expect("run ems")
}

/// `ems calibrate --scenario SCENARIO --incidents LOG` with `extra` options.
fn calibrate(
    scenario: &std::path::Path,
    log: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "calibrate",
        "--scenario",
        scenario.to_str().unwrap(),
        "--incidents",
        log.to_str().unwrap(),
    ];
    args.extend(extra);
    ems(&args)
}

/// The known profile: free flow at night, 1.6 at 08:00, 1.5 at 17:00.
fn known(h: usize) -> f64 {
    let peak = |c: f64, w: f64, a: f64| a * (-((h as f64 - c) / w).powi(2)).exp();
    1.0 + peak(8.0, 1.5, 0.6)
        + peak(17.0, 2.0, 0.5)
        + if (10..16).contains(&h) { 0.15 } else { 0.0 }
}

/// A log of `per_hour` drives per local hour from the demo's stations, travel = free flow ×
/// `known(hour)` × lognormal noise (σ 0.10), 3 % of them gross outliers (× 4 or ÷ 3).
fn write_log(dir: &std::path::Path, per_hour: usize) -> std::path::PathBuf {
    let sc = ems::model::Scenario::demo().unwrap();
    let tm = sc.travel_model().unwrap();
    let mut q = tm.query();
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(13);
    let noise = Normal::<f64>::new(0.0, 0.10).unwrap();
    let mut csv = String::from(
        "id,call_received,dispatched,departed,on_scene,at_hospital,handover_complete,priority,unit,hospital,lon,lat,condition,zone\n",
    );
    let t0 = chrono::DateTime::parse_from_rfc3339("2024-03-04T00:00:00+01:00").unwrap();
    let mut n = 0;
    for h in 0..24 {
        let mut made = 0;
        while made < per_hour {
            let p = [
                rng.random_range(7.409..7.440),
                rng.random_range(43.725..43.752),
            ];
            if !sc.in_region(p) {
                continue;
            }
            let Ok(scene) = tm.snap(p) else { continue };
            let st = &sc.stations[rng.random_range(0..sc.stations.len())];
            let from = tm.snap(st.lon_lat).unwrap();
            let Some(eta) = tm.eta(&mut q, &from, &scene) else {
                continue;
            };
            if eta.seconds() < 40.0 {
                continue;
            }
            let mut drive = eta.seconds() * known(h) * noise.sample(&mut rng).exp();
            if rng.random_bool(0.03) {
                drive *= if rng.random_bool(0.5) { 4.0 } else { 1.0 / 3.0 };
            }
            let call = t0
                + chrono::Duration::days(rng.random_range(0..28))
                + chrono::Duration::seconds(h as i64 * 3600 + rng.random_range(0..3000));
            let dispatched = call + chrono::Duration::seconds(60);
            let departed = dispatched + chrono::Duration::seconds(60);
            let on_scene = departed + chrono::Duration::milliseconds((drive * 1000.0) as i64);
            n += 1;
            writeln!(
                csv,
                "c{n},{},{},{},{},,,2,{}-1,,{:.6},{:.6},,",
                call.to_rfc3339(),
                dispatched.to_rfc3339(),
                departed.to_rfc3339(),
                on_scene.to_rfc3339(),
                st.id,
                p[0],
                p[1]
            )
            .unwrap();
            made += 1;
        }
    }
    let path = dir.join("log.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// A log whose units set off from where they were (random road points in the region, as the
/// live server's AVL positions), `per_hour` drives per hour, free flow from that point ×
/// `known(hour)` × lognormal noise (σ 0.10); the unit named is a station's, so starting at the
/// station would be wrong. `start_lon`/`start_lat` hold the start unless `logged` is false.
fn write_moving_log(dir: &std::path::Path, per_hour: usize, logged: bool) -> std::path::PathBuf {
    let sc = ems::model::Scenario::demo().unwrap();
    let tm = sc.travel_model().unwrap();
    let mut q = tm.query();
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(31);
    let noise = Normal::<f64>::new(0.0, 0.10).unwrap();
    let mut csv = String::from(
        "id,call_received,dispatched,departed,on_scene,at_hospital,handover_complete,priority,unit,hospital,lon,lat,condition,zone,left_scene,available,start_lon,start_lat\n",
    );
    let t0 = chrono::DateTime::parse_from_rfc3339("2024-03-04T00:00:00+01:00").unwrap();
    let point = |rng: &mut rand::rngs::ChaCha8Rng| loop {
        let p = [
            rng.random_range(7.409..7.440),
            rng.random_range(43.725..43.752),
        ];
        if sc.in_region(p)
            && let Ok(s) = tm.snap(p)
        {
            return (p, s);
        }
    };
    let mut n = 0;
    for h in 0..24 {
        let mut made = 0;
        while made < per_hour {
            let (p, scene) = point(&mut rng);
            let (start, from) = point(&mut rng);
            let Some(eta) = tm.eta(&mut q, &from, &scene) else {
                continue;
            };
            if eta.seconds() < 40.0 {
                continue;
            }
            let drive = eta.seconds() * known(h) * noise.sample(&mut rng).exp();
            let call = t0
                + chrono::Duration::days(rng.random_range(0..28))
                + chrono::Duration::seconds(h as i64 * 3600 + rng.random_range(0..3000));
            let departed = call + chrono::Duration::seconds(120);
            let on_scene = departed + chrono::Duration::milliseconds((drive * 1000.0) as i64);
            n += 1;
            let st = if logged {
                format!("{:.6},{:.6}", start[0], start[1])
            } else {
                ",".to_string()
            };
            writeln!(
                csv,
                "m{n},{},{},{},{},,,2,condamine-1,,{:.6},{:.6},,,,,{st}",
                call.to_rfc3339(),
                call.to_rfc3339(),
                departed.to_rfc3339(),
                on_scene.to_rfc3339(),
                p[0],
                p[1]
            )
            .unwrap();
            made += 1;
        }
    }
    let path = dir.join(if logged { "moving.csv" } else { "unlogged.csv" });
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn issue_13_calibrate_starts_drives_where_the_live_log_says() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_moving_log(dir.path(), 40, true);
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, common::demo_toml()).unwrap();
    let fit = |extra: &[&str]| -> serde_json::Value {
        let mut args = vec!["--format", "json"];
        args.extend(extra);
        let out = calibrate(&scenario, &log, &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let worst = |j: &serde_json::Value| {
        j["by_hour"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(h, e)| (e["factor"].as_f64().unwrap() / known(h) - 1.0).abs())
            .fold(0.0, f64::max)
    };
    // The default (auto) and --start logged use the logged positions: within 5 %.
    for (extra, name) in [(&[][..], "auto"), (&["--start", "logged"][..], "logged")] {
        let j = fit(extra);
        assert!(worst(&j) <= 0.05, "{extra:?}: {}", worst(&j));
        assert_eq!(j["start"], name);
        eprintln!("{name}: largest deviation {:.2} %", 100.0 * worst(&j));
    }
    // Starting every drive at the unit's station instead is far off.
    let wrong = fit(&["--start", "unit-station"]);
    assert!(worst(&wrong) > 0.15, "{}", worst(&wrong));
    // A log without positions: `logged` refuses, naming why the rows were left out.
    let bare = write_moving_log(dir.path(), 5, false);
    let out = calibrate(&scenario, &bare, &["--start", "logged"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("120 rows: no logged start position"), "{err}");
    // A start position out of range is an error naming the line and the field.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let row = lines[3].rsplitn(3, ',').last().unwrap().to_string();
    lines[3] = format!("{row},7.42,95.0");
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let out = calibrate(&scenario, &bad, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.csv:4") && err.contains("start_lat"),
        "{err}"
    );
}

#[test]
fn issue_13_calibrate_recovers_known_factors_within_5_percent() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 120);
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, common::demo_toml()).unwrap();
    let profile = dir.path().join("traffic.toml");
    let out = calibrate(
        &scenario,
        &log,
        &["--format", "json", "--out", profile.to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_hour = j["by_hour"].as_array().unwrap();
    assert_eq!(by_hour.len(), 24);
    for (h, e) in by_hour.iter().enumerate() {
        assert_eq!(e["hour"], h);
        let f = e["factor"].as_f64().unwrap();
        let want = known(h);
        assert!(
            (f / want - 1.0).abs() <= 0.05,
            "hour {h}: fitted {f:.3}, known {want:.3}"
        );
        assert!(e["rows"].as_u64().unwrap() >= 100, "{e}");
    }
    let worst = by_hour
        .iter()
        .enumerate()
        .map(|(h, e)| (e["factor"].as_f64().unwrap() / known(h) - 1.0).abs())
        .fold(0.0, f64::max);
    eprintln!("largest factor deviation {:.2} %", 100.0 * worst);
    // The outliers are found, and the error falls.
    let outliers = j["outliers"].as_u64().unwrap();
    assert!((40..=160).contains(&outliers), "{outliers} outliers");
    let (b, a) = (&j["error_before"], &j["error_after"]);
    for k in ["median_abs_error_s", "median_abs_pct_error"] {
        assert!(
            a[k].as_f64().unwrap() < b[k].as_f64().unwrap(),
            "{k}: {b} -> {a}"
        );
    }
    // Lognormal noise with σ 0.10 has a median absolute percentage error of about 6.7 %.
    let after = a["median_abs_pct_error"].as_f64().unwrap();
    assert!((4.5..9.0).contains(&after), "{after}");
    assert!(
        b["median_abs_pct_error"].as_f64().unwrap() > 1.3 * after,
        "{b}"
    );
    eprintln!("outliers {outliers}; before {b}; after {a}");
    // The profile is read back by a scenario naming it, and the "before" errors are then the
    // fitted model's.
    let text = std::fs::read_to_string(&profile).unwrap();
    let p = ems::network::TrafficProfile::parse(&text, "traffic.toml").unwrap();
    assert!((p.hour_factor(8) / known(8) - 1.0).abs() <= 0.05);
    std::fs::write(
        &scenario,
        format!("traffic = \"traffic.toml\"\n{}", common::demo_toml()),
    )
    .unwrap();
    let again = calibrate(&scenario, &log, &["--format", "json"]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let j2: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    let before2 = j2["error_before"]["median_abs_pct_error"].as_f64().unwrap();
    assert!((before2 - after).abs() < 2.0, "{before2} vs {after}");
    assert!(
        j2["model_before"]
            .as_str()
            .unwrap()
            .contains("traffic profile")
    );
    for (e1, e2) in by_hour.iter().zip(j2["by_hour"].as_array().unwrap()) {
        assert_eq!(
            e1["factor"], e2["factor"],
            "the fit does not depend on the model before"
        );
    }
}

#[test]
fn issue_13_calibrate_refuses_too_few_rows_and_says_how_many_it_needs() {
    let dir = tempfile::tempdir().unwrap();
    let log = write_log(dir.path(), 3);
    let scenario = dir.path().join("scenario.toml");
    std::fs::write(&scenario, common::demo_toml()).unwrap();
    let out = calibrate(&scenario, &log, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("72 usable rows"), "{err}");
    assert!(err.contains("calibration needs at least 96"), "{err}");
    // Units that are not the scenario's: counted, and --start nearest-station is the way out.
    let text = std::fs::read_to_string(&log).unwrap().replace("-1,", "-x,");
    std::fs::write(&log, text).unwrap();
    let out = calibrate(&scenario, &log, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("72 rows: unit not at a scenario station"),
        "{err}"
    );
}

#[test]
fn issue_13_bad_traffic_profiles_name_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("scenario.toml");
    let cases = [
        ("by_hour = [1.0, 1.0]", "`by_hour` has 2 factors"),
        (
            "by_hour = [1,1,1,1,1,1,1,1,-1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]",
            "`by_hour[8]` = -1",
        ),
        (
            "[by_class]\nprimary = [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]",
            "no `by_hour` and no `by_class.motorway`",
        ),
    ];
    for (text, want) in cases {
        std::fs::write(dir.path().join("t.toml"), text).unwrap();
        std::fs::write(
            &scenario,
            format!("traffic = \"t.toml\"\n{}", common::demo_toml()),
        )
        .unwrap();
        let out = ems(&["check", "--scenario", scenario.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("t.toml") && err.contains(want),
            "{text}: {err}"
        );
    }
    std::fs::write(
        &scenario,
        format!("traffic = \"rush\"\n{}", common::demo_toml()),
    )
    .unwrap();
    let out = ems(&["check", "--scenario", scenario.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`traffic` = \"rush\": unknown traffic profile"),
        "{err}"
    );
}
