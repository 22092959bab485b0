//! `GET /healthz`: liveness and the number of events applied.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::api::error::ApiError;
use crate::api::state::AppState;

/// Liveness and the number of events applied.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    pub(crate) status: &'static str,
    pub(crate) events: u64,
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
pub(crate) async fn healthz(State(s): State<AppState>) -> Result<Json<Health>, ApiError> {
    let events = s.0.lock()?.fleet.seq;
    Ok(Json(Health {
        status: "ok",
        events,
    }))
}
