//! The live dispatch API, driven over HTTP on `127.0.0.1:0` (issue #5): the lifecycle, the
//! brute-force unit oracle, hospital choice, roles, bad input, races, idempotency, restart,
//! the event stream and the OpenAPI document.
//!
//! This run: the event log on PostgreSQL (issue #17): a fresh database per test, dropped after
//! it; skipped with a message without a server, failed under `CI=true`.

mod common;

const STORE: StoreKind = StoreKind::Postgres;

include!("dispatch/api_suite.rs");
