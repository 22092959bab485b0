//! The generated calls: Poisson by zone atom, thinned by the hour's share of the day's (or the
//! fitted week's) volume, with drawn priority and condition; and the description of where a
//! run's calls come from.
//!
//! This module owns the call generator's random stream (one per replication seed, apart from
//! the engine's per-call streams). It must not reorder its draws (two plans see the same calls)
//! nor run the engine.

use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};

use super::{Prepared, SimOptions};
use crate::model::Capability;
use crate::simulate::des::Call;

fn weighted(rng: &mut ChaCha8Rng, w: &[f64]) -> usize {
    let total: f64 = w.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, v) in w.iter().enumerate() {
        if x < *v {
            return i;
        }
        x -= v;
    }
    w.len() - 1
}

/// Poisson calls from the zone atoms over `days`, in time order (a function of the seed
/// only, so two plans see the same calls), generated as they are pulled.
pub(super) struct CallGen {
    rng: ChaCha8Rng,
    per_s: Vec<f64>,
    /// Relative volume by hour of day (24) or of week (168), from time 0's hour `offset`.
    profile: Vec<f64>,
    offset: usize,
    hour_mean: f64,
    peak: f64,
    total: f64,
    horizon: f64,
    priority_shares: Vec<f64>,
    conditions: Vec<Option<Capability>>,
    condition_w: Vec<f64>,
    t: f64,
}

pub(super) fn generate(p: &Prepared, o: &SimOptions, seed: u64) -> CallGen {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(u64::MAX);
    let (per_s, profile, offset): (Vec<f64>, Vec<f64>, usize) = match &o.fitted_demand {
        None => (
            p.atom_population
                .iter()
                .map(|pop| o.calls_per_1000 * pop / 1000.0 / (365.0 * 86_400.0))
                .collect(),
            o.hour_profile.to_vec(),
            0,
        ),
        // A zone's rate is its share of the log's weekly calls; zones off the map have none.
        Some(d) => {
            let shares = d.shares();
            (
                p.atom_zone
                    .iter()
                    .map(|z| {
                        let share = z
                            .as_deref()
                            .and_then(|z| shares.get(z))
                            .copied()
                            .unwrap_or(0.0);
                        d.fitted.calls_per_week * share / (7.0 * 86_400.0)
                    })
                    .collect(),
                d.fitted.profile.clone(),
                crate::simulate::demand::hour_of_week(&p.origin),
            )
        }
    };
    let hour_mean = profile.iter().sum::<f64>() / profile.len() as f64;
    let peak = profile.iter().copied().fold(0.0, f64::max) / hour_mean;
    let total: f64 = per_s.iter().sum::<f64>() * peak;
    let mut conditions: Vec<Option<Capability>> =
        o.condition_shares.iter().map(|(c, _)| Some(*c)).collect();
    let mut condition_w: Vec<f64> = o.condition_shares.iter().map(|(_, w)| *w).collect();
    conditions.push(None);
    condition_w.push((1.0 - condition_w.iter().sum::<f64>()).max(0.0));
    CallGen {
        rng,
        per_s,
        profile,
        offset,
        hour_mean,
        peak,
        total,
        horizon: o.days * 86_400.0,
        priority_shares: o.priority_shares.clone(),
        conditions,
        condition_w,
        t: 0.0,
    }
}

impl Iterator for CallGen {
    type Item = Call;

    fn next(&mut self) -> Option<Call> {
        if self.total <= 0.0 || !self.total.is_finite() {
            return None;
        }
        // Thinning: candidate arrivals at the peak rate, kept by the hour's share.
        loop {
            self.t += -(1.0 - self.rng.random::<f64>()).ln() / self.total;
            if self.t > self.horizon {
                self.total = 0.0;
                return None;
            }
            let hour = (self.offset + (self.t / 3600.0) as usize) % self.profile.len();
            if self.rng.random::<f64>() * self.peak > self.profile[hour] / self.hour_mean {
                continue;
            }
            let atom = weighted(&mut self.rng, &self.per_s);
            let priority = weighted(&mut self.rng, &self.priority_shares) as u8 + 1;
            let condition = self.conditions[weighted(&mut self.rng, &self.condition_w)];
            return Some(Call {
                t: self.t,
                atom,
                priority,
                condition,
            });
        }
    }
}

/// Where the calls come from, for reports.
pub(super) fn calls_text(p: &Prepared, o: &SimOptions) -> String {
    match (&p.trace, &o.fitted_demand) {
        (Some(c), _) => format!("{} calls replayed from the incident log", c.len()),
        (None, Some(d)) => format!(
            "Poisson by zone and hour of week, fitted to {}: {:.1} calls per week ({} calls over \
             {:.1} weeks; zone shares shrunk toward {}, α = {}, β = {}, γ = {})",
            d.source,
            d.fitted.calls_per_week,
            d.calls_used,
            d.weeks,
            d.prior,
            d.smoothing.alpha,
            d.smoothing.beta,
            d.smoothing.gamma
        ),
        (None, None) => format!(
            "Poisson by zone, {} per 1,000 residents per year, by hour of day",
            o.calls_per_1000
        ),
    }
}
