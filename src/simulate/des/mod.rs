//! The discrete-event simulation engine: calls, dispatch, busy units, transport and hospital
//! handover, on precomputed road travel times.
//!
//! This module owns the event loop and its bookkeeping. It must not compute travel times (the
//! caller builds a [`Geometry`] from the shared travel model) nor define dispatch rules: it
//! applies [`crate::dispatch::recommend`]'s (`turnout_delay`, `unit_order`, `designated`,
//! `detaining`, `hospital_order`), the same ones the live API uses.
//!
//! # Model
//! - A call at atom `a` is handled (call-handling delay), then dispatched to the free unit with
//!   the smallest ETA = turnout (none if already rolling) + travel. Free units are those at
//!   their post, those returning and those relocating. A moving unit's position is not
//!   tracked: its ETA is the shorter of two routes it could take, driving on to where it is
//!   heading and from there, or turning back (the time it has driven) to where it left and
//!   from there (a hospital; for calls, not a scene, as the engine has no scene-to-scene
//!   times, so a unit returning from a scene finishes its return first), a
//!   documented approximation.
//! - With no free unit the call waits in a priority queue (priority, then arrival); the first
//!   unit to become free takes the head of the queue. With [`QueuePolicy::Lost`] it is lost.
//! - [`Service::Exponential`]: the unit is busy for one exponential time from dispatch and
//!   is then back at its station (the hypercube's assumptions).
//! - [`Service::Road`]: travel to the scene, an on-scene time, transport with a probability
//!   (hospital chosen by the dispatch rule with the live handover queues), handover at the
//!   emergency department (waiting for a bay when the hospital has bays), and the drive back.
//! - Travel times are scaled by an hour-of-day factor. Time 0 is local midnight.
//! - Every call draws its random numbers from its own generator, seeded by the replication seed
//!   and its index, as uniforms turned into times by each distribution's quantile function
//!   ([`Dist::quantile`]): two plans, two policies or two detention levels see the same calls
//!   with the same on-scene and handover draws (common random numbers), and a longer
//!   distribution stretches the same draw.
//! - Move-ups ([`SimPolicy`], the rules of [`crate::dispatch::policy`]): a free unit stands at
//!   or drives to its **post** (its home station under the static policy). A unit relocating
//!   between posts is free; its ETA to a call is the shorter of driving on to the new post and
//!   from there, or turning back to the old post (the time already driven) and from there.
//! - Hospital release rule: with `release_after_min`, an ambulance still waiting or handing
//!   over that long after arriving is released (the handover is complete then).
//! - Stretchers: a hospital with `stretchers` has that many trolleys for ambulance patients; a
//!   patient keeps one from the handover's end for a draw of `stretcher_hold_min`. An
//!   ambulance that finds none free either waits for one before its handover
//!   ([`StretcherRule::Wait`], the wait counts as detention) or leaves its own stretcher with
//!   the patient and drives back to its station for a spare, busy until it is there
//!   ([`StretcherRule::Leave`]).
//! - Memory: calls are pulled from an iterator as they arrive and each call's record is handed
//!   to a sink as soon as it is final (the unit leaves the scene or the hospital), so a run
//!   holds only the calls in progress.
//!
//! # Files
//! - `model`: the simulated system (travel times, units, hospitals, service, policy) and its
//!   checks.
//! - `distributions`: the duration distributions and their quantile functions.
//! - `results`: what a run returns (call records, run figures) and its errors.
//! - `engine`: the event loop and its state (dispatch, returns, move-ups, hospitals, one
//!   handler per event kind).

mod distributions;
mod engine;
mod model;
mod results;

pub use distributions::Dist;
pub use engine::{run, run_with};
pub use model::{
    Call, DetentionMix, Geometry, QueuePolicy, RoadService, Service, SimModel, SimPolicy,
    StretcherRule,
};
pub use results::{CallRecord, Replication, RunStats, SimError};
