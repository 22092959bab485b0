//! `GET /v1/kpis` and `GET /v1/coverage/gaps`: today's figures, coverage now and the best
//! move-up, computed by [`crate::dispatch::coverage`].

use axum::Json;
use axum::extract::State;
use chrono::Utc;

use crate::api::body::blocking;
use crate::api::error::ApiError;
use crate::api::state::AppState;
use crate::dispatch::coverage::{self, Gaps, Kpis};

#[utoipa::path(get, path = "/v1/kpis", responses((status = 200, body = Kpis)),
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

#[utoipa::path(get, path = "/v1/coverage/gaps", responses((status = 200, body = Gaps)),
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
