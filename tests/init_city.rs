//! Issue #11: `ems init` makes a scenario folder from real GIS inputs, and `check`, `optimize`
//! and `simulate` run on it unchanged.

mod common;

use std::path::Path;
use std::process::{Command, Output};

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

fn ok(args: &[&str]) -> String {
    let o = ems(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The JEMSS Auckland city model as a planner would bring it: the OSM roads (XML, main roads
/// only), the region border (a zipped Shapefile with clockwise outer rings, as Shapefiles
/// have them), the stations and hospitals (CSV with a title line) and the population density
/// raster (a zipped GeoTIFF, residents per km²).
///
/// Independent figures, computed with Python 3.11 on the same files (pyshp 3.1.6, shapely
/// 2.2.0, pyproj 3.7.2, tifffile 2026.3.3):
/// - area: `pyproj.Geod(ellps="WGS84").geometry_area_perimeter(shape(border))` = 5,292.8286 km²;
/// - residents: Σ density × the pixel's geodesic area (per row, `Geod.polygon_area_perimeter`)
///   over pixels whose centre `shapely.contains_xy` puts inside the border = 1,416,645.96.
#[test]
fn init_on_the_jemss_auckland_model_then_check_optimize_simulate() {
    let Some(a) = common::shared("jemss-auckland") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("auckland");
    let p = |rel: &str| a.join(rel).display().to_string();
    let stdout = ok(&[
        "init",
        out.to_str().unwrap(),
        "--map",
        &p("data/roads/osm_2017/auckland_main_roads_tertiary+.osm"),
        "--boundary",
        &p("data/border/auckland_border.zip"),
        "--stations",
        &p("models/1/stations/stations_1.csv"),
        "--hospitals",
        &p("models/1/hospitals/hospitals_1.csv"),
        "--csv-skip-rows",
        "1",
        "--population-raster",
        &p("data/population_density/census_2013/rasters/auckland-pop-densit-40m.zip"),
        "--raster-density",
        "per-km2",
        "--ambulances-per-station",
        "2",
        // JEMSS's own off-road model: 47 km/h from any point to the graph (travel_1.csv).
        "--off-road-kmh",
        "47",
        "--snap-limit",
        "10000",
        "--timezone",
        "Pacific/Auckland",
    ]);
    assert!(
        stdout.contains("14 stations with 28 ambulances, 4 hospitals"),
        "{stdout}"
    );
    for f in [
        "scenario.toml",
        "map.ems",
        "boundary.geojson",
        "stations.geojson",
        "hospitals.geojson",
        "demand.geojson",
        "ASSUMPTIONS.md",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let assumptions = std::fs::read_to_string(out.join("ASSUMPTIONS.md")).unwrap();
    for says in [
        "residents per km²",
        "auckland_border",
        "emergency only, at 4 hospitals",
        "47 km/h",
        "Pacific/Auckland",
    ] {
        assert!(assumptions.contains(says), "{says}: {assumptions}");
    }
    let scenario = out.join("scenario.toml");
    let s = scenario.to_str().unwrap();
    let sc = ems::model::Scenario::load(&scenario).unwrap();
    let area = sc.area_km2();
    assert!((area - 5292.8286).abs() < 0.005 * 5292.8286, "area {area}");
    let residents = sc.population();
    assert!(
        (residents - 1_416_645.96).abs() < 0.005 * 1_416_645.96,
        "residents {residents}"
    );
    let ids: Vec<&str> = sc.hospitals.iter().map(|h| h.name.as_str()).collect();
    assert!(ids.contains(&"Middlemore Hospital"), "{ids:?}");

    let check: Value =
        serde_json::from_str(&ok(&["check", "--scenario", s, "--format", "json"])).unwrap();
    assert!((check["region"]["area_km2"].as_f64().unwrap() - area).abs() < 1e-9);
    let radius = check["service_radius"]["official_km"].as_f64().unwrap();
    assert!((radius - (area / (std::f64::consts::PI * 14.0)).sqrt()).abs() < 1e-9);
    let mean = check["modelled_response"]["summary"]["mean"]
        .as_f64()
        .unwrap();
    assert!(mean > 3.0 && mean < 30.0, "{mean}");

    let plan: Value = serde_json::from_str(&ok(&[
        "optimize",
        "--scenario",
        s,
        "--add",
        "2",
        "--time-limit",
        "8",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(plan["plan"]["new_sites"].as_array().unwrap().len(), 2);
    let (before, after) = (
        plan["plan"]["mean_response_before_min"].as_f64().unwrap(),
        plan["plan"]["mean_response_after_min"].as_f64().unwrap(),
    );
    assert!(after < before, "{before} -> {after}");

    let sim: Value = serde_json::from_str(&ok(&[
        "simulate",
        "--scenario",
        s,
        "--days",
        "2",
        "--replications",
        "2",
        "--format",
        "json",
    ]))
    .unwrap();
    assert!(
        sim["calls_per_replication"]["mean"].as_f64().unwrap() > 100.0,
        "{sim}"
    );
}

/// An extract with no buildings and no ambulance stations (the JEMSS roads, main roads only):
/// exit 2 with a message saying what to pass, not an empty scenario.
#[test]
fn init_without_stations_says_what_to_pass() {
    let Some(a) =
        common::shared("jemss-auckland/data/roads/osm_2017/auckland_main_roads_tertiary+.osm")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let o = ems(&[
        "init",
        out.to_str().unwrap(),
        "--map",
        a.to_str().unwrap(),
        "--population",
        "100000",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("no emergency=ambulance_station") && e.contains("--stations FILE"),
        "{e}"
    );
    assert!(!out.join("scenario.toml").exists());
    // Without a demand source, the message lists the three.
    let o = ems(&["init", out.to_str().unwrap(), "--map", a.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("--population N") && e.contains("--population-raster") && e.contains("--zones"),
        "{e}"
    );
    // With stations but no buildings, residents go over road length, with a warning.
    let j = common::shared("jemss-auckland/models/1").unwrap();
    let s = ok(&[
        "init",
        out.to_str().unwrap(),
        "--map",
        a.to_str().unwrap(),
        "--population",
        "100000",
        "--stations",
        j.join("stations/stations_1.csv").to_str().unwrap(),
        "--hospitals",
        j.join("hospitals/hospitals_1.csv").to_str().unwrap(),
        "--csv-skip-rows",
        "1",
        "--cell",
        "5000",
    ]);
    assert!(s.contains("14 stations"), "{s}");
    let assumptions = std::fs::read_to_string(out.join("ASSUMPTIONS.md")).unwrap();
    assert!(
        assumptions.contains("road length") && assumptions.contains("WARNING"),
        "{assumptions}"
    );
    assert!(
        assumptions.contains("the extract's bounding box"),
        "{assumptions}"
    );
}

/// A boundary from the extract's administrative relations: the Monaco commune assembled from
/// its member ways has the demo boundary's area (which `data/demo/prepare.py` assembled the
/// same way); an ambiguous name lists the candidates.
#[test]
fn init_takes_an_administrative_boundary_from_the_extract() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("monaco");
    let map = Path::new(env!("CARGO_MANIFEST_DIR")).join("maps/monaco.osm.pbf");
    let m = map.to_str().unwrap();
    let o = ems(&[
        "init",
        out.to_str().unwrap(),
        "--map",
        m,
        "--boundary",
        "admin:Monaco",
        "--population",
        "38367",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("osm:relation/2220322 (admin_level 8)") && e.contains("osm:relation/1124039"),
        "{e}"
    );
    let s = ok(&[
        "init",
        out.to_str().unwrap(),
        "--map",
        m,
        "--boundary",
        "osm:relation/2220322",
        "--population",
        "38367",
        "--fire-stations",
    ]);
    assert!(s.contains("2 stations"), "{s}");
    let sc = ems::model::Scenario::load(&out.join("scenario.toml")).unwrap();
    let demo = ems::model::Scenario::demo().unwrap();
    assert!(
        (sc.area_km2() - demo.area_km2()).abs() < 0.001 * demo.area_km2(),
        "{} vs {}",
        sc.area_km2(),
        demo.area_km2()
    );
    assert!((sc.population() - 38367.0).abs() < 5.0);
    ok(&[
        "check",
        "--scenario",
        out.join("scenario.toml").to_str().unwrap(),
    ]);
    // An existing folder is not overwritten without --force.
    let o = ems(&[
        "init",
        out.to_str().unwrap(),
        "--map",
        m,
        "--population",
        "1000",
        "--fire-stations",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"));
}

/// Malformed inputs name the file, the record and the field; nothing panics.
#[test]
fn malformed_gis_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let map = Path::new(env!("CARGO_MANIFEST_DIR")).join("maps/monaco.osm.pbf");
    let m = map.to_str().unwrap();
    let w = |name: &str, text: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let out = dir.path().join("o").display().to_string();
    let cases: Vec<(Vec<String>, String)> = vec![
        (
            vec!["--stations".into(), w("s1.csv", b"name,lon,lat\nA,7.42,forty\n")],
            "s1.csv: line 2: field `lat`: `forty` is not a number".into(),
        ),
        (
            vec!["--stations".into(), w("s2.csv", b"name,east,north\nA,7.42,43.7\n")],
            "s2.csv: line 1: field `lon`: no `lon` column among [name, east, north]: name it with --csv-columns lon=COLUMN".into(),
        ),
        (
            vec!["--stations".into(), w("s3.csv", b"name,lon,lat\nA,43.7,7.42\nB,200,7.42\n")],
            "s3.csv: line 3: field `coordinates`: (200, 7.42) is not a WGS 84 lon/lat".into(),
        ),
        (
            vec!["--stations".into(), w("s4.zip", b"PK\x03\x04garbage")],
            "s4.zip: not a readable zip archive".into(),
        ),
        (
            vec!["--stations".into(), w("s5.geojson", br#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"LineString","coordinates":[[7.4,43.7],[7.5,43.7]]},"properties":{}}]}"#)],
            "s5.geojson: feature 0: field `geometry`: expected a Point".into(),
        ),
        (
            vec!["--stations".into(), w("s6.csv", b"name,lon,lat,ambulances\nA,7.42,43.73,two\n")],
            "s6.csv: line 2: field `ambulances`: `two` is not a whole number of ambulances".into(),
        ),
        (
            vec!["--boundary".into(), w("b1.geojson", br#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[7.40,43.72],[7.45,43.76],[7.45,43.72],[7.40,43.76],[7.40,43.72]]]},"properties":{}}"#)],
            "b1.geojson: feature 0: field `geometry`: invalid polygon: exterior ring has a self-intersection".into(),
        ),
        (
            vec!["--population-raster".into(), w("r1.tif", b"II*\x00not a tiff at all")],
            "r1.tif: not a readable TIFF".into(),
        ),
        (
            vec!["--zones".into(), w("z1.geojson", br#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[7.40,43.72],[7.45,43.72],[7.45,43.76],[7.40,43.72]]]},"properties":{"pop":"many"}}]}"#), "--population-field".into(), "pop".into()],
            "z1.geojson: feature 0: field `pop`: `many` is not a non-negative number".into(),
        ),
        (
            vec!["--boundary".into(), "osm:relation/abc".into()],
            "invalid value 'osm:relation/abc' for '--boundary <BOUNDARY>'".into(),
        ),
    ];
    for (extra, says) in cases {
        let mut args = vec![
            "init".to_string(),
            out.clone(),
            "--map".into(),
            m.into(),
            "--fire-stations".into(),
        ];
        if !extra
            .iter()
            .any(|x| x == "--population-raster" || x == "--zones")
        {
            args.extend(["--population".into(), "1000".into()]);
        }
        args.extend(extra.iter().cloned());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = ems(&refs);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {e}");
        assert!(e.contains(&says), "{extra:?}: expected `{says}` in: {e}");
        assert!(!e.contains("panicked"), "{e}");
    }
}

/// `ems import --export-pois` writes what the extract holds with OSM ids and every tag, in
/// files `ems init` reads back (after a planner corrects them).
#[test]
fn import_exports_pois_that_init_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let map = Path::new(env!("CARGO_MANIFEST_DIR")).join("maps/monaco.osm.pbf");
    let pois = dir.path().join("pois");
    ok(&[
        "import",
        map.to_str().unwrap(),
        "--no-cache",
        "--export-pois",
        pois.to_str().unwrap(),
    ]);
    let read = |f: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(pois.join(f)).unwrap()).unwrap()
    };
    let h = read("hospitals.geojson");
    let feats = h["features"].as_array().unwrap();
    let summary: Value = serde_json::from_str(&ok(&[
        "import",
        map.to_str().unwrap(),
        "--no-cache",
        "--format",
        "json",
    ]))
    .unwrap();
    assert_eq!(feats.len() as u64, summary["hospitals"].as_u64().unwrap());
    assert!(
        feats
            .iter()
            .all(|f| f["properties"]["osm"].as_str().unwrap().contains('/'))
    );
    assert!(
        feats
            .iter()
            .any(|f| f["properties"]["tags"]["amenity"] == "hospital")
    );
    assert_eq!(
        read("fire_stations.geojson")["features"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let out = dir.path().join("city");
    let s = ok(&[
        "init",
        out.to_str().unwrap(),
        "--map",
        map.to_str().unwrap(),
        "--stations",
        pois.join("fire_stations.geojson").to_str().unwrap(),
        "--hospitals",
        pois.join("hospitals.geojson").to_str().unwrap(),
        "--boundary",
        "osm:relation/2220322",
        "--population",
        "38367",
    ]);
    assert!(
        s.contains(&format!(
            "2 stations with 2 ambulances, {} hospitals",
            feats.len()
        )),
        "{s}"
    );
}
