//! The service's shared state: the scenario and its travel model, the fleet and its event log
//! behind one lock, the event broadcast and the stop signal.
//!
//! This module owns opening the service (building the model, replaying the log). It must not
//! hold dispatch rules ([`crate::dispatch`]) nor routes ([`super::routes`]).

use std::collections::BTreeMap;
use std::sync::{Arc, MutexGuard};

use chrono::Utc;
use tokio::sync::{broadcast, watch};

use super::config::Config;
use super::error::ApiError;
use crate::dispatch::Fleet;
use crate::dispatch::coverage::{Budget, Coverage};
use crate::dispatch::journal::{Committed, Core, Journal, JournalError, JournalOptions};
use crate::dispatch::policy::{Caps, ComplianceTable, CoverModel, PolicyKind, RelocationLog};
use crate::dispatch::posting::{LivePolicy, Posting};
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
    /// The compliance table is unreadable or for another scenario.
    #[error(transparent)]
    Table(#[from] crate::dispatch::policy::TableError),
    /// The posting worker thread cannot start (the system is out of threads or memory).
    #[error("cannot start the posting worker: {0}")]
    Thread(std::io::Error),
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
    /// The move-up policy, its coverage, the stations on the road and each unit's recent
    /// relocations (`unit_moved` events, seconds since the Unix epoch).
    pub(crate) policy: LivePolicy,
    pub(crate) cover_model: CoverModel,
    pub(crate) station_points: Vec<Snapped>,
    pub(crate) relocations: Arc<std::sync::Mutex<BTreeMap<String, RelocationLog>>>,
    /// The latest posting's JSON, recomputed after each commit (policies other than static).
    pub(crate) posting: watch::Sender<Option<Arc<str>>>,
    /// Readers for event streams catching up from the log, and how many may read at once
    /// ([`STREAM_READERS`]): a crowd of boards resuming after a restart shares them. A permit
    /// is held by the blocking read itself (owned), so a client that disconnects mid-read does
    /// not free its slot while its reader is still in use.
    pub(crate) readers: crate::dispatch::store::ReaderPool,
    pub(crate) stream_reads: Arc<tokio::sync::Semaphore>,
}

/// Event streams catching up from the log at once (and readers kept open for them).
pub(crate) const STREAM_READERS: usize = 4;

/// The travel model of one local hour, and the stations' coverage under it (computed on the
/// first coverage or KPI request of the hour, not by recommendations).
pub(crate) struct HourModel {
    hour: usize,
    model: Arc<TravelModel>,
    coverage: std::sync::OnceLock<Arc<Coverage>>,
}

/// The live policy from the configuration: the compliance table read and checked against the
/// scenario (its name, its stations in order, one level per unit).
fn live_policy(sc: &Scenario, config: &Config) -> Result<LivePolicy, ServeError> {
    let units: usize = sc.stations.iter().map(|s| s.ambulances as usize).sum();
    let table = match (&config.compliance_table, config.move_up_policy) {
        (Some(path), PolicyKind::Table) => {
            let t = ComplianceTable::read(path)?;
            let ids: Vec<String> = sc.stations.iter().map(|s| s.id.clone()).collect();
            t.resolve(&path.display().to_string(), &sc.name, &ids, units)?
        }
        _ => Vec::new(),
    };
    Ok(LivePolicy {
        kind: config.move_up_policy,
        table,
        caps: Caps {
            per_unit_hour: config.max_relocations_per_hour,
            max_relocation_s: config.max_relocation_min * 60.0,
        },
        busy: config.busy_fraction,
    })
}

/// Adds the `unit_moved` events among `events` to each unit's relocation log.
fn record_moves<'a>(
    logs: &std::sync::Mutex<BTreeMap<String, RelocationLog>>,
    events: impl Iterator<Item = &'a crate::dispatch::Event>,
) {
    if let Ok(mut m) = logs.lock() {
        for e in events {
            if let crate::dispatch::Event::UnitMoved { unit, at, .. } = e {
                m.entry(unit.clone())
                    .or_default()
                    .record(at.timestamp_millis() as f64 / 1000.0);
            }
        }
    }
}

/// Recomputes the posting after each commit and publishes it when it changed; ends when the
/// service is gone.
fn posting_worker(svc: std::sync::Weak<Service>, woken: std::sync::mpsc::Receiver<()>) {
    let mut last: Option<Posting> = None;
    loop {
        match woken.recv_timeout(std::time::Duration::from_secs(1)) {
            Ok(()) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if svc.strong_count() == 0 {
                    return;
                }
                continue;
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
        let Some(s) = svc.upgrade() else { return };
        let posting = s.posting_now();
        // The sequence number changes with every event: publish only a new recommendation.
        let key = Posting {
            seq: 0,
            ..posting.clone()
        };
        if last.as_ref() != Some(&key) {
            last = Some(key);
            let json = serde_json::to_string(&posting).unwrap_or_else(|_| "null".into());
            s.posting.send_replace(Some(json.into()));
        }
    }
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
        let policy = live_policy(&sc, &config)?;
        let station_points: Vec<Snapped> = sc
            .stations
            .iter()
            .map(|st| {
                tm.snap(st.lon_lat).map_err(|e| ServeError::Snap {
                    what: format!("station `{}`", st.id),
                    source: e,
                })
            })
            .collect::<Result<_, _>>()?;
        let relocations: Arc<std::sync::Mutex<BTreeMap<String, RelocationLog>>> = Arc::default();
        let moved = relocations.clone();
        // Wakes the posting worker after a commit (coalesced: one pending wake-up).
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
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
                record_moves(&moved, batch.iter().map(|c| &c.event));
                let _ = wake.try_send(());
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
        // Relocations of the last hour count against the cap after a restart too.
        if let Ok(mut reader) = crate::dispatch::store::open_reader(&config.db)
            && let Ok(last) = reader.last_seq()
            && let Ok(recent) = reader.events_after((last - 5000).max(0), 5000)
        {
            record_moves(&relocations, recent.iter().map(|e| &e.event));
        }
        let cover_model = coverage.cover_model();
        let config_db = config.db.clone();
        let (posting, _) = watch::channel(None);
        let (stop, _) = watch::channel(false);
        let state = AppState(Arc::new(Service {
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
            policy,
            cover_model,
            station_points,
            relocations,
            posting,
            readers: crate::dispatch::store::ReaderPool::new(config_db, STREAM_READERS),
            stream_reads: Arc::new(tokio::sync::Semaphore::new(STREAM_READERS)),
        }));
        if state.0.policy.kind != PolicyKind::Static {
            let weak = Arc::downgrade(&state.0);
            std::thread::Builder::new()
                .name("ems-posting".into())
                .spawn(move || posting_worker(weak, woken))
                .map_err(ServeError::Thread)?;
            // `send_replace`: `send` does nothing while no client listens.
            state
                .0
                .posting
                .send_replace(Some(state.0.posting_json().into()));
        }
        Ok(state)
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

    /// The posting the move-up policy recommends now ([`crate::dispatch::posting`]).
    pub(crate) fn posting_now(&self) -> Posting {
        let (units, seq) = {
            let core = self.journal.lock();
            (core.fleet.units.clone(), self.journal.durable_seq())
        };
        let moved = self
            .relocations
            .lock()
            .map(|m| m.clone())
            .unwrap_or_default();
        let (tm, _) = self.model_now();
        crate::dispatch::posting::posting(
            &self.sc,
            &tm,
            &self.station_points,
            &self.cover_model,
            &units,
            &self.policy,
            &moved,
            Utc::now().timestamp_millis() as f64 / 1000.0,
            seq,
        )
    }

    pub(crate) fn posting_json(&self) -> String {
        serde_json::to_string(&self.posting_now()).unwrap_or_else(|_| "null".into())
    }

    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, Core>, ApiError> {
        Ok(self.journal.lock())
    }
}
