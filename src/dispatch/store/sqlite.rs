//! The event log in an embedded SQLite database (WAL mode, `synchronous=FULL`), held by one
//! process at a time.
//!
//! This module owns the database file and its lock file: the schema (and its upgrade from older
//! logs), appending a batch of events together with the idempotency records of the requests
//! that caused them (one transaction, one fsync), reading the log back, expiring idempotency
//! records, and setting aside events that no longer replay (`ems serve --check-log --repair`).
//! It must not decide whether an event is valid; [`crate::dispatch::Fleet::validate`] does, before
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

use super::{Append, Dump, LogReader, LogWriter, StoreError, StoredAnswer, StoredEvent};

/// The open log, for writing: one per process ([`Store::open`] locks it).
pub struct Store {
    conn: Connection,
    path: String,
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
    CREATE TABLE IF NOT EXISTS meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
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

/// Up to `limit` events of the log on `conn` (at `path`) above `after`, in order.
fn read_events(
    conn: &Connection,
    path: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let err = sqlite_err(path);
    let actor = has_column(conn, "events", "actor").map_err(&err)?;
    let sql = format!(
        "SELECT seq, body, {} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        if actor { "actor" } else { "NULL" }
    );
    let mut st = conn.prepare_cached(&sql).map_err(&err)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = st
        .query_map(params![after, limit], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .map_err(&err)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, body, actor) = row.map_err(&err)?;
        let event = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
            path: path.to_string(),
            seq,
            message: e.to_string(),
        })?;
        out.push(StoredEvent { seq, event, actor });
    }
    Ok(out)
}

impl Store {
    /// Records that this log belongs to `scenario` (and the schema version), or checks it: a
    /// log of another scenario, or of a newer schema, is refused. Logs written before the
    /// record was kept are adopted.
    pub fn claim(&self, scenario: &str) -> Result<(), StoreError> {
        let err = sqlite_err(&self.path);
        let get = |k: &str| -> Result<Option<String>, StoreError> {
            self.conn
                .query_row("SELECT value FROM meta WHERE key = ?1", params![k], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(&err)
        };
        if let Some(v) = get("schema_version")?
            && !v.parse::<u32>().is_ok_and(|n| n <= super::SCHEMA_VERSION)
        {
            return Err(StoreError::Schema {
                url: self.path.clone(),
                found: v,
                known: super::SCHEMA_VERSION,
            });
        }
        match get("scenario")? {
            Some(found) if found != scenario => Err(StoreError::OtherScenario {
                url: self.path.clone(),
                found,
                expected: scenario.to_string(),
            }),
            _ => self
                .conn
                .execute_batch(&format!(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', '{}');
                     INSERT OR IGNORE INTO meta (key, value) VALUES ('scenario', {});",
                    super::SCHEMA_VERSION,
                    sql_quote(scenario)
                ))
                .map_err(&err),
        }
    }

    /// Records `scenario` as the log's scenario; answers the name it had.
    pub fn relabel(&self, scenario: &str) -> Result<Option<String>, StoreError> {
        let err = sqlite_err(&self.path);
        let old = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'scenario'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(&err)?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('scenario', ?1)",
                params![scenario],
            )
            .map_err(&err)?;
        Ok(old)
    }

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
            _lock: lock,
        })
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

/// `s` as an SQL string literal.
fn sql_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl LogWriter for Store {
    fn append(&mut self, batch: &[Append]) -> Result<(), StoreError> {
        Store::append(self, batch)
    }
    fn expire_idempotency(&mut self, before: i64) -> Result<usize, StoreError> {
        Store::expire_idempotency(self, before)
    }
    fn events_after(&mut self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        read_events(&self.conn, &self.path, after, limit)
    }
    fn shared(&self) -> bool {
        false
    }

    fn import(&mut self, d: &Dump) -> Result<(), StoreError> {
        let err = sqlite_err(&self.path);
        let tx = self.conn.transaction().map_err(&err)?;
        for (seq, recorded, body, actor) in &d.events {
            tx.execute(
                "INSERT INTO events (seq, recorded, body, actor) VALUES (?1, ?2, ?3, ?4)",
                params![seq, recorded, body, actor],
            )
            .map_err(&err)?;
        }
        for (p, r, k, req, status, resp, seq, created) in &d.idempotency {
            tx.execute(
                "INSERT INTO idempotency
                 (principal, route, key, request, status, response, seq, created)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![p, r, k, req, status, resp, seq, created],
            )
            .map_err(&err)?;
        }
        for (seq, recorded, body, actor, reason, at) in &d.set_aside {
            tx.execute(
                "INSERT INTO set_aside (seq, recorded, body, actor, reason, set_aside_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![seq, recorded, body, actor, reason, at],
            )
            .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }
}

impl LogReader for Reader {
    fn events_after(&mut self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        Reader::events_after(self, after, limit)
    }
    fn last_seq(&mut self) -> Result<i64, StoreError> {
        Reader::last_seq(self)
    }
    fn answer(
        &mut self,
        principal: &str,
        route: &str,
        key: &str,
        since: i64,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        Reader::answer(self, principal, route, key, since)
    }
    fn set_aside(&mut self) -> Result<Vec<(i64, String, String)>, StoreError> {
        Reader::set_aside(self)
    }

    fn dump(&mut self) -> Result<Dump, StoreError> {
        let err = sqlite_err(&self.path);
        // One read transaction: every table as of one moment, while a server may append (a
        // reader never blocks the writer in WAL mode).
        let tx = self.conn.transaction().map_err(&err)?;
        let c = &*tx;
        let actor = has_column(c, "events", "actor").map_err(&err)?;
        let created = has_column(c, "idempotency", "created").map_err(&err)?;
        let meta = c
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(&err)?
            > 0;
        let scenario = if meta {
            c.query_row("SELECT value FROM meta WHERE key = 'scenario'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(&err)?
        } else {
            None
        };
        // Every row of `sql` as a tuple of its columns.
        fn all<T>(c: &Connection, sql: &str) -> rusqlite::Result<Vec<T>>
        where
            T: for<'a> TryFrom<&'a rusqlite::Row<'a>, Error = rusqlite::Error>,
        {
            c.prepare(sql)?.query_map([], |r| T::try_from(r))?.collect()
        }
        Ok(Dump {
            scenario,
            events: all(
                c,
                &format!(
                    "SELECT seq, recorded, body, {} FROM events ORDER BY seq",
                    if actor { "actor" } else { "NULL" }
                ),
            )
            .map_err(&err)?,
            idempotency: all(
                c,
                &format!(
                    "SELECT principal, route, key, request, status, response, seq, {} \
                     FROM idempotency ORDER BY seq",
                    if created { "created" } else { "0" }
                ),
            )
            .map_err(&err)?,
            set_aside: all(
                c,
                "SELECT seq, recorded, body, actor, reason, set_aside_at FROM set_aside \
                 ORDER BY seq",
            )
            .map_err(&err)?,
        })
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
        read_events(&self.conn, &self.path, after, limit)
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
