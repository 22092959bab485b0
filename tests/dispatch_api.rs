//! The live dispatch API, driven over HTTP on `127.0.0.1:0` (issue #5): the lifecycle, the
//! brute-force unit oracle, hospital choice, roles, bad input, races, idempotency, restart,
//! the event stream and the OpenAPI document.
//!
//! This run: the event log in SQLite; `dispatch_api_postgres` runs the same suite on PostgreSQL.

mod common;

const STORE: StoreKind = StoreKind::Sqlite;

include!("dispatch/api_suite.rs");
