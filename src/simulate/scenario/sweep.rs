//! The detention sweep: the simulation at each share of detained hospital arrivals on the
//! same calls, and what each point of detention costs in response.
//!
//! This module owns the sweep and its slopes. It must not run the engine itself (it calls
//! [`super::simulate`] once per level).

use serde::Serialize;

use super::figures::estimate;
use super::{Estimate, Prepared, RepFigures, SimOptions, simulate};
use crate::model::Scenario;
use crate::simulate::des::{DetentionMix, Dist, Service, SimError};

/// One detention level of [`detention_sweep`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepLevel {
    /// The share of hospital arrivals made detained, percent.
    pub detention_pct: f64,
    /// The detention measured (bay waits come on top), percent.
    pub measured_pct: Option<Estimate>,
    pub mean_response_min: Option<Estimate>,
    pub share_within_target: Option<Estimate>,
    /// Calls reached beyond the target.
    pub late_share: Option<Estimate>,
    /// Mean response minus the first level's, seconds, paired by replication.
    pub mean_response_diff_s: Option<Estimate>,
    pub lost_hours: Option<Estimate>,
}

/// What detention costs in response: each level on the same calls, and the slopes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sweep {
    pub replications: usize,
    pub response_target_min: f64,
    pub detention_threshold_min: f64,
    /// A detained handover lasts the threshold plus a draw of this (minutes).
    pub detained_excess_min: Dist,
    pub levels: Vec<SweepLevel>,
    /// Seconds of mean response per percentage point of measured detention: the least-squares
    /// slope within each replication, then its mean and 95 % interval over replications.
    pub seconds_per_point: Option<Estimate>,
    /// Percentage points of calls within the target per percentage point of detention.
    pub within_points_per_point: Option<Estimate>,
}

/// Least-squares slope of `y` on `x` (`None` when `x` does not vary).
fn slope(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let sxx: f64 = x.iter().map(|a| (a - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    (sxx > 1e-12).then(|| sxy / sxx)
}

/// Runs the simulation at each detention level (percent of hospital arrivals detained, see
/// [`DetentionMix`]) on the same calls, and estimates what each point of detention costs.
pub fn detention_sweep(
    sc: &Scenario,
    p: &mut Prepared,
    o: &SimOptions,
    levels_pct: &[f64],
    excess_min: Dist,
) -> Result<Sweep, SimError> {
    if levels_pct.is_empty() {
        return Err(SimError::Invalid(
            "--detention-sweep needs at least one level".into(),
        ));
    }
    if let Some(bad) = levels_pct
        .iter()
        .find(|l| !(l.is_finite() && (0.0..=100.0).contains(*l)))
    {
        return Err(SimError::Invalid(format!(
            "--detention-sweep: level {bad} is not a percentage between 0 and 100"
        )));
    }
    excess_min.check("--detained-excess-min")?;
    let mut outs = Vec::new();
    for &l in levels_pct {
        if let Service::Road(r) = &mut p.model.service {
            r.detention = Some(DetentionMix {
                share: l / 100.0,
                excess_min,
            });
        }
        outs.push(simulate(sc, p, o)?);
    }
    if let Service::Road(r) = &mut p.model.service {
        r.detention = None;
    }
    let reps = o.replications;
    let per_rep = |get: &dyn Fn(&RepFigures) -> Option<f64>, k: usize| -> Vec<f64> {
        outs.iter().filter_map(|out| get(&out.reps[k])).collect()
    };
    let mut secs = Vec::new();
    let mut within = Vec::new();
    for k in 0..reps {
        let x = per_rep(&|r| r.detention_rate.map(|d| d * 100.0), k);
        let y = per_rep(&|r| r.mean_response_min.map(|m| m * 60.0), k);
        let w = per_rep(&|r| r.share_within_target.map(|m| m * 100.0), k);
        if x.len() == outs.len() && y.len() == outs.len() {
            secs.extend(slope(&x, &y));
        }
        if x.len() == outs.len() && w.len() == outs.len() {
            within.extend(slope(&x, &w));
        }
    }
    let levels = outs
        .iter()
        .zip(levels_pct)
        .map(|(out, &l)| {
            let diff: Vec<f64> = out
                .reps
                .iter()
                .zip(&outs[0].reps)
                .filter_map(|(b, a)| Some((b.mean_response_min? - a.mean_response_min?) * 60.0))
                .collect();
            let col = |get: &dyn Fn(&RepFigures) -> Option<f64>| {
                estimate(&out.reps.iter().filter_map(get).collect::<Vec<_>>())
            };
            SweepLevel {
                detention_pct: l,
                measured_pct: col(&|r| r.detention_rate.map(|d| d * 100.0)),
                mean_response_min: out.summary.mean_response_min,
                share_within_target: out.summary.share_within_target,
                late_share: col(&|r| r.share_within_target.map(|w| 1.0 - w)),
                mean_response_diff_s: estimate(&diff),
                lost_hours: out.summary.lost_hours,
            }
        })
        .collect();
    Ok(Sweep {
        replications: reps,
        response_target_min: o.response_target_min,
        detention_threshold_min: o.detention_threshold_min,
        detained_excess_min: excess_min,
        levels,
        seconds_per_point: estimate(&secs),
        within_points_per_point: estimate(&within),
    })
}
