//! A self-contained HTML page for the standards check: the targets table, an SVG map and
//! histograms. No scripts, no external resources.

use std::fmt::Write;

use crate::model::Scenario;
use crate::network::RoadNetwork;
use crate::spatial::LocalProjection;
use crate::standards::{CheckReport, Unit};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
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

    fn path(&self, ring: impl Iterator<Item = [f64; 2]>) -> String {
        let mut d = String::new();
        for (i, p) in ring.enumerate() {
            let (x, y) = self.xy(p);
            let _ = write!(d, "{}{x:.1},{y:.1} ", if i == 0 { "M" } else { "L" });
        }
        d
    }
}

fn map_svg(
    r: &CheckReport,
    sc: &Scenario,
    net: &RoadNetwork,
    node_minutes: &[Option<f64>],
) -> String {
    let target = r.modelled_response.target_min;
    let boundary: Vec<[f64; 2]> = sc
        .region
        .boundary
        .0
        .iter()
        .flat_map(|p| p.exterior().0.iter().map(|c| [c.x, c.y]))
        .collect();
    let frame = Frame::new(&boundary, 760.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="780" height="{:.0}" viewBox="-10 -10 780 {:.0}" font-family="sans-serif" font-size="11">"#,
        frame.height + 20.0,
        frame.height + 20.0
    );
    // Demand zones by modelled response time.
    for z in &sc.demand {
        let Some(acc) = r.modelled_response.zones.iter().find(|a| a.zone == z.id) else {
            continue;
        };
        if let Some(mp) = &z.polygon {
            for p in &mp.0 {
                let _ = writeln!(
                    s,
                    r##"<path d="{}Z" fill="{}" fill-opacity="0.45" stroke="#555" stroke-width="0.6"><title>{}: {:.1} min modelled, {:.0} residents</title></path>"##,
                    frame.path(p.exterior().0.iter().map(|c| [c.x, c.y])),
                    colour(acc.modelled_response_min, target),
                    esc(&z.name),
                    acc.modelled_response_min,
                    z.population
                );
            }
        }
    }
    // Roads: grey, red where the modelled response exceeds the target.
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
        if beyond {
            late.push_str(&d);
        } else {
            ok.push_str(&d);
        }
    }
    let _ = writeln!(
        s,
        r##"<path d="{ok}" fill="none" stroke="#888" stroke-width="0.7"/>"##
    );
    let _ = writeln!(
        s,
        r##"<path d="{late}" fill="none" stroke="#d00" stroke-width="1.6"><title>modelled response beyond {target} min</title></path>"##
    );
    for p in &sc.region.boundary.0 {
        let _ = writeln!(
            s,
            r##"<path d="{}Z" fill="none" stroke="#000" stroke-width="1.4"/>"##,
            frame.path(p.exterior().0.iter().map(|c| [c.x, c.y]))
        );
    }
    for h in &sc.hospitals {
        let (x, y) = frame.xy(h.lon_lat);
        let _ = writeln!(
            s,
            r##"<g><title>{}</title><rect x="{:.1}" y="{:.1}" width="12" height="4" fill="#c00"/><rect x="{:.1}" y="{:.1}" width="4" height="12" fill="#c00"/></g><text x="{:.1}" y="{:.1}">{}</text>"##,
            esc(&h.name),
            x - 6.0,
            y - 2.0,
            x - 2.0,
            y - 6.0,
            x + 8.0,
            y + 4.0,
            esc(&h.id)
        );
    }
    for st in &sc.stations {
        let (x, y) = frame.xy(st.lon_lat);
        let _ = writeln!(
            s,
            r##"<g><title>{} ({} ambulances)</title><rect x="{:.1}" y="{:.1}" width="10" height="10" fill="#1646b4"/></g><text x="{:.1}" y="{:.1}">{}</text>"##,
            esc(&st.name),
            st.ambulances,
            x - 5.0,
            y - 5.0,
            x + 8.0,
            y - 6.0,
            esc(&st.id)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// A histogram of minutes with 1-minute bins up to `max_min` (the last bin collects the rest),
/// with a dashed line at `mark`.
fn histogram_svg(title: &str, values: &[f64], max_min: usize, mark: f64) -> String {
    let mut bins = vec![0usize; max_min + 1];
    for v in values {
        bins[(v.max(0.0).floor() as usize).min(max_min)] += 1;
    }
    let top = bins.iter().copied().max().unwrap_or(1).max(1) as f64;
    let (w, h, bw) = (760.0, 180.0, 760.0 / (max_min + 1) as f64);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="780" height="230" font-family="sans-serif" font-size="11"><text x="0" y="12" font-weight="bold">{}</text>"#,
        esc(title)
    );
    for (i, c) in bins.iter().enumerate() {
        let bh = *c as f64 / top * h;
        let _ = write!(
            s,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="#4a78c2"><title>{}{} min: {c}</title></rect>"##,
            i as f64 * bw,
            20.0 + h - bh,
            bw - 1.0,
            i,
            if i == max_min { "+" } else { "" }
        );
        if i % 5 == 0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}">{i}</text>"#,
                i as f64 * bw,
                20.0 + h + 14.0
            );
        }
    }
    let mx = mark * bw;
    let _ = write!(
        s,
        r##"<line x1="{mx:.1}" y1="20" x2="{mx:.1}" y2="{:.1}" stroke="#d00" stroke-dasharray="4 3"/><text x="{:.1}" y="30" fill="#d00">{mark} min</text><text x="{w:.0}" y="{:.1}" text-anchor="end">minutes (n = {})</text></svg>"##,
        20.0 + h,
        mx + 4.0,
        20.0 + h + 28.0,
        values.len()
    );
    s
}

/// The whole page.
pub fn page(
    r: &CheckReport,
    sc: &Scenario,
    net: &RoadNetwork,
    node_minutes: &[Option<f64>],
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>ems check: {}</title>
<style>body{{font-family:sans-serif;max-width:820px;margin:2em auto;color:#222}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}.pass{{color:#080;font-weight:bold}}.fail{{color:#c00;font-weight:bold}}pre{{background:#f6f6f6;padding:1em;overflow-x:auto}}</style></head><body>
<h1>Annual standards check 年度达标评估</h1><p>{} — targets <b>{}</b> ({})</p>
<p>Region: {:.2} km² ({}), {} stations, {} ambulances, {:.0} residents ({}).</p>
<table><tr><th>指标 Indicator</th><th>值 Value</th><th>目标 Target</th><th>结果 Result</th><th>来源 Source</th></tr>
"#,
        esc(&r.scenario),
        esc(&r.scenario),
        esc(&r.targets_id),
        esc(&r.targets_name),
        r.region.area_km2,
        r.region.area_source,
        r.region.stations,
        r.region.ambulances,
        r.region.population,
        r.region.population_source
    );
    for t in &r.targets {
        let value = match t.value {
            None => "no data".to_string(),
            Some(v) if t.unit == Unit::Share => format!("{:.2} %", v * 100.0),
            Some(v) if t.unit == Unit::Vehicles => format!("{v:.2} "),
            Some(v) => format!("{v:.2} {}", t.unit),
        };
        let threshold = match t.threshold {
            None => "(none)".to_string(),
            Some(v) if t.unit == Unit::Share => {
                format!("{} {:.1} %", esc(t.comparison.as_str()), v * 100.0)
            }
            Some(v) => format!("{} {v}", esc(t.comparison.as_str())),
        };
        let (cls, verdict) = match t.pass {
            Some(true) => ("pass", "PASS 达标"),
            Some(false) => ("fail", "FAIL 未达标"),
            None => ("", "n/a"),
        };
        let _ = writeln!(
            s,
            r#"<tr><td>{} {}</td><td>{value}</td><td>{threshold}</td><td class="{cls}">{verdict}</td><td>{}</td></tr>"#,
            t.label_zh, t.label_en, t.source
        );
    }
    s.push_str("</table>\n<h2>Map 地图</h2><p>Demand zones coloured by modelled response time (green fast, red slow); roads in red are beyond the target by the model; blue squares are stations, red crosses hospitals.</p>\n");
    s.push_str(&map_svg(r, sc, net, node_minutes));
    s.push_str("<h2>Histograms 分布</h2>\n");
    if let Some(resp) = &r.response {
        s.push_str(&histogram_svg(
            "Response time from the log (call received -> on scene)",
            &resp.samples_min,
            30,
            resp.target_min,
        ));
    }
    if let Some(d) = &r.detention {
        s.push_str(&histogram_svg(
            "Handover time at hospitals (arrival -> handover complete)",
            &d.samples_min,
            30,
            d.threshold_min,
        ));
    }
    if r.response.is_none() {
        s.push_str("<p>No incident log: no response or handover histograms.</p>");
    }
    let _ = writeln!(
        s,
        "<h2>Details 明细</h2><pre>{}</pre></body></html>",
        esc(&super::check::text(r))
    );
    s
}

/// A self-contained before/after page for a plan (new stations, or ambulances moved): the
/// summary lines, the standards table before and after, and the two maps in sequence.
pub fn plan_page(
    heading: &str,
    summary: &[String],
    before: (&CheckReport, &Scenario, &[Option<f64>]),
    after: (&CheckReport, &Scenario, &[Option<f64>]),
    net: &RoadNetwork,
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>ems optimize</title>
<style>body{{font-family:sans-serif;max-width:820px;margin:2em auto;color:#222}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head><body>
<h1>{}</h1>
"#,
        esc(heading)
    );
    for line in summary {
        let _ = writeln!(s, "<p>{}</p>", esc(line));
    }
    s.push_str("<table><tr><th>指标 Indicator</th><th>Before</th><th>After</th></tr>\n");
    let cell = |v: Option<f64>, unit: Unit| match v {
        None => "n/a".to_string(),
        Some(v) if unit == Unit::Share => format!("{:.1} %", v * 100.0),
        Some(v) => format!("{v:.2}"),
    };
    for (b, a) in before.0.targets.iter().zip(&after.0.targets) {
        let _ = writeln!(
            s,
            "<tr><td>{} {}</td><td>{}</td><td>{}</td></tr>",
            b.label_zh,
            b.label_en,
            cell(b.value, b.unit),
            cell(a.value, a.unit)
        );
    }
    s.push_str("</table>\n<h2>Before 现状</h2>\n");
    s.push_str(&map_svg(before.0, before.1, net, before.2));
    s.push_str("<h2>After 规划后</h2><p>New sites carry ids new-1, new-2, ...</p>\n");
    s.push_str(&map_svg(after.0, after.1, net, after.2));
    s.push_str("</body></html>\n");
    s
}
