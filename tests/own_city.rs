//! Issue #11: numbers that cannot be silently wrong. Reversed rings give the same area, radius
//! and check; holes count; stations without ambulances, points off the road map and calls
//! outside the region are reported and left out; a run with no call on the map is an error.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ems::model::Scenario;
use ems::network::TravelModel;
use serde_json::Value;

fn ems(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(args)
        .output()
        .expect("run ems")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo")
}

/// The demo scenario in `dir`, with `file` replaced by `text`.
fn demo_with(dir: &Path, replace: &[(&str, String)]) -> PathBuf {
    let mut toml = common::demo_toml();
    for (file, text) in replace {
        let to = dir.join(file);
        std::fs::write(&to, text).unwrap();
        toml = toml.replace(
            &format!("{:?}", demo_dir().join(file).display().to_string()),
            &format!("{:?}", to.display().to_string()),
        );
    }
    let path = dir.join("scenario.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

/// Every ring of every polygon in a GeoJSON FeatureCollection, reversed.
fn reverse_rings(text: &str) -> String {
    let mut v: Value = serde_json::from_str(text).unwrap();
    for f in v["features"].as_array_mut().unwrap() {
        let g = &mut f["geometry"];
        let polys: Vec<&mut Value> = match g["type"].as_str().unwrap() {
            "Polygon" => vec![&mut g["coordinates"]],
            "MultiPolygon" => g["coordinates"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .collect(),
            _ => vec![],
        };
        for p in polys {
            for ring in p.as_array_mut().unwrap() {
                ring.as_array_mut().unwrap().reverse();
            }
        }
    }
    v.to_string()
}

fn check_json(scenario: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "check",
        "--scenario",
        scenario.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = ems(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Numbers equal to 1e-9 relative, everything else exactly.
fn assert_close(a: &Value, b: &Value, path: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                "{path}: {x} vs {y}"
            );
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}");
            for (k, (p, q)) in x.iter().zip(y).enumerate() {
                assert_close(p, q, &format!("{path}[{k}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{path}"
            );
            for (k, p) in x {
                assert_close(p, &y[k], &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}

/// Reversing every ring of the boundary and of the demand polygons changes nothing: the same
/// area, the same official radius, the same check.
#[test]
fn reversed_rings_give_the_same_area_radius_and_check() {
    let dir = tempfile::tempdir().unwrap();
    let read = |f: &str| std::fs::read_to_string(demo_dir().join(f)).unwrap();
    let original = demo_with(dir.path(), &[]);
    let reversed = demo_with(
        dir.path(),
        &[
            ("boundary.geojson", reverse_rings(&read("boundary.geojson"))),
            ("demand.geojson", reverse_rings(&read("demand.geojson"))),
        ],
    );
    let a = Scenario::load(&original).unwrap();
    let b = Scenario::load(&reversed).unwrap();
    assert!((a.area_km2() - 2.39).abs() < 0.01, "{}", a.area_km2());
    assert!((a.area_km2() - b.area_km2()).abs() < 1e-9 * a.area_km2());
    for (za, zb) in a.demand.iter().zip(&b.demand) {
        assert_eq!(za.lon_lat, zb.lon_lat, "{}", za.id);
    }
    let (ja, jb) = (check_json(&original, &[]), check_json(&reversed, &[]));
    assert_close(&ja, &jb, "check");
    let radius = |j: &Value| j["service_radius"]["official_km"].as_f64().unwrap();
    assert!((radius(&ja) - 0.504).abs() < 0.001);
}

/// A demand zone with a hole: the hole's area is not the zone's, and an incident in the hole
/// is not assigned to the zone.
#[test]
fn a_polygon_with_a_hole() {
    let outer = [
        [7.40, 43.72],
        [7.45, 43.72],
        [7.45, 43.76],
        [7.40, 43.76],
        [7.40, 43.72],
    ];
    let hole = [
        [7.42, 43.73],
        [7.42, 43.74],
        [7.43, 43.74],
        [7.43, 43.73],
        [7.42, 43.73],
    ];
    let zone = |rings: Value| {
        format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","geometry":{{"type":"Polygon","coordinates":{rings}}},"properties":{{"id":"z","population":100}}}}]}}"#
        )
    };
    let with =
        ems::model::parse_demand_zones(&zone(serde_json::json!([outer, hole])), "h").unwrap();
    let without = ems::model::parse_demand_zones(&zone(serde_json::json!([outer])), "h").unwrap();
    let area = |z: &ems::model::DemandZone| {
        ems::spatial::polygon::multi_area_m2(z.polygon.as_ref().unwrap())
    };
    let inner = ems::model::parse_boundary(&zone(serde_json::json!([hole])), "h").unwrap();
    let h = inner.area_km2() * 1e6;
    assert!(h > 8e5 && h < 9e5, "{h}");
    assert!((area(&without[0]) - area(&with[0]) - h).abs() < 1e-6 * area(&without[0]));
    let region = ems::model::Region {
        boundary: with[0].polygon.clone().unwrap(),
    };
    use geo::Contains;
    assert!(!region.boundary.contains(&geo::Point::new(7.425, 43.735)));
    assert!(region.boundary.contains(&geo::Point::new(7.41, 43.735)));
}

/// Bad polygons name the file, the feature and what is wrong.
#[test]
fn invalid_polygons_name_the_file_and_feature() {
    let fc = |coords: &str| {
        format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","geometry":{{"type":"Polygon","coordinates":[{coords}]}},"properties":{{"id":"bad","population":1}}}}]}}"#
        )
    };
    let bowtie = fc("[[7.40,43.72],[7.45,43.76],[7.45,43.72],[7.40,43.76],[7.40,43.72]]");
    let e = ems::model::parse_demand_zones(&bowtie, "zones.geojson")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("zones.geojson: feature 0 (id bad): field `geometry`")
            && e.contains("self-intersection"),
        "{e}"
    );
    let open = fc("[[7.40,43.72],[7.45,43.72],[7.45,43.76],[7.40,43.76]]");
    let e = ems::model::parse_boundary(&open, "b.geojson")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("b.geojson: feature 0") && e.contains("not closed"),
        "{e}"
    );
}

/// A station with no ambulance is reported and left out of the service radius and the
/// nearest-station figures; with none staffed, the check says so.
#[test]
fn stations_without_ambulances_are_reported_and_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let stations = std::fs::read_to_string(demo_dir().join("stations.geojson")).unwrap();
    let mut v: Value = serde_json::from_str(&stations).unwrap();
    let id = v["features"][1]["properties"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    v["features"][1]["properties"]["ambulances"] = 0.into();
    let path = demo_with(dir.path(), &[("stations.geojson", v.to_string())]);
    let j = check_json(&path, &[]);
    assert_eq!(j["region"]["stations"], 2, "{}", j["region"]);
    assert_eq!(
        j["data_quality"]["unstaffed_stations"],
        serde_json::json!([id])
    );
    let official = j["service_radius"]["official_km"].as_f64().unwrap();
    assert!((official - (2.39 / (std::f64::consts::PI * 2.0)).sqrt()).abs() < 0.005);
    for z in j["modelled_response"]["zones"].as_array().unwrap() {
        assert_ne!(z["station"].as_str().unwrap(), id, "{z}");
    }
    let text = ems(&["check", "--scenario", path.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&text.stdout).contains(&format!(
        "stations with no ambulance, not counted as stations (radius, nearest station): {id}"
    )));
    // The station may still receive ambulances in a placement.
    let o = ems(&[
        "optimize",
        "--scenario",
        path.to_str().unwrap(),
        "--model",
        "mexclp",
        "--fleet",
        "3",
        "--busy",
        "0.2",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let p: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        p["plan"]["candidates"], 3,
        "the unstaffed station stays a candidate site"
    );
    // No staffed station at all: a clear error.
    for f in v["features"].as_array_mut().unwrap() {
        f["properties"]["ambulances"] = 0.into();
    }
    let path = demo_with(dir.path(), &[("stations.geojson", v.to_string())]);
    let o = ems(&["check", "--scenario", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no station with an ambulance"),
        "{}",
        stderr(&o)
    );
}

/// A hospital far off the road is reported by `check` (with its distance) and left out by
/// `simulate` instead of breaking it.
#[test]
fn an_unsnappable_hospital_is_reported_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let hospitals = std::fs::read_to_string(demo_dir().join("hospitals.geojson")).unwrap();
    let mut v: Value = serde_json::from_str(&hospitals).unwrap();
    let id = v["features"][1]["properties"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    v["features"][1]["geometry"]["coordinates"] = serde_json::json!([7.43, 43.60]);
    let path = demo_with(dir.path(), &[("hospitals.geojson", v.to_string())]);
    let j = check_json(&path, &[]);
    let off = &j["data_quality"]["off_map"];
    assert_eq!(off[0]["kind"], "hospital", "{off}");
    assert_eq!(off[0]["id"], id.as_str());
    assert!(off[0]["distance_m"].as_f64().unwrap() > 10_000.0, "{off}");
    let p = path.to_str().unwrap();
    let o = ems(&[
        "simulate",
        "--scenario",
        p,
        "--days",
        "20",
        "--replications",
        "2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("warning: hospital `{id}` is"))
            && stderr(&o).contains("m from the nearest road"),
        "{}",
        stderr(&o)
    );
    let o = ems(&["optimize", "--scenario", p, "--add", "1"]);
    assert!(o.status.success() && stderr(&o).contains(&format!("hospital `{id}`")));
}

/// A log of calls elsewhere (Montgomery County, Pennsylvania) against the Monaco scenario:
/// the check, the simulator and the optimizer refuse it with the reason instead of printing
/// empty or NaN figures; calls outside the region in a mixed log are counted and left out.
#[test]
fn calls_off_the_map_are_errors_or_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let header = ems::model::incidents::COLUMNS.join(",");
    let row = |id: usize, lon: f64, lat: f64| {
        format!(
            "{id},2024-03-01T10:00:00+01:00,2024-03-01T10:01:00+01:00,2024-03-01T10:02:00+01:00,2024-03-01T10:09:00+01:00,,,2,condamine-1,,{lon},{lat},,"
        )
    };
    let pa: Vec<String> = (0..30)
        .map(|k| row(k, -75.38 + k as f64 * 0.001, 40.09))
        .collect();
    let pa_log = dir.path().join("pa.csv");
    std::fs::write(&pa_log, format!("{header}\n{}\n", pa.join("\n"))).unwrap();
    let p = pa_log.to_str().unwrap();
    let o = ems(&["check", "--incidents", p]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("none of the 30 calls in the log lies inside the region")
            && e.contains("lon -75.380"),
        "{e}"
    );
    let o = ems(&["simulate", "--calls", p]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("none of the 30 calls"),
        "{}",
        stderr(&o)
    );
    // The optimizer on such calls: an error, never "objective NaN ... proven optimal".
    let path = demo_with(
        dir.path(),
        &[("incidents.csv", std::fs::read_to_string(&pa_log).unwrap())],
    );
    let o = ems(&[
        "optimize",
        "--scenario",
        path.to_str().unwrap(),
        "--demand",
        "incidents",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    assert!(
        !out.contains("NaN") && out.contains("none of the 30 calls"),
        "{out}"
    );

    // A mixed log: the calls outside are counted, listed by line and left out.
    let mut mixed = pa[..5].to_vec();
    mixed.extend((0..10).map(|k| row(100 + k, 7.4200 + k as f64 * 0.0005, 43.7350)));
    let mixed_log = dir.path().join("mixed.csv");
    std::fs::write(&mixed_log, format!("{header}\n{}\n", mixed.join("\n"))).unwrap();
    let j = check_json(
        &demo_with(dir.path(), &[]),
        &["--incidents", mixed_log.to_str().unwrap()],
    );
    assert_eq!(j["data_quality"]["outside_region"]["count"], 5);
    assert_eq!(
        j["data_quality"]["outside_region"]["lines"],
        serde_json::json!([2, 3, 4, 5, 6])
    );
    assert_eq!(j["response"]["incidents"], 10);
    let o = ems(&[
        "simulate",
        "--calls",
        mixed_log.to_str().unwrap(),
        "--replications",
        "1",
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["calls_left_out"], 5);
    assert_eq!(s["calls_per_replication"]["mean"], 10.0);
}

/// Off-road ETAs: a station moved off the road costs its distance at the off-road speed.
#[test]
fn the_off_road_distance_is_in_the_eta() {
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let st = tm.snap(sc.stations[0].lon_lat).unwrap();
    let z = tm.snap(sc.demand[0].lon_lat).unwrap();
    let mut q = tm.query();
    let with = tm.eta(&mut q, &st, &z).unwrap();
    let road = TravelModel::for_map(
        sc.network.clone(),
        ems::network::TravelSettings {
            off_road_kmh: None,
            ..sc.travel.clone()
        },
    )
    .unwrap();
    let without = road.eta(&mut road.query(), &st, &z).unwrap();
    let walk_ms = ((st.distance_m + z.distance_m) * 3600.0 / 5.0).round();
    assert!((with.time_ms as f64 - without.time_ms as f64 - walk_ms).abs() <= 1.0);
}
