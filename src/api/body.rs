//! Request bodies and writes: a JSON body kept as text for idempotency, the idempotency key,
//! and the one write path (validate, apply, log, answer) every `POST` goes through.
//!
//! This module owns the write protocol described in [`super`]'s docs. It must not hold the
//! routes' own rules.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::ops::ControlFlow;

use super::auth::Principal;
use super::error::ApiError;
use super::state::{AppState, Service};
use crate::dispatch::journal::Seen;
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
        let limit = std::time::Duration::from_secs_f64(state.0.config.body_timeout_s);
        let bytes = tokio::time::timeout(limit, Bytes::from_request(req, state))
            .await
            .map_err(|_| ApiError::Timeout(state.0.config.body_timeout_s))?
            .map_err(|e| {
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

/// A write's answer: its status and body, and whether it is the first answer given again
/// for a retried `Idempotency-Key`.
pub(crate) struct Written {
    pub status: StatusCode,
    pub body: Value,
    pub replayed: bool,
}

impl Written {
    pub(crate) fn into_response(self) -> Response {
        let mut r = (self.status, Json(self.body)).into_response();
        if self.replayed {
            r.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        r
    }
}

pub(crate) type Answer = (StatusCode, Value);

/// How long a write that keeps losing to other replicas is made again before the client is
/// told to retry (only under sustained collisions: at full load from two replicas, p99 is
/// under 0.3 s).
const WRITE_RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

/// One write (see the module docs of [`super`] and [`crate::dispatch::journal`]): the
/// idempotency key checked, the event built from the state by `build`, put on the server
/// clock, validated, applied and queued for the log with its answer from `answer` (kept as
/// the idempotency record); answered once the log has it. A storage fault answers 503 and
/// keeps nothing. On a shared log, a write another replica beat to the log is made again on
/// the caught-up state (its key checked, its event built and validated again).
pub(crate) async fn write<T: serde::de::DeserializeOwned>(
    s: &AppState,
    principal: Principal,
    headers: &HeaderMap,
    route: String,
    body: JsonBody<T>,
    mut build: impl FnMut(&Service, &Fleet, DateTime<Utc>, T) -> Result<Event, ApiError>,
    mut answer: impl FnMut(&Fleet, &Event) -> Result<Answer, ApiError>,
) -> Result<Written, ApiError> {
    let key = idempotency_key(headers)?;
    let svc = &s.0;
    let JsonBody { value, raw } = body;
    let mut value = Some(value);
    let idem_key = key.map(|k| (principal.name.clone(), route, k));
    // A shared log: validated against its head, not against what this server last heard.
    svc.journal.sync().await;
    let started = std::time::Instant::now();
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        if attempt > 1 {
            if started.elapsed() >= WRITE_RETRY_BUDGET {
                break;
            }
            // Lost to another replica: back off a random while, growing, so two busy
            // replicas stop colliding (up to 64 ms).
            let cap = 1u64 << (attempt - 1).min(6);
            let ms = rand::random_range(0..=cap);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        let value = match value.take() {
            Some(v) => v,
            None => serde_json::from_str(&raw)
                .map_err(|e| ApiError::Internal(format!("request body read again: {e}")))?,
        };
        // Break: the answer recorded for this key; continue: the write queued for the log.
        let written = 'write: {
            let mut core = svc.lock()?;
            if let Some(k) = &idem_key {
                match core.idempotent(k)? {
                    Seen::New => {}
                    Seen::InFlight => {
                        return Err(ApiError::Conflict(format!(
                            "a request with Idempotency-Key `{}` is being written; retry in a moment",
                            k.2
                        )));
                    }
                    Seen::Answered(a) => {
                        if a.request != raw {
                            return Err(ApiError::Unprocessable(format!(
                                "Idempotency-Key `{}` was used for a different request",
                                k.2
                            )));
                        }
                        let body = serde_json::from_str(&a.body)
                            .map_err(|e| ApiError::Internal(format!("stored answer: {e}")))?;
                        break 'write ControlFlow::Break(Written {
                            status: StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK),
                            body,
                            replayed: true,
                        });
                    }
                }
            }
            let now = Utc::now();
            let mut ev = build(svc, &core.fleet, now, value)?;
            core.fleet.stamp(&mut ev, now, svc.config.clock_skew_s)?;
            core.fleet.validate(&ev, now)?;
            let json = serde_json::to_string(&ev).map_err(|e| ApiError::Internal(e.to_string()))?;
            let undo = core.fleet.apply(&ev);
            let (status, value) = match answer(&core.fleet, &ev) {
                Ok(a) => a,
                Err(e) => {
                    core.fleet.undo(undo);
                    return Err(e);
                }
            };
            let idem = idem_key.clone().map(|(principal, route, key)| Idempotency {
                principal,
                route,
                key,
                request: raw.clone(),
                status: status.as_u16(),
                body: value.to_string(),
            });
            let ticket = core.submit(ev, json, undo, &principal.name, idem);
            drop(core);
            svc.journal.wake();
            ControlFlow::Continue((ticket, status, value))
        };
        let (ticket, status, body) = match written {
            ControlFlow::Continue(queued) => queued,
            ControlFlow::Break(replay) => {
                // The record may have been written by another replica after this one last
                // read the log: read up to it, so what the answer names is here too (issue
                // #29: a replayed new call had no incident to recommend for).
                svc.journal.sync().await;
                return Ok(replay);
            }
        };
        match ticket.await {
            Ok(Ok(_seq)) => {
                return Ok(Written {
                    status,
                    body,
                    replayed: false,
                });
            }
            Ok(Err(fault)) if fault.retry => continue,
            Ok(Err(fault)) => return Err(ApiError::Unavailable(fault.reason)),
            Err(_) => return Err(ApiError::Internal("the committer stopped".into())),
        }
    }
    Err(ApiError::Unavailable(format!(
        "other servers on the same log appended first {} times in {:.1} s; retry",
        attempt - 1,
        started.elapsed().as_secs_f64()
    )))
}

pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("worker failed: {e}")))?
}
