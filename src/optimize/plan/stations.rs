//! Station planning: where to add `k` stations (p-median, MCLP, LSCP, p-center) and the plan's
//! before/after figures.
//!
//! This module owns choosing the model's solver and describing the chosen sites. It must not
//! build the problem (that is `super::problem`) nor format output.

use super::problem::Problem;
use super::{Model, NewSite, Plan, PlanError, PlanRequest};
use crate::model::Scenario;
use crate::network::TravelModel;
use crate::optimize::mclp::{self, Coverage};
use crate::optimize::{Certificate, Instance, OptimizeError, SiteOptions, covering, pmedian};

/// Makes the plan.
pub fn plan(sc: &Scenario, tm: &TravelModel, req: &PlanRequest) -> Result<Plan, PlanError> {
    let t0 = std::time::Instant::now();
    let pb = Problem::build(sc, tm, req)?;
    let (cand, existing, n, m) = (&pb.cand, pb.existing, pb.n, pb.m);
    let (w, time_s) = (&pb.w, &pb.time_s);
    // Stations without ambulances are not stations: candidates like any new site.
    let staffed: Vec<usize> = (0..existing)
        .filter(|&j| sc.stations[j].ambulances > 0)
        .collect();
    let is_staffed = |j: usize| j < existing && sc.stations[j].ambulances > 0;
    let p = staffed.len() + req.add;
    if req.model != Model::Lscp && (p == 0 || p > m) {
        return Err(OptimizeError::BadP { p, m }.into());
    }
    let opts = SiteOptions {
        p,
        fixed_open: if req.relocate {
            Vec::new()
        } else {
            staffed.clone()
        },
        solve: req.solve.clone(),
    };
    let (standard_cost, limit) = pb.standard(req.standard);
    let total: f64 = w.iter().sum();
    let covered_by = |open: &[usize]| pb.covered_by(open, req.standard);
    let mean_min = |open: &[usize]| pb.mean_min(open);
    let before: Vec<usize> = staffed.clone();
    // Each model's answer, in the plan's units (minutes for times).
    let rescale = |c: Certificate, f: f64| Certificate {
        objective: c.objective * f,
        bound: c.bound * f,
        ..c
    };
    let (open, cert) = match req.model {
        Model::Mexclp | Model::Backup => {
            return Err(PlanError::Invalid(
                "ambulance placement models are planned by plan_fleet".into(),
            ));
        }
        Model::PMedian => {
            let inst = Instance {
                weights: w.clone(),
                m,
                cost: time_s.clone(),
            };
            let s = pmedian::solve(&inst, &opts).map_err(|e| pb.named(e, "sites"))?;
            (s.open, rescale(s.cert, 1.0 / total / 60.0))
        }
        Model::Mclp => {
            let cov = Coverage::from_costs(w.clone(), m, standard_cost, limit);
            let s = mclp::solve(&cov, &opts).map_err(|e| pb.named(e, "sites"))?;
            (s.open, s.cert)
        }
        Model::Lscp => {
            let cov = Coverage::from_costs(w.clone(), m, standard_cost, limit);
            let s = covering::lscp(&cov, &opts).map_err(|e| pb.named(e, "sites"))?;
            // In new stations: the fixed ones do not count.
            let fixed = opts.fixed_open.len() as f64;
            let new = s.cert.objective - fixed;
            let bound = (s.cert.bound - fixed).max(0.0);
            let c = Certificate::new(new, bound, s.cert.optimal, s.cert.nodes, t0);
            (s.open, c)
        }
        Model::PCenter => {
            let inst = Instance {
                weights: w.clone(),
                m,
                cost: time_s.clone(),
            };
            let s = covering::pcenter(&inst, &opts).map_err(|e| pb.named(e, "sites"))?;
            (s.open, rescale(s.cert, 1.0 / 60.0))
        }
    };
    let cert = Certificate {
        seconds: t0.elapsed().as_secs_f64(),
        ..cert
    };
    // Describe each new site: who it serves and who it newly covers.
    let new: Vec<usize> = open.iter().copied().filter(|&j| !is_staffed(j)).collect();
    let kept: Vec<usize> = open.iter().copied().filter(|&j| is_staffed(j)).collect();
    let covered_without = |skip: usize| -> f64 {
        let rest: Vec<usize> = open.iter().copied().filter(|&j| j != skip).collect();
        covered_by(&rest)
    };
    let covered_after = covered_by(&open);
    let new_sites = new
        .iter()
        .map(|&j| {
            let s = &cand[j];
            let served = (0..n)
                .filter(|&i| {
                    let best = open
                        .iter()
                        .copied()
                        .min_by(|a, b| time_s[a * n + i].total_cmp(&time_s[b * n + i]));
                    best == Some(j) && time_s[j * n + i].is_finite()
                })
                .map(|i| w[i])
                .sum::<f64>()
                + 0.0;
            NewSite {
                lon_lat: s.input,
                on_road: s.on_road,
                snap_distance_m: s.distance_m,
                road_way_id: tm.network.segments[s.segment as usize].way_id,
                newly_covered: covered_after - covered_without(j),
                served,
            }
        })
        .collect();
    Ok(Plan {
        open: open.clone(),
        model: req.model,
        candidates: m,
        demand_points: n,
        total_demand: total,
        new_sites,
        kept_stations: kept.iter().map(|&j| sc.stations[j].id.clone()).collect(),
        cert,
        mean_response_before_min: mean_min(&before),
        mean_response_after_min: mean_min(&open),
        covered_before: covered_by(&before),
        covered_after,
        unreachable_demand: pb.unreachable.clone(),
        travel: tm.describe_hours(&req.hours),
    })
}
