//! How fresh an answer is, and read-your-writes across replicas.
//!
//! This module owns one middleware, [`freshness`]: every answer carries `EMS-Seq`, the
//! sequence number of the last event this server has durably applied (a write's answer: at
//! least its own event's). A request with `EMS-Min-Seq: N` is served only once this server has
//! applied the log up to `N` (it catches up from a shared log at once); if it cannot within
//! [`MAX_WAIT`], it answers 503 instead of stale data. It must not read or change fleet state.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::state::AppState;

/// The longest a request waits for this server to catch up to its `EMS-Min-Seq`.
pub const MAX_WAIT: Duration = Duration::from_secs(2);

/// `EMS-Min-Seq` on the way in, `EMS-Seq` on the way out.
pub(crate) async fn freshness(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let mut r = answer(&s, req, next).await;
    let seq = s.0.journal.durable_seq();
    if let Ok(v) = HeaderValue::from_str(&seq.to_string()) {
        r.headers_mut().insert("ems-seq", v);
    }
    r
}

async fn answer(s: &AppState, req: Request, next: Next) -> Response {
    let min = match req.headers().get("ems-min-seq") {
        None => None,
        Some(v) => match v.to_str().ok().and_then(|t| t.trim().parse::<u64>().ok()) {
            Some(n) => Some(n),
            None => {
                return ApiError::BadRequest(
                    "EMS-Min-Seq must be a sequence number (a whole number from an EMS-Seq header)"
                        .into(),
                )
                .into_response();
            }
        },
    };
    if let Some(min) = min {
        let journal = &s.0.journal;
        let start = Instant::now();
        while journal.durable_seq() < min {
            if start.elapsed() >= MAX_WAIT {
                return ApiError::Unavailable(format!(
                    "this server has applied the log up to event {}, not yet {min} (asked by \
                     EMS-Min-Seq); retry, or ask another server",
                    journal.durable_seq()
                ))
                .into_response();
            }
            journal.wake();
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    next.run(req).await
}
