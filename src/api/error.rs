//! The HTTP error type: a status and a JSON body `{"error": code, "message": text}`.
//!
//! This module owns the mapping from library errors to HTTP statuses. It must not leak
//! internals: internal errors are logged with their detail and answered with a generic
//! message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::dispatch::DispatchError;
use crate::dispatch::store::StoreError;

/// An error answer.
#[derive(Debug)]
pub enum ApiError {
    /// 400: the body is not JSON, or a value cannot be read.
    BadRequest(String),
    /// 401: no token, or a token the server does not know.
    Unauthorized,
    /// 403: the token's role may not do this.
    Forbidden(String),
    /// 404: no such resource.
    NotFound(String),
    /// 409: the change conflicts with the current state (lifecycle, a unit already taken).
    Conflict(String),
    /// 408: the body did not arrive within the configured time (seconds).
    Timeout(f64),
    /// 413: the body is larger than the configured limit.
    TooLarge(usize),
    /// 422: well-formed JSON whose values are wrong (types, ranges, off the map).
    Unprocessable(String),
    /// 503: the event log cannot be written (disk full, I/O error); nothing was kept.
    Unavailable(String),
    /// 429: a planning computation is already running; retry when it is done.
    Busy(String),
    /// 500: a fault on the server's side (logged, not shown).
    Internal(String),
}

/// The JSON body of an error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `request_timeout`, `payload_too_large`, `unprocessable`, `storage_unavailable`, `busy`, or
    /// `internal`.
    pub error: &'static str,
    pub message: String,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid bearer token is required (Authorization: Bearer <token>)".into(),
            ),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone()),
            ApiError::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone()),
            ApiError::Timeout(s) => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                format!("the request body did not arrive within {s} s"),
            ),
            ApiError::TooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("the request body is larger than {limit} bytes"),
            ),
            ApiError::Unprocessable(m) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", m.clone())
            }
            ApiError::Unavailable(reason) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                format!(
                    "the event log cannot be written ({reason}); nothing of this request was \
                     recorded: retry later (GET /healthz says when writes work again)"
                ),
            ),
            ApiError::Busy(m) => (StatusCode::TOO_MANY_REQUESTS, "busy", m.clone()),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error; the server log has the details".into(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!("internal error: {detail}");
        }
        let (status, error, message) = self.parts();
        let mut r = (status, axum::Json(ErrorBody { error, message })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        r
    }
}

impl From<DispatchError> for ApiError {
    fn from(e: DispatchError) -> ApiError {
        match e {
            DispatchError::UnknownUnit(_) | DispatchError::UnknownIncident(_) => {
                ApiError::NotFound(e.to_string())
            }
            DispatchError::Transition { .. } | DispatchError::Conflict(_) => {
                ApiError::Conflict(e.to_string())
            }
            DispatchError::UnknownHospital(_)
            | DispatchError::Time(_)
            | DispatchError::Invalid(_) => ApiError::Unprocessable(e.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            // The database is down or another replica was first: try again, here or elsewhere.
            StoreError::Postgres { .. } | StoreError::Conflict { .. } => {
                ApiError::Unavailable(e.to_string())
            }
            _ => ApiError::Internal(e.to_string()),
        }
    }
}
