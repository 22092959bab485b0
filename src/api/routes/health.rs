//! `GET /healthz`: liveness, whether writes work, and the number of events applied.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::api::error::ApiError;
use crate::api::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Liveness and the number of events applied. `status` is `degraded` while the event log
/// cannot be written (reads still work; writes answer 503 and keep nothing), with the reason,
/// since when, and how many writes failed; it is `ok` again after the next write succeeds.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Health {
    /// `ok` or `degraded`.
    #[schema(pattern = "^(ok|degraded)$")]
    pub(crate) status: &'static str,
    pub(crate) events: u64,
    /// Transactions (fsyncs) since the server started, and the events they held: writes that
    /// arrive together share one.
    pub(crate) commits: u64,
    pub(crate) committed_events: u64,
    /// Why writes fail (while degraded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) since: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) failed_writes: Option<u64>,
}

#[utoipa::path(get, tag = "health", path = "/healthz", responses((status = 200, body = Health)))]
pub(crate) async fn healthz(State(s): State<AppState>) -> Result<Json<Health>, ApiError> {
    let events = s.0.lock()?.fleet.seq;
    let fault = s.0.journal.fault();
    let (commits, committed_events) = s.0.journal.commits();
    Ok(Json(Health {
        status: if fault.is_some() { "degraded" } else { "ok" },
        events,
        commits,
        committed_events,
        reason: fault.as_ref().map(|f| f.reason.clone()),
        since: fault.as_ref().map(|f| f.since),
        failed_writes: fault.as_ref().map(|f| f.failed_writes),
    }))
}

/// `/healthz`, with its OpenAPI path.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(healthz))
}
