//! Call demand by zone and hour of week, estimated from counts, with a backtest.
//!
//! This module owns the estimator: it takes calls already placed in a zone and an hour of the
//! week (0 = Monday 00:00 local) and returns rates. It must not read logs or assign zones
//! (the caller does, with the standards' zone rule); it is not yet wired to the call generator
//! or the compliance table (issue #16, item 5, in progress).
//!
//! # Model
//! `λ(z, h) = W · s_z · p_h / 168` calls per hour, with `W` the calls per week, `s_z` the zone's
//! share and `p_h` the hour-of-week profile (mean 1). Both are smoothed:
//! - `s_z = (n_z + α · π_z) / (N + α)`: the zone's count shrunk toward a prior share `π_z`
//!   (its share of residents), `α` calls' worth of weight;
//! - `p_h ∝ (c_h + β · c̄_{h mod 24}) / (1 + β)`: the hour's count shrunk toward the mean of the
//!   same hour of day over the seven days.
//!
//! Cost: `O(calls + zones + 168)`.

/// Hours in a week.
pub const WEEK_HOURS: usize = 168;

/// Rates by zone and hour of week.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekDemand {
    pub calls_per_week: f64,
    /// Each zone's share of calls (sums to 1).
    pub zone_share: Vec<f64>,
    /// Relative volume by hour of week (mean 1).
    pub profile: [f64; WEEK_HOURS],
}

impl WeekDemand {
    /// Expected calls per hour in zone `z` at hour of week `h`.
    pub fn rate(&self, z: usize, h: usize) -> f64 {
        self.calls_per_week * self.zone_share[z] * self.profile[h % WEEK_HOURS] / WEEK_HOURS as f64
    }
}

/// Fits the model to `calls` (zone, hour of week) observed over `weeks` weeks; `prior` is each
/// zone's prior share (e.g. of residents), `alpha` and `beta` the smoothing weights. `None`
/// when there are no zones, no time or a prior that does not sum to a positive number.
pub fn fit(
    calls: &[(usize, usize)],
    weeks: f64,
    prior: &[f64],
    alpha: f64,
    beta: f64,
) -> Option<WeekDemand> {
    let zones = prior.len();
    let prior_total: f64 = prior.iter().sum();
    if zones == 0
        || weeks.is_nan()
        || weeks <= 0.0
        || prior_total.is_nan()
        || prior_total <= 0.0
        || !alpha.is_finite()
        || alpha < 0.0
        || !beta.is_finite()
        || beta < 0.0
    {
        return None;
    }
    let mut by_zone = vec![0.0; zones];
    let mut by_hour = [0.0; WEEK_HOURS];
    for &(z, h) in calls {
        if z < zones {
            by_zone[z] += 1.0;
            by_hour[h % WEEK_HOURS] += 1.0;
        }
    }
    let n: f64 = by_zone.iter().sum();
    let zone_share = if n + alpha > 0.0 {
        by_zone
            .iter()
            .zip(prior)
            .map(|(c, p)| (c + alpha * p / prior_total) / (n + alpha))
            .collect()
    } else {
        prior.iter().map(|p| p / prior_total).collect()
    };
    let mut day_mean = [0.0; 24];
    for (h, c) in by_hour.iter().enumerate() {
        day_mean[h % 24] += c / 7.0;
    }
    let mut profile = [0.0; WEEK_HOURS];
    for h in 0..WEEK_HOURS {
        profile[h] = (by_hour[h] + beta * day_mean[h % 24]) / (1.0 + beta);
    }
    let mean = profile.iter().sum::<f64>() / WEEK_HOURS as f64;
    if mean > 0.0 {
        for p in &mut profile {
            *p /= mean;
        }
    } else {
        profile = [1.0; WEEK_HOURS];
    }
    Some(WeekDemand {
        calls_per_week: n / weeks,
        zone_share,
        profile,
    })
}

/// How well a model predicts held-back counts per (zone, hour of week).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Errors {
    /// Mean absolute error of the counts per cell.
    pub mae: f64,
    /// Mean Poisson deviance per cell.
    pub deviance: f64,
}

/// The errors of predicting `test` (observed over `weeks`) with `model`.
pub fn errors(model: &WeekDemand, test: &[(usize, usize)], weeks: f64) -> Errors {
    let zones = model.zone_share.len();
    let mut observed = vec![0.0; zones * WEEK_HOURS];
    for &(z, h) in test {
        if z < zones {
            observed[z * WEEK_HOURS + h % WEEK_HOURS] += 1.0;
        }
    }
    let cells = observed.len().max(1) as f64;
    let (mut mae, mut dev) = (0.0, 0.0);
    for z in 0..zones {
        for h in 0..WEEK_HOURS {
            let y = observed[z * WEEK_HOURS + h];
            let mu = (model.rate(z, h) * weeks).max(1e-12);
            mae += (y - mu).abs();
            let term = if y > 0.0 { y * (y / mu).ln() } else { 0.0 };
            dev += 2.0 * (term - (y - mu));
        }
    }
    Errors {
        mae: mae / cells,
        deviance: dev / cells,
    }
}

/// A backtest: the model fitted on the earlier part, the errors on the held-back part, beside
/// the baseline of the same volume spread by the prior alone (flat over the week).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backtest {
    pub model: Errors,
    pub baseline: Errors,
}

/// Fits on `train` (over `train_weeks`) and scores on `test` (over `test_weeks`).
pub fn backtest(
    train: &[(usize, usize)],
    train_weeks: f64,
    test: &[(usize, usize)],
    test_weeks: f64,
    prior: &[f64],
    alpha: f64,
    beta: f64,
) -> Option<Backtest> {
    let model = fit(train, train_weeks, prior, alpha, beta)?;
    let total: f64 = prior.iter().sum();
    let baseline = WeekDemand {
        calls_per_week: model.calls_per_week,
        zone_share: prior.iter().map(|p| p / total).collect(),
        profile: [1.0; WEEK_HOURS],
    };
    Some(Backtest {
        model: errors(&model, test, test_weeks),
        baseline: errors(&baseline, test, test_weeks),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;
    use rand_distr::{Distribution, Poisson};

    /// Calls from a known λ: zone 0 has twice its residents' share, evenings are busy.
    fn draw(weeks: usize, seed: u64) -> (Vec<(usize, usize)>, WeekDemand) {
        let mut profile = [0.0; WEEK_HOURS];
        for (h, p) in profile.iter_mut().enumerate() {
            *p = if (17..23).contains(&(h % 24)) {
                2.0
            } else {
                0.8
            };
        }
        let mean = profile.iter().sum::<f64>() / WEEK_HOURS as f64;
        for p in &mut profile {
            *p /= mean;
        }
        let truth = WeekDemand {
            calls_per_week: 700.0,
            zone_share: vec![0.5, 0.25, 0.25],
            profile,
        };
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut calls = Vec::new();
        for _ in 0..weeks {
            for z in 0..3 {
                for h in 0..WEEK_HOURS {
                    let n = Poisson::new(truth.rate(z, h)).unwrap().sample(&mut rng) as usize;
                    calls.extend(std::iter::repeat_n((z, h), n));
                }
            }
        }
        (calls, truth)
    }

    #[test]
    fn the_fit_recovers_a_known_demand() {
        let (calls, truth) = draw(20, 5);
        let prior = [1.0, 1.0, 1.0];
        let m = fit(&calls, 20.0, &prior, 10.0, 1.0).unwrap();
        assert!(
            (m.calls_per_week - 700.0).abs() < 700.0 * 0.03,
            "{}",
            m.calls_per_week
        );
        for z in 0..3 {
            assert!(
                (m.zone_share[z] - truth.zone_share[z]).abs() < 0.02,
                "{:?}",
                m.zone_share
            );
        }
        let evening = m.profile[19] / m.profile[3];
        assert!((evening - 2.5).abs() < 0.4, "{evening}");
    }

    #[test]
    fn the_backtest_beats_the_population_baseline() {
        let (train, _) = draw(16, 7);
        let (test, _) = draw(4, 8);
        let b = backtest(&train, 16.0, &test, 4.0, &[1.0, 1.0, 1.0], 10.0, 1.0).unwrap();
        assert!(b.model.deviance < b.baseline.deviance, "{b:?}");
        assert!(b.model.mae < b.baseline.mae, "{b:?}");
        // Nothing to fit on: no model.
        assert!(fit(&train, 0.0, &[1.0], 1.0, 1.0).is_none());
        assert!(fit(&train, 1.0, &[], 1.0, 1.0).is_none());
    }
}
