//! Bad input gives a clear error naming the file (and row/feature and field), never a panic.

mod common;

use std::path::Path;

use ems::model::{self, ModelError, Scenario, Source};
use ems::network::{self, ImportError, RoadNetwork, SnapError, TravelModel, TravelSettings};

fn import_err(bytes: &[u8], name: &str) -> ImportError {
    network::import_bytes(bytes, name).expect_err("must fail")
}

#[test]
fn truncated_pbf_is_an_error() {
    let pbf = model::demo::MAP_PBF;
    for cut in [20, 100, 1000, pbf.len() / 3, pbf.len() / 2, pbf.len() - 10] {
        let e = import_err(&pbf[..cut], "cut.osm.pbf");
        let msg = e.to_string();
        assert!(msg.starts_with("cut.osm.pbf: "), "{msg}");
        assert!(matches!(e, ImportError::Pbf { .. }), "cut at {cut}: {msg}");
    }
}

#[test]
fn corrupted_pbf_never_panics() {
    let pbf = model::demo::MAP_PBF;
    let mut errors = 0;
    for (i, pos) in (0..pbf.len()).step_by(pbf.len() / 40).enumerate() {
        let mut bad = pbf.to_vec();
        bad[pos] ^= 0x5a ^ (i as u8);
        match network::import_bytes(&bad, "flipped.osm.pbf") {
            Ok(_) => {}
            Err(e) => {
                assert!(e.to_string().starts_with("flipped.osm.pbf"), "{e}");
                errors += 1;
            }
        }
    }
    assert!(errors > 0);
}

#[test]
fn non_osm_files_are_named() {
    let e = import_err(b"PK\x03\x04 this is a zip file, not a map", "map.zip");
    assert!(matches!(e, ImportError::UnknownFormat { .. }));
    assert!(
        e.to_string().contains("map.zip: not an OSM PBF file"),
        "{e}"
    );
    let e = import_err(b"", "empty.osm.pbf");
    assert!(matches!(e, ImportError::Empty { .. }), "{e}");
    let e = import_err(b"<?xml version=\"1.0\"?><html><body/></html>", "page.osm");
    assert!(e.to_string().contains("no <osm> root element"), "{e}");
}

#[test]
fn malformed_xml_names_line_and_field() {
    let xml = "<?xml version=\"1.0\"?>\n<osm version=\"0.6\">\n <node id=\"1\" lat=\"43.7\" lon=\"7.4\"/>\n <node id=\"2\" lat=\"north\" lon=\"7.4\"/>\n</osm>\n";
    let e = import_err(xml.as_bytes(), "bad.osm");
    assert_eq!(
        e.to_string(),
        "bad.osm:4: field `node.lat`: `north` is not a number"
    );

    let xml = "<osm>\n<node id=\"1\" lon=\"7.4\"/>\n</osm>";
    let e = import_err(xml.as_bytes(), "bad.osm");
    assert!(
        e.to_string()
            .contains("bad.osm:2: field `node.lat`: <node> has no `lat` attribute"),
        "{e}"
    );

    let xml =
        "<osm>\n<node id=\"1\" lat=\"43.7\" lon=\"7.4\">\n<tag k=\"a\" v=\"b\">\n</node>\n</osm>";
    let e = import_err(xml.as_bytes(), "bad.osm");
    assert!(matches!(e, ImportError::Xml { .. }), "{e}");
    assert!(e.to_string().starts_with("bad.osm:"), "{e}");

    let xml = "<osm>\n<node id=\"1\" lat=\"143.7\" lon=\"7.4\"/>\n</osm>";
    let e = import_err(xml.as_bytes(), "bad.osm");
    assert!(e.to_string().contains("out of range"), "{e}");

    // Truncated mid-element.
    let xml = "<osm>\n<node id=\"1\" lat=\"43.7\" lo";
    let e = import_err(xml.as_bytes(), "cut.osm");
    assert!(e.to_string().starts_with("cut.osm:"), "{e}");
}

#[test]
fn empty_and_roadless_extracts() {
    let e = import_err(b"<osm version=\"0.6\"></osm>", "empty.osm");
    assert!(matches!(e, ImportError::Empty { .. }), "{e}");
    let xml = r#"<osm>
 <node id="1" lat="43.70" lon="7.40"/><node id="2" lat="43.71" lon="7.41"/>
 <way id="5"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way>
 <way id="6"><nd ref="1"/><nd ref="3"/><tag k="highway" v="residential"/></way>
</osm>"#;
    let e = import_err(xml.as_bytes(), "paths.osm");
    assert!(
        matches!(
            e,
            ImportError::NoDrivableRoads {
                highway_ways: 2,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("paths.osm: no drivable road"), "{e}");
}

#[test]
fn point_far_off_the_map() {
    let tm = TravelModel::for_map(model::demo::map().unwrap(), TravelSettings::default()).unwrap();
    match tm.snap([7.0, 43.0]) {
        Err(SnapError::TooFar {
            distance_m,
            limit_m,
            ..
        }) => {
            assert!(distance_m > 80_000.0, "{distance_m}");
            assert_eq!(limit_m, 1000.0);
        }
        other => panic!("{other:?}"),
    }
    let msg = tm.snap([7.0, 43.0]).unwrap_err().to_string();
    assert!(
        msg.contains(" m from the nearest road, beyond the 1000 m snapping limit"),
        "{msg}"
    );
    assert!(matches!(
        tm.snap([43.73, 7.42]),
        Err(SnapError::TooFar { .. })
    ));
    assert!(matches!(
        tm.snap([200.0, 0.0]),
        Err(SnapError::InvalidCoordinate { .. })
    ));
    assert!(matches!(
        tm.snap([f64::NAN, 0.0]),
        Err(SnapError::InvalidCoordinate { .. })
    ));
}

fn feature_err(r: Result<impl std::fmt::Debug, ModelError>) -> String {
    r.expect_err("must fail").to_string()
}

#[test]
fn malformed_geojson() {
    let e = feature_err(model::parse_stations(
        "{\"type\": \"FeatureCollection\", \"features\": [",
        "s.geojson",
    ));
    assert!(e.starts_with("s.geojson: invalid GeoJSON: EOF"), "{e}");
    let e = feature_err(model::parse_stations("{\"features\": []}", "s.geojson"));
    assert!(e.contains("no `type`"), "{e}");
    let fc = |f: &str| format!("{{\"type\": \"FeatureCollection\", \"features\": [{f}]}}");
    let ok = r#"{"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]}, "properties": {"id": "a", "ambulances": 2}}"#;
    assert_eq!(
        model::parse_stations(&fc(ok), "s.geojson").unwrap().len(),
        1
    );
    let e = feature_err(model::parse_stations(
        &fc(&format!("{ok}, {ok}")),
        "s.geojson",
    ));
    assert_eq!(
        e,
        "s.geojson: feature 1 (id a): field `id`: duplicate id `a`"
    );
    let e = feature_err(model::parse_stations(
        &fc(&ok.replace("\"ambulances\": 2", "\"ambulances\": -1")),
        "s.geojson",
    ));
    assert!(
        e.contains("feature 0 (id a): field `ambulances`: expected a non-negative integer"),
        "{e}"
    );
    let e = feature_err(model::parse_stations(
        &fc(&ok.replace(", \"ambulances\": 2", "")),
        "s.geojson",
    ));
    assert!(e.contains("field `ambulances`: missing"), "{e}");
    let e = feature_err(model::parse_stations(
        &fc(&ok.replace("[7.42, 43.73]", "[43.73, 97.42]")),
        "s.geojson",
    ));
    assert!(
        e.contains("field `geometry`: [43.73, 97.42] is not a valid [lon, lat]"),
        "{e}"
    );
    let e = feature_err(model::parse_stations(
        &fc(&ok.replace("\"Point\"", "\"Pointy\"")),
        "s.geojson",
    ));
    assert!(e.contains("feature 0 (id a): field `geometry`"), "{e}");
    let e = feature_err(model::parse_stations(
        &fc(&ok.replace("\"id\": \"a\", ", "")),
        "s.geojson",
    ));
    assert!(e.contains("feature 0: field `id`: missing"), "{e}");

    let h = r#"{"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.42, 43.73]}, "properties": {"id": "h", "capabilities": ["emergency", "burns"]}}"#;
    let e = feature_err(model::parse_hospitals(&fc(h), "h.geojson"));
    assert!(
        e.contains(
            "h.geojson: feature 0 (id h): field `capabilities`: unknown capability \"burns\""
        ),
        "{e}"
    );

    let z = r#"{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[7.42, 43.73], [7.43, 43.73], [7.43, 43.74], [7.42, 43.73]]]}, "properties": {"id": "z", "population": 100}}"#;
    assert_eq!(
        model::parse_demand_zones(&fc(z), "d.geojson").unwrap()[0].population,
        100.0
    );
    let e = feature_err(model::parse_demand_zones(
        &fc(&z.replace("100", "-5")),
        "d.geojson",
    ));
    assert!(
        e.contains("field `population`: expected a non-negative number"),
        "{e}"
    );
    let e = feature_err(model::parse_demand_zones(
        &fc(&z.replace("[7.43, 43.74], ", "")),
        "d.geojson",
    ));
    assert!(
        e.contains("a polygon ring needs at least 4 positions"),
        "{e}"
    );
    let e = feature_err(model::parse_boundary(&fc(ok), "b.geojson"));
    assert!(e.contains("b.geojson: feature 0 (id a): field `geometry`: expected Polygon or MultiPolygon, got Point"), "{e}");
}

#[test]
fn malformed_incident_csv() {
    let path = common::fixture("incidents_bad.csv");
    let strict = model::ParseOptions::default();
    let e = model::read_incidents(&path, &strict)
        .unwrap_err()
        .to_string();
    assert!(e.ends_with("incidents_bad.csv:3: field `on_scene`: `08:70` is not a timestamp (use 2024-03-01T08:15:30+08:00 or 2024-03-01 08:15:30)"), "{e}");
    let e = model::parse_incidents(
        "id,call_received,priority,lon,lat\n1,2024-01-01 00:00:00,0,7.4,43.7\n".as_bytes(),
        "i.csv",
        &strict,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("i.csv:2: field `priority`"), "{e}");
    let e = model::parse_incidents(
        "id,call_received,priority,lon,lat\n1,2024-01-01 00:00:00,1,7.4\n".as_bytes(),
        "i.csv",
        &strict,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("i.csv:2"), "{e}");
}

struct Files(Vec<(&'static str, String)>);

impl Source for Files {
    fn text(&self, rel: &Path) -> Result<(String, String), ModelError> {
        let name = rel.to_str().unwrap();
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, t)| (t.clone(), n.to_string()))
            .ok_or_else(|| ModelError::Io {
                path: name.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            })
    }
    fn map(&self, _rel: &Path) -> Result<RoadNetwork, ModelError> {
        Ok(model::demo::map()?)
    }
}

#[test]
fn malformed_scenario_toml() {
    let files = Files(vec![]);
    let base = "name = \"x\"\nmap = \"m.pbf\"\nboundary = \"b.geojson\"\nstations = \"s.geojson\"\nhospitals = \"h.geojson\"\ndemand = \"d.geojson\"\n";
    let e = Scenario::from_toml(&format!("{base}colour = \"blue\"\n"), "sc.toml", &files)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("sc.toml: invalid scenario TOML") && e.contains("colour"),
        "{e}"
    );
    let e = Scenario::from_toml(&base.replace("name = \"x\"\n", ""), "sc.toml", &files)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing field `name`"), "{e}");
    let e = Scenario::from_toml("name = \"x\n", "sc.toml", &files)
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("sc.toml: invalid scenario TOML") && e.contains("line 1"),
        "{e}"
    );
    let e = Scenario::from_toml(&format!("{base}area_km2 = -3.0\n"), "sc.toml", &files)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`area_km2` must be a positive number"), "{e}");
    let e = Scenario::from_toml(
        &format!("{base}[profile]\nname = \"a\"\n[profile.class_factor]\nprimary = 0.0\n"),
        "sc.toml",
        &files,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("class_factor.primary"), "{e}");
    let e = Scenario::from_toml(base, "sc.toml", &files)
        .unwrap_err()
        .to_string();
    assert_eq!(e, "b.geojson: no such file");
}

#[test]
fn demo_scenario_loads() {
    let sc = Scenario::demo().unwrap();
    assert_eq!(sc.stations.len(), 3);
    assert_eq!(sc.hospitals.len(), 2);
    assert_eq!(sc.demand.len(), 9);
    assert!(
        (sc.population() - 38_367.0).abs() < 1.0,
        "{}",
        sc.population()
    );
    let a = sc.area_km2();
    assert!((2.0..2.5).contains(&a), "{a}");
    // Every demo point snaps within 100 m of a road.
    let tm = TravelModel::for_scenario(&sc).unwrap();
    for p in sc
        .stations
        .iter()
        .map(|s| s.lon_lat)
        .chain(sc.hospitals.iter().map(|h| h.lon_lat))
        .chain(sc.demand.iter().map(|z| z.lon_lat))
    {
        let s = tm.snap(p).unwrap();
        assert!(s.distance_m < 100.0, "{p:?}: {}", s.distance_m);
    }
}
