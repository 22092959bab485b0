//! A simulation's figures: estimates over replications with their 95 % confidence intervals
//! (Student t), the summary and each replication's headline figures, and the paired comparison
//! of two plans on the same calls.
//!
//! This module owns the estimates and the result types. It must not compute the indicators
//! (the standards check does, on the simulated log) nor format text (that is
//! [`crate::report::simulate`]).

use serde::Serialize;

use crate::dispatch::policy::PolicyKind;
use crate::model::Incident;

/// An estimate over replications.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    /// Half-width of the 95 % confidence interval (Student t), 0 with one replication.
    pub ci95: f64,
}

pub(super) fn estimate(v: &[f64]) -> Option<Estimate> {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return Some(Estimate { mean, ci95: 0.0 });
    }
    let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    Some(Estimate {
        mean,
        ci95: t975(v.len() - 1) * sd / n.sqrt(),
    })
}

/// The 97.5 % quantile of Student's t with `df ≥ 1` degrees of freedom: the root of statrs'
/// CDF by bisection (its `inverse_cdf` drifts for very large `df`: 1.8266 at 10^7), exact to
/// about 1e-12 for any number of replications.
fn t975(df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let Ok(t) = StudentsT::new(0.0, 1.0, df.max(1) as f64) else {
        return 1.959_963_984_540_054;
    };
    // The quantile lies between the normal's (1.96) and df = 1's (12.71).
    let (mut lo, mut hi) = (1.9, 13.0);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if t.cdf(mid) < 0.975 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The figures of a simulation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub replications: usize,
    pub calls_per_replication: Option<Estimate>,
    pub mean_response_min: Option<Estimate>,
    pub share_within_target: Option<Estimate>,
    pub p90_response_min: Option<Estimate>,
    pub response_target_min: f64,
    /// By priority: (priority, mean response, share within target).
    pub by_priority: Vec<(u8, Option<Estimate>, Option<Estimate>)>,
    /// By zone: (zone, mean response, share within target).
    pub by_zone: Vec<(String, Option<Estimate>, Option<Estimate>)>,
    pub detention_rate: Option<Estimate>,
    pub detention_threshold_min: f64,
    pub lost_hours: Option<Estimate>,
    /// Share of calls that waited for a free unit.
    pub waited_share: Option<Estimate>,
    /// Busy fraction of each unit.
    pub unit_busy: Vec<(String, Option<Estimate>)>,
    /// In some replication at least 1 % of the calls (and 10) were still waiting for a unit
    /// when the last call came: demand exceeds capacity, and the figures depend on the horizon.
    pub unstable: bool,
    /// Replayed calls outside the region or off the road map, left out.
    pub calls_left_out: usize,
    /// The travel model behind the times: free flow, or the traffic profile at each call's
    /// local hour (times the `hour_factor` option where it is not 1).
    pub travel: String,
    /// Where the calls come from: generated per zone (by residents, or fitted to a log) or
    /// replayed.
    pub calls: String,
    /// The move-up policy.
    pub policy: PolicyKind,
    /// Relocations per unit per hour of the simulated period.
    pub relocations_per_unit_hour: Option<Estimate>,
    /// Hospital arrivals that found no free stretcher (`null` without stretcher counts).
    pub stretcher_short_share: Option<Estimate>,
}

/// One replication's headline figures (for paired comparisons).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RepFigures {
    pub mean_response_min: Option<f64>,
    pub share_within_target: Option<f64>,
    pub p90_response_min: Option<f64>,
    pub detention_rate: Option<f64>,
    pub lost_hours: f64,
    pub waited_share: f64,
    pub relocations_per_unit_hour: f64,
}

/// The simulation's output: figures, each replication's headline figures, and the first
/// replication's incident log.
pub struct Outcome {
    pub summary: Summary,
    pub reps: Vec<RepFigures>,
    pub incidents: Vec<Incident>,
}

/// Plan B against plan A on the same calls (common random numbers): each figure for both, and
/// the paired difference `B − A` with its 95 % confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub rows: Vec<ComparisonRow>,
}

/// `(figure, A, B, B − A)`.
pub type ComparisonRow = (String, Option<Estimate>, Option<Estimate>, Option<Estimate>);

/// Compares two outcomes replication by replication.
pub fn compare(a: &Outcome, b: &Outcome) -> Comparison {
    type Get = fn(&RepFigures) -> Option<f64>;
    let figures: [(&str, Get); 8] = [
        ("mean response (min)", |r| r.mean_response_min),
        ("share within target", |r| r.share_within_target),
        ("late arrivals", |r| r.share_within_target.map(|w| 1.0 - w)),
        ("P90 response (min)", |r| r.p90_response_min),
        ("detention rate", |r| r.detention_rate),
        ("lost hours at EDs", |r| Some(r.lost_hours)),
        ("calls that waited", |r| Some(r.waited_share)),
        ("relocations/unit-hour", |r| {
            Some(r.relocations_per_unit_hour)
        }),
    ];
    let rows = figures
        .iter()
        .map(|(name, get)| {
            let va: Vec<f64> = a.reps.iter().filter_map(get).collect();
            let vb: Vec<f64> = b.reps.iter().filter_map(get).collect();
            let diff: Vec<f64> = a
                .reps
                .iter()
                .zip(&b.reps)
                .filter_map(|(x, y)| Some(get(y)? - get(x)?))
                .collect();
            (
                name.to_string(),
                estimate(&va),
                estimate(&vb),
                estimate(&diff),
            )
        })
        .collect();
    Comparison { rows }
}

#[cfg(test)]
mod tests {
    /// Published two-sided 95 % critical values (e.g. NIST/SEMATECH e-Handbook, Table 1.4.2),
    /// and the normal limit.
    #[test]
    fn student_t_quantiles() {
        for (df, t) in [
            (1, 12.706),
            (2, 4.303),
            (9, 2.262),
            (30, 2.042),
            (31, 2.040),
            (40, 2.021),
            (60, 2.000),
            (100, 1.984),
        ] {
            assert!(
                (super::t975(df) - t).abs() < 5e-4,
                "df {df}: {}",
                super::t975(df)
            );
        }
        for df in [1_000_000, 10_000_000] {
            assert!(
                (super::t975(df) - 1.959_964).abs() < 1e-5,
                "{}",
                super::t975(df)
            );
        }
    }
}
