//! Simulation on the shared travel-time model.
//!
//! This module owns the discrete-event simulation of calls, dispatch, transport and hospital
//! handover, and its validation. It must not build travel times of its own (it asks
//! [`crate::network::TravelModel`]) nor define dispatch rules (it applies
//! [`crate::dispatch::recommend`]'s, like the live API) or indicators (it feeds its incident log
//! to [`crate::standards`]).
//!
//! - [`des`]: the event engine on precomputed travel times: busy units, a priority queue of
//!   waiting calls, returning units dispatched on the way back, transport, handover with
//!   emergency-department bays, common random numbers.
//! - [`scenario`]: a scenario's calls (generated per zone, or replayed from an incident log),
//!   replications in parallel, figures with 95 % confidence intervals, the exported log.
//! - [`hypercube`]: Larson's exact hypercube model, the oracle the engine is tested against.
//! - [`synthetic`]: the generator of the demo's synthetic incident log (no queueing).
//! - [`demand`]: call rates by zone and hour of week fitted to an incident log, with a backtest
//!   (the generator's `--demand-from` and the optimiser's `--demand fitted`).

pub mod demand;
pub mod des;
pub mod hypercube;
pub mod scenario;
pub mod synthetic;
