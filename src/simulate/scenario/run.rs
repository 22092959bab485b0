//! Running a scenario: the replications in parallel, each replication's calls streamed
//! through the engine and each finished call added to the response and detention sums by the
//! standards' own definitions, then the summary over replications.
//!
//! This module owns the replications and the summary. It must not define the indicators (it
//! feeds the simulated log to [`crate::standards`]) nor keep more than the figures of each
//! replication (and the first one's log when asked).

use chrono::Duration;
use rayon::prelude::*;

use super::calls::{calls_text, generate};
use super::figures::estimate;
use super::{Estimate, Outcome, Prepared, RepFigures, SimOptions, Summary};
use crate::model::{Capability, Incident, Scenario};
use crate::simulate::des::{Call, CallRecord, SimError, run_with};
use crate::standards::log::{DetentionSums, HandoverRules, ResponseSums};
use crate::standards::{self, DataQuality, ZoneAssigner};

fn condition_name(c: Option<Capability>) -> Option<String> {
    c.map(|c| c.as_str().to_string())
}

/// Call `k` of a replication as the incident log the standards check reads.
fn to_incident(p: &Prepared, k: usize, c: &Call, rec: &CallRecord) -> Incident {
    let at = |s: f64| p.origin + Duration::milliseconds((s * 1000.0).round() as i64);
    Incident {
        line: k as u64 + 2,
        dispatched: rec.dispatched.map(at),
        departed: rec.departed.map(at),
        on_scene: rec.on_scene.map(at),
        at_hospital: rec.at_hospital.map(at),
        handover_complete: rec.handover_complete.map(at),
        unit: rec.unit.map(|u| p.model.unit_ids[u].clone()),
        hospital: rec.hospital.map(|h| p.model.hospitals[h].id.clone()),
        condition: condition_name(c.condition),
        zone: p.atom_zone[c.atom].clone(),
        ..Incident::call(
            p.trace_ids
                .get(k)
                .cloned()
                .unwrap_or_else(|| format!("sim-{:06}", k + 1)),
            at(rec.received),
            c.priority,
            p.atom_point[c.atom],
        )
    }
}

/// One replication's figures (its incidents are summed as they finish, not kept).
struct Rep {
    calls: usize,
    response: standards::log::Response,
    detention: standards::log::Detention,
    busy: Vec<f64>,
    waited: f64,
    unstable: bool,
    relocations_per_unit_hour: f64,
    /// Hospital arrivals that found no free stretcher (`None`: no hospital counts them).
    stretcher_short: Option<f64>,
    incidents: Option<Vec<Incident>>,
}

/// Runs replication `k`: its calls stream through the engine and each finished call is added
/// to the response and detention sums by the standards' own definitions.
fn replicate(
    sc: &Scenario,
    p: &Prepared,
    o: &SimOptions,
    zones: &ZoneAssigner,
    k: u64,
) -> Result<Rep, SimError> {
    let seed = o.seed.wrapping_mul(1_000_003).wrapping_add(k);
    let calls: Box<dyn Iterator<Item = Call> + '_> = match &p.trace {
        Some(c) => Box::new(c.iter().cloned()),
        None => Box::new(generate(p, o, seed)),
    };
    let mut resp = ResponseSums::default();
    let mut det = DetentionSums::default();
    let mut dq = DataQuality::default();
    let mut kept = (o.keep_incidents && k == 0).then(Vec::new);
    let r = run_with(&p.model, calls, seed, false, &mut |i, c, rec| {
        let inc = to_incident(p, i, c, rec);
        resp.push(&inc, zones.zone_of(&inc).map(str::to_string), &mut dq);
        det.push(&inc, &mut dq);
        if let Some(v) = &mut kept {
            v.push(inc);
        }
    })?;
    if let Some(v) = &mut kept {
        v.sort_by_key(|i| i.line);
    }
    let rules = HandoverRules {
        detention_threshold_min: o.detention_threshold_min,
        thresholds_min: &standards::targets::DEFAULT_HANDOVER_THRESHOLDS_MIN,
        lost_after_min: standards::targets::DEFAULT_HANDOVER_LOST_AFTER_MIN,
    };
    // Only the figures stay: the samples behind them would grow with the replications.
    let mut response = resp.finish(o.response_target_min);
    response.samples_min = Vec::new();
    let mut detention = det.finish(&|id| standards::hospital_name(sc, id), &rules);
    detention.samples_min = Vec::new();
    for h in &mut detention.per_hospital {
        h.samples_min = Vec::new();
    }
    if let Some(w) = &mut detention.wall_time_proxy {
        for h in &mut w.per_hospital {
            h.samples_min = Vec::new();
        }
    }
    let horizon = r.horizon_s.max(1e-9);
    let unit_hours = r.unit_busy_s.len() as f64 * horizon / 3600.0;
    Ok(Rep {
        calls: r.calls,
        response,
        detention,
        busy: r.unit_busy_s.iter().map(|b| b / horizon).collect(),
        waited: r.waited as f64 / r.calls.max(1) as f64,
        unstable: r.left_waiting >= 10 && r.left_waiting * 100 >= r.calls,
        relocations_per_unit_hour: r.relocations as f64 / unit_hours.max(1e-9),
        stretcher_short: (!o.stretchers.is_empty() && r.hospital_arrivals > 0)
            .then(|| r.stretcher_short as f64 / r.hospital_arrivals as f64),
        incidents: kept,
    })
}

/// Runs the replications in parallel and summarises them. Each replication is reduced to its
/// figures as it finishes, so memory does not grow with the number of replications.
pub fn simulate(sc: &Scenario, p: &Prepared, o: &SimOptions) -> Result<Outcome, SimError> {
    let zones = ZoneAssigner::new(sc);
    let reps: Vec<Result<Rep, SimError>> = (0..o.replications as u64)
        .into_par_iter()
        .map(|k| replicate(sc, p, o, &zones, k))
        .collect();
    let mut reps: Vec<Rep> = reps.into_iter().collect::<Result<_, _>>()?;
    let col = |f: &dyn Fn(&Rep) -> Option<f64>| -> Option<Estimate> {
        estimate(&reps.iter().filter_map(f).collect::<Vec<_>>())
    };
    let mut priorities: Vec<u8> = reps
        .iter()
        .flat_map(|r| r.response.by_priority.keys().copied())
        .collect();
    priorities.sort_unstable();
    priorities.dedup();
    let mut zone_ids: Vec<String> = reps
        .iter()
        .flat_map(|r| r.response.by_zone.keys().cloned())
        .collect();
    zone_ids.sort();
    zone_ids.dedup();
    let overall = |r: &Rep| r.response.overall.clone();
    let summary = Summary {
        replications: reps.len(),
        calls_per_replication: col(&|r| Some(r.calls as f64)),
        mean_response_min: col(&|r| overall(r).map(|g| g.summary.mean)),
        share_within_target: col(&|r| overall(r).map(|g| g.share_within_target)),
        p90_response_min: col(&|r| overall(r).map(|g| g.summary.p90)),
        response_target_min: o.response_target_min,
        by_priority: priorities
            .iter()
            .map(|pr| {
                (
                    *pr,
                    col(&|r| r.response.by_priority.get(pr).map(|g| g.summary.mean)),
                    col(&|r| {
                        r.response
                            .by_priority
                            .get(pr)
                            .map(|g| g.share_within_target)
                    }),
                )
            })
            .collect(),
        by_zone: zone_ids
            .iter()
            .map(|z| {
                (
                    z.clone(),
                    col(&|r| r.response.by_zone.get(z).map(|g| g.summary.mean)),
                    col(&|r| r.response.by_zone.get(z).map(|g| g.share_within_target)),
                )
            })
            .collect(),
        detention_rate: col(&|r| r.detention.rate),
        detention_threshold_min: o.detention_threshold_min,
        lost_hours: col(&|r| Some(r.detention.lost_hours)),
        waited_share: col(&|r| Some(r.waited)),
        unit_busy: p
            .model
            .unit_ids
            .iter()
            .enumerate()
            .map(|(u, id)| (id.clone(), col(&|r| Some(r.busy[u]))))
            .collect(),
        unstable: reps.iter().any(|r| r.unstable),
        calls_left_out: p.calls_left_out,
        travel: p.travel.clone(),
        calls: calls_text(p, o),
        policy: o.policy.kind,
        relocations_per_unit_hour: col(&|r| Some(r.relocations_per_unit_hour)),
        stretcher_short_share: col(&|r| r.stretcher_short),
    };
    let figures = reps
        .iter()
        .map(|r| {
            let g = overall(r);
            RepFigures {
                mean_response_min: g.as_ref().map(|g| g.summary.mean),
                share_within_target: g.as_ref().map(|g| g.share_within_target),
                p90_response_min: g.as_ref().map(|g| g.summary.p90),
                detention_rate: r.detention.rate,
                lost_hours: r.detention.lost_hours,
                waited_share: r.waited,
                relocations_per_unit_hour: r.relocations_per_unit_hour,
            }
        })
        .collect();
    let incidents = reps
        .first_mut()
        .and_then(|r| r.incidents.take())
        .unwrap_or_default();
    Ok(Outcome {
        summary,
        reps: figures,
        incidents,
    })
}
