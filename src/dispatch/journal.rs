//! Group commit: the live fleet and the writer of its log.
//!
//! This module owns the order of writes. A writer takes the core lock, validates and applies
//! its event in memory and queues it ([`Core::submit`]), releases the lock and waits on its
//! [`Ticket`]. One committer thread takes everything queued, writes it in one transaction with
//! one fsync ([`super::store::Store::append`]), publishes the events in log order and only then
//! completes the tickets, so a write is acknowledged only once it is durable, and concurrent
//! writes share an fsync. If the transaction fails (disk full, I/O error) every queued event is
//! taken back in memory, newest first ([`super::Fleet::undo`]), its ticket fails, and the
//! journal reports the fault ([`Journal::fault`]) until a write succeeds again; the log is
//! never re-read. It must not know HTTP nor decide validity ([`super::Fleet::validate`]).
//!
//! Reads see an applied event up to one fsync before its writer is answered; a read never sees
//! a change that a failed commit then takes back without that failure being reported to the
//! change's writer.
//!
//! Idempotency: a key is "in flight" from submit to commit (a concurrent retry is told so), then
//! in the log for the configured window ([`Core::idempotent`]).

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use super::store::{
    self, Append, Idempotency, Location, LogReader, LogWriter, StoreError, StoredAnswer,
    StoredEvent,
};
use super::{DispatchError, Event, Fleet, Undo};
use crate::model::Scenario;

/// Why the journal cannot start.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The event log cannot be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored event no longer applies to the scenario: run `ems serve --check-log`.
    #[error(
        "event log: event {seq} does not apply: {source} (run `ems serve --check-log` to see \
         every such event, and `--check-log --repair` to set them aside)"
    )]
    Replay {
        seq: i64,
        #[source]
        source: DispatchError,
    },
}

/// The log could not be written: nothing of the write was kept.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the event log cannot be written: {reason}")]
pub struct WriteFault {
    pub reason: String,
    /// Another replica appended first: the state has caught up, and the write may be made
    /// again (validated against the new state).
    pub retry: bool,
}

/// The journal's health: `None` while writes succeed.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    pub reason: String,
    pub since: DateTime<Utc>,
    /// Writes that failed since.
    pub failed_writes: u64,
    /// Cleared only by a restart (this replica stopped following a shared log), not by the
    /// next successful read or write.
    pub sticky: bool,
}

/// An event that is durable: its sequence number, the token name that caused it, the event.
#[derive(Debug, Clone)]
pub struct Committed {
    pub seq: u64,
    pub actor: String,
    pub event: Event,
    /// The incidents the event changed, as they were right after it.
    pub incidents: Vec<super::IncidentRecord>,
}

/// A shared log's writer and the publisher of what it reads (for catching up).
type Follow<'a> = (&'a mut dyn LogWriter, &'a dyn Fn(&[Committed]));

/// A queued write's outcome: its sequence number once durable.
pub type Ticket = oneshot::Receiver<Result<u64, WriteFault>>;

/// An idempotency key: who, which route, the key.
pub type IdemKey = (String, String, String);

/// What a request with an idempotency key finds.
pub enum Seen {
    /// Not seen inside the window: go ahead.
    New,
    /// Answered before (inside the window).
    Answered(StoredAnswer),
    /// The same key is being written now.
    InFlight,
}

struct Pending {
    append: Append,
    event: Event,
    incidents: Vec<super::IncidentRecord>,
    undo: Undo,
    key: Option<IdemKey>,
    done: oneshot::Sender<Result<u64, WriteFault>>,
}

/// The fleet and what is queued for the log, behind [`Journal::lock`].
pub struct Core {
    pub fleet: Fleet,
    queue: Vec<Pending>,
    in_flight: HashSet<IdemKey>,
    reader: Box<dyn LogReader>,
    idempotency_window_s: i64,
    /// Writers waiting for the committer to catch up with a shared log before they validate.
    sync_waiters: Vec<oneshot::Sender<()>>,
}

impl Core {
    /// What an idempotency key finds (see [`Seen`]); `request` is the body, to tell a retry
    /// from a different request under the same key.
    pub fn idempotent(&mut self, key: &IdemKey) -> Result<Seen, StoreError> {
        if self.in_flight.contains(key) {
            return Ok(Seen::InFlight);
        }
        let since = Utc::now().timestamp() - self.idempotency_window_s;
        Ok(match self.reader.answer(&key.0, &key.1, &key.2, since)? {
            Some(a) => Seen::Answered(a),
            None => Seen::New,
        })
    }

    /// Queues an applied event (`body` is its JSON) for the log with `actor` (the token name)
    /// and the request's idempotency record; `undo` takes it back if the log cannot be written.
    /// Wake the committer ([`Journal::wake`]) after releasing the lock.
    pub fn submit(
        &mut self,
        event: Event,
        body: String,
        undo: Undo,
        actor: &str,
        idempotency: Option<Idempotency>,
    ) -> Ticket {
        let key = idempotency
            .as_ref()
            .map(|i| (i.principal.clone(), i.route.clone(), i.key.clone()));
        if let Some(k) = &key {
            self.in_flight.insert(k.clone());
        }
        let (done, ticket) = oneshot::channel();
        let incidents = undo
            .incident_ids()
            .filter_map(|id| self.fleet.incidents.get(&id).cloned())
            .collect();
        self.queue.push(Pending {
            incidents,
            append: Append {
                seq: self.fleet.seq,
                body,
                actor: actor.to_string(),
                recorded: Utc::now(),
                idempotency,
            },
            event,
            undo,
            key,
            done,
        });
        ticket
    }
}

/// The live fleet, its queue and its committer.
pub struct Journal {
    core: Mutex<Core>,
    wake: Condvar,
    fault: Mutex<Option<Fault>>,
    stop: Mutex<bool>,
    committer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Transactions committed and events in them since the start (their ratio is the
    /// grouping).
    commits: std::sync::atomic::AtomicU64,
    committed: std::sync::atomic::AtomicU64,
    /// The sequence number of the last durable event (set before it is published).
    durable: std::sync::atomic::AtomicU64,
    /// Whether other processes append to the same log.
    shared: bool,
}

/// How long idempotency records are kept, and how often expired ones are deleted.
#[derive(Debug, Clone, Copy)]
pub struct JournalOptions {
    pub idempotency_window_s: i64,
}

/// Replays `events` into a fleet for `sc`; each event that does not apply goes to `refused`,
/// which stops the replay (an error) or lets it go on without that event.
fn replay_events<'a>(
    sc: &Scenario,
    events: impl IntoIterator<Item = &'a StoredEvent>,
    mut refused: impl FnMut(&StoredEvent, DispatchError) -> Result<(), JournalError>,
) -> Result<Fleet, JournalError> {
    let mut fleet = Fleet::new(sc);
    for e in events {
        // Stored events were valid when written; re-validating catches a changed scenario.
        match fleet.validate(&e.event, DateTime::<Utc>::MAX_UTC) {
            Ok(()) => {
                fleet.apply(&e.event);
                fleet.seq = e.seq as u64;
            }
            Err(why) => refused(e, why)?,
        }
    }
    Ok(fleet)
}

/// Replays the log into a fleet for `sc`, stopping at the first event that does not apply.
pub fn replay(sc: &Scenario, reader: &mut dyn LogReader) -> Result<Fleet, JournalError> {
    replay_events(sc, &reader.events()?, |e, source| {
        Err(JournalError::Replay { seq: e.seq, source })
    })
}

/// What `ems serve --check-log` found: the events, and those that do not replay.
#[derive(Debug, Clone)]
pub struct LogCheck {
    pub events: usize,
    /// Each event that does not apply to the state before it (the replay goes on without it):
    /// sequence number, the event as stored, why.
    pub failing: Vec<(i64, String, String)>,
    /// Events set aside by an earlier repair.
    pub set_aside: usize,
}

/// Replays the log at `reader` for `sc` without stopping at an event that does not apply: each
/// such event is reported and left out of the state the rest is checked against.
pub fn check_log(sc: &Scenario, reader: &mut dyn LogReader) -> Result<LogCheck, JournalError> {
    let events = reader.events()?;
    let mut failing = Vec::new();
    replay_events(sc, &events, |e, why| {
        failing.push((
            e.seq,
            serde_json::to_string(&e.event).unwrap_or_default(),
            why.to_string(),
        ));
        Ok(())
    })?;
    Ok(LogCheck {
        events: events.len(),
        failing,
        set_aside: reader.set_aside().map(|v| v.len()).unwrap_or(0),
    })
}

/// Sets aside the events of `check` that do not replay (after copying the whole log to
/// `backup`): they move to the log's `set_aside` table with their reason, so the log replays
/// and nothing is deleted. Takes the log's lock: refused while a server runs on it.
pub fn repair_log(at: &Location, check: &LogCheck, backup: &Path) -> Result<(), JournalError> {
    let seqs: Vec<(i64, String)> = check
        .failing
        .iter()
        .map(|(seq, _, why)| (*seq, why.clone()))
        .collect();
    store::set_aside(at, &seqs, backup)?;
    Ok(())
}

impl Journal {
    /// Opens the log at `at` (a SQLite file is locked), replays it, and starts the committer,
    /// which calls `publish` with each committed batch in log order (before the writers are
    /// answered), including the batches other replicas commit to a shared log.
    pub fn open(
        sc: &Scenario,
        at: &Location,
        options: JournalOptions,
        publish: impl Fn(&[Committed]) + Send + 'static,
    ) -> Result<Arc<Journal>, JournalError> {
        let store = store::open_writer(at, &sc.name, options.idempotency_window_s)?;
        let mut reader = store::open_reader(at)?;
        let fleet = replay(sc, reader.as_mut())?;
        let durable = fleet.seq.into();
        let j = Arc::new(Journal {
            core: Mutex::new(Core {
                fleet,
                queue: Vec::new(),
                in_flight: HashSet::new(),
                reader,
                idempotency_window_s: options.idempotency_window_s,
                sync_waiters: Vec::new(),
            }),
            wake: Condvar::new(),
            fault: Mutex::new(None),
            stop: Mutex::new(false),
            committer: Mutex::new(None),
            commits: Default::default(),
            committed: Default::default(),
            durable,
            shared: store.shared(),
        });
        let thread_err = |e| StoreError::LockFile {
            lock: "(committer thread)".into(),
            source: e,
        };
        if let Location::Postgres(url) = at {
            // Other replicas' commits wake the committer, which catches up.
            let weak = Arc::downgrade(&j);
            let url = url.clone();
            std::thread::Builder::new()
                .name("ems-follower".into())
                .spawn(move || {
                    store::postgres::follow(
                        &url,
                        || {
                            if let Some(j) = weak.upgrade() {
                                j.wake();
                            }
                        },
                        || weak.upgrade().is_none_or(|j| j.stopping()),
                    )
                })
                .map_err(thread_err)?;
        }
        let jc = j.clone();
        let handle = std::thread::Builder::new()
            .name("ems-committer".into())
            .spawn(move || jc.commit_loop(store, options, publish))
            .map_err(thread_err)?;
        *j.committer.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(j)
    }

    /// The core lock (a poisoned lock is taken over: every change under it is applied whole or
    /// undone, so the state stays consistent).
    pub fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Clears a fault that the next successful read or write ends.
    fn healthy(&self) {
        let mut f = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        if f.as_ref().is_some_and(|f| !f.sticky) {
            tracing::info!("the event log works again");
            *f = None;
        }
    }

    /// Tells the committer there is work.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Whether other servers append to this log (PostgreSQL).
    pub fn shared(&self) -> bool {
        self.shared
    }

    /// Waits (up to 5 s) until the committer has read the shared log's head, so a write is
    /// validated against every event committed before it was asked. At once on a log nobody
    /// else writes.
    pub async fn sync(&self) {
        if !self.shared {
            return;
        }
        let (tx, rx) = oneshot::channel();
        self.lock().sync_waiters.push(tx);
        self.wake();
        let _ = tokio::time::timeout(Duration::from_secs(5), rx).await;
    }

    /// The storage fault, while writes fail.
    pub fn fault(&self) -> Option<Fault> {
        self.fault.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Transactions committed since the start, and the events they held.
    pub fn commits(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.commits.load(Relaxed), self.committed.load(Relaxed))
    }

    /// The sequence number of the last durable event: every later event is published after
    /// this is read.
    pub fn durable_seq(&self) -> u64 {
        self.durable.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Commits what is queued, stops the committer and waits for it.
    pub fn close(&self) {
        *self.stop.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.notify_all();
        let h = self
            .committer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(h) = h {
            let _ = h.join();
        }
    }

    fn stopping(&self) -> bool {
        *self.stop.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn commit_loop(
        &self,
        mut store: Box<dyn LogWriter>,
        options: JournalOptions,
        publish: impl Fn(&[Committed]),
    ) {
        let mut last_expiry = Instant::now() - Duration::from_secs(3600);
        let shared = store.shared();
        loop {
            let (batch, waiters) = {
                let mut core = self.lock();
                if core.queue.is_empty() && core.sync_waiters.is_empty() {
                    if self.stopping() {
                        drop(core);
                        // Dropping the store releases the lock file.
                        drop(store);
                        return;
                    }
                    core = self
                        .wake
                        .wait_timeout(core, Duration::from_millis(500))
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                (
                    std::mem::take(&mut core.queue),
                    std::mem::take(&mut core.sync_waiters),
                )
            };
            // Writers waiting to validate against the head: this iteration's read or commit
            // starts after they asked.
            let release = |waiters: Vec<oneshot::Sender<()>>| {
                for w in waiters {
                    let _ = w.send(());
                }
            };
            if batch.is_empty() {
                // Woken by another replica's commit or a writer, or every half second: follow
                // the log.
                if shared {
                    self.catch_up(store.as_mut(), &publish);
                }
                release(waiters);
                continue;
            }
            let appends: Vec<Append> = batch.iter().map(|p| p.append.clone()).collect();
            match store.append(&appends) {
                Ok(()) => {
                    {
                        let mut core = self.lock();
                        for p in &batch {
                            if let Some(k) = &p.key {
                                core.in_flight.remove(k);
                            }
                        }
                    }
                    self.healthy();
                    {
                        use std::sync::atomic::Ordering::Relaxed;
                        self.commits.fetch_add(1, Relaxed);
                        self.committed.fetch_add(batch.len() as u64, Relaxed);
                    }
                    if let Some(p) = batch.last() {
                        self.durable
                            .store(p.append.seq, std::sync::atomic::Ordering::SeqCst);
                    }
                    let committed: Vec<Committed> = batch
                        .iter()
                        .map(|p| Committed {
                            seq: p.append.seq,
                            actor: p.append.actor.clone(),
                            event: p.event.clone(),
                            incidents: p.incidents.clone(),
                        })
                        .collect();
                    publish(&committed);
                    for p in batch {
                        let _ = p.done.send(Ok(p.append.seq));
                    }
                }
                Err(e) => {
                    let follow: Option<Follow> = if shared {
                        Some((store.as_mut(), &publish))
                    } else {
                        None
                    };
                    self.take_back(batch, e, follow);
                }
            }
            release(waiters);
            if last_expiry.elapsed() > Duration::from_secs(60) {
                last_expiry = Instant::now();
                let before = Utc::now().timestamp() - options.idempotency_window_s;
                match store.expire_idempotency(before) {
                    Ok(n) if n > 0 => tracing::info!("expired {n} idempotency records"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!("idempotency records not expired: {e}"),
                }
            }
        }
    }

    /// Applies and publishes the events other replicas appended after the last durable one,
    /// while nothing of ours is queued (a queued write made on the old state will conflict,
    /// and [`Journal::take_back`] catches up).
    fn catch_up(&self, store: &mut dyn LogWriter, publish: &impl Fn(&[Committed])) {
        loop {
            let (committed, more) = {
                let mut core = self.lock();
                if !core.queue.is_empty() {
                    return;
                }
                self.pull(&mut core, store)
            };
            if !committed.is_empty() {
                publish(&committed);
            }
            if !more {
                return;
            }
        }
    }

    /// Under the core lock, with nothing of ours applied beyond the durable state: reads the
    /// next events after it from the log, applies them, and returns them (to publish once the
    /// lock is released) and whether there may be more.
    fn pull(&self, core: &mut Core, store: &mut dyn LogWriter) -> (Vec<Committed>, bool) {
        const CHUNK: usize = 500;
        let after = core.fleet.seq;
        let events = match store.events_after(after as i64, CHUNK) {
            Ok(e) => {
                self.healthy();
                e
            }
            Err(e) => {
                // The shared log cannot be read: writes cannot be validated against its head
                // either, so the replica says it is degraded.
                let mut f = self.fault.lock().unwrap_or_else(|p| p.into_inner());
                if f.is_none() {
                    tracing::warn!("following the log: {e}");
                }
                let (since, failed) = f
                    .as_ref()
                    .map_or((Utc::now(), 0), |f| (f.since, f.failed_writes));
                let sticky = f.as_ref().is_some_and(|f| f.sticky);
                if !sticky {
                    *f = Some(Fault {
                        reason: format!("the event log cannot be read: {e}"),
                        since,
                        failed_writes: failed,
                        sticky: false,
                    });
                }
                return (Vec::new(), false);
            }
        };
        let mut committed = Vec::with_capacity(events.len());
        for e in &events {
            if let Err(why) = core.fleet.validate(&e.event, DateTime::<Utc>::MAX_UTC) {
                // Every replica validates before appending, so this is a log written by another
                // scenario or another version: stop following, loudly.
                let reason = format!(
                    "event {} of the shared log does not apply here: {why}; this replica \
                     stopped following the log (restart it)",
                    e.seq
                );
                tracing::error!("{reason}");
                *self.fault.lock().unwrap_or_else(|p| p.into_inner()) = Some(Fault {
                    reason,
                    since: Utc::now(),
                    failed_writes: 0,
                    sticky: true,
                });
                return (committed, false);
            }
            let undo = core.fleet.apply(&e.event);
            core.fleet.seq = e.seq as u64;
            self.durable
                .store(core.fleet.seq, std::sync::atomic::Ordering::SeqCst);
            let incidents = undo
                .incident_ids()
                .filter_map(|id| core.fleet.incidents.get(&id).cloned())
                .collect();
            committed.push(Committed {
                seq: e.seq as u64,
                actor: e.actor.clone().unwrap_or_default(),
                event: e.event.clone(),
                incidents,
            });
        }
        let more = events.len() == CHUNK;
        (committed, more)
    }

    /// A failed commit: every write not yet durable (the batch, and what was queued behind it,
    /// which may depend on it) is undone newest first and told why.
    fn take_back(&self, batch: Vec<Pending>, e: StoreError, shared: Option<Follow>) {
        let reason = match &e {
            StoreError::Sqlite { source, .. } => source.to_string(),
            other => other.to_string(),
        };
        let retry = e.is_conflict();
        if retry {
            tracing::debug!("{} change(s) taken back to retry: {e}", batch.len());
        } else {
            tracing::error!("write failed, {} change(s) taken back: {e}", batch.len());
        }
        let fault = WriteFault {
            reason: reason.clone(),
            retry,
        };
        let (waiting, pulled, publish) = {
            let mut core = self.lock();
            let later = std::mem::take(&mut core.queue);
            let all: Vec<Pending> = batch.into_iter().chain(later).collect();
            for p in all.iter().rev() {
                if let Some(k) = &p.key {
                    core.in_flight.remove(k);
                }
            }
            let mut waiting = Vec::with_capacity(all.len());
            for p in all.into_iter().rev() {
                core.fleet.undo(p.undo);
                waiting.push(p.done);
            }
            // A shared log: another replica's events (or, after a commit whose outcome was
            // lost with the connection, our own) may be there; caught up before the writers
            // hear, so a retry builds on the new state.
            let mut pulled = Vec::new();
            let mut publish = None;
            if let Some((store, p)) = shared {
                loop {
                    let (c, more) = self.pull(&mut core, &mut *store);
                    pulled.extend(c);
                    if !more {
                        break;
                    }
                }
                publish = Some(p);
            }
            (waiting, pulled, publish)
        };
        if let Some(p) = publish
            && !pulled.is_empty()
        {
            p(&pulled);
        }
        let failed = waiting.len() as u64;
        for done in waiting {
            let _ = done.send(Err(fault.clone()));
        }
        if retry {
            // Not a fault: the log is healthy, another replica was first.
            return;
        }
        let mut f = self.fault.lock().unwrap_or_else(|p| p.into_inner());
        let since = f.as_ref().map_or_else(Utc::now, |f| f.since);
        let before = f.as_ref().map_or(0, |f| f.failed_writes);
        *f = Some(Fault {
            reason,
            since,
            failed_writes: before + failed,
            sticky: f.as_ref().is_some_and(|f| f.sticky),
        });
    }
}
