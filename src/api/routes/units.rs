//! `/v1/units`: the fleet, lifecycle steps and AVL positions.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::api::auth::Principal;
use crate::api::body::{Answer, JsonBody, write};
use crate::api::error::{self, ApiError};
use crate::api::state::AppState;
use crate::dispatch::{Event, Fleet, Unit, UnitStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The answer to a write about one unit (assignment, status, position, move-up): the unit as
/// it stands after the event.
pub(crate) fn unit_answer(fleet: &Fleet, ev: &Event) -> Result<Answer, ApiError> {
    let unit = match ev {
        Event::UnitAssigned { unit, .. }
        | Event::UnitStatusChanged { unit, .. }
        | Event::UnitPosition { unit, .. }
        | Event::UnitMoved { unit, .. } => unit,
        _ => return Err(ApiError::Internal("unexpected event".into())),
    };
    let u = fleet
        .units
        .get(unit)
        .ok_or_else(|| ApiError::Internal("unit vanished".into()))?;
    let v = serde_json::to_value(u).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((StatusCode::OK, v))
}

/// A lifecycle step.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusRequest {
    /// The new status (`en_route`, `on_scene`, `transporting`, ...).
    pub(crate) status: String,
    /// The receiving hospital (needed for `transporting` or `at_hospital`).
    pub(crate) hospital_id: Option<String>,
    /// When it happened (RFC 3339); default now.
    pub(crate) at: Option<DateTime<Utc>>,
}

#[utoipa::path(post, tag = "units", path = "/v1/units/{id}/status", params(("id" = String, Path)),
    request_body = StatusRequest,
    responses((status = 200, body = Unit), (status = 404, body = error::ErrorBody),
        (status = 409, body = error::ErrorBody), (status = 422, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn unit_status(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(unit): Path<String>,
    headers: HeaderMap,
    body: JsonBody<StatusRequest>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/units/{unit}/status");
    let w = write(
        &s,
        p,
        &headers,
        route,
        body,
        |_, _, now, r| {
            let status = UnitStatus::parse(&r.status).ok_or_else(|| {
                ApiError::Unprocessable(format!(
                    "status `{}` is not one of {}",
                    r.status,
                    UnitStatus::ALL.map(|s| s.as_str()).join(", ")
                ))
            })?;
            if status == UnitStatus::Dispatched {
                return Err(ApiError::Conflict(
                    "a unit becomes dispatched by an assignment: POST /v1/incidents/{id}/assign"
                        .into(),
                ));
            }
            if status == UnitStatus::Relocating {
                return Err(ApiError::Conflict(
                    "a unit becomes relocating by a move-up: POST /v1/move-ups".into(),
                ));
            }
            Ok(Event::UnitStatusChanged {
                unit: unit.clone(),
                status,
                at: r.at.unwrap_or(now),
                hospital: r.hospital_id,
                reported_at: None,
            })
        },
        unit_answer,
    )
    .await?;
    Ok(w.into_response())
}

/// An AVL position report.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PositionRequest {
    pub(crate) lon: f64,
    pub(crate) lat: f64,
    /// When the position was taken (RFC 3339).
    pub(crate) at: DateTime<Utc>,
}

#[utoipa::path(post, tag = "units", path = "/v1/units/{id}/position", params(("id" = String, Path)),
    request_body = PositionRequest,
    responses((status = 200, body = Unit), (status = 404, body = error::ErrorBody),
        (status = 422, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn unit_position(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(unit): Path<String>,
    headers: HeaderMap,
    body: JsonBody<PositionRequest>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/units/{unit}/position");
    let w = write(
        &s,
        p,
        &headers,
        route,
        body,
        |svc, _, _, r| {
            crate::dispatch::check_lon_lat(r.lon, r.lat)?;
            // Stored as the point on the road it snaps to.
            let s = svc.tm.snap([r.lon, r.lat]).map_err(|e| {
                ApiError::Unprocessable(format!("the position is off the road map: {e}"))
            })?;
            Ok(Event::UnitPosition {
                unit: unit.clone(),
                lon: s.on_road[0],
                lat: s.on_road[1],
                at: r.at,
                reported_at: None,
            })
        },
        unit_answer,
    )
    .await?;
    Ok(w.into_response())
}

#[utoipa::path(get, tag = "units", path = "/v1/units", responses((status = 200, body = [Unit])),
    security(("bearer" = [])))]
pub(crate) async fn list_units(State(s): State<AppState>) -> Result<Json<Vec<Unit>>, ApiError> {
    Ok(Json(s.0.lock()?.fleet.units.values().cloned().collect()))
}

/// Carry out a move-up: send an available (or returning) unit to stand by at another station.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveUpRequest {
    pub(crate) unit_id: String,
    /// The station it goes to (its own station sends it home).
    pub(crate) to_station: String,
}

#[utoipa::path(post, tag = "units", path = "/v1/move-ups", request_body = MoveUpRequest,
    responses((status = 200, body = Unit), (status = 404, body = error::ErrorBody),
        (status = 409, body = error::ErrorBody), (status = 422, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn move_up(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: JsonBody<MoveUpRequest>,
) -> Result<Response, ApiError> {
    let w = write(
        &s,
        p,
        &headers,
        "POST /v1/move-ups".into(),
        body,
        |_, _, now, r| {
            Ok(Event::UnitMoved {
                unit: r.unit_id,
                station: r.to_station,
                at: now,
            })
        },
        unit_answer,
    )
    .await?;
    Ok(w.into_response())
}

/// `/v1/units`, the unit writes and `/v1/move-ups`, with their OpenAPI paths.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_units))
        .routes(routes!(unit_status))
        .routes(routes!(unit_position))
        .routes(routes!(move_up))
}
