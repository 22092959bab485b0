//! Station planning on a scenario: where to add `k` stations to the existing network.
//!
//! This module owns turning a scenario into a location problem (demand points, candidate sites,
//! travel-time costs from the shared [`TravelModel`]) and the answer back into sites on the map.
//! It must not compute travel times itself, nor format output.
//!
//! - **Demand**: the scenario's demand zones weighted by population, or incident locations
//!   weighted one each ([`DemandSource`]).
//! - **Candidates**: the existing stations (kept open unless relocating) plus new sites: road
//!   nodes inside the region boundary thinned to one per grid cell of a given spacing (the node
//!   nearest the cell centre), or points from a GeoJSON file (taken as given).
//! - **Costs**: response time as the standards check defines it, call handling + turnout + road
//!   travel time from the site, in seconds; or road distance along the fastest route, metres.

use serde::Serialize;

use super::backup::{self, DoubleCoverage};
use super::covering;
use super::fleet::FleetOptions;
use super::mclp::{self, Coverage};
use super::mexclp;
use super::pmedian;
use super::{Certificate, Instance, OptimizeError, SiteOptions, SolveOptions};
use crate::model::{IncidentLog, Scenario};
use crate::network::{SnapError, Snapped, TravelModel};
use crate::spatial::LocalProjection;
use crate::standards::Source;

/// Where demand comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandSource {
    /// Demand zones, weighted by population.
    Zones,
    /// The incident log's locations, one each.
    Incidents,
}

/// The coverage standard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standard {
    /// Response time (call handling + turnout + road travel) within this many minutes.
    Minutes(f64),
    /// Road distance within this many km.
    Km(f64),
}

/// Which objective to optimise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Model {
    /// Population-weighted mean response time.
    #[serde(rename = "p-median")]
    PMedian,
    /// Population covered within the standard.
    #[serde(rename = "mclp")]
    Mclp,
    /// The fewest new stations that put every resident within the standard (`add` is ignored).
    #[serde(rename = "lscp")]
    Lscp,
    /// The smallest worst-case response time.
    #[serde(rename = "p-center")]
    PCenter,
    /// Ambulances over sites maximising expected coverage under a busy fraction
    /// ([`super::mexclp`]; planned by [`plan_fleet`]).
    #[serde(rename = "mexclp")]
    Mexclp,
    /// Ambulances over sites maximising demand covered twice within the standard, everyone
    /// within a secondary one ([`super::backup`]; planned by [`plan_fleet`]).
    #[serde(rename = "backup")]
    Backup,
}

impl std::fmt::Display for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Model {
    /// The model's name in output: `p-median`, `mclp`, `lscp`, `p-center`, `mexclp`, `backup`.
    pub fn as_str(self) -> &'static str {
        match self {
            Model::PMedian => "p-median",
            Model::Mclp => "mclp",
            Model::Lscp => "lscp",
            Model::PCenter => "p-center",
            Model::Mexclp => "mexclp",
            Model::Backup => "backup",
        }
    }

    /// Whether the model places ambulances ([`plan_fleet`]) rather than stations ([`plan`]).
    pub fn places_ambulances(self) -> bool {
        matches!(self, Model::Mexclp | Model::Backup)
    }
}

/// What the ambulance placement models need beyond a [`PlanRequest`].
#[derive(Debug, Clone, PartialEq)]
pub struct FleetRequest {
    /// Ambulances to place (`None`: `ceil(population / 30,000)`, the one-per-30,000 target).
    pub ambulances: Option<usize>,
    /// MEXCLP busy fraction (`None`: estimated from the incident log).
    pub busy: Option<f64>,
    /// The most ambulances one site may hold.
    pub max_per_site: Option<usize>,
    /// Backup coverage: the secondary standard everyone must be within.
    pub secondary: Option<Standard>,
    /// Backup coverage: the share of demand that must be within the primary standard.
    pub alpha: f64,
}

/// How the busy fraction was obtained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusyEstimate {
    pub q: f64,
    /// `given` or `incident log`.
    pub source: Source,
    pub calls_per_hour: Option<f64>,
    pub mean_job_min: Option<f64>,
    /// Incidents whose job time could be measured.
    pub jobs_measured: usize,
}

/// Ambulances at one site, now and in the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetSite {
    /// Station id, or `new-K` for the `K`-th candidate site that receives ambulances.
    pub id: String,
    pub lon_lat: [f64; 2],
    pub before: usize,
    pub after: usize,
}

/// An ambulance placement with before/after figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetPlan {
    pub model: Model,
    pub ambulances: usize,
    /// Where `ambulances` comes from.
    pub ambulances_source: String,
    pub current_fleet: usize,
    pub busy: Option<BusyEstimate>,
    /// Every site holding an ambulance before or after.
    pub sites: Vec<FleetSite>,
    /// Expected covered demand (MEXCLP) or demand covered twice (backup), with its bound.
    #[serde(flatten)]
    pub cert: Certificate,
    /// The same objective for the current fleet where it stands.
    pub objective_before: f64,
    pub total_demand: f64,
    pub covered_before: f64,
    pub covered_after: f64,
    pub covered_twice_before: f64,
    pub covered_twice_after: f64,
    pub mean_response_before_min: f64,
    pub mean_response_after_min: f64,
    pub candidates: usize,
    pub demand_points: usize,
    pub unreachable_demand: Vec<usize>,
}

/// A planning request.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanRequest {
    pub model: Model,
    /// New stations to add.
    pub add: usize,
    pub standard: Standard,
    pub demand: DemandSource,
    /// Extra candidate points `[lon, lat]` (e.g. from a GeoJSON file).
    pub candidate_points: Vec<[f64; 2]>,
    /// Grid spacing in metres for candidates generated from road nodes (`None`: no grid).
    pub grid_m: Option<f64>,
    /// Let existing stations move (otherwise they stay open).
    pub relocate: bool,
    pub call_handling_s: f64,
    pub turnout_s: f64,
    /// The hours whose travel times the plan optimises (with a traffic profile): one hour, or
    /// the mean over hours weighted by call volume.
    pub hours: crate::network::Hours,
    pub solve: SolveOptions,
    /// Zone weights by zone id replacing the residents (with [`DemandSource::Zones`]; a zone
    /// not named weighs 0), and what they are (e.g. calls fitted to a log).
    pub zone_weights: Option<(String, Vec<(String, f64)>)>,
}

/// A chosen new site.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewSite {
    /// Candidate point `[lon, lat]`.
    pub lon_lat: [f64; 2],
    /// The point on the road it snapped to, and how far that is.
    pub on_road: [f64; 2],
    pub snap_distance_m: f64,
    /// OSM way of the road it snapped to.
    pub road_way_id: i64,
    /// Residents (or incidents) newly within the standard thanks to this site.
    pub newly_covered: f64,
    /// Demand for which this site becomes the nearest.
    pub served: f64,
}

/// The plan with before/after figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// Indices of the open candidates (existing stations first, then new candidates).
    #[serde(skip)]
    pub open: Vec<usize>,
    pub model: Model,
    pub candidates: usize,
    pub demand_points: usize,
    pub total_demand: f64,
    pub new_sites: Vec<NewSite>,
    /// Existing stations kept open (all unless relocating).
    pub kept_stations: Vec<String>,
    /// The optimised objective with its bound: weighted mean response in minutes (p-median),
    /// covered demand (MCLP), new stations needed (LSCP), or the worst response in minutes
    /// (p-center).
    #[serde(flatten)]
    pub cert: Certificate,
    pub mean_response_before_min: f64,
    pub mean_response_after_min: f64,
    pub covered_before: f64,
    pub covered_after: f64,
    /// Demand points that no candidate reaches (left out).
    pub unreachable_demand: Vec<usize>,
    /// The travel model and hours the plan used.
    pub travel: String,
}

/// Why a plan cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A station or candidate point is off the road network.
    #[error("{what}: {source}")]
    Snap {
        what: String,
        #[source]
        source: SnapError,
    },
    /// The scenario has no demand of the chosen kind.
    #[error("no demand: {0}")]
    NoDemand(&'static str),
    /// The solver rejected the problem.
    #[error(transparent)]
    Optimize(#[from] OptimizeError),
    /// Some demand cannot be served as asked; the message names the demand points by id.
    #[error("{0}")]
    Demand(String),
    /// The incident log has calls, but none inside the region.
    #[error(transparent)]
    NoCallOnMap(#[from] crate::model::placement::NoCallOnMap),
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

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

impl std::str::FromStr for Standard {
    type Err = String;

    /// `12min`, `8 min`, `3.5km` or `500m`.
    fn from_str(s: &str) -> Result<Standard, String> {
        parse_standard(s).ok_or_else(|| {
            format!("`{s}`: expected a time such as 12min or a distance such as 3.5km or 500m")
        })
    }
}

impl std::fmt::Display for Standard {
    /// `12min` or `3.5km`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Standard::Minutes(m) => write!(f, "{m}min"),
            Standard::Km(km) => write!(f, "{km}km"),
        }
    }
}

/// Parses `12min`, `8 min`, `3.5km`, `500m` into a standard.
pub fn parse_standard(s: &str) -> Option<Standard> {
    let t = s.trim().to_ascii_lowercase().replace(' ', "");
    let num = |x: &str| x.parse::<f64>().ok().filter(|v| v.is_finite() && *v > 0.0);
    if let Some(x) = t.strip_suffix("min") {
        return num(x).map(Standard::Minutes);
    }
    if let Some(x) = t.strip_suffix("km") {
        return num(x).map(Standard::Km);
    }
    if let Some(x) = t.strip_suffix('m') {
        return num(x).map(|v| Standard::Km(v / 1000.0));
    }
    None
}

/// Demand, candidates and their cost matrices (candidate-major, `f64::INFINITY` where
/// unreachable).
struct Problem {
    cand: Vec<Snapped>,
    /// Candidates `0..existing` are the scenario's stations.
    existing: usize,
    n: usize,
    m: usize,
    w: Vec<f64>,
    time_s: Vec<f64>,
    dist_m: Vec<f64>,
    unreachable: Vec<usize>,
    /// Each demand point's id (zone or incident), for messages.
    ids: Vec<String>,
    /// `demand zones` or `incidents`.
    kind: &'static str,
}

impl Problem {
    fn build(sc: &Scenario, tm: &TravelModel, req: &PlanRequest) -> Result<Problem, PlanError> {
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
    fn named(&self, e: OptimizeError, units: &str) -> PlanError {
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
    fn standard(&self, standard: Standard) -> (&[f64], f64) {
        match standard {
            Standard::Minutes(min) => (&self.time_s, min * 60.0),
            Standard::Km(km) => (&self.dist_m, km * 1000.0),
        }
    }

    /// Demand within the standard of an open site.
    fn covered_by(&self, open: &[usize], standard: Standard) -> f64 {
        let (cost, limit) = self.standard(standard);
        let n = self.n;
        (0..n)
            .filter(|&i| open.iter().any(|&j| cost[j * n + i] <= limit))
            .map(|i| self.w[i])
            .sum()
    }

    /// Weighted mean response time in minutes from the nearest open site.
    fn mean_min(&self, open: &[usize]) -> f64 {
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
    let cov = super::mclp::Coverage {
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
    let cov = super::mclp::Coverage {
        weights: pb.w.clone(),
        m: pb.m,
        covers: cost.iter().map(|c| *c <= limit).collect(),
    };
    let levels = super::compliance::levels(
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
