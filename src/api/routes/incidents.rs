//! `/v1/incidents`: new calls with their recommendation, the list and the CSV export, one
//! incident, its recommendation, and assignment.

use std::collections::BTreeMap;

use crate::report::LineString;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::units::unit_answer;
use crate::api::auth::Principal;
use crate::api::body::{JsonBody, blocking, parse_id, write};
use crate::api::error::{self, ApiError};
use crate::api::query::Params;
use crate::api::state::{AppState, Service};
use crate::dispatch::recommend::{self, RankedHospital, RankedUnit};
use crate::dispatch::{Event, IncidentRecord, Unit, UnitStatus};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// A new call.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateIncident {
    pub(crate) lon: f64,
    pub(crate) lat: f64,
    /// 1 (most urgent) to 4.
    pub(crate) priority: u8,
    /// `stroke`, `chest_pain`, `trauma`, `maternal`, `neonatal` or `other`.
    pub(crate) condition: Option<String>,
    pub(crate) note: Option<String>,
}

/// A created incident with its recommendation.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Created {
    pub(crate) id: u64,
    pub(crate) incident: IncidentRecord,
    pub(crate) recommendation: Recommendation,
}

/// Units ranked by ETA, and hospitals for the condition.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Recommendation {
    pub(crate) incident: u64,
    pub(crate) units: Vec<UnitOption>,
    pub(crate) hospitals: Vec<RankedHospital>,
    /// The local hour whose traffic factors the times use (`null`: free flow, the scenario has
    /// no traffic profile).
    pub(crate) travel_hour: Option<usize>,
}

/// A unit that can take the call.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct UnitOption {
    #[serde(flatten)]
    pub(crate) ranked: RankedUnit,
    pub(crate) station: String,
    pub(crate) status: UnitStatus,
    /// GeoJSON Feature (LineString) of the route to the scene.
    #[schema(value_type = Object)]
    pub(crate) route: RouteFeature,
}

/// The route's GeoJSON properties.
#[derive(Serialize)]
pub(crate) struct RouteProperties {
    pub(crate) unit: String,
    pub(crate) eta_s: f64,
    pub(crate) distance_m: f64,
}

/// A unit's route to the scene as a GeoJSON Feature (LineString).
#[derive(Serialize)]
pub(crate) struct RouteFeature {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) geometry: LineString,
    pub(crate) properties: RouteProperties,
}

/// How many units a recommendation lists, with their routes.
pub(crate) const RECOMMEND_UNITS: usize = 10;

/// The recommendation for incident `inc` ([`recommend::for_incident`]) as the API shows it:
/// each unit's route as a GeoJSON Feature.
pub(crate) fn recommend_for(
    svc: &Service,
    units: &BTreeMap<String, Unit>,
    inc: &IncidentRecord,
) -> Result<Recommendation, ApiError> {
    let (model, travel_hour) = svc.model_now();
    let scene = model.snap(inc.lon_lat).map_err(|e| {
        ApiError::Unprocessable(format!("incident {} is off the road map: {e}", inc.id))
    })?;
    let input = recommend::AdviceInput {
        units,
        hospitals: &svc.sc.hospitals,
        hospital_points: &svc.hospitals,
        turnout_s: svc.config.turnout_s,
        detention_threshold_min: svc.detention_min,
        now: Utc::now(),
    };
    let advice = recommend::for_incident(
        &model,
        &scene,
        inc.condition.as_deref(),
        &input,
        RECOMMEND_UNITS,
    );
    let units = advice
        .units
        .into_iter()
        .map(|u| UnitOption {
            station: u.station,
            status: u.status,
            route: RouteFeature {
                kind: "Feature",
                geometry: LineString {
                    kind: "LineString",
                    coordinates: u.geometry,
                },
                properties: RouteProperties {
                    unit: u.ranked.unit.clone(),
                    eta_s: u.ranked.eta_s,
                    distance_m: u.ranked.distance_m,
                },
            },
            ranked: u.ranked,
        })
        .collect();
    Ok(Recommendation {
        incident: inc.id,
        units,
        hospitals: advice.hospitals,
        travel_hour,
    })
}

#[utoipa::path(post, tag = "incidents", path = "/v1/incidents", request_body = CreateIncident,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries return the first answer")),
    responses((status = 201, body = Created), (status = 400, body = error::ErrorBody),
        (status = 422, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn create_incident(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: JsonBody<CreateIncident>,
) -> Result<Response, ApiError> {
    let mut w = write(
        &s,
        p,
        &headers,
        "POST /v1/incidents".into(),
        body,
        |svc, fleet, now, c| {
            crate::dispatch::check_lon_lat(c.lon, c.lat)?;
            svc.tm.snap([c.lon, c.lat]).map_err(|e| {
                ApiError::Unprocessable(format!("the incident location is off the road map: {e}"))
            })?;
            Ok(Event::IncidentCreated {
                id: fleet.next_incident_id(),
                at: now,
                lon: c.lon,
                lat: c.lat,
                priority: c.priority,
                condition: c.condition.filter(|x| !x.is_empty()),
                note: c.note,
            })
        },
        |fleet, ev| {
            let Event::IncidentCreated { id, .. } = ev else {
                return Err(ApiError::Internal("unexpected event".into()));
            };
            let inc = fleet
                .incidents
                .get(id)
                .ok_or_else(|| ApiError::Internal("incident not applied".into()))?;
            let body = serde_json::json!({"id": id, "incident": inc});
            Ok((StatusCode::CREATED, body))
        },
    )
    .await?;
    // The recommendation is not part of the kept answer: it is computed now, from the fleet as
    // it is (a retry gets the same incident and a current recommendation).
    let id = w.body["id"]
        .as_u64()
        .ok_or_else(|| ApiError::Internal("answer without id".into()))?;
    let rec = match recommend_now(&s, id).await {
        // A replayed answer whose incident this replica has not read yet (the shared log could
        // not be read to its head in time).
        Err(ApiError::NotFound(_)) if w.replayed => {
            return Err(ApiError::Unavailable(format!(
                "the event log holds incident {id}, but this replica has not read it yet; retry"
            )));
        }
        other => other?,
    };
    w.body["recommendation"] =
        serde_json::to_value(rec).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(w.into_response())
}

/// The default and largest page of `GET /v1/incidents`.
pub(crate) const PAGE_DEFAULT: usize = 100;
pub(crate) const PAGE_MAX: usize = 1000;

/// The query of `GET /v1/incidents`: filters and the page.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only open (true) or closed (false) incidents.
    #[serde(default, deserialize_with = "true_or_false")]
    open: Option<bool>,
    /// Only this priority.
    #[param(minimum = 1, maximum = 4)]
    priority: Option<u8>,
    /// Oldest first, from the incident after this id (the cursor of the next page).
    #[serde(default, deserialize_with = "cursor")]
    after: Option<u64>,
    /// Newest first, from the incident before this id (with `after`: the ids between, oldest
    /// first).
    #[serde(default, deserialize_with = "cursor")]
    before: Option<u64>,
    /// Page size (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// `true` or `false`, nothing else (serde_html_form would take `on` for true).
fn true_or_false<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match String::deserialize(d)?.as_str() {
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        v => Err(serde::de::Error::custom(format!(
            "{v}: expected true or false"
        ))),
    }
}

/// An incident id as a cursor: a whole number from 0 to `i64::MAX` (the log's ids are
/// signed 64-bit, as the OpenAPI document says).
fn cursor<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = String::deserialize(d)?;
    v.parse::<i64>()
        .ok()
        .and_then(|n| u64::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{v}: expected a whole number from 0 to {}",
                i64::MAX
            ))
        })
}

#[utoipa::path(get, tag = "incidents", path = "/v1/incidents",
    params(ListQuery),
    responses((status = 200, body = [IncidentRecord],
        headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page"))),
        (status = 400, body = error::ErrorBody), (status = 401, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn list_incidents(
    State(s): State<AppState>,
    Params(q): Params<ListQuery>,
) -> Result<Response, ApiError> {
    let ListQuery {
        open,
        priority,
        after,
        before,
        limit,
    } = q;
    if let Some(p) = priority
        && !(1..=4).contains(&p)
    {
        return Err(ApiError::BadRequest(format!(
            "query parameter priority={p}: expected 1 to 4"
        )));
    }
    let limit = match limit {
        None => PAGE_DEFAULT,
        Some(n) if (1..=PAGE_MAX).contains(&n) => n,
        Some(n) => {
            return Err(ApiError::BadRequest(format!(
                "query parameter limit={n}: expected 1 to {PAGE_MAX}"
            )));
        }
    };
    let keep = |i: &&IncidentRecord| {
        open.is_none_or(|o| i.open() == o) && priority.is_none_or(|p| i.priority == p)
    };
    // One more than the page, to know whether there is a next one.
    let page: Vec<IncidentRecord> = {
        let core = s.0.lock()?;
        let all = &core.fleet.incidents;
        match (after, before) {
            // Both: the ids between, oldest first.
            (Some(a), Some(b)) => all
                .range(a.saturating_add(1)..b.max(a.saturating_add(1)))
                .map(|(_, i)| i)
                .filter(keep)
                .take(limit + 1)
                .cloned()
                .collect(),
            (None, Some(b)) => all
                .range(..b)
                .rev()
                .map(|(_, i)| i)
                .filter(keep)
                .take(limit + 1)
                .cloned()
                .collect(),
            (_, None) => all
                .range(after.map_or(0, |a| a.saturating_add(1))..)
                .map(|(_, i)| i)
                .filter(keep)
                .take(limit + 1)
                .cloned()
                .collect(),
        }
    };
    let more = page.len() > limit;
    let page: Vec<IncidentRecord> = page.into_iter().take(limit).collect();
    let mut r = Json(&page).into_response();
    if more && let Some(last) = page.last() {
        let mut next = match (after, before) {
            (Some(_), Some(b)) => vec![format!("after={}", last.id), format!("before={b}")],
            (None, Some(_)) => vec![format!("before={}", last.id)],
            _ => vec![format!("after={}", last.id)],
        };
        next.push(format!("limit={limit}"));
        if let Some(o) = open {
            next.push(format!("open={o}"));
        }
        if let Some(p) = priority {
            next.push(format!("priority={p}"));
        }
        let link = format!("</v1/incidents?{}>; rel=\"next\"", next.join("&"));
        if let Ok(v) = header::HeaderValue::from_str(&link) {
            r.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(r)
}

/// The layout of the CSV export.
#[derive(Deserialize, utoipa::ToSchema, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum CsvRows {
    /// One row per incident (the `ems` format; `ems check --incidents`).
    Incident,
    /// One row per unit sent, the incident's id repeated (`ems check --incidents ...
    /// --columns ems-units`).
    Unit,
}

/// The query of `GET /v1/incidents.csv`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct CsvQuery {
    /// `incident` (default): one row per incident; `unit`: one row per unit sent, read back
    /// with `--columns ems-units`.
    rows: Option<CsvRows>,
}

/// The incident log as CSV in the standards check's format: one row per incident (its times
/// those of its first ambulance on scene), or with `rows=unit` one row per unit sent.
#[utoipa::path(get, tag = "incidents", path = "/v1/incidents.csv",
    params(CsvQuery),
    responses((status = 200, content_type = "text/csv", body = String),
        (status = 400, body = error::ErrorBody), (status = 401, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn incidents_csv(
    State(s): State<AppState>,
    Params(q): Params<CsvQuery>,
) -> Result<Response, ApiError> {
    let rows_per = q.rows.unwrap_or(CsvRows::Incident);
    let rows: Vec<crate::model::Incident> = {
        let core = s.0.lock()?;
        let tz = &s.0.sc.timezone;
        match rows_per {
            CsvRows::Incident => core
                .fleet
                .incidents
                .values()
                .map(|i| i.to_incident(tz))
                .collect(),
            CsvRows::Unit => core
                .fleet
                .incidents
                .values()
                .flat_map(|i| i.unit_rows(tz))
                .collect(),
        }
    };
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        crate::model::write_incidents(&rows),
    )
        .into_response())
}

#[utoipa::path(get, tag = "incidents", path = "/v1/incidents/{id}", params(("id" = u64, Path)),
    responses((status = 200, body = IncidentRecord), (status = 404, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn get_incident(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<IncidentRecord>, ApiError> {
    let id = parse_id(&id)?;
    let core = s.0.lock()?;
    core.fleet
        .incidents
        .get(&id)
        .cloned()
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("no incident {id}")))
}

#[utoipa::path(get, tag = "incidents", path = "/v1/incidents/{id}/recommendation", params(("id" = u64, Path)),
    responses((status = 200, body = Recommendation), (status = 404, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn recommendation(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Recommendation>, ApiError> {
    let id = parse_id(&id)?;
    recommend_now(&s, id).await.map(Json)
}

/// Incident `id`'s recommendation from the fleet as it is now, on a blocking thread.
async fn recommend_now(s: &AppState, id: u64) -> Result<Recommendation, ApiError> {
    let svc = s.0.clone();
    blocking(move || {
        // Only the units and this incident leave the lock.
        let (units, inc) = {
            let core = svc.lock()?;
            let inc = core
                .fleet
                .incidents
                .get(&id)
                .cloned()
                .ok_or_else(|| ApiError::NotFound(format!("no incident {id}")))?;
            (core.fleet.units.clone(), inc)
        };
        recommend_for(&svc, &units, &inc)
    })
    .await
}

/// Assign a unit to an incident.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignRequest {
    pub(crate) unit_id: String,
}

#[utoipa::path(post, tag = "incidents", path = "/v1/incidents/{id}/assign", params(("id" = u64, Path)),
    request_body = AssignRequest,
    responses((status = 200, body = Unit), (status = 404, body = error::ErrorBody),
        (status = 409, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn assign(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody<AssignRequest>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let route = format!("POST /v1/incidents/{id}/assign");
    let w = write(
        &s,
        p,
        &headers,
        route,
        body,
        |_, _, now, r| {
            Ok(Event::UnitAssigned {
                incident: id,
                unit: r.unit_id,
                at: now,
            })
        },
        unit_answer,
    )
    .await?;
    Ok(w.into_response())
}

/// Cancel an open call.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelRequest {
    /// Why (a duplicate, a hoax, no patient): at most 500 characters.
    #[schema(max_length = 500)]
    pub(crate) reason: Option<String>,
}

/// Change an open call's priority.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PriorityRequest {
    /// 1 (most urgent) to 4.
    #[schema(minimum = 1, maximum = 4)]
    pub(crate) priority: u8,
}

/// Close an open call no unit is working.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloseRequest {}

fn incident_answer(
    fleet: &crate::dispatch::Fleet,
    id: u64,
) -> Result<crate::api::body::Answer, ApiError> {
    let inc = fleet
        .incidents
        .get(&id)
        .ok_or_else(|| ApiError::Internal("incident vanished".into()))?;
    let v = serde_json::to_value(inc).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((StatusCode::OK, v))
}

/// An incident action: the event `make` builds, answered with the incident.
async fn incident_action<T: serde::de::DeserializeOwned + Send + 'static>(
    s: AppState,
    p: Principal,
    id: String,
    action: &str,
    headers: HeaderMap,
    body: JsonBody<T>,
    make: impl Fn(u64, chrono::DateTime<Utc>, T) -> Event,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let route = format!("POST /v1/incidents/{id}/{action}");
    let w = write(
        &s,
        p,
        &headers,
        route,
        body,
        |_, _, now, r| Ok(make(id, now, r)),
        |fleet, _| incident_answer(fleet, id),
    )
    .await?;
    Ok(w.into_response())
}

#[utoipa::path(post, tag = "incidents", path = "/v1/incidents/{id}/cancel", params(("id" = u64, Path)),
    request_body = CancelRequest,
    responses((status = 200, body = IncidentRecord), (status = 404, body = error::ErrorBody),
        (status = 409, body = error::ErrorBody), (status = 422, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn cancel(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody<CancelRequest>,
) -> Result<Response, ApiError> {
    incident_action(s, p, id, "cancel", headers, body, |incident, at, r| {
        Event::IncidentCancelled {
            incident,
            at,
            reason: r.reason.filter(|x| !x.trim().is_empty()),
        }
    })
    .await
}

#[utoipa::path(post, tag = "incidents", path = "/v1/incidents/{id}/close", params(("id" = u64, Path)),
    request_body = CloseRequest,
    responses((status = 200, body = IncidentRecord), (status = 404, body = error::ErrorBody),
        (status = 409, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn close(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody<CloseRequest>,
) -> Result<Response, ApiError> {
    incident_action(s, p, id, "close", headers, body, |incident, at, _| {
        Event::IncidentClosed { incident, at }
    })
    .await
}

#[utoipa::path(post, tag = "incidents", path = "/v1/incidents/{id}/priority", params(("id" = u64, Path)),
    request_body = PriorityRequest,
    responses((status = 200, body = IncidentRecord), (status = 404, body = error::ErrorBody),
        (status = 409, body = error::ErrorBody), (status = 422, body = error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn priority(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody<PriorityRequest>,
) -> Result<Response, ApiError> {
    incident_action(s, p, id, "priority", headers, body, |incident, at, r| {
        Event::PriorityChanged {
            incident,
            priority: r.priority,
            at,
        }
    })
    .await
}

/// `/v1/incidents` and the routes under it, with their OpenAPI paths.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_incident, list_incidents))
        .routes(routes!(incidents_csv))
        .routes(routes!(get_incident))
        .routes(routes!(recommendation))
        .routes(routes!(assign))
        .routes(routes!(cancel))
        .routes(routes!(close))
        .routes(routes!(priority))
}
