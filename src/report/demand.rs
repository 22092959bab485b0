//! The demand fitted to an incident log, and its backtest, as text and CSV.

use crate::simulate::demand::{LogDemand, WEEK_HOURS};

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn hour_name(h: usize) -> String {
    format!("{} {:02}:00", DAYS[(h / 24) % 7], h % 24)
}

/// The fit and the backtest as text.
pub fn text(d: &LogDemand) -> String {
    let m = &d.fitted;
    let mut o = format!(
        "ems demand: {}, {} calls in {} zones, {} .. {} ({:.1} weeks)\n",
        d.source,
        d.calls_used,
        d.zones.len(),
        d.first_call,
        d.last_call,
        d.weeks
    );
    if d.left_outside_region + d.left_no_zone > 0 {
        o.push_str(&format!(
            "left out: {} calls with a location outside the region, {} without a location or \
             a known zone\n",
            d.left_outside_region, d.left_no_zone
        ));
    }
    o.push_str(&format!(
        "fitted: {:.1} calls per week; zone shares shrunk toward {} (α = {} calls' worth), \
         each hour of the week toward the same hour of day (β = {}) and the flat week (γ = {}), \
         {}\n",
        m.calls_per_week,
        d.prior,
        d.smoothing.alpha,
        d.smoothing.beta,
        d.smoothing.gamma,
        if d.smoothing_chosen {
            "chosen by predicting the log's last quarter from the rest"
        } else {
            "defaults (too few calls to choose)"
        }
    ));
    let mut hours: Vec<usize> = (0..WEEK_HOURS).collect();
    hours.sort_by(|a, b| m.profile[*b].total_cmp(&m.profile[*a]).then(a.cmp(b)));
    let list = |hs: &[usize]| {
        hs.iter()
            .map(|h| format!("{} {:.2}×", hour_name(*h), m.profile[*h]))
            .collect::<Vec<_>>()
            .join(", ")
    };
    o.push_str(&format!(
        "busiest hours of the week: {}\n",
        list(&hours[..3])
    ));
    o.push_str(&format!(
        "quietest hours of the week: {}\n",
        list(&hours[WEEK_HOURS - 3..])
    ));
    let days: Vec<String> = (0..7)
        .map(|day| {
            let s: f64 = m.profile[day * 24..day * 24 + 24].iter().sum();
            format!("{} {:.1} %", DAYS[day], s / WEEK_HOURS as f64 * 100.0)
        })
        .collect();
    o.push_str(&format!("share by day: {}\n", days.join(", ")));
    let mut zones: Vec<usize> = (0..d.zones.len()).collect();
    zones.sort_by(|a, b| m.zone_share[*b].total_cmp(&m.zone_share[*a]).then(a.cmp(b)));
    o.push_str(&format!(
        "zones by share of calls (top {} of {}; prior = {}):\n",
        zones.len().min(10),
        zones.len(),
        d.prior
    ));
    for &z in zones.iter().take(10) {
        o.push_str(&format!(
            "  {:<24} {:>6.2} %  (prior {:>6.2} %)  {:.2} calls per week\n",
            d.zones[z],
            m.zone_share[z] * 100.0,
            d.prior_share[z] * 100.0,
            m.calls_per_week * m.zone_share[z]
        ));
    }
    match &d.backtest {
        None => o.push_str(
            "backtest: not computed (a part of the log would hold no calls; give a longer log)\n",
        ),
        Some(b) => {
            o.push_str(&format!(
                "backtest: fitted on the first {:.0} % ({:.1} weeks, {} calls), scored on the \
                 last {:.0} % ({:.1} weeks, {} calls); errors per zone × hour-of-week cell:\n",
                (1.0 - d.holdout) * 100.0,
                b.train_weeks,
                b.train_calls,
                d.holdout * 100.0,
                b.test_weeks,
                b.test_calls
            ));
            o.push_str(&format!(
                "  {:<48} {:>10} {:>10}\n",
                "model", "MAE", "deviance"
            ));
            for r in &b.rows {
                o.push_str(&format!(
                    "  {:<48} {:>10.4} {:>10.4}\n",
                    r.model, r.errors.mae, r.errors.deviance
                ));
            }
        }
    }
    o
}

/// Expected calls per hour by zone and hour of week: `zone,hour_of_week,day,hour,calls_per_hour`.
pub fn rates_csv(d: &LogDemand) -> Result<String, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["zone", "hour_of_week", "day", "hour", "calls_per_hour"])?;
    for (z, id) in d.zones.iter().enumerate() {
        for h in 0..WEEK_HOURS {
            w.write_record([
                id.clone(),
                h.to_string(),
                DAYS[h / 24].to_string(),
                (h % 24).to_string(),
                format!("{:.6}", d.fitted.rate(z, h)),
            ])?;
        }
    }
    let bytes = w.into_inner().map_err(|e| e.into_error())?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
