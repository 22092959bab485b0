//! `ems solve-instance`: a literature benchmark instance, solved with its certificate.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::args::{non_negative, positive};
use super::{print_json, with_spinner};
use ems::optimize::{Certificate, SiteOptions, SolveOptions, mclp, orlib, pmedian};

/// `--format`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
enum InstanceFormat {
    OrlibPmed,
    LorenaMclp,
}

/// Solve a literature benchmark instance and print JSON: objective, bound, gap, sites, time.
#[derive(Args)]
pub struct SolveInstanceArgs {
    /// `orlib-pmed` (Beasley's p-median files) or `lorena-mclp` (São José dos Campos MCLP).
    #[arg(long, value_enum)]
    format: InstanceFormat,
    /// The instance file.
    file: PathBuf,
    /// Sites to open (MCLP; p-median files carry their own p, which this overrides).
    #[arg(long)]
    p: Option<usize>,
    /// Coverage radius in the file's units (MCLP).
    #[arg(long, value_parser = non_negative, allow_negative_numbers = true)]
    radius: Option<f64>,
    /// Branch-and-bound time limit, seconds.
    #[arg(long, default_value_t = 60.0, value_parser = positive, allow_negative_numbers = true)]
    time_limit: f64,
    /// Stop branch and bound after this many nodes (deterministic on any machine).
    #[arg(long)]
    node_limit: Option<u64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The answer: the instance, the certificate and the sites (1-based, as the files number them).
#[derive(Serialize)]
struct InstanceJson {
    instance: String,
    model: &'static str,
    n: usize,
    p: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    radius: Option<f64>,
    #[serde(flatten)]
    cert: Certificate,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_demand: Option<f64>,
    sites: Vec<usize>,
}

pub fn run(a: SolveInstanceArgs) -> Result<()> {
    let solve = SolveOptions {
        node_limit: a.node_limit,
        seed: a.seed,
        ..SolveOptions::seconds(a.time_limit)
    };
    let instance = a.file.display().to_string();
    let one_based = |open: &[usize]| open.iter().map(|j| j + 1).collect();
    let out = match a.format {
        InstanceFormat::OrlibPmed => {
            let inst = orlib::read_pmed(&a.file)?;
            let opts = SiteOptions {
                solve,
                ..SiteOptions::new(a.p.unwrap_or(inst.p))
            };
            let s = with_spinner("solving p-median", || pmedian::solve(&inst.instance, &opts))?;
            InstanceJson {
                instance,
                model: "p-median",
                n: inst.instance.n(),
                p: opts.p,
                radius: None,
                cert: s.cert,
                total_demand: None,
                sites: one_based(&s.open),
            }
        }
        InstanceFormat::LorenaMclp => {
            let (Some(p), Some(radius)) = (a.p, a.radius) else {
                bail!("lorena-mclp needs --p and --radius");
            };
            let inst = mclp::read_lorena(&a.file)?;
            let opts = SiteOptions {
                solve,
                ..SiteOptions::new(p)
            };
            let s = with_spinner("solving MCLP", || {
                mclp::solve(&inst.coverage(radius), &opts)
            })?;
            InstanceJson {
                instance,
                model: "mclp",
                n: inst.points.len(),
                p,
                radius: Some(radius),
                cert: s.cert,
                total_demand: Some(s.total_demand),
                sites: one_based(&s.open),
            }
        }
    };
    print_json(&out)
}
