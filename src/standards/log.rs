//! The figures an incident log gives on its own: response and its components, scene and
//! transport times, the handover distribution (with the wall-time proxy), multi-unit response,
//! and the figures a log cannot give.
//!
//! This module owns the definitions of the log figures (see the parent module's
//! `# Definitions`, items 3 and 4, and the items below). It must not read files, use the road
//! network, or format output. Every function is one pass over the incidents, O(n log n) for the
//! percentiles.
//!
//! - **Scene time**: first ambulance on scene → the transporting ambulance leaves the scene
//!   (`on_scene → left_scene`). **Transport**: `left_scene → at_hospital`.
//! - **Handover distribution** (per hospital and overall): P50, P90 (the "APOT-90" of California's
//!   ambulance patient offload time), the count and share of handovers *over* each threshold of
//!   the targets file (default 15, 30, 45, 60 min, as the NHS counts them), and the hours lost
//!   beyond `handover_lost_after_min` (default 15).
//! - **Wall-time proxy**: `at_hospital → available` (the unit back in service), for logs that
//!   have no transfer-of-care time. It includes cleaning and restocking, so it is longer than the
//!   handover; it is reported as a proxy and never feeds the detention target.
//! - **Multi-unit response** (logs with one row per unit): units per incident, incidents no
//!   ambulance attended, incidents where another unit (an engine, a first responder) was on scene
//!   first, by how long it led, and the first-unit response (call → the first unit of any kind
//!   on scene). The response-time target stays the ambulance's.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::stats::{self, Summary};
use super::{DataQuality, Exclusions, minutes};
use crate::model::incidents::UnitRows;
use crate::model::{Incident, IncidentLog};

/// Handovers over one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverThreshold {
    pub over_min: f64,
    pub count: usize,
    pub share: f64,
}

/// Counts over each threshold (`values` non-empty).
fn over(values: &[f64], thresholds: &[f64]) -> Vec<OverThreshold> {
    thresholds
        .iter()
        .map(|t| {
            let count = values.iter().filter(|v| **v > *t).count();
            OverThreshold {
                over_min: *t,
                count,
                share: count as f64 / values.len() as f64,
            }
        })
        .collect()
}

/// Handover statistics of one hospital.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HospitalHandover {
    pub hospital: String,
    pub name: String,
    pub arrivals: usize,
    pub median_min: f64,
    pub p90_min: f64,
    pub detained: usize,
    pub detention_rate: f64,
    /// Handovers over each threshold of the targets file.
    pub over: Vec<OverThreshold>,
    /// `Σ max(0, handover − lost_after_min)`, hours.
    pub lost_hours: f64,
    /// Handover times, minutes, for the report's distribution.
    #[serde(skip)]
    pub samples_min: Vec<f64>,
}

/// Detention at hospitals (压车) and the handover distribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Detention {
    pub threshold_min: f64,
    /// Hospital arrivals in the log (with or without a handover time).
    pub hospital_arrivals: usize,
    /// Arrivals with a valid handover time.
    pub arrivals: usize,
    pub detained: usize,
    pub rate: Option<f64>,
    pub handover_min: Option<Summary>,
    pub over: Vec<OverThreshold>,
    pub lost_after_min: f64,
    pub lost_hours: f64,
    pub per_hospital: Vec<HospitalHandover>,
    /// `at_hospital → available`, where the log has both: a proxy, labelled as such.
    pub wall_time_proxy: Option<WallTime>,
    /// Handover times in minutes, for histograms.
    #[serde(skip)]
    pub samples_min: Vec<f64>,
}

/// The wall-time proxy: hospital arrival → unit available again.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WallTime {
    pub definition: &'static str,
    pub summary: Summary,
    pub over: Vec<OverThreshold>,
    pub per_hospital: Vec<HospitalWallTime>,
}

/// The wall-time proxy at one hospital.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HospitalWallTime {
    pub hospital: String,
    pub name: String,
    pub arrivals: usize,
    pub median_min: f64,
    pub p90_min: f64,
    pub over: Vec<OverThreshold>,
    #[serde(skip)]
    pub samples_min: Vec<f64>,
}

/// What the handover figures count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HandoverRules<'a> {
    pub detention_threshold_min: f64,
    pub thresholds_min: &'a [f64],
    pub lost_after_min: f64,
}

/// Response-time statistics of a group of incidents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseGroup {
    pub summary: Summary,
    pub share_within_target: f64,
}

/// Response times from the incident log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    pub target_min: f64,
    /// Incidents in the log.
    pub incidents: usize,
    /// Incidents that reached a scene with a valid response time.
    pub reached_scene: usize,
    pub overall: Option<ResponseGroup>,
    pub by_priority: BTreeMap<u8, ResponseGroup>,
    pub by_zone: BTreeMap<String, ResponseGroup>,
    pub call_handling_min: Option<Summary>,
    pub turnout_min: Option<Summary>,
    /// Share of turnouts within 3 minutes (3分钟出车率).
    pub departure_3min_rate: Option<f64>,
    pub travel_min: Option<Summary>,
    /// Response times in minutes, for histograms.
    #[serde(skip)]
    pub samples_min: Vec<f64>,
}

/// Scene and transport times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transport {
    /// Incidents with a hospital arrival.
    pub transported: usize,
    /// `on_scene → left_scene`.
    pub scene_min: Option<Summary>,
    /// `left_scene → at_hospital`.
    pub transport_min: Option<Summary>,
    /// `call_received → at_hospital`.
    pub call_to_hospital_min: Option<Summary>,
}

/// Several units per incident.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiUnit {
    pub rows: UnitRows,
    pub incidents: usize,
    /// Incidents with more than one unit.
    pub multi_unit_incidents: usize,
    pub units_per_incident: f64,
    /// Incidents no ambulance attended (left out of the ambulance response; counted here).
    pub without_ambulance: usize,
    /// Incidents where a non-ambulance unit was on scene before the first ambulance (or when no
    /// ambulance reached the scene).
    pub other_unit_first: usize,
    /// Of those, by the unit's type as the log writes it.
    pub other_unit_first_by_kind: BTreeMap<String, usize>,
    /// How long the other unit was on scene before the first ambulance, minutes.
    pub other_unit_lead_min: Option<Summary>,
    /// Call → the first unit of any kind on scene, minutes.
    pub first_unit_response_min: Option<Summary>,
}

/// A figure this check cannot give, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotComputed {
    /// A target id (`mean_response_min`, ...) or a section (`transport_min`, ...).
    pub figure: &'static str,
    pub why: String,
    /// What is reported instead (`model`, a proxy), if anything.
    pub instead: Option<String>,
}

fn group(values: &[f64], limit: f64) -> Option<ResponseGroup> {
    Some(ResponseGroup {
        summary: stats::summarize(values)?,
        share_within_target: stats::share_within(values, limit)?,
    })
}

/// `b − a` in minutes when both are there (negative when the log goes back in time).
fn stage(a: Option<DateTime<FixedOffset>>, b: Option<DateTime<FixedOffset>>) -> Option<f64> {
    Some(minutes(a?, b?))
}

/// Pushes a stage duration, or counts the row as out of order.
fn push_stage(d: Option<f64>, line: u64, out: &mut Vec<f64>, ex: &mut Exclusions) {
    match d {
        Some(d) if d < 0.0 => ex.add(line),
        Some(d) => out.push(d),
        None => {}
    }
}

/// Response-time indicators from the log; `zone_of` names an incident's zone.
pub fn response_from_log(
    log: &[Incident],
    zone_of: &dyn Fn(&Incident) -> Option<String>,
    target_min: f64,
    dq: &mut DataQuality,
) -> Response {
    let mut sums = ResponseSums::default();
    for i in log {
        sums.push(i, zone_of(i), dq);
    }
    sums.finish(target_min)
}

/// [`response_from_log`] one incident at a time, for a log that is never held whole (the
/// simulator's replications): the same figures, keeping only the durations.
#[derive(Debug, Clone, Default)]
pub struct ResponseSums {
    incidents: usize,
    all: Vec<f64>,
    by_priority: BTreeMap<u8, Vec<f64>>,
    by_zone: BTreeMap<String, Vec<f64>>,
    handling: Vec<f64>,
    turnout: Vec<f64>,
    travel: Vec<f64>,
}

impl ResponseSums {
    /// Adds incident `i`, whose zone is `zone`.
    pub fn push(&mut self, i: &Incident, zone: Option<String>, dq: &mut DataQuality) {
        self.incidents += 1;
        if let Some(on) = i.on_scene {
            let r = minutes(i.call_received, on);
            if r < 0.0 {
                dq.response_out_of_order.add(i.line);
            } else {
                self.all.push(r);
                self.by_priority.entry(i.priority).or_default().push(r);
                if let Some(z) = zone {
                    self.by_zone.entry(z).or_default().push(r);
                }
            }
        }
        push_stage(
            stage(Some(i.call_received), i.dispatched),
            i.line,
            &mut self.handling,
            &mut dq.call_handling_out_of_order,
        );
        push_stage(
            stage(i.dispatched, i.departed),
            i.line,
            &mut self.turnout,
            &mut dq.turnout_out_of_order,
        );
        push_stage(
            stage(i.departed, i.on_scene),
            i.line,
            &mut self.travel,
            &mut dq.travel_out_of_order,
        );
    }

    /// The figures of the incidents added, against `target_min`.
    pub fn finish(self, target_min: f64) -> Response {
        Response {
            target_min,
            incidents: self.incidents,
            reached_scene: self.all.len(),
            overall: group(&self.all, target_min),
            by_priority: self
                .by_priority
                .iter()
                .filter_map(|(k, v)| group(v, target_min).map(|g| (*k, g)))
                .collect(),
            by_zone: self
                .by_zone
                .iter()
                .filter_map(|(k, v)| group(v, target_min).map(|g| (k.clone(), g)))
                .collect(),
            call_handling_min: stats::summarize(&self.handling),
            departure_3min_rate: stats::share_within(&self.turnout, 3.0),
            turnout_min: stats::summarize(&self.turnout),
            travel_min: stats::summarize(&self.travel),
            samples_min: self.all,
        }
    }
}

/// Scene and transport times from the log.
pub fn transport_from_log(log: &[Incident], dq: &mut DataQuality) -> Transport {
    let (mut scene, mut transport, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for i in log {
        push_stage(
            stage(i.on_scene, i.left_scene),
            i.line,
            &mut scene,
            &mut dq.scene_out_of_order,
        );
        push_stage(
            stage(i.left_scene, i.at_hospital),
            i.line,
            &mut transport,
            &mut dq.transport_out_of_order,
        );
        if let Some(d) = stage(Some(i.call_received), i.at_hospital).filter(|d| *d >= 0.0) {
            total.push(d);
        }
    }
    Transport {
        transported: log.iter().filter(|i| i.at_hospital.is_some()).count(),
        scene_min: stats::summarize(&scene),
        transport_min: stats::summarize(&transport),
        call_to_hospital_min: stats::summarize(&total),
    }
}

/// Detention and the handover distribution from the log; `name_of` names a hospital id.
pub fn detention_from_log(
    log: &[Incident],
    name_of: &dyn Fn(&str) -> String,
    rules: &HandoverRules,
    dq: &mut DataQuality,
) -> Detention {
    let mut sums = DetentionSums::default();
    for i in log {
        sums.push(i, dq);
    }
    sums.finish(name_of, rules)
}

/// Durations grouped by hospital id (`(unknown)` when the log does not say), and all of them.
#[derive(Debug, Clone, Default)]
struct ByHospital {
    all: Vec<f64>,
    per: BTreeMap<String, Vec<f64>>,
}

impl ByHospital {
    fn push(&mut self, hospital: Option<&String>, v: f64) {
        self.all.push(v);
        match hospital {
            Some(h) => match self.per.get_mut(h) {
                Some(p) => p.push(v),
                None => {
                    self.per.insert(h.clone(), vec![v]);
                }
            },
            None => self.per.entry("(unknown)".into()).or_default().push(v),
        }
    }
}

/// [`detention_from_log`] one incident at a time (see [`ResponseSums`]).
#[derive(Debug, Clone, Default)]
pub struct DetentionSums {
    hospital_arrivals: usize,
    handover: ByHospital,
    wall: ByHospital,
}

impl DetentionSums {
    /// Adds incident `i`.
    pub fn push(&mut self, i: &Incident, dq: &mut DataQuality) {
        let Some(arr) = i.at_hospital else { return };
        self.hospital_arrivals += 1;
        match stage(Some(arr), i.available) {
            Some(d) if d < 0.0 => dq.wall_time_out_of_order.add(i.line),
            Some(d) => self.wall.push(i.hospital.as_ref(), d),
            None => {}
        }
        let Some(done) = i.handover_complete else {
            dq.handover_missing.add(i.line);
            return;
        };
        let h = minutes(arr, done);
        if h < 0.0 {
            dq.handover_out_of_order.add(i.line);
            return;
        }
        self.handover.push(i.hospital.as_ref(), h);
    }

    /// The figures of the incidents added; `name_of` names a hospital id.
    pub fn finish(self, name_of: &dyn Fn(&str) -> String, rules: &HandoverRules) -> Detention {
        let ByHospital { all, per } = self.handover;
        // `+ 0.0`: an empty sum is -0.0, which would print as "-0.0 h".
        let lost = |v: &[f64]| {
            v.iter()
                .map(|h| (h - rules.lost_after_min).max(0.0))
                .sum::<f64>()
                / 60.0
                + 0.0
        };
        let t = rules.detention_threshold_min;
        let detained = |v: &[f64]| v.iter().filter(|h| **h > t).count();
        let per_hospital = per
            .into_iter()
            .filter_map(|(id, v)| {
                let s = stats::summarize(&v)?;
                Some(HospitalHandover {
                    name: name_of(&id),
                    hospital: id,
                    arrivals: v.len(),
                    median_min: s.median,
                    p90_min: s.p90,
                    detained: detained(&v),
                    detention_rate: detained(&v) as f64 / v.len() as f64,
                    over: over(&v, rules.thresholds_min),
                    lost_hours: lost(&v),
                    samples_min: v,
                })
            })
            .collect();
        Detention {
            threshold_min: t,
            hospital_arrivals: self.hospital_arrivals,
            arrivals: all.len(),
            detained: detained(&all),
            rate: (!all.is_empty()).then(|| detained(&all) as f64 / all.len() as f64),
            handover_min: stats::summarize(&all),
            over: if all.is_empty() {
                Vec::new()
            } else {
                over(&all, rules.thresholds_min)
            },
            lost_after_min: rules.lost_after_min,
            lost_hours: lost(&all),
            per_hospital,
            wall_time_proxy: wall_time(self.wall, name_of, rules.thresholds_min),
            samples_min: all,
        }
    }
}

fn wall_time(
    wall: ByHospital,
    name_of: &dyn Fn(&str) -> String,
    thresholds: &[f64],
) -> Option<WallTime> {
    let ByHospital { all, per } = wall;
    let summary = stats::summarize(&all)?;
    Some(WallTime {
        definition: "at_hospital -> available (unit back in service): a proxy for the handover \
                     that includes cleaning and restocking; not used for the detention rate",
        summary,
        over: over(&all, thresholds),
        per_hospital: per
            .into_iter()
            .filter_map(|(id, v)| {
                let s = stats::summarize(&v)?;
                Some(HospitalWallTime {
                    name: name_of(&id),
                    hospital: id,
                    arrivals: v.len(),
                    median_min: s.median,
                    p90_min: s.p90,
                    over: over(&v, thresholds),
                    samples_min: v,
                })
            })
            .collect(),
    })
}

/// Multi-unit figures, for logs with one row per unit.
pub fn multi_unit_from_log(log: &IncidentLog, calls: &[Incident]) -> Option<MultiUnit> {
    let rows = log.unit_rows.clone()?;
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    let (mut lead, mut first_unit) = (Vec::new(), Vec::new());
    let mut other_first = 0;
    for i in calls {
        let other = i.first_on_scene_other.as_ref();
        if let Some(o) = other {
            other_first += 1;
            *by_kind
                .entry(o.kind.clone().unwrap_or_else(|| "(unknown)".into()))
                .or_default() += 1;
            if let Some(a) = i.on_scene {
                lead.push(minutes(o.on_scene, a));
            }
        }
        let first = match (i.on_scene, other.map(|o| o.on_scene)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if let Some(d) = stage(Some(i.call_received), first).filter(|d| *d >= 0.0) {
            first_unit.push(d);
        }
    }
    let units: u64 = calls.iter().map(|i| u64::from(i.units)).sum();
    Some(MultiUnit {
        rows,
        incidents: calls.len(),
        multi_unit_incidents: calls.iter().filter(|i| i.units > 1).count(),
        units_per_incident: if calls.is_empty() {
            0.0
        } else {
            units as f64 / calls.len() as f64
        },
        without_ambulance: calls.iter().filter(|i| i.ambulances == 0).count(),
        other_unit_first: other_first,
        other_unit_first_by_kind: by_kind,
        other_unit_lead_min: stats::summarize(&lead),
        first_unit_response_min: stats::summarize(&first_unit),
    })
}

/// Which stage times the incidents have at all.
#[derive(Debug, Clone, Copy, Default)]
struct Present {
    dispatched: bool,
    departed: bool,
    on_scene: bool,
    left_scene: bool,
    at_hospital: bool,
    handover: bool,
    available: bool,
}

impl Present {
    fn of(calls: &[Incident]) -> Present {
        let mut p = Present::default();
        for i in calls {
            p.dispatched |= i.dispatched.is_some();
            p.departed |= i.departed.is_some();
            p.on_scene |= i.on_scene.is_some();
            p.left_scene |= i.left_scene.is_some();
            p.at_hospital |= i.at_hospital.is_some();
            p.handover |= i.handover_complete.is_some();
            p.available |= i.available.is_some();
        }
        p
    }

    fn any_stage(&self) -> bool {
        self.dispatched
            || self.departed
            || self.on_scene
            || self.left_scene
            || self.at_hospital
            || self.handover
            || self.available
    }
}

/// True when no incident has any time after the call.
pub fn call_times_only(calls: &[Incident]) -> bool {
    !calls.is_empty() && !Present::of(calls).any_stage()
}

/// The figures the log cannot give, each with why (naming the field and whether the mapping
/// found a column for it) and what is shown instead. `model` says whether a scenario's modelled
/// response stands in for the mean response time.
pub fn not_computed(log: &IncidentLog, calls: &[Incident], model: bool) -> Vec<NotComputed> {
    let p = Present::of(calls);
    let why = |fields: &[(&str, bool)]| {
        let missing = |mapped: bool| -> Vec<&str> {
            fields
                .iter()
                .filter(|(f, has)| !has && log.sources.contains_key(*f) == mapped)
                .map(|(f, _)| *f)
                .collect()
        };
        let mut parts: Vec<String> = Vec::new();
        let unmapped = missing(false);
        if !unmapped.is_empty() {
            parts.push(format!(
                "this log has no column for {} (mapping `{}`)",
                unmapped
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                log.mapping
            ));
        }
        for f in missing(true) {
            parts.push(format!(
                "`{f}` ({}) is empty in every incident",
                log.sources[f]
            ));
        }
        parts.join("; ")
    };
    let mut out = Vec::new();
    let mut add = |figure: &'static str, fields: &[(&str, bool)], instead: Option<String>| {
        if fields.iter().any(|(_, has)| !has) {
            out.push(NotComputed {
                figure,
                why: why(fields),
                instead,
            });
        }
    };
    if calls.is_empty() {
        return vec![NotComputed {
            figure: "incident log",
            why: "no incident in the log (after filters and the region)".into(),
            instead: model.then(|| "model".into()),
        }];
    }
    add(
        "mean_response_min",
        &[("on_scene", p.on_scene)],
        model.then(|| "the modelled response time (call handling + turnout + road travel)".into()),
    );
    add("call_handling_min", &[("dispatched", p.dispatched)], None);
    add(
        "departure_3min_rate",
        &[("dispatched", p.dispatched), ("departed", p.departed)],
        None,
    );
    add(
        "travel_min",
        &[("departed", p.departed), ("on_scene", p.on_scene)],
        None,
    );
    add(
        "scene_min",
        &[("on_scene", p.on_scene), ("left_scene", p.left_scene)],
        None,
    );
    add(
        "transport_min",
        &[("left_scene", p.left_scene), ("at_hospital", p.at_hospital)],
        None,
    );
    let proxy = (p.at_hospital && p.available)
        .then(|| "the wall-time proxy at_hospital -> available (labelled as a proxy)".to_string());
    add(
        "detention_rate",
        &[
            ("at_hospital", p.at_hospital),
            ("handover_complete", p.handover),
        ],
        proxy.clone(),
    );
    add(
        "handover_distribution",
        &[
            ("at_hospital", p.at_hospital),
            ("handover_complete", p.handover),
        ],
        proxy,
    );
    out
}

/// What a log-only check cannot give at all: the figures that need a scenario.
pub fn needs_scenario() -> Vec<NotComputed> {
    let why = |what: &str| format!("needs a scenario ({what}); pass --scenario");
    vec![
        NotComputed {
            figure: "service_radius_km",
            why: why("the region's area and its stations"),
            instead: None,
        },
        NotComputed {
            figure: "ambulances_per_30k",
            why: why("the fleet and the population"),
            instead: None,
        },
        NotComputed {
            figure: "negative_pressure_share",
            why: why("the stations file"),
            instead: None,
        },
        NotComputed {
            figure: "modelled_response",
            why: why("stations, demand and the road network"),
            instead: None,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_counts_strictly_greater() {
        let v = [10.0, 15.0, 15.5, 31.0, 61.0];
        let o = over(&v, &[15.0, 30.0, 60.0]);
        assert_eq!(o.iter().map(|x| x.count).collect::<Vec<_>>(), vec![3, 2, 1]);
        assert!((o[0].share - 0.6).abs() < 1e-12);
    }
}
