//! Issue #13: a scenario names a traffic profile, and `check`, `optimize`, `evaluate` and
//! `simulate` use the hours they model and say which (the live API's current hour is tested in
//! `dispatch_api.rs`).

mod common;

use std::process::Command;

fn ems(args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(args)
        .output()
        .expect("run ems");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The demo with a profile: free flow except 2.0 at 08:00 on every class, and primary roads 3.0
/// at 17:00 (a class band, so it has its own matrices).
fn scenario(dir: &std::path::Path) -> String {
    let mut by_hour = vec!["1.0"; 24];
    by_hour[8] = "2.0";
    let mut primary = vec!["1.0"; 24];
    primary[8] = "2.0";
    primary[17] = "3.0";
    std::fs::write(
        dir.join("rush.toml"),
        format!(
            "name = \"rush\"\nby_hour = [{}]\n[by_class]\nprimary = [{}]\n",
            by_hour.join(","),
            primary.join(",")
        ),
    )
    .unwrap();
    let p = dir.join("scenario.toml");
    std::fs::write(
        &p,
        format!("traffic = \"rush.toml\"\n{}", common::demo_toml()),
    )
    .unwrap();
    p.display().to_string()
}

fn modelled_mean(j: &serde_json::Value) -> f64 {
    j["modelled_response"]["summary"]["mean"].as_f64().unwrap()
}

#[test]
fn issue_13_check_models_the_hour_it_says() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path());
    let free = ems(&["check", "--format", "json"]);
    let night = ems(&[
        "check",
        "--scenario",
        &sc,
        "--hour",
        "3",
        "--format",
        "json",
    ]);
    let rush = ems(&[
        "check",
        "--scenario",
        &sc,
        "--hour",
        "8",
        "--format",
        "json",
    ]);
    let evening = ems(&[
        "check",
        "--scenario",
        &sc,
        "--hour",
        "17",
        "--format",
        "json",
    ]);
    let day = ems(&["check", "--scenario", &sc, "--format", "json"]);
    let fixed = 2.0; // 60 s call handling + 60 s turnout, minutes
    let (f, n, r, e, d) = (
        modelled_mean(&free),
        modelled_mean(&night),
        modelled_mean(&rush),
        modelled_mean(&evening),
        modelled_mean(&day),
    );
    assert!((n - f).abs() < 1e-9, "free flow at night: {n} vs {f}");
    // Every time doubles at 08:00 (off-road leg included): travel twice the free flow.
    assert!(((r - fixed) - 2.0 * (f - fixed)).abs() < 0.01, "{r} vs {f}");
    // Slower primary roads at 17:00: slower than free flow, at most three times.
    assert!(
        e > f + 0.01 && (e - fixed) < 3.0 * (f - fixed),
        "{e} vs {f}"
    );
    // The day's mean weighted by the demo log's calls per hour lies between.
    assert!(d > f && d < r, "{d}");
    let travel = |j: &serde_json::Value| {
        j["modelled_response"]["travel"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(travel(&free).contains("free flow"), "{}", travel(&free));
    assert!(
        travel(&rush).contains("traffic profile `rush`, local hour 8:00-8:59"),
        "{}",
        travel(&rush)
    );
    assert!(
        travel(&day).contains("weighted by call volume (calls per hour in the incident log)"),
        "{}",
        travel(&day)
    );
    assert_eq!(day["assumptions"]["hours"]["kind"], "weighted");
}

#[test]
fn issue_13_optimize_evaluate_and_simulate_use_the_profile_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let sc = scenario(dir.path());
    let plan = ems(&[
        "optimize",
        "--scenario",
        &sc,
        "--add",
        "1",
        "--hour",
        "8",
        "--format",
        "json",
    ]);
    let free_plan = ems(&["optimize", "--add", "1", "--format", "json"]);
    assert!(
        plan["plan"]["travel"]
            .as_str()
            .unwrap()
            .contains("local hour 8"),
        "{}",
        plan["plan"]["travel"]
    );
    let (a, b) = (
        plan["plan"]["mean_response_after_min"].as_f64().unwrap(),
        free_plan["plan"]["mean_response_after_min"]
            .as_f64()
            .unwrap(),
    );
    assert!(a > b + 0.5, "rush-hour plan {a} vs free flow {b}");
    let ev = ems(&[
        "evaluate",
        "--scenario",
        &sc,
        "--hour",
        "8",
        "--remove-station",
        "fontvieille",
        "--format",
        "json",
    ]);
    let text = ev.to_string();
    assert!(
        text.contains("traffic profile `rush`, local hour 8"),
        "{text}"
    );
    let sim = |s: Option<&str>| {
        let mut args = vec![
            "simulate",
            "--days",
            "60",
            "--replications",
            "2",
            "--format",
            "json",
        ];
        if let Some(s) = s {
            args.extend(["--scenario", s]);
        }
        ems(&args)
    };
    let (slow, free) = (sim(Some(&sc)), sim(None));
    assert!(
        slow["travel"]
            .as_str()
            .unwrap()
            .contains("traffic profile `rush` at each moment's local hour")
    );
    // Same seed, same calls: the rush hours can only add.
    let m = |j: &serde_json::Value| j["mean_response_min"]["mean"].as_f64().unwrap();
    assert!(m(&slow) > m(&free), "{} vs {}", m(&slow), m(&free));
}
