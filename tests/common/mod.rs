//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// A file under `../shared/data/`. Missing data skips the test locally and fails it when
/// `CI=true`, so CI can never pass by skipping.
pub fn shared(rel: &str) -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("test data missing under CI: {}", p.display());
    }
    eprintln!("skipping: test data not found at {}", p.display());
    None
}

/// A fixture beside the tests.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The demo's scenario file with absolute paths, so it can live elsewhere.
pub fn demo_toml() -> String {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/demo");
    let mut toml = std::fs::read_to_string(demo.join("scenario.toml")).unwrap();
    for f in [
        "boundary.geojson",
        "stations.geojson",
        "hospitals.geojson",
        "demand.geojson",
        "incidents.csv",
    ] {
        toml = toml.replace(
            &format!("\"{f}\""),
            &format!("{:?}", demo.join(f).display().to_string()),
        );
    }
    toml.replace(
        "\"../../maps/monaco.osm.pbf\"",
        &format!(
            "{:?}",
            demo.join("../../maps/monaco.osm.pbf").display().to_string()
        ),
    )
}

/// The PostgreSQL the tests use: `$EMS_TEST_POSTGRES`, else the role `.ci/run` creates.
pub const POSTGRES_DEFAULT: &str = "postgres://ems:ems@127.0.0.1:5432/postgres";

/// The admin URL of the test PostgreSQL if a server answers there. Without one a test skips
/// locally (with a message) and fails under `CI=true`.
pub fn postgres_admin() -> Option<String> {
    static ADMIN: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ADMIN
        .get_or_init(|| {
            let url =
                std::env::var("EMS_TEST_POSTGRES").unwrap_or_else(|_| POSTGRES_DEFAULT.into());
            let mut config: postgres::Config = url.parse().expect("EMS_TEST_POSTGRES is a URL");
            config.connect_timeout(std::time::Duration::from_secs(3));
            match config.connect(postgres::NoTls) {
                Ok(_) => Some(url),
                Err(e) => {
                    if std::env::var("CI").is_ok_and(|v| v == "true") {
                        panic!("PostgreSQL needed under CI at {url}: {e} (.ci/run starts it)");
                    }
                    eprintln!(
                        "skipping the PostgreSQL tests: no server at {url} ({e}); see \
                         docs/development.md \"Running the tests\""
                    );
                    None
                }
            }
        })
        .clone()
}

/// A database created for one test and dropped after it.
pub struct PgDb {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDb {
    /// A new empty database (`None`: no PostgreSQL, see [`postgres_admin`]).
    pub fn create() -> Option<PgDb> {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let admin = postgres_admin()?;
        let name = format!(
            "ems_test_{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
        // Two statements: neither may run inside a transaction block.
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
        c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
        let (base, _) = admin.rsplit_once('/').expect("the URL names a database");
        Some(PgDb {
            url: format!("{base}/{name}"),
            admin,
            name,
        })
    }

    /// Open client connections to this database now (from `pg_stat_activity`, asked through
    /// the admin database so the question is not counted). Server processes such as an
    /// autovacuum worker, which visits a database after many inserts, are not clients.
    pub fn connections(&self) -> i64 {
        let mut c = postgres::Client::connect(&self.admin, postgres::NoTls).unwrap();
        c.query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 \
             AND backend_type = 'client backend'",
            &[&self.name],
        )
        .unwrap()
        .get(0)
    }

    /// Runs SQL on this database (for tests that damage or inspect it).
    pub fn execute(&self, sql: &str) {
        let mut c = postgres::Client::connect(&self.url, postgres::NoTls).unwrap();
        c.batch_execute(sql).unwrap();
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A PostgreSQL server of the test's own (`initdb` in a temporary folder, run as the
/// `postgres` user), which a test may stop and start: for outages and failover. `None`
/// without the server binaries or without root to run them as `postgres` (skipped locally,
/// failed under `CI=true`).
pub struct PrivateCluster {
    pub dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
}

fn as_postgres(cmd: &str) -> std::process::Output {
    std::process::Command::new("su")
        .args(["postgres", "-s", "/bin/sh", "-c", cmd])
        .output()
        .unwrap()
}

/// An empty folder for a cluster, owned by `postgres`.
fn postgres_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ems-pg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new("chown")
        .args(["postgres:postgres"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "chown postgres {}", dir.display());
    dir
}

impl PrivateCluster {
    /// Initialises and starts a cluster with the role `ems` trusted on 127.0.0.1:`port`.
    pub fn start(name: &str, port: u16) -> Option<PrivateCluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .and_then(|d| {
                let mut v: Vec<PathBuf> = d.flatten().map(|e| e.path().join("bin")).collect();
                v.sort();
                v.pop()
            })
            .filter(|b| b.join("initdb").exists());
        let is_root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        let Some(bin) = bin.filter(|_| is_root) else {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("a private PostgreSQL cluster needs the server binaries and root under CI");
            }
            eprintln!(
                "skipping: no PostgreSQL server binaries, or not root to run them as postgres"
            );
            return None;
        };
        let c = PrivateCluster {
            dir: postgres_dir(name),
            port,
            bin,
        };
        let out = as_postgres(&format!(
            "{}/initdb -D {}/data -U ems --auth=trust --no-sync >/dev/null",
            c.bin.display(),
            c.dir.display()
        ));
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        c.up();
        Some(c)
    }

    /// The URL of database `db` on this cluster.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://ems@127.0.0.1:{}/{db}", self.port)
    }

    /// Starts the server (waits until it accepts connections).
    pub fn up(&self) {
        let out = as_postgres(&format!(
            "{}/pg_ctl -D {d}/data -l {d}/log -w -o \"-p {} -k {d} -c listen_addresses=127.0.0.1\" start",
            self.bin.display(),
            self.port,
            d = self.dir.display()
        ));
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    /// Stops the server at once, as a crash would (`-m immediate`).
    pub fn crash(&self) {
        let out = as_postgres(&format!(
            "{}/pg_ctl -D {}/data -m immediate -w stop",
            self.bin.display(),
            self.dir.display()
        ));
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A streaming standby of this cluster (`pg_basebackup -R`), started on `port`.
    pub fn standby(&self, name: &str, port: u16) -> PrivateCluster {
        let dir = postgres_dir(name);
        let out = as_postgres(&format!(
            "{}/pg_basebackup -h 127.0.0.1 -p {} -U ems -D {}/data -R -X stream -c fast --no-sync",
            self.bin.display(),
            self.port,
            dir.display()
        ));
        assert!(
            out.status.success(),
            "pg_basebackup: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let c = PrivateCluster {
            dir,
            port,
            bin: self.bin.clone(),
        };
        c.up();
        c
    }

    /// Promotes a standby to primary (waits until it accepts writes).
    pub fn promote(&self) {
        let out = as_postgres(&format!(
            "{}/pg_ctl -D {}/data -w promote",
            self.bin.display(),
            self.dir.display()
        ));
        assert!(
            out.status.success(),
            "pg_ctl promote: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The first value of a query on database `db`.
    pub fn query_text(&self, db: &str, sql: &str) -> Option<String> {
        let mut c = postgres::Client::connect(&self.url(db), postgres::NoTls).ok()?;
        c.query_opt(sql, &[]).ok()?.map(|r| r.get::<_, String>(0))
    }

    /// Runs SQL on database `db`.
    pub fn execute(&self, db: &str, sql: &str) {
        let mut c = postgres::Client::connect(&self.url(db), postgres::NoTls).unwrap();
        c.batch_execute(sql).unwrap();
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        let _ = as_postgres(&format!(
            "{}/pg_ctl -D {}/data -m immediate stop",
            self.bin.display(),
            self.dir.display()
        ));
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `ems serve --listen 127.0.0.1:0 --db DB` as a child process (the demo scenario and
/// configuration), and the address it prints once it listens.
pub fn serve(db: &std::ffi::OsStr) -> (std::process::Child, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ems"));
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db);
    listening(cmd)
}

/// Starts an `ems serve` command (its standard error discarded) and returns the child and
/// the address from the line it prints once it listens.
pub fn listening(mut cmd: std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in `{line}`"))
        .to_string();
    (child, url)
}

/// Whether chromium and Playwright are here: missing, a browser test skips locally and fails
/// under `CI=true`.
pub fn browser_ready() -> bool {
    let browser = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/node_modules/playwright-core");
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing: Vec<String> = [
        (std::path::Path::new(&chromium).exists(), chromium.clone()),
        (browser.exists(), browser.display().to_string()),
    ]
    .into_iter()
    .filter(|(ok, _)| !ok)
    .map(|(_, p)| p)
    .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "browser test needs {} (.ci/run installs them)",
            missing.join(", ")
        );
    }
    eprintln!("skipping: missing {}", missing.join(", "));
    false
}

/// Runs `tests/browser/<script>` against `url`, screenshots into `target/screenshots/<shots>`,
/// and fails with its log unless every check passed.
pub fn browser(script: &str, url: &str, shots: &str, extra: &[&str]) {
    let shots = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target/screenshots")
        .join(shots);
    let out = std::process::Command::new("node")
        .arg(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/browser")
                .join(script),
        )
        .arg(url)
        .arg(&shots)
        .args(extra)
        .output()
        .expect("node runs");
    let log = String::from_utf8_lossy(&out.stdout);
    eprintln!("{log}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && log.contains("all checks passed"),
        "{script}: the browser checks failed:\n{log}"
    );
}

/// Every acknowledged write (note → incident id) is stored under its note with that id, and
/// no note is stored twice. `when` starts the messages ("cycle 3: ", or "").
pub fn assert_each_write_once(
    by_note: &std::collections::BTreeMap<String, Vec<u64>>,
    acked: &std::collections::BTreeMap<String, u64>,
    when: &str,
) {
    for (note, id) in acked {
        assert_eq!(
            by_note.get(note),
            Some(&vec![*id]),
            "{when}acknowledged {note} lost or changed"
        );
    }
    assert!(
        by_note.values().all(|ids| ids.len() == 1),
        "{when}a write is stored twice"
    );
}
