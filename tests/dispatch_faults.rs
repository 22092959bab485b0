//! `ems serve` under single-node faults (issue #14): a second server on the same log, a disk
//! that fills up, and `kill -9` again and again under concurrent writers with group commit.
//! Each runs the real binary as a child process.

#![cfg(unix)]

mod common;

use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::{Value, json};

const DISPATCHER: &str = "demo-dispatcher";
const VIEWER: &str = "demo-viewer";

/// `ems serve` on `db`, with `limit` (bytes) as its file size limit when given; its address.
fn spawn(db: &Path, fsize_limit: Option<u64>) -> (Child, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ems"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db);
    if let Some(limit) = fsize_limit {
        // A full disk, without root: writes past `limit` bytes fail (EFBIG), and the signal
        // that would kill the process is ignored, as a full disk sends none.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                let r = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: libc::RLIM_INFINITY,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &r) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    common::listening(cmd)
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn create(c: &Client, base: &str, note: &str) -> reqwest::Result<reqwest::blocking::Response> {
    c.post(format!("{base}/v1/incidents"))
        .bearer_auth(DISPATCHER)
        .header("Idempotency-Key", note)
        .json(&json!({"lon": 7.42, "lat": 43.735, "priority": 2, "note": note}))
        .send()
}

fn get(base: &str, path: &str) -> (u16, Value) {
    let r = client()
        .get(format!("{base}{path}"))
        .bearer_auth(VIEWER)
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap_or(Value::Null))
}

/// Every incident, following `GET /v1/incidents`'s pages (`Link: <...>; rel="next"`).
fn all_incidents(base: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = "/v1/incidents?limit=1000".to_string();
    loop {
        let r = client()
            .get(format!("{base}{path}"))
            .bearer_auth(VIEWER)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        let next = r
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        let v: Value = r.json().unwrap();
        out.extend(v.as_array().unwrap().iter().cloned());
        match next {
            Some(l) => path = l[1..l.find('>').unwrap()].to_string(),
            None => return out,
        }
    }
}

/// Note → incident ids, from `GET /v1/incidents`.
fn notes(base: &str) -> BTreeMap<String, Vec<u64>> {
    let mut m: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for i in all_incidents(base) {
        if let Some(n) = i["note"].as_str() {
            m.entry(n.to_string())
                .or_default()
                .push(i["id"].as_u64().unwrap());
        }
    }
    m
}

fn stop(mut child: Child) {
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Issue #14, item 1: two servers on one log used to both start, hand out the same incident
/// ids and leave a log that would not replay. The second is refused, naming the first.
#[test]
fn issue_14_a_second_server_on_the_same_log_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let (first, base) = spawn(&db, None);
    assert_eq!(create(&client(), &base, "one").unwrap().status(), 201);
    let out = Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("in use by another ems serve")
            && err.contains(&format!("pid {}", first.id()))
            && err.contains("events.sqlite"),
        "{err}"
    );
    // The first is unharmed, and after it is killed the log opens again (the OS dropped the
    // lock with the process).
    assert_eq!(create(&client(), &base, "two").unwrap().status(), 201);
    stop(first);
    let (again, base) = spawn(&db, None);
    assert_eq!(notes(&base).len(), 2);
    stop(again);
}

fn raise_fsize_limit(pid: u32) {
    let r = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    let rc = unsafe { libc::prlimit(pid as i32, libc::RLIMIT_FSIZE, &r, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "prlimit: {}", std::io::Error::last_os_error());
}

/// Issue #14, item 2: when the disk is full, a write fails with 503 and a JSON reason and
/// keeps nothing, in memory or on disk; `/healthz` says "degraded" with the reason; reads go
/// on; once space is back, writes work and health is "ok"; nothing acknowledged is lost.
#[test]
fn issue_14_a_full_disk_degrades_writes_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let (child, base) = spawn(&db, Some(400_000));
    let c = client();
    let mut acked = Vec::new();
    let mut refused = Vec::new();
    for n in 0..5_000 {
        let note = format!("w{n}");
        let r = create(&c, &base, &note).unwrap();
        match r.status().as_u16() {
            201 => acked.push(note),
            503 => {
                assert!(r.headers().contains_key("retry-after"));
                let v: Value = r.json().unwrap();
                assert_eq!(v["error"], "storage_unavailable", "{v}");
                assert!(v["message"].as_str().unwrap().contains("nothing"), "{v}");
                refused.push(note);
                if refused.len() == 5 {
                    break;
                }
            }
            s => panic!("{note}: unexpected {s}: {}", r.text().unwrap()),
        }
    }
    assert!(
        acked.len() > 10 && refused.len() == 5,
        "{} acknowledged, {} refused",
        acked.len(),
        refused.len()
    );
    let (s, h) = get(&base, "/healthz");
    assert_eq!(s, 200);
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(h["reason"].as_str().is_some_and(|r| !r.is_empty()), "{h}");
    assert!(h["failed_writes"].as_u64().unwrap() >= 5, "{h}");
    // Reads go on while four writers keep retrying (each refused, none re-reading the log),
    // and show none of the refused writes.
    let retrying = Arc::new(AtomicBool::new(true));
    let failures = Arc::new(AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (base, retrying, failures) = (base.clone(), retrying.clone(), failures.clone());
            std::thread::spawn(move || {
                let c = client();
                let mut n = 0;
                while retrying.load(Ordering::SeqCst) {
                    let r = create(&c, &base, &format!("retry-{t}-{n}")).unwrap();
                    assert_eq!(r.status().as_u16(), 503);
                    failures.fetch_add(1, Ordering::SeqCst);
                    n += 1;
                }
            })
        })
        .collect();
    let mut ms = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        assert_eq!(get(&base, "/v1/units").0, 200);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    retrying.store(false, Ordering::SeqCst);
    for w in writers {
        w.join().unwrap();
    }
    ms.sort_by(f64::total_cmp);
    println!(
        "GET /v1/units while {} writes failed: p50 {:.2} ms, p99 {:.2} ms",
        failures.load(Ordering::SeqCst),
        ms[100],
        ms[198]
    );
    let seen = notes(&base);
    assert!(
        refused.iter().all(|n| !seen.contains_key(n)),
        "a refused write is visible"
    );
    assert!(acked.iter().all(|n| seen.get(n).map(Vec::len) == Some(1)));
    // A retry of a refused key is a new request, not a replay of the failure.
    raise_fsize_limit(child.id());
    let r = create(&c, &base, &refused[0]).unwrap();
    assert_eq!(r.status(), 201);
    assert!(!r.headers().contains_key("idempotent-replayed"));
    acked.push(refused.remove(0));
    let (_, h) = get(&base, "/healthz");
    assert_eq!(h["status"], "ok", "{h}");
    let events_before = h["events"].as_u64().unwrap();
    stop(child);

    let (child, base) = spawn(&db, None);
    let after = notes(&base);
    for n in &acked {
        assert_eq!(after.get(n).map(Vec::len), Some(1), "acknowledged {n} lost");
    }
    for n in &refused {
        assert!(!after.contains_key(n), "refused {n} was kept");
    }
    assert_eq!(
        get(&base, "/healthz").1["events"].as_u64(),
        Some(events_before)
    );
    println!(
        "{} acknowledged before the disk filled, {} refused",
        acked.len(),
        refused.len()
    );
    stop(child);
}

/// Issue #14, item 3: `kill -9` in 50 cycles while 8 clients write concurrently (so commits
/// are grouped): every acknowledged write is there after each restart, exactly once, and a
/// write in doubt retried with its key is stored at most once.
#[test]
fn issue_14_kill_9_fifty_cycles_with_group_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let acked: Arc<Mutex<BTreeMap<String, u64>>> = Default::default();
    let mut in_doubt: Vec<String> = Vec::new();
    let mut grouped = 0usize;
    let (mut commits_total, mut events_total) = (0u64, 0u64);
    for cycle in 0..50 {
        let (child, base) = spawn(&db, None);
        // Check everything acknowledged so far, then retry what was in doubt.
        let now = notes(&base);
        common::assert_each_write_once(&now, &acked.lock().unwrap(), &format!("cycle {cycle}: "));
        for note in in_doubt.drain(..) {
            let r = create(&client(), &base, &note).unwrap();
            assert_eq!(r.status().as_u16(), 201, "retry of {note}");
            let v: Value = r.json().unwrap();
            let id = v["id"].as_u64().unwrap();
            if let Some(first) = now.get(&note) {
                assert_eq!(first, &vec![id], "a retried write got a new id");
            }
            acked.lock().unwrap().insert(note, id);
        }
        let count = Arc::new(AtomicUsize::new(0));
        let killed = Arc::new(AtomicBool::new(false));
        let doubt: Arc<Mutex<Vec<String>>> = Default::default();
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let (base, acked, count, killed, doubt) = (
                    base.clone(),
                    acked.clone(),
                    count.clone(),
                    killed.clone(),
                    doubt.clone(),
                );
                std::thread::spawn(move || {
                    let c = client();
                    for n in 0.. {
                        if killed.load(Ordering::SeqCst) && n > 0 {
                            return;
                        }
                        let note = format!("c{cycle}-t{t}-{n}");
                        match create(&c, &base, &note) {
                            Ok(r) if r.status().as_u16() == 201 => {
                                let v: Value = r.json().unwrap();
                                acked
                                    .lock()
                                    .unwrap()
                                    .insert(note, v["id"].as_u64().unwrap());
                                count.fetch_add(1, Ordering::SeqCst);
                            }
                            Ok(r) => panic!("{note}: unexpected {}", r.status()),
                            Err(_) => {
                                doubt.lock().unwrap().push(note);
                                return;
                            }
                        }
                    }
                })
            })
            .collect();
        let target = 20 + (cycle * 7) % 40;
        let t0 = Instant::now();
        while count.load(Ordering::SeqCst) < target && t0.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(1));
        }
        let h = get(&base, "/healthz").1;
        let (commits, events) = (
            h["commits"].as_u64().unwrap(),
            h["committed_events"].as_u64().unwrap(),
        );
        assert!(commits <= events, "{h}");
        commits_total += commits;
        events_total += events;
        killed.store(true, Ordering::SeqCst);
        stop(child);
        for t in threads {
            t.join().unwrap();
        }
        let n = count.load(Ordering::SeqCst);
        assert!(n >= target, "cycle {cycle}: only {n} writes acknowledged");
        grouped += n;
        in_doubt.extend(doubt.lock().unwrap().drain(..));
    }
    let (child, base) = spawn(&db, None);
    let fin = notes(&base);
    for (note, id) in acked.lock().unwrap().iter() {
        assert_eq!(fin.get(note), Some(&vec![*id]), "acknowledged {note} lost");
    }
    assert!(fin.values().all(|ids| ids.len() == 1));
    // Eight writers at once: commits were shared.
    assert!(
        commits_total < events_total,
        "{commits_total} commits for {events_total} events: nothing was grouped"
    );
    println!(
        "50 cycles: {} writes acknowledged under kill -9 ({} in doubt at the last kill), {} \
         stored; {} events in {} commits",
        grouped,
        in_doubt.len(),
        fin.len(),
        events_total,
        commits_total
    );
    stop(child);
}

/// Issue #14, item 1: a log damaged as two servers used to damage it (the second server's
/// incident 1 after the first's) would not replay, with no way out. `--check-log` lists the
/// events that do not replay (exit 1) and starts nothing; `--repair` copies the log, moves
/// those events to `set_aside` with their reason (nothing deleted), and the server starts on
/// the rest.
#[test]
fn issue_14_check_log_reports_and_repairs_a_log_two_servers_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("events.sqlite");
    let (child, base) = spawn(&db, None);
    let c = client();
    for n in ["first", "second"] {
        assert_eq!(create(&c, &base, n).unwrap().status(), 201);
    }
    stop(child);
    // What the second server wrote: its own incident 1, and an assignment to it.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let t = chrono::Utc::now().to_rfc3339();
        for body in [
            format!(
                r#"{{"type":"incident_created","id":1,"at":"{t}","lon":7.42,"lat":43.735,"priority":1,"condition":null,"note":"other server"}}"#
            ),
            format!(r#"{{"type":"unit_assigned","incident":2,"unit":"nope-1","at":"{t}"}}"#),
        ] {
            conn.execute(
                "INSERT INTO events (recorded, body, actor) VALUES (?1, ?2, 'x')",
                rusqlite::params![t, body],
            )
            .unwrap();
        }
    }
    let serve = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_ems"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(&db)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = serve(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("event 3 does not apply") && err.contains("--check-log"),
        "{err}"
    );

    let out = serve(&["--check-log"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("4 events, 2 do not replay")
            && text.contains("event 3: incident 1 exists")
            && text.contains("event 4: unknown unit `nope-1`"),
        "{text}"
    );

    let out = serve(&["--check-log", "--repair"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("2 events set aside"), "{text}");
    let backups: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("before-repair"))
        .collect();
    assert_eq!(backups.len(), 1);
    let conn = rusqlite::Connection::open(backups[0].path()).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM events", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 4, "the copy holds the log as it was");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let kept: Vec<(i64, String)> = conn
        .prepare("SELECT seq, reason FROM set_aside ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0].0, 3);
    assert!(kept[0].1.contains("incident 1 exists"));
    drop(conn);

    let out = serve(&["--check-log"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 set aside by an earlier repair"));
    let (child, base) = spawn(&db, None);
    assert_eq!(notes(&base).len(), 2);
    // Repair is refused while a server holds the log.
    let out = serve(&["--check-log", "--repair"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "nothing to repair: no lock needed"
    );
    stop(child);
}
