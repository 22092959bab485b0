//! `GET /v1/events`: every state change as Server-Sent Events, until shutdown.

use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};

use super::state::AppState;

/// Every state change as Server-Sent Events (`data: {"seq": …, "event": {…}}`).
#[utoipa::path(get, path = "/v1/events",
    responses((status = 200, content_type = "text/event-stream", body = String)),
    security(("bearer" = [])))]
pub(crate) async fn events(State(s): State<AppState>) -> Response {
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
