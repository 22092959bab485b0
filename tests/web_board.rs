//! Issue #15: the dispatch board at `/` and the planning page at `/plan`, driven in Debian's chromium by Playwright
//! (`tests/browser/board.mjs`) against the real `ems serve`, as a dispatcher and as a viewer:
//! sign-in with the token kept in the tab, the base map from the scenario's own roads, a call
//! created by a map click, the recommendation with its route, an assignment and lifecycle steps
//! followed live by the viewer (also across a dropped stream), a coverage gap shaded and its
//! move-up carried out, Chinese labels in the embedded font, and no request leaving the server.
//! Screenshots land in `target/screenshots/board/`.
//!
//! Needs `/usr/bin/chromium` and `tests/browser/node_modules` (`.ci/run` installs both):
//! missing, the test is skipped locally and fails under `CI=true`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use reqwest::blocking::Client;
use serde_json::Value;

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `ems serve` on the demo with a 4.5-minute target (so a unit out of service opens a gap).
fn serve(dir: &Path) -> (Serve, String) {
    serve_scenario(dir, None)
}

/// `ems serve` on `scenario` (the demo when `None`).
fn serve_scenario(dir: &Path, scenario: Option<&Path>) -> (Serve, String) {
    let config =
        ems::api::config::DEMO.replace("response_target_min = 12", "response_target_min = 4.5");
    assert!(config.contains("response_target_min = 4.5"));
    let cfg = dir.join("dispatch.toml");
    std::fs::write(&cfg, config).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ems"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .arg("--db")
        .arg(dir.join("events.sqlite"));
    if let Some(sc) = scenario {
        cmd.arg("--scenario").arg(sc);
    }
    let (child, url) = common::listening(cmd);
    (Serve(child), url)
}

/// Pages and assets load without a token and hold no data; every data call needs one.
#[test]
fn issue_15_pages_are_public_and_data_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, url) = serve(dir.path());
    let c = Client::new();
    let r = c.get(format!("{url}/")).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let page = r.text().unwrap();
    assert!(
        page.contains("/assets/leaflet.js") && !page.contains("http"),
        "no external URL in the page"
    );
    for a in [
        "leaflet.js",
        "leaflet.css",
        "board.js",
        "common.js",
        "ems.css",
        "cjk-subset.woff2",
        "OFL-cjk-subset.txt",
        "LICENSE-leaflet.txt",
    ] {
        let r = c.get(format!("{url}/assets/{a}")).send().unwrap();
        assert_eq!(r.status().as_u16(), 200, "{a}");
    }
    // Every served asset, grepped for references to other hosts. The only ones are never
    // fetched: the SVG namespace, the link in Leaflet's default attribution prefix (the pages
    // replace that prefix), and two bug-tracker links in comments of leaflet.css. The browser
    // tests check that no request leaves the server.
    let mut hosts = std::collections::BTreeSet::new();
    for a in ems::api::asset_names() {
        let text = c
            .get(format!("{url}/assets/{a}"))
            .send()
            .unwrap()
            .bytes()
            .unwrap();
        // Fonts and licence texts are not pages or scripts (the licences name their sources).
        if a.ends_with(".woff2") || a.ends_with(".txt") {
            continue;
        }
        let text = String::from_utf8_lossy(&text);
        for (k, _) in text.match_indices("://") {
            let start = text[..k]
                .rfind(|ch: char| !ch.is_ascii_alphanumeric())
                .map_or(0, |i| i + 1);
            let end = text[k + 3..]
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '-'))
                .map_or(text.len(), |i| k + 3 + i);
            hosts.insert(format!("{a}: {}", &text[start..end]));
        }
    }
    assert_eq!(
        hosts.into_iter().collect::<Vec<_>>(),
        [
            "leaflet.css: https://bugs.chromium.org",
            "leaflet.css: https://bugzilla.mozilla.org",
            "leaflet.js: http://www.w3.org",
            "leaflet.js: https://leafletjs.com",
        ]
    );
    let r = c.get(format!("{url}/assets/secret.txt")).send().unwrap();
    assert_eq!(r.status().as_u16(), 404);
    assert!(r.json::<Value>().unwrap()["message"].is_string());
    for p in [
        "/v1/map",
        "/v1/whoami",
        "/v1/lifecycle",
        "/v1/units",
        "/v1/plan/evaluate",
    ] {
        let r = c.get(format!("{url}{p}")).send().unwrap();
        assert_eq!(r.status().as_u16(), 401, "{p} without a token");
    }
    let r = c
        .get(format!("{url}/v1/map"))
        .bearer_auth("demo-viewer")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    let map: Value = r.json().unwrap();
    let kinds: std::collections::BTreeSet<&str> = map["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["boundary", "hospital", "road", "station", "zone"]
    );
    assert!(
        map["properties"]["attribution"]
            .as_str()
            .unwrap()
            .contains("OpenStreetMap")
    );
    let r = c
        .get(format!("{url}/v1/map"))
        .bearer_auth("demo-viewer")
        .header("If-None-Match", &etag)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 304, "the map is cached by its ETag");
    let who: Value = c
        .get(format!("{url}/v1/whoami"))
        .bearer_auth("demo-viewer")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        (who["role"].as_str(), who["can_write"].as_bool()),
        (Some("viewer"), Some(false))
    );
    let life: Value = c
        .get(format!("{url}/v1/lifecycle"))
        .bearer_auth("demo-viewer")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let available = life
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["status"] == "available")
        .unwrap();
    assert_eq!(available["next"], serde_json::json!(["out_of_service"]));
}

/// The planning API: a what-if and an optimisation give the standards check's own figures;
/// bad parameters are 400 naming them; off-map sites and unknown stations 422.
#[test]
fn issue_15_plan_evaluate_and_optimize() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, url) = serve(dir.path());
    let c = Client::new();
    let get = |q: &str| {
        let r = c
            .get(format!("{url}{q}"))
            .bearer_auth("demo-viewer")
            .send()
            .unwrap();
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let (code, v) = get("/v1/plan/evaluate?close=fontvieille&add=7.4275,43.7395");
    assert_eq!(code, 200, "{v}");
    // The same evaluation as `ems evaluate` (its "all changes together" variant).
    let out = Command::new(env!("CARGO_BIN_EXE_ems"))
        .args([
            "evaluate",
            "--remove-station",
            "fontvieille",
            "--add-site",
            "7.4275,43.7395",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let together = cli
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["label"] == "all changes together")
        .unwrap();
    let mean = v["after"]["modelled_response"]["summary"]["mean"]
        .as_f64()
        .unwrap();
    assert!(
        (mean - together["mean_response_min"].as_f64().unwrap()).abs() < 1e-9,
        "{mean} vs {together}"
    );
    assert_eq!(v["after"]["targets"], together["targets"]);
    assert_eq!(
        v["after"]["stations"].as_array().unwrap().len(),
        v["before"]["stations"].as_array().unwrap().len()
    );
    for (q, want) in [
        ("/v1/plan/evaluate?add=7.42", 400),
        ("/v1/plan/evaluate?add=200,43", 422),
        ("/v1/plan/evaluate?close=atlantis", 422),
        ("/v1/plan/evaluate?add=0,0", 422),
        ("/v1/plan/evaluate?colour=red", 400),
        ("/v1/plan/optimize?model=magic", 400),
        ("/v1/plan/optimize?add=0", 400),
        ("/v1/plan/optimize?time_limit=600", 400),
        ("/v1/plan/optimize?within=soon", 422),
    ] {
        let (code, e) = get(q);
        assert_eq!(code, want, "{q}: {e}");
        assert!(e["message"].is_string(), "{q}: {e}");
    }
    let (code, v) = get("/v1/plan/optimize?model=pmedian&add=2&time_limit=20");
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["sites"]["features"].as_array().unwrap().len(), 2);
    assert_eq!(v["plan"]["plan"]["new_sites"].as_array().unwrap().len(), 2);
    assert!(v["plan"]["plan"]["gap_pct"].as_f64().unwrap() >= 0.0);
    let before = v["comparison"]["before"]["modelled_response"]["summary"]["mean"]
        .as_f64()
        .unwrap();
    let after = v["comparison"]["after"]["modelled_response"]["summary"]["mean"]
        .as_f64()
        .unwrap();
    assert!(
        after <= before,
        "two more stations cannot slow the mean: {before} -> {after}"
    );
}

#[test]
fn issue_15_the_board_in_a_real_browser() {
    if !common::browser_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_s, url) = serve(dir.path());
    common::browser("board.mjs", &url, "board", &[]);
    let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots/board");
    for s in [
        "board-dispatcher.png",
        "board-recommendation.png",
        "board-gap.png",
        "board-zh.png",
    ] {
        assert!(shots.join(s).exists(), "{s}");
    }
}

/// Large answers go gzip-compressed to a client that asks (a large city's base map is
/// megabytes of GeoJSON), byte for byte the same once decompressed; the event stream, the
/// font and small answers are not compressed, and a client that does not ask gets plain bytes.
#[test]
fn issue_15_large_answers_are_compressed_when_asked() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let (_s, url) = serve(dir.path());
    let c = Client::new();
    let get = |path: &str, encoding: &str| {
        c.get(format!("{url}{path}"))
            .bearer_auth("demo-viewer")
            .header("Accept-Encoding", encoding)
            .send()
            .unwrap()
    };
    let encoding = |r: &reqwest::blocking::Response| {
        r.headers()
            .get("content-encoding")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let plain = get("/v1/map", "identity");
    assert_eq!(encoding(&plain), None);
    let plain = plain.bytes().unwrap();
    let zipped = get("/v1/map", "gzip");
    assert_eq!(zipped.status().as_u16(), 200);
    assert_eq!(encoding(&zipped).as_deref(), Some("gzip"));
    assert!(zipped.headers().contains_key("ems-seq"));
    let zipped = zipped.bytes().unwrap();
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&zipped[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, plain.to_vec(), "the same map once decompressed");
    assert!(
        zipped.len() * 2 < plain.len(),
        "{} bytes compressed of {}",
        zipped.len(),
        plain.len()
    );
    eprintln!("/v1/map: {} bytes, {} gzip", plain.len(), zipped.len());
    assert_eq!(
        encoding(&get("/assets/board.js", "gzip")).as_deref(),
        Some("gzip")
    );
    assert_eq!(encoding(&get("/assets/cjk-subset.woff2", "gzip")), None);
    assert_eq!(encoding(&get("/v1/whoami", "gzip")), None, "small");
    let events = get("/v1/events", "gzip");
    assert_eq!(events.status().as_u16(), 200);
    assert_eq!(encoding(&events), None, "each event leaves at once");
}

/// The planning page in the browser: zones coloured by modelled response, a what-if by clicks,
/// an optimisation with its sites, the plan downloaded as GeoJSON, Chinese labels.
#[test]
fn issue_15_the_planning_page_in_a_real_browser() {
    if !common::browser_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_s, url) = serve(dir.path());
    common::browser("plan.mjs", &url, "plan", &[]);
}

/// The board keeps up with 50 events/s for a minute, and the page's JS heap (after a forced
/// garbage collection, read through the DevTools protocol) does not grow.
#[test]
fn issue_15_the_board_keeps_up_with_50_events_per_second() {
    if !common::browser_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_s, url) = serve(dir.path());
    common::browser("stream_load.mjs", &url, "board", &["60"]);
}

/// A second city: the JEMSS Auckland model turned into a scenario by `ems init` (as
/// tests/init_city.rs does), served, and its board and planning page drawn (screenshots in
/// `target/screenshots/auckland/`).
#[test]
fn issue_15_the_pages_on_a_second_city() {
    let Some(a) = common::shared("jemss-auckland") else {
        return;
    };
    if !common::browser_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("auckland");
    let p = |rel: &str| a.join(rel).display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(["init", city.to_str().unwrap(), "--map"])
        .arg(p("data/roads/osm_2017/auckland_main_roads_tertiary+.osm"))
        .arg("--boundary")
        .arg(p("data/border/auckland_border.zip"))
        .arg("--stations")
        .arg(p("models/1/stations/stations_1.csv"))
        .arg("--hospitals")
        .arg(p("models/1/hospitals/hospitals_1.csv"))
        .args(["--csv-skip-rows", "1", "--population-raster"])
        .arg(p(
            "data/population_density/census_2013/rasters/auckland-pop-densit-40m.zip",
        ))
        .args([
            "--raster-density",
            "per-km2",
            "--ambulances-per-station",
            "2",
            "--off-road-kmh",
            "47",
            "--snap-limit",
            "10000",
            "--timezone",
            "Pacific/Auckland",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_s, url) = serve_scenario(dir.path(), Some(&city.join("scenario.toml")));
    // The attribution names the extract, not the server's folders.
    let map: Value = Client::new()
        .get(format!("{url}/v1/map"))
        .bearer_auth("demo-viewer")
        .send()
        .unwrap()
        .json()
        .unwrap();
    let attribution = map["properties"]["attribution"].as_str().unwrap();
    assert!(
        attribution.ends_with("auckland_main_roads_tertiary+.osm") && !attribution.contains('/'),
        "{attribution}"
    );
    common::browser("city.mjs", &url, "auckland", &["auckland"]);
}

/// Issue #29 item 7: every asset carries its content hash as `ETag` (304 when the browser has
/// it); the pages ask for each by its version (`?v=HASH`, the stylesheet for the font too), and
/// an asset asked for by its current version may be kept for a year, one asked for otherwise
/// is revalidated (`no-cache`).
#[test]
fn issue_29_assets_are_cached_by_content_hash() {
    let dir = tempfile::tempdir().unwrap();
    let (_s, url) = serve(dir.path());
    let c = Client::new();
    let page = c.get(format!("{url}/")).send().unwrap().text().unwrap();
    let versioned = |text: &str, name: &str| -> String {
        let at = text
            .find(&format!("/assets/{name}?v="))
            .unwrap_or_else(|| panic!("{name} asked for by its version"));
        let rest = &text[at + "/assets/".len() + name.len() + 3..];
        rest[..rest.find('"').unwrap()].to_string()
    };
    for name in [
        "board.js",
        "common.js",
        "map.js",
        "leaflet.js",
        "ems.css",
        "leaflet.css",
    ] {
        let v = versioned(&page, name);
        assert_eq!(v.len(), 16, "{name}: {v}");
        let r = c.get(format!("{url}/assets/{name}?v={v}")).send().unwrap();
        assert_eq!(r.status().as_u16(), 200, "{name}");
        assert_eq!(
            r.headers()["cache-control"],
            "public, max-age=31536000, immutable",
            "{name}"
        );
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        assert_eq!(etag, format!("\"{v}\""), "{name}: the version is the ETag");
        let again = c
            .get(format!("{url}/assets/{name}"))
            .header("If-None-Match", &etag)
            .send()
            .unwrap();
        assert_eq!(
            again.status().as_u16(),
            304,
            "{name}: revalidated, not sent"
        );
        assert!(again.bytes().unwrap().is_empty());
        let plain = c.get(format!("{url}/assets/{name}")).send().unwrap();
        assert_eq!(plain.headers()["cache-control"], "no-cache", "{name}");
        let stale = c
            .get(format!("{url}/assets/{name}?v=0000000000000000"))
            .send()
            .unwrap();
        assert_eq!(stale.headers()["cache-control"], "no-cache", "{name}");
    }
    // The stylesheet asks for the font by its version; the font is the 1.3 MB a board load
    // no longer downloads.
    let v = versioned(&page, "ems.css");
    let css = c
        .get(format!("{url}/assets/ems.css?v={v}"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let font = versioned(&css, "cjk-subset.woff2");
    let r = c
        .get(format!("{url}/assets/cjk-subset.woff2?v={font}"))
        .send()
        .unwrap();
    assert_eq!(r.headers()["etag"].to_str().unwrap(), format!("\"{font}\""));
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
    // The plan page asks by version too.
    let plan = c.get(format!("{url}/plan")).send().unwrap().text().unwrap();
    assert_eq!(versioned(&plan, "plan.js").len(), 16);
}
