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
mod fresh;
mod guard;
mod openapi;
mod query;
mod routes;
mod state;
mod stream;

use std::future::Future;

use axum::Router;
use axum::middleware;
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;

pub use auth::Principal;
pub use body::JsonBody;
pub use config::{Config, Role};
pub use error::ApiError;
pub use state::{AppState, ServeError, Service};

use routes::{coverage, health, hospitals, incidents, plan, units, web};

/// Serves `state` on `listener` until `shutdown` completes, then finishes the requests in
/// flight (event streams end at once) and stops the committer.
///
/// Connections are HTTP/1.1. A client must send a request's headers within the configured
/// `header_timeout_s` of connecting or of its previous request (an idle kept-alive connection
/// is closed then), and at most `max_connections` are open at once: further clients wait in
/// the listen backlog until one closes, so idle or slow clients cannot lock everyone out.
/// Accept errors (such as running out of file descriptors) are logged and retried.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use std::time::Duration;
    let config = state.0.config.clone();
    let stop = state.0.stop.clone();
    let journal = state.0.journal.clone();
    let router = app(state);
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(config.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs_f64(config.header_timeout_s))
        // Above the service's own limits, so that those answer with JSON.
        .max_headers(4 * guard::MAX_HEADERS)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!("accept failed (retrying): {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection closed: {e}");
            }
            drop(permit);
        });
    }
    let _ = stop.send(true);
    // Requests in flight finish (each write is acknowledged only once durable).
    let _ = tokio::time::timeout(Duration::from_secs(30), graceful.shutdown()).await;
    // Every acknowledged write is durable already; this stops the committer. (If the runtime
    // itself is shutting down, the task may not run: whoever drops the state closes it.)
    let _ = tokio::task::spawn_blocking(move || journal.close()).await;
    Ok(())
}

/// The names of the web pages' assets, served under `/assets/` (for tests and packagers).
pub fn asset_names() -> Vec<&'static str> {
    web::asset_names()
}

/// Every route, each registered once with its OpenAPI path: one router per resource
/// (`routes/*.rs`, the event stream), merged (utoipa-axum), so the served routes and the
/// document cannot drift apart.
fn routes() -> OpenApiRouter<AppState> {
    use utoipa::OpenApi;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(web::router())
        .merge(health::router())
        .merge(incidents::router())
        .merge(units::router())
        .merge(hospitals::router())
        .merge(coverage::router())
        .merge(plan::router())
        .merge(stream::router())
        .route("/openapi.json", get(openapi::openapi))
}

/// The router.
pub fn app(state: AppState) -> Router {
    let limit = state.0.config.max_body_bytes;
    let cors = cross_origin(&state.0.config.replicas);
    let (router, _) = routes().split_for_parts();
    let router = router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            fresh::freshness,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), auth::auth))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn(guard::limits))
        .layer(middleware::from_fn(guard::json_errors))
        .layer(compression())
        .with_state(state);
    match cors {
        Some(cors) => router.layer(cors),
        None => router,
    }
}

/// gzip for clients that ask for it (`Accept-Encoding`), by tower-http: the base map of a large
/// city (megabytes of GeoJSON), the lists and the scripts. Not the event stream (each event
/// must leave at once), images or fonts (compressed already), nor answers under 1 KiB.
fn compression()
-> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    use tower_http::compression::{CompressionLayer, DefaultPredicate};
    CompressionLayer::new()
        .gzip(true)
        .quality(tower_http::CompressionLevel::Fastest)
        .compress_when(
            DefaultPredicate::new()
                .and(SizeAbove::new(1024))
                .and(NotForContentType::const_new("font/")),
        )
}

/// Cross-origin calls from the board pages of the configured replicas (tower-http's CORS
/// layer, outside the token check, so that a browser's preflight needs no token): their
/// origins only, `GET` and `POST`, the headers the board sends, and `EMS-Seq` readable. No
/// cookies are involved (the token travels in `Authorization`). Without replicas, none.
fn cross_origin(replicas: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let origins: Vec<HeaderValue> = replicas
        .iter()
        .filter_map(|r| HeaderValue::from_str(r).ok())
        .collect();
    if origins.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(origins))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("idempotency-key"),
                HeaderName::from_static("last-event-id"),
                HeaderName::from_static("ems-min-seq"),
            ])
            .expose_headers([
                HeaderName::from_static("ems-seq"),
                HeaderName::from_static("idempotent-replayed"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route {}", uri.path()))
}
