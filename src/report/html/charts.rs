//! The charts of the HTML pages: response and handover histograms and the per-hospital
//! handover distributions as stacked bars, as the partials' view models.
//!
//! This module owns the charts' bins, scales and labels. It must not compute a figure: the
//! samples and percentiles come from the report.

use crate::standards::CheckReport;

pub(super) struct Bar {
    pub(super) x: f64,
    pub(super) y: f64,
    pub(super) width: f64,
    pub(super) height: f64,
    pub(super) title: String,
}

pub(super) struct Tick {
    pub(super) x: f64,
    pub(super) y: f64,
    pub(super) label: String,
}

/// The histogram partial's view: 1-minute bins from 0 to the data's maximum (at least
/// `min_span` minutes wide, at most [`HISTOGRAM_CAP`]); beyond the cap, the last bin collects the
/// rest and says so. A dashed line at `mark`.
pub(super) struct Histogram {
    pub(super) title: String,
    pub(super) bars: Vec<Bar>,
    pub(super) ticks: Vec<Tick>,
    pub(super) mark: f64,
    pub(super) mark_x: f64,
    pub(super) axis_y: f64,
    pub(super) count: usize,
    /// Values in the last, open-ended bin (`≥ cap`), 0 when the bins reach the maximum.
    pub(super) overflow: usize,
    pub(super) cap: usize,
}

/// The widest a histogram gets, minutes: longer values share the last bin.
const HISTOGRAM_CAP: usize = 120;

impl Histogram {
    pub(super) fn new(title: &str, values: &[f64], min_span: usize, mark: f64) -> Histogram {
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

/// One bar segment of a handover distribution.
pub(super) struct Segment {
    pub(super) x: f64,
    pub(super) width: f64,
    pub(super) fill: &'static str,
    pub(super) title: String,
}

/// One hospital's handover distribution as a stacked bar.
pub(super) struct DistributionRow {
    pub(super) y: f64,
    pub(super) label: String,
    pub(super) segments: Vec<Segment>,
    pub(super) end: f64,
    pub(super) figures: String,
}

/// Handover (or wall-time proxy) distributions per hospital, as stacked bars of the shares
/// between the targets file's thresholds.
pub(super) struct Distribution {
    pub(super) title: String,
    pub(super) caption: String,
    pub(super) height: f64,
    pub(super) legend: Vec<(String, &'static str)>,
    pub(super) rows: Vec<DistributionRow>,
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
pub(super) fn distributions(r: &CheckReport, thresholds: &[f64]) -> Vec<Distribution> {
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
}
