//! The scenario file's `[simulation]` table: how calls arise and how long the stages of a job
//! take, for the simulator, and its checks.
//!
//! This file owns [`CallMix`] and what its values may be. It must not hold the simulator's
//! defaults (the simulator documents them) nor read files.

use serde::{Deserialize, Serialize};

use super::{CONDITIONS, Hospital};

/// How calls arise and how long handovers take, for the simulator (the scenario file's
/// `[simulation]` table). Every field is optional; the simulator documents its defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallMix {
    /// Calls per 1,000 residents per year.
    pub calls_per_1000: Option<f64>,
    /// Relative call volume by local hour of day: 24 non-negative numbers.
    pub hour_profile: Option<Vec<f64>>,
    /// Shares of priorities 1, 2, 3 (and 4): 1 to 4 non-negative numbers.
    pub priority_shares: Option<Vec<f64>>,
    /// Share of calls by condition (`stroke`, `chest_pain`, `trauma`, `maternal`, `neonatal`,
    /// `other`); the rest have none. The shares add up to at most 1.
    pub condition_shares: Option<std::collections::BTreeMap<String, f64>>,
    /// Handover minutes by hospital id, `[median, 90th percentile]` of a log-normal.
    pub handover_min: Option<std::collections::BTreeMap<String, [f64; 2]>>,
    /// Minutes on scene, `[median, 90th percentile]` of a log-normal.
    pub on_scene_min: Option<[f64; 2]>,
    /// Minutes on scene by priority (`"1" = [median, p90]`), overriding `on_scene_min`.
    pub on_scene_min_by_priority: Option<std::collections::BTreeMap<String, [f64; 2]>>,
    /// Share of calls transported to hospital, 0 to 1.
    pub transport_share: Option<f64>,
    /// Hospitals release an ambulance this many minutes after it arrives, handover done or not
    /// (the NHS's 45-minute rule); absent: it waits as long as the handover takes.
    pub release_after_min: Option<f64>,
    /// Stretchers (trolleys) for ambulance patients by hospital id; hospitals not named have
    /// no limit.
    pub stretchers: Option<std::collections::BTreeMap<String, i64>>,
    /// Minutes a patient keeps a hospital stretcher after the handover, `[median, p90]`.
    pub stretcher_hold_min: Option<[f64; 2]>,
    /// With no free stretcher the ambulance `wait`s (detention) or `leave`s its own and drives
    /// to its station for a spare.
    pub stretcher_rule: Option<String>,
}

/// Checks a `[median, p90]` pair; `field` names it.
fn check_median_p90(field: &str, [median, p90]: [f64; 2]) -> Result<(), String> {
    if median.is_finite() && median > 0.0 && p90.is_finite() && p90 >= median {
        Ok(())
    } else {
        Err(format!(
            "`{field}` = [{median}, {p90}]: need 0 < median <= p90"
        ))
    }
}

impl CallMix {
    /// Checks the values (hospital ids against `hospitals`); the message names the field.
    pub(super) fn check(&self, hospitals: &[Hospital]) -> Result<(), String> {
        let fin = |v: &f64| v.is_finite() && *v >= 0.0;
        if let Some(r) = self.calls_per_1000
            && !fin(&r)
        {
            return Err(format!(
                "`simulation.calls_per_1000` = {r} must be non-negative"
            ));
        }
        if let Some(h) = &self.hour_profile
            && (h.len() != 24 || !h.iter().all(fin) || h.iter().sum::<f64>() <= 0.0)
        {
            return Err(
                "`simulation.hour_profile` needs 24 non-negative numbers, not all 0".into(),
            );
        }
        if let Some(p) = &self.priority_shares
            && (p.is_empty() || p.len() > 4 || !p.iter().all(fin) || p.iter().sum::<f64>() <= 0.0)
        {
            return Err("`simulation.priority_shares` needs 1 to 4 non-negative shares".into());
        }
        if let Some(c) = &self.condition_shares {
            for (k, v) in c {
                if !CONDITIONS.contains(&k.as_str()) {
                    return Err(format!(
                        "`simulation.condition_shares.{k}`: not one of {}",
                        CONDITIONS.join(", ")
                    ));
                }
                if !fin(v) {
                    return Err(format!(
                        "`simulation.condition_shares.{k}` = {v} must be non-negative"
                    ));
                }
            }
            let total: f64 = c.values().sum();
            if total > 1.0 + 1e-9 {
                return Err(format!(
                    "`simulation.condition_shares` add up to {total}, more than 1"
                ));
            }
        }
        if let Some(h) = &self.handover_min {
            for (id, [median, p90]) in h {
                if !hospitals.iter().any(|x| &x.id == id) {
                    return Err(format!(
                        "`simulation.handover_min.{id}`: no hospital `{id}`"
                    ));
                }
                check_median_p90(&format!("simulation.handover_min.{id}"), [*median, *p90])?;
            }
        }
        if let Some(d) = self.on_scene_min {
            check_median_p90("simulation.on_scene_min", d)?;
        }
        if let Some(by) = &self.on_scene_min_by_priority {
            for (k, d) in by {
                if !matches!(k.parse::<u8>(), Ok(1..=9)) {
                    return Err(format!(
                        "`simulation.on_scene_min_by_priority.{k}`: the key must be a priority, \
                         1 to 9"
                    ));
                }
                check_median_p90(&format!("simulation.on_scene_min_by_priority.{k}"), *d)?;
            }
        }
        if let Some(t) = self.transport_share
            && !(t.is_finite() && (0.0..=1.0).contains(&t))
        {
            return Err(format!(
                "`simulation.transport_share` = {t} must be between 0 and 1"
            ));
        }
        if let Some(st) = &self.stretchers {
            for (id, n) in st {
                if !hospitals.iter().any(|x| &x.id == id) {
                    return Err(format!("`simulation.stretchers.{id}`: no hospital `{id}`"));
                }
                if !(0..=100_000).contains(n) {
                    return Err(format!(
                        "`simulation.stretchers.{id}` = {n}: a stretcher count is 0 or more"
                    ));
                }
            }
        }
        if let Some(d) = self.stretcher_hold_min {
            check_median_p90("simulation.stretcher_hold_min", d)?;
        }
        if let Some(r) = &self.stretcher_rule
            && r != "wait"
            && r != "leave"
        {
            return Err(format!(
                "`simulation.stretcher_rule` = \"{r}\": use \"wait\" or \"leave\""
            ));
        }
        if let Some(r) = self.release_after_min
            && !(r.is_finite() && r > 0.0)
        {
            return Err(format!(
                "`simulation.release_after_min` = {r} must be a positive number of minutes"
            ));
        }
        Ok(())
    }
}
