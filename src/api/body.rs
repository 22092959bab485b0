//! Request bodies and writes: a JSON body kept as text for idempotency, the idempotency key,
//! and the one write path (validate, apply, log, answer) every `POST` goes through.
//!
//! This module owns the write protocol described in [`super`]'s docs. It must not hold the
//! routes' own rules.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::auth::Principal;
use super::error::ApiError;
use super::state::{AppState, Service, replay};
use crate::dispatch::store::Idempotency;
use crate::dispatch::{Event, Fleet};

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

pub(crate) fn parse_id(s: &str) -> Result<u64, ApiError> {
    s.parse()
        .map_err(|_| ApiError::NotFound(format!("no incident `{s}`")))
}

pub(crate) fn idempotency_key(h: &HeaderMap) -> Result<Option<String>, ApiError> {
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
pub(crate) struct Write {
    principal: Principal,
    route: String,
    key: Option<String>,
    raw: String,
}

pub(crate) type Answer = (StatusCode, Value);

/// One message of the event stream: the log's sequence number and the event.
#[derive(Serialize)]
struct StreamEvent<'a> {
    seq: i64,
    event: &'a Event,
}

pub(crate) fn write(
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
            // The write is durable and answered whatever the stream does.
            match serde_json::to_string(&StreamEvent { seq, event: &ev }) {
                Ok(msg) => {
                    let _ = svc.events.send(msg);
                }
                Err(e) => tracing::error!("event {seq} not streamed: {e}"),
            }
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
pub(crate) async fn write_blocking<T: Send + 'static>(
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

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("worker failed: {e}")))?
}
