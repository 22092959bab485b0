//! `ems synth-incidents`: a synthetic year of incidents for a scenario.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use super::args::{call_rate, share};
use super::{load_scenario, write_file};
use ems::simulate::synthetic::{self, SynthOptions};

/// Write a synthetic year of incidents for a scenario (Poisson calls by population, road
/// travel times, recorded delays; no queueing). The output is labelled synthetic in docs/demo.md.
#[derive(Args)]
pub struct SynthArgs {
    /// Scenario TOML [default: the embedded demo].
    #[arg(long)]
    scenario: Option<PathBuf>,
    /// Output CSV.
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 2024)]
    seed: u64,
    #[arg(long, default_value_t = 2024, value_parser = clap::value_parser!(i32).range(1..=9999), allow_negative_numbers = true)]
    year: i32,
    /// Calls per 1,000 residents per year.
    #[arg(long, default_value_t = 90.0, value_parser = call_rate, allow_negative_numbers = true)]
    rate: f64,
    /// Share of calls given one deliberate recording error.
    #[arg(long, default_value_t = 0.002, value_parser = share, allow_negative_numbers = true)]
    error_share: f64,
}

pub fn run(a: SynthArgs) -> Result<()> {
    let sc = load_scenario(a.scenario.as_deref(), false)?;
    let tm = sc.travel_model()?;
    let sc = super::on_map(sc, &tm);
    let opts = SynthOptions {
        seed: a.seed,
        year: a.year,
        calls_per_1000: a.rate,
        error_share: a.error_share,
    };
    let csv = synthetic::generate(&sc, &tm, &sc.timezone, &opts)?;
    write_file(&a.out, &csv)?;
    eprintln!(
        "wrote {} synthetic incidents to {}",
        csv.lines().count().saturating_sub(1),
        a.out.display()
    );
    Ok(())
}
