//! `ems demo`: the embedded Monaco demo end to end.

use anyhow::Result;
use clap::Args;

use super::{Format, print_json};
use ems::dispatch::recommend;
use ems::model::Scenario;
use ems::report;
use ems::standards::{self, Targets};

/// Run the embedded demo: import the map, load the scenario, route each station to the
/// nearest hospital, and summarise.
#[derive(Args)]
pub struct DemoArgs {
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub fn run(a: DemoArgs) -> Result<()> {
    let t0 = std::time::Instant::now();
    let sc = Scenario::demo()?;
    let tm = sc.travel_model()?;
    let routes = recommend::routes_to_nearest_ed(&sc, &tm)?;
    let check = standards::check(
        &sc,
        &tm,
        &sc.incidents,
        &Targets::default_preset(),
        &standards::CheckOptions::default(),
    )?;
    let demo = report::demo_report(&sc, &tm, &routes, &check, t0.elapsed().as_secs_f64());
    match a.format {
        Format::Json => print_json(&demo.json),
        Format::Text => {
            print!("{}", demo.text);
            Ok(())
        }
    }
}
