//! The service's shared state: the scenario and its travel model, the fleet and its event log
//! behind one lock, the event broadcast and the stop signal.
//!
//! This module owns opening the service (building the model, replaying the log). It must not
//! hold dispatch rules ([`crate::dispatch`]) nor routes ([`super::routes`]).

use std::sync::{Arc, MutexGuard};

use chrono::Utc;
use tokio::sync::{broadcast, watch};

use super::config::Config;
use super::error::ApiError;
use crate::dispatch::Fleet;
use crate::dispatch::coverage::{Budget, Coverage};
use crate::dispatch::journal::{Committed, Core, Journal, JournalError, JournalOptions};
use crate::model::Scenario;
use crate::network::profile::ProfileError;
use crate::network::{SnapError, Snapped, TravelModel};
use crate::standards;

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The event log cannot be opened (another server holds it) or replayed (a stored event
    /// no longer applies to the scenario: restore the scenario the log was written with, or
    /// see `ems serve --check-log`).
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The speed profile is invalid.
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A hospital is off the road map.
    #[error("{what}: {source}")]
    Snap {
        what: String,
        #[source]
        source: SnapError,
    },
}

/// One message of the event stream: its sequence number (the SSE `id:`) and its JSON.
#[derive(Debug, Clone)]
pub(crate) struct StreamMessage {
    pub seq: u64,
    pub json: Arc<str>,
}

/// The JSON of a committed event as the stream carries it: `{"seq", "by", "event"}`, the
/// event without its free-text note (payloads stay small; `GET /v1/incidents/{id}` has it).
pub(crate) fn stream_json(seq: u64, actor: Option<&str>, ev: &crate::dispatch::Event) -> String {
    let mut event = serde_json::to_value(ev).unwrap_or(serde_json::Value::Null);
    if let Some(o) = event.as_object_mut() {
        o.remove("note");
    }
    serde_json::json!({"seq": seq, "by": actor, "event": event}).to_string()
}

/// The service's shared state.
pub struct Service {
    pub(crate) sc: Scenario,
    pub(crate) tm: Arc<TravelModel>,
    pub(crate) config: Config,
    pub(crate) detention_min: f64,
    pub(crate) journal: Arc<Journal>,
    /// Today's figures as running sums, updated by each committed event.
    pub(crate) today: Arc<std::sync::Mutex<crate::dispatch::today::Today>>,
    pub(crate) events: broadcast::Sender<StreamMessage>,
    pub(crate) stop: watch::Sender<bool>,
    /// Each hospital's point on the road, in scenario order.
    pub(crate) hospitals: Vec<Snapped>,
    /// The demand zones snapped once, and each station's coverage (free flow).
    pub(crate) coverage: Arc<Coverage>,
    /// With a traffic profile: the model of the current local hour, rebuilt when the hour
    /// changes (the graph re-weighted; network and snapping index shared).
    pub(crate) hour_model: std::sync::RwLock<Option<Arc<HourModel>>>,
    /// The web pages' base map (GeoJSON text), built on its first request.
    pub(crate) base_map: std::sync::OnceLock<Arc<String>>,
    /// One planning computation (what-if, optimisation) at a time.
    pub(crate) planning: tokio::sync::Semaphore,
}

/// The travel model of one local hour, and the stations' coverage under it (computed on the
/// first coverage or KPI request of the hour, not by recommendations).
pub(crate) struct HourModel {
    hour: usize,
    model: Arc<TravelModel>,
    coverage: std::sync::OnceLock<Arc<Coverage>>,
}

/// The router's state: the service behind an `Arc`.
#[derive(Clone)]
pub struct AppState(pub Arc<Service>);

impl AppState {
    /// Builds the travel model, opens the event log at `config.db` and replays it.
    pub fn open(sc: Scenario, config: Config) -> Result<AppState, ServeError> {
        let tm = TravelModel::for_scenario(&sc)?;
        if tm.graph.num_nodes() >= crate::network::travel::LIVE_HIERARCHY_FROM {
            // Built now (or read from the cache), not inside the first call's request.
            let started = std::time::Instant::now();
            let h = tm.hierarchy();
            tracing::info!(
                "contraction hierarchy ready for {} nodes in {:.1} s ({} shortcuts)",
                h.num_nodes(),
                started.elapsed().as_secs_f64(),
                h.shortcuts
            );
        }
        // Stations and hospitals off the road map are left out, and said so.
        let (sc, placement) = sc.on_map(&tm);
        for line in placement.lines() {
            tracing::warn!("{line}");
        }
        let hospitals = sc
            .hospitals
            .iter()
            .map(|h| {
                tm.snap(h.lon_lat).map_err(|e| ServeError::Snap {
                    what: format!("hospital `{}`", h.id),
                    source: e,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let coverage = Coverage::new(
            &sc,
            &tm,
            Budget {
                response_target_min: config.response_target_min,
                call_handling_s: config.call_handling_s,
                turnout_s: config.turnout_s,
            },
        );
        let (events, _) = broadcast::channel(config.stream_buffer);
        let tx = events.clone();
        let detention_min = config
            .detention_threshold_min
            .unwrap_or_else(|| standards::Targets::default_preset().detention_threshold_min);
        let today = Arc::new(std::sync::Mutex::new(crate::dispatch::today::Today::new(
            sc.timezone,
            config.response_target_min,
            detention_min,
        )));
        let sums = today.clone();
        let journal = Journal::open(
            &sc,
            &config.db,
            JournalOptions {
                idempotency_window_s: (config.idempotency_window_h * 3600.0) as i64,
            },
            move |batch: &[Committed]| {
                if let Ok(mut t) = sums.lock() {
                    for c in batch {
                        for i in &c.incidents {
                            t.update(i);
                        }
                    }
                }
                for c in batch {
                    let json = stream_json(c.seq, Some(&c.actor), &c.event);
                    // No subscriber is fine: the log has it.
                    let _ = tx.send(StreamMessage {
                        seq: c.seq,
                        json: json.into(),
                    });
                }
            },
        )?;
        if let Ok(mut t) = today.lock() {
            for i in journal.lock().fleet.incidents.values() {
                t.update(i);
            }
        }
        let (stop, _) = watch::channel(false);
        Ok(AppState(Arc::new(Service {
            sc,
            tm: Arc::new(tm),
            config,
            detention_min,
            journal,
            today,
            events,
            stop,
            hospitals,
            coverage: Arc::new(coverage),
            hour_model: std::sync::RwLock::new(None),
            base_map: std::sync::OnceLock::new(),
            planning: tokio::sync::Semaphore::new(1),
        })))
    }

    /// Stops the committer (after committing what is queued) and releases the event log's
    /// lock. [`super::run`] does this when it returns; a caller that drops the server another
    /// way (a test's runtime shut down) calls it to open the log again in the same process.
    pub fn close(&self) {
        self.0.journal.close();
    }

    /// A copy of the current fleet state.
    pub fn fleet(&self) -> Result<Fleet, ApiError> {
        Ok(self.0.lock()?.fleet.clone())
    }
}

impl Service {
    /// The travel model for `now`: the scenario's at the current local hour when it has a
    /// traffic profile (with that hour), else the free-flow model (and `None`).
    pub(crate) fn model_now(&self) -> (Arc<TravelModel>, Option<usize>) {
        match self.hour_now() {
            Some(h) => (h.model.clone(), Some(h.hour)),
            None => (self.tm.clone(), None),
        }
    }

    /// The travel model and the stations' coverage for `now`, with the hour as in
    /// [`Service::model_now`]: coverage now, the move-up and the KPIs use the hour's times.
    pub(crate) fn coverage_now(&self) -> (Arc<TravelModel>, Arc<Coverage>, Option<usize>) {
        match self.hour_now() {
            Some(h) => {
                let c = h.coverage.get_or_init(|| {
                    Arc::new(Coverage::new(&self.sc, &h.model, self.coverage.budget()))
                });
                (h.model.clone(), c.clone(), Some(h.hour))
            }
            None => (self.tm.clone(), self.coverage.clone(), None),
        }
    }

    /// The current local hour's model, `None` without a traffic profile.
    fn hour_now(&self) -> Option<Arc<HourModel>> {
        self.tm.traffic()?;
        use chrono::Timelike;
        let hour = self.sc.timezone.from_utc(Utc::now()).hour() as usize;
        if let Ok(g) = self.hour_model.read()
            && let Some(h) = g.as_ref()
            && h.hour == hour
        {
            return Some(h.clone());
        }
        let h = Arc::new(HourModel {
            hour,
            model: Arc::new(self.tm.at_hour(hour)),
            coverage: std::sync::OnceLock::new(),
        });
        if let Ok(mut g) = self.hour_model.write() {
            *g = Some(h.clone());
        }
        Some(h)
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Core>, ApiError> {
        Ok(self.journal.lock())
    }
}
