//! Self-contained HTML pages: the standards check (targets table, SVG map, histograms) and the
//! before/after page of a plan. No scripts, no external resources.
//!
//! The pages are askama templates in `src/report/templates/` (one base layout with the CSS; the
//! map and the histogram as partials), compiled into the binary and checked at build time, with
//! every interpolated value HTML-escaped by the engine. This module turns reports into the
//! templates' view models (SVG coordinates, colours, formatted cells); it must not compute a
//! figure.

use askama::Template;

use crate::model::Scenario;
use crate::network::RoadNetwork;
use crate::spatial::LocalProjection;
use crate::standards::{CheckReport, TargetResult, Unit};

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

/// Green (fast) to red (slow) for a response time against the target.
fn colour(minutes: f64, target: f64) -> String {
    let x = (minutes / target).clamp(0.0, 1.5) / 1.5;
    let (r, g) = if x < 0.5 {
        ((510.0 * x) as u8, 170u8)
    } else {
        (220u8, (170.0 * (1.0 - x) * 2.0) as u8)
    };
    format!("rgb({r},{g},60)")
}

/// Projects lon/lat onto the SVG canvas.
struct Frame {
    proj: LocalProjection,
    min: [f64; 2],
    scale: f64,
    height: f64,
}

impl Frame {
    fn new(points: &[[f64; 2]], width: f64) -> Frame {
        let proj = LocalProjection::around(points);
        let xy: Vec<[f64; 2]> = points.iter().map(|p| proj.project(*p)).collect();
        let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in &xy {
            for k in 0..2 {
                min[k] = min[k].min(p[k]);
                max[k] = max[k].max(p[k]);
            }
        }
        let span = [(max[0] - min[0]).max(1.0), (max[1] - min[1]).max(1.0)];
        let scale = width / span[0];
        Frame {
            proj,
            min,
            scale,
            height: span[1] * scale,
        }
    }

    fn xy(&self, p: [f64; 2]) -> (f64, f64) {
        let q = self.proj.project(p);
        (
            (q[0] - self.min[0]) * self.scale,
            self.height - (q[1] - self.min[1]) * self.scale,
        )
    }

    /// SVG path data through the points.
    fn path(&self, ring: impl Iterator<Item = [f64; 2]>) -> String {
        use std::fmt::Write;
        let mut d = String::new();
        for (i, p) in ring.enumerate() {
            let (x, y) = self.xy(p);
            let _ = write!(d, "{}{x:.1},{y:.1} ", if i == 0 { "M" } else { "L" });
        }
        d
    }
}

/// A demand zone on the map.
struct ZoneShape {
    d: String,
    fill: String,
    title: String,
}

/// A station or hospital marker, with its label placed by [`place_labels`].
struct Marker {
    x: f64,
    y: f64,
    title: String,
    /// `station`, `unstaffed` (no ambulance), `new` (a site the plan adds) or `hospital`.
    kind: &'static str,
    label: String,
    /// Where the label goes (`anchor` is the SVG `text-anchor`); `None`: it would overlap, so
    /// the marker carries `key` and the label is listed under the map.
    at: Option<(f64, f64, &'static str)>,
    key: usize,
}

/// A legend swatch of the zone colours.
struct Swatch {
    x: f64,
    fill: String,
    label: String,
}

/// The map partial's view: zones by modelled response, roads beyond the target, the boundary,
/// hospitals and stations with their names, a legend, a scale bar and a north arrow. The view
/// fits everything it draws (a hospital outside the boundary included).
struct MapView {
    height: f64,
    target_min: f64,
    zones: Vec<ZoneShape>,
    roads_ok: String,
    roads_late: String,
    boundary: Vec<String>,
    markers: Vec<Marker>,
    /// Labels that did not fit beside their markers: `(key, name)`.
    keyed: Vec<(usize, String)>,
    swatches: Vec<Swatch>,
    /// The legend's top edge, and the scale bar: its length in pixels and what it measures.
    legend_y: f64,
    scale_px: f64,
    scale_label: String,
}

/// Width of the map's drawing area, pixels.
const MAP_WIDTH: f64 = 760.0;

/// A label's width in pixels at 11 px: CJK characters are about twice as wide as Latin ones.
fn label_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if c as u32 >= 0x2E80 { 11.0 } else { 6.2 })
        .sum()
}

/// Places each marker's label beside it (right, left, above, below) where it overlaps no
/// marker and no label placed before it, inside the canvas; markers are taken in order
/// (hospitals first). A label that fits nowhere is replaced by a number, listed under the map.
/// O(markers²).
fn place_labels(markers: &mut [Marker], width: f64, height: f64) -> Vec<(usize, String)> {
    type Rect = (f64, f64, f64, f64);
    let overlaps = |a: &Rect, b: &Rect| a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3;
    let mut taken: Vec<Rect> = markers
        .iter()
        .map(|m| (m.x - 6.0, m.y - 6.0, m.x + 6.0, m.y + 6.0))
        .collect();
    let mut keyed = Vec::new();
    for m in markers.iter_mut() {
        let w = label_width(&m.label);
        let candidates = [
            (
                m.x + 9.0,
                m.y + 4.0,
                "start",
                (m.x + 8.0, m.y - 7.0, m.x + 9.0 + w, m.y + 6.0),
            ),
            (
                m.x - 9.0,
                m.y + 4.0,
                "end",
                (m.x - 9.0 - w, m.y - 7.0, m.x - 8.0, m.y + 6.0),
            ),
            (
                m.x,
                m.y - 10.0,
                "middle",
                (m.x - w / 2.0, m.y - 21.0, m.x + w / 2.0, m.y - 8.0),
            ),
            (
                m.x,
                m.y + 19.0,
                "middle",
                (m.x - w / 2.0, m.y + 8.0, m.x + w / 2.0, m.y + 21.0),
            ),
        ];
        let mine = (m.x - 6.0, m.y - 6.0, m.x + 6.0, m.y + 6.0);
        let free = candidates.into_iter().find(|(_, _, _, r)| {
            r.0 >= -10.0
                && r.2 <= width + 10.0
                && r.1 >= -10.0
                && r.3 <= height
                && taken.iter().all(|t| *t == mine || !overlaps(t, r))
        });
        match free {
            Some((x, y, anchor, r)) => {
                m.at = Some((x, y, anchor));
                taken.push(r);
            }
            None => {
                m.key = keyed.len() + 1;
                keyed.push((m.key, m.label.clone()));
            }
        }
    }
    keyed
}

/// A round length (1, 2 or 5 × 10^k metres) near `target_m`, and its label.
fn scale_bar(target_m: f64) -> (f64, String) {
    let p = 10f64.powf(target_m.max(1.0).log10().floor());
    let m = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|f| f * p)
        .rfind(|m| *m <= target_m)
        .unwrap_or(p);
    let label = if m >= 1000.0 {
        format!("{} km", m / 1000.0)
    } else {
        format!("{m} m")
    };
    (m, label)
}

impl MapView {
    /// `new_sites`: ids of the stations a plan adds (drawn as new sites).
    fn new(
        r: &CheckReport,
        sc: &Scenario,
        net: &RoadNetwork,
        node_minutes: &[Option<f64>],
        new_sites: &[String],
    ) -> MapView {
        let target = r.modelled_response.as_ref().map_or(12.0, |m| m.target_min);
        let access = r
            .modelled_response
            .as_ref()
            .map_or(&[][..], |m| &m.zones[..]);
        let rings = || sc.region.boundary.0.iter().map(|p| p.exterior());
        // Everything drawn as a point counts for the frame, so nothing is clipped.
        let mut extent: Vec<[f64; 2]> = rings()
            .flat_map(|r| r.0.iter().map(|c| [c.x, c.y]))
            .collect();
        extent.extend(sc.hospitals.iter().map(|h| h.lon_lat));
        extent.extend(sc.stations.iter().map(|s| s.lon_lat));
        let frame = Frame::new(&extent, MAP_WIDTH);
        let mut zones = Vec::new();
        for z in &sc.demand {
            let Some(acc) = access.iter().find(|a| a.zone == z.id) else {
                continue;
            };
            for p in z.polygon.iter().flat_map(|mp| &mp.0) {
                zones.push(ZoneShape {
                    d: frame.path(p.exterior().0.iter().map(|c| [c.x, c.y])),
                    fill: colour(acc.modelled_response_min, target),
                    title: format!(
                        "{}: {:.1} min modelled, {:.0} residents",
                        z.name, acc.modelled_response_min, z.population
                    ),
                });
            }
        }
        // Roads: grey, red where the modelled response exceeds the target at both ends.
        let (mut ok, mut late) = (String::new(), String::new());
        for seg in &net.segments {
            let beyond = [seg.from, seg.to].iter().all(|n| {
                node_minutes
                    .get(*n as usize)
                    .copied()
                    .flatten()
                    .is_none_or(|m| m > target)
            });
            let d = frame.path(seg.geometry.iter().copied());
            if beyond { &mut late } else { &mut ok }.push_str(&d);
        }
        let marker = |p: [f64; 2], title: String, kind: &'static str, label: &str| {
            let (x, y) = frame.xy(p);
            Marker {
                x,
                y,
                title,
                kind,
                label: label.to_string(),
                at: None,
                key: 0,
            }
        };
        let name = |name: &str, id: &str| {
            if name.trim().is_empty() {
                id.to_string()
            } else {
                name.to_string()
            }
        };
        let mut markers: Vec<Marker> = sc
            .hospitals
            .iter()
            .map(|h| {
                marker(
                    h.lon_lat,
                    format!("{} ({})", h.name, h.id),
                    "hospital",
                    &name(&h.name, &h.id),
                )
            })
            .collect();
        markers.extend(sc.stations.iter().map(|s| {
            let kind = if new_sites.contains(&s.id) {
                "new"
            } else if s.ambulances == 0 {
                "unstaffed"
            } else {
                "station"
            };
            let title = format!("{} ({}): {} ambulances", s.name, s.id, s.ambulances);
            marker(s.lon_lat, title, kind, &name(&s.name, &s.id))
        }));
        let keyed = place_labels(&mut markers, MAP_WIDTH, frame.height + 10.0);
        let swatches = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5]
            .iter()
            .enumerate()
            .map(|(k, f)| Swatch {
                x: k as f64 * 34.0,
                fill: colour(f * target, target),
                label: if *f == 1.5 {
                    format!("≥{:.0}", f * target)
                } else {
                    format!("{:.0}", f * target)
                },
            })
            .collect();
        // A scale bar about a fifth of the width (the local projection is in metres).
        let (metres, scale_label) = scale_bar(MAP_WIDTH / 5.0 / frame.scale);
        MapView {
            height: frame.height + 20.0 + 80.0,
            target_min: target,
            zones,
            roads_ok: ok,
            roads_late: late,
            boundary: rings()
                .map(|r| frame.path(r.0.iter().map(|c| [c.x, c.y])))
                .collect(),
            markers,
            keyed,
            swatches,
            legend_y: frame.height + 24.0,
            scale_px: metres * frame.scale,
            scale_label,
        }
    }
}

struct Bar {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
    title: String,
}

struct Tick {
    x: f64,
    y: f64,
    label: String,
}

/// The histogram partial's view: 1-minute bins from 0 to the data's maximum (at least
/// `min_span` minutes wide, at most [`HISTOGRAM_CAP`]); beyond the cap, the last bin collects the
/// rest and says so. A dashed line at `mark`.
struct Histogram {
    title: String,
    bars: Vec<Bar>,
    ticks: Vec<Tick>,
    mark: f64,
    mark_x: f64,
    axis_y: f64,
    count: usize,
    /// Values in the last, open-ended bin (`≥ cap`), 0 when the bins reach the maximum.
    overflow: usize,
    cap: usize,
}

/// The widest a histogram gets, minutes: longer values share the last bin.
const HISTOGRAM_CAP: usize = 120;

impl Histogram {
    fn new(title: &str, values: &[f64], min_span: usize, mark: f64) -> Histogram {
        let max = values.iter().copied().fold(0.0f64, f64::max);
        let cap = (max.floor() as usize).clamp(min_span, HISTOGRAM_CAP);
        let mut bins = vec![0usize; cap + 1];
        for v in values {
            bins[(v.max(0.0).floor() as usize).min(cap)] += 1;
        }
        let overflow = values.iter().filter(|v| v.floor() as usize > cap).count();
        let top = bins.iter().copied().max().unwrap_or(1).max(1) as f64;
        let (h, bw) = (180.0, 760.0 / (cap + 1) as f64);
        let bars = bins
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let height = *c as f64 / top * h;
                let label = if i == cap && overflow > 0 {
                    format!("≥ {i} min")
                } else {
                    format!("{i}–{} min", i + 1)
                };
                Bar {
                    x: i as f64 * bw,
                    y: 20.0 + h - height,
                    width: (bw - 1.0).max(0.5),
                    height,
                    title: format!("{label}: {c}"),
                }
            })
            .collect();
        let step = if cap <= 40 { 5 } else { 10 };
        let mut ticks: Vec<Tick> = (0..=cap)
            .step_by(step)
            .map(|i| Tick {
                x: i as f64 * bw,
                y: 20.0 + h + 14.0,
                label: i.to_string(),
            })
            .collect();
        if overflow > 0 {
            ticks.retain(|t| t.x < cap as f64 * bw - 20.0);
            ticks.push(Tick {
                x: cap as f64 * bw,
                y: 20.0 + h + 14.0,
                label: format!("≥{cap}"),
            });
        }
        Histogram {
            title: title.to_string(),
            bars,
            ticks,
            mark,
            mark_x: mark * bw,
            axis_y: 20.0 + h,
            count: values.len(),
            overflow,
            cap,
        }
    }
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
            None => "no data".to_string(),
            Some(v) if t.unit == Unit::Share => format!("{:.2} %", v * 100.0),
            Some(v) if t.unit == Unit::Vehicles => format!("{v:.2} per 30,000"),
            Some(v) => format!("{v:.2} {}", t.unit),
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

/// One bar segment of a handover distribution.
struct Segment {
    x: f64,
    width: f64,
    fill: &'static str,
    title: String,
}

/// One hospital's handover distribution as a stacked bar.
struct DistributionRow {
    y: f64,
    label: String,
    segments: Vec<Segment>,
    end: f64,
    figures: String,
}

/// Handover (or wall-time proxy) distributions per hospital, as stacked bars of the shares
/// between the targets file's thresholds.
struct Distribution {
    title: String,
    caption: String,
    height: f64,
    legend: Vec<(String, &'static str)>,
    rows: Vec<DistributionRow>,
}

const BIN_COLOURS: [&str; 6] = [
    "#2e9e4f", "#a5c93b", "#f2c12e", "#ee7d22", "#d7301f", "#7f0000",
];

impl Distribution {
    /// `hospitals`: (name, samples in minutes, P50, P90).
    fn new(
        title: &str,
        caption: String,
        thresholds: &[f64],
        hospitals: Vec<(String, &[f64], f64, f64)>,
    ) -> Distribution {
        let mut t: Vec<f64> = thresholds.to_vec();
        t.sort_by(f64::total_cmp);
        t.dedup();
        t.truncate(BIN_COLOURS.len() - 1);
        let legend: Vec<(String, &'static str)> = BIN_COLOURS
            .iter()
            .take(t.len() + 1)
            .enumerate()
            .map(|(k, colour)| {
                let label = match k {
                    0 => format!("≤ {} min", t.first().copied().unwrap_or(0.0)),
                    k if k == t.len() => format!("> {} min", t[k - 1]),
                    k => format!("{}–{} min", t[k - 1], t[k]),
                };
                (label, *colour)
            })
            .collect();
        let (x0, width) = (200.0, 360.0);
        let rows = hospitals
            .into_iter()
            .enumerate()
            .map(|(i, (name, v, p50, p90))| {
                let mut bins = vec![0usize; t.len() + 1];
                for x in v {
                    bins[t.iter().filter(|th| *x > **th).count()] += 1;
                }
                let n = v.len().max(1) as f64;
                let mut x = x0;
                let segments = bins
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c > 0)
                    .map(|(k, c)| {
                        let w = *c as f64 / n * width;
                        let s = Segment {
                            x,
                            width: w,
                            fill: BIN_COLOURS[k],
                            title: format!(
                                "{}: {} of {} ({:.1} %)",
                                legend[k].0,
                                c,
                                v.len(),
                                *c as f64 / n * 100.0
                            ),
                        };
                        x += w;
                        s
                    })
                    .collect();
                let label: String = name.chars().take(30).collect();
                DistributionRow {
                    y: 20.0 + i as f64 * 24.0,
                    label,
                    segments,
                    end: x0 + width,
                    figures: format!("n {}, P50 {:.1}, P90 {:.1} min", v.len(), p50, p90),
                }
            })
            .collect::<Vec<_>>();
        Distribution {
            title: title.to_string(),
            caption,
            height: 30.0 + rows.len() as f64 * 24.0,
            legend,
            rows,
        }
    }
}

/// The handover distributions of a report: the real handover, then the wall-time proxy.
fn distributions(r: &CheckReport, thresholds: &[f64]) -> Vec<Distribution> {
    let mut out = Vec::new();
    let Some(d) = &r.detention else { return out };
    if !d.per_hospital.is_empty() {
        out.push(Distribution::new(
            "Handover per hospital 各医院交接时间分布",
            format!(
                "Arrival → handover complete; detention threshold {} min. Shares between the thresholds of the targets file.",
                d.threshold_min
            ),
            thresholds,
            d.per_hospital
                .iter()
                .map(|h| (h.name.clone(), &h.samples_min[..], h.median_min, h.p90_min))
                .collect(),
        ));
    }
    if let Some(w) = &d.wall_time_proxy {
        out.push(Distribution::new(
            "Wall-time proxy per hospital (not the handover) 离院时间（代理指标）",
            format!("Proxy: {}.", w.definition),
            thresholds,
            w.per_hospital
                .iter()
                .map(|h| (h.name.clone(), &h.samples_min[..], h.median_min, h.p90_min))
                .collect(),
        ));
    }
    out
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
    let cell = |v: Option<f64>, unit: Unit| match v {
        None => "not computed".to_string(),
        Some(v) if unit == Unit::Share => format!("{:.1} %", v * 100.0),
        Some(v) if unit == Unit::Vehicles => format!("{v:.2} per 30,000"),
        Some(v) => format!("{v:.2} {unit}"),
    };
    let rows = before
        .0
        .targets
        .iter()
        .zip(&after.0.targets)
        .map(|(b, a)| CompareRow {
            label: format!("{} {}", b.label_zh, b.label_en),
            before: cell(b.value, b.unit),
            after: cell(a.value, a.unit),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue #15: a histogram reaches the data's maximum, and beyond the cap the last bar
    /// says it holds the rest.
    #[test]
    fn issue_15_histograms_extend_to_the_data_or_label_the_overflow() {
        let h = Histogram::new("t", &[1.0, 44.5, 59.9], 30, 10.0);
        assert_eq!((h.cap, h.overflow, h.bars.len()), (59, 0, 60));
        assert_eq!(h.bars[59].title, "59–60 min: 1");
        let h = Histogram::new("t", &[1.0, 150.0, 300.0, 120.5], 30, 10.0);
        assert_eq!((h.cap, h.overflow), (HISTOGRAM_CAP, 2));
        assert_eq!(h.bars[HISTOGRAM_CAP].title, "≥ 120 min: 3");
        assert_eq!(h.ticks.last().unwrap().label, "≥120");
        let h = Histogram::new("t", &[2.0], 30, 10.0);
        assert_eq!(
            (h.cap, h.overflow),
            (30, 0),
            "short data keeps the minimum span"
        );
    }

    /// Labels never overlap one another; one that fits nowhere gets a key number.
    #[test]
    fn issue_15_labels_do_not_overlap() {
        let mk = |x: f64, y: f64, label: &str| Marker {
            x,
            y,
            title: String::new(),
            kind: "station",
            label: label.into(),
            at: None,
            key: 0,
        };
        // Five markers on one spot: four sides, then a key.
        let mut ms: Vec<Marker> = (0..5)
            .map(|k| mk(300.0, 300.0, &format!("Station {k}")))
            .collect();
        let keyed = place_labels(&mut ms, 760.0, 600.0);
        assert_eq!(keyed, vec![(1, "Station 4".to_string())]);
        let placed: Vec<_> = ms
            .iter()
            .filter_map(|m| m.at.map(|a| (a, &m.label)))
            .collect();
        assert_eq!(placed.len(), 4);
        let anchors: std::collections::BTreeSet<_> = placed
            .iter()
            .map(|((x, y, a), _)| (x.to_bits(), y.to_bits(), *a))
            .collect();
        assert_eq!(anchors.len(), 4, "four different places");
        // A marker at the right edge puts its label on the left.
        let mut ms = vec![mk(755.0, 100.0, "Edge hospital")];
        place_labels(&mut ms, 760.0, 600.0);
        assert_eq!(ms[0].at.unwrap().2, "end");
    }

    #[test]
    fn scale_bars_are_round() {
        assert_eq!(scale_bar(180.0), (100.0, "100 m".into()));
        assert_eq!(scale_bar(2600.0), (2000.0, "2 km".into()));
        assert_eq!(scale_bar(7000.0), (5000.0, "5 km".into()));
        assert_eq!(scale_bar(10_000.0), (10_000.0, "10 km".into()));
    }
}
