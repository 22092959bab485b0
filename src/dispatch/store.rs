//! The durable event log: an embedded SQLite database (WAL mode, `synchronous=FULL`), held by
//! one process at a time.
//!
//! This module owns the database file and its lock file: the schema (and its upgrade from older
//! logs), appending a batch of events together with the idempotency records of the requests
//! that caused them (one transaction, one fsync), reading the log back, expiring idempotency
//! records, and setting aside events that no longer replay (`ems serve --check-log --repair`).
//! It must not decide whether an event is valid; [`super::Fleet::validate`] does, before
//! anything is written.
//!
//! # The lock
//! [`Store::open`] takes an exclusive advisory lock (`flock`) on `<db>.lock` and writes the
//! holder's pid and start time into it. A second server on the same log is refused with that
//! holder's description. The operating system drops the lock when the process ends, `kill -9`
//! included, so a crash never leaves a stale lock.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::Event;

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

/// The open log, for writing: one per process ([`Store::open`] locks it).
pub struct Store {
    conn: Connection,
    path: String,
    file: PathBuf,
    /// Held while the store lives; the OS releases it on exit.
    _lock: File,
}

fn sqlite_err(path: &str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::Sqlite {
        path: path.to_string(),
        source: e,
    }
}

/// The lock file beside a log.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".lock");
    PathBuf::from(s)
}

/// Takes the exclusive lock on `db`'s lock file and records this process as its holder.
fn take_lock(db: &Path) -> Result<File, StoreError> {
    let lock = lock_path(db);
    let lock_name = lock.display().to_string();
    let io = |e| StoreError::LockFile {
        lock: lock_name.clone(),
        source: e,
    };
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(io)?;
    match f.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = f.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(StoreError::Locked {
                path: db.display().to_string(),
                lock: lock_name,
                holder: if holder.is_empty() {
                    "a process that has not written its pid yet".into()
                } else {
                    holder.to_string()
                },
            });
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    let me = format!(
        "pid {} on {}, started {}",
        std::process::id(),
        hostname(),
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    f.set_len(0).map_err(io)?;
    f.rewind().map_err(io)?;
    f.write_all(me.as_bytes()).map_err(io)?;
    f.flush().map_err(io)?;
    Ok(f)
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "this host".into())
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        recorded TEXT NOT NULL,
        body TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS idempotency (
        principal TEXT NOT NULL,
        route TEXT NOT NULL,
        key TEXT NOT NULL,
        request TEXT NOT NULL,
        status INTEGER NOT NULL,
        response TEXT NOT NULL,
        seq INTEGER NOT NULL REFERENCES events(seq),
        PRIMARY KEY (principal, route, key)
    );
    CREATE TABLE IF NOT EXISTS set_aside (
        seq INTEGER PRIMARY KEY,
        recorded TEXT NOT NULL,
        body TEXT NOT NULL,
        actor TEXT,
        reason TEXT NOT NULL,
        set_aside_at TEXT NOT NULL
    );";

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    let mut st = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = st.query_map([], |r| r.get::<_, String>(1))?;
    for n in names {
        if n? == column {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Creates the tables, and upgrades a log written before the actor and the idempotency
/// records' age were kept.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(SCHEMA)?;
    if !has_column(conn, "events", "actor")? {
        conn.execute_batch("ALTER TABLE events ADD COLUMN actor TEXT")?;
    }
    if !has_column(conn, "idempotency", "created")? {
        conn.execute_batch(
            "ALTER TABLE idempotency ADD COLUMN created INTEGER NOT NULL DEFAULT 0;
             UPDATE idempotency SET created = coalesce(
                 (SELECT unixepoch(recorded) FROM events WHERE events.seq = idempotency.seq), 0);",
        )?;
    }
    conn.execute_batch("CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created)")
}

impl Store {
    /// Locks and opens (or creates) the log at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let lock = take_lock(path)?;
        let name = path.display().to_string();
        let err = sqlite_err(&name);
        let conn = Connection::open(path).map_err(&err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(&err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(&err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(&err)?;
        migrate(&conn).map_err(&err)?;
        Ok(Store {
            conn,
            path: name.clone(),
            file: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// A read-only connection to the same log (for replay, resuming event streams and
    /// idempotency lookups while this store writes).
    pub fn reader(&self) -> Result<Reader, StoreError> {
        Reader::open(&self.file)
    }

    /// Appends a batch of events (with their idempotency records) in one durable transaction:
    /// all or none.
    pub fn append(&mut self, batch: &[Append]) -> Result<(), StoreError> {
        let err = sqlite_err(&self.path);
        let tx = self.conn.transaction().map_err(&err)?;
        {
            let mut ev = tx
                .prepare_cached(
                    "INSERT INTO events (seq, recorded, body, actor) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(&err)?;
            let mut idem = tx
                .prepare_cached(
                    "INSERT INTO idempotency
                     (principal, route, key, request, status, response, seq, created)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                     ON CONFLICT (principal, route, key) DO UPDATE SET
                     request = excluded.request, status = excluded.status,
                     response = excluded.response, seq = excluded.seq, created = excluded.created",
                )
                .map_err(&err)?;
            for a in batch {
                ev.execute(params![
                    a.seq as i64,
                    a.recorded.to_rfc3339(),
                    a.body,
                    a.actor
                ])
                .map_err(&err)?;
                if let Some(i) = &a.idempotency {
                    idem.execute(params![
                        i.principal,
                        i.route,
                        i.key,
                        i.request,
                        i.status,
                        i.body,
                        a.seq as i64,
                        a.recorded.timestamp()
                    ])
                    .map_err(&err)?;
                }
            }
        }
        tx.commit().map_err(&err)
    }

    /// Deletes the idempotency records made before `before` (seconds since 1970); returns how
    /// many.
    pub fn expire_idempotency(&mut self, before: i64) -> Result<usize, StoreError> {
        self.conn
            .execute(
                "DELETE FROM idempotency WHERE created < ?1",
                params![before],
            )
            .map_err(sqlite_err(&self.path))
    }

    /// Moves the events `seqs` (with the reason each does not replay) from the log into the
    /// `set_aside` table, after copying the whole database to `backup`; one transaction.
    pub fn set_aside(&mut self, seqs: &[(i64, String)], backup: &Path) -> Result<(), StoreError> {
        let err = sqlite_err(&self.path);
        self.conn
            .execute("VACUUM INTO ?1", params![backup.display().to_string()])
            .map_err(&err)?;
        let now = chrono::Utc::now().to_rfc3339();
        let tx = self.conn.transaction().map_err(&err)?;
        for (seq, reason) in seqs {
            tx.execute(
                "INSERT INTO set_aside (seq, recorded, body, actor, reason, set_aside_at)
                 SELECT seq, recorded, body, actor, ?2, ?3 FROM events WHERE seq = ?1",
                params![seq, reason, now],
            )
            .map_err(&err)?;
            tx.execute("DELETE FROM idempotency WHERE seq = ?1", params![seq])
                .map_err(&err)?;
            tx.execute("DELETE FROM events WHERE seq = ?1", params![seq])
                .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }
}

/// A read-only connection to a log (no lock: readers never block the writer in WAL mode).
pub struct Reader {
    conn: Connection,
    path: String,
}

impl Reader {
    /// Opens `path` read-only; the log must exist.
    pub fn open(path: &Path) -> Result<Reader, StoreError> {
        let name = path.display().to_string();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(sqlite_err(&name))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite_err(&name))?;
        Ok(Reader { conn, path: name })
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        }
    }

    /// Every event in order.
    pub fn events(&self) -> Result<Vec<StoredEvent>, StoreError> {
        self.events_after(0, usize::MAX)
    }

    /// Up to `limit` events with a sequence number above `after`, in order.
    pub fn events_after(&self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let actor = has_column(&self.conn, "events", "actor").map_err(|e| self.err(e))?;
        let sql = format!(
            "SELECT seq, body, {} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            if actor { "actor" } else { "NULL" }
        );
        let mut st = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = st
            .query_map(params![after, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body, actor) = row.map_err(|e| self.err(e))?;
            let event = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                path: self.path.clone(),
                seq,
                message: e.to_string(),
            })?;
            out.push(StoredEvent { seq, event, actor });
        }
        Ok(out)
    }

    /// The highest sequence number in the log (0 when empty).
    pub fn last_seq(&self) -> Result<i64, StoreError> {
        self.conn
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// The first answer to an idempotent request made at or after `since` (seconds since
    /// 1970), if there was one.
    pub fn answer(
        &self,
        principal: &str,
        route: &str,
        key: &str,
        since: i64,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        self.conn
            .prepare_cached(
                "SELECT request, status, response FROM idempotency
                 WHERE principal = ?1 AND route = ?2 AND key = ?3 AND created >= ?4",
            )
            .and_then(|mut st| {
                st.query_row(params![principal, route, key, since], |r| {
                    Ok(StoredAnswer {
                        request: r.get(0)?,
                        status: r.get(1)?,
                        body: r.get(2)?,
                    })
                })
                .optional()
            })
            .map_err(|e| self.err(e))
    }

    /// Events set aside by a repair, as (seq, body, reason).
    pub fn set_aside(&self) -> Result<Vec<(i64, String, String)>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT seq, body, reason FROM set_aside ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}
