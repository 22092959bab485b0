//! `GET /v1/events`: every committed state change as Server-Sent Events, until shutdown.
//!
//! Each message has `id:` (its sequence number in the log). The stream never skips an event:
//! it sends the live ones as they are committed, and whenever it is behind (a client that
//! reconnects with `Last-Event-ID`, or one that reads more slowly than events come and falls
//! more than the configured `stream_buffer` messages behind) it reads the missed events from
//! the log, [`CHUNK`] at a time and only as fast as the client takes them, then goes live
//! again. Memory per client stays bounded whatever the client does. If the log cannot be read,
//! the client gets one `event: resync` message naming the last id it got and the stream ends:
//! it reloads the state with the `GET` routes, or reconnects with that `Last-Event-ID`. A gap is
//! never silent.
//!
//! With a move-up policy configured (`move_up_policy`), the stream also carries `event:
//! posting` messages (no id): the policy's recommended posting ([`crate::dispatch::posting`],
//! as `GET /v1/posting` answers), the current one on connect and each new one after a commit.

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, StreamExt};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use super::error::ApiError;
use super::state::{AppState, StreamMessage, stream_json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Events read from the log at a time while catching up.
pub(crate) const CHUNK: usize = 500;

fn message(m: &StreamMessage) -> SseEvent {
    SseEvent::default().id(m.seq.to_string()).data(&*m.json)
}

fn resync(reason: &str, last_id: u64) -> SseEvent {
    SseEvent::default()
        .event("resync")
        .id(last_id.to_string())
        .data(
            serde_json::json!({
                "reason": reason,
                "last_id": last_id,
                "what_to_do": "reload the state with GET /v1/units and GET /v1/incidents, or \
                               reconnect with Last-Event-ID to resume from the log",
            })
            .to_string(),
        )
}

/// Where a client's stream stands: the last id sent, and the live subscription (none while
/// it catches up from the log).
struct Cursor {
    svc: AppState,
    last: u64,
    live: Option<BroadcastStream<StreamMessage>>,
    done: bool,
}

impl Cursor {
    /// The next messages: from the log while behind, else the next live one.
    async fn next(mut self) -> Option<(Vec<SseEvent>, Cursor)> {
        if self.done {
            return None;
        }
        loop {
            let Some(live) = self.live.as_mut() else {
                // Subscribe before reading, so nothing committed meanwhile is missed (it is in
                // both; the live copy is skipped by its id).
                let rx = BroadcastStream::new(self.svc.0.events.subscribe());
                let after = self.last as i64;
                // A few streams read at once, on the pool's readers (a crowd resuming after a
                // restart waits its turn instead of opening a connection each).
                // The permit moves into the blocking read and ends with it: if this client
                // goes away mid-read (the future is dropped), the read still holds its slot
                // until its reader is back in the pool (issue #29: a permit dropped with the
                // future let a fifth reader open while the fourth was still reading).
                let permit = self.svc.0.stream_reads.clone().acquire_owned().await;
                let svc = self.svc.clone();
                let rows = tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    svc.0.readers.with(|r| r.events_after(after, CHUNK))
                })
                .await;
                let rows = rows
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()));
                let rows = match rows {
                    Ok(rows) => rows,
                    Err(why) => {
                        tracing::error!("event stream: the log cannot be read: {why}");
                        self.done = true;
                        return Some((vec![resync("log_unreadable", self.last)], self));
                    }
                };
                if rows.len() < CHUNK {
                    self.live = Some(rx);
                }
                if rows.is_empty() {
                    continue;
                }
                let out = rows
                    .iter()
                    .map(|e| {
                        let seq = e.seq as u64;
                        message(&StreamMessage {
                            seq,
                            json: stream_json(seq, e.actor.as_deref(), &e.event).into(),
                        })
                    })
                    .collect();
                self.last = rows.last().map_or(self.last, |e| e.seq as u64);
                return Some((out, self));
            };
            match live.next().await {
                None => return None,
                Some(Ok(m)) if m.seq <= self.last => continue,
                Some(Ok(m)) => {
                    self.last = m.seq;
                    return Some((vec![message(&m)], self));
                }
                // Fell behind the live buffer: catch up from the log.
                Some(Err(BroadcastStreamRecvError::Lagged(_))) => self.live = None,
            }
        }
    }
}

/// Every state change as Server-Sent Events (`id: <seq>`, `data: {"seq", "by", "event"}`),
/// resumable with `Last-Event-ID`; `event: resync` if the client must reload.
#[utoipa::path(get, tag = "stream", path = "/v1/events",
    params(("Last-Event-ID" = Option<i64>, Header,
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
                .and_then(|t| t.trim().parse::<i64>().ok())
                .and_then(|n| u64::try_from(n).ok())
                .ok_or_else(|| {
                    ApiError::BadRequest(
                        "Last-Event-ID must be the id (a sequence number) of an event".into(),
                    )
                })?,
        ),
    };
    let cursor = match last {
        // Live from now on: subscribed before the last durable id is read, so every later
        // event reaches the subscription.
        None => {
            let live = Some(BroadcastStream::new(s.0.events.subscribe()));
            Cursor {
                last: s.0.journal.durable_seq(),
                live,
                svc: s.clone(),
                done: false,
            }
        }
        // From the log first.
        Some(after) => Cursor {
            last: after,
            live: None,
            svc: s.clone(),
            done: false,
        },
    };
    let mut stop = s.0.stop.subscribe();
    let log = stream::unfold(cursor, Cursor::next).flat_map(stream::iter);
    // The move-up policy's posting, when it changes (no id: it is not a logged event).
    let postings = tokio_stream::wrappers::WatchStream::new(s.0.posting.subscribe()).filter_map(
        |p| async move { p.map(|json| SseEvent::default().event("posting").data(&*json)) },
    );
    let all = stream::select(log, postings)
        .map(Ok::<_, Infallible>)
        .take_until(async move {
            let _ = stop.wait_for(|v| *v).await;
        });
    Ok(Sse::new(all)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// `/v1/events`, with its OpenAPI path.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}
