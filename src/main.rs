//! The `ems` command line: parses the arguments and dispatches to one file per subcommand in
//! [`cli`]. Exit status 0 on success, 2 on bad input (clap's own errors included), with a
//! message on standard error that prints each cause once.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ems",
    version,
    about = "Ambulance coverage and dispatch on an OpenStreetMap road graph"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Import(cli::import::ImportArgs),
    Init(cli::init::InitArgs),
    Route(cli::route::RouteArgs),
    Population(cli::population::PopulationArgs),
    Check(cli::check::CheckArgs),
    Calibrate(cli::calibrate::CalibrateArgs),
    Demand(cli::demand::DemandArgs),
    SynthIncidents(cli::synth_incidents::SynthArgs),
    Optimize(cli::optimize::OptimizeArgs),
    Evaluate(cli::evaluate::EvaluateArgs),
    SolveInstance(cli::solve_instance::SolveInstanceArgs),
    Simulate(cli::simulate::SimulateArgs),
    Serve(cli::serve::ServeArgs),
    Db(cli::db::DbArgs),
    Demo(cli::demo::DemoArgs),
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Import(a) => cli::import::run(a).map(|()| ExitCode::SUCCESS),
        Command::Init(a) => cli::init::run(a).map(|()| ExitCode::SUCCESS),
        Command::Route(a) => cli::route::run(a).map(|()| ExitCode::SUCCESS),
        Command::Population(a) => cli::population::run(a).map(|()| ExitCode::SUCCESS),
        Command::Check(a) => cli::check::run(a).map(|()| ExitCode::SUCCESS),
        Command::Calibrate(a) => cli::calibrate::run(a).map(|()| ExitCode::SUCCESS),
        Command::Demand(a) => cli::demand::run(a).map(|()| ExitCode::SUCCESS),
        Command::SynthIncidents(a) => cli::synth_incidents::run(a).map(|()| ExitCode::SUCCESS),
        Command::Optimize(a) => cli::optimize::run(a).map(|()| ExitCode::SUCCESS),
        Command::Evaluate(a) => cli::evaluate::run(a).map(|()| ExitCode::SUCCESS),
        Command::SolveInstance(a) => cli::solve_instance::run(a).map(|()| ExitCode::SUCCESS),
        Command::Simulate(a) => cli::simulate::run(a).map(|()| ExitCode::SUCCESS),
        Command::Serve(a) => cli::serve::run(a),
        Command::Db(a) => cli::db::run(a).map(|()| ExitCode::SUCCESS),
        Command::Demo(a) => cli::demo::run(a).map(|()| ExitCode::SUCCESS),
    }
}

/// The error and its causes, each once: a cause whose text the message already holds (an
/// error that prints its source, and also returns it as its source) is not repeated, nor one
/// that only puts a code before a text already there (`Error code 14: unable to open ...`).
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        let core = text.rsplit(": ").next().unwrap_or(&text);
        if out.contains(&text) || (!core.is_empty() && out.contains(core)) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", message(&e));
            ExitCode::from(2)
        }
    }
}
