//! The web pages and what only they need: `GET /` (the dispatch board) and `GET /plan` (the
//! planning page), their assets compiled
//! into the binary (`/assets/...`, no CDN), the base map (`GET /v1/map`), who the token is
//! (`GET /v1/whoami`) and the unit lifecycle (`GET /v1/lifecycle`), so the page holds no copy
//! of the dispatch rules.
//!
//! The pages and assets hold no data and load without a token; every data call needs one.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Serialize;

use crate::api::auth::Principal;
use crate::api::body::blocking;
use crate::api::config::Role;
use crate::api::error::ApiError;
use crate::api::state::AppState;
use crate::dispatch::UnitStatus;

/// The files served under `/assets/`, compiled in: name, content type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "board.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/board.js"),
    ),
    (
        "plan.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/plan.js"),
    ),
    (
        "map.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/map.js"),
    ),
    (
        "common.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/common.js"),
    ),
    (
        "ems.css",
        "text/css; charset=utf-8",
        include_bytes!("../web/ems.css"),
    ),
    (
        "leaflet.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../web/vendor/leaflet/leaflet.js"),
    ),
    (
        "leaflet.css",
        "text/css; charset=utf-8",
        include_bytes!("../web/vendor/leaflet/leaflet.css"),
    ),
    (
        "cjk-subset.woff2",
        "font/woff2",
        include_bytes!("../web/fonts/cjk-subset.woff2"),
    ),
    (
        "OFL-cjk-subset.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../web/fonts/OFL.txt"),
    ),
    (
        "LICENSE-leaflet.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../web/vendor/leaflet/LICENSE"),
    ),
];

/// The names of the files served under `/assets/`.
pub(crate) fn asset_names() -> Vec<&'static str> {
    ASSETS.iter().map(|(n, _, _)| *n).collect()
}

const BOARD: &str = include_str!("../web/board.html");
const PLAN: &str = include_str!("../web/plan.html");

/// A page, with a policy that everything comes from this server and nothing frames it; calls
/// (`connect-src`) may also go to the configured replicas, where the board fails over.
fn html(page: &'static str, replicas: &[String]) -> Response {
    let mut connect = String::from("'self'");
    for r in replicas {
        connect.push(' ');
        connect.push_str(r);
    }
    let policy = format!(
        "default-src 'self'; connect-src {connect}; img-src 'self' data:; \
         style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (header::CACHE_CONTROL, "no-cache".to_string()),
            (header::CONTENT_SECURITY_POLICY, policy),
        ],
        page,
    )
        .into_response()
}

/// `GET /`: the dispatch board.
pub(crate) async fn board(State(s): State<AppState>) -> Response {
    html(BOARD, &s.0.config.replicas)
}

/// `GET /plan`: the planning page.
pub(crate) async fn plan_page(State(s): State<AppState>) -> Response {
    html(PLAN, &s.0.config.replicas)
}

/// `GET /assets/{name}`.
pub(crate) async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    let (_, kind, bytes) = ASSETS
        .iter()
        .find(|(n, _, _)| *n == name)
        .ok_or_else(|| ApiError::NotFound(format!("no asset `{name}`")))?;
    Ok((
        [
            (header::CONTENT_TYPE, *kind),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        *bytes,
    )
        .into_response())
}

/// The base map of the scenario: roads by class, boundary, demand zones, stations and
/// hospitals, one GeoJSON FeatureCollection (each feature's `kind` says which), built once.
#[utoipa::path(get, path = "/v1/map",
    responses((status = 200, content_type = "application/geo+json", body = Object)),
    security(("bearer" = [])))]
pub(crate) async fn base_map(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let svc = s.0.clone();
    let text = blocking(move || {
        Ok(svc
            .base_map
            .get_or_init(|| {
                Arc::new(crate::report::basemap::base_map(&svc.sc, &svc.tm.network).to_string())
            })
            .clone())
    })
    .await?;
    let etag = format!("\"{:x}\"", crc32fast::hash(text.as_bytes()));
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag.as_str())
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, "application/geo+json".to_string()),
            (header::ETAG, etag),
        ],
        text.to_string(),
    )
        .into_response())
}

/// The token's name and role.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct WhoAmI {
    pub(crate) name: String,
    /// `viewer`, `dispatcher` or `admin`.
    pub(crate) role: String,
    /// Whether this token may write (assign, report status, create calls).
    pub(crate) can_write: bool,
}

#[utoipa::path(get, path = "/v1/whoami", responses((status = 200, body = WhoAmI)),
    security(("bearer" = [])))]
pub(crate) async fn whoami(Extension(p): Extension<Principal>) -> Json<WhoAmI> {
    Json(WhoAmI {
        name: p.name,
        role: format!("{:?}", p.role).to_lowercase(),
        can_write: p.role >= Role::Dispatcher,
    })
}

/// The replicas sharing this server's event log.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Replicas {
    /// Every replica's address as clients reach it (`scheme://host:port`), from the config's
    /// `replicas`; empty when none are configured (clients then use the address they have).
    pub(crate) replicas: Vec<String>,
    /// Whether the event log is shared (PostgreSQL), i.e. whether another replica can answer.
    pub(crate) shared_log: bool,
}

/// The replica addresses a client fails over to (`GET /v1/replicas`).
#[utoipa::path(get, path = "/v1/replicas", responses((status = 200, body = Replicas)),
    security(("bearer" = [])))]
pub(crate) async fn replicas(State(s): State<AppState>) -> Json<Replicas> {
    Json(Replicas {
        replicas: s.0.config.replicas.clone(),
        shared_log: s.0.config.db.path().is_none(),
    })
}

/// One status and the statuses a status report may move a unit to from it.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Step {
    pub(crate) status: UnitStatus,
    pub(crate) next: Vec<UnitStatus>,
}

/// The unit lifecycle ([`UnitStatus::next`]); `dispatched` is entered only by an assignment,
/// `relocating` only by a move-up.
#[utoipa::path(get, path = "/v1/lifecycle", responses((status = 200, body = [Step])),
    security(("bearer" = [])))]
pub(crate) async fn lifecycle() -> Json<Vec<Step>> {
    Json(
        UnitStatus::ALL
            .iter()
            .map(|s| Step {
                status: *s,
                next: s.next().to_vec(),
            })
            .collect(),
    )
}
