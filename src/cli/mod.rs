//! The `ems` command line: one file per subcommand, each a `#[derive(Args)]` struct and its
//! `run`, plus what they share (loading maps and scenarios, progress on a terminal, writing
//! files, and the typed option values in [`args`]).
//!
//! This module owns reading the command line and writing results where the user asked. It must
//! not hold domain rules: each command calls the library and hands the result to
//! [`ems::report`]. Errors are `anyhow` here only; the library's typed errors carry the file,
//! line and field.

pub mod args;
pub mod calibrate;
pub mod check;
pub mod db;
pub mod demand;
pub mod demo;
pub mod evaluate;
pub mod import;
pub mod init;
pub mod optimize;
pub mod population;
pub mod route;
pub mod serve;
pub mod simulate;
pub mod solve_instance;
pub mod synth_incidents;

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{Context, Result};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};

use ems::model::{self, Scenario};
use ems::network::{self, RoadNetwork};

/// Output format of a command.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json(value: &impl serde::Serialize) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Writes `text` to `path`, naming the file if it cannot.
pub fn write_file(path: &Path, text: impl AsRef<[u8]>) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))
}

/// Writes `text` to `path` and says so on standard error.
pub fn write_and_tell(path: &Path, text: impl AsRef<[u8]>) -> Result<()> {
    write_file(path, text)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// Imports an extract (or reads a cache), with a progress bar on a terminal.
pub fn import_with_progress(path: &Path) -> Result<RoadNetwork> {
    let file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let name = path.display().to_string();
    let net = if std::io::stderr().is_terminal() {
        let pb = ProgressBar::new(len);
        pb.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
                .expect("static template")
                .progress_chars("=> "),
        );
        pb.set_message(format!("reading {}", path.display()));
        let r = network::import_reader(pb.wrap_read(file), &name);
        pb.finish_and_clear();
        r?
    } else {
        network::import_reader(file, &name)?
    };
    Ok(net)
}

/// Runs `f` with a spinner and the elapsed time on a terminal (long optimisations).
pub fn with_spinner<T>(message: &str, f: impl FnOnce() -> T) -> T {
    if !std::io::stderr().is_terminal() {
        return f();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("static template"),
    );
    pb.set_message(message.to_string());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    let out = f();
    pb.finish_and_clear();
    out
}

/// A map from `--map`, or the embedded demo map.
pub fn load_map(map: Option<&Path>) -> Result<RoadNetwork> {
    match map {
        Some(p) => import_with_progress(p),
        None => Ok(model::demo::map()?),
    }
}

/// The scenario with its stations and hospitals off the road map left out, each reported on
/// standard error with its distance to the road; stations without ambulances are reported too.
pub fn on_map(sc: Scenario, tm: &ems::network::TravelModel) -> Scenario {
    let (used, placement) = sc.on_map(tm);
    for line in placement.lines() {
        eprintln!("warning: {line}");
    }
    used
}

/// A scenario from `--scenario`, or the embedded demo; `skip_invalid` for its incident log.
pub fn load_scenario(path: Option<&Path>, skip_invalid: bool) -> Result<Scenario> {
    Ok(match path {
        Some(p) => Scenario::load_with(p, skip_invalid)?,
        None => model::demo::scenario_with(skip_invalid)?,
    })
}
