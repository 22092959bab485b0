//! What a run returns: each call's simulated times, a replication's or a run's figures, and why
//! a simulation cannot run.
//!
//! This module owns the result and error types. It must not compute figures from them (the
//! scenario feeds the records to [`crate::standards`]).

use serde::Serialize;

/// One call's simulated times (seconds from time 0; `None` when not reached).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    pub received: f64,
    pub dispatched: Option<f64>,
    pub departed: Option<f64>,
    pub on_scene: Option<f64>,
    pub at_hospital: Option<f64>,
    pub handover_complete: Option<f64>,
    pub unit: Option<usize>,
    pub hospital: Option<usize>,
    /// It waited for a unit.
    pub waited: bool,
    /// It was lost (no free unit, no queue).
    pub lost: bool,
}

/// One replication's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Replication {
    pub calls: Vec<CallRecord>,
    /// Seconds each unit was busy (dispatch → free at its station).
    pub unit_busy_s: Vec<f64>,
    /// `dispatches[u][a]`: dispatches of unit `u` to atom `a`.
    pub dispatches: Vec<Vec<u64>>,
    /// Length of the simulated period, seconds.
    pub horizon_s: f64,
    /// Calls waiting for a unit when the last call was handled: a backlog that grows with the
    /// horizon means the load exceeds the fleet.
    pub left_waiting: usize,
    /// Relocations made (see [`crate::dispatch::policy`]).
    pub relocations: u64,
}

/// A run's figures beyond each call's record (which goes to the sink of
/// [`run_with`](super::run_with)).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunStats {
    pub calls: usize,
    pub waited: usize,
    pub lost: usize,
    pub unit_busy_s: Vec<f64>,
    /// `dispatches[u][a]`, when counted (empty otherwise).
    pub dispatches: Vec<Vec<u64>>,
    pub horizon_s: f64,
    pub left_waiting: usize,
    pub relocations: u64,
    /// Seconds driven relocating.
    pub relocation_s: f64,
    /// Hospital arrivals, and those that found no free stretcher (hospitals with a count).
    pub hospital_arrivals: usize,
    pub stretcher_short: usize,
}

/// Why a simulation cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimError {
    /// The scenario has no units or no hospitals where the service needs them.
    #[error("{0}")]
    Empty(String),
    /// A parameter is out of range.
    #[error("{0}")]
    Invalid(String),
    /// With an infinite queue the offered load reaches the capacity: the queue would grow
    /// without bound.
    #[error("unstable: demand exceeds capacity ({0})")]
    Unstable(String),
}
