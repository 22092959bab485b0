//! Simulating a scenario: calls from its demand zones or from an incident log, travel times
//! from the shared model, replications in parallel, and figures with 95 % confidence
//! intervals computed by the standards check's own definitions.
//!
//! This module owns turning a scenario into a [`SimModel`](super::des::SimModel) and its results into figures and an
//! incident log. It must not compute travel times itself (it asks the shared
//! [`TravelModel`](crate::network::TravelModel)'s matrices), define the indicators (it feeds the simulated log to
//! [`crate::standards`]) nor format text (that is [`crate::report::simulate`]).
//!
//! # Defaults (the demo's synthetic log uses the same ones)
//! - Calls: 90 per 1,000 residents per year, Poisson per zone, hour of day by
//!   [`super::synthetic::HOUR_PROFILE`]; priority 1/2/3 with 0.25/0.45/0.30; condition
//!   stroke 8 %, chest pain 12 %, trauma 20 %, maternal 2 %, neonatal 1 %, none otherwise.
//! - Delays (log-normal, median / 90th percentile): call handling 60 s / 100 s, turnout
//!   75 s / 133 s, on scene 15 / 23.5 min, handover 6 / 9.4 min; 70 % transported.
//! - Travel: road times from the shared model, times an hour-of-day factor (1 by default).
//!
//! # Files
//! - `options`: the settings ([`SimOptions`]), their defaults and the scenario's overrides.
//! - `prepare`: the scenario turned into a [`Prepared`] model (atoms, units, travel matrices,
//!   policy).
//! - `calls`: the generated calls (Poisson by zone and hour) and where the calls come from.
//! - `run`: the replications in parallel, each call fed to the standards' sums, the summary.
//! - `figures`: estimates with 95 % confidence intervals, the summary's types, paired
//!   comparisons.
//! - `sweep`: the detention sweep.

mod calls;
mod figures;
mod options;
mod prepare;
mod run;
mod sweep;

pub use figures::{Comparison, ComparisonRow, Estimate, Outcome, RepFigures, Summary, compare};
pub use options::{PolicyOptions, SimOptions};
pub use prepare::{Prepared, prepare};
pub use run::simulate;
pub use sweep::{Sweep, SweepLevel, detention_sweep};
