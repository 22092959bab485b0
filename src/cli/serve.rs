//! `ems serve`: the live dispatch API on the shared travel model.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use super::load_scenario;
use ems::api::{self, AppState, Config};

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
    /// The SQLite event log [default: the config's, ems-dispatch.sqlite in the working
    /// directory].
    #[arg(long)]
    db: Option<PathBuf>,
    /// Service configuration TOML (tokens, delays, targets) [default: the demo's].
    #[arg(long)]
    config: Option<PathBuf>,
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

pub fn run(a: ServeArgs) -> Result<()> {
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
    if let Some(l) = a.listen {
        config.listen = l;
    }
    if let Some(d) = a.db {
        config.db = d;
    }
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .try_init();
    let sc = load_scenario(a.scenario.as_deref(), false)?;
    let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let state = AppState::open(sc, config.clone())?;
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        println!(
            "listening on http://{addr} (event log {})",
            config.db.display()
        );
        use std::io::Write;
        std::io::stdout().flush()?;
        api::run(listener, state, shutdown_signal()).await?;
        eprintln!("stopped");
        anyhow::Ok(())
    })
}
