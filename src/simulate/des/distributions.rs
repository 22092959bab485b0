//! The distributions of durations the engine draws from (call handling, turnout, on scene,
//! handover, stretcher hold), as quantile functions of a uniform.
//!
//! This module owns the distributions' parameters, checks, quantiles, CDFs and means. It must
//! not draw random numbers itself: the engine draws each call's uniforms in a fixed order
//! (common random numbers) and turns them into times here.

use serde::Serialize;
use statrs::distribution::ContinuousCDF;

use super::SimError;

/// A distribution of a duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum Dist {
    Fixed(f64),
    Exponential {
        mean: f64,
    },
    /// Log-normal given by its median and 90th percentile.
    LogNormal {
        median: f64,
        p90: f64,
    },
}

impl Dist {
    /// Checks the parameters; `what` names the distribution in the message.
    pub fn check(&self, what: &str) -> Result<(), SimError> {
        let ok = match *self {
            Dist::Fixed(v) => v.is_finite() && v >= 0.0,
            Dist::Exponential { mean } => mean.is_finite() && mean > 0.0,
            Dist::LogNormal { median, p90 } => {
                median.is_finite() && median > 0.0 && p90.is_finite() && p90 >= median
            }
        };
        if ok {
            Ok(())
        } else {
            Err(SimError::Invalid(format!(
                "{what}: invalid distribution {self:?}"
            )))
        }
    }

    /// The value at cumulative probability `u` (clamped into (0, 1)): the inverse CDF.
    pub fn quantile(&self, u: f64) -> f64 {
        let u = u.clamp(1e-12, 1.0 - 1e-12);
        match *self {
            Dist::Fixed(v) => v,
            Dist::Exponential { mean } => -mean * (1.0 - u).ln(),
            Dist::LogNormal { median, p90 } => median * (log_sigma(median, p90) * probit(u)).exp(),
        }
    }

    /// `P(X ≤ x)`.
    pub fn cdf(&self, x: f64) -> f64 {
        match *self {
            Dist::Fixed(v) => f64::from(u8::from(x >= v)),
            Dist::Exponential { mean } => {
                if x <= 0.0 {
                    0.0
                } else {
                    1.0 - (-x / mean).exp()
                }
            }
            Dist::LogNormal { median, p90 } => {
                if x <= 0.0 {
                    return 0.0;
                }
                let sigma = log_sigma(median, p90);
                if sigma == 0.0 {
                    return f64::from(u8::from(x >= median));
                }
                normal().cdf((x / median).ln() / sigma)
            }
        }
    }

    /// The mean.
    pub fn mean(&self) -> f64 {
        match *self {
            Dist::Fixed(v) => v,
            Dist::Exponential { mean } => mean,
            Dist::LogNormal { median, p90 } => {
                median * (log_sigma(median, p90).powi(2) / 2.0).exp()
            }
        }
    }
}

/// The standard normal.
fn normal() -> statrs::distribution::Normal {
    statrs::distribution::Normal::standard()
}

/// `Φ⁻¹(u)`.
fn probit(u: f64) -> f64 {
    use statrs::distribution::ContinuousCDF;
    normal().inverse_cdf(u)
}

/// The log-normal's σ from its median and 90th percentile (z_0.9 = 1.2815515655446004).
fn log_sigma(median: f64, p90: f64) -> f64 {
    (p90 / median).ln() / 1.281_551_565_544_600_4
}
