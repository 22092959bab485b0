//! The live dispatch HTTP service behind `ems serve`: an axum router over the shared spatial
//! core and the durable fleet state.
//!
//! This module owns HTTP: routes, bearer-token roles, JSON bodies and errors, idempotency keys,
//! the event stream and the OpenAPI document. It must not hold dispatch rules or lifecycle logic
//! (those are [`crate::dispatch`]) nor compute travel times other than through the shared
//! [`crate::network::TravelModel`]. Shaped like axum's examples and mini-redis: [`app`] builds the router from a
//! state, and [`run`] serves it on a listener until a shutdown future completes, so tests drive
//! the real server on `127.0.0.1:0`.
//!
//! # Writes
//! Every change is validated against the state, appended to the SQLite log (with the request's
//! idempotency record, in one transaction with `synchronous=FULL`) and only then answered. All
//! writes pass one lock, so two dispatchers racing for a unit are ordered: one wins, the other
//! gets 409. A `POST` with an `Idempotency-Key` header that was answered before gets the first
//! answer again (header `Idempotent-Replayed: true`) and writes nothing; the same key with a
//! different body is refused with 422.

pub mod config;
pub mod error;

mod auth;
mod body;
mod openapi;
mod routes;
mod state;
mod stream;

use std::future::Future;

use axum::Router;
use axum::middleware;
use axum::routing::{get, post};

pub use auth::Principal;
pub use body::JsonBody;
pub use config::{Config, Role};
pub use error::ApiError;
pub use state::{AppState, ServeError, Service};

use routes::{coverage, health, hospitals, incidents, units};

/// Serves `state` on `listener` until `shutdown` completes, then finishes the requests in
/// flight (event streams end at once).
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = state.0.stop.clone();
    let journal = state.0.journal.clone();
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop.send(true);
        })
        .await;
    // Every acknowledged write is durable already; this commits nothing new, it stops the
    // committer.
    tokio::task::spawn_blocking(move || journal.close())
        .await
        .map_err(std::io::Error::other)?;
    served
}

/// The router.
pub fn app(state: AppState) -> Router {
    let limit = state.0.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/openapi.json", get(openapi::openapi))
        .route(
            "/v1/incidents",
            post(incidents::create_incident).get(incidents::list_incidents),
        )
        .route("/v1/incidents.csv", get(incidents::incidents_csv))
        .route("/v1/incidents/{id}", get(incidents::get_incident))
        .route(
            "/v1/incidents/{id}/recommendation",
            get(incidents::recommendation),
        )
        .route("/v1/incidents/{id}/assign", post(incidents::assign))
        .route("/v1/units", get(units::list_units))
        .route("/v1/units/{id}/status", post(units::unit_status))
        .route("/v1/units/{id}/position", post(units::unit_position))
        .route("/v1/hospitals", get(hospitals::list_hospitals))
        .route("/v1/kpis", get(coverage::kpis))
        .route("/v1/coverage/gaps", get(coverage::coverage_gaps))
        .route("/v1/events", get(stream::events))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth::auth))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route {}", uri.path()))
}
