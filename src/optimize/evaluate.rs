//! What-if evaluation: the effect of adding or removing stations, one change at a time and all
//! together, ranked.
//!
//! This module owns applying changes to a scenario and ranking them. It must not compute
//! indicators of its own: every figure comes from [`crate::standards::check`] on the changed
//! scenario, run without the incident log (the log describes the past, not the change).

use serde::Serialize;

pub use super::change::Change;
use super::change::{self, UnknownStation};
use crate::model::{IncidentLog, Scenario};
use crate::network::TravelModel;
use crate::standards::{self, CheckError, CheckOptions, CheckReport, Targets};

/// One evaluated variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variant {
    pub label: String,
    /// Population-weighted modelled mean response, minutes.
    pub mean_response_min: f64,
    /// Share of residents within the response target (modelled).
    pub share_within_target: f64,
    /// Change against the current network (negative is faster).
    pub mean_response_change_min: f64,
    pub share_within_target_change: f64,
    /// The standards table for this variant.
    pub targets: Vec<standards::TargetResult>,
    /// The travel model and hours behind the modelled figures.
    pub travel: String,
}

/// Why an evaluation cannot run.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// `--remove-station` names a station the scenario does not have.
    #[error(transparent)]
    UnknownStation(#[from] UnknownStation),
    /// No change was given.
    #[error("nothing to evaluate: give --add-site LON,LAT or --remove-station ID")]
    Nothing,
    #[error(transparent)]
    Check(#[from] CheckError),
    /// The optimisation behind a plan failed.
    #[error(transparent)]
    Plan(#[from] super::plan::PlanError),
}

/// The current network and the network after a set of changes, both checked without the log:
/// the before/after a planner compares.
#[derive(Debug, Clone)]
pub struct BeforeAfter {
    pub before: CheckReport,
    pub after: CheckReport,
    /// The scenario with the changes applied.
    pub after_scenario: Scenario,
}

/// Checks the current network and the network with all `changes` applied together (the
/// "all changes together" variant of [`evaluate`]). `changes` may be empty (after = before).
pub fn before_after(
    sc: &Scenario,
    tm: &TravelModel,
    changes: &[Change],
    targets: &Targets,
    opts: &CheckOptions,
    source: &str,
) -> Result<BeforeAfter, EvaluateError> {
    let none = IncidentLog::default();
    let after_scenario = change::apply(sc, changes, source)?;
    Ok(BeforeAfter {
        before: standards::check(sc, tm, &none, targets, opts)?,
        after: standards::check(&after_scenario, tm, &none, targets, opts)?,
        after_scenario,
    })
}

/// A station plan ([`super::plan::plan`]) with the standards before and after it, each new
/// site opened with `ambulances_per_site`.
pub fn plan_before_after(
    sc: &Scenario,
    tm: &TravelModel,
    req: &super::plan::PlanRequest,
    ambulances_per_site: u32,
    targets: &Targets,
    opts: &CheckOptions,
) -> Result<(super::plan::Plan, BeforeAfter), EvaluateError> {
    let plan = super::plan::plan(sc, tm, req)?;
    let changes = plan.changes(sc, ambulances_per_site);
    let ba = before_after(sc, tm, &changes, targets, opts, "ems optimize")?;
    Ok((plan, ba))
}

/// The `source` of what-if stations.
const SOURCE: &str = "ems evaluate";

fn variant(label: String, r: &CheckReport, base: Option<&CheckReport>) -> Variant {
    let figures = |r: &CheckReport| {
        let m = r.modelled_response.as_ref();
        (
            m.and_then(|m| m.summary.as_ref())
                .map_or(f64::NAN, |s| s.mean),
            m.and_then(|m| m.share_within_target).unwrap_or(f64::NAN),
        )
    };
    let (mean, share) = figures(r);
    let (bm, bs) = base.map_or((mean, share), figures);
    Variant {
        label,
        mean_response_min: mean,
        share_within_target: share,
        mean_response_change_min: mean - bm,
        share_within_target_change: share - bs,
        targets: r.targets.clone(),
        travel: r
            .modelled_response
            .as_ref()
            .map_or_else(String::new, |m| m.travel.clone()),
    }
}

/// Evaluates the current network, each change alone, and all changes together. Returns the
/// current network first, then the variants ranked by modelled mean response (fastest first;
/// ties by coverage).
pub fn evaluate(
    sc: &Scenario,
    tm: &TravelModel,
    changes: &[Change],
    targets: &Targets,
    opts: &CheckOptions,
) -> Result<Vec<Variant>, EvaluateError> {
    if changes.is_empty() {
        return Err(EvaluateError::Nothing);
    }
    change::check(sc, changes)?;
    let none = IncidentLog::default();
    let base = standards::check(sc, tm, &none, targets, opts)?;
    let mut out = vec![variant("current network".into(), &base, None)];
    let mut ranked = Vec::new();
    for c in changes {
        let v = change::apply(sc, [c], SOURCE)?;
        ranked.push(variant(
            c.label(),
            &standards::check(&v, tm, &none, targets, opts)?,
            Some(&base),
        ));
    }
    if changes.len() > 1 {
        let v = change::apply(sc, changes, SOURCE)?;
        ranked.push(variant(
            "all changes together".into(),
            &standards::check(&v, tm, &none, targets, opts)?,
            Some(&base),
        ));
    }
    ranked.sort_by(|a, b| {
        a.mean_response_min
            .total_cmp(&b.mean_response_min)
            .then(b.share_within_target.total_cmp(&a.share_within_target))
    });
    out.extend(ranked);
    Ok(out)
}
