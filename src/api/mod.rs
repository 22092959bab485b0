//! The live dispatch HTTP service behind `ems serve`: an axum router over the shared spatial
//! core and the durable fleet state.
//!
//! This module owns HTTP: routes, bearer-token roles, JSON bodies and errors, idempotency keys,
//! the event stream and the OpenAPI document. It must not hold dispatch rules or lifecycle logic
//! (those are [`crate::dispatch`]) nor compute travel times other than through the shared
//! [`TravelModel`]. Shaped like axum's examples and mini-redis: [`app`] builds the router from a
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

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::sync::{broadcast, watch};
use utoipa::OpenApi;

pub use config::{Config, Role};
pub use error::ApiError;

use crate::dispatch::recommend::{self, HospitalInput, RankedHospital, RankedUnit, UnitInput};
use crate::dispatch::store::{Idempotency, Store, StoreError};
use crate::dispatch::{DispatchError, Event, Fleet, IncidentRecord, Unit, UnitStatus};
use crate::model::Scenario;
use crate::network::profile::ProfileError;
use crate::network::{Direction, SnapError, Snapped, TravelModel};
use crate::standards;

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The event log cannot be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event no longer applies to the scenario (e.g. a unit was removed from the
    /// stations file): restore the scenario the log was written with.
    #[error("event log: event {seq} does not apply: {source}")]
    Replay {
        seq: i64,
        #[source]
        source: DispatchError,
    },
    /// The speed profile is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A hospital is off the road map.
    #[error("{what}: {source}")]
    Snap {
        what: String,
        #[source]
        source: SnapError,
    },
}

/// Who made a request (from their token).
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

struct Core {
    fleet: Fleet,
    store: Store,
}

/// The service's shared state.
pub struct Service {
    sc: Scenario,
    tm: TravelModel,
    config: Config,
    detention_min: f64,
    core: Mutex<Core>,
    events: broadcast::Sender<String>,
    stop: watch::Sender<bool>,
    hospitals: Vec<Snapped>,
    zones: Vec<Option<Snapped>>,
    /// The zones that snapped, in order (the targets of coverage searches).
    zone_targets: Vec<Snapped>,
    /// `station_cover[s][z]`: an idle unit at station `s` reaches zone `z` within the target.
    station_cover: Vec<Vec<bool>>,
}

/// The router's state: the service behind an `Arc`.
#[derive(Clone)]
pub struct AppState(pub Arc<Service>);

fn replay(sc: &Scenario, store: &Store) -> Result<Fleet, ServeError> {
    let mut fleet = Fleet::new(sc, DateTime::<Utc>::UNIX_EPOCH);
    for (seq, ev) in store.events()? {
        // Stored events were valid when written; re-validating catches a changed scenario.
        fleet
            .validate(&ev, DateTime::<Utc>::MAX_UTC)
            .map_err(|e| ServeError::Replay { seq, source: e })?;
        fleet.apply(&ev);
    }
    Ok(fleet)
}

impl AppState {
    /// Builds the travel model, opens the event log at `config.db` and replays it.
    pub fn open(sc: Scenario, config: Config) -> Result<AppState, ServeError> {
        let tm = TravelModel::for_scenario(&sc)?;
        let hospitals = sc
            .hospitals
            .iter()
            .map(|h| {
                tm.snap(h.lon_lat).map_err(|e| ServeError::Snap {
                    what: format!("hospital `{}`", h.id),
                    source: e,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let zones: Vec<Option<Snapped>> =
            sc.demand.iter().map(|z| tm.snap(z.lon_lat).ok()).collect();
        let budget_s =
            config.response_target_min * 60.0 - config.call_handling_s - config.turnout_s;
        let mut q = tm.query();
        let zone_targets: Vec<Snapped> = zones.iter().flatten().copied().collect();
        let station_cover = sc
            .stations
            .iter()
            .map(|st| zones_within(&tm, &mut q, st.lon_lat, &zones, &zone_targets, budget_s))
            .collect();
        let store = Store::open(&config.db)?;
        let fleet = replay(&sc, &store)?;
        let detention_min = config
            .detention_threshold_min
            .unwrap_or_else(|| standards::Targets::default_preset().detention_threshold_min);
        let (events, _) = broadcast::channel(1024);
        let (stop, _) = watch::channel(false);
        Ok(AppState(Arc::new(Service {
            sc,
            tm,
            config,
            detention_min,
            core: Mutex::new(Core { fleet, store }),
            events,
            stop,
            hospitals,
            zones,
            zone_targets,
            station_cover,
        })))
    }

    /// A copy of the current fleet state.
    pub fn fleet(&self) -> Result<Fleet, ApiError> {
        Ok(self.0.lock()?.fleet.clone())
    }
}

impl Service {
    fn lock(&self) -> Result<MutexGuard<'_, Core>, ApiError> {
        self.core
            .lock()
            .map_err(|_| ApiError::Internal("the state lock is poisoned".into()))
    }
}

/// Serves `state` on `listener` until `shutdown` completes, then finishes the requests in
/// flight (event streams end at once).
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stop = state.0.stop.clone();
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop.send(true);
        })
        .await
}

/// The router.
pub fn app(state: AppState) -> Router {
    let limit = state.0.config.max_body_bytes;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .route("/v1/incidents", post(create_incident).get(list_incidents))
        .route("/v1/incidents.csv", get(incidents_csv))
        .route("/v1/incidents/{id}", get(get_incident))
        .route("/v1/incidents/{id}/recommendation", get(recommendation))
        .route("/v1/incidents/{id}/assign", post(assign))
        .route("/v1/units", get(list_units))
        .route("/v1/units/{id}/status", post(unit_status))
        .route("/v1/units/{id}/position", post(unit_position))
        .route("/v1/hospitals", get(list_hospitals))
        .route("/v1/kpis", get(kpis))
        .route("/v1/coverage/gaps", get(coverage_gaps))
        .route("/v1/events", get(events))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), auth))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route {}", uri.path()))
}

/// Bearer tokens with roles: reading needs `viewer`, writing `dispatcher` (or `admin`).
/// `/healthz` and `/openapi.json` are public. Tokens are compared in constant time and never
/// logged.
async fn auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/healthz" || path == "/openapi.json" {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let mut found = None;
    for t in &state.0.config.tokens {
        // Every token is compared, so the time does not say which one matched.
        if bool::from(t.token.as_bytes().ct_eq(given.as_bytes())) {
            found = Some(t);
        }
    }
    let Some(t) = found.filter(|_| !given.is_empty()) else {
        return ApiError::Unauthorized.into_response();
    };
    let need = if matches!(*req.method(), Method::GET | Method::HEAD) {
        Role::Viewer
    } else {
        Role::Dispatcher
    };
    if t.role < need {
        return ApiError::Forbidden(format!(
            "`{}` has the {:?} role; {} {} needs {:?}",
            t.name,
            t.role,
            req.method(),
            path,
            need
        ))
        .into_response();
    }
    req.extensions_mut().insert(Principal {
        name: t.name.clone(),
        role: t.role,
    });
    next.run(req).await
}

/// A JSON body, kept as text too (for idempotency); errors are JSON answers.
pub struct JsonBody<T> {
    pub value: T,
    pub raw: String,
}

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(state.0.config.max_body_bytes)
            } else {
                ApiError::BadRequest(e.body_text())
            }
        })?;
        let raw = String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::BadRequest("the body is not UTF-8".into()))?;
        let value = serde_json::from_str(&raw).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => {
                ApiError::Unprocessable(format!("invalid request body: {e}"))
            }
            _ => ApiError::BadRequest(format!("malformed JSON: {e}")),
        })?;
        Ok(JsonBody { value, raw })
    }
}

fn parse_id(s: &str) -> Result<u64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::NotFound(format!("no incident `{s}`")))
}

fn idempotency_key(h: &HeaderMap) -> Result<Option<String>, ApiError> {
    match h.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let k = v
                .to_str()
                .map_err(|_| ApiError::BadRequest("Idempotency-Key must be ASCII".into()))?;
            if k.is_empty() || k.len() > 200 {
                return Err(ApiError::BadRequest(
                    "Idempotency-Key must be 1 to 200 characters".into(),
                ));
            }
            Ok(Some(k.to_string()))
        }
    }
}

/// One write: an event built from the state, validated, applied, answered and logged in one
/// transaction (see the module docs).
struct Write {
    principal: Principal,
    route: String,
    key: Option<String>,
    raw: String,
}

type Answer = (StatusCode, Value);

fn write(
    svc: &Service,
    w: &Write,
    build: impl FnOnce(&Fleet, DateTime<Utc>) -> Result<Event, ApiError>,
    answer: impl FnOnce(&Service, &Fleet, &Event) -> Result<Answer, ApiError>,
) -> Result<Response, ApiError> {
    let mut core = svc.lock()?;
    if let Some(key) = &w.key
        && let Some(a) = core.store.answer(&w.principal.name, &w.route, key)?
    {
        if a.request != w.raw {
            return Err(ApiError::Unprocessable(format!(
                "Idempotency-Key `{key}` was used for a different request"
            )));
        }
        let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
        let mut r = (status, [(header::CONTENT_TYPE, "application/json")], a.body).into_response();
        r.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        return Ok(r);
    }
    let now = Utc::now();
    let ev = build(&core.fleet, now)?;
    core.fleet.validate(&ev, now)?;
    core.fleet.apply(&ev);
    let outcome = answer(svc, &core.fleet, &ev).and_then(|(status, body)| {
        let text = body.to_string();
        let idem = w.key.as_deref().map(|key| Idempotency {
            principal: &w.principal.name,
            route: &w.route,
            key,
            request: &w.raw,
            status: status.as_u16(),
            body: &text,
        });
        let seq = core.store.append(&ev, idem.as_ref())?;
        Ok((status, body, seq))
    });
    match outcome {
        Ok((status, body, seq)) => {
            let _ = svc
                .events
                .send(json!({"seq": seq, "event": ev}).to_string());
            Ok((status, Json(body)).into_response())
        }
        Err(e) => {
            // Not logged, so not applied: rebuild the state from the log.
            core.fleet = replay(&svc.sc, &core.store)
                .map_err(|r| ApiError::Internal(format!("{e:?}; then replay failed: {r}")))?;
            Err(e)
        }
    }
}

/// One write on a blocking thread: the idempotency key from the headers, then `f` with the
/// write's context and the parsed body (which calls [`write`]).
async fn write_blocking<T: Send + 'static>(
    s: &AppState,
    principal: Principal,
    headers: &HeaderMap,
    route: String,
    body: JsonBody<T>,
    f: impl FnOnce(&Service, &Write, T) -> Result<Response, ApiError> + Send + 'static,
) -> Result<Response, ApiError> {
    let key = idempotency_key(headers)?;
    let svc = s.0.clone();
    blocking(move || {
        let w = Write {
            principal,
            route,
            key,
            raw: body.raw,
        };
        f(&svc, &w, body.value)
    })
    .await
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("worker failed: {e}")))?
}

/// Liveness and the number of events applied.
#[derive(Serialize, utoipa::ToSchema)]
struct Health {
    status: &'static str,
    events: u64,
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, body = Health)))]
async fn healthz(State(s): State<AppState>) -> Result<Json<Health>, ApiError> {
    let events = s.0.lock()?.fleet.seq;
    Ok(Json(Health {
        status: "ok",
        events,
    }))
}

#[derive(OpenApi)]
#[openapi(
    info(title = "ems dispatch API", description = "Live ambulance dispatch on the shared road model. Bearer tokens: viewer reads, dispatcher writes."),
    paths(
        healthz, create_incident, list_incidents, incidents_csv, get_incident, recommendation,
        assign, list_units, unit_status, unit_position, list_hospitals, kpis, coverage_gaps, events
    ),
    components(schemas(
        error::ErrorBody, Health, CreateIncident, Created, Recommendation, UnitOption, RankedUnit,
        RankedHospital, AssignRequest, StatusRequest, PositionRequest, HospitalView, Kpis, Gaps,
        Gap, MoveUp, Unit, IncidentRecord, UnitStatus
    )),
    modifiers(&Bearer)
)]
struct ApiDoc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = api.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document, generated from the handlers and types.
async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// A new call.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateIncident {
    lon: f64,
    lat: f64,
    /// 1 (most urgent) to 4.
    priority: u8,
    /// `stroke`, `chest_pain`, `trauma`, `maternal`, `neonatal` or `other`.
    condition: Option<String>,
    note: Option<String>,
}

/// A created incident with its recommendation.
#[derive(Serialize, utoipa::ToSchema)]
struct Created {
    id: u64,
    incident: IncidentRecord,
    recommendation: Recommendation,
}

/// Units ranked by ETA, and hospitals for the condition.
#[derive(Serialize, utoipa::ToSchema)]
struct Recommendation {
    incident: u64,
    units: Vec<UnitOption>,
    hospitals: Vec<RankedHospital>,
}

/// A unit that can take the call.
#[derive(Serialize, utoipa::ToSchema)]
struct UnitOption {
    #[serde(flatten)]
    ranked: RankedUnit,
    station: String,
    status: UnitStatus,
    /// GeoJSON Feature (LineString) of the route to the scene.
    #[schema(value_type = Object)]
    route: Value,
}

/// How many units a recommendation lists, with their routes.
const RECOMMEND_UNITS: usize = 10;

fn recommend_for(
    svc: &Service,
    units: &BTreeMap<String, Unit>,
    inc: &IncidentRecord,
) -> Result<Recommendation, ApiError> {
    let tm = &svc.tm;
    let scene = tm.snap(inc.lon_lat).map_err(|e| {
        ApiError::Unprocessable(format!("incident {} is off the road map: {e}", inc.id))
    })?;
    let free: Vec<(&Unit, UnitInput)> = units
        .values()
        .filter(|u| u.status.assignable())
        .filter_map(|u| {
            let position = tm.snap(u.position).ok()?;
            Some((
                u,
                UnitInput {
                    id: u.id.clone(),
                    position,
                    rolling: u.status.rolling(),
                },
            ))
        })
        .collect();
    let inputs: Vec<UnitInput> = free.iter().map(|(_, i)| i.clone()).collect();
    let mut q = tm.query();
    let ranked = recommend::rank_units(tm, &mut q, &scene, &inputs, svc.config.turnout_s);
    let now = Utc::now();
    let mut options = Vec::new();
    for r in ranked.into_iter().take(RECOMMEND_UNITS) {
        let Some((u, input)) = free.iter().find(|(u, _)| u.id == r.unit) else {
            continue;
        };
        let geometry = tm
            .route(&mut q, &input.position, &scene)
            .map(|rt| rt.geometry)
            .unwrap_or_default();
        options.push(UnitOption {
            station: u.station.clone(),
            status: u.status,
            route: json!({
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": geometry},
                "properties": {"unit": r.unit, "eta_s": r.eta_s, "distance_m": r.distance_m},
            }),
            ranked: r,
        });
    }
    let queues: Vec<Vec<(String, f64)>> = svc
        .sc
        .hospitals
        .iter()
        .map(|h| crate::dispatch::handover_queue(units, &h.id, now))
        .collect();
    let hospitals: Vec<HospitalInput> = svc
        .sc
        .hospitals
        .iter()
        .zip(&svc.hospitals)
        .zip(&queues)
        .map(|((h, p), qu)| HospitalInput {
            hospital: h,
            position: *p,
            waiting: qu.len(),
            longest_wait_min: qu.first().map_or(0.0, |x| x.1),
        })
        .collect();
    let hospitals = recommend::rank_hospitals(
        tm,
        &mut q,
        &scene,
        inc.condition.as_deref(),
        &hospitals,
        svc.detention_min,
    );
    Ok(Recommendation {
        incident: inc.id,
        units: options,
        hospitals,
    })
}

#[utoipa::path(post, path = "/v1/incidents", request_body = CreateIncident,
    params(("Idempotency-Key" = Option<String>, Header, description = "retries return the first answer")),
    responses((status = 201, body = Created), (status = 400, body = error::ErrorBody),
        (status = 422, body = error::ErrorBody)),
    security(("bearer" = [])))]
async fn create_incident(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    headers: HeaderMap,
    body: JsonBody<CreateIncident>,
) -> Result<Response, ApiError> {
    write_blocking(
        &s,
        p,
        &headers,
        "POST /v1/incidents".into(),
        body,
        |svc, w, c| {
            write(
                svc,
                w,
                |fleet, now| {
                    crate::dispatch::check_lon_lat(c.lon, c.lat)?;
                    svc.tm.snap([c.lon, c.lat]).map_err(|e| {
                        ApiError::Unprocessable(format!(
                            "the incident location is off the road map: {e}"
                        ))
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
                |svc, fleet, ev| {
                    let Event::IncidentCreated { id, .. } = ev else {
                        return Err(ApiError::Internal("unexpected event".into()));
                    };
                    let inc = fleet
                        .incidents
                        .get(id)
                        .ok_or_else(|| ApiError::Internal("incident not applied".into()))?;
                    let rec = recommend_for(svc, &fleet.units, inc)?;
                    let body = serde_json::to_value(Created {
                        id: *id,
                        incident: inc.clone(),
                        recommendation: rec,
                    })
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                    Ok((StatusCode::CREATED, body))
                },
            )
        },
    )
    .await
}

fn query_bool(q: &HashMap<String, String>, name: &str) -> Result<Option<bool>, ApiError> {
    match q.get(name).map(String::as_str) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(v) => Err(ApiError::BadRequest(format!(
            "query parameter {name}={v}: expected true or false"
        ))),
    }
}

#[utoipa::path(get, path = "/v1/incidents",
    params(("open" = Option<bool>, Query, description = "only open (true) or closed (false) incidents")),
    responses((status = 200, body = [IncidentRecord])), security(("bearer" = [])))]
async fn list_incidents(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Vec<IncidentRecord>>, ApiError> {
    let open = query_bool(&q, "open")?;
    let core = s.0.lock()?;
    Ok(Json(
        core.fleet
            .incidents
            .values()
            .filter(|i| open.is_none_or(|o| i.open() == o))
            .cloned()
            .collect(),
    ))
}

/// The incident log as CSV in the standards check's format (`ems check --incidents`).
#[utoipa::path(get, path = "/v1/incidents.csv",
    responses((status = 200, content_type = "text/csv", body = String)), security(("bearer" = [])))]
async fn incidents_csv(State(s): State<AppState>) -> Result<Response, ApiError> {
    let rows: Vec<crate::model::Incident> = {
        let core = s.0.lock()?;
        core.fleet
            .incidents
            .values()
            .map(|i| i.to_incident(&s.0.sc.timezone))
            .collect()
    };
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
        crate::model::write_incidents(&rows),
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/incidents/{id}", params(("id" = u64, Path)),
    responses((status = 200, body = IncidentRecord), (status = 404, body = error::ErrorBody)),
    security(("bearer" = [])))]
async fn get_incident(
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

#[utoipa::path(get, path = "/v1/incidents/{id}/recommendation", params(("id" = u64, Path)),
    responses((status = 200, body = Recommendation), (status = 404, body = error::ErrorBody)),
    security(("bearer" = [])))]
async fn recommendation(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Recommendation>, ApiError> {
    let id = parse_id(&id)?;
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
        recommend_for(&svc, &units, &inc).map(Json)
    })
    .await
}

/// Assign a unit to an incident.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AssignRequest {
    unit_id: String,
}

#[utoipa::path(post, path = "/v1/incidents/{id}/assign", params(("id" = u64, Path)),
    request_body = AssignRequest,
    responses((status = 200, body = Unit), (status = 404, body = error::ErrorBody),
        (status = 409, body = error::ErrorBody)),
    security(("bearer" = [])))]
async fn assign(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: JsonBody<AssignRequest>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let route = format!("POST /v1/incidents/{id}/assign");
    write_blocking(&s, p, &headers, route, body, move |svc, w, r| {
        let unit = r.unit_id;
        write(
            svc,
            w,
            |_, now| {
                Ok(Event::UnitAssigned {
                    incident: id,
                    unit: unit.clone(),
                    at: now,
                })
            },
            |_, fleet, _| unit_answer(fleet, &unit),
        )
    })
    .await
}

fn unit_answer(fleet: &Fleet, unit: &str) -> Result<Answer, ApiError> {
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
struct StatusRequest {
    /// The new status (`en_route`, `on_scene`, `transporting`, ...).
    status: String,
    /// The receiving hospital (needed for `transporting` or `at_hospital`).
    hospital_id: Option<String>,
    /// When it happened (RFC 3339); default now.
    at: Option<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/v1/units/{id}/status", params(("id" = String, Path)),
    request_body = StatusRequest,
    responses((status = 200, body = Unit), (status = 404, body = error::ErrorBody),
        (status = 409, body = error::ErrorBody), (status = 422, body = error::ErrorBody)),
    security(("bearer" = [])))]
async fn unit_status(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(unit): Path<String>,
    headers: HeaderMap,
    body: JsonBody<StatusRequest>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/units/{unit}/status");
    write_blocking(&s, p, &headers, route, body, move |svc, w, r| {
        let status = UnitStatus::parse(&r.status).ok_or_else(|| {
            ApiError::Unprocessable(format!(
                "status `{}` is not one of {}",
                r.status,
                UnitStatus::ALL.map(|s| s.as_str()).join(", ")
            ))
        })?;
        if status == UnitStatus::Dispatched {
            return Err(ApiError::Conflict(
                "a unit becomes dispatched by an assignment: POST /v1/incidents/{id}/assign".into(),
            ));
        }
        write(
            svc,
            w,
            |_, now| {
                Ok(Event::UnitStatusChanged {
                    unit: unit.clone(),
                    status,
                    at: r.at.unwrap_or(now),
                    hospital: r.hospital_id.clone(),
                })
            },
            |_, fleet, _| unit_answer(fleet, &unit),
        )
    })
    .await
}

/// An AVL position report.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PositionRequest {
    lon: f64,
    lat: f64,
    /// When the position was taken (RFC 3339).
    at: DateTime<Utc>,
}

#[utoipa::path(post, path = "/v1/units/{id}/position", params(("id" = String, Path)),
    request_body = PositionRequest,
    responses((status = 200, body = Unit), (status = 404, body = error::ErrorBody),
        (status = 422, body = error::ErrorBody)),
    security(("bearer" = [])))]
async fn unit_position(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(unit): Path<String>,
    headers: HeaderMap,
    body: JsonBody<PositionRequest>,
) -> Result<Response, ApiError> {
    let route = format!("POST /v1/units/{unit}/position");
    write_blocking(&s, p, &headers, route, body, move |svc, w, r| {
        write(
            svc,
            w,
            |_, _| {
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
                })
            },
            |_, fleet, _| unit_answer(fleet, &unit),
        )
    })
    .await
}

#[utoipa::path(get, path = "/v1/units", responses((status = 200, body = [Unit])),
    security(("bearer" = [])))]
async fn list_units(State(s): State<AppState>) -> Result<Json<Vec<Unit>>, ApiError> {
    Ok(Json(s.0.lock()?.fleet.units.values().cloned().collect()))
}

/// A hospital with its live handover queue.
#[derive(Serialize, utoipa::ToSchema)]
struct HospitalView {
    id: String,
    name: String,
    lon_lat: [f64; 2],
    capabilities: Vec<String>,
    ed_bays: Option<u32>,
    /// Units waiting to hand over, longest wait first.
    waiting_units: Vec<String>,
    units_waiting: usize,
    longest_wait_min: f64,
    /// Holding ambulances: all bays taken, or a wait at the detention threshold.
    detaining: bool,
}

#[utoipa::path(get, path = "/v1/hospitals", responses((status = 200, body = [HospitalView])),
    security(("bearer" = [])))]
async fn list_hospitals(State(s): State<AppState>) -> Result<Json<Vec<HospitalView>>, ApiError> {
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

/// Today's figures (since local midnight in the scenario's time zone).
#[derive(Serialize, utoipa::ToSchema)]
struct Kpis {
    date: String,
    incidents_today: usize,
    reached_scene: usize,
    response_target_min: f64,
    mean_response_min: Option<f64>,
    share_within_target: Option<f64>,
    /// Share of turnouts (dispatched → departed) within 3 minutes.
    departure_3min_rate: Option<f64>,
    detention_threshold_min: f64,
    hospital_arrivals: usize,
    detention_rate: Option<f64>,
    units_available: usize,
    units_busy: usize,
    units_out_of_service: usize,
    /// Share of residents within the target of an available (or returning) unit now.
    coverage_now: Option<f64>,
}

/// Which zones a unit at `from` reaches within `budget_s` seconds of travel (`zones` as
/// snapped, `targets` the ones that snapped, in order).
fn zones_within(
    tm: &TravelModel,
    q: &mut crate::network::Dijkstra,
    from: [f64; 2],
    zones: &[Option<Snapped>],
    targets: &[Snapped],
    budget_s: f64,
) -> Vec<bool> {
    let mut cover = vec![false; zones.len()];
    if let (Ok(p), true) = (tm.snap(from), budget_s >= 0.0) {
        let etas = tm.one_to_many(q, &p, targets, Direction::Forward, None);
        let mut k = 0;
        for (z, zs) in zones.iter().enumerate() {
            if zs.is_some() {
                cover[z] = etas[k].is_some_and(|e| e.seconds() <= budget_s);
                k += 1;
            }
        }
    }
    cover
}

/// Zones each free unit reaches within the target now.
fn unit_cover(svc: &Service, units: &BTreeMap<String, Unit>) -> Vec<(String, Vec<bool>)> {
    let c = &svc.config;
    let mut q = svc.tm.query();
    units
        .values()
        .filter(|u| u.status.assignable())
        .map(|u| {
            let budget = c.response_target_min * 60.0
                - c.call_handling_s
                - if u.status.rolling() { 0.0 } else { c.turnout_s };
            let cover = zones_within(
                &svc.tm,
                &mut q,
                u.position,
                &svc.zones,
                &svc.zone_targets,
                budget,
            );
            (u.id.clone(), cover)
        })
        .collect()
}

/// Zones covered by any of `covers`.
fn union<'a>(n: usize, covers: impl IntoIterator<Item = &'a [bool]>) -> Vec<bool> {
    let mut any = vec![false; n];
    for c in covers {
        for (a, b) in any.iter_mut().zip(c) {
            *a |= *b;
        }
    }
    any
}

fn covered_population(svc: &Service, covered: &[bool]) -> f64 {
    svc.sc
        .demand
        .iter()
        .zip(covered)
        .filter(|(_, c)| **c)
        .map(|(z, _)| z.population)
        .sum()
}

#[utoipa::path(get, path = "/v1/kpis", responses((status = 200, body = Kpis)),
    security(("bearer" = [])))]
async fn kpis(State(s): State<AppState>) -> Result<Json<Kpis>, ApiError> {
    let svc = s.0.clone();
    blocking(move || {
        let tz = &svc.sc.timezone;
        let now_local = tz.from_utc(Utc::now());
        let today = now_local.date_naive();
        // Only the units and today's incidents leave the lock.
        let (units, log) = {
            let core = svc.lock()?;
            let log: Vec<crate::model::Incident> = core
                .fleet
                .incidents
                .values()
                .map(|i| i.to_incident(tz))
                .filter(|i| i.call_received.date_naive() == today)
                .collect();
            (core.fleet.units.clone(), log)
        };
        let mut dq = standards::DataQuality::default();
        let target = svc.config.response_target_min;
        let resp = standards::response_from_log(&svc.sc, &log, target, &mut dq);
        let det = standards::detention_from_log(&svc.sc, &log, svc.detention_min, &mut dq);
        let count = |f: fn(UnitStatus) -> bool| units.values().filter(|u| f(u.status)).count();
        let cover = unit_cover(&svc, &units);
        let any = union(svc.zones.len(), cover.iter().map(|(_, c)| c.as_slice()));
        let population: f64 = svc.sc.demand.iter().map(|z| z.population).sum();
        Ok(Json(Kpis {
            date: today.to_string(),
            incidents_today: log.len(),
            reached_scene: resp.reached_scene,
            response_target_min: target,
            mean_response_min: resp.overall.as_ref().map(|g| g.summary.mean),
            share_within_target: resp.overall.as_ref().map(|g| g.share_within_target),
            departure_3min_rate: resp.departure_3min_rate,
            detention_threshold_min: svc.detention_min,
            hospital_arrivals: det.arrivals,
            detention_rate: det.rate,
            units_available: count(|s| s == UnitStatus::Available),
            units_busy: count(|s| !matches!(s, UnitStatus::Available | UnitStatus::OutOfService)),
            units_out_of_service: count(|s| s == UnitStatus::OutOfService),
            coverage_now: (population > 0.0).then(|| covered_population(&svc, &any) / population),
        }))
    })
    .await
}

/// A demand zone no free unit reaches within the target.
#[derive(Serialize, utoipa::ToSchema)]
struct Gap {
    zone: String,
    name: String,
    population: f64,
}

/// Moving an idle unit to a station to restore coverage.
#[derive(Serialize, utoipa::ToSchema)]
struct MoveUp {
    unit: String,
    from_station: String,
    to_station: String,
    /// Residents newly within the target.
    population_gained: f64,
    coverage_after: f64,
}

/// Coverage gaps now and the best move-up.
#[derive(Serialize, utoipa::ToSchema)]
struct Gaps {
    response_target_min: f64,
    coverage_now: Option<f64>,
    uncovered: Vec<Gap>,
    move_up: Option<MoveUp>,
}

#[utoipa::path(get, path = "/v1/coverage/gaps", responses((status = 200, body = Gaps)),
    security(("bearer" = [])))]
async fn coverage_gaps(State(s): State<AppState>) -> Result<Json<Gaps>, ApiError> {
    let svc = s.0.clone();
    blocking(move || {
        let units = svc.lock()?.fleet.units.clone();
        let cover = unit_cover(&svc, &units);
        let nz = svc.zones.len();
        // Coverage of every free unit but `skip`, plus `extra`.
        let cover_with = |skip: Option<&str>, extra: Option<&[bool]>| {
            let others = cover
                .iter()
                .filter(|(id, _)| Some(id.as_str()) != skip)
                .map(|(_, c)| c.as_slice());
            union(nz, others.chain(extra))
        };
        let now = cover_with(None, None);
        let population: f64 = svc.sc.demand.iter().map(|z| z.population).sum();
        let current = covered_population(&svc, &now);
        // Move-up: an idle unit (at its station, available) to another station.
        let mut best: Option<MoveUp> = None;
        for u in units.values().filter(|u| u.status == UnitStatus::Available) {
            for (k, st) in svc.sc.stations.iter().enumerate() {
                if st.id == u.station {
                    continue;
                }
                let after =
                    covered_population(&svc, &cover_with(Some(&u.id), Some(&svc.station_cover[k])));
                let gain = after - current;
                if gain > 1e-9 && best.as_ref().is_none_or(|b| gain > b.population_gained) {
                    best = Some(MoveUp {
                        unit: u.id.clone(),
                        from_station: u.station.clone(),
                        to_station: st.id.clone(),
                        population_gained: gain,
                        coverage_after: after / population.max(1e-300),
                    });
                }
            }
        }
        Ok(Json(Gaps {
            response_target_min: svc.config.response_target_min,
            coverage_now: (population > 0.0).then(|| current / population),
            uncovered: svc
                .sc
                .demand
                .iter()
                .zip(&now)
                .filter(|(z, c)| !**c && z.population > 0.0)
                .map(|(z, _)| Gap {
                    zone: z.id.clone(),
                    name: z.name.clone(),
                    population: z.population,
                })
                .collect(),
            move_up: best,
        }))
    })
    .await
}

/// Every state change as Server-Sent Events (`data: {"seq": …, "event": {…}}`).
#[utoipa::path(get, path = "/v1/events",
    responses((status = 200, content_type = "text/event-stream", body = String)),
    security(("bearer" = [])))]
async fn events(State(s): State<AppState>) -> Response {
    use futures_util::StreamExt;
    let rx = s.0.events.subscribe();
    let mut stop = s.0.stop.subscribe();
    let stream = tokio_stream::wrappers::BroadcastStream::new(rx)
        .filter_map(|m| std::future::ready(m.ok()))
        .map(|m| Ok::<_, std::convert::Infallible>(SseEvent::default().data(m)))
        .take_until(async move {
            let _ = stop.wait_for(|v| *v).await;
        });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}
