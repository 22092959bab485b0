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

/// A station or hospital marker.
struct Marker {
    x: f64,
    y: f64,
    title: String,
    label: String,
}

/// The map partial's view: zones by modelled response, roads beyond the target, the boundary,
/// hospitals and stations.
struct MapView {
    height: f64,
    target_min: f64,
    zones: Vec<ZoneShape>,
    roads_ok: String,
    roads_late: String,
    boundary: Vec<String>,
    hospitals: Vec<Marker>,
    stations: Vec<Marker>,
}

impl MapView {
    fn new(
        r: &CheckReport,
        sc: &Scenario,
        net: &RoadNetwork,
        node_minutes: &[Option<f64>],
    ) -> MapView {
        let target = r.modelled_response.as_ref().map_or(12.0, |m| m.target_min);
        let access = r
            .modelled_response
            .as_ref()
            .map_or(&[][..], |m| &m.zones[..]);
        let rings = || sc.region.boundary.0.iter().map(|p| p.exterior());
        let outline: Vec<[f64; 2]> = rings()
            .flat_map(|r| r.0.iter().map(|c| [c.x, c.y]))
            .collect();
        let frame = Frame::new(&outline, 760.0);
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
        let marker = |p: [f64; 2], title: String, label: &str| {
            let (x, y) = frame.xy(p);
            Marker {
                x,
                y,
                title,
                label: label.to_string(),
            }
        };
        MapView {
            height: frame.height + 20.0,
            target_min: target,
            zones,
            roads_ok: ok,
            roads_late: late,
            boundary: rings()
                .map(|r| frame.path(r.0.iter().map(|c| [c.x, c.y])))
                .collect(),
            hospitals: sc
                .hospitals
                .iter()
                .map(|h| marker(h.lon_lat, h.name.clone(), &h.id))
                .collect(),
            stations: sc
                .stations
                .iter()
                .map(|s| {
                    let title = format!("{} ({} ambulances)", s.name, s.ambulances);
                    marker(s.lon_lat, title, &s.id)
                })
                .collect(),
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

/// The histogram partial's view: 1-minute bins up to `max_min` (the last bin collects the
/// rest), with a dashed line at `mark`.
struct Histogram {
    title: String,
    bars: Vec<Bar>,
    ticks: Vec<Tick>,
    mark: f64,
    mark_x: f64,
    axis_y: f64,
    count: usize,
}

impl Histogram {
    fn new(title: &str, values: &[f64], max_min: usize, mark: f64) -> Histogram {
        let mut bins = vec![0usize; max_min + 1];
        for v in values {
            bins[(v.max(0.0).floor() as usize).min(max_min)] += 1;
        }
        let top = bins.iter().copied().max().unwrap_or(1).max(1) as f64;
        let (h, bw) = (180.0, 760.0 / (max_min + 1) as f64);
        let bars = bins
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let height = *c as f64 / top * h;
                let plus = if i == max_min { "+" } else { "" };
                Bar {
                    x: i as f64 * bw,
                    y: 20.0 + h - height,
                    width: bw - 1.0,
                    height,
                    title: format!("{i}{plus} min: {c}"),
                }
            })
            .collect();
        let ticks = (0..=max_min)
            .step_by(5)
            .map(|i| Tick {
                x: i as f64 * bw,
                y: 20.0 + h + 14.0,
                label: i.to_string(),
            })
            .collect();
        Histogram {
            title: title.to_string(),
            bars,
            ticks,
            mark,
            mark_x: mark * bw,
            axis_y: 20.0 + h,
            count: values.len(),
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
            Some(v) if t.unit == Unit::Vehicles => format!("{v:.2} "),
            Some(v) => format!("{v:.2} {}", t.unit),
        };
        let threshold = match t.threshold {
            None => "(none)".to_string(),
            Some(v) if t.unit == Unit::Share => format!("{} {:.1} %", t.comparison, v * 100.0),
            Some(v) => format!("{} {v}", t.comparison),
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
        map: map.map(|m| MapView::new(r, m.scenario, m.network, m.node_minutes)),
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

#[derive(Template)]
#[template(path = "plan.html", config = "src/report/templates/askama.toml")]
struct PlanPage<'a> {
    heading: &'a str,
    summary: &'a [String],
    rows: Vec<CompareRow>,
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
        None => "n/a".to_string(),
        Some(v) if unit == Unit::Share => format!("{:.1} %", v * 100.0),
        Some(v) => format!("{v:.2}"),
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
    PlanPage {
        heading,
        summary,
        rows,
        before: MapView::new(before.0, before.1, net, before.2),
        after: MapView::new(after.0, after.1, net, after.2),
    }
    .render()
}
