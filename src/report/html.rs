//! Self-contained HTML pages: the standards check (targets table, SVG map, histograms) and the
//! before/after page of a plan. No scripts, no external resources.
//!
//! The pages are askama templates in `src/report/templates/` (one base layout with the CSS; the
//! map and the histogram as partials), compiled into the binary and checked at build time, with
//! every interpolated value HTML-escaped by the engine. This module turns reports into the
//! templates' view models (SVG coordinates, colours, formatted cells); it must not compute a
//! figure.
//!
//! The map's view is in `map`, the histograms' and handover distributions' in `charts`;
//! this file holds the pages themselves and the targets table.

mod charts;
mod map;

use askama::Template;

use crate::model::Scenario;
use crate::network::RoadNetwork;
use crate::standards::{CheckReport, TargetResult, Unit};
use charts::{Distribution, Histogram, distributions};
use map::MapView;

/// The pages' Chinese font (the subset the web pages serve, `src/api/web/fonts/`), as a data
/// URI: the reports are single files, and Chinese must not depend on the reader's fonts.
fn cjk_font_data_uri() -> &'static str {
    static URI: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    URI.get_or_init(|| {
        use base64::Engine;
        format!(
            "data:font/woff2;base64,{}",
            base64::engine::general_purpose::STANDARD
                .encode(include_bytes!("../api/web/fonts/cjk-subset.woff2"))
        )
    })
}

/// A targets-table row, formatted.
struct TargetRow {
    label: String,
    value: String,
    threshold: String,
    class: &'static str,
    verdict: &'static str,
    source: &'static str,
}

impl From<&TargetResult> for TargetRow {
    fn from(t: &TargetResult) -> TargetRow {
        let value = match t.value {
            Some(_) if t.unit == Unit::Vehicles => {
                format!("{} per 30,000", super::check::fmt_target(t, 2))
            }
            _ => super::check::fmt_target(t, 2),
        };
        let threshold = match t.threshold {
            None => "(none)".to_string(),
            Some(v) if t.unit == Unit::Share => format!("{} {:.1} %", t.comparison, v * 100.0),
            Some(v) if t.unit == Unit::Vehicles => format!("{} {v} per 30,000", t.comparison),
            Some(v) => format!("{} {v} {}", t.comparison, t.unit),
        };
        let (class, verdict) = match t.pass {
            Some(true) => ("pass", "PASS 达标"),
            Some(false) => ("fail", "FAIL 未达标"),
            None => ("", "n/a"),
        };
        TargetRow {
            label: format!("{} {}", t.label_zh, t.label_en),
            value,
            threshold,
            class,
            verdict,
            source: t.source.as_str(),
        }
    }
}

#[derive(Template)]
#[template(path = "check.html", config = "src/report/templates/askama.toml")]
struct CheckPage<'a> {
    font: &'static str,
    r: &'a CheckReport,
    title: String,
    rows: Vec<TargetRow>,
    map: Option<MapView>,
    distributions: Vec<Distribution>,
    histograms: Vec<Histogram>,
    details: String,
}

/// What the check page draws its map from.
pub struct MapInput<'a> {
    pub scenario: &'a Scenario,
    pub network: &'a RoadNetwork,
    pub node_minutes: &'a [Option<f64>],
}

/// The standards check's page; `map` is `None` for a log-only check. `thresholds` are the
/// targets file's handover thresholds.
pub fn page(
    r: &CheckReport,
    map: Option<MapInput>,
    thresholds: &[f64],
) -> Result<String, askama::Error> {
    let mut histograms = Vec::new();
    if let Some(resp) = r.response.as_ref().filter(|r| !r.samples_min.is_empty()) {
        histograms.push(Histogram::new(
            "Response time from the log (call received -> on scene)",
            &resp.samples_min,
            30,
            resp.target_min,
        ));
    }
    if let Some(d) = r.detention.as_ref().filter(|d| !d.samples_min.is_empty()) {
        histograms.push(Histogram::new(
            "Handover time at hospitals (arrival -> handover complete)",
            &d.samples_min,
            30,
            d.threshold_min,
        ));
    }
    CheckPage {
        font: cjk_font_data_uri(),
        r,
        title: r
            .scenario
            .clone()
            .unwrap_or_else(|| "incident log only".into()),
        rows: r
            .targets
            .iter()
            .map(|t| {
                let mut row = TargetRow::from(t);
                if t.value.is_none() && r.not_computed.iter().any(|n| n.figure == t.id) {
                    row.value = "not computed".into();
                }
                row
            })
            .collect(),
        map: map.map(|m| MapView::new(r, m.scenario, m.network, m.node_minutes, &[])),
        distributions: distributions(r, thresholds),
        histograms,
        details: super::check::text(r),
    }
    .render()
}

/// A before/after row.
struct CompareRow {
    label: String,
    before: String,
    after: String,
}

/// A station the plan adds, for the table under the maps.
struct NewSiteRow {
    id: String,
    lon: String,
    lat: String,
    ambulances: u32,
}

#[derive(Template)]
#[template(path = "plan.html", config = "src/report/templates/askama.toml")]
struct PlanPage<'a> {
    font: &'static str,
    heading: &'a str,
    summary: &'a [String],
    rows: Vec<CompareRow>,
    new_sites: Vec<NewSiteRow>,
    before: MapView,
    after: MapView,
}

/// A self-contained before/after page for a plan (new stations, or ambulances moved): the
/// summary lines, the standards table before and after, and the two maps in sequence.
pub fn plan_page(
    heading: &str,
    summary: &[String],
    before: (&CheckReport, &Scenario, &[Option<f64>]),
    after: (&CheckReport, &Scenario, &[Option<f64>]),
    net: &RoadNetwork,
) -> Result<String, askama::Error> {
    let cell = |t: &crate::standards::TargetResult| match t.value {
        None => "not computed".to_string(),
        Some(_) if t.unit == Unit::Vehicles => {
            format!("{} per 30,000", super::check::fmt_target(t, 1))
        }
        Some(_) => super::check::fmt_target(t, 1),
    };
    let rows = before
        .0
        .targets
        .iter()
        .zip(&after.0.targets)
        .map(|(b, a)| CompareRow {
            label: format!("{} {}", b.label_zh, b.label_en),
            before: cell(b),
            after: cell(a),
        })
        .collect();
    let added: Vec<String> = after
        .1
        .stations
        .iter()
        .filter(|s| !before.1.stations.iter().any(|b| b.id == s.id))
        .map(|s| s.id.clone())
        .collect();
    let new_sites = after
        .1
        .stations
        .iter()
        .filter(|s| added.contains(&s.id))
        .map(|s| NewSiteRow {
            id: s.id.clone(),
            lon: format!("{:.6}", s.lon_lat[0]),
            lat: format!("{:.6}", s.lon_lat[1]),
            ambulances: s.ambulances,
        })
        .collect();
    PlanPage {
        font: cjk_font_data_uri(),
        heading,
        summary,
        rows,
        new_sites,
        before: MapView::new(before.0, before.1, net, before.2, &[]),
        after: MapView::new(after.0, after.1, net, after.2, &added),
    }
    .render()
}
