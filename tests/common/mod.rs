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
                        "skipping the PostgreSQL tests: no server at {url} ({e}); see README \
                         \"Several replicas on PostgreSQL\""
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
