//! `ems serve`: the live dispatch API on the shared travel model.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::load_scenario;
use ems::api::{self, AppState, Config};
use ems::dispatch::store::Location;

/// Serve the live dispatch API: nearest units by road, hospital choice, the unit
/// lifecycle, and a durable SQLite event log. Without arguments: the embedded demo on
/// 127.0.0.1:8080 with the demo configuration (public demo tokens).
#[derive(Args)]
pub struct ServeArgs {
    /// Scenario TOML [default: the embedded demo].
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// host:port to listen on [default: the config's, 127.0.0.1:8080]; port 0 picks a free one.
    #[arg(long)]
    listen: Option<String>,
    /// The event log: a SQLite file, or a PostgreSQL URL (postgres://user:password@host/db)
    /// that several replicas share [default: the config's `db`, else ems-dispatch.sqlite in
    /// the working directory].
    #[arg(long, value_name = "FILE|postgres://...")]
    db: Option<Location>,
    /// Service configuration TOML (tokens, delays, targets) [default: the demo's].
    #[arg(long)]
    config: Option<PathBuf>,
    /// Check that the event log replays against the scenario, list every event that does
    /// not, and exit (0: it replays; 1: it does not). Does not start the server.
    #[arg(long)]
    check_log: bool,
    /// With --check-log: copy the log to `<db>.before-repair-<time>.sqlite` (a PostgreSQL log
    /// to `ems-log.before-repair-<time>.sqlite` here), then move every event that does not
    /// replay to the log's set-aside table (kept, with its reason), so the server starts.
    /// Refused while a server holds the log (PostgreSQL: while anything else is connected).
    #[arg(long, requires = "check_log")]
    repair: bool,
}

/// `--check-log [--repair]`.
fn check_log(a: &ServeArgs, at: &Location) -> Result<std::process::ExitCode> {
    use ems::dispatch::journal;
    use std::process::ExitCode;
    if let Some(db) = at.path()
        && !db.exists()
    {
        anyhow::bail!("event log {}: no such file", db.display());
    }
    let sc = load_scenario(a.scenario.as_deref(), false)?;
    let mut reader = ems::dispatch::store::open_reader(at)?;
    let check = journal::check_log(&sc, reader.as_mut())?;
    // Its connection would count as another client of a PostgreSQL log being repaired.
    drop(reader);
    println!(
        "event log {}: {} events, {} do not replay{}",
        at,
        check.events,
        check.failing.len(),
        if check.set_aside > 0 {
            format!(" ({} set aside by an earlier repair)", check.set_aside)
        } else {
            String::new()
        }
    );
    for (seq, body, why) in &check.failing {
        println!("  event {seq}: {why}\n    {body}");
    }
    if check.failing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if !a.repair {
        println!(
            "the server will not start on this log; `ems serve --check-log --repair` sets these \
             events aside (kept in the log's set_aside table, after a full copy of the log)"
        );
        return Ok(ExitCode::from(1));
    }
    // The copy of the log before the repair: beside a SQLite log, else in the working
    // directory (a PostgreSQL log is copied into a SQLite file).
    let stem = match at.path() {
        Some(db) => db.as_os_str().to_owned(),
        None => std::ffi::OsString::from("ems-log"),
    };
    let mut backup = stem;
    backup.push(format!(
        ".before-repair-{}.sqlite",
        chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
    ));
    let backup = PathBuf::from(backup);
    journal::repair_log(at, &check, &backup)?;
    println!(
        "repaired: {} events set aside (the set-aside table, with the reason); the log before the \
         repair is {}. Events that did replay may still belong to calls that need a \
         dispatcher's review: check the incidents those events name.",
        check.failing.len(),
        backup.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

pub fn run(a: ServeArgs) -> Result<std::process::ExitCode> {
    let mut config = match &a.config {
        Some(p) => Config::load(p)?,
        None => {
            eprintln!(
                "using the demo configuration: its tokens `demo-dispatcher` and \
                 `demo-viewer` are public and for the demo only"
            );
            Config::demo()
        }
    };
    if let Some(l) = a.listen.clone() {
        config.listen = l;
    }
    if let Some(d) = a.db.clone() {
        config.db = d;
    }
    if a.check_log {
        return check_log(&a, &config.db);
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .try_init();
    if config.replicas.len() > 1 && config.db.path().is_some() {
        tracing::warn!(
            "the config lists {} replicas but the event log {} is a SQLite file, which one \
             server holds at a time: the others will refuse it (use a postgres:// log)",
            config.replicas.len(),
            config.db
        );
    }
    let sc = load_scenario(a.scenario.as_deref(), false)?;
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let state = AppState::open(sc, config.clone())?;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        println!("listening on http://{addr} (event log {})", config.db);
        use std::io::Write;
        std::io::stdout().flush()?;
        api::run(listener, state, shutdown_signal()).await?;
        eprintln!("stopped");
        anyhow::Ok(())
    })?;
    Ok(std::process::ExitCode::SUCCESS)
}
