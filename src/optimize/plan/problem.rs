//! The location problem of a plan: demand points with their weights, candidate sites (the
//! stations, given points, a grid of road nodes) and the cost matrices between them, with the
//! figures every model reports (coverage, mean response) and solver errors named by demand id.
//!
//! This module owns turning a scenario into that problem. It must not compute travel times
//! itself (they come from the shared [`TravelModel`]) nor choose sites.

use super::{DemandSource, PlanError, PlanRequest, Standard};
use crate::model::Scenario;
use crate::network::{Snapped, TravelModel};
use crate::optimize::OptimizeError;
use crate::spatial::LocalProjection;

/// Road nodes thinned to one per grid cell (the node nearest the cell centre).
pub fn grid_candidates(tm: &TravelModel, spacing_m: f64) -> Vec<[f64; 2]> {
    let proj = LocalProjection::around(&tm.network.nodes);
    let mut cells: std::collections::BTreeMap<(i64, i64), (f64, [f64; 2])> = Default::default();
    for p in &tm.network.nodes {
        let xy = proj.project(*p);
        let key = (
            (xy[0] / spacing_m).floor() as i64,
            (xy[1] / spacing_m).floor() as i64,
        );
        let centre = [
            (key.0 as f64 + 0.5) * spacing_m,
            (key.1 as f64 + 0.5) * spacing_m,
        ];
        let d = (xy[0] - centre[0]).hypot(xy[1] - centre[1]);
        let e = cells.entry(key).or_insert((f64::INFINITY, *p));
        if d < e.0 {
            *e = (d, *p);
        }
    }
    cells.into_values().map(|(_, p)| p).collect()
}

/// Demand, candidates and their cost matrices (candidate-major, `f64::INFINITY` where
/// unreachable).
pub(super) struct Problem {
    pub(super) cand: Vec<Snapped>,
    /// Candidates `0..existing` are the scenario's stations.
    pub(super) existing: usize,
    pub(super) n: usize,
    pub(super) m: usize,
    pub(super) w: Vec<f64>,
    pub(super) time_s: Vec<f64>,
    pub(super) dist_m: Vec<f64>,
    pub(super) unreachable: Vec<usize>,
    /// Each demand point's id (zone or incident), for messages.
    pub(super) ids: Vec<String>,
    /// `demand zones` or `incidents`.
    pub(super) kind: &'static str,
}

impl Problem {
    pub(super) fn build(
        sc: &Scenario,
        tm: &TravelModel,
        req: &PlanRequest,
    ) -> Result<Problem, PlanError> {
        for (name, v) in [
            ("call handling", req.call_handling_s),
            ("turnout", req.turnout_s),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(PlanError::Invalid(format!(
                    "{name} must be a non-negative number of seconds"
                )));
            }
        }
        // Demand.
        let points: Vec<([f64; 2], f64, &str)> = match req.demand {
            DemandSource::Zones => {
                let by_id: Option<std::collections::HashMap<&str, f64>> = req
                    .zone_weights
                    .as_ref()
                    .map(|(_, w)| w.iter().map(|(id, x)| (id.as_str(), *x)).collect());
                sc.demand
                    .iter()
                    .map(|z| {
                        let w = match &by_id {
                            Some(w) => w.get(z.id.as_str()).copied().unwrap_or(0.0),
                            None => z.population,
                        };
                        (z.lon_lat, w, z.id.as_str())
                    })
                    .collect()
            }
            DemandSource::Incidents => {
                let split = crate::model::placement::split_by_region(sc, &sc.incidents.incidents);
                if !sc.incidents.incidents.is_empty() && split.inside.is_empty() {
                    return Err(crate::model::placement::NoCallOnMap::new(sc, &sc.incidents).into());
                }
                split
                    .inside
                    .iter()
                    .filter_map(|i| i.lon_lat.map(|p| (p, 1.0, i.id.as_str())))
                    .collect()
            }
        };
        if points.is_empty() {
            return Err(PlanError::NoDemand(match req.demand {
                DemandSource::Zones => "the scenario has no demand zones",
                DemandSource::Incidents => "the scenario has no incident log",
            }));
        }
        let mut demand = Vec::new();
        let mut w = Vec::new();
        let mut ids = Vec::new();
        for (p, wt, id) in &points {
            // Demand off the network cannot be served; it is dropped, like in the standards check.
            if let Ok(s) = tm.snap(*p) {
                demand.push(s);
                w.push(*wt);
                ids.push(id.to_string());
            }
        }
        if !w.iter().any(|x| *x > 0.0) {
            return Err(PlanError::NoDemand(match req.demand {
                DemandSource::Zones => {
                    "no demand zone with residents lies on the road map (check the zones' \
                     coordinates and the snapping limit)"
                }
                DemandSource::Incidents => {
                    "no incident inside the region lies on the road map (check the log's \
                     coordinates and the snapping limit)"
                }
            }));
        }
        // Candidates: existing stations first, then new points.
        let mut cand: Vec<Snapped> = Vec::new();
        for st in &sc.stations {
            cand.push(tm.snap(st.lon_lat).map_err(|e| PlanError::Snap {
                what: format!("station `{}`", st.id),
                source: e,
            })?);
        }
        let existing = cand.len();
        let mut extra = req.candidate_points.clone();
        if let Some(g) = req.grid_m {
            if !(g.is_finite() && g > 0.0) {
                return Err(PlanError::Invalid(
                    "the candidate grid spacing must be positive".into(),
                ));
            }
            // Generated sites stay inside the region (an extract reaches over its borders).
            use geo::Contains;
            extra.extend(
                grid_candidates(tm, g)
                    .into_iter()
                    .filter(|p| sc.region.boundary.contains(&geo::Point::new(p[0], p[1]))),
            );
        }
        for (k, p) in extra.iter().enumerate() {
            cand.push(tm.snap(*p).map_err(|e| PlanError::Snap {
                what: format!("candidate {k} ({}, {})", p[0], p[1]),
                source: e,
            })?);
        }
        let fixed_delay = req.call_handling_s + req.turnout_s;
        let mat = tm.matrix_over(&req.hours, &cand, &demand, None);
        let n = demand.len();
        let m = cand.len();
        let mut time_s = vec![f64::INFINITY; m * n];
        let mut dist_m = vec![f64::INFINITY; m * n];
        for j in 0..m {
            for i in 0..n {
                if let Some(e) = mat.get(j, i) {
                    time_s[j * n + i] = fixed_delay + e.seconds();
                    dist_m[j * n + i] = e.distance_m;
                }
            }
        }
        let unreachable: Vec<usize> = (0..n)
            .filter(|&i| (0..m).all(|j| !time_s[j * n + i].is_finite()))
            .collect();
        for &i in &unreachable {
            w[i] = 0.0;
        }
        Ok(Problem {
            cand,
            existing,
            n,
            m,
            w,
            time_s,
            dist_m,
            unreachable,
            ids,
            kind: match req.demand {
                DemandSource::Zones => "demand zones",
                DemandSource::Incidents => "incidents",
            },
        })
    }

    /// The ids of demand points (by index), comma-separated.
    fn names(&self, points: &[usize]) -> String {
        let ids: Vec<&str> = points.iter().map(|&i| self.ids[i].as_str()).collect();
        ids.join(", ")
    }

    /// A solver's error with demand points named by id instead of index; `units` is what `p`
    /// counts (`sites` or `ambulances`).
    pub(super) fn named(&self, e: OptimizeError, units: &str) -> PlanError {
        let kind = self.kind;
        let message = match &e {
            OptimizeError::Unreachable(v) => format!(
                "{} {kind} cannot be reached from any candidate site: {}",
                v.len(),
                self.names(v)
            ),
            OptimizeError::Infeasible {
                p,
                uncovered,
                proven,
            } => format!(
                "{} {kind} cannot be served by any choice of {p} {units}{}: {}",
                uncovered.len(),
                if *proven {
                    ""
                } else {
                    " found within the search limit"
                },
                self.names(uncovered)
            ),
            OptimizeError::DoubleStandard {
                p,
                uncovered,
                share_pct,
                alpha_pct,
                proven,
            } => {
                let beyond = if uncovered.is_empty() {
                    format!("keeps every one of the {kind} within the secondary standard")
                } else {
                    format!(
                        "leaves {} {kind} beyond the secondary standard ({})",
                        uncovered.len(),
                        self.names(uncovered)
                    )
                };
                format!(
                    "no placement of {p} ambulances{} meets the double standard: the closest \
                     {beyond} and covers {share_pct:.1} % within the primary one (required: \
                     {alpha_pct:.1} %); add ambulances, widen the standards or lower --alpha",
                    if *proven {
                        ""
                    } else {
                        " found within the search limit"
                    },
                )
            }
            _ => return PlanError::Optimize(e),
        };
        PlanError::Demand(message)
    }

    /// The cost the standard is measured in, and its limit.
    pub(super) fn standard(&self, standard: Standard) -> (&[f64], f64) {
        match standard {
            Standard::Minutes(min) => (&self.time_s, min * 60.0),
            Standard::Km(km) => (&self.dist_m, km * 1000.0),
        }
    }

    /// Demand within the standard of an open site.
    pub(super) fn covered_by(&self, open: &[usize], standard: Standard) -> f64 {
        let (cost, limit) = self.standard(standard);
        let n = self.n;
        (0..n)
            .filter(|&i| open.iter().any(|&j| cost[j * n + i] <= limit))
            .map(|i| self.w[i])
            .sum()
    }

    /// Weighted mean response time in minutes from the nearest open site.
    pub(super) fn mean_min(&self, open: &[usize]) -> f64 {
        let n = self.n;
        let total: f64 = self.w.iter().sum();
        let s: f64 = (0..n)
            .map(|i| {
                let best = open
                    .iter()
                    .map(|&j| self.time_s[j * n + i])
                    .fold(f64::INFINITY, f64::min);
                if self.w[i] > 0.0 {
                    self.w[i] * best
                } else {
                    0.0
                }
            })
            .sum();
        s / total / 60.0
    }
}
