//! Issue #12: incident logs from other systems. The DataSF preset against an independent pandas
//! computation, the same log in four formats, Chinese coordinates against published pairs, the
//! Montgomery County feed (call times only), and bad input.

mod common;

use std::process::Command;

use ems::model::{self, LogOptions, Mapping, TimeZoneSpec};
use ems::spatial::china::Crs;
use serde_json::Value;

fn ems(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(args)
        .output()
        .expect("run ems")
}

fn json(args: &[&str]) -> Value {
    let o = ems(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).expect("JSON")
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-9 * b.abs().max(1.0),
        "{what}: ems {a} vs oracle {b}"
    );
}

/// (count, mean, median, P90) of a summary.
type Fig = (u64, f64, f64, f64);

fn summary(v: &Value, what: &str, want: Fig) {
    assert_eq!(v["count"].as_u64(), Some(want.0), "{what} count: {v}");
    close(v["mean"].as_f64().unwrap(), want.1, what);
    close(v["median"].as_f64().unwrap(), want.2, what);
    close(v["p90"].as_f64().unwrap(), want.3, what);
}

/// Figures computed by `tests/oracles/datasf.py` (pandas 3.1.1, CPython 3.11) from the raw
/// DataSF files, with every call type kept:
/// `python3 tests/oracles/datasf.py ../shared/data/cad-datasf-sample/FILE`.
struct Oracle {
    file: &'static str,
    rows: u64,
    ambulance_rows: u64,
    incidents: u64,
    without_ambulance: u64,
    other_unit_first: u64,
    transported: u64,
    response: Fig,
    call_handling: Fig,
    turnout: Fig,
    travel: Fig,
    scene: Fig,
    transport: Fig,
    wall_time: Fig,
    first_unit: Fig,
}

const ORACLE: [Oracle; 2] = [
    Oracle {
        file: "sffd_lone_mountain_2009.csv",
        rows: 4340,
        ambulance_rows: 332,
        incidents: 901,
        without_ambulance: 617,
        other_unit_first: 859,
        transported: 8,
        response: (144, 8.611458333333333, 7.775, 12.383333333333333),
        call_handling: (
            284,
            1.8586267605633804,
            1.5583333333333333,
            3.0700000000000016,
        ),
        turnout: (
            263,
            0.838149556400507,
            0.4166666666666667,
            2.2300000000000004,
        ),
        travel: (135, 5.914814814814814, 5.516666666666667, 8.87),
        scene: (8, 37.514583333333334, 37.79166666666667, 54.11333333333333),
        transport: (8, 12.814583333333333, 9.024999999999999, 24.99),
        wall_time: (8, 47.06458333333333, 42.80833333333334, 68.80833333333334),
        first_unit: (866, 4.520939183987683, 4.3, 6.308333333333334),
    },
    Oracle {
        file: "sffd_lone_mountain_2017.csv",
        rows: 865,
        ambulance_rows: 67,
        incidents: 173,
        without_ambulance: 112,
        other_unit_first: 168,
        transported: 1,
        response: (26, 8.574358974358974, 8.383333333333333, 11.841666666666667),
        call_handling: (
            61,
            1.9508196721311477,
            1.6666666666666667,
            3.2333333333333334,
        ),
        turnout: (
            58,
            0.325287356321839,
            0.16666666666666666,
            0.7283333333333339,
        ),
        travel: (26, 6.253846153846155, 6.241666666666667, 9.5),
        scene: (1, 40.21666666666667, 40.21666666666667, 40.21666666666667),
        transport: (1, 7.1, 7.1, 7.1),
        wall_time: (1, 32.35, 32.35, 32.35),
        first_unit: (169, 4.604832347140039, 4.383333333333334, 6.58333333333334),
    },
];

#[test]
fn issue_12_datasf_preset_matches_pandas() {
    for o in &ORACLE {
        let Some(path) = common::shared(&format!("cad-datasf-sample/{}", o.file)) else {
            return;
        };
        let v = json(&[
            "check",
            "--log-only",
            "--incidents",
            path.to_str().unwrap(),
            "--columns",
            "datasf",
            "--filter",
            "Call Type=*",
            "--format",
            "json",
        ]);
        // No row lost unexplained: every row is read, grouped into the incidents.
        assert_eq!(v["data_quality"]["rows"].as_u64(), Some(o.rows));
        assert_eq!(v["log"]["rows_read"].as_u64(), Some(o.rows));
        assert_eq!(v["data_quality"]["skipped"].as_array().unwrap().len(), 0);
        assert_eq!(
            v["data_quality"]["invalid_rows"].as_array().unwrap().len(),
            0
        );
        let m = &v["multi_unit"];
        assert_eq!(m["rows"]["rows"].as_u64(), Some(o.rows));
        assert_eq!(m["rows"]["ambulance_rows"].as_u64(), Some(o.ambulance_rows));
        assert_eq!(
            m["rows"]["other_rows"].as_u64(),
            Some(o.rows - o.ambulance_rows)
        );
        assert_eq!(m["incidents"].as_u64(), Some(o.incidents));
        assert_eq!(m["without_ambulance"].as_u64(), Some(o.without_ambulance));
        assert_eq!(m["other_unit_first"].as_u64(), Some(o.other_unit_first));
        summary(&m["first_unit_response_min"], "first unit", o.first_unit);
        let r = &v["response"];
        assert_eq!(r["incidents"].as_u64(), Some(o.incidents));
        summary(&r["overall"]["summary"], "response", o.response);
        summary(&r["call_handling_min"], "call handling", o.call_handling);
        summary(&r["turnout_min"], "turnout", o.turnout);
        summary(&r["travel_min"], "travel", o.travel);
        let t = &v["transport"];
        assert_eq!(t["transported"].as_u64(), Some(o.transported));
        summary(&t["scene_min"], "scene", o.scene);
        summary(&t["transport_min"], "transport", o.transport);
        let d = &v["detention"];
        summary(&d["wall_time_proxy"]["summary"], "wall time", o.wall_time);
        // DataSF has no transfer-of-care time: detention is not computed, the proxy stands in.
        let target = |id: &str| {
            v["targets"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["id"] == id)
                .unwrap()
                .clone()
        };
        assert!(target("detention_rate")["value"].is_null());
        close(
            target("mean_response_min")["value"].as_f64().unwrap(),
            o.response.1,
            "target",
        );
        let nc = v["not_computed"].as_array().unwrap();
        let dr = nc.iter().find(|n| n["figure"] == "detention_rate").unwrap();
        assert!(
            dr["why"].as_str().unwrap().contains("handover_complete"),
            "{dr}"
        );
        assert!(dr["instead"].as_str().unwrap().contains("proxy"), "{dr}");
        for f in ["service_radius_km", "ambulances_per_30k"] {
            assert!(nc.iter().any(|n| n["figure"] == f), "{f} in {nc:?}");
        }
        assert!(v["region"].is_null() && v["fleet"].is_null() && v["scenario"].is_null());
    }
}

#[test]
fn issue_12_datasf_default_filter_counts_what_it_leaves_out() {
    let Some(path) = common::shared("cad-datasf-sample/sffd_lone_mountain_2009.csv") else {
        return;
    };
    let p = path.to_str().unwrap();
    // The preset keeps medical incidents; these extracts hold fire calls only.
    let o = ems(&[
        "check",
        "--log-only",
        "--incidents",
        p,
        "--columns",
        "datasf",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("sffd_lone_mountain_2009.csv:2: field `Call Type`"),
        "{e}"
    );
    assert!(
        e.contains("the filters keep none of the 4340 rows (lines 2-4341)"),
        "{e}"
    );
    assert!(
        e.contains("4053 rows: `Call Type` is `Structure Fire`"),
        "{e}"
    );
    assert!(e.contains("287 rows: `Call Type` is `Outside Fire`"), "{e}");
    // Keeping one call type: the other is counted, with its first lines.
    let v = json(&[
        "check",
        "--log-only",
        "--incidents",
        p,
        "--columns",
        "datasf",
        "--filter",
        "Call Type=Structure Fire",
        "--format",
        "json",
    ]);
    let skipped = v["data_quality"]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0]["count"].as_u64(), Some(287));
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Outside Fire")
    );
    assert_eq!(skipped[0]["lines"].as_array().unwrap().len(), 5);
    assert_eq!(v["log"]["rows_read"].as_u64(), Some(4053));
    assert_eq!(v["multi_unit"]["rows"]["rows"].as_u64(), Some(4053));
}

fn check_json(file: &str, preset: &str) -> Value {
    json(&[
        "check",
        "--log-only",
        "--incidents",
        common::fixture(&format!("logs/{file}")).to_str().unwrap(),
        "--columns",
        preset,
        "--format",
        "json",
    ])
}

#[test]
fn issue_12_same_log_in_every_format() {
    // tests/fixtures/logs/make.py writes one log in four formats.
    let ours = check_json("same_ems.csv", "ems");
    let nemsis = check_json("same_nemsis.csv", "nemsis-v3");
    let china = check_json("same_china120.csv", "china-120");
    let nyc = check_json("same_nyc.csv", "nyc-ems");
    let response = |v: &Value| {
        let r = &v["response"];
        [
            r["overall"].clone(),
            r["call_handling_min"].clone(),
            r["turnout_min"].clone(),
            r["travel_min"].clone(),
            r["departure_3min_rate"].clone(),
        ]
    };
    for other in [&nemsis, &china, &nyc] {
        assert_eq!(response(other), response(&ours));
        assert_eq!(
            other["transport"]["scene_min"],
            ours["transport"]["scene_min"]
        );
        assert_eq!(
            other["transport"]["transport_min"],
            ours["transport"]["transport_min"]
        );
    }
    assert!(ours["response"]["overall"]["summary"]["count"].as_u64() == Some(7));
    // Handover, detention and the distribution: NEMSIS and China-120 have transfer of care.
    for other in [&nemsis, &china] {
        assert_eq!(other["detention"], ours["detention"]);
        assert_eq!(other["targets"], ours["targets"]);
    }
    assert_eq!(ours["detention"]["arrivals"].as_u64(), Some(5));
    assert_eq!(
        ours["data_quality"]["handover_out_of_order"]["count"].as_u64(),
        Some(1)
    );
    // Priorities and zones: China-120 grades map to ours; NYC has zones and severities.
    for other in [&china, &nyc] {
        assert_eq!(
            other["response"]["by_priority"],
            ours["response"]["by_priority"]
        );
        assert_eq!(other["response"]["by_zone"], ours["response"]["by_zone"]);
    }
    // NYC has no transfer of care: the detention is named as not computed.
    assert!(
        nyc["not_computed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["figure"] == "detention_rate")
    );
    // NEMSIS: one row per unit; the second units arrived later and did not transport.
    assert_eq!(
        nemsis["multi_unit"]["multi_unit_incidents"].as_u64(),
        Some(3)
    );
    assert_eq!(nemsis["multi_unit"]["rows"]["rows"].as_u64(), Some(10));

    // The China-120 points are GCJ-02: read back to WGS 84 they are the same points.
    let read = |file: &str, preset: &str| {
        let opts = LogOptions {
            mapping: Mapping::preset(preset).unwrap(),
            ..LogOptions::ems(TimeZoneSpec::default(), false)
        };
        model::read_log(&common::fixture(&format!("logs/{file}")), &opts).unwrap()
    };
    let a = read("same_ems.csv", "ems");
    let b = read("same_china120.csv", "china-120");
    assert_eq!(b.crs, Crs::Gcj02);
    assert_eq!(a.incidents.len(), b.incidents.len());
    for (x, y) in a.incidents.iter().zip(&b.incidents) {
        let d = metres(x.lon_lat.unwrap(), y.lon_lat.unwrap());
        // The fixture writes 7 decimals (1 cm); the conversion adds well under 1 m.
        assert!(d < 0.05, "{}: {d} m", x.id);
        assert_eq!(x.call_received, y.call_received);
        assert_eq!(x.handover_complete, y.handover_complete);
        assert_eq!(x.priority, y.priority);
    }
}

/// Great-circle distance, metres.
fn metres(a: [f64; 2], b: [f64; 2]) -> f64 {
    let r = 6_371_008.8;
    let (la1, la2) = (a[1].to_radians(), b[1].to_radians());
    let dla = la2 - la1;
    let dlo = (b[0] - a[0]).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * r * h.sqrt().asin()
}

/// WGS 84 → GCJ-02 pairs published in other projects' documentation and tests.
const PUBLISHED_GCJ: [([f64; 2], [f64; 2], &str); 3] = [
    (
        [116.404, 39.915],
        [116.410_244_499_169_38, 39.916_404_281_501_64],
        "a Rust GCJ-02 crate's reference-point test (public code, read via the search tool)",
    ),
    (
        [116.396135, 39.891082],
        [116.40237600938156, 39.89248436758296],
        "hwbuluo contrib coordinatetransform unit test (public code)",
    ),
    (
        [116.42079, 39.90105],
        [116.42703, 39.90245],
        "R package documentation, Beijing railway station (5 decimals, about 0.7 m)",
    ),
];

/// GCJ-02 → BD-09, published.
const PUBLISHED_BD: [([f64; 2], [f64; 2], &str); 1] = [(
    [116.404, 39.915],
    [116.410_369_493_710_29, 39.921_336_993_510_21],
    "a Rust GCJ-02 crate's gcj2bd reference-point test",
)];

/// Computed with two independent Python packages from PyPI: eviltransform 0.1.1
/// (`wgs2gcj`) and prcoords 1.0.2 (`wgs_bd`): `(name, WGS 84, GCJ-02, BD-09)`, lon/lat.
/// `(name, WGS 84, GCJ-02, BD-09)`.
type Pair = (&'static str, [f64; 2], [f64; 2], [f64; 2]);

const PYPI_PAIRS: [Pair; 8] = [
    (
        "Shanghai People's Square",
        [121.4737, 31.2304],
        [121.47822313586518, 31.228457704689244],
        [121.484781468503, 31.234310593689997],
    ),
    (
        "Beijing Tiananmen",
        [116.3975, 39.9087],
        [116.40374367837322, 39.91010352310999],
        [116.4101165864734, 39.91644274963076],
    ),
    (
        "Guangzhou",
        [113.2644, 23.1291],
        [113.26972968234823, 23.126423294599377],
        [113.27615075157122, 23.13271125723948],
    ),
    (
        "Chengdu",
        [104.0572, 30.6571],
        [104.05968966747251, 30.654664277380707],
        [104.06614764536081, 30.66082633937842],
    ),
    (
        "Urumqi",
        [87.6168, 43.8256],
        [87.61964999772701, 43.82680541352192],
        [87.62609977081571, 43.83294979479328],
    ),
    (
        "Harbin",
        [126.5349, 45.8038],
        [126.54094081969168, 45.80578180827476],
        [126.54755961849878, 45.81139597011796],
    ),
    (
        "Lhasa",
        [91.1721, 29.652],
        [91.1735673966632, 29.64921044693944],
        [91.18005967492859, 29.65526415629464],
    ),
    (
        "Sanya",
        [109.5119, 18.2528],
        [109.5159843639854, 18.251094762861612],
        [109.52253179173881, 18.256876553759117],
    ),
];

#[test]
fn issue_12_gcj02_and_bd09_within_a_metre_of_reference_pairs() {
    for (wgs, gcj, from) in PUBLISHED_GCJ {
        let d = metres(Crs::Gcj02.from_wgs84(wgs), gcj);
        assert!(d < 1.0, "{from}: forward {d} m");
        let d = metres(Crs::Gcj02.to_wgs84(gcj), wgs);
        assert!(d < 1.0, "{from}: inverse {d} m");
    }
    for (gcj, bd, from) in PUBLISHED_BD {
        // BD-09 of a GCJ-02 point: our WGS 84 → BD-09 from the WGS 84 of that point.
        let wgs = Crs::Gcj02.to_wgs84(gcj);
        let d = metres(Crs::Bd09.from_wgs84(wgs), bd);
        assert!(d < 1.0, "{from}: {d} m");
        let d = metres(Crs::Bd09.to_wgs84(bd), wgs);
        assert!(d < 1.0, "{from}: inverse {d} m");
    }
    for (name, wgs, gcj, bd) in PYPI_PAIRS {
        for (crs, there) in [(Crs::Gcj02, gcj), (Crs::Bd09, bd)] {
            let d = metres(crs.from_wgs84(wgs), there);
            assert!(d < 1.0, "{name} {crs}: forward {d} m");
            let d = metres(crs.to_wgs84(there), wgs);
            assert!(d < 1.0, "{name} {crs}: inverse {d} m");
            // The offset itself is hundreds of metres: the test can tell.
            assert!(metres(wgs, there) > 100.0, "{name} {crs}");
        }
    }
}

#[test]
fn issue_12_chinese_coordinates_round_trip() {
    // A grid over China's bounding box: WGS 84 → system → WGS 84 within a millimetre.
    for i in 0..40 {
        for j in 0..30 {
            let p = [73.7 + i as f64 * 1.5, 18.2 + j as f64 * 1.2];
            for crs in [Crs::Gcj02, Crs::Bd09] {
                let back = crs.to_wgs84(crs.from_wgs84(p));
                let d = metres(p, back);
                assert!(d < 1e-3, "{crs} at {p:?}: {d} m");
            }
        }
    }
    // Abroad the offset is zero, as in every published implementation.
    assert_eq!(Crs::Gcj02.from_wgs84([7.42, 43.73]), [7.42, 43.73]);
}

#[test]
fn issue_12_montco_feed_is_call_times_only() {
    let Some(path) = common::shared("ems-incidents-montco-pa/911_subset.csv") else {
        return;
    };
    let mapping = common::fixture("logs/montco.toml");
    let args = [
        "check",
        "--log-only",
        "--incidents",
        path.to_str().unwrap(),
        "--columns",
        mapping.to_str().unwrap(),
    ];
    let o = ems(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("CALL TIMES ONLY"), "{text}");
    assert!(
        text.contains("mean_response_min: this log has no column for `on_scene`"),
        "{text}"
    );
    let mut with_json = args.to_vec();
    with_json.extend(["--format", "json"]);
    let v = json(&with_json);
    assert_eq!(v["log"]["call_times_only"], true);
    // The EMS calls of the feed; Fire and Traffic calls are counted by title.
    assert_eq!(v["log"]["read_incidents"].as_u64(), Some(1155));
    let left: u64 = v["data_quality"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["count"].as_u64().unwrap())
        .sum();
    assert_eq!(left, 351 + 1545);
    // Nothing empty is printed as a result: every figure is null and named.
    for t in v["targets"].as_array().unwrap() {
        assert!(t["value"].is_null(), "{t}");
    }
    assert!(v["response"]["overall"].is_null());
    let named: Vec<&str> = v["not_computed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["figure"].as_str().unwrap())
        .collect();
    for f in [
        "mean_response_min",
        "departure_3min_rate",
        "detention_rate",
        "transport_min",
        "service_radius_km",
    ] {
        assert!(named.contains(&f), "{f} not in {named:?}");
    }
}

#[test]
fn issue_12_call_times_only_with_a_scenario_falls_back_to_the_model() {
    // The demo's own log read with a mapping that keeps only the call columns.
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("calls.toml");
    std::fs::write(
        &m,
        "name = \"calls only\"\n[fields]\nid = \"id\"\ncall_received = \"call_received\"\npriority = \"priority\"\nlon = \"lon\"\nlat = \"lat\"\n",
    )
    .unwrap();
    let log = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/incidents.csv");
    let v = json(&[
        "check",
        "--incidents",
        log.to_str().unwrap(),
        "--columns",
        m.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(v["log"]["call_times_only"], true);
    let mean = v["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == "mean_response_min")
        .unwrap();
    assert_eq!(mean["source"], "model");
    assert!(mean["value"].as_f64().unwrap() > 0.0);
    let nc = v["not_computed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["figure"] == "mean_response_min")
        .unwrap();
    assert!(nc["instead"].as_str().unwrap().contains("modelled"), "{nc}");
    let o = ems(&[
        "check",
        "--incidents",
        log.to_str().unwrap(),
        "--columns",
        m.to_str().unwrap(),
    ]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("CALL TIMES ONLY"), "{text}");
    assert!(
        text.contains("instead: the modelled response time"),
        "{text}"
    );
}

#[test]
fn issue_12_bad_input_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let run = |args: &[&str]| {
        let o = ems(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(!e.contains("panicked"), "{e}");
        e
    };
    // A mapping that names a column the file lacks.
    let nemsis = write(
        "n.csv",
        "eResponse.03,eResponse.13,eTimes.01,eTimes.06\nA,U1,2024-05-06T08:00:00+08:00,2024-05-06T08:09:00+08:00\n",
    );
    let e = run(&[
        "check",
        "--log-only",
        "--incidents",
        &nemsis,
        "--columns",
        "nemsis-v3",
    ]);
    assert!(
        e.contains("n.csv:1: field `dispatched`: missing column `eTimes.03`"),
        "{e}"
    );
    assert!(e.contains("the file has: eResponse.03"), "{e}");
    // A time that does not parse.
    let china = write(
        "c.csv",
        "事件编号,受理时间,派车时间,出车时间,到达现场时刻,车辆编号,经度,纬度\nA,2024-05-06 08:00:00,2024-05-06 08:01:00,2024-05-06 08:02:00,2024-05-06 08:09:00,SH-1,121.47,31.23\nB,2024-05-06 09:00:00,明天,2024-05-06 09:02:00,2024-05-06 09:09:00,SH-2,121.47,31.23\n",
    );
    let e = run(&[
        "check",
        "--log-only",
        "--incidents",
        &china,
        "--columns",
        "china-120",
    ]);
    assert!(
        e.contains("c.csv:3: field `dispatched`: column `派车时间`: `明天` is not a timestamp"),
        "{e}"
    );
    // A filter that keeps nothing names the lines and the column, with what it saw.
    let e = run(&[
        "check",
        "--log-only",
        "--incidents",
        &china,
        "--columns",
        "china-120",
        "--filter",
        "车辆编号=SH-9",
    ]);
    assert!(
        e.contains("c.csv:2: field `车辆编号`: the filters keep none of the 2 rows (lines 2-3)"),
        "{e}"
    );
    // With --skip-invalid the bad row is counted and listed, the rest is read.
    let o = ems(&[
        "check",
        "--log-only",
        "--incidents",
        &china,
        "--columns",
        "china-120",
        "--skip-invalid",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["data_quality"]["invalid_rows"][0]["line"].as_u64(),
        Some(3)
    );
    assert_eq!(v["log"]["read_incidents"].as_u64(), Some(1));
    // A mapping file that does not parse, or contradicts itself.
    let bad = write("bad.toml", "name = \"x\"\n[fields]\nlon = \"x\"\n");
    let e = run(&[
        "check",
        "--log-only",
        "--incidents",
        &china,
        "--columns",
        &bad,
    ]);
    assert!(e.contains("bad.toml: mapping:"), "{e}");
    assert!(e.contains("call_received"), "{e}");
    let e = run(&[
        "check",
        "--log-only",
        "--incidents",
        &china,
        "--columns",
        "nope",
    ]);
    assert!(e.contains("neither a preset"), "{e}");
    // --log-only uses no scenario.
    let e = run(&[
        "check",
        "--log-only",
        "--scenario",
        "x.toml",
        "--incidents",
        &china,
    ]);
    assert!(e.contains("cannot be used with"), "{e}");
    let e = run(&["check", "--log-only"]);
    assert!(e.contains("--incidents"), "{e}");
    // A bad coordinate system or filter is refused by clap, naming the option.
    let e = run(&[
        "check",
        "--log-only",
        "--incidents",
        &china,
        "--crs",
        "mars2",
    ]);
    assert!(e.contains("--crs"), "{e}");
}

#[test]
fn issue_12_points_off_the_region_suggest_the_coordinate_system() {
    // Calls whose true position is inside a small square in Shanghai, written in BD-09 and read
    // as WGS 84: most fall outside, and the hint names BD-09.
    let inside =
        |p: [f64; 2]| (121.470..121.480).contains(&p[0]) && (31.225..31.235).contains(&p[1]);
    let mut calls = Vec::new();
    for k in 0..50 {
        let wgs = [
            121.4705 + (k % 10) as f64 * 0.0009,
            31.2255 + (k / 10) as f64 * 0.0018,
        ];
        let t = chrono::DateTime::parse_from_rfc3339("2024-05-06T08:00:00+08:00").unwrap();
        calls.push(model::Incident::call(
            k.to_string(),
            t,
            1,
            Crs::Bd09.from_wgs84(wgs),
        ));
    }
    let hint = model::placement::coordinate_hint(&inside, &calls, Crs::Wgs84)
        .expect("a hint")
        .to_string();
    assert!(
        hint.contains("read as BD-09 (--crs bd09), 100 % would fall inside"),
        "{hint}"
    );
    // Read correctly, no hint.
    for c in &mut calls {
        c.lon_lat = c.lon_lat.map(|p| Crs::Bd09.to_wgs84(p));
    }
    assert_eq!(
        model::placement::coordinate_hint(&inside, &calls, Crs::Wgs84),
        None
    );
}

#[test]
fn issue_12_log_only_html_shows_the_handover_per_hospital() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("log.html");
    let o = ems(&[
        "check",
        "--log-only",
        "--incidents",
        common::fixture("logs/same_china120.csv").to_str().unwrap(),
        "--columns",
        "china-120",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Handover per hospital"));
    assert!(page.contains("Wall-time proxy per hospital"));
    // One row per hospital in the distribution: ruijin and zhongshan.
    assert!(
        page.contains(">ruijin</text>") && page.contains(">zhongshan</text>"),
        "{page}"
    );
    assert!(page.contains("Not computed"));
    assert!(
        !page.contains("<script") && !page.contains("src=\"http") && !page.contains("href=\"http")
    );
}

#[test]
fn issue_12_every_command_that_reads_a_log_takes_columns() {
    let nemsis = common::fixture("logs/same_nemsis.csv");
    let n = nemsis.to_str().unwrap();
    // Shanghai calls against the Monaco demo: refused, saying where both are.
    for args in [
        vec![
            "simulate",
            "--calls",
            n,
            "--columns",
            "nemsis-v3",
            "--replications",
            "1",
        ],
        vec![
            "optimize",
            "--demand",
            "incidents",
            "--incidents",
            n,
            "--columns",
            "nemsis-v3",
        ],
        vec!["check", "--incidents", n, "--columns", "nemsis-v3"],
    ] {
        let o = ems(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("none of the 7 calls in the log lies inside the region"),
            "{e}"
        );
    }
    // The demo's log through the explicit `ems` preset: the busy fraction from it.
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/incidents.csv");
    let o = ems(&[
        "optimize",
        "--model",
        "mexclp",
        "--incidents",
        demo.to_str().unwrap(),
        "--columns",
        "ems",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("from the incident log"));
    // Log options without a log are refused.
    let o = ems(&["check", "--columns", "datasf"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--incidents FILE"));
}

/// Nothing panics: random bytes, and random rows under each preset's own header, give a log or
/// an error, never a panic.
#[test]
fn issue_12_no_panic_on_random_input() {
    use ems::model::incidents::mapping::PRESETS;
    let mut rng = proptest::test_runner::TestRng::deterministic_rng(
        proptest::test_runner::RngAlgorithm::ChaCha,
    );
    use rand::RngExt;
    let pieces = [
        "",
        "1",
        "-1",
        "0",
        "E",
        "3",
        "2024-05-06 08:00:00",
        "05/06/2024 08:00:00 AM",
        "2024-05-06T08:00:00+08:00",
        "(37.77, -122.42)",
        "POINT (-122.4 37.7)",
        "31.23,121.47",
        "121.47",
        "999",
        "NaN",
        "inf",
        "MEDIC",
        "ENGINE",
        "Medical Incident",
        "一级",
        "Ⅰ级",
        "\"a,b\"",
        "明天",
        " ",
        "x",
    ];
    for (name, _) in PRESETS {
        let m = Mapping::preset(name).unwrap();
        // Each column the preset names, with a value its field accepts (the quoted strings of
        // each source's Debug form are its column names).
        // Later rules win on a shared column (a filter's value over a field's).
        let mut good: std::collections::BTreeMap<String, String> = Default::default();
        for (field, src) in &m.fields {
            let value = match field.as_str() {
                "call_received" | "dispatched" | "departed" | "on_scene" | "left_scene"
                | "at_hospital" | "handover_complete" | "available" => "2024-05-06T08:00:00+08:00",
                "lon" | "start_lon" => "121.47",
                "lat" | "start_lat" => "31.23",
                "location" => "(31.23, 121.47)",
                "priority" => "1",
                _ => "A",
            };
            for col in format!("{src:?}").split('"').skip(1).step_by(2) {
                good.insert(col.to_string(), value.to_string());
            }
        }
        if let Some(g) = &m.group_by {
            good.insert(g.clone(), "A".into());
        }
        if let Some(a) = &m.ambulances {
            good.insert(a.column.clone(), a.values[0].clone());
        }
        for f in &m.filters {
            good.insert(
                f.column.clone(),
                f.keep.first().cloned().unwrap_or_default(),
            );
        }
        good.insert("extra".into(), "x".into());
        let good: Vec<(String, String)> = good.into_iter().collect();
        let cols: Vec<String> = good.iter().map(|g| g.0.clone()).collect();
        let mut read = 0;
        for _ in 0..200 {
            let mut text = cols.join(",");
            text.push('\n');
            for _ in 0..rng.random_range(0..6) {
                // Mostly good values, some random pieces, sometimes a column more.
                let row: Vec<&str> = (0..cols.len() + rng.random_range(0..2))
                    .map(|k| match good.get(k) {
                        Some(g) if rng.random_bool(0.9) => g.1.as_str(),
                        _ => pieces[rng.random_range(0..pieces.len())],
                    })
                    .collect();
                text.push_str(&row.join(","));
                text.push('\n');
            }
            for skip_invalid in [false, true] {
                let opts = LogOptions {
                    mapping: m.clone(),
                    skip_invalid,
                    ..LogOptions::ems(TimeZoneSpec::default(), false)
                };
                if let Ok(log) = model::parse_log(text.as_bytes(), "r.csv", &opts) {
                    read += log.incidents.len();
                }
            }
        }
        // The rows do reach the incidents (the test is not only about errors).
        assert!(read > 0, "{name}: no random row was read");
        // Random bytes.
        for _ in 0..100 {
            let bytes: Vec<u8> = (0..rng.random_range(0..300))
                .map(|_| rng.random())
                .collect();
            let opts = LogOptions {
                mapping: m.clone(),
                ..LogOptions::ems(TimeZoneSpec::default(), true)
            };
            let _ = model::parse_log(&bytes[..], "r.csv", &opts);
        }
    }
}
