//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// A file under `../shared/data/`. Missing data skips the test locally and fails it when
/// `CI=true`, so CI can never pass by skipping.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("test data missing under CI: {}", p.display());
    }
    eprintln!("skipping: test data not found at {}", p.display());
    None
}

/// A fixture beside the tests.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The demo's scenario file with absolute paths, so it can live elsewhere.
pub fn demo_toml() -> String {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    let mut toml = std::fs::read_to_string(demo.join("scenario.toml")).unwrap();
    for f in [
        "boundary.geojson",
        "stations.geojson",
        "hospitals.geojson",
        "demand.geojson",
        "incidents.csv",
    ] {
        toml = toml.replace(
            &format!("\"{f}\""),
            &format!("{:?}", demo.join(f).display().to_string()),
        );
    }
    toml.replace(
        "\"../../maps/monaco.osm.pbf\"",
        &format!(
            "{:?}",
            demo.join("../../maps/monaco.osm.pbf").display().to_string()
        ),
    )
}
