//! Request limits checked before routing, and JSON bodies for every error answer.
//!
//! This module owns two middlewares. [`limits`] refuses a URI longer than [`MAX_URI_BYTES`]
//! (414) and headers larger than [`MAX_HEADER_BYTES`] in all or more than [`MAX_HEADERS`] of
//! them (431), with JSON bodies (hyper's own limits, far above these, would answer with an
//! empty body). [`json_errors`] turns any error answer that is not JSON yet (axum's 405, a
//! path or query that does not decode, a body of the wrong content type) into the service's
//! `{"error", "message"}` body, keeping its status and headers (such as `Allow`). It must not
//! change a JSON answer.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ErrorBody;

/// The longest request target (path and query) served.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header bytes (names and values) in one request.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;
/// The most header fields in one request.
pub const MAX_HEADERS: usize = 64;

fn json(status: StatusCode, error: &'static str, message: String) -> Response {
    (status, axum::Json(ErrorBody { error, message })).into_response()
}

/// 414 and 431 with JSON bodies.
pub(crate) async fn limits(req: Request, next: Next) -> Response {
    let uri = req.uri().to_string().len();
    if uri > MAX_URI_BYTES {
        return json(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("the request target is {uri} bytes; at most {MAX_URI_BYTES} are served"),
        );
    }
    let h = req.headers();
    let bytes: usize = h.iter().map(|(k, v)| k.as_str().len() + v.len()).sum();
    if h.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return json(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "request_header_fields_too_large",
            format!(
                "{} header fields, {bytes} bytes; at most {MAX_HEADERS} fields and \
                 {MAX_HEADER_BYTES} bytes",
                h.len()
            ),
        );
    }
    next.run(req).await
}

/// The error name for a status.
pub(crate) fn error_name(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        408 => "request_timeout",
        409 => "conflict",
        411 => "length_required",
        413 => "payload_too_large",
        414 => "uri_too_long",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        431 => "request_header_fields_too_large",
        503 => "storage_unavailable",
        s if s >= 500 => "internal",
        _ => "bad_request",
    }
}

/// Every error answer as JSON.
pub(crate) async fn json_errors(req: Request, next: Next) -> Response {
    let r = next.run(req).await;
    let status = r.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return r;
    }
    let is_json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    let text = match axum::body::to_bytes(body, 4096).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if status.is_server_error() {
        tracing::error!("internal error answer: {text}");
        "internal error; the server log has the details".to_string()
    } else if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_string()
    } else {
        text
    };
    let body = serde_json::to_vec(&ErrorBody {
        error: error_name(status),
        message,
    })
    .unwrap_or_default();
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}
