//! A scenario made ready to simulate: units from its stations, its hospitals, call atoms from
//! its demand zones (or from an incident log's points), the travel matrices at each hour, and
//! the move-up policy checked against it.
//!
//! This module owns building and checking the [`SimModel`]. It must not compute travel times
//! itself (it asks the shared [`TravelModel`]'s matrices) nor generate calls (that is `calls`).

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

use super::SimOptions;
use crate::dispatch::coverage::{Budget, Coverage};
use crate::dispatch::policy::PolicyKind;
use crate::model::{Capability, IncidentLog, Scenario};
use crate::network::traffic::HourTimes;
use crate::network::{Snapped, TravelModel};
use crate::simulate::des::{
    Call, Geometry, QueuePolicy, RoadService, Service, SimError, SimModel, SimPolicy,
};

/// A scenario ready to simulate.
#[derive(Debug)]
pub struct Prepared {
    pub model: SimModel,
    /// Each atom's zone id (generated calls) or `None` (trace points).
    pub(super) atom_zone: Vec<Option<String>>,
    pub(super) atom_point: Vec<[f64; 2]>,
    /// Residents per zone atom (generated calls).
    pub(super) atom_population: Vec<f64>,
    /// Trace calls, and the instant of time 0.
    pub(super) trace: Option<Vec<Call>>,
    pub(super) trace_ids: Vec<String>,
    pub(super) origin: DateTime<FixedOffset>,
    /// Trace calls outside the region or off the map, left out.
    pub(super) calls_left_out: usize,
    /// The travel model behind the times, for reports.
    pub(super) travel: String,
}

fn snap(tm: &TravelModel, p: [f64; 2], what: &str) -> Result<Snapped, SimError> {
    tm.snap(p)
        .map_err(|e| SimError::Invalid(format!("{what}: {e}")))
}

/// Where calls arise: one atom per demand zone (generated calls) or per logged call (trace).
#[derive(Default)]
struct Atoms {
    points: Vec<Snapped>,
    zone: Vec<Option<String>>,
    lon_lat: Vec<[f64; 2]>,
    population: Vec<f64>,
}

impl Atoms {
    fn push(&mut self, s: Snapped, zone: Option<String>, lon_lat: [f64; 2], population: f64) {
        self.points.push(s);
        self.zone.push(zone);
        self.lon_lat.push(lon_lat);
        self.population.push(population);
    }
}

/// A trace's calls in time order, their ids, and the instant of time 0 (the first call's local
/// midnight).
struct Trace {
    calls: Vec<Call>,
    ids: Vec<String>,
    origin: DateTime<FixedOffset>,
}

/// One atom per logged call inside the region and on the map, and the calls in time order;
/// `left_out` counts the others. A log none of whose calls is on the map is an error.
fn trace_atoms(
    sc: &Scenario,
    tm: &TravelModel,
    log: &IncidentLog,
    atoms: &mut Atoms,
    left_out: &mut usize,
) -> Result<Trace, SimError> {
    let first = log
        .incidents
        .iter()
        .map(|i| i.call_received)
        .min()
        .ok_or_else(|| SimError::Empty("the incident log has no calls".into()))?;
    let midnight = first.date_naive().and_hms_opt(0, 0, 0).unwrap_or_default();
    let origin = first
        .timezone()
        .from_local_datetime(&midnight)
        .earliest()
        .unwrap_or(first);
    let mut calls = Vec::new();
    let mut ids = Vec::new();
    for inc in &log.incidents {
        let located = inc.lon_lat.filter(|p| sc.in_region(*p));
        let snapped = located.and_then(|p| tm.snap(p).ok().map(|s| (s, p)));
        let Some((s, point)) = snapped else {
            *left_out += 1;
            continue;
        };
        atoms.push(s, inc.zone.clone(), point, 0.0);
        let t = (inc.call_received - origin).num_milliseconds() as f64 / 1000.0;
        calls.push(Call {
            t,
            atom: atoms.points.len() - 1,
            priority: inc.priority,
            condition: Capability::for_condition(inc.condition.as_deref()),
        });
        ids.push(inc.id.clone());
    }
    if calls.is_empty() {
        return Err(SimError::Empty(
            crate::model::placement::NoCallOnMap::new(sc, log).to_string(),
        ));
    }
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by(|&a, &b| calls[a].t.total_cmp(&calls[b].t).then(a.cmp(&b)));
    Ok(Trace {
        ids: order.iter().map(|&k| ids[k].clone()).collect(),
        calls: order.into_iter().map(|k| calls[k].clone()).collect(),
        origin,
    })
}

/// The travel-time matrices the engine needs, in seconds (`∞` where unreachable).
fn geometry(
    tm: &TravelModel,
    stations: &[Snapped],
    hospitals: &[Snapped],
    atoms: &[Snapped],
) -> Geometry {
    let flat = |m: crate::network::Matrix| -> Vec<f64> {
        (0..m.rows)
            .flat_map(|r| (0..m.cols).map(move |c| (r, c)))
            .map(|(r, c)| m.get(r, c).map_or(f64::INFINITY, |e| e.seconds()))
            .collect()
    };
    Geometry {
        stations: stations.len(),
        hospitals: hospitals.len(),
        atoms: atoms.len(),
        station_to_atom: flat(tm.matrix(stations, atoms, None)),
        atom_to_station: flat(tm.matrix(atoms, stations, None)),
        atom_to_hospital: flat(tm.matrix(atoms, hospitals, None)),
        hospital_to_atom: flat(tm.matrix(hospitals, atoms, None)),
        hospital_to_station: flat(tm.matrix(hospitals, stations, None)),
        station_to_station: flat(tm.matrix(stations, stations, None)),
    }
}

/// The settings a simulation cannot run without.
fn check_options(sc: &Scenario, o: &SimOptions) -> Result<(), SimError> {
    if sc.stations.iter().all(|s| s.ambulances == 0) {
        return Err(SimError::Empty(
            "the scenario has no units (no station has ambulances)".into(),
        ));
    }
    if sc.hospitals.is_empty() && o.transport_share > 0.0 {
        return Err(SimError::Empty("the scenario has no hospitals".into()));
    }
    if !(o.calls_per_1000.is_finite() && o.calls_per_1000 >= 0.0) {
        return Err(SimError::Invalid(format!(
            "call rate {} per 1,000 residents must be non-negative",
            o.calls_per_1000
        )));
    }
    if !(o.days.is_finite() && o.days > 0.0) || o.replications == 0 {
        return Err(SimError::Invalid(
            "days and replications must be positive".into(),
        ));
    }
    Ok(())
}

/// Builds the model: units from the stations, hospitals, atoms from the zones (or the log's
/// points with `trace`), and the travel matrices.
pub fn prepare(
    sc: &Scenario,
    tm: &TravelModel,
    o: &SimOptions,
    trace: Option<&IncidentLog>,
) -> Result<Prepared, SimError> {
    check_options(sc, o)?;
    let stations: Vec<Snapped> = sc
        .stations
        .iter()
        .map(|s| snap(tm, s.lon_lat, &format!("station `{}`", s.id)))
        .collect::<Result<_, _>>()?;
    let hospitals: Vec<Snapped> = sc
        .hospitals
        .iter()
        .map(|h| snap(tm, h.lon_lat, &format!("hospital `{}`", h.id)))
        .collect::<Result<_, _>>()?;
    let mut atoms = Atoms::default();
    let mut left_out = 0;
    let trace = match trace {
        None => {
            for z in &sc.demand {
                if let Ok(s) = tm.snap(z.lon_lat) {
                    atoms.push(s, Some(z.id.clone()), z.lon_lat, z.population);
                }
            }
            None
        }
        Some(log) => Some(trace_atoms(sc, tm, log, &mut atoms, &mut left_out)?),
    };
    let origin = match &trace {
        Some(t) => t.origin,
        None => sc
            .timezone
            .localize(
                &NaiveDate::from_ymd_opt(2025, 1, 1)
                    .and_then(|d| d.and_hms_opt(0, 0, 0))
                    .unwrap_or_default(),
            )
            .unwrap_or_else(|| Utc::now().fixed_offset()),
    };
    let mut unit_station = Vec::new();
    let mut unit_ids = Vec::new();
    for (k, st) in sc.stations.iter().enumerate() {
        for a in 1..=st.ambulances {
            unit_station.push(k);
            unit_ids.push(st.unit_id(a));
        }
    }
    // A traffic profile: hours with one factor on every class scale the free-flow times; the
    // others (factors by road class) get their own matrices, one per band of equal hours.
    let mut hour_factor = o.hour_factor;
    let mut hour_geometry = [None; 24];
    let mut hour_geometries = Vec::new();
    if let Some(t) = tm.traffic() {
        let (plan, own) = t.hour_plan(tm.has_exempt_roads());
        for (h, times) in plan.iter().enumerate() {
            match *times {
                HourTimes::Scaled(f) => hour_factor[h] *= f,
                HourTimes::Own(k) => hour_geometry[h] = Some(k),
            }
        }
        hour_geometries = own
            .iter()
            .map(|&h| geometry(&tm.at_hour(h), &stations, &hospitals, &atoms.points))
            .collect();
    }
    let model = SimModel {
        geometry: geometry(tm, &stations, &hospitals, &atoms.points),
        hour_geometries,
        hour_geometry,
        unit_station,
        unit_ids,
        hospitals: sc.hospitals.clone(),
        service: Service::Road(RoadService {
            on_scene_min: o.on_scene_min,
            transport_share: o.transport_share,
            handover_min: sc
                .hospitals
                .iter()
                .map(|h| {
                    o.handover_by_hospital
                        .iter()
                        .find(|(id, _)| *id == h.id)
                        .map_or(o.handover_min, |x| x.1)
                })
                .collect(),
            handover_scale: o.handover_scale,
            on_scene_by_priority: o.on_scene_by_priority.clone(),
            release_after_min: o.release_after_min,
            detention: o.detention,
            stretchers: sc
                .hospitals
                .iter()
                .map(|h| o.stretchers.iter().find(|(id, _)| *id == h.id).map(|x| x.1))
                .collect(),
            stretcher_hold_min: o.stretcher_hold_min,
            stretcher_rule: o.stretcher_rule,
        }),
        call_handling_s: o.call_handling_s,
        turnout_s: o.turnout_s,
        queue: QueuePolicy::Infinite,
        hour_factor,
        detention_threshold_min: o.detention_threshold_min,
        policy: sim_policy(sc, tm, o)?,
    };
    model.check()?;
    let (trace_calls, trace_ids) = match trace {
        Some(t) => (Some(t.calls), t.ids),
        None => (None, Vec::new()),
    };
    Ok(Prepared {
        model,
        atom_zone: atoms.zone,
        atom_point: atoms.lon_lat,
        atom_population: atoms.population,
        trace: trace_calls,
        trace_ids,
        origin,
        calls_left_out: left_out,
        travel: {
            let peaks = if o.hour_factor.iter().any(|f| *f != 1.0) {
                ", times the hour factors given (--peak-factor)"
            } else {
                ""
            };
            tm.describe_traffic(" at each moment's local hour") + peaks
        },
    })
}

/// The engine's policy from the options: the compliance table checked against the scenario,
/// or dynamic MEXCLP's coverage.
fn sim_policy(sc: &Scenario, tm: &TravelModel, o: &SimOptions) -> Result<SimPolicy, SimError> {
    let p = &o.policy;
    p.caps.check().map_err(SimError::Invalid)?;
    let units: usize = sc.stations.iter().map(|s| s.ambulances as usize).sum();
    let mut out = SimPolicy {
        kind: p.kind,
        caps: p.caps,
        busy: p.busy,
        target_s: o.response_target_min * 60.0,
        ..SimPolicy::default()
    };
    match p.kind {
        PolicyKind::Static => {}
        PolicyKind::Table => {
            let Some((path, table)) = &p.table else {
                return Err(SimError::Invalid(
                    "the table policy needs a compliance table (--table FILE, from `ems optimize \
                     --model compliance-table`)"
                        .into(),
                ));
            };
            let ids: Vec<String> = sc.stations.iter().map(|s| s.id.clone()).collect();
            out.table = table
                .resolve(path, &sc.name, &ids, units)
                .map_err(|e| SimError::Invalid(e.to_string()))?;
        }
        PolicyKind::Dmexclp | PolicyKind::DmexclpReturn => {
            // The live board's coverage rule, with the mean delays.
            let budget = Budget {
                response_target_min: o.response_target_min,
                call_handling_s: o.call_handling_s.mean(),
                turnout_s: o.turnout_s.mean(),
            };
            out.cover = Some(Coverage::new(sc, tm, budget).cover_model())
        }
    }
    Ok(out)
}
