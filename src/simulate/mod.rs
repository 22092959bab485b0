//! Simulation on the shared travel-time model.
//!
//! This module will own the discrete-event simulation of calls, dispatch, transport and hospital
//! handover. It must not build travel times of its own: it asks [`crate::network::TravelModel`].
//! So far it holds only [`synthetic`], a documented generator of synthetic incident logs
//! without queueing (every call gets its nearest station's unit, busy or not). The full
//! simulator, with busy units, queues and confidence intervals, is not built yet.

pub mod des;
pub mod hypercube;
pub mod scenario;
pub mod synthetic;
