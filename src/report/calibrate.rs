//! The text of `ems calibrate`: what was used, the factor per hour, and the errors before and
//! after by hour band and by road class.

use std::fmt::Write;

use crate::standards::calibrate::{Calibration, Errors, MIN_ROWS_PER_HOUR};

fn err(e: &Errors) -> String {
    format!(
        "{:>7.0} s {:>6.1} %",
        e.median_abs_error_s, e.median_abs_pct_error
    )
}

/// The calibration as a text block.
pub fn text(c: &Calibration) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "Traffic calibration from {}", c.source);
    let _ = writeln!(
        o,
        "  drives used     {} of {} incidents ({} outliers left out)",
        c.rows_used, c.rows_in_log, c.outliers
    );
    for (reason, n) in &c.left_out {
        let _ = writeln!(o, "  left out        {n} ({reason})");
    }
    let _ = writeln!(o, "  start point     {:?}", c.start);
    let _ = writeln!(o, "  before          {}", c.model_before);
    let _ = writeln!(
        o,
        "\nFactor against free flow by local hour of the call (median of observed / free flow;\n\
         hours with fewer than {MIN_ROWS_PER_HOUR} drives borrow the hours around them):"
    );
    let _ = writeln!(o, "  hour  factor  drives  window");
    for h in &c.by_hour {
        let w = if h.window_h == 0 {
            String::new()
        } else {
            format!("±{} h", h.window_h)
        };
        let _ = writeln!(o, "  {:>4}  {:>6.3}  {:>6}  {w}", h.hour, h.factor, h.rows);
    }
    let _ = writeln!(
        o,
        "\nMedian absolute error of the drive time (seconds, percent); after = in-sample:"
    );
    let _ = writeln!(
        o,
        "  {:<22} {:>6}  {:>6}  {:>16}  {:>16}",
        "", "drives", "ratio", "before", "after"
    );
    let _ = writeln!(
        o,
        "  {:<22} {:>6}  {:>6}  {:>16}  {:>16}",
        "all",
        c.error_before.rows,
        "",
        err(&c.error_before),
        err(&c.error_after)
    );
    for (title, groups) in [
        ("by hour band", &c.by_band),
        ("by road class at the scene", &c.by_class),
    ] {
        let _ = writeln!(o, "  {title}");
        for g in groups {
            let _ = writeln!(
                o,
                "    {:<20} {:>6}  {:>6.3}  {:>16}  {:>16}",
                g.group,
                g.rows,
                g.median_ratio,
                err(&g.before),
                err(&g.after)
            );
        }
    }
    o
}
