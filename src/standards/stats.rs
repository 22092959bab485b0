//! Summary statistics with documented definitions.
//!
//! This module owns how a distribution becomes numbers. It must not know what the values mean.
//!
//! - **Percentiles of a sample** (unweighted): linear interpolation between order statistics,
//!   `x[(n − 1) p]` (Hyndman & Fan type 7, the default of numpy and R).
//! - **Weighted percentiles** (population-weighted): the smallest value whose cumulative weight
//!   reaches `p` of the total (the inverse of the weighted empirical distribution function).
//! - **Share within a threshold**: values `<=` the threshold over all values (or weights).

use serde::Serialize;

/// A distribution summary. Times are in the unit the caller chose (minutes in reports).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub mean: f64,
    pub median: f64,
    pub p90: f64,
    pub p95: f64,
    pub min: f64,
    pub max: f64,
}

/// Percentile `p` (0..=1) of sorted values, type 7 (Hyndman and Fan; R's default, numpy's
/// `linear`): linear between the order statistics around `(n - 1) p`. NaN for no values.
/// `O(1)`.
///
/// ```
/// use ems::standards::stats::percentile_sorted;
/// let minutes = [4.0, 6.0, 8.0, 10.0, 30.0];
/// assert_eq!(percentile_sorted(&minutes, 0.5), 8.0); // the median
/// assert!((percentile_sorted(&minutes, 0.9) - 22.0).abs() < 1e-9); // 10 + 0.6 × (30 − 10)
/// assert_eq!(percentile_sorted(&minutes, 1.0), 30.0);
/// assert!(percentile_sorted(&[], 0.9).is_nan());
/// ```
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Summary of a sample; `None` when it is empty.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    Some(Summary {
        count: v.len(),
        mean: v.iter().sum::<f64>() / v.len() as f64,
        median: percentile_sorted(&v, 0.5),
        p90: percentile_sorted(&v, 0.9),
        p95: percentile_sorted(&v, 0.95),
        min: v[0],
        max: v[v.len() - 1],
    })
}

/// Share of values `<= limit`; `None` when empty.
pub fn share_within(values: &[f64], limit: f64) -> Option<f64> {
    (!values.is_empty())
        .then(|| values.iter().filter(|v| **v <= limit).count() as f64 / values.len() as f64)
}

/// A weighted distribution summary (e.g. population-weighted travel times).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeightedSummary {
    /// Number of items with positive weight.
    pub count: usize,
    pub total_weight: f64,
    pub mean: f64,
    pub median: f64,
    pub p90: f64,
    pub p95: f64,
    pub min: f64,
    pub max: f64,
}

/// Weighted percentile of `(value, weight)` pairs sorted by value.
fn weighted_percentile_sorted(sorted: &[(f64, f64)], total: f64, p: f64) -> f64 {
    let target = p.clamp(0.0, 1.0) * total;
    let mut acc = 0.0;
    for (v, w) in sorted {
        acc += w;
        if acc >= target - 1e-12 * total {
            return *v;
        }
    }
    sorted.last().map(|x| x.0).unwrap_or(f64::NAN)
}

/// Weighted summary of `(value, weight)` pairs; items with zero weight are ignored. `None` when
/// the total weight is zero.
pub fn summarize_weighted(items: &[(f64, f64)]) -> Option<WeightedSummary> {
    let mut v: Vec<(f64, f64)> = items.iter().copied().filter(|(_, w)| *w > 0.0).collect();
    let total: f64 = v.iter().map(|x| x.1).sum();
    if v.is_empty() || total <= 0.0 {
        return None;
    }
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(WeightedSummary {
        count: v.len(),
        total_weight: total,
        mean: v.iter().map(|(x, w)| x * w).sum::<f64>() / total,
        median: weighted_percentile_sorted(&v, total, 0.5),
        p90: weighted_percentile_sorted(&v, total, 0.9),
        p95: weighted_percentile_sorted(&v, total, 0.95),
        min: v[0].0,
        max: v[v.len() - 1].0,
    })
}

/// Weighted share of items with value `<= limit`; `None` when the total weight is zero.
pub fn weighted_share_within(items: &[(f64, f64)], limit: f64) -> Option<f64> {
    let total: f64 = items.iter().map(|x| x.1).sum();
    (total > 0.0).then(|| {
        items
            .iter()
            .filter(|(v, _)| *v <= limit)
            .map(|x| x.1)
            .sum::<f64>()
            / total
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_hand() {
        // numpy.percentile([1, 2, 3, 4, 10], [50, 90, 95]) = 3, 7.6, 8.8
        let s = summarize(&[4.0, 1.0, 10.0, 3.0, 2.0]).unwrap();
        assert_eq!(s.count, 5);
        assert_eq!(s.mean, 4.0);
        assert_eq!(s.median, 3.0);
        assert!((s.p90 - 7.6).abs() < 1e-12);
        assert!((s.p95 - 8.8).abs() < 1e-12);
        assert_eq!((s.min, s.max), (1.0, 10.0));
        assert_eq!(summarize(&[]), None);
        assert_eq!(share_within(&[1.0, 12.0, 12.5, 3.0], 12.0), Some(0.75));
    }

    #[test]
    fn weighted_by_hand() {
        // 100 people at 2 min, 300 at 5 min, 100 at 20 min.
        let items = [(5.0, 300.0), (2.0, 100.0), (20.0, 100.0), (99.0, 0.0)];
        let s = summarize_weighted(&items).unwrap();
        assert_eq!(s.count, 3);
        assert_eq!(s.total_weight, 500.0);
        assert!((s.mean - (200.0 + 1500.0 + 2000.0) / 500.0).abs() < 1e-12);
        assert_eq!(s.median, 5.0);
        assert_eq!(s.p90, 20.0);
        assert_eq!(s.max, 20.0);
        assert_eq!(weighted_share_within(&items, 5.0), Some(0.8));
    }
}
