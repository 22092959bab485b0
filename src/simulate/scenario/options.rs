//! A simulation's settings: [`SimOptions`] and [`PolicyOptions`], their defaults (the demo's
//! synthetic log uses the same ones) and the scenario's `[simulation]` overrides.
//!
//! This module owns the settings and their defaults. It must not check them against a scenario
//! (that is `prepare`) nor run anything.

use crate::dispatch::policy::{Caps, ComplianceTable, PolicyKind};
use crate::model::{Capability, Scenario};
use crate::simulate::demand::LogDemand;
use crate::simulate::des::{DetentionMix, Dist, StretcherRule};
use crate::simulate::synthetic::HOUR_PROFILE;
use crate::standards;

/// Simulation settings.
#[derive(Debug, Clone, PartialEq)]
pub struct SimOptions {
    pub days: f64,
    pub replications: usize,
    pub seed: u64,
    /// Calls per 1,000 residents per year (generated calls).
    pub calls_per_1000: f64,
    pub call_handling_s: Dist,
    pub turnout_s: Dist,
    pub on_scene_min: Dist,
    pub transport_share: f64,
    pub handover_min: Dist,
    /// Multiplies every handover (0.5 halves detention).
    pub handover_scale: f64,
    pub hour_factor: [f64; 24],
    pub response_target_min: f64,
    pub detention_threshold_min: f64,
    /// Relative call volume by local hour (generated calls).
    pub hour_profile: [f64; 24],
    /// Shares of priorities 1, 2, ... (generated calls).
    pub priority_shares: Vec<f64>,
    /// Shares of conditions; the rest have none (generated calls).
    pub condition_shares: Vec<(Capability, f64)>,
    /// Handover distributions by hospital id, overriding `handover_min`.
    pub handover_by_hospital: Vec<(String, Dist)>,
    /// On-scene distributions by priority, overriding `on_scene_min`.
    pub on_scene_by_priority: Vec<(u8, Dist)>,
    /// Hospitals release an ambulance this many minutes after its arrival.
    pub release_after_min: Option<f64>,
    /// Set the detained share of hospital arrivals directly (the detention sweep).
    pub detention: Option<DetentionMix>,
    /// Stretchers by hospital id (hospitals not named: no limit).
    pub stretchers: Vec<(String, u32)>,
    pub stretcher_hold_min: Dist,
    pub stretcher_rule: StretcherRule,
    pub policy: PolicyOptions,
    /// Keep the first replication's incident log ([`Outcome::incidents`](crate::simulate::scenario::Outcome::incidents)); otherwise each
    /// replication keeps only its figures.
    pub keep_incidents: bool,
    /// Generated calls by zone and hour of week as fitted to an incident log (replacing
    /// `calls_per_1000` and `hour_profile`).
    pub fitted_demand: Option<LogDemand>,
}

/// The move-up policy of a simulation.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyOptions {
    pub kind: PolicyKind,
    /// The compliance table and the file it came from (the `table` policy).
    pub table: Option<(String, ComplianceTable)>,
    pub caps: Caps,
    /// Dynamic MEXCLP's busy fraction (`None`: the running estimate).
    pub busy: Option<f64>,
}

impl Default for PolicyOptions {
    fn default() -> Self {
        PolicyOptions {
            kind: PolicyKind::Static,
            table: None,
            caps: Caps::default(),
            busy: None,
        }
    }
}

impl SimOptions {
    /// The defaults with the scenario's `[simulation]` table applied.
    pub fn for_scenario(sc: &Scenario) -> SimOptions {
        let mut o = SimOptions::default();
        let m = &sc.simulation;
        if let Some(r) = m.calls_per_1000 {
            o.calls_per_1000 = r;
        }
        if let Some(h) = &m.hour_profile {
            for (k, v) in h.iter().take(24).enumerate() {
                o.hour_profile[k] = *v;
            }
        }
        if let Some(p) = &m.priority_shares {
            o.priority_shares = p.clone();
        }
        if let Some(c) = &m.condition_shares {
            o.condition_shares = c
                .iter()
                .filter_map(|(k, v)| Capability::for_condition(Some(k)).map(|c| (c, *v)))
                .collect();
        }
        if let Some(h) = &m.handover_min {
            o.handover_by_hospital = h
                .iter()
                .map(|(id, [median, p90])| {
                    (
                        id.clone(),
                        Dist::LogNormal {
                            median: *median,
                            p90: *p90,
                        },
                    )
                })
                .collect();
        }
        let ln = |[median, p90]: [f64; 2]| Dist::LogNormal { median, p90 };
        if let Some(d) = m.on_scene_min {
            o.on_scene_min = ln(d);
        }
        if let Some(by) = &m.on_scene_min_by_priority {
            o.on_scene_by_priority = by
                .iter()
                .filter_map(|(k, d)| Some((k.parse::<u8>().ok()?, ln(*d))))
                .collect();
        }
        if let Some(t) = m.transport_share {
            o.transport_share = t;
        }
        o.release_after_min = m.release_after_min;
        if let Some(st) = &m.stretchers {
            o.stretchers = st
                .iter()
                .map(|(id, n)| (id.clone(), (*n).clamp(0, u32::MAX as i64) as u32))
                .collect();
        }
        if let Some(d) = m.stretcher_hold_min {
            o.stretcher_hold_min = ln(d);
        }
        if m.stretcher_rule.as_deref() == Some("leave") {
            o.stretcher_rule = StretcherRule::Leave;
        }
        o
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            days: 365.0,
            replications: 10,
            seed: 1,
            calls_per_1000: 90.0,
            call_handling_s: Dist::LogNormal {
                median: 60.0,
                p90: 100.0,
            },
            turnout_s: Dist::LogNormal {
                median: 75.0,
                p90: 133.0,
            },
            on_scene_min: Dist::LogNormal {
                median: 15.0,
                p90: 23.5,
            },
            transport_share: 0.7,
            handover_min: Dist::LogNormal {
                median: 6.0,
                p90: 9.4,
            },
            handover_scale: 1.0,
            hour_factor: [1.0; 24],
            response_target_min: 12.0,
            detention_threshold_min: standards::Targets::default_preset().detention_threshold_min,
            hour_profile: HOUR_PROFILE,
            priority_shares: vec![0.25, 0.45, 0.30],
            condition_shares: vec![
                (Capability::Stroke, 0.08),
                (Capability::ChestPain, 0.12),
                (Capability::Trauma, 0.20),
                (Capability::Maternal, 0.02),
                (Capability::Neonatal, 0.01),
            ],
            handover_by_hospital: Vec::new(),
            on_scene_by_priority: Vec::new(),
            release_after_min: None,
            detention: None,
            stretchers: Vec::new(),
            stretcher_hold_min: Dist::LogNormal {
                median: 60.0,
                p90: 180.0,
            },
            stretcher_rule: StretcherRule::Wait,
            policy: PolicyOptions::default(),
            keep_incidents: false,
            fitted_demand: None,
        }
    }
}
