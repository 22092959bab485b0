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

fn html(page: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            // Everything comes from this server; nothing is framed or fetched elsewhere.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
                 frame-ancestors 'none'",
            ),
        ],
        page,
    )
        .into_response()
}

/// `GET /`: the dispatch board.
pub(crate) async fn board() -> Response {
    html(BOARD)
}

/// `GET /plan`: the planning page.
pub(crate) async fn plan_page() -> Response {
    html(PLAN)
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
