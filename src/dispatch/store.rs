//! The durable event log: an embedded SQLite database (WAL mode, `synchronous=FULL`).
//!
//! This module owns the database file: its schema, appending an event together with the
//! idempotency record of the request that caused it (one transaction, committed before the
//! caller answers), and reading the log back for replay. It must not decide whether an event
//! is valid; [`super::Fleet::validate`] does, before anything is written.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};

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
pub struct Idempotency<'a> {
    pub principal: &'a str,
    pub route: &'a str,
    pub key: &'a str,
    pub request: &'a str,
    pub status: u16,
    pub body: &'a str,
}

/// The open log.
pub struct Store {
    conn: Connection,
    path: String,
}

impl Store {
    /// Opens (or creates) the log at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let name = path.display().to_string();
        let err = |e| StoreError::Sqlite {
            path: name.clone(),
            source: e,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS events (
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
            );",
        )
        .map_err(err)?;
        Ok(Store { conn, path: name })
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        }
    }

    /// Every event in order, with its sequence number.
    pub fn events(&self) -> Result<Vec<(i64, Event)>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT seq, body FROM events ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, body) = row.map_err(|e| self.err(e))?;
            let ev = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                path: self.path.clone(),
                seq,
                message: e.to_string(),
            })?;
            out.push((seq, ev));
        }
        Ok(out)
    }

    /// The first answer to an idempotent request, if there was one.
    pub fn answer(
        &self,
        principal: &str,
        route: &str,
        key: &str,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        self.conn
            .query_row(
                "SELECT request, status, response FROM idempotency
                 WHERE principal = ?1 AND route = ?2 AND key = ?3",
                params![principal, route, key],
                |r| {
                    Ok(StoredAnswer {
                        request: r.get(0)?,
                        status: r.get(1)?,
                        body: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Appends an event (and the request's idempotency record) in one durable transaction;
    /// returns its sequence number.
    pub fn append(&mut self, ev: &Event, idem: Option<&Idempotency>) -> Result<i64, StoreError> {
        let body = serde_json::to_string(ev).map_err(|e| StoreError::Corrupt {
            path: self.path.clone(),
            seq: 0,
            message: e.to_string(),
        })?;
        let path = self.path.clone();
        let err = |e| StoreError::Sqlite {
            path: path.clone(),
            source: e,
        };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute(
            "INSERT INTO events (recorded, body) VALUES (?1, ?2)",
            params![chrono::Utc::now().to_rfc3339(), body],
        )
        .map_err(err)?;
        let seq = tx.last_insert_rowid();
        if let Some(i) = idem {
            tx.execute(
                "INSERT INTO idempotency (principal, route, key, request, status, response, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    i.principal,
                    i.route,
                    i.key,
                    i.request,
                    i.status,
                    i.body,
                    seq
                ],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(seq)
    }
}
