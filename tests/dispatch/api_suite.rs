use std::collections::BTreeSet;

use ems::dispatch::store::Location;
use std::sync::{Arc, Barrier};

use ems::api::{self, AppState, Config};
use ems::model::{self, Scenario};
use ems::network::TravelModel;
use reqwest::blocking::Client;
use serde_json::{Value, json};

const DISPATCHER: &str = "demo-dispatcher";
const VIEWER: &str = "demo-viewer";
const ADMIN: &str = "test-admin-token";

/// Which store this run of the suite uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)]
enum StoreKind {
    Sqlite,
    Postgres,
}

/// Whether this run cannot run (no PostgreSQL outside CI): the test returns at once.
fn skip() -> bool {
    STORE == StoreKind::Postgres && common::postgres_admin().is_none()
}

/// A fresh event log in this run's store: a SQLite file in a temporary folder, or a
/// PostgreSQL database made for the test and dropped after it.
struct Db {
    at: Location,
    _dir: tempfile::TempDir,
    _pg: Option<common::PgDb>,
}

impl Db {
    fn fresh() -> Db {
        let dir = tempfile::tempdir().unwrap();
        match STORE {
            StoreKind::Sqlite => Db {
                at: Location::Sqlite(dir.path().join("events.sqlite")),
                _dir: dir,
                _pg: None,
            },
            StoreKind::Postgres => {
                let pg = common::PgDb::create().expect("skip() is checked first");
                Db {
                    at: Location::parse(&pg.url),
                    _dir: dir,
                    _pg: Some(pg),
                }
            }
        }
    }
}

fn config(db: &Location) -> Config {
    let mut c = Config::parse(
        &format!(
            "{}\n[[tokens]]\nname = \"test admin\"\ntoken = \"{ADMIN}\"\nrole = \"admin\"\n",
            api::config::DEMO
        ),
        "test",
    )
    .unwrap();
    c.db = db.clone();
    c
}

/// The real server on a free port, stopped on drop.
struct Server {
    base: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    rt: Option<tokio::runtime::Runtime>,
    state: AppState,
    _db: Option<Db>,
}

impl Server {
    fn start() -> Server {
        Server::start_with(|_| {})
    }

    fn start_with(edit: impl FnOnce(&mut Config)) -> Server {
        let db = Db::fresh();
        let mut c = config(&db.at);
        edit(&mut c);
        let mut s = Server::with_config(c);
        s._db = Some(db);
        s
    }

    fn on(db: &Db) -> Server {
        Server::with_config(config(&db.at))
    }

    fn with_config(c: Config) -> Server {
        Server::with_scenario(Scenario::demo().unwrap(), c)
    }

    fn with_scenario(sc: Scenario, c: Config) -> Server {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let state = AppState::open(sc, c).unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        rt.spawn(async move {
            api::run(listener, st, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Server {
            base,
            stop: Some(tx),
            rt: Some(rt),
            state,
            _db: None,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The incident log export (`GET /v1/incidents.csv`) as text.
    fn export_csv(&self) -> String {
        Client::new()
            .get(self.url("/v1/incidents.csv"))
            .bearer_auth(VIEWER)
            .send()
            .unwrap()
            .text()
            .unwrap()
    }

    fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let r = Client::new()
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    fn get_with(&self, token: &str, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
        let mut r = Client::new().get(self.url(path)).bearer_auth(token);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        let r = r.send().unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        let r = Client::new()
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    fn ok(&self, path: &str, body: Value) -> Value {
        let (s, v) = self.post(DISPATCHER, path, body.clone());
        assert!(s == 200 || s == 201, "POST {path} {body}: {s} {v}");
        v
    }

    fn status(&self, unit: &str, status: &str, hospital: Option<&str>) -> Value {
        let mut b = json!({ "status": status });
        if let Some(h) = hospital {
            b["hospital_id"] = json!(h);
        }
        self.ok(&format!("/v1/units/{unit}/status"), b)
    }

    fn events(&self) -> u64 {
        self.state.fleet().unwrap().seq
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
        }
        // Releases the log's lock, so a test can start a server on it again.
        self.state.close();
    }
}

fn incident(s: &Server, lon: f64, lat: f64, condition: Option<&str>) -> (u64, Value) {
    let mut b = json!({"lon": lon, "lat": lat, "priority": 1});
    if let Some(c) = condition {
        b["condition"] = json!(c);
    }
    let v = s.ok("/v1/incidents", b);
    (v["id"].as_u64().unwrap(), v)
}

/// A unit through its whole cycle; the incident's stamps feed the standards check.
#[test]
fn lifecycle_end_to_end() {
    if skip() {
        return;
    }
    let s = Server::start();
    let (id, created) = incident(&s, 7.4246, 43.7384, Some("chest_pain"));
    let unit = created["recommendation"]["units"][0]["unit"]
        .as_str()
        .unwrap()
        .to_string();
    let hospital = created["recommendation"]["hospitals"][0]["hospital"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, rec) = s.get(VIEWER, &format!("/v1/incidents/{id}/recommendation"));
    assert_eq!(st, 200);
    assert_eq!(rec["units"][0]["unit"], json!(unit));
    assert_eq!(rec["units"][0]["route"]["geometry"]["type"], "LineString");
    let u = s.ok(
        &format!("/v1/incidents/{id}/assign"),
        json!({"unit_id": unit}),
    );
    assert_eq!(u["status"], "dispatched");
    let sc = Scenario::demo().unwrap();
    let position = |s: &Server| -> Value {
        let (_, us) = s.get(VIEWER, "/v1/units");
        us.as_array()
            .unwrap()
            .iter()
            .find(|u| u["id"] == json!(unit))
            .unwrap()["position"]
            .clone()
    };
    for step in ["en_route", "on_scene"] {
        s.status(&unit, step, None);
    }
    assert_eq!(
        position(&s),
        json!([7.4246, 43.7384]),
        "on scene: at the scene"
    );
    s.status(&unit, "transporting", Some(&hospital));
    s.status(&unit, "at_hospital", None);
    let h_at = sc
        .hospitals
        .iter()
        .find(|h| h.id == hospital)
        .unwrap()
        .lon_lat;
    assert_eq!(position(&s), json!(h_at), "at hospital: at the hospital");
    let (_, hs) = s.get(VIEWER, "/v1/hospitals");
    let h = hs
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == json!(hospital))
        .unwrap();
    assert_eq!(h["waiting_units"], json!([unit]));
    s.status(&unit, "handover_complete", None);
    s.status(&unit, "returning", None);
    let (_, open) = s.get(VIEWER, "/v1/incidents?open=true");
    assert_eq!(open, json!([]));
    let (_, inc) = s.get(VIEWER, &format!("/v1/incidents/{id}"));
    for f in [
        "dispatched",
        "departed",
        "on_scene",
        "at_hospital",
        "handover_complete",
        "closed",
    ] {
        assert!(inc[f].is_string(), "{f} not stamped: {inc}");
    }
    assert_eq!(inc["hospital"], json!(hospital));
    s.status(&unit, "available", None);
    let station = unit.rsplit_once('-').unwrap().0;
    let st_at = sc
        .stations
        .iter()
        .find(|x| x.id == station)
        .unwrap()
        .lon_lat;
    assert_eq!(position(&s), json!(st_at), "back available: at its station");
    // The export is the standards check's format, read back by its own parser.
    let csv = s.export_csv();
    let log =
        model::parse_incidents(csv.as_bytes(), "export", &model::ParseOptions::default()).unwrap();
    assert_eq!(log.incidents.len(), 1);
    let row = &log.incidents[0];
    assert_eq!(row.unit.as_deref(), Some(unit.as_str()));
    assert_eq!(row.hospital.as_deref(), Some(hospital.as_str()));
    assert_eq!(row.condition.as_deref(), Some("chest_pain"));
    assert!(row.handover_complete.is_some() && row.on_scene.is_some());
    let mut dq = ems::standards::DataQuality::default();
    let resp = ems::standards::response_from_log(&sc, &log.incidents, 12.0, &mut dq);
    assert_eq!(resp.reached_scene, 1);
    // `ems check` takes the export as its incident log.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.csv");
    std::fs::write(&path, &csv).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(["check", "--format", "json", "--incidents"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["data_quality"]["rows"], 1, "{report:.300}");
    let (_, k) = s.get(VIEWER, "/v1/kpis");
    assert_eq!(k["incidents_today"], 1);
    assert_eq!(k["reached_scene"], 1);
    assert_eq!(k["hospital_arrivals"], 1);
    assert_eq!(k["units_available"], 4);
}

/// The recommended unit is the one a Dijkstra from every unit picks.
#[test]
fn recommended_unit_equals_brute_force() {
    if skip() {
        return;
    }
    let s = Server::start();
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let mut q = tm.query();
    let mut rng = 12345u64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % 1_000_000) as f64 / 1_000_000.0
    };
    let nodes = &tm.network.nodes;
    let now = chrono::Utc::now().to_rfc3339();
    // Move units to random road nodes; one returning (no turnout), one out of service.
    let units = ["condamine-1", "condamine-2", "fontvieille-1", "smur-chpg-1"];
    for u in units {
        let p = nodes[(next() * nodes.len() as f64) as usize];
        s.ok(
            &format!("/v1/units/{u}/position"),
            json!({"lon": p[0], "lat": p[1], "at": now}),
        );
    }
    s.status("smur-chpg-1", "out_of_service", None);
    let (first, _) = incident(&s, 7.42, 43.735, None);
    s.ok(
        &format!("/v1/incidents/{first}/assign"),
        json!({"unit_id": "fontvieille-1"}),
    );
    s.status("fontvieille-1", "en_route", None);
    s.status("fontvieille-1", "on_scene", None);
    s.status("fontvieille-1", "returning", None);
    let (_, listed) = s.get(VIEWER, "/v1/units");
    let listed = listed.as_array().unwrap().clone();
    for _ in 0..25 {
        let p = nodes[(next() * nodes.len() as f64) as usize];
        let (id, created) = incident(&s, p[0], p[1], None);
        let scene = tm.snap(p).unwrap();
        let mut best: Option<(f64, String)> = None;
        for u in &listed {
            let status = u["status"].as_str().unwrap();
            if status != "available" && status != "returning" {
                continue;
            }
            let pos = [
                u["position"][0].as_f64().unwrap(),
                u["position"][1].as_f64().unwrap(),
            ];
            let from = tm.snap(pos).unwrap();
            let Some(e) = tm.eta(&mut q, &from, &scene) else {
                continue;
            };
            let eta = e.seconds() + if status == "available" { 60.0 } else { 0.0 };
            let id = u["id"].as_str().unwrap().to_string();
            if best
                .as_ref()
                .is_none_or(|b| eta < b.0 - 1e-9 || (eta <= b.0 + 1e-9 && id < b.1))
            {
                best = Some((eta, id));
            }
        }
        let (eta, unit) = best.unwrap();
        let top = &created["recommendation"]["units"][0];
        assert_eq!(top["unit"], json!(unit), "incident {id}");
        assert!((top["eta_s"].as_f64().unwrap() - eta).abs() < 1e-6);
        let ranked: Vec<&str> = created["recommendation"]["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["unit"].as_str().unwrap())
            .collect();
        assert!(
            !ranked.contains(&"smur-chpg-1"),
            "out of service recommended"
        );
    }
}

/// Designated centres first; a hospital holding ambulances drops behind one that is not.
#[test]
fn hospital_choice_respects_conditions_and_detention() {
    if skip() {
        return;
    }
    let s = Server::start();
    // Near the cardiac centre (CCM), far from CHPG.
    let (_, stroke) = incident(&s, 7.4246, 43.7384, Some("stroke"));
    let hs = &stroke["recommendation"]["hospitals"];
    assert_eq!(
        hs[0]["hospital"], "chpg",
        "stroke goes to the stroke centre"
    );
    assert!(hs[0]["eta_s"].as_f64() > hs[1]["eta_s"].as_f64());
    assert!(
        hs[1]["reason"]
            .as_str()
            .unwrap()
            .contains("not a designated stroke centre")
    );
    let (_, chest) = incident(&s, 7.4246, 43.7384, Some("chest_pain"));
    assert_eq!(chest["recommendation"]["hospitals"][0]["hospital"], "ccm");
    // Fill CCM's two bays.
    for unit in ["condamine-1", "condamine-2"] {
        let (id, _) = incident(&s, 7.4246, 43.7384, None);
        s.ok(
            &format!("/v1/incidents/{id}/assign"),
            json!({"unit_id": unit}),
        );
        s.status(unit, "en_route", None);
        s.status(unit, "on_scene", None);
        s.status(unit, "transporting", Some("ccm"));
        s.status(unit, "at_hospital", None);
    }
    let (_, again) = incident(&s, 7.4246, 43.7384, Some("chest_pain"));
    let hs = &again["recommendation"]["hospitals"];
    assert_eq!(hs[0]["hospital"], "chpg", "{hs}");
    assert_eq!(hs[1]["hospital"], "ccm");
    assert_eq!(hs[1]["detaining"], true);
    assert_eq!(hs[1]["units_waiting"], 2);
    assert!(
        hs[1]["reason"]
            .as_str()
            .unwrap()
            .contains("holding ambulances")
    );
    // Stroke still goes to the stroke centre even if it were holding: designation first.
    let (_, none) = incident(&s, 7.4246, 43.7384, None);
    assert_eq!(none["recommendation"]["hospitals"][0]["hospital"], "chpg");
}

/// Every role against reads and writes; refused requests write nothing.
#[test]
fn roles_and_permissions() {
    if skip() {
        return;
    }
    let s = Server::start();
    let reads = [
        "/v1/units",
        "/v1/hospitals",
        "/v1/incidents",
        "/v1/incidents.csv",
        "/v1/kpis",
        "/v1/coverage/gaps",
    ];
    let tokens: [(Option<&str>, u16, u16); 5] = [
        (None, 401, 401),
        (Some("wrong-token-123"), 401, 401),
        (Some(VIEWER), 200, 403),
        (Some(DISPATCHER), 200, 201),
        (Some(ADMIN), 200, 201),
    ];
    for (token, read, write) in tokens {
        for path in reads {
            let mut r = Client::new().get(s.url(path));
            if let Some(t) = token {
                r = r.bearer_auth(t);
            }
            let resp = r.send().unwrap();
            assert_eq!(resp.status().as_u16(), read, "{token:?} GET {path}");
            if read != 200 {
                let v: Value = resp.json().unwrap();
                assert!(v["message"].is_string());
            }
        }
        let before = s.events();
        let mut r = Client::new()
            .post(s.url("/v1/incidents"))
            .json(&json!({"lon": 7.42, "lat": 43.735, "priority": 2}));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let resp = r.send().unwrap();
        assert_eq!(resp.status().as_u16(), write, "{token:?} POST");
        if write != 201 {
            assert_eq!(s.events(), before, "a refused write was logged");
            let www = resp.headers().get("www-authenticate").is_some();
            assert_eq!(www, write == 401);
        }
    }
    // Health and the API document are public.
    assert_eq!(
        Client::new()
            .get(s.url("/healthz"))
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        Client::new()
            .get(s.url("/openapi.json"))
            .send()
            .unwrap()
            .status(),
        200
    );
}

/// Each kind of bad input gets a 4xx with a JSON message, and writes nothing.
/// The first half of `bad_input_gets_a_clear_4xx`'s cases: method, path, body, status, what
/// the message says.
fn bad_incident_requests() -> Vec<(&'static str, &'static str, String, u16, &'static str)> {
    vec![
        (
            "POST",
            "/v1/incidents",
            json!({"lon": 200.0, "lat": 43.7, "priority": 1}).to_string(),
            422,
            "lon 200",
        ),
        (
            "POST",
            "/v1/incidents",
            json!({"lon": 7.4, "lat": -95.0, "priority": 1}).to_string(),
            422,
            "lat -95",
        ),
        (
            "POST",
            "/v1/incidents",
            json!({"lon": 2.35, "lat": 48.85, "priority": 1}).to_string(),
            422,
            "off the road map",
        ),
        (
            "POST",
            "/v1/incidents",
            json!({"lon": 7.42, "lat": 43.735, "priority": 7}).to_string(),
            422,
            "priority 7",
        ),
        (
            "POST",
            "/v1/incidents",
            json!({"lon": 7.42, "lat": 43.735, "priority": 1, "condition": "flu"}).to_string(),
            422,
            "condition `flu`",
        ),
        (
            "POST",
            "/v1/incidents",
            json!({"lon": "east", "lat": 43.735, "priority": 1}).to_string(),
            422,
            "invalid type",
        ),
        (
            "POST",
            "/v1/incidents",
            json!({"lat": 43.735, "priority": 1}).to_string(),
            422,
            "missing field `lon`",
        ),
        (
            "POST",
            "/v1/incidents",
            json!({"lon": 7.42, "lat": 43.735, "priority": 1, "colour": "red"}).to_string(),
            422,
            "unknown field `colour`",
        ),
        (
            "POST",
            "/v1/incidents",
            "{\"lon\": 7.42,".to_string(),
            400,
            "malformed JSON",
        ),
        (
            "POST",
            "/v1/incidents",
            "not json".to_string(),
            400,
            "malformed JSON",
        ),
        (
            "POST",
            "/v1/incidents",
            format!("{{\"note\": \"{}\"}}", "x".repeat(70_000)),
            413,
            "larger than 65536 bytes",
        ),
        (
            "POST",
            "/v1/incidents/999/assign",
            json!({"unit_id": "condamine-1"}).to_string(),
            404,
            "unknown incident 999",
        ),
        (
            "POST",
            "/v1/incidents/abc/assign",
            json!({"unit_id": "condamine-1"}).to_string(),
            404,
            "no incident `abc`",
        ),
    ]
}

/// The second half of `bad_input_gets_a_clear_4xx`'s cases.
fn bad_unit_requests(
    assign_path: &str,
) -> Vec<(&'static str, &str, String, u16, &'static str)> {
    vec![
        (
            "POST",
            assign_path,
            json!({"unit_id": "nobody"}).to_string(),
            404,
            "unknown unit `nobody`",
        ),
        (
            "POST",
            "/v1/units/nobody/status",
            json!({"status": "en_route"}).to_string(),
            404,
            "unknown unit",
        ),
        (
            "POST",
            "/v1/units/condamine-1/status",
            json!({"status": "flying"}).to_string(),
            422,
            "status `flying`",
        ),
        (
            "POST",
            "/v1/units/condamine-1/status",
            json!({"status": "on_scene"}).to_string(),
            409,
            "cannot go to on_scene",
        ),
        (
            "POST",
            "/v1/units/condamine-1/status",
            json!({"status": "dispatched"}).to_string(),
            409,
            "assignment",
        ),
        (
            "POST",
            "/v1/units/condamine-1/status",
            json!({"status": "out_of_service", "at": "2099-01-01T00:00:00Z"}).to_string(),
            422,
            "ahead of the server clock",
        ),
        (
            "POST",
            "/v1/units/condamine-1/status",
            json!({"status": "out_of_service", "at": "0000-01-01T00:00:00Z"}).to_string(),
            422,
            "before 2000",
        ),
        (
            "POST",
            "/v1/units/condamine-1/status",
            json!({"status": "out_of_service", "at": "yesterday"}).to_string(),
            422,
            "invalid",
        ),
        (
            "POST",
            "/v1/units/condamine-1/position",
            json!({"lon": 7.42, "lat": 43.73}).to_string(),
            422,
            "missing field `at`",
        ),
        (
            "POST",
            "/v1/units/condamine-1/position",
            json!({"lon": 9.5, "lat": 47.1, "at": chrono::Utc::now().to_rfc3339()}).to_string(),
            422,
            "off the road map",
        ),
        (
            "GET",
            "/v1/incidents/12345",
            String::new(),
            404,
            "no incident 12345",
        ),
        (
            "GET",
            "/v1/incidents/x/recommendation",
            String::new(),
            404,
            "no incident `x`",
        ),
        (
            "GET",
            "/v1/incidents?open=maybe",
            String::new(),
            400,
            "expected true or false",
        ),
        ("GET", "/v1/nowhere", String::new(), 404, "no route"),
    ]
}

#[test]
fn bad_input_gets_a_clear_4xx() {
    if skip() {
        return;
    }
    let s = Server::start();
    let (id, _) = incident(&s, 7.42, 43.735, None);
    let before = s.events();
    let assign_path = format!("/v1/incidents/{id}/assign");
    let mut cases = bad_incident_requests();
    cases.extend(bad_unit_requests(&assign_path));
    for (method, path, body, want, says) in cases {
        let c = Client::new();
        let r = if method == "GET" {
            c.get(s.url(path))
        } else {
            c.post(s.url(path))
                .header("content-type", "application/json")
                .body(body.clone())
        };
        let resp = r.bearer_auth(DISPATCHER).send().unwrap();
        let status = resp.status().as_u16();
        let v: Value = resp.json().unwrap_or(Value::Null);
        assert_eq!(status, want, "{method} {path} {body:.80}: {v}");
        let msg = v["message"].as_str().unwrap_or_default();
        assert!(
            msg.contains(says),
            "{method} {path}: `{msg}` should say `{says}`"
        );
    }
    // A transporting unit needs a hospital, and the hospital must exist.
    s.ok(
        &format!("/v1/incidents/{id}/assign"),
        json!({"unit_id": "condamine-1"}),
    );
    s.status("condamine-1", "en_route", None);
    s.status("condamine-1", "on_scene", None);
    let after_setup = s.events();
    let (st, v) = s.post(
        DISPATCHER,
        "/v1/units/condamine-1/status",
        json!({"status": "transporting"}),
    );
    assert_eq!(st, 422, "{v}");
    let (st, v) = s.post(
        DISPATCHER,
        "/v1/units/condamine-1/status",
        json!({"status": "transporting", "hospital_id": "nowhere"}),
    );
    assert_eq!(st, 422, "{v}");
    assert!(v["message"].as_str().unwrap().contains("unknown hospital"));
    assert_eq!(s.events(), after_setup, "a refused change was logged");
    assert_eq!(before + 3, after_setup);
}

/// Two dispatchers racing for one unit: exactly one wins, the other gets 409.
#[test]
fn racing_dispatchers_one_wins() {
    if skip() {
        return;
    }
    let s = Arc::new(Server::start());
    for round in 0..10 {
        let (a, _) = incident(&s, 7.42, 43.735, None);
        let (b, _) = incident(&s, 7.43, 43.74, None);
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = [a, b]
            .into_iter()
            .map(|id| {
                let (s, barrier) = (s.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    s.post(
                        DISPATCHER,
                        &format!("/v1/incidents/{id}/assign"),
                        json!({"unit_id": "condamine-1"}),
                    )
                    .0
                })
            })
            .collect();
        let mut codes: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        codes.sort();
        assert_eq!(codes, vec![200, 409], "round {round}");
        // Stand the unit down so the next round starts from available.
        s.status("condamine-1", "available", None);
    }
}

/// A retried POST with the same Idempotency-Key returns the first answer and writes nothing.
#[test]
fn idempotent_retry_returns_the_first_answer() {
    if skip() {
        return;
    }
    let s = Server::start();
    let send = |key: &str, body: Value| {
        let r = Client::new()
            .post(s.url("/v1/incidents"))
            .bearer_auth(DISPATCHER)
            .header("Idempotency-Key", key)
            .json(&body)
            .send()
            .unwrap();
        let replayed = r.headers().get("idempotent-replayed").is_some();
        (r.status().as_u16(), replayed, r.json::<Value>().unwrap())
    };
    let body = json!({"lon": 7.42, "lat": 43.735, "priority": 2, "note": "retry me"});
    let (s1, r1, v1) = send("call-1", body.clone());
    let events = s.events();
    let (s2, r2, v2) = send("call-1", body.clone());
    assert_eq!((s1, r1), (201, false));
    assert_eq!((s2, r2), (201, true));
    assert_eq!(v1, v2);
    assert_eq!(s.events(), events);
    let (_, all) = s.get(VIEWER, "/v1/incidents");
    assert_eq!(all.as_array().unwrap().len(), 1);
    // The same key for another request is refused; another key is a new incident.
    let (s3, _, v3) = send("call-1", json!({"lon": 7.43, "lat": 43.74, "priority": 2}));
    assert_eq!(s3, 422, "{v3}");
    let (s4, _, v4) = send("call-2", body);
    assert_eq!(s4, 201);
    assert_ne!(v4["id"], v1["id"]);
}

/// The state is rebuilt from the log after a restart.
#[test]
fn state_survives_a_restart() {
    if skip() {
        return;
    }
    let db = Db::fresh();
    let before = {
        let s = Server::on(&db);
        let (id, _) = incident(&s, 7.42, 43.735, Some("trauma"));
        s.ok(
            &format!("/v1/incidents/{id}/assign"),
            json!({"unit_id": "fontvieille-1"}),
        );
        s.status("fontvieille-1", "en_route", None);
        s.ok(
            "/v1/units/condamine-2/position",
            json!({"lon": 7.425, "lat": 43.737, "at": chrono::Utc::now().to_rfc3339()}),
        );
        s.status("smur-chpg-1", "out_of_service", None);
        s.state.fleet().unwrap()
    };
    let s = Server::on(&db);
    assert_eq!(s.state.fleet().unwrap(), before);
    let (id, _) = incident(&s, 7.42, 43.735, None);
    assert_eq!(id, 2, "incident ids continue after a restart");
}

/// Dispatch screens see every change on the event stream.
#[test]
fn event_stream_carries_changes() {
    if skip() {
        return;
    }
    use std::io::{BufRead, BufReader};
    let s = Server::start();
    let resp = Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
        .get(s.url("/v1/events"))
        .bearer_auth(VIEWER)
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut lines = BufReader::new(resp).lines();
    let (id, _) = incident(&s, 7.42, 43.735, None);
    s.ok(
        &format!("/v1/incidents/{id}/assign"),
        json!({"unit_id": "condamine-1"}),
    );
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let line = lines.next().unwrap().unwrap();
        if let Some(data) = line.strip_prefix("data: ") {
            let v: Value = serde_json::from_str(data).unwrap();
            seen.push(v["event"]["type"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen, ["incident_created", "unit_assigned"]);
}

/// Coverage gaps and a move-up when units are busy: doing the suggested move gives the
/// coverage it promised.
#[test]
fn coverage_gaps_suggest_a_move_up() {
    if skip() {
        return;
    }
    let s = Server::start();
    let (_, g) = s.get(VIEWER, "/v1/coverage/gaps");
    assert_eq!(
        g["coverage_now"], 1.0,
        "Monaco is within 12 minutes of every station"
    );
    assert_eq!(g["uncovered"], json!([]));
    // A 4.5-minute target leaves zones out.
    let s = Server::start_with(|c| c.response_target_min = 4.5);
    let (_, g) = s.get(VIEWER, "/v1/coverage/gaps");
    let (_, k) = s.get(VIEWER, "/v1/kpis");
    assert_eq!(k["coverage_now"], g["coverage_now"]);
    s.status("smur-chpg-1", "out_of_service", None);
    let (_, g) = s.get(VIEWER, "/v1/coverage/gaps");
    let now = g["coverage_now"].as_f64().unwrap();
    assert!(!g["uncovered"].as_array().unwrap().is_empty(), "{g}");
    let m = g["move_up"]
        .as_object()
        .expect("a move-up restores coverage");
    let gained = m["population_gained"].as_f64().unwrap();
    assert!(gained > 0.0);
    let to = m["to_station"].as_str().unwrap();
    let unit = m["unit"].as_str().unwrap();
    let sc = Scenario::demo().unwrap();
    let st = sc.stations.iter().find(|x| x.id == to).unwrap();
    // Issue #14: the dispatcher carries it out with POST /v1/move-ups; the unit is relocating
    // (free for calls on the way), then available at its new post.
    let u = s.ok("/v1/move-ups", json!({"unit_id": unit, "to_station": to}));
    assert_eq!(
        (u["status"].as_str(), u["post"].as_str()),
        (Some("relocating"), Some(to))
    );
    let (code, e) = s.post(
        DISPATCHER,
        "/v1/move-ups",
        json!({"unit_id": unit, "to_station": to}),
    );
    assert_eq!(code, 409, "a relocating unit is not moved again: {e}");
    let (code, e) = s.post(
        DISPATCHER,
        &format!("/v1/units/{unit}/status"),
        json!({"status": "relocating"}),
    );
    assert_eq!(code, 409, "{e}");
    let (code, e) = s.post(
        DISPATCHER,
        "/v1/move-ups",
        json!({"unit_id": "condamine-2", "to_station": "atlantis"}),
    );
    assert_eq!(code, 422, "{e}");
    let u = s.status(unit, "available", None);
    assert_eq!(
        u["position"],
        json!(st.lon_lat),
        "available at the new post"
    );
    assert_eq!(u["post"], to);
    let (_, after) = s.get(VIEWER, "/v1/coverage/gaps");
    let a = after["coverage_now"].as_f64().unwrap();
    assert!(
        (a - m["coverage_after"].as_f64().unwrap()).abs() < 1e-9,
        "{after} vs {m:?}"
    );
    assert!(a > now);
}

/// The OpenAPI document lists every route.
#[test]
fn openapi_lists_every_route() {
    if skip() {
        return;
    }
    let s = Server::start();
    let (st, doc) = s.get(VIEWER, "/openapi.json");
    assert_eq!(st, 200);
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for p in [
        "/healthz",
        "/v1/incidents",
        "/v1/incidents.csv",
        "/v1/incidents/{id}",
        "/v1/incidents/{id}/recommendation",
        "/v1/incidents/{id}/assign",
        "/v1/units",
        "/v1/units/{id}/status",
        "/v1/units/{id}/position",
        "/v1/hospitals",
        "/v1/kpis",
        "/v1/coverage/gaps",
        "/v1/events",
    ] {
        assert!(paths.contains(p), "{p} missing from {paths:?}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// A server on the demo with a traffic profile of `factor` at every hour on every class, bus
/// lanes off (they would keep free flow under it), its log in `dir`.
fn with_uniform_traffic(db: &Db, factor: f64) -> Server {
    let mut sc = Scenario::demo().unwrap();
    let text = format!(
        "name = \"uniform\"\nby_hour = [{}]\n",
        vec![format!("{factor:?}"); 24].join(",")
    );
    sc.travel.traffic = Some(Arc::new(
        ems::network::TrafficProfile::parse(&text, "uniform.toml").unwrap(),
    ));
    sc.travel.profile.bus_lanes = false;
    Server::with_scenario(sc, config(&db.at))
}

/// Issue #13: with a traffic profile the live ETAs are the current local hour's: a profile of
/// 2.0 at every hour doubles the free-flow ETA of every ranked unit (and says which hour).
#[test]
fn issue_13_live_etas_use_the_current_hour_of_the_traffic_profile() {
    if skip() {
        return;
    }
    let (free_db, slow_db) = (Db::fresh(), Db::fresh());
    let free = Server::on(&free_db);
    let slow = with_uniform_traffic(&slow_db, 2.0);
    let (_, a) = incident(&free, 7.4197, 43.7325, None);
    let (_, b) = incident(&slow, 7.4197, 43.7325, None);
    assert!(a["recommendation"]["travel_hour"].is_null());
    let hour = b["recommendation"]["travel_hour"].as_u64().unwrap();
    assert!(hour < 24);
    let etas = |v: &Value| -> Vec<(String, f64)> {
        v["recommendation"]["units"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["unit"].as_str().unwrap().to_string(),
                    u["eta_s"].as_f64().unwrap(),
                )
            })
            .collect()
    };
    let (ea, eb) = (etas(&a), etas(&b));
    assert!(!ea.is_empty());
    let turnout = 60.0;
    for ((ua, ta), (ub, tb)) in ea.iter().zip(&eb) {
        assert_eq!(ua, ub);
        // ETA = turnout (units at their station) + travel; the travel doubles.
        let (da, db) = (ta - turnout, tb - turnout);
        assert!(
            (db - 2.0 * da).abs() <= 1.0 + 1e-3 * da,
            "{ua}: {ta} -> {tb}"
        );
    }
}

/// Coverage now, the move-up and the KPIs' coverage use the current hour's travel times too
/// (issue #13): a profile five times as slow at every hour covers less, and says its hour.
#[test]
fn issue_13_live_coverage_uses_the_current_hour_of_the_traffic_profile() {
    if skip() {
        return;
    }
    let (free_db, jam_db) = (Db::fresh(), Db::fresh());
    let free = Server::on(&free_db);
    let jam = with_uniform_traffic(&jam_db, 5.0);
    let (_, gf) = free.get(VIEWER, "/v1/coverage/gaps");
    let (_, gj) = jam.get(VIEWER, "/v1/coverage/gaps");
    assert!(gf["travel_hour"].is_null());
    assert!(gj["travel_hour"].as_u64().unwrap() < 24);
    let (cf, cj) = (
        gf["coverage_now"].as_f64().unwrap(),
        gj["coverage_now"].as_f64().unwrap(),
    );
    assert!(cj < cf, "jammed {cj} vs free flow {cf}");
    assert!(gj["uncovered"].as_array().unwrap().len() > gf["uncovered"].as_array().unwrap().len());
    let (_, kf) = free.get(VIEWER, "/v1/kpis");
    let (_, kj) = jam.get(VIEWER, "/v1/kpis");
    assert_eq!(kf["coverage_now"].as_f64().unwrap(), cf);
    assert_eq!(kj["coverage_now"].as_f64().unwrap(), cj);
    assert_eq!(kj["travel_hour"], gj["travel_hour"]);
}

/// The drive's start in the live log (issue #13: calibration from the live log starts at the
/// unit's last position): the unit's position when assigned, updated by an AVL report before it
/// departs; the export carries it as `start_lon`/`start_lat` and the reader reads it back.
#[test]
fn issue_13_the_live_log_records_where_each_drive_started() {
    if skip() {
        return;
    }
    let s = Server::start();
    let (id, _) = incident(&s, 7.4246, 43.7384, None);
    let unit = "fontvieille-1";
    s.ok(
        &format!("/v1/incidents/{id}/assign"),
        json!({"unit_id": unit}),
    );
    let (_, inc) = s.get(VIEWER, &format!("/v1/incidents/{id}"));
    let sc = Scenario::demo().unwrap();
    let station = sc.stations.iter().find(|x| x.id == "fontvieille").unwrap();
    assert_eq!(
        inc["start_lon_lat"],
        json!(station.lon_lat),
        "at its station"
    );
    let now = chrono::Utc::now().to_rfc3339();
    s.ok(
        &format!("/v1/units/{unit}/position"),
        json!({"lon": 7.4180, "lat": 43.7330, "at": now}),
    );
    // The unit's position as the server keeps it (AVL reports are put on the road).
    let (_, us) = s.get(VIEWER, "/v1/units");
    let at = us
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == json!(unit))
        .unwrap()["position"]
        .clone();
    let moved = [at[0].as_f64().unwrap(), at[1].as_f64().unwrap()];
    assert_ne!(json!(moved), json!(station.lon_lat));
    s.status(unit, "en_route", None);
    s.status(unit, "on_scene", None);
    let (_, inc) = s.get(VIEWER, &format!("/v1/incidents/{id}"));
    assert_eq!(inc["start_lon_lat"], json!(moved), "where it departed from");
    let csv = s.export_csv();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .ends_with(",start_lon,start_lat"),
        "{csv}"
    );
    let log =
        model::parse_incidents(csv.as_bytes(), "export", &model::ParseOptions::default()).unwrap();
    let got = log.incidents[0].start_lon_lat.unwrap();
    assert!((got[0] - moved[0]).abs() < 1e-6 && (got[1] - moved[1]).abs() < 1e-6);
}

/// Issue #14, item 9 (done early): the authorization scheme is case-insensitive.
#[test]
fn lower_case_bearer_is_accepted() {
    if skip() {
        return;
    }
    let s = Server::start();
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let r = Client::new()
            .get(s.url("/v1/units"))
            .header("Authorization", format!("{scheme} {VIEWER}"))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{scheme}");
    }
    let r = Client::new()
        .get(s.url("/v1/units"))
        .header("Authorization", format!("Basic {VIEWER}"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

/// One event-stream message as read: its id, its `event:` name (None for data), its data.
#[derive(Debug)]
struct SseMsg {
    id: Option<u64>,
    kind: Option<String>,
    data: Value,
}

/// Parses SSE text into messages (comments and keep-alives skipped).
fn parse_sse(
    lines: impl Iterator<Item = String>,
    mut until: impl FnMut(&SseMsg) -> bool,
) -> Vec<SseMsg> {
    let mut out = Vec::new();
    let (mut id, mut kind, mut data) = (None, None, None);
    for line in lines {
        let line = line.trim_end_matches('\r');
        if let Some(v) = line.strip_prefix("id: ") {
            id = v.trim().parse().ok();
        } else if let Some(v) = line.strip_prefix("event: ") {
            kind = Some(v.to_string());
        } else if let Some(v) = line.strip_prefix("data: ") {
            data = serde_json::from_str(v).ok();
        } else if line.is_empty() {
            if let Some(d) = data.take() {
                let m = SseMsg {
                    id: id.take(),
                    kind: kind.take(),
                    data: d,
                };
                let stop = until(&m);
                out.push(m);
                if stop {
                    break;
                }
            }
            id = None;
            kind = None;
        }
    }
    out
}

/// A TCP connection to `base` with a small receive buffer, so that a client that does not read
/// falls behind after a few hundred kilobytes rather than several megabytes.
#[cfg(unix)]
fn small_buffer_connection(base: &str) -> std::net::TcpStream {
    use std::os::fd::FromRawFd;
    let addr: std::net::SocketAddrV4 = base.trim_start_matches("http://").parse().unwrap();
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0);
        let size: libc::c_int = 4096;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            &size as *const _ as *const libc::c_void,
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        let sa = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: addr.port().to_be(),
            sin_addr: libc::in_addr {
                s_addr: u32::from(*addr.ip()).to_be(),
            },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(
            fd,
            &sa as *const _ as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        std::net::TcpStream::from_raw_fd(fd)
    }
}

/// Issue #14, item 4: a client that stopped reading used to lose events silently (394 of
/// 1,500). Now every message has an `id:`, and a client that falls behind the live buffer is
/// caught up from the log: after 30,000 events written while it did not read, it gets every id
/// once, in order, with no resync needed. A client that reconnects with `Last-Event-ID` gets
/// every later event once, in order; notes stay out of the stream and each event names the
/// token that made it.
#[cfg(unix)]
#[test]
fn issue_14_a_lagging_stream_client_misses_nothing_and_resumes() {
    if skip() {
        return;
    }
    use std::io::{BufRead, BufReader, Write};
    let s = Server::start_with(|c| c.stream_buffer = 64);
    let mut raw = small_buffer_connection(&s.base);
    write!(
        raw,
        "GET /v1/events HTTP/1.0\r\nAuthorization: Bearer {VIEWER}\r\n\r\n"
    )
    .unwrap();
    // Wait for the stream to be open before writing.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (first, _) = incident(&s, 7.42, 43.735, None);
    let units: Vec<String> = s
        .get(VIEWER, "/v1/units")
        .1
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    // Past the server's socket send buffer (autotuned up to 4 MiB here) and the 64 messages.
    let total = 30_000;
    let per = total / units.len() + 1;
    let threads: Vec<_> = units
        .iter()
        .map(|u| {
            let url = s.url(&format!("/v1/units/{u}/position"));
            std::thread::spawn(move || {
                let c = Client::new();
                for k in 0..per {
                    let r = c
                        .post(&url)
                        .bearer_auth(DISPATCHER)
                        .json(&json!({"lon": 7.42 + 1e-5 * (k % 50) as f64, "lat": 43.735,
                                      "at": chrono::Utc::now().to_rfc3339()}))
                        .send()
                        .unwrap();
                    assert_eq!(r.status(), 200);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let head = s.get(VIEWER, "/healthz").1["events"].as_u64().unwrap();
    raw.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let lines = BufReader::new(raw).lines().map_while(Result::ok);
    let got = parse_sse(lines, |m| m.id == Some(head) || m.kind.is_some());
    assert!(
        got.iter().all(|m| m.kind.is_none()),
        "unexpected {:?}",
        got.last()
    );
    let ids: Vec<u64> = got.iter().map(|m| m.id.unwrap()).collect();
    assert_eq!(ids, (first..=head).collect::<Vec<_>>(), "a gap or a repeat");
    assert!(got[0].data["event"].get("note").is_none());
    assert_eq!(got[0].data["by"], "demo dispatcher");

    // Resume from the middle of the log.
    let resume_from = head / 3;
    let resp = Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap()
        .get(s.url("/v1/events"))
        .bearer_auth(VIEWER)
        .header("Last-Event-ID", resume_from.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let lines = BufReader::new(resp).lines().map_while(Result::ok);
    let rest = parse_sse(lines, |m| m.id == Some(head));
    let ids: Vec<u64> = rest.iter().map(|m| m.id.unwrap()).collect();
    assert_eq!(ids, (resume_from + 1..=head).collect::<Vec<_>>());
    let (code, e) = s.get_with(VIEWER, "/v1/events", &[("Last-Event-ID", "yesterday")]);
    assert_eq!(code, 400, "{e}");
}

/// Issue #14, item 5: clock skew both ways. A tablet ahead of the server within the tolerance
/// is taken at the server's time (its own kept as `reported_at`), and the unit can be assigned
/// at once; beyond the tolerance, 422. A tablet behind the server can still report `en_route`
/// after a dispatch the server stamped; beyond the tolerance, 422. `Last-Event-ID` 0 replays
/// the log, where the clamped stamps carry `reported_at`.
#[test]
fn issue_14_clock_skew_within_the_tolerance_is_clamped_and_flagged() {
    if skip() {
        return;
    }
    use chrono::{Duration, Utc};
    let s = Server::start_with(|c| c.clock_skew_s = 300);
    // Ahead: 290 s, then 400 s.
    let ahead = Utc::now() + Duration::seconds(290);
    let u = s.ok(
        "/v1/units/condamine-1/status",
        json!({"status": "out_of_service", "at": ahead.to_rfc3339()}),
    );
    let since: chrono::DateTime<Utc> = serde_json::from_value(u["since"].clone()).unwrap();
    assert!(since <= Utc::now(), "stored ahead of the server: {since}");
    let (code, e) = s.post(
        DISPATCHER,
        "/v1/units/condamine-1/status",
        json!({"status": "available", "at": (Utc::now() + Duration::seconds(400)).to_rfc3339()}),
    );
    assert_eq!(code, 422, "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("tolerated clock skew is 300 s"),
        "{e}"
    );
    s.ok(
        "/v1/units/condamine-1/status",
        json!({"status": "available", "at": (Utc::now() + Duration::seconds(250)).to_rfc3339()}),
    );
    // The unit is recommended first for a call next to its station, and can be assigned now.
    let (id, created) = incident(&s, 7.4195, 43.7375, None);
    let first = created["recommendation"]["units"][0]["unit"]
        .as_str()
        .unwrap()
        .to_string();
    s.ok(
        &format!("/v1/incidents/{id}/assign"),
        json!({"unit_id": first}),
    );
    // Behind: a tablet three minutes slow reports en_route for that dispatch.
    let slow = Utc::now() - Duration::seconds(180);
    let u = s.ok(
        &format!("/v1/units/{first}/status"),
        json!({"status": "en_route", "at": slow.to_rfc3339()}),
    );
    let inc = s.get(VIEWER, &format!("/v1/incidents/{id}")).1;
    assert_eq!(inc["departed"], inc["dispatched"], "{inc}");
    assert_eq!(u["since"], inc["dispatched"]);
    let (code, e) = s.post(
        DISPATCHER,
        &format!("/v1/units/{first}/status"),
        json!({"status": "on_scene", "at": (Utc::now() - Duration::seconds(900)).to_rfc3339()}),
    );
    assert_eq!(code, 422, "{e}");
    // The log keeps what each tablet said.
    let resp = Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap()
        .get(s.url("/v1/events"))
        .bearer_auth(VIEWER)
        .header("Last-Event-ID", "0")
        .send()
        .unwrap();
    use std::io::{BufRead, BufReader};
    let head = s.get(VIEWER, "/healthz").1["events"].as_u64().unwrap();
    let all = parse_sse(BufReader::new(resp).lines().map_while(Result::ok), |m| {
        m.id == Some(head)
    });
    let flagged: Vec<&Value> = all
        .iter()
        .map(|m| &m.data["event"])
        .filter(|e| e.get("reported_at").is_some())
        .collect();
    assert_eq!(flagged.len(), 3, "{flagged:?}");
    assert!(all.iter().all(|m| m.data["by"] == "demo dispatcher"));
}

/// Issue #14, item 4 of the faults: 1,100 idle TCP connections used to lock everyone out. Now
/// at most `max_connections` are open, an idle one is closed after `header_timeout_s`, and a
/// body that does not arrive in `body_timeout_s` gets a 408 JSON error: here 300 idle
/// connections against a cap of 20, and a real client still gets its answer.
#[test]
fn issue_14_idle_and_slow_clients_cannot_lock_the_server() {
    if skip() {
        return;
    }
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let s = Server::start_with(|c| {
        c.max_connections = 20;
        c.header_timeout_s = 1.0;
        c.body_timeout_s = 1.0;
    });
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut idle: Vec<std::net::TcpStream> = (0..300)
        .map(|_| std::net::TcpStream::connect(&addr).unwrap())
        .collect();
    // A real client is served (it waits in the backlog until idle connections are closed).
    let t0 = Instant::now();
    let r = Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
        .get(s.url("/v1/units"))
        .bearer_auth(VIEWER)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    println!(
        "answered after {:.1} s behind 300 idle connections",
        t0.elapsed().as_secs_f64()
    );
    // The first idle ones were closed by the server (end of stream, or reset).
    for c in idle.iter_mut().take(20) {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 64];
        match c.read(&mut buf) {
            Ok(0) | Err(_) => {}
            Ok(n) => {
                // hyper may answer 408 before closing
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                assert!(text.contains("408"), "{text}");
            }
        }
    }
    drop(idle);
    // A body that never arrives: 408 with a JSON body.
    let mut c = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        c,
        "POST /v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {DISPATCHER}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"lon\": 7.42"
    )
    .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut text = String::new();
    let _ = c.read_to_string(&mut text);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"error\":\"request_timeout\""), "{text}");
    // Nothing was written.
    assert_eq!(s.get(VIEWER, "/healthz").1["events"], 0);
}

/// Issue #14, item 6: `GET /v1/incidents` had no paging (5.8 MB at 21k calls). Pages of
/// `limit` (default 100, at most 1000), oldest first from `after` or newest first from
/// `before`, filtered by `open` and `priority`, with `Link: <...>; rel="next"` while there is
/// more; bad parameters are 400 naming the parameter.
#[test]
fn issue_14_incidents_are_paged_with_a_cursor_and_filters() {
    if skip() {
        return;
    }
    let s = Server::start();
    for k in 0..25 {
        let (code, v) = s.post(
            DISPATCHER,
            "/v1/incidents",
            json!({"lon": 7.42, "lat": 43.735, "priority": 1 + k % 4}),
        );
        assert_eq!(code, 201, "{v}");
    }
    let page = |path: &str| {
        let r = Client::new()
            .get(s.url(path))
            .bearer_auth(VIEWER)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let next = r
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_string());
        let ids: Vec<u64> = r
            .json::<Value>()
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_u64().unwrap())
            .collect();
        (ids, next.map(|l| l[1..l.find('>').unwrap()].to_string()))
    };
    let walk = |first: &str| {
        let (mut ids, mut next) = page(first);
        let mut pages = 1;
        while let Some(p) = next {
            let (more, n) = page(&p);
            ids.extend(more);
            next = n;
            pages += 1;
        }
        (ids, pages)
    };
    let (ids, pages) = walk("/v1/incidents?limit=10");
    assert_eq!(ids, (1..=25).collect::<Vec<_>>());
    assert_eq!(pages, 3);
    let (ids, _) = walk("/v1/incidents?before=26&limit=7");
    assert_eq!(ids, (1..=25).rev().collect::<Vec<_>>());
    let (ids, _) = walk("/v1/incidents?priority=2&limit=2");
    assert_eq!(ids, vec![2, 6, 10, 14, 18, 22]);
    let (ids, next) = page("/v1/incidents?after=20");
    assert_eq!((ids, next), ((21..=25).collect::<Vec<_>>(), None));
    let (ids, _) = page("/v1/incidents");
    assert_eq!(ids.len(), 25, "default page of 100");
    let (ids, _) = walk("/v1/incidents?after=3&before=9&limit=2");
    assert_eq!(ids, vec![4, 5, 6, 7, 8]);
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=5000", "limit"),
        ("after=x", "after"),
        ("priority=9", "priority"),
        ("page=2", "page"),
    ] {
        let (code, e) = s.get(VIEWER, &format!("/v1/incidents?{q}"));
        assert_eq!(code, 400, "{q}: {e}");
        assert!(e["message"].as_str().unwrap().contains(field), "{q}: {e}");
    }
}

/// Issue #14, item 9: 405, 414, 431 and undecodable paths answered empty or plain-text bodies.
/// Every error answer is now JSON `{"error", "message"}` with its status (and `Allow` on 405).
#[test]
fn issue_14_every_error_answer_is_json() {
    if skip() {
        return;
    }
    let s = Server::start();
    let c = Client::new();
    let check = |r: reqwest::blocking::Response, status: u16, error: &str| {
        let got = r.status().as_u16();
        if got != status {
            panic!("{got} instead of {status}: {}", r.text().unwrap());
        }
        let ct = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("application/json"), "{ct}");
        let v: Value = r.json().unwrap();
        assert_eq!(v["error"], error, "{v}");
        assert!(!v["message"].as_str().unwrap().is_empty(), "{v}");
    };
    let r = c
        .delete(s.url("/v1/units"))
        .bearer_auth(DISPATCHER)
        .send()
        .unwrap();
    assert!(r.headers().contains_key("allow"));
    check(r, 405, "method_not_allowed");
    let long = format!("/v1/incidents?open={}", "x".repeat(10_000));
    check(
        c.get(s.url(&long)).bearer_auth(VIEWER).send().unwrap(),
        414,
        "uri_too_long",
    );
    let mut req = c.get(s.url("/v1/units")).bearer_auth(VIEWER);
    for k in 0..80 {
        req = req.header(format!("x-filler-{k}"), "y");
    }
    check(req.send().unwrap(), 431, "request_header_fields_too_large");
    let big = "z".repeat(20_000);
    check(
        c.get(s.url("/v1/units"))
            .bearer_auth(VIEWER)
            .header("x-big", big)
            .send()
            .unwrap(),
        431,
        "request_header_fields_too_large",
    );
    check(
        c.get(s.url("/v1/units/%FF%FE/status"))
            .bearer_auth(VIEWER)
            .send()
            .unwrap(),
        405,
        "method_not_allowed",
    );
    check(
        c.post(s.url("/v1/units/%FF%FE/status"))
            .bearer_auth(DISPATCHER)
            .json(&json!({"status": "en_route"}))
            .send()
            .unwrap(),
        400,
        "bad_request",
    );
    check(
        c.post(s.url("/v1/incidents"))
            .bearer_auth(DISPATCHER)
            .header("content-type", "text/plain")
            .body("{}")
            .send()
            .unwrap(),
        422,
        "unprocessable",
    );
}

/// Issue #14, the dispatcher's API: cancel a call (its unit on the way is stood down), close a
/// call no unit is working, change a call's priority after triage; each refused when it makes
/// no sense, with the reason.
#[test]
fn issue_14_a_dispatcher_cancels_closes_and_reprioritises_calls() {
    if skip() {
        return;
    }
    let s = Server::start();
    // Cancel while the unit is on its way: the unit is free again.
    let (a, _) = incident(&s, 7.42, 43.735, None);
    s.ok(
        &format!("/v1/incidents/{a}/assign"),
        json!({"unit_id": "condamine-1"}),
    );
    s.status("condamine-1", "en_route", None);
    let inc = s.ok(
        &format!("/v1/incidents/{a}/cancel"),
        json!({"reason": "duplicate of an earlier call"}),
    );
    assert!(
        inc["cancelled"].is_string() && inc["closed"].is_string(),
        "{inc}"
    );
    assert_eq!(inc["cancel_reason"], "duplicate of an earlier call");
    assert_eq!(inc["unit"], "condamine-1", "the record keeps who was sent");
    let units = s.get(VIEWER, "/v1/units").1;
    let u = units
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "condamine-1")
        .unwrap();
    assert_eq!(u["status"], "available");
    assert!(u["incident"].is_null());
    let (code, e) = s.post(DISPATCHER, &format!("/v1/incidents/{a}/cancel"), json!({}));
    assert_eq!(code, 409, "{e}");
    assert!(e["message"].as_str().unwrap().contains("cancelled"), "{e}");
    let (code, _) = s.post(
        DISPATCHER,
        &format!("/v1/incidents/{a}/assign"),
        json!({"unit_id": "condamine-2"}),
    );
    assert_eq!(code, 409, "a cancelled call takes no unit");

    // Priority after triage.
    let (b, _) = incident(&s, 7.42, 43.735, None);
    let inc = s.ok(
        &format!("/v1/incidents/{b}/priority"),
        json!({"priority": 3}),
    );
    assert_eq!(
        (inc["priority"].as_u64(), inc["initial_priority"].as_u64()),
        (Some(3), Some(1))
    );
    let inc = s.ok(
        &format!("/v1/incidents/{b}/priority"),
        json!({"priority": 2}),
    );
    assert_eq!(
        (inc["priority"].as_u64(), inc["initial_priority"].as_u64()),
        (Some(2), Some(1))
    );
    for bad in [
        json!({"priority": 7}),
        json!({"priority": 0}),
        json!({"priority": "high"}),
        json!({}),
    ] {
        let (code, e) = s.post(
            DISPATCHER,
            &format!("/v1/incidents/{b}/priority"),
            bad.clone(),
        );
        assert_eq!(code, 422, "{bad}: {e}");
    }

    // Close: refused while a unit works the call, or once on scene a cancel is refused.
    s.ok(
        &format!("/v1/incidents/{b}/assign"),
        json!({"unit_id": "condamine-2"}),
    );
    let (code, e) = s.post(DISPATCHER, &format!("/v1/incidents/{b}/close"), json!({}));
    assert_eq!(code, 409, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("still on it"),
        "{e}"
    );
    s.status("condamine-2", "en_route", None);
    s.status("condamine-2", "on_scene", None);
    let (code, e) = s.post(DISPATCHER, &format!("/v1/incidents/{b}/cancel"), json!({}));
    assert_eq!(code, 409, "{e}");
    s.status("condamine-2", "returning", None);
    let (code, _) = s.post(DISPATCHER, &format!("/v1/incidents/{b}/close"), json!({}));
    assert_eq!(code, 409, "the unit leaving closed it already");
    // A call handled by phone: closed with no unit.
    let (c, _) = incident(&s, 7.42, 43.735, None);
    let inc = s.ok(&format!("/v1/incidents/{c}/close"), json!({}));
    assert!(inc["closed"].is_string() && inc["cancelled"].is_null());
    let (code, _) = s.post(DISPATCHER, "/v1/incidents/999/close", json!({}));
    assert_eq!(code, 404);
    let (code, _) = s.post(
        VIEWER,
        &format!("/v1/incidents/{c}/priority"),
        json!({"priority": 2}),
    );
    assert_eq!(code, 403);
    // Nothing is left open.
    let (_, open) = s.get(VIEWER, "/v1/incidents?open=true");
    assert!(open.as_array().unwrap().is_empty(), "{open}");
}

/// Issue #14, several units per incident: each unit has its own lifecycle on the call; the
/// incident's response is its first ambulance on scene (not its first dispatched), its
/// hospital stages the first at a hospital; it closes when the last unit leaves; a stand-down
/// leaves the call open; a cancel stands down every unit on the way. Both exports (a row per
/// incident, a row per unit read with `--columns ems-units`) give `ems check` the same figures,
/// which are `/v1/kpis`'s.
#[test]
fn issue_14_several_units_per_incident() {
    if skip() {
        return;
    }
    let s = Server::start();
    let (a, _) = incident(&s, 7.4246, 43.7384, Some("trauma"));
    let assign = |inc: u64, unit: &str| {
        s.post(
            DISPATCHER,
            &format!("/v1/incidents/{inc}/assign"),
            json!({ "unit_id": unit }),
        )
    };
    assert_eq!(assign(a, "condamine-1").0, 200);
    let (code, e) = assign(a, "condamine-1");
    assert_eq!(code, 409, "the same unit twice: {e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("already on incident")
    );
    let (code, second) = assign(a, "fontvieille-1");
    assert_eq!(code, 200, "a second unit for the same call: {second}");
    s.status("condamine-1", "en_route", None);
    s.status("fontvieille-1", "en_route", None);
    s.status("fontvieille-1", "on_scene", None);
    // Dispatched first but on scene second: not the incident's response.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    s.status("condamine-1", "on_scene", None);
    let (_, inc) = s.get(VIEWER, &format!("/v1/incidents/{a}"));
    let units = inc["units"].as_array().unwrap();
    assert_eq!(units.len(), 2, "{inc}");
    assert_eq!(units[0]["unit"], "condamine-1");
    assert_eq!(inc["unit"], "fontvieille-1", "first on scene: {inc}");
    assert_eq!(inc["on_scene"], units[1]["on_scene"]);
    assert_eq!(inc["dispatched"], units[1]["dispatched"]);
    assert_eq!(inc["departed"], units[1]["departed"]);
    assert_ne!(inc["on_scene"], units[0]["on_scene"]);
    // The second on scene transports; the first leaves without a patient.
    s.status("condamine-1", "transporting", Some("chpg"));
    s.status("condamine-1", "at_hospital", None);
    s.status("fontvieille-1", "returning", None);
    let (_, inc) = s.get(VIEWER, &format!("/v1/incidents/{a}"));
    assert!(inc["closed"].is_null(), "a unit is still on it: {inc}");
    assert_eq!(inc["hospital"], "chpg");
    assert_eq!(inc["at_hospital"], inc["units"][0]["at_hospital"]);
    let (code, e) = s.post(DISPATCHER, &format!("/v1/incidents/{a}/close"), json!({}));
    assert_eq!(code, 409, "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("condamine-1"),
        "{e}"
    );
    let (code, e) = s.post(DISPATCHER, &format!("/v1/incidents/{a}/cancel"), json!({}));
    assert_eq!(code, 409, "reached: no cancel: {e}");
    s.status("condamine-1", "handover_complete", None);
    s.status("condamine-1", "returning", None);
    let (_, inc) = s.get(VIEWER, &format!("/v1/incidents/{a}"));
    assert!(inc["closed"].is_string(), "the last unit left: {inc}");

    // A stand-down leaves the call open; a cancel stands down every unit still on the way.
    let (b, _) = incident(&s, 7.42, 43.735, None);
    assert_eq!(assign(b, "condamine-2").0, 200);
    assert_eq!(assign(b, "smur-chpg-1").0, 200);
    s.status("condamine-2", "en_route", None);
    s.status("condamine-2", "available", None);
    let (_, inc) = s.get(VIEWER, &format!("/v1/incidents/{b}"));
    assert!(inc["closed"].is_null(), "{inc}");
    assert!(inc["units"][0]["stood_down"].is_string(), "{inc}");
    assert!(inc["units"][1]["stood_down"].is_null(), "{inc}");
    // Stood down, the unit may be sent again: a new assignment of its own.
    assert_eq!(assign(b, "condamine-2").0, 200);
    s.status("smur-chpg-1", "en_route", None);
    let inc = s.ok(
        &format!("/v1/incidents/{b}/cancel"),
        json!({"reason": "hoax"}),
    );
    assert_eq!(inc["units"].as_array().unwrap().len(), 3, "{inc}");
    assert!(
        inc["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["stood_down"].is_string()),
        "{inc}"
    );
    let (_, us) = s.get(VIEWER, "/v1/units");
    for u in us.as_array().unwrap() {
        if u["id"] == "condamine-2" || u["id"] == "smur-chpg-1" {
            assert_eq!(u["status"], "available", "{u}");
            assert!(u["incident"].is_null(), "{u}");
        }
    }

    // The two exports: one row per incident, one row per unit.
    let get_csv = |q: &str| {
        let r = Client::new()
            .get(s.url(&format!("/v1/incidents.csv{q}")))
            .bearer_auth(VIEWER)
            .send()
            .unwrap();
        (r.status().as_u16(), r.text().unwrap())
    };
    let (_, per_incident) = get_csv("");
    let (code, per_unit) = get_csv("?rows=unit");
    assert_eq!(code, 200);
    assert_eq!(per_incident.lines().count(), 1 + 2, "{per_incident}");
    assert_eq!(per_unit.lines().count(), 1 + 5, "{per_unit}");
    let (code, e) = get_csv("?rows=vehicle");
    assert_eq!(code, 400, "{e}");
    assert!(e.contains("rows"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let check = |csv: &str, mapping: Option<&str>| -> Value {
        let path = dir.path().join("log.csv");
        std::fs::write(&path, csv).unwrap();
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ems"));
        cmd.args(["check", "--format", "json", "--incidents"])
            .arg(&path);
        if let Some(m) = mapping {
            cmd.args(["--columns", m]);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let by_incident = check(&per_incident, None);
    let by_unit = check(&per_unit, Some("ems-units"));
    for k in ["response", "detention", "transport"] {
        assert_eq!(by_incident[k], by_unit[k], "{k}");
    }
    assert_eq!(
        by_unit["multi_unit"]["multi_unit_incidents"], 2,
        "{by_unit:.600}"
    );
    let resp = &by_unit["response"];
    assert_eq!(resp["reached_scene"], 1);
    let (_, k) = s.get(VIEWER, "/v1/kpis");
    let mean = resp["overall"]["summary"]["mean"].as_f64().unwrap();
    let live = k["mean_response_min"].as_f64().unwrap();
    assert!((mean - live).abs() < 1e-6, "check {mean} vs live {live}");
    // The response is the first on scene's: under a second, not the 1.1 s of the first sent.
    assert!(mean * 60.0 < 1.0, "{mean} min");
    assert_eq!(k["reached_scene"], 1);
    assert_eq!(k["hospital_arrivals"], 1);
}

/// A compliance table for the demo that wants every free unit at `station`.
fn all_at(sc: &Scenario, station: &str) -> Value {
    let units: usize = sc.stations.iter().map(|s| s.ambulances as usize).sum();
    json!({
        "scenario": sc.name,
        "stations": sc.stations.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        "busy_fraction": 0.3,
        "response_target_min": 12.0,
        "weights": "population",
        "levels": (1..=units).map(|k| json!({
            "free_units": k,
            "posts": vec![station; k],
            "expected_coverage": 0.0,
            "bound": 0.0,
            "gap_pct": 0.0,
            "moves_from_previous": 0,
        })).collect::<Vec<_>>(),
    })
}

/// Issue #16: the live server recomputes the compliance table's posting after each event,
/// serves it and streams it; the dispatcher accepts a move through `POST /v1/move-ups`, and
/// the cap on relocations per hour holds.
#[test]
fn issue_16_the_live_posting_follows_the_compliance_table() {
    if skip() {
        return;
    }
    use std::io::{BufRead, BufReader};
    let sc = Scenario::demo().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table.json");
    let home = sc.stations[0].id.clone();
    std::fs::write(&table, all_at(&sc, &home).to_string()).unwrap();
    let t = table.clone();
    let s = Server::start_with(move |c| {
        c.move_up_policy = ems::dispatch::policy::PolicyKind::Table;
        c.compliance_table = Some(t);
        c.max_relocations_per_hour = 1;
    });
    let (code, p) = s.get(VIEWER, "/v1/posting");
    assert_eq!(code, 200, "{p}");
    assert_eq!(p["policy"], "table");
    let free = p["free_units"].as_u64().unwrap() as usize;
    let away: Vec<&str> = sc
        .stations
        .iter()
        .filter(|st| st.id != home)
        .flat_map(|st| std::iter::repeat_n(st.id.as_str(), st.ambulances as usize))
        .collect();
    let moves = p["moves"].as_array().unwrap();
    assert_eq!(moves.len(), away.len(), "{p}");
    assert!(moves.iter().all(|m| m["to_station"] == home.as_str()));
    assert!(p["level"].as_array().unwrap().len() == free);
    // The stream sends the posting.
    let resp = Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap()
        .get(s.url("/v1/events"))
        .bearer_auth(VIEWER)
        .send()
        .unwrap();
    let mut lines = BufReader::new(resp).lines();
    let mut next_posting = || loop {
        let line = lines.next().unwrap().unwrap();
        if line == "event: posting" {
            let data = lines.next().unwrap().unwrap();
            let v: Value = serde_json::from_str(data.strip_prefix("data: ").unwrap()).unwrap();
            return v;
        }
    };
    assert_eq!(
        next_posting()["moves"].as_array().unwrap().len(),
        away.len()
    );
    // Accept the first move: the posting then asks for one move fewer.
    let m = &moves[0];
    s.ok(
        "/v1/move-ups",
        json!({"unit_id": m["unit"], "to_station": m["to_station"]}),
    );
    let after = next_posting();
    assert_eq!(
        after["moves"].as_array().unwrap().len(),
        away.len() - 1,
        "{after}"
    );
    assert!(after["seq"].as_u64().unwrap() > p["seq"].as_u64().unwrap());
    // Arrived, then sent home again by hand, the unit is over its cap (one move an hour): the
    // posting does not ask it to move again.
    let unit = m["unit"].as_str().unwrap();
    s.ok(
        &format!("/v1/units/{unit}/status"),
        json!({"status": "available"}),
    );
    let own = sc
        .stations
        .iter()
        .find(|st| unit.starts_with(&st.id))
        .map(|st| st.id.clone())
        .unwrap();
    s.ok("/v1/move-ups", json!({"unit_id": unit, "to_station": own}));
    let (_, p3) = s.get(VIEWER, "/v1/posting");
    assert!(
        p3["moves"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["unit"] != unit),
        "{p3}"
    );
    assert_eq!(
        p3["moves"].as_array().unwrap().len(),
        away.len() - 1,
        "{p3}"
    );
}

#[test]
fn issue_16_a_bad_policy_configuration_is_refused_at_start() {
    if skip() {
        return;
    }
    let sc = Scenario::demo().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = format!("{}\n", api::config::DEMO);
    let e = Config::parse(&format!("move_up_policy = \"table\"\n{base}"), "c.toml").unwrap_err();
    assert!(e.to_string().contains("compliance_table"), "{e}");
    let e = Config::parse(&format!("move_up_policy = \"fancy\"\n{base}"), "c.toml").unwrap_err();
    assert!(e.to_string().contains("line 1"), "{e}");
    let e = Config::parse(&format!("max_relocations_per_hour = 0\n{base}"), "c.toml").unwrap_err();
    assert!(e.to_string().contains("max_relocations_per_hour"), "{e}");
    let mut other = all_at(&sc, &sc.stations[0].id);
    other["scenario"] = json!("somewhere else");
    let path = dir.path().join("other.json");
    std::fs::write(&path, other.to_string()).unwrap();
    let db = Db::fresh();
    let mut c = config(&db.at);
    c.move_up_policy = ems::dispatch::policy::PolicyKind::Table;
    c.compliance_table = Some(path);
    let e = AppState::open(sc, c).err().unwrap().to_string();
    assert!(
        e.contains("other.json") && e.contains("somewhere else"),
        "{e}"
    );
}

/// Issue #16 (left out then): the live DMEXCLP posting checked against brute force. A unit
/// returning from a call and one other free unit (the rest out of service), for every such
/// pair on the demo with a 4.5-minute target: the station the posting sends the returning unit
/// to (or its own, with no move) has the largest expected coverage over every station,
/// computed here directly as `Σ_z w_z (1 − q^{n_z})` from each station's coverage, and the
/// posting's `expected_coverage_after` is that value's share.
#[test]
fn issue_16_the_live_dmexclp_posting_agrees_with_brute_force() {
    if skip() {
        return;
    }
    use ems::dispatch::coverage::{Budget, Coverage};
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let (sc, _) = sc.on_map(&tm);
    let budget = Budget {
        response_target_min: 4.5,
        call_handling_s: 60.0,
        turnout_s: 60.0,
    };
    let cov = Coverage::new(&sc, &tm, budget);
    let q: f64 = 0.3;
    let weights: Vec<f64> = sc.demand.iter().map(|z| z.population).collect();
    let total: f64 = weights.iter().sum();
    let expected = |posts: &[usize]| -> f64 {
        (0..weights.len())
            .map(|z| {
                let n = posts.iter().filter(|&&p| cov.station_cover(p)[z]).count();
                weights[z] * (1.0 - q.powi(n as i32))
            })
            .sum()
    };
    let station = |unit: &str| {
        sc.stations
            .iter()
            .position(|st| {
                unit.strip_prefix(st.id.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
            })
            .unwrap()
    };
    let units: Vec<String> = sc
        .stations
        .iter()
        .flat_map(|st| (1..=st.ambulances).map(move |k| format!("{}-{k}", st.id)))
        .collect();
    let mut moved = 0;
    for r in &units {
        for f in units.iter().filter(|f| *f != r) {
            let s = Server::start_with(|c| {
                c.move_up_policy = ems::dispatch::policy::PolicyKind::Dmexclp;
                c.response_target_min = 4.5;
                c.call_handling_s = 60.0;
                c.turnout_s = 60.0;
                c.busy_fraction = q;
                c.max_relocation_min = 60.0;
            });
            for o in units.iter().filter(|o| *o != r && *o != f) {
                s.status(o, "out_of_service", None);
            }
            // A call in the east of the map; the unit returns from there.
            let (id, _) = incident(&s, 7.4335, 43.7445, None);
            s.ok(
                &format!("/v1/incidents/{id}/assign"),
                json!({"unit_id": r}),
            );
            for st in ["en_route", "on_scene", "returning"] {
                s.status(r, st, None);
            }
            s.ok(
                &format!("/v1/units/{r}/position"),
                json!({"lon": 7.4335, "lat": 43.7445, "at": chrono::Utc::now().to_rfc3339()}),
            );
            let (code, p) = s.get(VIEWER, "/v1/posting");
            assert_eq!(code, 200, "{p}");
            assert_eq!(p["policy"], "dmexclp", "{p}");
            assert_eq!(p["free_units"], 2, "{p}");
            let moves = p["moves"].as_array().unwrap();
            assert!(moves.len() <= 1, "only the returning unit is redirected: {p}");
            let home = station(r);
            let chosen = match moves.first() {
                Some(m) => {
                    assert_eq!(m["unit"], r.as_str(), "{p}");
                    moved += 1;
                    sc.stations
                        .iter()
                        .position(|st| m["to_station"] == st.id.as_str())
                        .unwrap()
                }
                None => home,
            };
            let other = station(f);
            let best = (0..sc.stations.len())
                .map(|x| expected(&[other, x]))
                .fold(f64::MIN, f64::max);
            let got = expected(&[other, chosen]);
            assert!(
                got >= best - 1e-9,
                "{r} returning, {f} free: posted at {} ({got}), best {best}: {p}",
                sc.stations[chosen].id
            );
            if moves.is_empty() {
                assert_eq!(chosen, home);
            } else {
                assert!(
                    got > expected(&[other, home]) + 1e-9,
                    "a move only for a strict gain: {p}"
                );
            }
            let after = p["expected_coverage_after"].as_f64().unwrap();
            assert!((after - got / total).abs() < 1e-9, "{after} vs {}: {p}", got / total);
        }
    }
    assert!(moved > 0, "some case must redirect the returning unit");
    eprintln!(
        "{} cases, {moved} with a move",
        units.len() * (units.len() - 1)
    );
}
