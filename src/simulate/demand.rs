//! Call demand by zone and hour of week: calls from an incident log placed in zones and hours,
//! a smoothed rate model fitted to them, and a backtest on the held-back end of the log.
//!
//! This module owns the estimator and the placing of a log's calls (zones by the standards'
//! [`ZoneAssigner`], hours in the log's local time). It must not generate calls (the
//! simulator's generator reads a [`WeekDemand`]) nor optimise postings (the compliance table
//! takes the zone shares as weights).
//!
//! # Model
//! `λ(z, h) = W · s_z · p_h / 168` calls per hour, with `W` the calls per week, `s_z` the zone's
//! share and `p_h` the hour-of-week profile (mean 1). Both are smoothed:
//! - `s_z = (n_z + α · π_z) / (N + α)`: the zone's count shrunk toward a prior share `π_z`
//!   (its share of residents, or equal shares without a scenario), `α` calls' worth of weight;
//! - `p_h ∝ (c_h + β · c̄_{h mod 24} + γ · c̄) / (1 + β + γ)`: the hour's count shrunk toward
//!   the mean of the same hour of day over the seven days (`β`) and toward the flat week (`γ`).
//!
//! `α`, `β` and `γ` are chosen on the data ([`choose`]): fitted on the first three quarters (in
//! time) of the calls given, scored by Poisson deviance on the last quarter, over a fixed grid.
//!
//! Cost: a fit is `O(calls + zones · 168)`; the choice repeats it over the grid (320 points).

use chrono::{DateTime, Datelike, FixedOffset, Timelike};
use serde::Serialize;

use crate::model::{IncidentLog, Scenario};
use crate::standards::ZoneAssigner;

/// Hours in a week.
pub const WEEK_HOURS: usize = 168;

/// The smoothing weights.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Smoothing {
    /// Calls' worth of weight on the prior zone shares.
    pub alpha: f64,
    /// Weight on the same hour of day (the week's hour-of-day mean).
    pub beta: f64,
    /// Weight on the flat week.
    pub gamma: f64,
}

impl Smoothing {
    /// No smoothing: the raw counts.
    pub const NONE: Smoothing = Smoothing {
        alpha: 0.0,
        beta: 0.0,
        gamma: 0.0,
    };
}

/// Rates by zone and hour of week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeekDemand {
    pub calls_per_week: f64,
    /// Each zone's share of calls (sums to 1).
    pub zone_share: Vec<f64>,
    /// Relative volume by hour of week, 0 = Monday 00:00-00:59 local (168 values, mean 1).
    pub profile: Vec<f64>,
}

impl WeekDemand {
    /// Expected calls per hour in zone `z` at hour of week `h`.
    pub fn rate(&self, z: usize, h: usize) -> f64 {
        self.calls_per_week * self.zone_share[z] * self.profile[h % WEEK_HOURS] / WEEK_HOURS as f64
    }
}

/// Fits the model to `calls` (zone, hour of week) observed over `weeks` weeks; `prior` is each
/// zone's prior share (e.g. of residents). `None` when there are no zones, no time, a prior
/// that does not sum to a positive number or a negative weight.
pub fn fit(
    calls: &[(usize, usize)],
    weeks: f64,
    prior: &[f64],
    s: Smoothing,
) -> Option<WeekDemand> {
    let zones = prior.len();
    let prior_total: f64 = prior.iter().sum();
    let weight_ok = |w: f64| w.is_finite() && w >= 0.0;
    if zones == 0
        || weeks.is_nan()
        || weeks <= 0.0
        || prior_total.is_nan()
        || prior_total <= 0.0
        || !(weight_ok(s.alpha) && weight_ok(s.beta) && weight_ok(s.gamma))
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
    let zone_share = if n + s.alpha > 0.0 {
        by_zone
            .iter()
            .zip(prior)
            .map(|(c, p)| (c + s.alpha * p / prior_total) / (n + s.alpha))
            .collect()
    } else {
        prior.iter().map(|p| p / prior_total).collect()
    };
    let mut day_mean = [0.0; 24];
    for (h, c) in by_hour.iter().enumerate() {
        day_mean[h % 24] += c / 7.0;
    }
    let week_mean = n / WEEK_HOURS as f64;
    let mut profile: Vec<f64> = (0..WEEK_HOURS)
        .map(|h| {
            (by_hour[h] + s.beta * day_mean[h % 24] + s.gamma * week_mean)
                / (1.0 + s.beta + s.gamma)
        })
        .collect();
    let mean = profile.iter().sum::<f64>() / WEEK_HOURS as f64;
    if mean > 0.0 {
        for p in &mut profile {
            *p /= mean;
        }
    } else {
        profile = vec![1.0; WEEK_HOURS];
    }
    Some(WeekDemand {
        calls_per_week: n / weeks,
        zone_share,
        profile,
    })
}

/// How well a model predicts held-back counts per (zone, hour of week).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
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

/// The grid [`choose`] searches.
const ALPHAS: [f64; 8] = [0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0];
const BETAS: [f64; 8] = [0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0];
const GAMMAS: [f64; 5] = [0.0, 0.5, 2.0, 8.0, 32.0];

/// Calls with their times: (seconds since the period's start, zone, hour of week), in time
/// order, over a period of `span_s` seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub calls: Vec<(f64, usize, usize)>,
    pub span_s: f64,
}

impl Timed {
    /// The weeks the period covers.
    pub fn weeks(&self) -> f64 {
        self.span_s / (7.0 * 86_400.0)
    }

    /// (zone, hour of week) of each call.
    pub fn cells(&self) -> Vec<(usize, usize)> {
        self.calls.iter().map(|c| (c.1, c.2)).collect()
    }

    /// The first `share` of the period and the rest, by time.
    pub fn split(&self, share: f64) -> (Timed, Timed) {
        let cut = self.span_s * share;
        let k = self.calls.partition_point(|c| c.0 < cut);
        let head = Timed {
            calls: self.calls[..k].to_vec(),
            span_s: cut,
        };
        let tail = Timed {
            calls: self.calls[k..]
                .iter()
                .map(|&(t, z, h)| (t - cut, z, h))
                .collect(),
            span_s: self.span_s - cut,
        };
        (head, tail)
    }
}

/// The smoothing that best predicts the last quarter of `calls` from the first three, by mean
/// Poisson deviance (ties: the first in grid order, the least smoothing); `with_hours: false`
/// chooses `α` alone for a model flat over the week. `None` when the first three quarters
/// hold no call.
pub fn choose(calls: &Timed, prior: &[f64], with_hours: bool) -> Option<Smoothing> {
    let (train, test) = calls.split(0.75);
    if train.calls.is_empty() || test.span_s <= 0.0 || train.span_s <= 0.0 {
        return None;
    }
    let (tr, te) = (train.cells(), test.cells());
    let (betas, gammas): (&[f64], &[f64]) = if with_hours {
        (&BETAS, &GAMMAS)
    } else {
        (&[0.0], &[0.0])
    };
    let mut best: Option<(f64, Smoothing)> = None;
    for &alpha in &ALPHAS {
        for &beta in betas {
            for &gamma in gammas {
                let s = Smoothing { alpha, beta, gamma };
                let Some(m) = fit(&tr, train.weeks(), prior, s) else {
                    continue;
                };
                let m = if with_hours { m } else { flat(m) };
                let d = errors(&m, &te, test.weeks()).deviance;
                if best.is_none_or(|(b, _)| d < b) {
                    best = Some((d, s));
                }
            }
        }
    }
    best.map(|b| b.1)
}

fn flat(mut m: WeekDemand) -> WeekDemand {
    m.profile = vec![1.0; WEEK_HOURS];
    m
}

/// One model's errors on the held-back calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestRow {
    pub model: String,
    pub smoothing: Option<Smoothing>,
    pub errors: Errors,
}

/// A backtest: models fitted on the first part of the log (in time), scored on the rest.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    pub train_weeks: f64,
    pub train_calls: usize,
    pub test_weeks: f64,
    pub test_calls: usize,
    /// The smoothed model, the raw counts, the smoothed zone shares flat over the week, and
    /// the prior alone flat over the week (the baseline), in that order.
    pub rows: Vec<BacktestRow>,
}

/// Fits on the first `1 − holdout` of the period and scores on the rest. `None` when a part
/// is empty or the period too short.
pub fn backtest(calls: &Timed, holdout: f64, prior: &[f64], prior_name: &str) -> Option<Backtest> {
    let (train, test) = calls.split(1.0 - holdout);
    if train.calls.is_empty() || test.calls.is_empty() {
        return None;
    }
    let (tr, te, tw) = (train.cells(), test.cells(), test.weeks());
    let smooth = choose(&train, prior, true)?;
    let zones_only = choose(&train, prior, false)?;
    let model = fit(&tr, train.weeks(), prior, smooth)?;
    let raw = fit(&tr, train.weeks(), prior, Smoothing::NONE)?;
    let shares = flat(fit(&tr, train.weeks(), prior, zones_only)?);
    let total: f64 = prior.iter().sum();
    let baseline = WeekDemand {
        calls_per_week: model.calls_per_week,
        zone_share: prior.iter().map(|p| p / total).collect(),
        profile: vec![1.0; WEEK_HOURS],
    };
    let row = |name: String, s: Option<Smoothing>, m: &WeekDemand| BacktestRow {
        model: name,
        smoothing: s,
        errors: errors(m, &te, tw),
    };
    Some(Backtest {
        train_weeks: train.weeks(),
        train_calls: train.calls.len(),
        test_weeks: tw,
        test_calls: test.calls.len(),
        rows: vec![
            row(
                "smoothed by zone and hour of week".into(),
                Some(smooth),
                &model,
            ),
            row(
                "raw counts (no smoothing)".into(),
                Some(Smoothing::NONE),
                &raw,
            ),
            row(
                "smoothed zone shares, flat over the week".into(),
                Some(zones_only),
                &shares,
            ),
            row(format!("{prior_name}, flat over the week"), None, &baseline),
        ],
    })
}

/// The smoothing used when the log is too short to choose one.
pub const DEFAULT_SMOOTHING: Smoothing = Smoothing {
    alpha: 30.0,
    beta: 4.0,
    gamma: 2.0,
};

/// Demand fitted to an incident log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogDemand {
    /// The log (file name or description).
    pub source: String,
    /// The zones, in the order of the model's shares: the scenario's demand zones, or the
    /// log's own `zone` values (sorted) without a scenario.
    pub zones: Vec<String>,
    /// What the zone shares are shrunk toward: `residents` or `equal shares`.
    pub prior: String,
    pub prior_share: Vec<f64>,
    pub first_call: String,
    pub last_call: String,
    /// The period from the first to the last call.
    pub weeks: f64,
    pub calls_used: usize,
    /// Calls with a location outside the region (with a scenario).
    pub left_outside_region: usize,
    /// Calls that could not be placed in a zone (no location and no known zone).
    pub left_no_zone: usize,
    /// The smoothing chosen on the whole log (or [`DEFAULT_SMOOTHING`] when it could not be).
    pub smoothing: Smoothing,
    pub smoothing_chosen: bool,
    pub fitted: WeekDemand,
    /// The share of the period held back for the backtest.
    pub holdout: f64,
    /// `None` when a part would be empty.
    pub backtest: Option<Backtest>,
}

impl LogDemand {
    /// Each zone's share of the calls, by zone id.
    pub fn shares(&self) -> std::collections::HashMap<&str, f64> {
        self.zones
            .iter()
            .map(String::as_str)
            .zip(self.fitted.zone_share.iter().copied())
            .collect()
    }
}

/// Why demand could not be fitted to a log.
#[derive(Debug, thiserror::Error)]
pub enum DemandError {
    #[error(
        "{file}: no call could be placed in a zone ({outside} with a location outside the \
         region, {no_zone} without a location or a known zone); {hint}"
    )]
    NoCalls {
        file: String,
        outside: usize,
        no_zone: usize,
        hint: &'static str,
    },
    #[error(
        "{0}: the calls span less than a day (first to last); give a log of at least a few weeks"
    )]
    TooShort(String),
    #[error("holdout {0}: the held-back share of the log must be above 0 and at most 0.5")]
    Holdout(f64),
}

/// The hour of the week of a local time, 0 = Monday 00:00-00:59.
pub fn hour_of_week(t: &DateTime<FixedOffset>) -> usize {
    t.weekday().num_days_from_monday() as usize * 24 + t.hour() as usize
}

/// Places the log's calls in zones and hours of the week (local time of the log) and fits the
/// demand model; the last `holdout` of the period is also held back for a backtest.
///
/// With a scenario the zones are its demand zones (a call's `zone` if it names one, else the
/// zone polygon or nearest zone point of its location, which must lie inside the region) and
/// the prior is the residents' share; without, the zones are the log's own `zone` values and
/// the prior is equal shares.
pub fn from_log(
    sc: Option<&Scenario>,
    log: &IncidentLog,
    source: &str,
    holdout: f64,
) -> Result<LogDemand, DemandError> {
    if !(holdout > 0.0 && holdout <= 0.5) {
        return Err(DemandError::Holdout(holdout));
    }
    let (mut outside, mut no_zone) = (0, 0);
    let mut placed: Vec<(DateTime<FixedOffset>, usize)> = Vec::new();
    let (zones, prior, prior_name) = match sc {
        Some(sc) => {
            let zones: Vec<String> = sc.demand.iter().map(|z| z.id.clone()).collect();
            let index: std::collections::HashMap<&str, usize> = zones
                .iter()
                .enumerate()
                .map(|(k, z)| (z.as_str(), k))
                .collect();
            let assigner = ZoneAssigner::new(sc);
            for i in &log.incidents {
                if i.lon_lat.is_some_and(|p| !sc.in_region(p)) {
                    outside += 1;
                    continue;
                }
                match assigner.zone_of(i).and_then(|z| index.get(z)) {
                    Some(&k) => placed.push((i.call_received, k)),
                    None => no_zone += 1,
                }
            }
            let pop: Vec<f64> = sc.demand.iter().map(|z| z.population.max(0.0)).collect();
            if pop.iter().sum::<f64>() > 0.0 {
                (zones, pop, "residents")
            } else {
                let n = zones.len();
                (zones, vec![1.0; n], "equal shares")
            }
        }
        None => {
            let mut zones: Vec<String> = log
                .incidents
                .iter()
                .filter_map(|i| i.zone.as_deref().map(str::trim))
                .filter(|z| !z.is_empty())
                .map(str::to_string)
                .collect();
            zones.sort();
            zones.dedup();
            for i in &log.incidents {
                let z = i.zone.as_deref().map(str::trim).unwrap_or("");
                match zones.binary_search_by(|x| x.as_str().cmp(z)) {
                    Ok(k) if !z.is_empty() => placed.push((i.call_received, k)),
                    _ => no_zone += 1,
                }
            }
            let n = zones.len();
            (zones, vec![1.0; n], "equal shares")
        }
    };
    if placed.is_empty() {
        return Err(DemandError::NoCalls {
            file: source.to_string(),
            outside,
            no_zone,
            hint: if sc.is_some() {
                "is the log for this scenario's region?"
            } else {
                "without --scenario the log needs a zone column (a mapping's `zone` field)"
            },
        });
    }
    placed.sort_by_key(|p| p.0);
    let (first, last) = (placed[0].0, placed[placed.len() - 1].0);
    let span_s = (last - first).num_milliseconds() as f64 / 1000.0;
    if span_s < 86_400.0 {
        return Err(DemandError::TooShort(source.to_string()));
    }
    let timed = Timed {
        calls: placed
            .iter()
            .map(|(t, z)| {
                (
                    (*t - first).num_milliseconds() as f64 / 1000.0,
                    *z,
                    hour_of_week(t),
                )
            })
            .collect(),
        span_s,
    };
    let chosen = choose(&timed, &prior, true);
    let smoothing = chosen.unwrap_or(DEFAULT_SMOOTHING);
    let fitted = fit(&timed.cells(), timed.weeks(), &prior, smoothing).ok_or_else(|| {
        DemandError::TooShort(source.to_string()) // unreachable: zones, weeks and prior are positive
    })?;
    let total: f64 = prior.iter().sum();
    Ok(LogDemand {
        source: source.to_string(),
        prior: prior_name.to_string(),
        prior_share: prior.iter().map(|p| p / total).collect(),
        first_call: first.to_rfc3339(),
        last_call: last.to_rfc3339(),
        weeks: timed.weeks(),
        calls_used: placed.len(),
        left_outside_region: outside,
        left_no_zone: no_zone,
        smoothing,
        smoothing_chosen: chosen.is_some(),
        backtest: backtest(&timed, holdout, &prior, prior_name),
        fitted,
        holdout,
        zones,
    })
}
#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;
    use rand_distr::{Distribution, Poisson};

    /// Calls from a known λ: zone 0 has twice its residents' share, evenings are busy.
    fn draw(weeks: usize, seed: u64) -> (Timed, WeekDemand) {
        let mut profile = vec![0.0; WEEK_HOURS];
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
        for w in 0..weeks {
            for h in 0..WEEK_HOURS {
                for z in 0..3 {
                    let n = Poisson::new(truth.rate(z, h)).unwrap().sample(&mut rng) as usize;
                    let t = ((w * WEEK_HOURS + h) as f64 + 0.5) * 3600.0;
                    calls.extend(std::iter::repeat_n((t, z, h), n));
                }
            }
        }
        let span_s = weeks as f64 * 7.0 * 86_400.0;
        (Timed { calls, span_s }, truth)
    }

    const SOME: Smoothing = Smoothing {
        alpha: 10.0,
        beta: 1.0,
        gamma: 0.0,
    };

    #[test]
    fn the_fit_recovers_a_known_demand() {
        let (calls, truth) = draw(20, 5);
        let prior = [1.0, 1.0, 1.0];
        let m = fit(&calls.cells(), calls.weeks(), &prior, SOME).unwrap();
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
        // Nothing to fit on: no model.
        assert!(fit(&calls.cells(), 0.0, &[1.0], SOME).is_none());
        assert!(fit(&calls.cells(), 1.0, &[], SOME).is_none());
    }

    #[test]
    fn smoothing_by_hand() {
        // Two zones, residents 3:1, α = 4 calls' worth: zone 0 has all 4 calls.
        let calls = [(0, 0), (0, 0), (0, 24), (0, 48)];
        let s = Smoothing {
            alpha: 4.0,
            beta: 0.0,
            gamma: 0.0,
        };
        let m = fit(&calls, 2.0, &[3.0, 1.0], s).unwrap();
        // (4 + 4·0.75) / 8 and (0 + 4·0.25) / 8.
        assert_eq!(m.zone_share, vec![7.0 / 8.0, 1.0 / 8.0]);
        assert_eq!(m.calls_per_week, 2.0);
        // Hour 0 has 2 of 4 calls: 2 / (4/168) = 84 times the mean; hour 1 none.
        assert!((m.profile[0] - 84.0).abs() < 1e-9, "{}", m.profile[0]);
        assert_eq!(m.profile[1], 0.0);
        // β = 1: hour 0 → (2 + 4/7) / 2 over the mean (4/168); hour 72 (Thursday 00:00) has
        // none of its own: (0 + 4/7) / 2.
        let m = fit(&calls, 2.0, &[3.0, 1.0], Smoothing { beta: 1.0, ..s }).unwrap();
        let mean = 4.0 / 168.0;
        assert!((m.profile[0] - (2.0 + 4.0 / 7.0) / 2.0 / mean).abs() < 1e-9);
        assert!((m.profile[72] - (4.0 / 7.0) / 2.0 / mean).abs() < 1e-9);
        // γ alone, very large: flat.
        let m = fit(&calls, 2.0, &[3.0, 1.0], Smoothing { gamma: 1e9, ..s }).unwrap();
        assert!(m.profile.iter().all(|p| (p - 1.0).abs() < 1e-6));
    }

    #[test]
    fn the_backtest_beats_the_population_baseline() {
        let (calls, _) = draw(20, 7);
        let b = backtest(&calls, 0.2, &[1.0, 1.0, 1.0], "equal shares").unwrap();
        assert_eq!(b.rows.len(), 4);
        let (model, baseline) = (&b.rows[0].errors, &b.rows[3].errors);
        assert!(model.deviance < baseline.deviance, "{b:?}");
        assert!(model.mae < baseline.mae, "{b:?}");
        // The busy evenings are real: the flat model is worse.
        assert!(model.deviance < b.rows[2].errors.deviance, "{b:?}");
        assert!((b.train_weeks - 16.0).abs() < 1e-9 && (b.test_weeks - 4.0).abs() < 1e-9);
        assert_eq!(b.train_calls + b.test_calls, calls.calls.len());
    }

    #[test]
    fn smoothing_is_chosen_on_sparse_data() {
        // A week's worth of calls over 20 weeks: the raw counts leave most cells empty, and
        // the chosen smoothing predicts the held-back weeks better.
        let (dense, _) = draw(20, 11);
        let sparse = Timed {
            calls: dense.calls.iter().step_by(40).copied().collect(),
            span_s: dense.span_s,
        };
        let b = backtest(&sparse, 0.25, &[1.0, 1.0, 1.0], "equal shares").unwrap();
        let s = b.rows[0].smoothing.unwrap();
        assert!(s.beta + s.gamma > 0.0, "{s:?}");
        assert!(
            b.rows[0].errors.deviance < b.rows[1].errors.deviance,
            "{b:?}"
        );
    }
}
