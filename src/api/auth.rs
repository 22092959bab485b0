//! Bearer-token roles: who made a request, and whether their role allows it.
//!
//! This module owns authentication. Tokens are compared in constant time and never logged. It
//! must not know routes beyond the public ones.

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::config::Role;
use super::error::ApiError;
use super::state::AppState;

/// Who made a request (from their token).
#[derive(Debug, Clone)]
pub struct Principal {
    pub name: String,
    pub role: Role,
}

/// Bearer tokens with roles: reading needs `viewer`, writing `dispatcher` (or `admin`).
/// `/healthz`, `/openapi.json` and the web pages with their assets (`/`, `/plan`, `/assets/...`: they
/// hold no data) are public. Tokens are compared in constant time and never
/// logged.
pub(crate) async fn auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path == "/healthz"
        || path == "/openapi.json"
        || path == "/"
        || path == "/plan"
        || path.starts_with("/assets/")
    {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` works too.
        .and_then(|v| {
            v.get(..7)
                .filter(|s| s.eq_ignore_ascii_case("bearer "))
                .map(|_| &v[7..])
        })
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
