//! Simulation results as text: the summary with its confidence intervals, and paired
//! comparisons of two plans.

use crate::simulate::des::Dist;
use crate::simulate::scenario::{Comparison, Estimate, Summary, Sweep};

/// A comparison as text.
pub fn compare_text(c: &Comparison, a: &str, b: &str) -> String {
    let e = |x: &Option<Estimate>| match x {
        Some(x) => format!("{:.4} ± {:.4}", x.mean, x.ci95),
        None => "n/a".into(),
    };
    let mut o = format!(
        "ems simulate: A = {a}, B = {b} (same calls; 95 % confidence intervals)\n  {:<22} {:>20} {:>20} {:>20}\n",
        "figure", "A", "B", "B - A"
    );
    for (name, x, y, d) in &c.rows {
        o.push_str(&format!(
            "  {name:<22} {:>20} {:>20} {:>20}\n",
            e(x),
            e(y),
            e(d)
        ));
    }
    o
}

/// The summary as text.
pub fn text(s: &Summary) -> String {
    let e = |x: &Option<Estimate>, scale: f64, unit: &str| match x {
        Some(x) => format!("{:.2} ± {:.2}{unit}", x.mean * scale, x.ci95 * scale),
        None => "n/a".into(),
    };
    let mut o = format!(
        "ems simulate: {} replications, {} calls each (95 % confidence intervals)\n",
        s.replications,
        e(&s.calls_per_replication, 1.0, "")
    );
    o.push_str(&format!("calls: {}\n", s.calls));
    o.push_str(&format!("travel times: {}\n", s.travel));
    if s.calls_left_out > 0 {
        o.push_str(&format!(
            "{} replayed calls outside the region or off the road map were left out\n",
            s.calls_left_out
        ));
    }
    if s.unstable {
        o.push_str(
            "unstable: demand exceeds capacity (calls were piling up when the last one came; \
             the figures grow with the horizon)\n",
        );
    }
    o.push_str(&format!(
        "  mean response          {}\n  within {:.0} min         {}\n  P90 response           {}\n  calls that waited      {}\n  detention (> {:.0} min)  {}\n  lost hours at EDs      {}\n",
        e(&s.mean_response_min, 1.0, " min"),
        s.response_target_min,
        e(&s.share_within_target, 100.0, " %"),
        e(&s.p90_response_min, 1.0, " min"),
        e(&s.waited_share, 100.0, " %"),
        s.detention_threshold_min,
        e(&s.detention_rate, 100.0, " %"),
        e(&s.lost_hours, 1.0, " h"),
    ));
    if s.stretcher_short_share.is_some() {
        o.push_str(&format!(
            "  no free stretcher      {} of hospital arrivals\n",
            e(&s.stretcher_short_share, 100.0, " %")
        ));
    }
    if s.policy != crate::dispatch::policy::PolicyKind::Static {
        o.push_str(&format!(
            "  move-up policy         {} ({} relocations per unit-hour)\n",
            s.policy,
            e(&s.relocations_per_unit_hour, 1.0, "")
        ));
    }
    o.push_str("By priority\n");
    for (p, m, w) in &s.by_priority {
        o.push_str(&format!(
            "  P{p}: {}, within target {}\n",
            e(m, 1.0, " min"),
            e(w, 100.0, " %")
        ));
    }
    o.push_str("By zone\n");
    for (z, m, w) in &s.by_zone {
        o.push_str(&format!(
            "  {z:<20} {}, within target {}\n",
            e(m, 1.0, " min"),
            e(w, 100.0, " %")
        ));
    }
    o.push_str("Unit busy fractions\n");
    for (u, b) in &s.unit_busy {
        o.push_str(&format!("  {u:<20} {}\n", e(b, 100.0, " %")));
    }
    o
}

/// A detention sweep as text.
pub fn sweep_text(s: &Sweep) -> String {
    let e = |x: &Option<Estimate>, scale: f64| match x {
        Some(x) => format!("{:.2} ± {:.2}", x.mean * scale, x.ci95 * scale),
        None => "n/a".into(),
    };
    let excess = match s.detained_excess_min {
        Dist::LogNormal { median, p90 } => {
            format!("log-normal, median {median} min, P90 {p90} min")
        }
        d => format!("{d:?}"),
    };
    let mut o = format!(
        "ems simulate --detention-sweep: {} replications on the same calls (95 % confidence \
         intervals)\na detained handover lasts {:.0} min plus {excess}; the others stay under \
         {:.0} min\n  {:>9} {:>14} {:>18} {:>18} {:>16} {:>18}\n",
        s.replications,
        s.detention_threshold_min,
        s.detention_threshold_min,
        "detention",
        "measured %",
        "mean response min",
        format!("within {:.0} min %", s.response_target_min),
        "late arrivals %",
        "vs first level s",
    );
    for l in &s.levels {
        o.push_str(&format!(
            "  {:>8}% {:>14} {:>18} {:>18} {:>16} {:>18}\n",
            l.detention_pct,
            e(&l.measured_pct, 1.0),
            e(&l.mean_response_min, 1.0),
            e(&l.share_within_target, 100.0),
            e(&l.late_share, 100.0),
            e(&l.mean_response_diff_s, 1.0),
        ));
    }
    match &s.seconds_per_point {
        Some(x) => o.push_str(&format!(
            "each percentage point of detention costs {:.2} ± {:.2} s of mean response here",
            x.mean, x.ci95
        )),
        None => o.push_str("the cost per point of detention cannot be computed (one level only)"),
    }
    if let Some(w) = &s.within_points_per_point {
        o.push_str(&format!(
            " and changes the share within {:.0} min by {:.3} ± {:.3} points",
            s.response_target_min, w.mean, w.ci95
        ));
    }
    o.push('\n');
    o
}
