//! `GET /v1/hospitals`: each hospital with its live handover queue.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Serialize;

use crate::api::error::ApiError;
use crate::api::state::AppState;
use crate::dispatch::recommend;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A hospital with its live handover queue.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct HospitalView {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) lon_lat: [f64; 2],
    pub(crate) capabilities: Vec<String>,
    pub(crate) ed_bays: Option<u32>,
    /// Units waiting to hand over, longest wait first.
    pub(crate) waiting_units: Vec<String>,
    pub(crate) units_waiting: usize,
    pub(crate) longest_wait_min: f64,
    /// Holding ambulances: all bays taken, or a wait at the detention threshold.
    pub(crate) detaining: bool,
}

#[utoipa::path(get, tag = "hospitals", path = "/v1/hospitals", responses((status = 200, body = [HospitalView])),
    security(("bearer" = [])))]
pub(crate) async fn list_hospitals(
    State(s): State<AppState>,
) -> Result<Json<Vec<HospitalView>>, ApiError> {
    let now = Utc::now();
    let core = s.0.lock()?;
    Ok(Json(
        s.0.sc
            .hospitals
            .iter()
            .map(|h| {
                let q = core.fleet.handover_queue(&h.id, now);
                let longest = q.first().map_or(0.0, |x| x.1);
                HospitalView {
                    id: h.id.clone(),
                    name: h.name.clone(),
                    lon_lat: h.lon_lat,
                    capabilities: h.capabilities.iter().map(|c| c.as_str().into()).collect(),
                    ed_bays: h.ed_bays,
                    units_waiting: q.len(),
                    detaining: recommend::detaining(q.len(), h.ed_bays, longest, s.0.detention_min),
                    longest_wait_min: longest,
                    waiting_units: q.into_iter().map(|x| x.0).collect(),
                }
            })
            .collect(),
    ))
}

/// `/v1/hospitals`, with its OpenAPI path.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_hospitals))
}
