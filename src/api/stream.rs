//! `GET /v1/events`: every committed state change as Server-Sent Events, until shutdown.
//!
//! Each message has `id:` (its sequence number in the log), so a client that reconnects with
//! `Last-Event-ID` gets every event after it from the log, then the live ones, with no gap and
//! no repeat. A client that falls more than [`STREAM_BUFFER`](super::state::STREAM_BUFFER) messages behind, or asks to
//! resume from further back than [`RESUME_MAX`] events, gets one `event: resync` message that
//! says why and from which `id` it stands, and the stream ends: it reloads the state with the
//! `GET` routes (or reconnects with that `Last-Event-ID`). A gap is never silent.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::error::ApiError;
use super::state::{AppState, StreamMessage, stream_json};
use crate::dispatch::store::Reader;

/// The most events a resume replays from the log; further behind, the client is told to
/// resync.
pub(crate) const RESUME_MAX: usize = 10_000;

fn message(m: &StreamMessage) -> SseEvent {
    SseEvent::default().id(m.seq.to_string()).data(&*m.json)
}

fn resync(reason: &str, last_id: u64, missed: Option<u64>) -> SseEvent {
    SseEvent::default()
        .event("resync")
        .id(last_id.to_string())
        .data(
            serde_json::json!({
                "reason": reason,
                "last_id": last_id,
                "missed": missed,
                "what_to_do": "reload the state with GET /v1/units and GET /v1/incidents, or \
                               reconnect with Last-Event-ID to resume from the log",
            })
            .to_string(),
        )
}

/// Every state change as Server-Sent Events (`id: <seq>`, `data: {"seq", "by", "event"}`);
/// `event: resync` when the client must reload.
#[utoipa::path(get, path = "/v1/events",
    params(("Last-Event-ID" = Option<u64>, Header,
        description = "resume after this sequence number (from the log)")),
    responses((status = 200, content_type = "text/event-stream", body = String),
        (status = 400, body = super::error::ErrorBody),
        (status = 401, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub(crate) async fn events(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let last: Option<u64> = match headers.get("last-event-id") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "Last-Event-ID must be the id (a sequence number) of an event".into(),
                    )
                })?,
        ),
    };
    // Subscribe first, then read the log: an event committed in between is in both and the
    // live copy is skipped by its id.
    let rx = s.0.events.subscribe();
    let mut stop = s.0.stop.subscribe();
    let head: Vec<SseEvent>;
    let mut sent = last.unwrap_or(0);
    let mut end_now = false;
    match last {
        None => {
            head = Vec::new();
            sent = u64::MAX; // live only: nothing to skip by id
        }
        Some(after) => {
            let path = s.0.config.db.clone();
            let rows = tokio::task::spawn_blocking(move || {
                let r = Reader::open(&path)?;
                r.events_after(after as i64, RESUME_MAX + 1)
            })
            .await
            .map_err(|e| ApiError::Internal(format!("worker failed: {e}")))??;
            if rows.len() > RESUME_MAX {
                head = vec![resync("too_far_behind", after, None)];
                end_now = true;
            } else {
                head = rows
                    .iter()
                    .map(|e| {
                        let seq = e.seq as u64;
                        message(&StreamMessage {
                            seq,
                            json: stream_json(seq, e.actor.as_deref(), &e.event).into(),
                        })
                    })
                    .collect();
                if let Some(e) = rows.last() {
                    sent = e.seq as u64;
                }
            }
        }
    }
    let live: std::pin::Pin<Box<dyn Stream<Item = SseEvent> + Send>> = if end_now {
        Box::pin(stream::empty())
    } else {
        let skip_to = if sent == u64::MAX { 0 } else { sent };
        let mut last_seen = skip_to;
        Box::pin(
            BroadcastStream::new(rx)
                .scan(false, move |ended, m| {
                    if *ended {
                        return std::future::ready(None);
                    }
                    let out = match m {
                        Ok(m) if m.seq <= skip_to => Some(None),
                        Ok(m) => {
                            last_seen = m.seq;
                            Some(Some(message(&m)))
                        }
                        Err(BroadcastStreamRecvError::Lagged(n)) => {
                            *ended = true;
                            Some(Some(resync("lagged", last_seen, Some(n))))
                        }
                    };
                    std::future::ready(out)
                })
                .filter_map(std::future::ready),
        )
    };
    let all = stream::iter(head)
        .chain(live)
        .map(Ok::<_, Infallible>)
        .take_until(async move {
            let _ = stop.wait_for(|v| *v).await;
        });
    Ok(Sse::new(all)
        .keep_alive(KeepAlive::default())
        .into_response())
}
