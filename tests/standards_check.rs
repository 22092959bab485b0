//! The standards check: hand-computed statistics on small logs (with exclusions), JSON
//! consistency on the demo, target presets and bad input.

mod common;

use std::process::Command;

use ems::model::{self, ParseOptions, Scenario};
use ems::network::TravelModel;
use ems::standards::{self, CheckOptions, Targets};

const HEAD: &str = "id,call_received,dispatched,departed,on_scene,at_hospital,handover_complete,priority,unit,hospital,lon,lat,zone\n";

fn small_log() -> model::IncidentLog {
    // Line numbers: the header is line 1, so incident a is line 2.
    let rows = [
        // a: response 5 min (1 + 1 + 3), handover 8 min.
        "a,2024-05-01 10:00:00,2024-05-01 10:01:00,2024-05-01 10:02:00,2024-05-01 10:05:00,2024-05-01 10:30:00,2024-05-01 10:38:00,1,u1,chpg,7.4200,43.7340,la-condamine",
        // b: response 10 min (2 + 4 + 4), handover 12 min (detained).
        "b,2024-05-01 11:00:00,2024-05-01 11:02:00,2024-05-01 11:06:00,2024-05-01 11:10:00,2024-05-01 11:40:00,2024-05-01 11:52:00,1,u1,chpg,7.4200,43.7340,la-condamine",
        // c: response 15 min, handover 20 min (detained, 5 lost minutes).
        "c,2024-05-01 12:00:00,2024-05-01 12:01:00,2024-05-01 12:03:00,2024-05-01 12:15:00,2024-05-01 12:40:00,2024-05-01 13:00:00,2,u2,ccm,7.4250,43.7410,monte-carlo",
        // d: on_scene before the call: excluded from response and travel; arrival without handover.
        "d,2024-05-01 13:00:00,2024-05-01 13:01:00,2024-05-01 13:02:00,2024-05-01 12:30:00,2024-05-01 13:40:00,,2,u2,ccm,7.4250,43.7410,monte-carlo",
        // e: never reached a scene (cancelled); handover before arrival: excluded from detention.
        "e,2024-05-01 14:00:00,2024-05-01 14:01:00,,,2024-05-01 14:40:00,2024-05-01 14:30:00,3,u1,chpg,7.4200,43.7340,",
    ];
    let csv = format!("{HEAD}{}\n", rows.join("\n"));
    let opts = ParseOptions {
        timezone: model::TimeZoneSpec::parse("Europe/Monaco").unwrap(),
        skip_invalid: false,
    };
    model::parse_incidents(csv.as_bytes(), "small.csv", &opts).unwrap()
}

#[test]
fn hand_computed_small_log() {
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let log = small_log();
    let r = standards::check(
        &sc,
        &tm,
        &log,
        &Targets::default_preset(),
        &CheckOptions::default(),
    )
    .unwrap();

    let resp = r.response.as_ref().unwrap();
    assert_eq!(resp.incidents, 5);
    assert_eq!(resp.reached_scene, 3);
    let g = resp.overall.as_ref().unwrap();
    assert_eq!(g.summary.mean, 10.0);
    assert_eq!(g.summary.median, 10.0);
    assert_eq!((g.summary.min, g.summary.max), (5.0, 15.0));
    // Type-7 P90 of [5, 10, 15]: 10 + 0.8 x 5 = 14.
    assert!((g.summary.p90 - 14.0).abs() < 1e-12);
    assert!((g.share_within_target - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(resp.by_priority[&1].summary.count, 2);
    assert_eq!(resp.by_priority[&2].summary.count, 1);
    assert_eq!(resp.by_zone["la-condamine"].summary.mean, 7.5);
    assert_eq!(resp.by_zone["monte-carlo"].summary.mean, 15.0);
    // Call handling over all five: 1, 2, 1, 1, 1 minutes.
    assert_eq!(resp.call_handling_min.as_ref().unwrap().mean, 1.2);
    // Turnout 1, 4, 2, 1: three of four within 3 minutes.
    assert_eq!(resp.departure_3min_rate, Some(0.75));
    // Travel 3, 4, 12 (d excluded).
    assert_eq!(resp.travel_min.as_ref().unwrap().count, 3);

    let d = r.detention.as_ref().unwrap();
    assert_eq!(d.arrivals, 3);
    assert_eq!(d.detained, 2);
    assert_eq!(d.rate, Some(2.0 / 3.0));
    assert!((d.lost_hours - 5.0 / 60.0).abs() < 1e-12);
    let chpg = d
        .per_hospital
        .iter()
        .find(|h| h.hospital == "chpg")
        .unwrap();
    assert_eq!((chpg.arrivals, chpg.detained), (2, 1));
    assert_eq!(chpg.median_min, 10.0);

    let dq = &r.data_quality;
    assert_eq!(dq.rows, 5);
    assert_eq!(dq.response_out_of_order.count, 1);
    assert_eq!(dq.response_out_of_order.lines, vec![5]);
    assert_eq!(dq.travel_out_of_order.lines, vec![5]);
    assert_eq!(dq.handover_missing.lines, vec![5]);
    assert_eq!(dq.handover_out_of_order.lines, vec![6]);

    // The targets table: the log's mean is the value; the detention rate fails.
    let t = |id: &str| r.targets.iter().find(|t| t.id == id).unwrap().clone();
    assert_eq!(t("mean_response_min").value, Some(10.0));
    assert_eq!(t("mean_response_min").pass, Some(true));
    assert_eq!(t("mean_response_min").source.as_str(), "incident log");
    assert_eq!(t("detention_rate").pass, Some(false));
    assert_eq!(t("negative_pressure_share").pass, None);
}

#[test]
fn without_a_log_the_model_answers() {
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let r = standards::check(
        &sc,
        &tm,
        &model::IncidentLog::default(),
        &Targets::default_preset(),
        &CheckOptions::default(),
    )
    .unwrap();
    assert!(r.response.is_none() && r.detention.is_none());
    let mean = r
        .targets
        .iter()
        .find(|t| t.id == "mean_response_min")
        .unwrap();
    assert_eq!(mean.source.as_str(), "model");
    let m = r
        .modelled_response
        .as_ref()
        .unwrap()
        .summary
        .as_ref()
        .unwrap();
    assert_eq!(mean.value, Some(m.mean));
    // Modelled = 2 min fixed + road travel, zone by zone.
    for z in &r.modelled_response.as_ref().unwrap().zones {
        assert!((z.modelled_response_min - z.travel_min - 2.0).abs() < 1e-9);
    }
    assert_eq!(
        r.targets
            .iter()
            .find(|t| t.id == "detention_rate")
            .unwrap()
            .pass,
        None
    );
    // Official radius of the demo: sqrt(A / (pi x 3)).
    let expect = (r.region.as_ref().unwrap().area_km2 / (std::f64::consts::PI * 3.0)).sqrt();
    assert!((r.service_radius.as_ref().unwrap().official_km - expect).abs() < 1e-12);
}

fn ems(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(args)
        .output()
        .unwrap()
}

fn check_json_consistency(v: &serde_json::Value) {
    let region = &v["region"];
    for k in ["area_km2", "stations", "ambulances", "population"] {
        assert!(region[k].is_number(), "region.{k}: {region}");
    }
    let ids: Vec<&str> = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    for id in [
        "service_radius_km",
        "ambulances_per_30k",
        "detention_rate",
        "mean_response_min",
    ] {
        assert!(ids.contains(&id), "{id} missing");
    }
    for t in v["targets"].as_array().unwrap() {
        for k in ["id", "value", "threshold", "pass"] {
            assert!(t.get(k).is_some(), "target field {k}: {t}");
        }
    }
    let share = |x: &serde_json::Value| {
        if let Some(s) = x.as_f64() {
            assert!((0.0..=1.0).contains(&s), "share {s}");
        }
    };
    share(&v["service_radius"]["share_within_radius_by_road"]);
    share(&v["modelled_response"]["share_within_target"]);
    let resp = &v["response"];
    if !resp.is_null() {
        share(&resp["departure_3min_rate"]);
        let o = &resp["overall"];
        share(&o["share_within_target"]);
        let s = &o["summary"];
        let (mean, min, max) = (
            s["mean"].as_f64().unwrap(),
            s["min"].as_f64().unwrap(),
            s["max"].as_f64().unwrap(),
        );
        assert!(min <= mean && mean <= max);
        assert!(min <= s["median"].as_f64().unwrap() && s["p90"].as_f64().unwrap() <= max);
        let reached = resp["reached_scene"].as_u64().unwrap();
        assert_eq!(s["count"].as_u64().unwrap(), reached);
        let by_p: u64 = resp["by_priority"]
            .as_object()
            .unwrap()
            .values()
            .map(|g| g["summary"]["count"].as_u64().unwrap())
            .sum();
        assert_eq!(by_p, reached);
        let by_z: u64 = resp["by_zone"]
            .as_object()
            .unwrap()
            .values()
            .map(|g| g["summary"]["count"].as_u64().unwrap())
            .sum();
        assert_eq!(by_z, reached);
        for g in resp["by_zone"].as_object().unwrap().values() {
            share(&g["share_within_target"]);
        }
        let excluded = v["data_quality"]["response_out_of_order"]["count"]
            .as_u64()
            .unwrap();
        assert!(reached + excluded <= resp["incidents"].as_u64().unwrap());
        let d = &v["detention"];
        share(&d["rate"]);
        let arrivals = d["arrivals"].as_u64().unwrap();
        let per: u64 = d["per_hospital"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["arrivals"].as_u64().unwrap())
            .sum();
        assert_eq!(per, arrivals);
        assert!(d["detained"].as_u64().unwrap() <= arrivals);
    }
}

#[test]
fn demo_check_json_is_consistent() {
    let o = ems(&["check", "--format", "json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    check_json_consistency(&v);
    assert_eq!(v["targets_id"], "shanghai-2020");
    // The demo log is synthetic with deliberate errors: the data-quality section shows them.
    assert!(
        v["data_quality"]["response_out_of_order"]["count"]
            .as_u64()
            .unwrap()
            > 0
    );
    assert!(v["response"]["reached_scene"].as_u64().unwrap() > 3000);

    let o = ems(&[
        "check",
        "--format",
        "json",
        "--targets",
        "china-2020-national",
    ]);
    let n: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let radius = n["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "service_radius_km")
        .unwrap();
    assert_eq!(radius["threshold"], 5.0);
    let det = n["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "detention_rate")
        .unwrap();
    assert!(det["pass"].is_null(), "no national detention target: {det}");
}

#[test]
fn text_and_html_reports() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("check.html");
    let o = ems(&["check", "--html", html.to_str().unwrap()]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for section in [
        "急救站点平均服务半径",
        "Mean response time",
        "1. Service radius",
        "2. Ambulances",
        "3. Detention",
        "4. Response time",
        "5. Modelled",
        "6. Data quality",
    ] {
        assert!(text.contains(section), "{section} missing:\n{text}");
    }
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert_eq!(
        page.matches("<svg").count(),
        4,
        "map + handover per hospital + two histograms"
    );
    assert!(page.contains("Handover per hospital"), "{page}");
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http"),
        "self-contained"
    );
    assert!(!page.contains("<script"));
}

#[test]
fn bad_check_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, format!("{HEAD}a,2024-05-01 10:00:00,,,,,,1,,,7.42,43.73,\nb,2024-13-01 10:00:00,,,,,,1,,,7.42,43.73,\n")).unwrap();
    let o = ems(&["check", "--incidents", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.csv:3: field `call_received`"), "{err}");
    // With --skip-invalid the row is counted and listed, not dropped silently.
    let o = ems(&[
        "check",
        "--incidents",
        bad.to_str().unwrap(),
        "--skip-invalid",
        "--format",
        "json",
    ]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["data_quality"]["rows"], 2);
    assert_eq!(v["data_quality"]["invalid_rows"][0]["line"], 3);
    let o = ems(&["check", "--targets", "mars-2030"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a preset"));
}
