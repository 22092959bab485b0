//! The durable event log behind one interface: an embedded SQLite file for one machine, or
//! PostgreSQL for several `ems serve` replicas on one database.
//!
//! This module owns the log's interface ([`LogWriter`], [`LogReader`]), where a log lives
//! ([`Location`]: a file path or a `postgres://` URL), the schema version and the scenario a
//! log belongs to, and the two implementations: [`sqlite`] and [`postgres`]. It must not decide
//! whether an event is valid ([`super::Fleet::validate`] does, before anything is written) nor
//! keep fleet state ([`super::journal`] does).
//!
//! # Concurrency
//! SQLite has one writer, the process holding the file's lock. PostgreSQL may have several:
//! each append is one transaction that inserts the events at the sequence numbers the replica
//! computed; the sequence number is the primary key, so a replica that was behind fails with
//! [`StoreError::Conflict`] instead of writing a fork (optimistic concurrency), catches up and
//! tries again. An idempotency key answered by another replica inside the window is a conflict
//! too, so a key is answered once across replicas.

pub mod postgres;
pub mod sqlite;

pub use sqlite::{Reader, Store, lock_path};

use std::path::{Path, PathBuf};

use super::Event;

/// The schema version this program writes and reads (1: logs before the `meta` table, which
/// are upgraded on open).
pub const SCHEMA_VERSION: u32 = 2;

/// The log cannot be opened, read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed: check that the file is a database this program wrote, that its folder is
    /// writable, and that the disk has space.
    #[error("event log {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    /// A stored event does not decode: the file was written by an incompatible version or
    /// edited by hand.
    #[error("event log {path}: event {seq} does not decode: {message}")]
    Corrupt {
        path: String,
        seq: i64,
        message: String,
    },
    /// Another process holds the log: stop it, or give this one its own `--db`.
    #[error(
        "event log {path} is in use by another ems serve ({holder}; lock file {lock}): stop that \
         server first, or give this one its own --db"
    )]
    Locked {
        path: String,
        lock: String,
        holder: String,
    },
    /// The lock file cannot be created or locked: check that the folder exists and is
    /// writable.
    #[error(
        "event log {lock}: cannot create or lock this lock file beside the log (check that the \
         folder exists and is writable): {source}"
    )]
    LockFile {
        lock: String,
        #[source]
        source: std::io::Error,
    },
    /// PostgreSQL failed or cannot be reached: check the URL, that the server runs and accepts
    /// this user, and the server's log.
    #[error("event log {url}: {message}")]
    Postgres { url: String, message: String },
    /// Another replica appended first (the sequence number or the idempotency key was taken):
    /// catch up and try again.
    #[error("event log {url}: another server appended first ({what}); caught up, try again")]
    Conflict { url: String, what: String },
    /// The log was written for another scenario.
    #[error(
        "event log {url} belongs to scenario `{found}`, not `{expected}`: give this scenario its \
         own database, or, if `{found}` was renamed `{expected}`, record the new name with `ems \
         db relabel`"
    )]
    OtherScenario {
        url: String,
        found: String,
        expected: String,
    },
    /// A migration cannot be made (the message says why).
    #[error("ems db migrate: {0}")]
    Migrate(String),
    /// Other clients are connected to a shared log that must be changed alone: stop every
    /// `ems serve` on it first.
    #[error(
        "event log {url} is in use ({sessions} other connections: {who}): stop every ems serve \
         on it before {what}"
    )]
    InUse {
        url: String,
        sessions: i64,
        /// Who: "2 × ems serve from 10.0.0.2", ...
        who: String,
        what: String,
    },
    /// The log's schema is not one this program knows.
    #[error(
        "event log {url} has schema version {found}; this ems knows version {known}: use the ems \
         that wrote it, or `ems db migrate` from a copy it can read"
    )]
    Schema {
        url: String,
        found: String,
        known: u32,
    },
}

impl StoreError {
    /// Whether the write lost a race with another replica (retry after catching up).
    pub fn is_conflict(&self) -> bool {
        matches!(self, StoreError::Conflict { .. })
    }
}

/// The first answer given to an idempotent request.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnswer {
    /// The request body it answered.
    pub request: String,
    pub status: u16,
    pub body: String,
}

/// An idempotency record to write with an event: who asked, the route, their key, the request
/// body, and the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Idempotency {
    pub principal: String,
    pub route: String,
    pub key: String,
    pub request: String,
    pub status: u16,
    pub body: String,
}

/// One event to append: its sequence number (the fleet's, after applying it), its JSON, the
/// token name that caused it, and the request's idempotency record.
#[derive(Debug, Clone)]
pub struct Append {
    pub seq: u64,
    pub body: String,
    pub actor: String,
    pub recorded: chrono::DateTime<chrono::Utc>,
    pub idempotency: Option<Idempotency>,
}

/// A stored event as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: Event,
    /// The token name that caused it (`None` in logs written before it was recorded).
    pub actor: Option<String>,
}

/// An idempotency record as stored: (principal, route, key, request, status, response, seq,
/// created).
pub type IdempotencyRow = (String, String, String, String, i64, String, i64, i64);

/// A whole log as stored, for moving it between stores ([`migrate`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dump {
    /// The scenario the log belongs to (`None`: a log from before this was recorded).
    pub scenario: Option<String>,
    /// (seq, recorded, body, actor)
    pub events: Vec<(i64, String, String, Option<String>)>,
    pub idempotency: Vec<IdempotencyRow>,
    /// (seq, recorded, body, actor, reason, set_aside_at)
    pub set_aside: Vec<(i64, String, String, Option<String>, String, String)>,
}

/// Appends to a log.
pub trait LogWriter: Send {
    /// Appends a batch of events (with their idempotency records) in one durable transaction:
    /// all or none. [`StoreError::Conflict`] when another replica appended first.
    fn append(&mut self, batch: &[Append]) -> Result<(), StoreError>;
    /// Deletes the idempotency records made before `before` (seconds since 1970); returns how
    /// many.
    fn expire_idempotency(&mut self, before: i64) -> Result<usize, StoreError>;
    /// Up to `limit` events with a sequence number above `after`, in order (a replica catching
    /// up on its writer's connection).
    fn events_after(&mut self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// Whether other processes may append to the same log (then the journal follows it).
    fn shared(&self) -> bool;
    /// Writes a whole log into this empty one in one transaction, keeping sequence numbers,
    /// times, actors, idempotency records and set-aside events.
    fn import(&mut self, dump: &Dump) -> Result<(), StoreError>;
}

/// Reads a log.
pub trait LogReader: Send {
    /// Up to `limit` events with a sequence number above `after`, in order.
    fn events_after(&mut self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// Every event in order.
    fn events(&mut self) -> Result<Vec<StoredEvent>, StoreError> {
        self.events_after(0, usize::MAX)
    }
    /// The highest sequence number in the log (0 when empty).
    fn last_seq(&mut self) -> Result<i64, StoreError>;
    /// The first answer to an idempotent request made at or after `since` (seconds since
    /// 1970), if there was one.
    fn answer(
        &mut self,
        principal: &str,
        route: &str,
        key: &str,
        since: i64,
    ) -> Result<Option<StoredAnswer>, StoreError>;
    /// Events set aside by a repair, as (seq, body, reason).
    fn set_aside(&mut self) -> Result<Vec<(i64, String, String)>, StoreError>;
    /// The whole log as stored.
    fn dump(&mut self) -> Result<Dump, StoreError>;
}

/// Where a log lives: a SQLite file, or a PostgreSQL database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL (or `key=value` connection string after
    /// `postgres:`).
    Postgres(String),
}

impl Location {
    /// A path, or a PostgreSQL URL.
    pub fn parse(s: &str) -> Location {
        let t = s.trim();
        if t.starts_with("postgres://") || t.starts_with("postgresql://") {
            Location::Postgres(t.to_string())
        } else {
            Location::Sqlite(PathBuf::from(s))
        }
    }

    /// The location for messages (a URL without its password).
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => postgres::redact(url),
        }
    }

    /// The SQLite file, if it is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A `postgres://` (or `postgresql://`) URL is a PostgreSQL log; anything else a SQLite file.
///
/// ```
/// use ems::dispatch::store::Location;
/// let pg: Location = "postgres://ems@db.local/ems".parse().unwrap();
/// assert!(matches!(pg, Location::Postgres(_)) && pg.path().is_none());
/// let file: Location = "ems-dispatch.sqlite".parse().unwrap();
/// assert_eq!(file.path(), Some(std::path::Path::new("ems-dispatch.sqlite")));
/// ```
impl std::str::FromStr for Location {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Location, Self::Err> {
        Ok(Location::parse(s))
    }
}

impl<'de> serde::Deserialize<'de> for Location {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Location, D::Error> {
        Ok(Location::parse(&String::deserialize(d)?))
    }
}

/// Opens the log at `at` for writing, for scenario `scenario` (created if new; refused if it
/// belongs to another scenario or has an unknown schema). `window_s`: how long an idempotency
/// key stays answered (PostgreSQL refuses a second answer inside it).
pub fn open_writer(
    at: &Location,
    scenario: &str,
    window_s: i64,
) -> Result<Box<dyn LogWriter>, StoreError> {
    Ok(match at {
        Location::Sqlite(p) => {
            let s = Store::open(p)?;
            s.claim(scenario)?;
            Box::new(s)
        }
        Location::Postgres(url) => Box::new(postgres::PgStore::open(url, scenario, window_s)?),
    })
}

/// Opens a reader of the log at `at` (which must exist).
pub fn open_reader(at: &Location) -> Result<Box<dyn LogReader>, StoreError> {
    Ok(match at {
        Location::Sqlite(p) => Box::new(Reader::open(p)?),
        Location::Postgres(url) => Box::new(postgres::PgReader::open(url)?),
    })
}

/// Readers of one log kept open between uses, so that many clients catching up (event streams
/// resuming after a replica restart) share a few connections instead of opening one each.
/// A reader that failed is dropped, not kept; at most `keep` idle readers stay open. It does
/// not bound how many are in use at once: callers do (the stream takes a permit first).
pub struct ReaderPool {
    at: Location,
    keep: usize,
    idle: std::sync::Mutex<Vec<Box<dyn LogReader>>>,
}

impl ReaderPool {
    /// A pool for the log at `at`, keeping up to `keep` idle readers.
    pub fn new(at: Location, keep: usize) -> ReaderPool {
        ReaderPool {
            at,
            keep,
            idle: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on an idle reader, or on a new one; the reader goes back to the pool unless
    /// `f` failed (it may be broken: the next use opens a fresh one).
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut dyn LogReader) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let taken = self.idle.lock().ok().and_then(|mut v| v.pop());
        let mut reader = match taken {
            Some(r) => r,
            None => open_reader(&self.at)?,
        };
        let out = f(reader.as_mut())?;
        if let Ok(mut v) = self.idle.lock()
            && v.len() < self.keep
        {
            v.push(reader);
        }
        Ok(out)
    }
}

/// Copies the log at `from` into the new SQLite file `to` while servers keep writing to it:
/// every table read in one snapshot (one read transaction), so the copy holds every event
/// acknowledged before it started, with its idempotency record, and replays. `to` must not
/// exist; on failure nothing is left there. Restore with [`migrate`] (or serve the copy).
pub fn backup(from: &Location, to: &Path) -> Result<Migrated, StoreError> {
    if from.path() == Some(to) {
        return Err(StoreError::Migrate(format!(
            "{from}: the log and its backup are the same file"
        )));
    }
    if let Some(p) = from.path()
        && !p.exists()
    {
        return Err(StoreError::Migrate(format!("{from}: no such file")));
    }
    if to.exists() {
        return Err(StoreError::Migrate(format!(
            "{}: already exists; back up into a new file",
            to.display()
        )));
    }
    let dump = open_reader(from)?.dump()?;
    let Some(scenario) = dump.scenario.clone() else {
        return Err(StoreError::Migrate(format!(
            "{from} does not record its scenario (written by an older ems): start `ems serve` \
             on it once, which records it"
        )));
    };
    let written = import_into(&dump, &Location::Sqlite(to.to_path_buf()), &scenario);
    // The copy's lock file is not needed once it is written.
    let _ = std::fs::remove_file(lock_path(to));
    if written.is_err() {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = to.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(PathBuf::from(p));
        }
    }
    written
}

/// Moves the events `seqs` (with the reason each does not replay) to the log's set-aside
/// table, after a full copy of the log to the SQLite file `backup`. A SQLite log is locked
/// meanwhile; a PostgreSQL log must have no other client connected.
pub fn set_aside(at: &Location, seqs: &[(i64, String)], backup: &Path) -> Result<(), StoreError> {
    match at {
        Location::Sqlite(p) => Store::open(p)?.set_aside(seqs, backup),
        Location::Postgres(url) => {
            postgres::check_not_in_use(url, "--repair")?;
            migrate(at, &Location::Sqlite(backup.to_path_buf()), None)?;
            postgres::set_aside(url, seqs)
        }
    }
}

/// Records `scenario` as the name of the scenario the log belongs to (after the scenario was
/// renamed); answers the name it had. A SQLite log is locked meanwhile; a PostgreSQL log must
/// have no other client connected.
pub fn relabel(at: &Location, scenario: &str) -> Result<Option<String>, StoreError> {
    match at {
        Location::Sqlite(p) => {
            if !p.exists() {
                return Err(StoreError::Migrate(format!("{at}: no such file")));
            }
            Store::open(p)?.relabel(scenario)
        }
        Location::Postgres(url) => postgres::relabel(url, scenario),
    }
}

/// What [`migrate`] moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    pub events: usize,
    pub idempotency: usize,
    pub set_aside: usize,
    pub last_seq: i64,
}

/// Copies the log at `from` into the empty log at `to` (created if new), keeping sequence
/// numbers and idempotency records. `scenario` names the log's scenario when the source does
/// not record it. A SQLite source or target is locked meanwhile, so no server writes to it.
pub fn migrate(
    from: &Location,
    to: &Location,
    scenario: Option<&str>,
) -> Result<Migrated, StoreError> {
    if from == to {
        return Err(StoreError::Migrate(format!(
            "{from}: the source and the target are the same log"
        )));
    }
    // Nothing may append while it is copied: a SQLite source's lock is held, a PostgreSQL
    // source must have no other client.
    let _held = match from {
        Location::Sqlite(p) => {
            if !p.exists() {
                return Err(StoreError::Migrate(format!("{from}: no such file")));
            }
            Some(Store::open(p)?)
        }
        Location::Postgres(url) => {
            postgres::check_not_in_use(url, "migrating it")?;
            None
        }
    };
    let dump = open_reader(from)?.dump()?;
    let name = match (&dump.scenario, scenario) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => s.to_string(),
        (None, None) => {
            return Err(StoreError::Migrate(format!(
                "{from} does not record its scenario (written by an older ems): give --scenario"
            )));
        }
    };
    import_into(&dump, to, &name)
}

/// Writes `dump` into the empty log at `to` (created if new), recorded as scenario `name`.
fn import_into(dump: &Dump, to: &Location, name: &str) -> Result<Migrated, StoreError> {
    let mut target = open_writer(to, name, i64::MAX / 4)?;
    if !target.events_after(0, 1)?.is_empty() {
        return Err(StoreError::Migrate(format!(
            "{to} already holds events: migrate into an empty log"
        )));
    }
    target.import(dump)?;
    Ok(Migrated {
        events: dump.events.len(),
        idempotency: dump.idempotency.len(),
        set_aside: dump.set_aside.len(),
        last_seq: dump.events.last().map_or(0, |e| e.0),
    })
}
