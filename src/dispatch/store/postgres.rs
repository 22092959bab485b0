//! The event log in PostgreSQL, shared by several `ems serve` replicas.
//!
//! This module owns the PostgreSQL schema (tables `ems_meta`, `ems_events`, `ems_idempotency`,
//! `ems_set_aside`), appending with optimistic concurrency (see [`super`]), reading back, the
//! `ems_events` notification channel, and reconnecting. It must not keep fleet state.
//!
//! The client is the `postgres` crate (the blocking face of `tokio-postgres`): the journal
//! writes from its own committer thread, so a blocking client fits; pure Rust, no C library.
//! Each connection lives on its own thread ([`Conn`]) and every call is a message to it, so a
//! caller inside the HTTP server's async runtime never runs the client's own runtime on a
//! runtime thread. A broken connection is dropped and made again on the next call; calls
//! during an outage fail at once (the connection is refused) or after the connect timeout.

use std::sync::mpsc;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, NoTls};

use super::{Append, Dump, LogReader, LogWriter, StoreError, StoredAnswer, StoredEvent};

/// How long a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// The notification channel a commit signals (payload: the last sequence number).
pub const CHANNEL: &str = "ems_events";

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS ems_meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS ems_events (
        seq BIGINT PRIMARY KEY,
        recorded TEXT NOT NULL,
        body TEXT NOT NULL,
        actor TEXT
    );
    CREATE TABLE IF NOT EXISTS ems_idempotency (
        principal TEXT NOT NULL,
        route TEXT NOT NULL,
        key TEXT NOT NULL,
        request TEXT NOT NULL,
        status INTEGER NOT NULL,
        response TEXT NOT NULL,
        seq BIGINT NOT NULL REFERENCES ems_events(seq),
        created BIGINT NOT NULL,
        PRIMARY KEY (principal, route, key)
    );
    CREATE INDEX IF NOT EXISTS ems_idempotency_created ON ems_idempotency(created);
    CREATE TABLE IF NOT EXISTS ems_set_aside (
        seq BIGINT PRIMARY KEY,
        recorded TEXT NOT NULL,
        body TEXT NOT NULL,
        actor TEXT,
        reason TEXT NOT NULL,
        set_aside_at TEXT NOT NULL
    );";

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (auth, host) = match rest.rsplit_once('@') {
        Some((a, h)) => (Some(a), h),
        None => (None, rest),
    };
    // A password in the query string (`?password=...`) is cut too.
    let host = match host.split_once("password=") {
        Some((before, after)) => {
            let tail = after.split_once('&').map_or("", |x| x.1);
            format!(
                "{before}password=***{}{tail}",
                if tail.is_empty() { "" } else { "&" }
            )
        }
        None => host.to_string(),
    };
    match auth {
        Some(a) => match a.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
            None => format!("{scheme}://{a}@{host}"),
        },
        None => format!("{scheme}://{host}"),
    }
}

type Job = Box<dyn FnOnce(&mut Option<Client>) + Send>;

/// One connection on its own thread; calls are messages to it.
pub struct Conn {
    jobs: mpsc::Sender<Job>,
    url: String,
}

fn pg_err(url: &str, e: &postgres::Error) -> StoreError {
    // The server's own message and code where there is one.
    let message = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut m = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(s) = src {
                let t = s.to_string();
                if !m.contains(&t) {
                    m.push_str(": ");
                    m.push_str(&t);
                }
                src = s.source();
            }
            m
        }
    };
    StoreError::Postgres {
        url: url.to_string(),
        message,
    }
}

fn connect(url: &str, shown: &str) -> Result<Client, StoreError> {
    connect_as(url, shown, "ems serve")
}

/// [`connect`], named `name` in `pg_stat_activity` unless the URL names the application.
fn connect_as(url: &str, shown: &str, name: &str) -> Result<Client, StoreError> {
    let mut config: postgres::Config =
        url.parse()
            .map_err(|e: postgres::Error| StoreError::Postgres {
                url: shown.to_string(),
                message: format!("not a PostgreSQL URL: {e}"),
            })?;
    config.connect_timeout(CONNECT_TIMEOUT);
    if config.get_application_name().is_none() {
        config.application_name(name);
    }
    let mut c = config.connect(NoTls).map_err(|e| pg_err(shown, &e))?;
    // A statement that waits this long is an outage, not a slow query.
    c.batch_execute(
        "SET statement_timeout = 10000; SET lock_timeout = 5000; SET client_min_messages = warning",
    )
    .map_err(|e| pg_err(shown, &e))?;
    Ok(c)
}

impl Conn {
    /// Starts the connection's thread and connects once (so a wrong URL or a refused
    /// connection is an error now, not at the first write).
    pub fn open(url: &str) -> Result<Conn, StoreError> {
        let shown = redact(url);
        let (jobs, rx) = mpsc::channel::<Job>();
        let (url_owned, shown_owned) = (url.to_string(), shown.clone());
        std::thread::Builder::new()
            .name("ems-postgres".into())
            .spawn(move || {
                let mut client: Option<Client> = None;
                // Said once per outage, not at every call.
                let mut down = false;
                for job in rx {
                    if client.as_ref().is_some_and(|c| c.is_closed()) {
                        client = None;
                    }
                    if client.is_none() {
                        match connect(&url_owned, &shown_owned) {
                            Ok(c) => {
                                if down {
                                    tracing::info!("{shown_owned}: connected again");
                                }
                                down = false;
                                client = Some(c);
                            }
                            Err(e) => {
                                if !down {
                                    tracing::warn!("{e}");
                                }
                                down = true;
                            }
                        }
                    }
                    job(&mut client);
                }
            })
            .map_err(|e| StoreError::Postgres {
                url: shown.clone(),
                message: format!("cannot start the connection thread: {e}"),
            })?;
        let conn = Conn { jobs, url: shown };
        conn.call(|_, _| Ok(()))?;
        Ok(conn)
    }

    /// Runs `f` on the connection (connecting first if needed) and waits for its result.
    pub fn call<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Client, &str) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let url = self.url.clone();
        let job: Job = Box::new(move |client: &mut Option<Client>| {
            let r = match client.as_mut() {
                Some(c) => f(c, &url),
                None => Err(StoreError::Postgres {
                    url: url.clone(),
                    message: "cannot connect (the database is down or refuses this user)".into(),
                }),
            };
            let _ = tx.send(r);
        });
        let gone = || StoreError::Postgres {
            url: self.url.clone(),
            message: "the connection thread stopped".into(),
        };
        self.jobs.send(job).map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())?
    }
}

fn read_events(
    c: &mut Client,
    url: &str,
    after: i64,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = c
        .query(
            "SELECT seq, body, actor FROM ems_events WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &limit],
        )
        .map_err(|e| pg_err(url, &e))?;
    rows.iter()
        .map(|r| {
            let seq: i64 = r.get(0);
            let body: String = r.get(1);
            let event = serde_json::from_str(&body).map_err(|e| StoreError::Corrupt {
                path: url.to_string(),
                seq,
                message: e.to_string(),
            })?;
            Ok(StoredEvent {
                seq,
                event,
                actor: r.get(2),
            })
        })
        .collect()
}

/// The writer: one connection, the scenario it was opened for, the idempotency window.
pub struct PgStore {
    conn: Conn,
    window_s: i64,
}

impl PgStore {
    /// Connects, creates the schema if the database has none, and checks that the log belongs
    /// to `scenario` and has a schema this program knows.
    pub fn open(url: &str, scenario: &str, window_s: i64) -> Result<PgStore, StoreError> {
        let conn = Conn::open(url)?;
        let scenario = scenario.to_string();
        conn.call(move |c, url| {
            let err = |e: postgres::Error| pg_err(url, &e);
            let mut tx = c.transaction().map_err(err)?;
            // Replicas starting together create the schema once.
            tx.execute("SELECT pg_advisory_xact_lock(74150017)", &[])
                .map_err(err)?;
            tx.batch_execute(SCHEMA).map_err(err)?;
            let get =
                |tx: &mut postgres::Transaction, k: &str| -> Result<Option<String>, StoreError> {
                    Ok(tx
                        .query_opt("SELECT value FROM ems_meta WHERE key = $1", &[&k])
                        .map_err(err)?
                        .map(|r| r.get(0)))
                };
            if let Some(v) = get(&mut tx, "schema_version")?
                && !v.parse::<u32>().is_ok_and(|n| n == super::SCHEMA_VERSION)
            {
                return Err(StoreError::Schema {
                    url: url.to_string(),
                    found: v,
                    known: super::SCHEMA_VERSION,
                });
            }
            match get(&mut tx, "scenario")? {
                Some(found) if found != scenario => {
                    return Err(StoreError::OtherScenario {
                        url: url.to_string(),
                        found,
                        expected: scenario,
                    });
                }
                Some(_) => {}
                None => {
                    tx.execute(
                        "INSERT INTO ems_meta (key, value) VALUES ('scenario', $1), \
                         ('schema_version', $2)",
                        &[&scenario, &super::SCHEMA_VERSION.to_string()],
                    )
                    .map_err(err)?;
                }
            }
            tx.commit().map_err(err)
        })?;
        Ok(PgStore { conn, window_s })
    }
}

impl LogWriter for PgStore {
    fn append(&mut self, batch: &[Append]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let batch: Vec<Append> = batch.to_vec();
        let window_s = self.window_s;
        self.conn.call(move |c, url| {
            let err = |e: postgres::Error| pg_err(url, &e);
            let taken = |e: &postgres::Error| e.code() == Some(&SqlState::UNIQUE_VIOLATION);
            let mut tx = c.transaction().map_err(err)?;
            for a in &batch {
                let seq = a.seq as i64;
                if let Err(e) = tx.execute(
                    "INSERT INTO ems_events (seq, recorded, body, actor) VALUES ($1, $2, $3, $4)",
                    &[&seq, &a.recorded.to_rfc3339(), &a.body, &a.actor],
                ) {
                    return Err(if taken(&e) {
                        StoreError::Conflict {
                            url: url.to_string(),
                            what: format!("sequence number {seq}"),
                        }
                    } else {
                        err(e)
                    });
                }
                if let Some(i) = &a.idempotency {
                    let created = a.recorded.timestamp();
                    // A key answered inside the window (here or by another replica) is not
                    // answered again.
                    let n = tx
                        .execute(
                            "INSERT INTO ems_idempotency
                             (principal, route, key, request, status, response, seq, created)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                             ON CONFLICT (principal, route, key) DO UPDATE SET
                             request = excluded.request, status = excluded.status,
                             response = excluded.response, seq = excluded.seq,
                             created = excluded.created
                             WHERE ems_idempotency.created < $9",
                            &[
                                &i.principal,
                                &i.route,
                                &i.key,
                                &i.request,
                                &(i.status as i32),
                                &i.body,
                                &seq,
                                &created,
                                &(created - window_s),
                            ],
                        )
                        .map_err(err)?;
                    if n == 0 {
                        return Err(StoreError::Conflict {
                            url: url.to_string(),
                            what: format!("Idempotency-Key `{}` already answered", i.key),
                        });
                    }
                }
            }
            let last = batch.last().map_or(0, |a| a.seq).to_string();
            tx.execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &last])
                .map_err(err)?;
            tx.commit().map_err(err)
        })
    }

    fn expire_idempotency(&mut self, before: i64) -> Result<usize, StoreError> {
        self.conn.call(move |c, url| {
            c.execute("DELETE FROM ems_idempotency WHERE created < $1", &[&before])
                .map(|n| n as usize)
                .map_err(|e| pg_err(url, &e))
        })
    }

    fn events_after(&mut self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.conn
            .call(move |c, url| read_events(c, url, after, limit))
    }

    fn shared(&self) -> bool {
        true
    }

    fn import(&mut self, d: &Dump) -> Result<(), StoreError> {
        let d = d.clone();
        self.conn.call(move |c, url| {
            let err = |e: postgres::Error| pg_err(url, &e);
            let mut tx = c.transaction().map_err(err)?;
            for (seq, recorded, body, actor) in &d.events {
                tx.execute(
                    "INSERT INTO ems_events (seq, recorded, body, actor) VALUES ($1, $2, $3, $4)",
                    &[seq, recorded, body, actor],
                )
                .map_err(err)?;
            }
            for (p, r, k, req, status, resp, seq, created) in &d.idempotency {
                tx.execute(
                    "INSERT INTO ems_idempotency
                     (principal, route, key, request, status, response, seq, created)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &[p, r, k, req, &(*status as i32), resp, seq, created],
                )
                .map_err(err)?;
            }
            for (seq, recorded, body, actor, reason, at) in &d.set_aside {
                tx.execute(
                    "INSERT INTO ems_set_aside (seq, recorded, body, actor, reason, set_aside_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[seq, recorded, body, actor, reason, at],
                )
                .map_err(err)?;
            }
            tx.commit().map_err(err)
        })
    }
}

/// Client sessions other than this one on the log's database (running replicas' writers,
/// followers and readers, or anything else): how many, and who, as "2 × ems serve from
/// 10.0.0.2" phrases.
fn other_sessions(c: &mut Client, url: &str) -> Result<(i64, Vec<String>), StoreError> {
    let rows = c
        .query(
            "SELECT coalesce(nullif(application_name, ''), 'unnamed client'), \
             coalesce(host(client_addr), 'the local socket'), count(*) \
             FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND backend_type = 'client backend' \
             GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2",
            &[],
        )
        .map_err(|e| pg_err(url, &e))?;
    let mut total = 0;
    let mut who = Vec::new();
    for r in &rows {
        let (name, from, n): (String, String, i64) = (r.get(0), r.get(1), r.get(2));
        total += n;
        who.push(format!("{n} × {name} from {from}"));
    }
    Ok((total, who))
}

/// How long sessions of clients that have just exited may still be listed.
const CLOSING_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// [`StoreError::InUse`] when another client is connected: every `ems serve` on the log must
/// be stopped before `what`.
///
/// A client that has just exited (an `ems serve` stopped a moment ago) is still listed until
/// its server process notices, so sessions are looked at again for up to [`CLOSING_GRACE`]
/// before refusing (issue #29: a repair right after a replica's exit was refused under load).
fn refuse_in_use(c: &mut Client, url: &str, what: &str) -> Result<(), StoreError> {
    let since = std::time::Instant::now();
    let (mut sessions, mut who) = other_sessions(c, url)?;
    while sessions > 0 && since.elapsed() < CLOSING_GRACE {
        std::thread::sleep(std::time::Duration::from_millis(100));
        // pg_stat_activity is read once per transaction unless its snapshot is cleared.
        c.batch_execute("SELECT pg_stat_clear_snapshot()")
            .map_err(|e| pg_err(url, &e))?;
        (sessions, who) = other_sessions(c, url)?;
    }
    if sessions > 0 {
        return Err(StoreError::InUse {
            url: url.to_string(),
            sessions,
            who: who.join(", "),
            what: what.to_string(),
        });
    }
    Ok(())
}

/// Refuses when anything else is connected to the log's database (every `ems serve` must be stopped first).
pub fn check_not_in_use(url: &str, what: &str) -> Result<(), StoreError> {
    let shown = redact(url);
    let mut c = connect_as(url, &shown, "ems db")?;
    refuse_in_use(&mut c, &shown, what)
}

/// Moves the events `seqs` (with the reason each does not replay) from the log to
/// `ems_set_aside`, with their idempotency records dropped, in one transaction, and only
/// while no other client is connected (replicas hold the log's state in memory).
pub fn set_aside(url: &str, seqs: &[(i64, String)]) -> Result<(), StoreError> {
    let shown = redact(url);
    let mut c = connect_as(url, &shown, "ems db")?;
    let err = |e: postgres::Error| pg_err(&shown, &e);
    refuse_in_use(&mut c, &shown, "--repair")?;
    let now = chrono::Utc::now().to_rfc3339();
    let mut tx = c.transaction().map_err(err)?;
    for (seq, reason) in seqs {
        tx.execute(
            "INSERT INTO ems_set_aside (seq, recorded, body, actor, reason, set_aside_at)
             SELECT seq, recorded, body, actor, $2, $3 FROM ems_events WHERE seq = $1",
            &[seq, reason, &now],
        )
        .map_err(err)?;
        tx.execute("DELETE FROM ems_idempotency WHERE seq = $1", &[seq])
            .map_err(err)?;
        tx.execute("DELETE FROM ems_events WHERE seq = $1", &[seq])
            .map_err(err)?;
    }
    tx.commit().map_err(err)
}

/// Records `scenario` as the log's scenario; answers the name it had. Only while no other
/// client is connected.
pub fn relabel(url: &str, scenario: &str) -> Result<Option<String>, StoreError> {
    let shown = redact(url);
    let mut c = connect_as(url, &shown, "ems db")?;
    let err = |e: postgres::Error| pg_err(&shown, &e);
    refuse_in_use(&mut c, &shown, "relabelling")?;
    let mut tx = c.transaction().map_err(err)?;
    let old: Option<String> = tx
        .query_opt("SELECT value FROM ems_meta WHERE key = 'scenario'", &[])
        .map_err(err)?
        .map(|r| r.get(0));
    tx.execute(
        "INSERT INTO ems_meta (key, value) VALUES ('scenario', $1) \
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&scenario],
    )
    .map_err(err)?;
    tx.commit().map_err(err)?;
    Ok(old)
}

/// A reader on its own connection.
pub struct PgReader {
    conn: Conn,
}

impl PgReader {
    /// Connects; the database must hold an `ems` log.
    pub fn open(url: &str) -> Result<PgReader, StoreError> {
        let conn = Conn::open(url)?;
        conn.call(|c, url| {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ems_events'",
                    &[],
                )
                .map_err(|e| pg_err(url, &e))?
                .get(0);
            if n == 0 {
                return Err(StoreError::Postgres {
                    url: url.to_string(),
                    message: "this database holds no ems event log (start `ems serve --db` on it \
                              once, or `ems db migrate` into it)"
                        .into(),
                });
            }
            Ok(())
        })?;
        Ok(PgReader { conn })
    }
}

impl LogReader for PgReader {
    fn events_after(&mut self, after: i64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.conn
            .call(move |c, url| read_events(c, url, after, limit))
    }

    fn last_seq(&mut self) -> Result<i64, StoreError> {
        self.conn.call(|c, url| {
            c.query_one("SELECT coalesce(max(seq), 0) FROM ems_events", &[])
                .map(|r| r.get(0))
                .map_err(|e| pg_err(url, &e))
        })
    }

    fn answer(
        &mut self,
        principal: &str,
        route: &str,
        key: &str,
        since: i64,
    ) -> Result<Option<StoredAnswer>, StoreError> {
        let (p, r, k) = (principal.to_string(), route.to_string(), key.to_string());
        self.conn.call(move |c, url| {
            c.query_opt(
                "SELECT request, status, response FROM ems_idempotency
                 WHERE principal = $1 AND route = $2 AND key = $3 AND created >= $4",
                &[&p, &r, &k, &since],
            )
            .map(|row| {
                row.map(|row| StoredAnswer {
                    request: row.get(0),
                    status: row.get::<_, i32>(1) as u16,
                    body: row.get(2),
                })
            })
            .map_err(|e| pg_err(url, &e))
        })
    }

    fn dump(&mut self) -> Result<Dump, StoreError> {
        self.conn.call(|c, url| {
            let err = |e: postgres::Error| pg_err(url, &e);
            // One snapshot of every table, while replicas may append.
            let mut c = c
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(err)?;
            let c = &mut c;
            let scenario = c
                .query_opt("SELECT value FROM ems_meta WHERE key = 'scenario'", &[])
                .map_err(err)?
                .map(|r| r.get(0));
            let events = c
                .query(
                    "SELECT seq, recorded, body, actor FROM ems_events ORDER BY seq",
                    &[],
                )
                .map_err(err)?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
                .collect();
            let idempotency = c
                .query(
                    "SELECT principal, route, key, request, status, response, seq, created
                     FROM ems_idempotency ORDER BY seq",
                    &[],
                )
                .map_err(err)?
                .iter()
                .map(|r| {
                    (
                        r.get(0),
                        r.get(1),
                        r.get(2),
                        r.get(3),
                        r.get::<_, i32>(4) as i64,
                        r.get(5),
                        r.get(6),
                        r.get(7),
                    )
                })
                .collect();
            let set_aside = c
                .query(
                    "SELECT seq, recorded, body, actor, reason, set_aside_at FROM ems_set_aside
                     ORDER BY seq",
                    &[],
                )
                .map_err(err)?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
                .collect();
            Ok(Dump {
                scenario,
                events,
                idempotency,
                set_aside,
            })
        })
    }

    fn set_aside(&mut self) -> Result<Vec<(i64, String, String)>, StoreError> {
        self.conn.call(|c, url| {
            c.query(
                "SELECT seq, body, reason FROM ems_set_aside ORDER BY seq",
                &[],
            )
            .map(|rows| {
                rows.iter()
                    .map(|r| (r.get(0), r.get(1), r.get(2)))
                    .collect()
            })
            .map_err(|e| pg_err(url, &e))
        })
    }
}

/// Follows the log: calls `wake` at each commit any replica makes (LISTEN on [`CHANNEL`]),
/// reconnecting after a failure, until `stop` returns true. Runs on the calling thread.
pub fn follow(url: &str, wake: impl Fn(), stop: impl Fn() -> bool) {
    let shown = redact(url);
    let mut down = false;
    while !stop() {
        let mut client = match connect(url, &shown) {
            Ok(c) => c,
            Err(e) => {
                if !down {
                    tracing::warn!("following the log: {e}");
                }
                down = true;
                std::thread::sleep(Duration::from_millis(500));
                continue;
            }
        };
        down = false;
        if let Err(e) = client.batch_execute(&format!("LISTEN {CHANNEL}")) {
            tracing::warn!("following the log: {}", pg_err(&shown, &e));
            continue;
        }
        // Anything committed while not listening.
        wake();
        while !stop() {
            let next = {
                let mut n = client.notifications();
                let mut it = n.timeout_iter(Duration::from_millis(500));
                it.next()
            };
            match next {
                Ok(Some(_)) => wake(),
                Err(e) => {
                    tracing::warn!("following the log: {}", pg_err(&shown, &e));
                    break;
                }
                Ok(None) => {
                    if client.is_closed() {
                        break;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_are_not_shown() {
        assert_eq!(
            redact("postgres://ems:secret@127.0.0.1:5432/db"),
            "postgres://ems:***@127.0.0.1:5432/db"
        );
        assert_eq!(
            redact("postgresql://ems@localhost/db"),
            "postgresql://ems@localhost/db"
        );
        assert_eq!(
            redact("postgres://localhost/db?user=a&password=b&sslmode=disable"),
            "postgres://localhost/db?user=a&password=***&sslmode=disable"
        );
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
