//! Several `ems serve` replicas on one PostgreSQL database (issue #17), as child processes:
//! racing dispatchers through two replicas, an event stream resumed on the other replica,
//! read-your-writes, `kill -9` of replicas under writers that fail over, and the clear errors
//! of a bad database at start. Each test makes its own database and drops it; without a
//! PostgreSQL server the tests skip with a message (under `CI=true` they fail).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use reqwest::blocking::Client;
use serde_json::{Value, json};

const DISPATCHER: &str = "demo-dispatcher";
const VIEWER: &str = "demo-viewer";

/// `ems serve` on the demo and `db`, on a free port; its address.
fn spawn(db: &str) -> (Child, String) {
    common::serve(std::ffi::OsStr::new(db))
}

/// `ems serve` that must refuse to start: its exit code, standard output and error.
fn refused(args: &[&str]) -> (Option<i32>, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let (mut out, mut err) = (String::new(), String::new());
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut out)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut err)
                .unwrap();
            return (status.code(), out, err);
        }
        if t0.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{args:?}: still running after 30 s (half-started?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

/// GET with optional `EMS-Min-Seq`: status, `EMS-Seq`, body.
fn get(base: &str, path: &str, min_seq: Option<u64>) -> (u16, u64, Value) {
    let mut r = client().get(format!("{base}{path}")).bearer_auth(VIEWER);
    if let Some(m) = min_seq {
        r = r.header("EMS-Min-Seq", m.to_string());
    }
    let r = r.send().unwrap();
    let seq = r
        .headers()
        .get("ems-seq")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("every answer says EMS-Seq");
    (r.status().as_u16(), seq, r.json().unwrap_or(Value::Null))
}

fn post(
    base: &str,
    path: &str,
    key: Option<&str>,
    body: Value,
) -> reqwest::Result<(u16, u64, Value)> {
    let mut r = client()
        .post(format!("{base}{path}"))
        .bearer_auth(DISPATCHER)
        .json(&body);
    if let Some(k) = key {
        r = r.header("Idempotency-Key", k);
    }
    let r = r.send()?;
    let seq = r
        .headers()
        .get("ems-seq")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((r.status().as_u16(), seq, r.json().unwrap_or(Value::Null)))
}

/// Every incident, page by page (`after` the last id), as of `EMS-Min-Seq: at`.
fn all_incidents(base: &str, at: u64) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    loop {
        let after = out.last().map_or(0, |i| i["id"].as_u64().unwrap());
        let (code, _, page) = get(
            base,
            &format!("/v1/incidents?limit=1000&after={after}"),
            Some(at),
        );
        assert_eq!(code, 200, "{page}");
        let page = page.as_array().unwrap().clone();
        let n = page.len();
        out.extend(page);
        if n < 1000 {
            return out;
        }
    }
}

struct Replicas(Vec<Child>);

impl Drop for Replicas {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Two dispatchers racing for one unit through two replicas: exactly one wins. A write on one
/// replica is read on the other with `EMS-Min-Seq`, and an event stream resumes on the other
/// replica from a `Last-Event-ID` the first gave.
#[test]
fn issue_17_two_replicas_share_one_log() {
    let Some(db) = common::PgDb::create() else {
        return;
    };
    let (a, base_a) = spawn(&db.url);
    let (b, base_b) = spawn(&db.url);
    let _guard = Replicas(vec![a, b]);
    let bases = [base_a.clone(), base_b.clone()];
    for round in 0..10 {
        let (_, _, x) = post(
            &base_a,
            "/v1/incidents",
            None,
            json!({"lon": 7.42, "lat": 43.735, "priority": 1}),
        )
        .unwrap();
        let (_, _, y) = post(
            &base_b,
            "/v1/incidents",
            None,
            json!({"lon": 7.43, "lat": 43.74, "priority": 1}),
        )
        .unwrap();
        let ids = [x["id"].as_u64().unwrap(), y["id"].as_u64().unwrap()];
        assert_ne!(ids[0], ids[1], "one log, one sequence of incident ids");
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|k| {
                let (base, barrier, id) = (bases[k].clone(), barrier.clone(), ids[k]);
                std::thread::spawn(move || {
                    barrier.wait();
                    post(
                        &base,
                        &format!("/v1/incidents/{id}/assign"),
                        None,
                        json!({"unit_id": "condamine-1"}),
                    )
                    .unwrap()
                    .0
                })
            })
            .collect();
        let mut codes: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        codes.sort();
        assert_eq!(codes, vec![200, 409], "round {round}");
        let (code, _, v) = post(
            &base_b,
            "/v1/units/condamine-1/status",
            None,
            json!({"status": "available"}),
        )
        .unwrap();
        assert_eq!(code, 200, "{v}");
    }

    // Read-your-writes: the write's EMS-Seq, asked of the other replica.
    let (code, seq, inc) = post(
        &base_a,
        "/v1/incidents",
        None,
        json!({"lon": 7.42, "lat": 43.735, "priority": 2, "note": "ryw"}),
    )
    .unwrap();
    assert_eq!(code, 201);
    let id = inc["id"].as_u64().unwrap();
    let (code, seen, v) = get(&base_b, &format!("/v1/incidents/{id}"), Some(seq));
    assert_eq!(code, 200, "{v}");
    assert!(seen >= seq);
    assert_eq!(v["note"], "ryw");
    // A sequence number no replica has reached: 503 after the wait, not stale data.
    let (code, _, v) = get(&base_b, "/v1/incidents", Some(seq + 1000));
    assert_eq!(code, 503, "{v}");
    assert!(
        v["message"].as_str().unwrap().contains("EMS-Min-Seq"),
        "{v}"
    );
    let r = client()
        .get(format!("{base_b}/v1/units"))
        .bearer_auth(VIEWER)
        .header("EMS-Min-Seq", "soon")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // The event stream resumes on replica B from an id replica A's writes produced.
    let from = seq;
    for n in 0..3 {
        post(
            &base_a,
            "/v1/incidents",
            None,
            json!({"lon": 7.42, "lat": 43.735, "priority": 3, "note": format!("s{n}")}),
        )
        .unwrap();
    }
    let r = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(format!("{base_b}/v1/events"))
        .bearer_auth(VIEWER)
        .header("Last-Event-ID", from.to_string())
        .send()
        .unwrap();
    let mut ids = Vec::new();
    for line in BufReader::new(r).lines() {
        let line = line.unwrap();
        if let Some(id) = line.strip_prefix("id: ") {
            ids.push(id.trim().parse::<u64>().unwrap());
            if ids.len() == 3 {
                break;
            }
        }
    }
    assert_eq!(ids, vec![from + 1, from + 2, from + 3]);
    // Both replicas hold the same state.
    let (_, sa, _) = get(&base_a, "/v1/units", None);
    let (_, sb, _) = get(&base_b, "/v1/units", None);
    let at = sa.max(sb);
    for path in ["/v1/units", "/v1/incidents?limit=1000"] {
        let (_, _, va) = get(&base_a, path, Some(at));
        let (_, _, vb) = get(&base_b, path, Some(at));
        assert_eq!(va, vb, "{path}");
    }
}

/// Sends one idempotent write to replica `prefer`, failing over to the other one on a
/// dropped connection, a 5xx or a key still being written, until a replica answers: its
/// status and body.
fn send_until_answered(
    bases: &[Mutex<String>],
    failovers: &AtomicUsize,
    deadline: Instant,
    prefer: usize,
    path: &str,
    key: &str,
    body: &Value,
) -> (u16, Value) {
    let mut r = prefer;
    loop {
        assert!(
            Instant::now() < deadline,
            "{key}: no replica answered in time"
        );
        let base = bases[r].lock().unwrap().clone();
        match post(&base, path, Some(key), body.clone()) {
            Ok((code, _, v))
                if code < 500
                    && !(code == 409
                        && v["message"]
                            .as_str()
                            .is_some_and(|m| m.contains("being written"))) =>
            {
                return (code, v);
            }
            Ok(_) | Err(_) => {
                failovers.fetch_add(1, Ordering::SeqCst);
                r = 1 - r;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Four writers spread over two replicas, each write with an idempotency key, failing over
/// to the other replica on an error; a replica killed with SIGKILL and restarted 20 times.
/// Every acknowledged write is there exactly once, no unit is on two incidents, and both
/// replicas end with the same state.
#[test]
fn issue_17_kill_9_of_replicas_loses_nothing() {
    let Some(db) = common::PgDb::create() else {
        return;
    };
    let url = db.url.clone();
    let first: Vec<(Child, String)> = (0..2).map(|_| spawn(&url)).collect();
    let bases: Arc<Vec<Mutex<String>>> =
        Arc::new(first.iter().map(|(_, b)| Mutex::new(b.clone())).collect());
    let children: Arc<Mutex<Replicas>> = Arc::new(Mutex::new(Replicas(
        first.into_iter().map(|(c, _)| c).collect(),
    )));
    let units = ["condamine-1", "condamine-2", "fontvieille-1", "smur-chpg-1"];
    let done = Arc::new(AtomicBool::new(false));
    // note → incident id; (unit, incident) of acknowledged assignments.
    let acked: Arc<Mutex<BTreeMap<String, u64>>> = Default::default();
    let assigned: Arc<Mutex<Vec<(String, u64)>>> = Default::default();
    let failovers = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(240);

    // Sends one idempotent write until some replica acknowledges it: its status and body.
    let send = {
        let (bases, failovers) = (bases.clone(), failovers.clone());
        move |prefer: usize, path: &str, key: &str, body: &Value| -> (u16, Value) {
            send_until_answered(&bases, &failovers, deadline, prefer, path, key, body)
        }
    };
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (send, acked, assigned, done) =
                (send.clone(), acked.clone(), assigned.clone(), done.clone());
            std::thread::spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(w as u64);
                let mut n = 0;
                while !done.load(Ordering::SeqCst) || n < 10 {
                    let note = format!("w{w}-{n}");
                    let body = json!({"lon": 7.42 + 0.001 * w as f64, "lat": 43.735, "priority": 2, "note": note});
                    let (code, v) = send(w % 2, "/v1/incidents", &note, &body);
                    assert_eq!(code, 201, "{note}: {v}");
                    let id = v["id"].as_u64().unwrap();
                    acked.lock().unwrap().insert(note.clone(), id);
                    if n % 3 == 0 {
                        let unit = units[rng.random_range(0..units.len())];
                        let (code, v) = send(
                            1 - w % 2,
                            &format!("/v1/incidents/{id}/assign"),
                            &format!("{note}-assign"),
                            &json!({"unit_id": unit}),
                        );
                        match code {
                            200 => {
                                assigned.lock().unwrap().push((unit.to_string(), id));
                                // Stood down again, so units keep being assigned.
                                let (code, v) = send(
                                    w % 2,
                                    &format!("/v1/units/{unit}/status"),
                                    &format!("{note}-release"),
                                    &json!({"status": "available"}),
                                );
                                assert_eq!(code, 200, "{note} release {unit}: {v}");
                            }
                            409 => {}
                            _ => panic!("{note} assign {unit}: {code} {v}"),
                        }
                    }
                    n += 1;
                    std::thread::sleep(Duration::from_millis(30));
                }
            })
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(17);
    for _cycle in 0..20 {
        std::thread::sleep(Duration::from_millis(rng.random_range(150..600)));
        let r = rng.random_range(0..2);
        {
            let mut ch = children.lock().unwrap();
            ch.0[r].kill().unwrap(); // SIGKILL
            ch.0[r].wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(0..300)));
        let (child, base) = spawn(&url);
        children.lock().unwrap().0[r] = child;
        *bases[r].lock().unwrap() = base;
    }
    done.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 40,
        "only {} writes acknowledged",
        acked.len()
    );
    assert!(
        failovers.load(Ordering::SeqCst) > 0,
        "no client ever failed over"
    );

    let ba = bases[0].lock().unwrap().clone();
    let bb = bases[1].lock().unwrap().clone();
    let (_, sa, _) = get(&ba, "/v1/units", None);
    let (_, sb, _) = get(&bb, "/v1/units", None);
    let at = sa.max(sb);
    let ia = all_incidents(&ba, at);
    let ib = all_incidents(&bb, at);
    assert!(ia == ib, "the replicas' incidents differ");
    let (_, _, ua) = get(&ba, "/v1/units", Some(at));
    let (_, _, ub) = get(&bb, "/v1/units", Some(at));
    assert_eq!(ua, ub, "the replicas' units differ");

    assert_each_write_once(&ia, &acked);
    let mut unit_incidents: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for i in &ia {
        for u in i["units"].as_array().unwrap() {
            let name = u["unit"].as_str().unwrap().to_string();
            unit_incidents
                .entry(name)
                .or_default()
                .push(i["id"].as_u64().unwrap());
        }
    }
    for (unit, id) in assigned.lock().unwrap().iter() {
        assert!(
            unit_incidents.get(unit).is_some_and(|ids| ids.contains(id)),
            "acknowledged assignment of {unit} to {id} lost"
        );
    }
    // No unit was ever on two calls at once: the whole log replays, every event validated
    // against the state before it (each restart above did the same).
    let out = Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(["serve", "--check-log", "--db", &url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains(" 0 do not replay"),
        "{text}"
    );
    eprintln!(
        "{} writes acknowledged, {} assignments, {} failovers over 20 kill -9 cycles",
        acked.len(),
        assigned.lock().unwrap().len(),
        failovers.load(Ordering::SeqCst)
    );
}

/// A wrong URL, a refused connection, a wrong password, a database of another scenario or of
/// an unknown schema version: a clear error at start naming the cause; nothing listens.
#[test]
fn issue_17_a_bad_database_is_refused_at_start() {
    let Some(db) = common::PgDb::create() else {
        return;
    };
    let cases: Vec<(String, &str)> = vec![
        (
            "postgres://ems:ems@127.0.0.1:notaport/x".into(),
            "not a PostgreSQL URL",
        ),
        ("postgres://ems:ems@127.0.0.1:1/x".into(), "refused"),
        (db.url.replace("ems:ems@", "ems:wrong@"), "password"),
    ];
    for (url, why) in &cases {
        let (code, out, err) = refused(&["--db", url]);
        assert_eq!(code, Some(2), "{url}: {err}");
        assert!(!out.contains("listening"), "{url}: half-started: {out}");
        assert!(err.contains(why), "{url}: {err}");
        assert!(
            !err.contains(":wrong@") && !err.contains(":ems@"),
            "password shown: {err}"
        );
    }
    // A log made for the demo, then claimed by another scenario and another schema version.
    let (mut child, _) = spawn(&db.url);
    child.kill().unwrap();
    child.wait().unwrap();
    db.execute("UPDATE ems_meta SET value = 'Elsewhere' WHERE key = 'scenario'");
    let (code, out, err) = refused(&["--db", &db.url]);
    assert_eq!(code, Some(2), "{err}");
    assert!(!out.contains("listening"));
    assert!(
        err.contains("`Elsewhere`") && err.contains("Monaco demo"),
        "{err}"
    );
    db.execute(
        "UPDATE ems_meta SET value = 'Monaco demo' WHERE key = 'scenario';
         UPDATE ems_meta SET value = '99' WHERE key = 'schema_version'",
    );
    let (code, _, err) = refused(&["--db", &db.url]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("schema version 99"), "{err}");
}

/// `ems db migrate`: a SQLite log to PostgreSQL and back keeps every event with its sequence
/// number and every idempotency record (a retried request is answered from the record, not
/// written again); a non-empty target, the same log twice and a missing file are refused.
#[test]
fn issue_17_migrate_sqlite_to_postgres_and_back() {
    let Some(db) = common::PgDb::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("events.sqlite");
    let sqlite_s = sqlite.to_str().unwrap();
    let (mut child, base) = spawn(sqlite_s);
    let mut keys = Vec::new();
    for n in 0..5 {
        let key = format!("m{n}");
        let (code, _, _) = post(
            &base,
            "/v1/incidents",
            Some(&key),
            json!({"lon": 7.42, "lat": 43.735, "priority": 1, "note": key}),
        )
        .unwrap();
        assert_eq!(code, 201);
        keys.push(key);
    }
    let (code, _, _) = post(
        &base,
        "/v1/incidents/2/assign",
        Some("a2"),
        json!({"unit_id": "condamine-1"}),
    )
    .unwrap();
    assert_eq!(code, 200);
    let state = |base: &str| -> (u64, Value, Value) {
        let (_, seq, units) = get(base, "/v1/units", None);
        let (_, _, incidents) = get(base, "/v1/incidents?limit=1000", None);
        (seq, units, incidents)
    };
    let before = state(&base);
    child.kill().unwrap();
    child.wait().unwrap();

    let migrate = |from: &str, to: &str| {
        Command::new(env!("CARGO_BIN_EXE_ems"))
            .args(["db", "migrate", "--from", from, "--to", to])
            .output()
            .unwrap()
    };
    let out = migrate(sqlite_s, &db.url);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("6 events") && text.contains("6 idempotency records"),
        "{text}"
    );
    assert!(!text.contains(":ems@"), "password shown: {text}");

    let (pg, base_pg) = spawn(&db.url);
    let guard = Replicas(vec![pg]);
    let after = state(&base_pg);
    assert_eq!(after.0, before.0, "the sequence numbers are kept");
    assert_eq!((&after.1, &after.2), (&before.1, &before.2));
    // The first answer, from the migrated record; nothing written.
    let r = client()
        .post(format!("{base_pg}/v1/incidents"))
        .bearer_auth(DISPATCHER)
        .header("Idempotency-Key", "m3")
        .json(&json!({"lon": 7.42, "lat": 43.735, "priority": 1, "note": "m3"}))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert!(r.headers().get("idempotent-replayed").is_some());
    assert_eq!(r.json::<Value>().unwrap()["id"], 4);
    let (code, seq, v) = post(
        &base_pg,
        "/v1/incidents",
        None,
        json!({"lon": 7.42, "lat": 43.735, "priority": 1}),
    )
    .unwrap();
    assert_eq!((code, v["id"].as_u64()), (201, Some(6)), "ids continue");
    assert_eq!(seq, before.0 + 1);

    // Back to a new SQLite file, which a server then runs on; refused while a replica runs
    // on the source (what it acknowledged after the copy would be lost from the new log).
    let back = dir.path().join("back.sqlite");
    let out = migrate(&db.url, back.to_str().unwrap());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success()
            && e.contains("in use")
            && e.contains("× ems serve from 127.0.0.1")
            && e.contains("stop every ems serve"),
        "{e}"
    );
    let moved = state(&base_pg);
    drop(guard);
    until_idle(&db);
    let out = migrate(&db.url, back.to_str().unwrap());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (mut c2, base2) = spawn(back.to_str().unwrap());
    let again = state(&base2);
    c2.kill().unwrap();
    c2.wait().unwrap();
    assert_eq!((again.0, &again.1, &again.2), (moved.0, &moved.1, &moved.2));
    // A SQLite log relabelled for a renamed scenario, then served under the new name.
    let renamed = dir.path().join("renamed.toml");
    std::fs::write(
        &renamed,
        common::demo_toml().replace("name = \"Monaco demo\"", "name = \"Monaco 2027\""),
    )
    .unwrap();
    let (c3, base3) = relabel_and_serve(dir.path(), back.to_str().unwrap(), &renamed);
    let _served = Replicas(vec![c3]);
    assert_eq!(state(&base3).0, moved.0);

    // Refused: a target that holds events, the same log twice, a missing source.
    let out = migrate(sqlite_s, &db.url);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("already holds events"),
        "{e}"
    );
    let out = migrate(sqlite_s, sqlite_s);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && e.contains("same log"), "{e}");
    let out = migrate(
        dir.path().join("none.sqlite").to_str().unwrap(),
        back.to_str().unwrap(),
    );
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("none.sqlite") && e.contains("no such file"),
        "{e}"
    );
}

/// Writers that create incidents with idempotency keys (`{prefix}{writer}-{n}`) until `stop`,
/// each on its own replica first and on the other after a 503 (which must name the event
/// log); a request left without an answer fails the test (a hang is a client timeout).
struct Writers {
    handles: Vec<std::thread::JoinHandle<()>>,
    acked: Arc<Mutex<BTreeMap<String, u64>>>,
    unavailable: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Writers {
    fn start(bases: &[String; 2], prefix: &str) -> Writers {
        let acked: Arc<Mutex<BTreeMap<String, u64>>> = Default::default();
        let unavailable = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + Duration::from_secs(120);
        let handles = (0..2)
            .map(|w| {
                let (bases, acked, unavailable, stop) = (
                    bases.clone(),
                    acked.clone(),
                    unavailable.clone(),
                    stop.clone(),
                );
                let prefix = prefix.to_string();
                std::thread::spawn(move || {
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        let note = format!("{prefix}{w}-{n}");
                        let body = json!({"lon": 7.42, "lat": 43.735, "priority": 2, "note": note});
                        let mut r = w;
                        loop {
                            assert!(Instant::now() < deadline, "{note}: never acknowledged");
                            let (code, _, v) =
                                post(&bases[r], "/v1/incidents", Some(&note), body.clone())
                                    .unwrap_or_else(|e| panic!("{note}: no answer: {e}"));
                            match code {
                                201 => {
                                    let id = v["id"].as_u64().unwrap();
                                    acked.lock().unwrap().insert(note.clone(), id);
                                    break;
                                }
                                503 => {
                                    let m = v["message"].as_str().unwrap_or("");
                                    assert!(m.contains("event log"), "{note}: {v}");
                                    unavailable.fetch_add(1, Ordering::SeqCst);
                                    r = 1 - r;
                                    std::thread::sleep(Duration::from_millis(50));
                                }
                                409 => std::thread::sleep(Duration::from_millis(50)),
                                _ => panic!("{note}: {code} {v}"),
                            }
                        }
                        n += 1;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                })
            })
            .collect();
        Writers {
            handles,
            acked,
            unavailable,
            stop,
        }
    }

    fn acked(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    /// Stops the writers; the acknowledged writes and how many 503s they met.
    fn finish(self) -> (BTreeMap<String, u64>, usize) {
        self.stop.store(true, Ordering::SeqCst);
        for h in self.handles {
            h.join().unwrap();
        }
        let acked = self.acked.lock().unwrap().clone();
        (acked, self.unavailable.load(Ordering::SeqCst))
    }
}

/// After one more write through replica A: both replicas hold the same incidents, every
/// acknowledged write is there once, and no write is there twice.
fn check_nothing_lost(bases: &[String; 2], acked: &BTreeMap<String, u64>) {
    let (code, seq, v) = post(
        &bases[0],
        "/v1/incidents",
        Some("after"),
        json!({"lon": 7.42, "lat": 43.735, "priority": 2, "note": "after"}),
    )
    .unwrap();
    assert_eq!(code, 201, "{v}");
    let ia = all_incidents(&bases[0], seq);
    let ib = all_incidents(&bases[1], seq);
    assert!(ia == ib, "the replicas' incidents differ");
    assert_each_write_once(&ia, acked);
}

/// Every acknowledged write (note → incident id) is among `incidents` with its id, and no
/// note is there twice.
fn assert_each_write_once(incidents: &[Value], acked: &BTreeMap<String, u64>) {
    let mut by_note: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for i in incidents {
        by_note
            .entry(i["note"].as_str().unwrap_or("").to_string())
            .or_default()
            .push(i["id"].as_u64().unwrap());
    }
    common::assert_each_write_once(&by_note, acked, "");
}

/// The database stops hard in the middle of writes and comes back: requests during the outage
/// are answered 503 naming the database (not left hanging), `/healthz` says degraded, the
/// replicas reconnect by themselves, and every acknowledged write is there once.
#[test]
fn issue_17_a_database_restart_loses_nothing() {
    // Below Linux's ephemeral ports (32768 and up), which the replicas' own listeners take.
    let port = 21_000 + (std::process::id() % 4_000) as u16;
    let Some(pg) = common::PrivateCluster::start("restart", port) else {
        return;
    };
    pg.execute("postgres", "CREATE DATABASE dispatch");
    let url = pg.url("dispatch");
    let (a, base_a) = spawn(&url);
    let (b, base_b) = spawn(&url);
    let _guard = Replicas(vec![a, b]);
    let bases = [base_a.clone(), base_b.clone()];
    let writers = Writers::start(&bases, "r");
    std::thread::sleep(Duration::from_millis(800));
    pg.crash();
    std::thread::sleep(Duration::from_millis(1500));
    // While it is down: a clear 503, and the health check says so.
    let (code, _, v) = post(
        &base_a,
        "/v1/incidents",
        None,
        json!({"lon": 7.42, "lat": 43.735, "priority": 2}),
    )
    .unwrap();
    assert_eq!(code, 503, "{v}");
    let (_, _, h) = get(&base_b, "/healthz", None);
    assert_eq!(h["status"], "degraded", "{h}");
    pg.up();
    std::thread::sleep(Duration::from_millis(1500));
    let (acked, unavailable) = writers.finish();
    assert!(unavailable > 0, "the outage was not seen");
    check_nothing_lost(&bases, &acked);
    eprintln!(
        "{} writes acknowledged across the restart, {unavailable} answered 503 during it",
        acked.len()
    );
}

/// A synchronous streaming standby (`pg_basebackup`) takes over: the primary is stopped hard
/// in the middle of writes, the standby promoted, and the replicas, given both hosts with
/// `target_session_attrs=read-write`, reconnect to it by themselves. No acknowledged write is
/// lost.
#[test]
fn issue_17_a_synchronous_standby_takes_over() {
    // Below Linux's ephemeral ports, and apart from the restart test's 21000-24999.
    let base_port = 25_000 + 2 * (std::process::id() % 3_000) as u16;
    let Some(primary) = common::PrivateCluster::start("primary", base_port) else {
        return;
    };
    primary.execute("postgres", "CREATE DATABASE dispatch");
    let standby = primary.standby("standby", base_port + 1);
    primary.execute(
        "postgres",
        "ALTER SYSTEM SET synchronous_standby_names = '*'",
    );
    primary.execute("postgres", "SELECT pg_reload_conf()");
    // Until the standby streams synchronously, a commit could be acknowledged without it.
    let t0 = Instant::now();
    while primary
        .query_text("postgres", "SELECT sync_state FROM pg_stat_replication")
        .as_deref()
        != Some("sync")
    {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "the standby never became synchronous"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let url = format!(
        "postgres://ems@127.0.0.1:{},127.0.0.1:{}/dispatch?target_session_attrs=read-write",
        primary.port, standby.port
    );
    let (a, base_a) = spawn(&url);
    let (b, base_b) = spawn(&url);
    let _guard = Replicas(vec![a, b]);
    let bases = [base_a, base_b];
    let writers = Writers::start(&bases, "f");
    std::thread::sleep(Duration::from_millis(1000));
    let before_crash = writers.acked();
    primary.crash();
    std::thread::sleep(Duration::from_millis(500));
    standby.promote();
    std::thread::sleep(Duration::from_millis(2000));
    let (acked, _) = writers.finish();
    assert!(
        before_crash > 0 && acked.len() > before_crash,
        "{before_crash} then {}",
        acked.len()
    );
    check_nothing_lost(&bases, &acked);
    eprintln!(
        "{before_crash} writes acknowledged before the primary stopped, {} in all, none lost",
        acked.len()
    );
}

/// A port no one listens on now (bound, read, released), for servers whose addresses must be
/// known before they start.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Item 3, the board given several replica addresses: the config lists both replicas, each
/// answers `GET /v1/replicas` and lets the other's pages call it (CORS, and nobody else's).
/// In chromium (`tests/browser/failover.mjs`) the board opened on A retries a write whose
/// answer was lost on B with the same key and gets the first answer, and back; then A is
/// killed and the board's next call, assignment and event stream go to B.
#[test]
fn issue_17_the_board_fails_over_to_another_replica() {
    if !common::browser_ready() {
        return;
    }
    let Some(db) = common::PgDb::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let ports = [free_port(), free_port()];
    let bases = ports.map(|p| format!("http://127.0.0.1:{p}"));
    let cfg = dir.path().join("dispatch.toml");
    // Top-level keys go before the [[tokens]] tables; one file for both replicas.
    std::fs::write(
        &cfg,
        format!(
            "replicas = [\"{}\", \"{}/\"]\n{}",
            bases[0],
            bases[1],
            ems::api::config::DEMO
        ),
    )
    .unwrap();
    let start = |port: u16| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ems"));
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
        ])
        .arg(&cfg)
        .args(["--db", &db.url]);
        common::listening(cmd)
    };
    let (a, url_a) = start(ports[0]);
    let (b, url_b) = start(ports[1]);
    assert_eq!([url_a.as_str(), url_b.as_str()], [&bases[0], &bases[1]]);
    let pid_a = a.id().to_string();
    let _guard = Replicas(vec![a, b]);

    let (code, _, v) = get(&bases[0], "/v1/replicas", None);
    assert_eq!(code, 200, "{v}");
    assert_eq!(
        v["replicas"],
        json!([bases[0], bases[1]]),
        "normalised: {v}"
    );
    assert_eq!(v["shared_log"], json!(true));
    let c = client();
    let preflight = |origin: &str| {
        c.request(
            reqwest::Method::OPTIONS,
            format!("{}/v1/incidents", bases[0]),
        )
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,idempotency-key",
        )
        .send()
        .unwrap()
    };
    let ok = preflight(&bases[1]);
    let allowed = |r: &reqwest::blocking::Response, h: &str| {
        r.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_ascii_lowercase())
    };
    assert_eq!(
        allowed(&ok, "access-control-allow-origin").as_deref(),
        Some(bases[1].as_str())
    );
    assert!(
        allowed(&ok, "access-control-allow-headers")
            .unwrap_or_default()
            .contains("idempotency-key"),
        "{:?}",
        ok.headers()
    );
    let stranger = preflight("http://elsewhere.example");
    assert_eq!(
        allowed(&stranger, "access-control-allow-origin"),
        None,
        "another origin is not let in"
    );
    let r = c
        .get(format!("{}/v1/units", bases[0]))
        .header("Origin", &bases[1])
        .bearer_auth(VIEWER)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        allowed(&r, "access-control-expose-headers")
            .unwrap_or_default()
            .contains("ems-seq"),
        "EMS-Seq readable by the other replica's page: {:?}",
        r.headers()
    );

    common::browser("failover.mjs", &bases[0], "failover", &[&pid_a, &bases[1]]);
    let shots = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/screenshots/failover/failover-on-b.png");
    assert!(shots.exists(), "{}", shots.display());
}

/// Event streams resuming from the log share a few database connections: 40 clients resume
/// at once from event 0 over 2,000 events (four chunks each) and all reach the head, while
/// the replica never holds more than `STREAM_READERS` (4) connections above its own for them
/// (one reader opened per chunk per client would be up to 40).
#[test]
fn issue_17_resuming_streams_share_a_few_connections() {
    let Some(db) = common::PgDb::create() else {
        return;
    };
    let (a, base) = spawn(&db.url);
    let _guard = Replicas(vec![a]);
    let units = ["condamine-1", "condamine-2", "fontvieille-1", "smur-chpg-1"];
    let writers: Vec<_> = units
        .iter()
        .map(|u| {
            let (base, u) = (base.clone(), u.to_string());
            std::thread::spawn(move || {
                for k in 0..500 {
                    let (code, _, v) = post(
                        &base,
                        &format!("/v1/units/{u}/position"),
                        None,
                        json!({"lon": 7.42 + k as f64 * 1e-5, "lat": 43.735, "at": chrono::Utc::now().to_rfc3339()}),
                    )
                    .unwrap();
                    assert_eq!(code, 200, "{v}");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    let (_, head, _) = get(&base, "/v1/units", None);
    assert!(head >= 2000, "{head}");
    let baseline = db.connections();

    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let db = &db;
        let done = &done;
        std::thread::scope(|scope| {
            let s = scope.spawn(|| {
                let mut most = 0;
                while !done.load(Ordering::SeqCst) {
                    most = most.max(db.connections());
                    std::thread::sleep(Duration::from_millis(5));
                }
                most
            });
            let readers: Vec<_> = (0..40)
                .map(|_| {
                    let base = base.clone();
                    scope.spawn(move || {
                        let c = Client::builder()
                            .timeout(Duration::from_secs(60))
                            .build()
                            .unwrap();
                        let r = c
                            .get(format!("{base}/v1/events"))
                            .bearer_auth(VIEWER)
                            .header("Last-Event-ID", "0")
                            .send()
                            .unwrap();
                        assert_eq!(r.status().as_u16(), 200);
                        let (mut seen, mut next) = (0u64, 1u64);
                        for line in BufReader::new(r).lines() {
                            let line = line.unwrap();
                            if let Some(id) = line.strip_prefix("id:") {
                                let id: u64 = id.trim().parse().unwrap();
                                assert_eq!(id, next, "in order, none missed");
                                next += 1;
                                seen = id;
                                if seen >= head {
                                    break;
                                }
                            }
                        }
                        seen
                    })
                })
                .collect();
            let reached: Vec<u64> = readers.into_iter().map(|h| h.join().unwrap()).collect();
            done.store(true, Ordering::SeqCst);
            assert!(reached.iter().all(|&r| r >= head), "{reached:?}");
            s.join().unwrap()
        })
    };
    assert!(
        sampler - baseline <= 4,
        "40 resuming streams used {} connections above the replica's own {baseline}",
        sampler - baseline
    );
    eprintln!(
        "40 streams resumed over {head} events; connections: {baseline} before, at most \
         {sampler} during"
    );
}

/// Waits until no client is connected to `db` (a killed replica's sessions end).
fn until_idle(db: &common::PgDb) {
    let t0 = Instant::now();
    while db.connections() > 0 {
        assert!(t0.elapsed() < Duration::from_secs(20), "sessions linger");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `ems` with `args` in `cwd`: exit code, standard output, standard error.
fn ems_in(cwd: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ems"))
        .current_dir(cwd)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `ems db relabel --db DB --scenario RENAMED` (from the demo's name to "Monaco 2027"), then
/// `ems serve` on the log under the new name.
fn relabel_and_serve(
    cwd: &std::path::Path,
    db: &str,
    renamed: &std::path::Path,
) -> (Child, String) {
    let renamed = renamed.to_str().unwrap();
    let (code, out, err) = ems_in(cwd, &["db", "relabel", "--db", db, "--scenario", renamed]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("`Monaco demo` → `Monaco 2027`"), "{out}");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ems"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        db,
        "--scenario",
        renamed,
    ]);
    common::listening(cmd)
}

/// A PostgreSQL log that does not replay is repaired like a SQLite one: `--check-log` lists
/// the events, `--repair` is refused while anything is connected, then copies the log into a
/// SQLite file and sets the events aside; and `ems db relabel` records a renamed scenario
/// (refused for a scenario whose fleet the log does not fit), after which `ems serve` starts.
#[test]
fn issue_17_repair_and_relabel_a_postgres_log() {
    let Some(db) = common::PgDb::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (a, base) = spawn(&db.url);
    let guard = Replicas(vec![a]);
    for lon in [7.42, 7.43] {
        let (code, _, v) = post(
            &base,
            "/v1/incidents",
            None,
            json!({"lon": lon, "lat": 43.735, "priority": 1}),
        )
        .unwrap();
        assert_eq!(code, 201, "{v}");
    }
    let (code, _, v) = post(
        &base,
        "/v1/incidents/1/assign",
        None,
        json!({"unit_id": "condamine-2"}),
    )
    .unwrap();
    assert_eq!(code, 200, "{v}");
    drop(guard);
    until_idle(&db);
    // What a second, unaware server might have written: its own incident 1, and an
    // assignment of a unit this scenario does not have.
    let t = chrono::Utc::now().to_rfc3339();
    db.execute(&format!(
        r#"INSERT INTO ems_events (seq, recorded, body, actor) VALUES
           (4, '{t}', '{{"type":"incident_created","id":1,"at":"{t}","lon":7.42,"lat":43.735,"priority":1,"condition":null,"note":"other server"}}', 'x'),
           (5, '{t}', '{{"type":"unit_assigned","incident":2,"unit":"nope-1","at":"{t}"}}', 'x')"#
    ));
    let cwd = dir.path();
    let (code, _, err) = ems_in(cwd, &["serve", "--listen", "127.0.0.1:0", "--db", &db.url]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("event 4") && err.contains("--check-log"),
        "{err}"
    );
    let (code, out, _) = ems_in(cwd, &["serve", "--check-log", "--db", &db.url]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("5 events, 2 do not replay")
            && out.contains("event 4: incident 1 exists")
            && out.contains("event 5: unknown unit `nope-1`"),
        "{out}"
    );
    {
        // Anything connected (a replica, a psql session) makes --repair wait for it.
        let _other = postgres::Client::connect(&db.url, postgres::NoTls).unwrap();
        let (code, out, err) = ems_in(cwd, &["serve", "--check-log", "--repair", "--db", &db.url]);
        assert_eq!(code, Some(2), "{out}{err}");
        assert!(
            err.contains("is in use (1 other connections: 1 × unnamed client from 127.0.0.1)")
                && err.contains("--repair"),
            "{err}"
        );
        assert!(!err.contains(":ems@"), "no password shown: {err}");
    }
    until_idle(&db);
    let (code, out, err) = ems_in(cwd, &["serve", "--check-log", "--repair", "--db", &db.url]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("2 events set aside"), "{out}");
    let backup: Vec<_> = std::fs::read_dir(cwd)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("ems-log.before-repair-") && name.ends_with(".sqlite")
        })
        .collect();
    assert_eq!(backup.len(), 1, "one copy of the log before the repair");
    let copy = rusqlite::Connection::open(&backup[0]).unwrap();
    let n: i64 = copy
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 5, "the copy holds the log as it was");
    let (code, out, _) = ems_in(cwd, &["serve", "--check-log", "--db", &db.url]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("2 set aside by an earlier repair"), "{out}");

    // The scenario renamed: the log is refused until it is relabelled.
    let renamed = cwd.join("renamed.toml");
    let toml = common::demo_toml().replace("name = \"Monaco demo\"", "name = \"Monaco 2027\"");
    assert!(toml.contains("Monaco 2027"));
    std::fs::write(&renamed, &toml).unwrap();
    let renamed_s = renamed.to_str().unwrap();
    let (code, _, err) = ems_in(
        cwd,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &db.url,
            "--scenario",
            renamed_s,
        ],
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("Monaco demo") && err.contains("Monaco 2027"),
        "{err}"
    );
    // A scenario with one ambulance at Condamine does not fit the log (condamine-2 worked).
    let stations = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo/stations.geojson"),
    )
    .unwrap()
    .replacen("\"ambulances\": 2", "\"ambulances\": 1", 1);
    std::fs::write(cwd.join("smaller.geojson"), stations).unwrap();
    let demo_stations = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("data/demo/stations.geojson")
        .display()
        .to_string();
    let smaller_toml = toml.replace(
        &format!("{demo_stations:?}"),
        &format!("{:?}", cwd.join("smaller.geojson").display().to_string()),
    );
    assert_ne!(smaller_toml, toml);
    std::fs::write(cwd.join("smaller.toml"), smaller_toml).unwrap();
    let (code, out, err) = ems_in(
        cwd,
        &[
            "db",
            "relabel",
            "--db",
            &db.url,
            "--scenario",
            "smaller.toml",
        ],
    );
    assert_eq!(code, Some(2), "{out}{err}");
    assert!(
        err.contains("do not replay against scenario `Monaco 2027`")
            && err.contains("condamine-2")
            && err.contains("nothing was changed"),
        "{err}"
    );
    let (b, base) = relabel_and_serve(cwd, &db.url, &renamed);
    let _guard = Replicas(vec![b]);
    let (code, _, v) = get(&base, "/v1/incidents", None);
    assert_eq!(code, 200);
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");
}

/// `ems db backup` of the log behind `bases` while two writers keep writing through them: the
/// copy holds every write acknowledged before the backup started (its idempotency record and
/// its incident), replays with `--check-log`, and a second backup into the same file is
/// refused. Returns how many writes were acknowledged before the backup and how many events
/// the copy holds.
fn backup_under_writes(db: &str, bases: &[String; 2], dir: &std::path::Path) -> (usize, u64) {
    let writers = Writers::start(bases, "bk");
    let t0 = Instant::now();
    while writers.acked() < 40 {
        assert!(t0.elapsed() < Duration::from_secs(60), "writers stalled");
        std::thread::sleep(Duration::from_millis(10));
    }
    let before = writers.acked.lock().unwrap().clone();
    let copy = dir.join("backup.sqlite");
    let copy_s = copy.to_str().unwrap();
    let (code, out, err) = ems_in(dir, &["db", "backup", "--db", db, "--to", copy_s]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("backed up") && !out.contains(":ems@"), "{out}");
    let during = writers.acked();
    while writers.acked() < during + 20 {
        assert!(t0.elapsed() < Duration::from_secs(60), "writers stalled");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (acked, _) = writers.finish();
    let c = rusqlite::Connection::open(&copy).unwrap();
    let keys: std::collections::BTreeSet<String> = c
        .prepare("SELECT key FROM idempotency")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let events: u64 = c
        .query_row("SELECT count(*) FROM events", [], |r| r.get::<_, i64>(0))
        .unwrap() as u64;
    let torn: i64 = c
        .query_row(
            "SELECT count(*) FROM idempotency WHERE seq NOT IN (SELECT seq FROM events)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(torn, 0, "every idempotency record's event is in the copy");
    assert!(events >= before.len() as u64);
    drop(c);
    for k in before.keys() {
        assert!(keys.contains(k), "{k} was acknowledged before the backup");
    }
    assert!(
        keys.len() < acked.len(),
        "a snapshot: later writes are not in it"
    );
    let (code, out, _) = ems_in(dir, &["serve", "--check-log", "--db", copy_s]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("{events} events, 0 do not replay")),
        "{out}"
    );
    let (code, _, err) = ems_in(dir, &["db", "backup", "--db", db, "--to", copy_s]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("already exists"), "{err}");
    (before.len(), events)
}

/// A live backup of a SQLite log (one server) and of a PostgreSQL log (two replicas), each in
/// the middle of writes.
#[test]
fn issue_17_a_live_backup_while_writers_run() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("events.sqlite");
    let (one, base) = spawn(sqlite.to_str().unwrap());
    let guard = Replicas(vec![one]);
    let sq = dir.path().join("sqlite");
    std::fs::create_dir(&sq).unwrap();
    let (n, events) = backup_under_writes(sqlite.to_str().unwrap(), &[base.clone(), base], &sq);
    eprintln!("SQLite: {n} writes acknowledged before the backup; the copy holds {events} events");
    drop(guard);
    let Some(db) = common::PgDb::create() else {
        return;
    };
    let (a, base_a) = spawn(&db.url);
    let (b, base_b) = spawn(&db.url);
    let _guard = Replicas(vec![a, b]);
    let pg = dir.path().join("pg");
    std::fs::create_dir(&pg).unwrap();
    let (n, events) = backup_under_writes(&db.url, &[base_a, base_b], &pg);
    eprintln!(
        "PostgreSQL: {n} writes acknowledged before the backup; the copy holds {events} events"
    );
}
