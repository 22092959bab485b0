//! `ems db`: moving a dispatch event log between stores, backing it up while it runs, and
//! re-labelling its scenario.

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
    /// Record a new scenario name in a log, after the scenario was renamed (`ems serve`
    /// refuses a log recorded under another name). The log must replay against the scenario;
    /// stop the servers on it first.
    Relabel(RelabelArgs),
    /// Copy a log into a new SQLite file while the servers keep running: one consistent
    /// snapshot, holding every write acknowledged before the backup started. Restore with
    /// `ems db migrate --from BACKUP --to ...`, or serve the copy.
    Backup(BackupArgs),
}

#[derive(Args)]
struct BackupArgs {
    /// The log: a SQLite file or postgres://user:password@host/db.
    #[arg(long, value_name = "FILE|postgres://...")]
    db: Location,
    /// The new SQLite file to write (must not exist).
    #[arg(long)]
    to: PathBuf,
}

#[derive(Args)]
struct RelabelArgs {
    /// The log: a SQLite file or postgres://user:password@host/db.
    #[arg(long, value_name = "FILE|postgres://...")]
    db: Location,
    /// The renamed scenario (its `name` is recorded).
    #[arg(long)]
    scenario: PathBuf,
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
        DbCommand::Relabel(r) => relabel(&r),
        DbCommand::Backup(b) => {
            let done = store::backup(&b.db, &b.to)?;
            println!(
                "backed up {} → {}: {} events (last sequence number {}), {} idempotency \
                 records, {} set-aside events",
                b.db,
                b.to.display(),
                done.events,
                done.last_seq,
                done.idempotency,
                done.set_aside
            );
            Ok(())
        }
    }
}

fn relabel(r: &RelabelArgs) -> Result<()> {
    if let Some(p) = r.db.path()
        && !p.exists()
    {
        anyhow::bail!("event log {}: no such file", p.display());
    }
    let sc = Scenario::load(&r.scenario)?;
    // Relabelling must not hand a log to a scenario whose fleet it does not fit.
    let mut reader = store::open_reader(&r.db)?;
    let check = ems::dispatch::journal::check_log(&sc, reader.as_mut())?;
    drop(reader);
    if let Some((seq, _, why)) = check.failing.first() {
        anyhow::bail!(
            "event log {}: {} of its {} events do not replay against scenario `{}` ({}), the \
             first is event {seq}: {why}. Is this the right scenario? `ems serve --check-log \
             --scenario {}` lists them; nothing was changed",
            r.db,
            check.failing.len(),
            check.events,
            sc.name,
            r.scenario.display(),
            r.scenario.display()
        );
    }
    let old = store::relabel(&r.db, &sc.name)?;
    match old {
        Some(old) if old == sc.name => println!("event log {}: already `{old}`", r.db),
        Some(old) => println!(
            "event log {}: scenario `{old}` → `{}` ({} events replay)",
            r.db, sc.name, check.events
        ),
        None => println!(
            "event log {}: scenario recorded as `{}` ({} events replay)",
            r.db, sc.name, check.events
        ),
    }
    Ok(())
}
