//! The routes, one file per resource. Handlers are thin: they parse, call the write path
//! ([`super::body`]) or the dispatch rules ([`crate::dispatch`]), and serialise.

pub(crate) mod coverage;
pub(crate) mod health;
pub(crate) mod hospitals;
pub(crate) mod incidents;
pub(crate) mod plan;
pub(crate) mod units;
pub(crate) mod web;
