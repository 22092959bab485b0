//! Coverage and location models, and their solvers.
//!
//! This module owns the optimisation models and their solvers. It takes cost matrices (travel
//! times from [`crate::network::TravelModel::matrix`], or a benchmark's distances) and returns
//! chosen sites with objective, bound and gap. It must not compute travel times itself, read
//! scenario files, or format output.
//!
//! - Where to put stations: **p-median** ([`pmedian`]), **MCLP** ([`mclp`]), and **LSCP** and
//!   **p-center** through certified MCLP subproblems ([`covering`]).
//! - How to spread ambulances over stations: **MEXCLP** ([`mexclp`]) and **backup coverage**,
//!   the double standard model ([`backup`]), on the slots of [`fleet`]; and for each number of
//!   free units, a **compliance table** of MEXCLP postings ([`compliance`]).
//! - Every solver reports a Lagrangian bound and the gap, and proves optimality by the shared
//!   branch and bound (`bnb`) where it finishes within the time limit.
//! - Every solver takes a [`SolveOptions`] (time limit, node budget, seed) and answers with a
//!   [`Certificate`] (objective, bound, gap, whether proven, nodes, seconds).
//! - The OR-Library ([`orlib`]) and São José dos Campos ([`mclp`]) benchmark readers, planning
//!   on a scenario ([`plan`], behind `ems optimize`), the changes a plan or a what-if makes to a
//!   scenario ([`change`]) and what-if ranking ([`evaluate`]).

pub mod backup;
mod bnb;
pub mod change;
pub mod compliance;
pub mod covering;
pub mod evaluate;
pub mod fleet;
pub mod mclp;
pub mod mexclp;
pub mod orlib;
pub mod plan;
pub mod pmedian;

use std::time::{Duration, Instant};

use serde::Serialize;

/// How long a solver may search, and the seed of its randomised restarts.
#[derive(Debug, Clone, PartialEq)]
pub struct SolveOptions {
    /// Stop branch and bound after this long (`None`: no time limit). The reported bound is
    /// then the weakest among the open nodes, so the gap stays a valid certificate.
    pub time_limit: Option<Duration>,
    /// Stop branch and bound after this many nodes (`None`: no budget). With a node budget and
    /// no time limit a result depends only on the instance and the seed, not on the machine.
    pub node_limit: Option<u64>,
    /// Seed of the randomised restarts.
    pub seed: u64,
    /// Randomised greedy restarts after the plain greedy one.
    pub restarts: usize,
}

impl Default for SolveOptions {
    /// 60 s, no node budget, seed 1, 8 restarts.
    fn default() -> Self {
        SolveOptions {
            time_limit: Some(Duration::from_secs(60)),
            node_limit: None,
            seed: 1,
            restarts: 8,
        }
    }
}

impl SolveOptions {
    /// A node budget and no time limit: deterministic on any machine.
    pub fn nodes(limit: u64) -> SolveOptions {
        SolveOptions {
            time_limit: None,
            node_limit: Some(limit),
            ..SolveOptions::default()
        }
    }

    /// A time limit and no node budget.
    pub fn seconds(limit: f64) -> SolveOptions {
        SolveOptions {
            time_limit: Some(Duration::from_secs_f64(limit)),
            ..SolveOptions::default()
        }
    }
}

/// Which sites a location model opens: `p` in all, some of them fixed open (existing
/// stations), and the search budget.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteOptions {
    /// Sites to open in total, fixed ones included.
    pub p: usize,
    /// Sites that must be open, 0-based candidate indices.
    pub fixed_open: Vec<usize>,
    pub solve: SolveOptions,
}

impl SiteOptions {
    /// `p` sites, none fixed, the default budget.
    pub fn new(p: usize) -> SiteOptions {
        SiteOptions {
            p,
            fixed_open: Vec::new(),
            solve: SolveOptions::default(),
        }
    }
}

/// What a solver proves about its answer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Certificate {
    /// The answer's objective.
    pub objective: f64,
    /// A proven bound on the optimum (below it when minimising, above when maximising).
    pub bound: f64,
    /// `|objective − bound| / max(|objective|, |bound|)`, percent: how far the answer can be
    /// from the optimum (0 when both are 0).
    pub gap_pct: f64,
    /// The search finished: `objective` is optimal.
    pub optimal: bool,
    /// Branch-and-bound nodes processed.
    pub nodes: u64,
    pub seconds: f64,
}

impl Certificate {
    /// The certificate of an answer found since `t0`.
    pub fn new(objective: f64, bound: f64, optimal: bool, nodes: u64, t0: Instant) -> Self {
        Certificate {
            objective,
            bound,
            gap_pct: gap_pct(objective, bound),
            optimal,
            nodes,
            seconds: t0.elapsed().as_secs_f64(),
        }
    }
}

/// `|objective − bound| / max(|objective|, |bound|)` in percent, relative to the upper of the
/// two (the objective when minimising, the bound when maximising); 0 when both are 0.
pub fn gap_pct(objective: f64, bound: f64) -> f64 {
    let scale = objective.abs().max(bound.abs());
    if scale == 0.0 {
        0.0
    } else {
        (objective - bound).abs() / scale * 100.0
    }
}

/// A location problem's data: `n` demand points, `m` candidate sites, and the weighted cost of
/// serving each demand point from each site.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Demand weights (population, calls), one per demand point.
    pub weights: Vec<f64>,
    /// Number of candidate sites.
    pub m: usize,
    /// Unweighted cost, candidate-major: `cost[j * n + i]` for site `j`, demand `i`.
    /// `f64::INFINITY` where site `j` cannot serve `i`.
    pub cost: Vec<f64>,
}

/// A benchmark instance file that cannot be read (OR-Library, São José dos Campos): the same
/// line-oriented file error as the DIMACS reader's.
pub use crate::network::dimacs::TextFileError as InstanceFileError;

/// Reads an instance file's text.
pub(crate) use crate::network::dimacs::read_text as read_instance_text;

/// Malformed optimisation input.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OptimizeError {
    /// `p` is zero or exceeds the number of candidate sites.
    #[error("p = {p} but there are {m} candidate sites: choose 1 <= p <= {m}")]
    BadP { p: usize, m: usize },
    /// A fixed (existing) site is not a candidate.
    #[error("fixed site {site} is not among the {m} candidates")]
    BadFixed { site: usize, m: usize },
    /// More sites are fixed open than `p` allows.
    #[error("{fixed} sites are fixed open but p = {p}")]
    TooManyFixed { fixed: usize, p: usize },
    /// Some demand points cannot be served by any candidate; they are listed (0-based).
    #[error("{} demand points cannot be reached from any candidate site: {:?}", .0.len(), .0)]
    Unreachable(Vec<usize>),
    /// No choice of `p` sites (that the search found, or at all when `proven`) reaches every
    /// weighted demand point; the best one leaves these demand points (0-based) unserved.
    #[error("{} demand points cannot be served by any choice of {p} sites{}: {uncovered:?}", uncovered.len(), if *proven { "" } else { " found within the search limit" })]
    Infeasible {
        p: usize,
        uncovered: Vec<usize>,
        proven: bool,
    },
    /// No placement of `p` ambulances meets the backup-coverage constraints (that the search
    /// found, or at all when `proven`): the closest one leaves these demand points (0-based)
    /// beyond the secondary standard and this share within the primary one. Add ambulances,
    /// widen the standards or lower α.
    #[error("no placement of {p} ambulances{} meets the double standard: the closest {} and covers {share_pct:.1} % within the primary one (required: {alpha_pct:.1} %)", if *proven { "" } else { " found within the search limit" }, if uncovered.is_empty() { "keeps every demand point within the secondary standard".to_string() } else { format!("leaves {} demand points beyond the secondary standard {uncovered:?}", uncovered.len()) })]
    DoubleStandard {
        p: usize,
        uncovered: Vec<usize>,
        share_pct: f64,
        alpha_pct: f64,
        proven: bool,
    },
    /// A weight or cost is negative or NaN.
    #[error("invalid data: {0}")]
    Invalid(String),
}

impl Instance {
    /// Number of demand points.
    pub fn n(&self) -> usize {
        self.weights.len()
    }

    /// Cost of serving demand `i` from site `j` (unweighted).
    #[inline]
    pub fn c(&self, j: usize, i: usize) -> f64 {
        self.cost[j * self.weights.len() + i]
    }

    /// Checks weights and costs, and that every demand point with positive weight is reachable.
    pub fn validate(&self) -> Result<(), OptimizeError> {
        let n = self.n();
        if self.cost.len() != n * self.m {
            return Err(OptimizeError::Invalid(format!(
                "cost matrix has {} entries, expected {} x {}",
                self.cost.len(),
                self.m,
                n
            )));
        }
        if let Some(i) = self
            .weights
            .iter()
            .position(|w| !(w.is_finite() && *w >= 0.0))
        {
            return Err(OptimizeError::Invalid(format!(
                "weight of demand {i} is {}",
                self.weights[i]
            )));
        }
        if self.cost.iter().any(|c| c.is_nan() || *c < 0.0) {
            return Err(OptimizeError::Invalid("a cost is negative or NaN".into()));
        }
        let unreachable: Vec<usize> = (0..n)
            .filter(|&i| self.weights[i] > 0.0 && (0..self.m).all(|j| !self.c(j, i).is_finite()))
            .collect();
        if !unreachable.is_empty() {
            return Err(OptimizeError::Unreachable(unreachable));
        }
        Ok(())
    }

    /// Whether every weighted cost is an integer (then bounds can be rounded up).
    pub fn is_integral(&self) -> bool {
        self.weights.iter().all(|w| w.fract() == 0.0)
            && self.cost.iter().all(|c| !c.is_finite() || c.fract() == 0.0)
    }
}
