//! `ems db`: moving a dispatch event log between stores.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};

use ems::dispatch::store::{self, Location};
use ems::model::Scenario;

/// The dispatch event log's stores.
#[derive(Args)]
pub struct DbArgs {
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Subcommand)]
enum DbCommand {
    /// Copy an event log into an empty one, SQLite to PostgreSQL or back, keeping sequence
    /// numbers, times, actors, idempotency records and set-aside events. Stop the servers on
    /// the source first (a SQLite source is locked meanwhile).
    Migrate(MigrateArgs),
}

#[derive(Args)]
struct MigrateArgs {
    /// The log to copy: a SQLite file or postgres://user:password@host/db.
    #[arg(long, value_name = "FILE|postgres://...")]
    from: Location,
    /// The empty log to fill (created if new).
    #[arg(long, value_name = "FILE|postgres://...")]
    to: Location,
    /// The scenario the log belongs to, for a source written before logs recorded it
    /// [default: the source's own record].
    #[arg(long)]
    scenario: Option<PathBuf>,
}

pub fn run(a: DbArgs) -> Result<()> {
    match a.command {
        DbCommand::Migrate(m) => {
            let name = match &m.scenario {
                Some(p) => Some(Scenario::load(p)?.name),
                None => None,
            };
            let done = store::migrate(&m.from, &m.to, name.as_deref())?;
            println!(
                "migrated {} → {}: {} events (last sequence number {}), {} idempotency records, \
                 {} set-aside events",
                m.from, m.to, done.events, done.last_seq, done.idempotency, done.set_aside
            );
            Ok(())
        }
    }
}
