//! The service's shared state: the scenario and its travel model, the fleet and its event log
//! behind one lock, the event broadcast and the stop signal.
//!
//! This module owns opening the service (building the model, replaying the log). It must not
//! hold dispatch rules ([`crate::dispatch`]) nor routes ([`super::routes`]).

use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use tokio::sync::{broadcast, watch};

use super::config::Config;
use super::error::ApiError;
use crate::dispatch::coverage::{Budget, Coverage};
use crate::dispatch::store::{Store, StoreError};
use crate::dispatch::{DispatchError, Fleet};
use crate::model::Scenario;
use crate::network::profile::ProfileError;
use crate::network::{SnapError, Snapped, TravelModel};
use crate::standards;

/// Why the service cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The event log cannot be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event no longer applies to the scenario (e.g. a unit was removed from the
    /// stations file): restore the scenario the log was written with.
    #[error("event log: event {seq} does not apply: {source}")]
    Replay {
        seq: i64,
        #[source]
        source: DispatchError,
    },
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

pub(crate) struct Core {
    pub fleet: Fleet,
    pub store: Store,
}

/// The service's shared state.
pub struct Service {
    pub(crate) sc: Scenario,
    pub(crate) tm: Arc<TravelModel>,
    pub(crate) config: Config,
    pub(crate) detention_min: f64,
    pub(crate) core: Mutex<Core>,
    pub(crate) events: broadcast::Sender<String>,
    pub(crate) stop: watch::Sender<bool>,
    /// Each hospital's point on the road, in scenario order.
    pub(crate) hospitals: Vec<Snapped>,
    /// The demand zones snapped once, and each station's coverage (free flow).
    pub(crate) coverage: Arc<Coverage>,
    /// With a traffic profile: the model of the current local hour, rebuilt when the hour
    /// changes (the graph re-weighted; network and snapping index shared).
    pub(crate) hour_model: std::sync::RwLock<Option<Arc<HourModel>>>,
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

/// The fleet the event log describes.
pub(crate) fn replay(sc: &Scenario, store: &Store) -> Result<Fleet, ServeError> {
    let mut fleet = Fleet::new(sc);
    for (seq, ev) in store.events()? {
        // Stored events were valid when written; re-validating catches a changed scenario.
        fleet
            .validate(&ev, DateTime::<Utc>::MAX_UTC)
            .map_err(|e| ServeError::Replay { seq, source: e })?;
        fleet.apply(&ev);
    }
    Ok(fleet)
}

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
        let store = Store::open(&config.db)?;
        let fleet = replay(&sc, &store)?;
        let detention_min = config
            .detention_threshold_min
            .unwrap_or_else(|| standards::Targets::default_preset().detention_threshold_min);
        let (events, _) = broadcast::channel(1024);
        let (stop, _) = watch::channel(false);
        Ok(AppState(Arc::new(Service {
            sc,
            tm: Arc::new(tm),
            config,
            detention_min,
            core: Mutex::new(Core { fleet, store }),
            events,
            stop,
            hospitals,
            coverage: Arc::new(coverage),
            hour_model: std::sync::RwLock::new(None),
        })))
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
        self.core
            .lock()
            .map_err(|_| ApiError::Internal("the state lock is poisoned".into()))
    }
}
