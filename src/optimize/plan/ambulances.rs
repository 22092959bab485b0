//! Ambulance placement: MEXCLP and backup coverage over the stations and candidates, the busy
//! fraction from an incident log, and the compliance table of postings by free units.
//!
//! This module owns those plans' before/after figures. It must not build the problem (that is
//! `super::problem`) nor format output.

use super::problem::Problem;
use super::{
    BusyEstimate, DemandSource, FleetPlan, FleetRequest, FleetSite, Model, PlanError, PlanRequest,
    Standard,
};
use crate::model::{IncidentLog, Scenario};
use crate::network::TravelModel;
use crate::optimize::Certificate;
use crate::optimize::backup::{self, DoubleCoverage};
use crate::optimize::fleet::FleetOptions;
use crate::optimize::mexclp;
use crate::standards::Source;

/// MEXCLP's busy fraction from an incident log: calls per hour over the log's span, times the
/// mean job time, over the fleet. A job runs from dispatch to the unit back in service
/// (`available`) where the log records it; otherwise to the last recorded stage (handover, else
/// hospital arrival, else on scene) plus the drive back taken as long as the drive out
/// (departure to on scene).
pub fn busy_from_log(log: &IncidentLog, fleet: usize) -> Result<BusyEstimate, PlanError> {
    let calls = &log.incidents;
    let (Some(first), Some(last)) = (
        calls.iter().map(|c| c.call_received).min(),
        calls.iter().map(|c| c.call_received).max(),
    ) else {
        return Err(PlanError::Invalid(
            "no incident log to estimate the busy fraction from: give it (--busy)".into(),
        ));
    };
    let hours = (last - first).num_seconds() as f64 / 3600.0;
    if hours < 24.0 {
        return Err(PlanError::Invalid(format!(
            "the incident log spans {hours:.1} h, too short to estimate the call rate: give the \
             busy fraction (--busy)"
        )));
    }
    let jobs: Vec<f64> = calls
        .iter()
        .filter_map(|c| {
            let d = c.dispatched?;
            if let Some(back) = c.available {
                let s = (back - d).num_seconds() as f64;
                return (s >= 0.0).then_some(s / 3600.0);
            }
            let scene = c.on_scene?;
            let end = c.handover_complete.or(c.at_hospital).unwrap_or(scene);
            let out = scene - c.departed.unwrap_or(d);
            let s = (end - d + out).num_seconds() as f64;
            (s >= 0.0).then_some(s / 3600.0)
        })
        .collect();
    if jobs.is_empty() {
        return Err(PlanError::Invalid(
            "no incident has dispatch and on-scene times to measure a job: give the busy \
             fraction (--busy)"
                .into(),
        ));
    }
    let calls_per_hour = calls.len() as f64 / hours;
    let job_h = jobs.iter().sum::<f64>() / jobs.len() as f64;
    let q = mexclp::busy_fraction(calls_per_hour, job_h, fleet)?;
    Ok(BusyEstimate {
        q,
        source: Source::IncidentLog,
        calls_per_hour: Some(calls_per_hour),
        mean_job_min: Some(job_h * 60.0),
        jobs_measured: jobs.len(),
    })
}

/// Places ambulances over the existing stations and any extra candidates (MEXCLP or backup
/// coverage). Ambulances move freely between sites; the current fleet is the "before".
pub fn plan_fleet(
    sc: &Scenario,
    tm: &TravelModel,
    req: &PlanRequest,
    fr: &FleetRequest,
) -> Result<FleetPlan, PlanError> {
    let t0 = std::time::Instant::now();
    let population: f64 = sc.demand.iter().map(|z| z.population).sum();
    let (ambulances, ambulances_source) = match fr.ambulances {
        Some(a) => (a, "given".to_string()),
        None => {
            let a = (population / 30_000.0).ceil() as usize;
            (
                a.max(1),
                format!("ceil({population:.0} residents / 30,000)"),
            )
        }
    };
    let pb = Problem::build(sc, tm, req)?;
    let (n, m) = (pb.n, pb.m);
    let mut before = vec![0usize; m];
    for (j, st) in sc.stations.iter().enumerate() {
        before[j] = st.ambulances as usize;
    }
    let current_fleet: usize = before.iter().sum();
    let (cost, limit) = pb.standard(req.standard);
    let near: Vec<bool> = cost.iter().map(|c| *c <= limit).collect();
    let o = FleetOptions {
        max_per_site: fr.max_per_site,
        solve: req.solve.clone(),
        ..FleetOptions::new(ambulances)
    };
    let cov = crate::optimize::mclp::Coverage {
        weights: pb.w.clone(),
        m,
        covers: near.clone(),
    };
    let (sol, busy, objective_before) = match req.model {
        Model::Mexclp => {
            let busy = match fr.busy {
                Some(q) => BusyEstimate {
                    q,
                    source: Source::Given,
                    calls_per_hour: None,
                    mean_job_min: None,
                    jobs_measured: 0,
                },
                None => busy_from_log(&sc.incidents, ambulances)?,
            };
            let sol = mexclp::solve(&cov, busy.q, &o).map_err(|e| pb.named(e, "ambulances"))?;
            let ob = mexclp::expected_covered(&cov, &before, busy.q);
            (sol, Some(busy), ob)
        }
        Model::Backup => {
            let sec = fr.secondary.ok_or_else(|| {
                PlanError::Invalid("backup coverage needs a secondary standard".into())
            })?;
            let (c2, l2) = pb.standard(sec);
            let far: Vec<bool> = near.iter().zip(c2).map(|(nr, c)| *nr || *c <= l2).collect();
            let dc = DoubleCoverage {
                weights: pb.w.clone(),
                m,
                near: near.clone(),
                far,
            };
            let sol = backup::solve(&dc, fr.alpha, &o).map_err(|e| pb.named(e, "ambulances"))?;
            let ob = dc.achieved(&before).double;
            (sol, None, ob)
        }
        _ => {
            return Err(PlanError::Invalid(
                "plan_fleet places ambulances: use mexclp or backup".into(),
            ));
        }
    };
    let twice = |x: &[usize]| -> f64 {
        (0..n)
            .filter(|&i| {
                (0..m)
                    .filter(|&j| near[j * n + i])
                    .map(|j| x[j])
                    .sum::<usize>()
                    >= 2
            })
            .map(|i| pb.w[i])
            .sum()
    };
    let open_of = |x: &[usize]| -> Vec<usize> { (0..m).filter(|&j| x[j] > 0).collect() };
    // New sites are numbered in order among those that receive ambulances.
    let mut added = 0;
    let sites = (0..m)
        .filter(|&j| before[j] > 0 || sol.per_site[j] > 0)
        .map(|j| FleetSite {
            id: if j < pb.existing {
                sc.stations[j].id.clone()
            } else {
                added += 1;
                crate::model::Station::new_site_id(added - 1)
            },
            lon_lat: pb.cand[j].input,
            before: before[j],
            after: sol.per_site[j],
        })
        .collect();
    Ok(FleetPlan {
        model: req.model,
        ambulances,
        ambulances_source,
        current_fleet,
        busy,
        sites,
        cert: Certificate {
            seconds: t0.elapsed().as_secs_f64(),
            ..sol.cert
        },
        objective_before,
        total_demand: sol.total_demand,
        covered_before: pb.covered_by(&open_of(&before), req.standard),
        covered_after: pb.covered_by(&open_of(&sol.per_site), req.standard),
        covered_twice_before: twice(&before),
        covered_twice_after: twice(&sol.per_site),
        mean_response_before_min: pb.mean_min(&open_of(&before)),
        mean_response_after_min: pb.mean_min(&open_of(&sol.per_site)),
        candidates: m,
        demand_points: n,
        unreachable_demand: pb.unreachable.clone(),
    })
}

/// A compliance table ([`crate::dispatch::policy`]): for each number of free units `k` = 1..N
/// (N = `fr.ambulances`, else the scenario's fleet), the posting over the scenario's stations
/// that maximises expected coverage (the MEXCLP with `k` units and the busy fraction of `fr`,
/// solved with its certified bound), in the order that moves the fewest units between
/// consecutive levels.
///
/// Relocation-minimising: level `k` is the previous level plus the one station that adds the
/// most, unless that loses more than `nesting_tolerance` (a share, e.g. 0.005) of the
/// optimum's expected coverage; then it is the optimum. Either way the gap is measured
/// against the certified bound of the `k`-unit MEXCLP. Posts the previous level already had
/// come first, in its order.
pub fn compliance_table(
    sc: &Scenario,
    tm: &TravelModel,
    req: &PlanRequest,
    fr: &FleetRequest,
    nesting_tolerance: f64,
) -> Result<crate::dispatch::policy::ComplianceTable, PlanError> {
    use crate::dispatch::policy::{ComplianceTable, TableLevel};
    let req = PlanRequest {
        candidate_points: Vec::new(),
        grid_m: None,
        ..req.clone()
    };
    let pb = Problem::build(sc, tm, &req)?;
    let fleet: usize = sc.stations.iter().map(|s| s.ambulances as usize).sum();
    let units = fr.ambulances.unwrap_or(fleet);
    if units == 0 {
        return Err(PlanError::Invalid(
            "the scenario has no ambulances: give the fleet size (--fleet)".into(),
        ));
    }
    let busy = match fr.busy {
        Some(q) => q,
        None => busy_from_log(&sc.incidents, units)?.q,
    };
    let (cost, limit) = pb.standard(req.standard);
    let cov = crate::optimize::mclp::Coverage {
        weights: pb.w.clone(),
        m: pb.m,
        covers: cost.iter().map(|c| *c <= limit).collect(),
    };
    let levels = crate::optimize::compliance::levels(
        &cov,
        busy,
        units,
        fr.max_per_site,
        &req.solve,
        nesting_tolerance,
    )
    .map_err(|e| pb.named(e, "ambulances"))?
    .into_iter()
    .map(|l| TableLevel {
        free_units: l.posts.len(),
        posts: l.posts.iter().map(|&s| sc.stations[s].id.clone()).collect(),
        expected_coverage: l.expected,
        bound: l.bound,
        gap_pct: l.gap_pct,
        moves_from_previous: l.moves_from_previous,
    })
    .collect();
    Ok(ComplianceTable {
        scenario: sc.name.clone(),
        stations: sc.stations.iter().map(|s| s.id.clone()).collect(),
        busy_fraction: busy,
        response_target_min: match req.standard {
            Standard::Minutes(x) => Some(x),
            Standard::Km(_) => None,
        },
        weights: match (req.demand, &req.zone_weights) {
            (DemandSource::Zones, Some((what, _))) => what.clone(),
            (DemandSource::Zones, None) => "population".into(),
            (DemandSource::Incidents, _) => "incident log".into(),
        },
        levels,
    })
}
