//! `GET /v1/kpis`, `GET /v1/coverage/gaps` and `GET /v1/posting`: today's figures, coverage
//! now, the best single move-up ([`crate::dispatch::coverage`]) and the move-up policy's
//! posting ([`crate::dispatch::posting`]).

use axum::Json;
use axum::extract::State;
use chrono::Utc;

use crate::api::body::blocking;
use crate::api::error::ApiError;
use crate::api::state::AppState;
use crate::dispatch::coverage::{self, Gaps, Kpis};
use crate::dispatch::posting::Posting;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[utoipa::path(get, tag = "coverage", path = "/v1/kpis", responses((status = 200, body = Kpis)),
    security(("bearer" = [])))]
pub(crate) async fn kpis(State(s): State<AppState>) -> Result<Json<Kpis>, ApiError> {
    let svc = s.0.clone();
    blocking(move || {
        let tz = &svc.sc.timezone;
        let today = tz.from_utc(Utc::now()).date_naive();
        // Running sums: the cost does not grow with the day's calls.
        let day = svc
            .today
            .lock()
            .map_err(|_| ApiError::Internal("the figures lock is poisoned".into()))?
            .day(today);
        let units = svc.lock()?.fleet.units.clone();
        let (tm, cover, hour) = svc.coverage_now();
        let mut k = coverage::kpis(
            &tm,
            &cover,
            today.to_string(),
            &day,
            &units,
            svc.detention_min,
        );
        k.travel_hour = hour;
        Ok(Json(k))
    })
    .await
}

#[utoipa::path(get, tag = "coverage", path = "/v1/coverage/gaps", responses((status = 200, body = Gaps)),
    security(("bearer" = [])))]
pub(crate) async fn coverage_gaps(State(s): State<AppState>) -> Result<Json<Gaps>, ApiError> {
    let svc = s.0.clone();
    blocking(move || {
        let units = svc.lock()?.fleet.units.clone();
        let (tm, cover, hour) = svc.coverage_now();
        let mut g = cover.gaps(&svc.sc, &tm, &units);
        g.travel_hour = hour;
        Ok(Json(g))
    })
    .await
}

/// Where the configured move-up policy (`move_up_policy`) wants the free units now, as moves
/// to accept with `POST /v1/move-ups`; the event stream sends it as `event: posting` when it
/// changes.
#[utoipa::path(get, tag = "coverage", path = "/v1/posting", responses((status = 200, body = Posting)),
    security(("bearer" = [])))]
pub(crate) async fn posting(State(s): State<AppState>) -> Result<Json<Posting>, ApiError> {
    let svc = s.0.clone();
    blocking(move || Ok(Json(svc.posting_now()))).await
}

/// `/v1/kpis`, `/v1/coverage/gaps` and `/v1/posting`, with their OpenAPI paths.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(kpis))
        .routes(routes!(coverage_gaps))
        .routes(routes!(posting))
}
