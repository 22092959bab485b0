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
use axum::routing::get;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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

/// How long a browser keeps an asset asked for by its current version (a year: the version
/// changes with the content, so a new binary's pages ask for new URLs).
const VERSIONED: &str = "public, max-age=31536000, immutable";

/// An asset as served: its bytes (the stylesheet with its font's URL versioned) and its
/// content hash, which is both its `ETag` and the `?v=` of the URLs the pages use.
struct Served {
    name: &'static str,
    kind: &'static str,
    /// Shared, not copied, by each answer (the font is 1.3 MB).
    bytes: axum::body::Bytes,
    hash: String,
}

/// The first 16 hex digits of the SHA-256 of `bytes`.
fn content_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `text` with each `"/assets/NAME"` of `served` as `"/assets/NAME?v=HASH"`.
fn versioned(text: &str, served: &[Served]) -> String {
    let mut out = text.to_string();
    for a in served {
        out = out.replace(
            &format!("\"/assets/{}\"", a.name),
            &format!("\"/assets/{}?v={}\"", a.name, a.hash),
        );
    }
    out
}

/// The assets with their hashes (built once): stylesheets last, since they name the font.
fn served() -> &'static [Served] {
    static SERVED: std::sync::OnceLock<Vec<Served>> = std::sync::OnceLock::new();
    SERVED.get_or_init(|| {
        let mut out: Vec<Served> = ASSETS
            .iter()
            .filter(|(_, kind, _)| !kind.starts_with("text/css"))
            .map(|&(name, kind, bytes)| Served {
                name,
                kind,
                bytes: axum::body::Bytes::from_static(bytes),
                hash: content_hash(bytes),
            })
            .collect();
        for &(name, kind, bytes) in ASSETS.iter().filter(|a| a.1.starts_with("text/css")) {
            let text = versioned(&String::from_utf8_lossy(bytes), &out);
            out.push(Served {
                name,
                kind,
                hash: content_hash(text.as_bytes()),
                bytes: text.into_bytes().into(),
            });
        }
        out
    })
}

/// The board and planning pages, their asset URLs versioned (built once).
fn pages() -> &'static (String, String) {
    static PAGES: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    PAGES.get_or_init(|| (versioned(BOARD, served()), versioned(PLAN, served())))
}

/// A page, with a policy that everything comes from this server and nothing frames it; calls
/// (`connect-src`) may also go to the configured replicas, where the board fails over.
fn html(page: &str, replicas: &[String]) -> Response {
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
        page.to_string(),
    )
        .into_response()
}

/// `GET /`: the dispatch board.
pub(crate) async fn board(State(s): State<AppState>) -> Response {
    html(&pages().0, &s.0.config.replicas)
}

/// `GET /plan`: the planning page.
pub(crate) async fn plan_page(State(s): State<AppState>) -> Response {
    html(&pages().1, &s.0.config.replicas)
}

/// `GET /assets/{name}`: with its content hash as `ETag` (a matching `If-None-Match` gets
/// 304). Asked for by its current version (`?v=HASH`, as the pages do) it may be kept for a
/// year; asked for otherwise, it is revalidated on each use (`no-cache`).
pub(crate) async fn asset(
    Path(name): Path<String>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let a = served()
        .iter()
        .find(|a| a.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("no asset `{name}`")))?;
    let current = uri
        .query()
        .is_some_and(|q| q.split('&').any(|kv| kv == format!("v={}", a.hash)));
    let cache = if current { VERSIONED } else { "no-cache" };
    let etag = format!("\"{}\"", a.hash);
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((
            StatusCode::NOT_MODIFIED,
            [(header::ETAG, etag), (header::CACHE_CONTROL, cache.into())],
        )
            .into_response());
    }
    Ok((
        [
            (header::CONTENT_TYPE, a.kind.to_string()),
            (header::CACHE_CONTROL, cache.to_string()),
            (header::ETAG, etag),
        ],
        a.bytes.clone(),
    )
        .into_response())
}

/// The base map of the scenario: roads by class, boundary, demand zones, stations and
/// hospitals, one GeoJSON FeatureCollection (each feature's `kind` says which), built once.
#[utoipa::path(get, tag = "web", path = "/v1/map",
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

#[utoipa::path(get, tag = "web", path = "/v1/whoami", responses((status = 200, body = WhoAmI)),
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
#[utoipa::path(get, tag = "web", path = "/v1/replicas", responses((status = 200, body = Replicas)),
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
#[utoipa::path(get, tag = "web", path = "/v1/lifecycle", responses((status = 200, body = [Step])),
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

/// The pages and their assets (not in the OpenAPI document), and the small JSON routes the
/// pages read (`/v1/map`, `/v1/whoami`, `/v1/replicas`, `/v1/lifecycle`), with their paths.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .route("/", get(board))
        .route("/assets/{name}", get(asset))
        .route("/plan", get(plan_page))
        .routes(routes!(base_map))
        .routes(routes!(whoami))
        .routes(routes!(replicas))
        .routes(routes!(lifecycle))
}
