//! Issue #15, item 4: the static HTML reports a planner reads at a glance. The map names
//! stations and hospitals, fits everything it draws (a hospital outside the boundary
//! included), draws stations without ambulances and new sites differently, carries a legend,
//! a scale bar and a north arrow, and embeds its Chinese font; the plan page lists the new
//! sites with coordinates and ambulances.

mod common;

use std::path::Path;
use std::process::Command;

fn ems(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `(x, y)` of the first shape of each marker of `kind` in a report's map.
fn markers(html: &str, kind: &str) -> Vec<(f64, f64)> {
    let tag = format!("<g class=\"marker {kind}\">");
    html.match_indices(&tag)
        .map(|(i, _)| {
            let rest = &html[i..];
            let num = |attr: &str| -> f64 {
                let a = rest.find(attr).unwrap() + attr.len();
                rest[a..].split('"').next().unwrap().parse().unwrap()
            };
            if kind == "new" {
                (num("cx=\""), num("cy=\""))
            } else {
                (num("x=\""), num("y=\""))
            }
        })
        .collect()
}

/// The map's height from its `viewBox`.
fn map_height(html: &str) -> f64 {
    let i = html.find("viewBox=\"-10 -10 780 ").unwrap() + "viewBox=\"-10 -10 780 ".len();
    html[i..].split('"').next().unwrap().parse().unwrap()
}

#[test]
fn issue_15_check_report_names_legend_scale_and_font() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("check.html");
    ems(&["check", "--html", page.to_str().unwrap()]);
    let html = std::fs::read_to_string(&page).unwrap();
    for want in [
        "Centre Cardio-Thoracique de Monaco",
        "Centre de secours secondaire de Fontvieille",
        "Modelled response (min)",
        "road beyond target",
        ">N</text>",
        "data:font/woff2;base64,",
        "minutes (n = ",
    ] {
        assert!(html.contains(want), "missing {want}");
    }
    assert!(
        html.contains(" m</text>") || html.contains(" km</text>"),
        "scale bar"
    );
    assert_eq!(markers(&html, "hospital").len(), 2);
    assert_eq!(markers(&html, "station").len(), 3);
    // Units in every target cell: the ambulance ratio says per what.
    assert!(html.contains("per 30,000</td>"));
}

#[test]
fn issue_15_the_map_fits_everything_and_marks_unstaffed_stations() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    // A hospital 1.5 km outside the boundary (at sea, south-west) and a station without ambulances.
    let hospitals = std::fs::read_to_string(demo.join("hospitals.geojson"))
        .unwrap()
        .replace("[7.4110498, 43.7303579]", "[7.3950, 43.7200]");
    let stations = std::fs::read_to_string(demo.join("stations.geojson"))
        .unwrap()
        .replacen("\"ambulances\": 1,", "\"ambulances\": 0,", 1);
    std::fs::write(dir.path().join("hospitals.geojson"), hospitals).unwrap();
    std::fs::write(dir.path().join("stations.geojson"), stations).unwrap();
    let mut toml = common::demo_toml();
    for f in ["hospitals.geojson", "stations.geojson"] {
        toml = toml.replace(
            &format!("{:?}", demo.join(f).display().to_string()),
            &format!("{:?}", dir.path().join(f).display().to_string()),
        );
    }
    let sc = dir.path().join("scenario.toml");
    std::fs::write(&sc, toml).unwrap();
    let page = dir.path().join("check.html");
    ems(&[
        "check",
        "--scenario",
        sc.to_str().unwrap(),
        "--html",
        page.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&page).unwrap();
    let h = map_height(&html);
    let hs = markers(&html, "hospital");
    assert_eq!(hs.len(), 2);
    for (x, y) in &hs {
        assert!(
            (-10.0..=770.0).contains(x) && (-10.0..=h).contains(y),
            "a hospital is drawn outside the map: ({x}, {y}) in 780 x {h}"
        );
    }
    assert_eq!(
        markers(&html, "unstaffed").len(),
        1,
        "one station without ambulances"
    );
}

#[test]
fn issue_15_plan_report_lists_and_marks_new_sites() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("plan.html");
    ems(&["optimize", "--add", "2", "--html", page.to_str().unwrap()]);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("New sites 新站点"));
    let table = &html[html.find("New sites 新站点").unwrap()..html.find("After 规划后").unwrap()];
    assert_eq!(table.matches("<tr><td>new-").count(), 2, "{table}");
    assert!(
        table.contains("<td>43.7"),
        "coordinates in the table: {table}"
    );
    assert_eq!(
        markers(&html, "new").len(),
        2,
        "the after map draws the two new sites"
    );
}
