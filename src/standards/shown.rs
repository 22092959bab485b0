//! A target's figure as text that never contradicts its verdict.
//!
//! Verdicts are computed on exact values ([`super::Comparison::holds`]); a figure rounded for
//! display can land on the threshold itself (0.9999987 ambulances per 30,000 against ≥ 1 shows
//! as "1.00" beside FAIL). This module owns the rounding of target figures only: it shows the
//! usual number of decimals, and more where fewer would put the shown number on the other side
//! of the threshold. It must not change a value or a verdict.

use super::Comparison;

/// The most decimals a figure is shown with.
const MAX_DECIMALS: usize = 12;

/// `value` with `decimals` decimals, or with as many more (up to 12) as it takes for the shown
/// number to fall on the same side of `threshold` as the verdict `pass` (computed on the exact
/// value). `value` and `threshold` are in the unit shown (a share already times 100). Without a
/// threshold or a verdict, `decimals` decimals. `O(decimals)`.
///
/// ```
/// use ems::standards::{Comparison, shown};
/// // 5 ambulances for 150,000.2 residents: 0.9999987 per 30,000, below the target of 1.
/// assert_eq!(shown(0.9999987, Some(1.0), Some(false), Comparison::AtLeast, 2), "0.999999");
/// // Far from the threshold, the usual two decimals.
/// assert_eq!(shown(1.4, Some(1.0), Some(true), Comparison::AtLeast, 2), "1.40");
/// // A detention rate of 2.4996 % passes "< 2.5 %": "2.50" would say otherwise.
/// assert_eq!(shown(2.4996, Some(2.5), Some(true), Comparison::Below, 2), "2.4996");
/// ```
pub fn shown(
    value: f64,
    threshold: Option<f64>,
    pass: Option<bool>,
    comparison: Comparison,
    decimals: usize,
) -> String {
    let plain = format!("{value:.decimals$}");
    let (Some(threshold), Some(pass)) = (threshold, pass) else {
        return plain;
    };
    if !value.is_finite() {
        return plain;
    }
    for d in decimals..=MAX_DECIMALS {
        let text = format!("{value:.d$}");
        let agrees = text
            .parse::<f64>()
            .is_ok_and(|v| comparison.holds(v, threshold) == pass);
        if agrees {
            // Trailing zeros beyond the usual decimals say nothing.
            return if d > decimals {
                text.trim_end_matches('0').to_string()
            } else {
                text
            };
        }
    }
    format!("{value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_on_the_wrong_side() {
        for (v, t, c) in [
            (0.999_999_999_8, 1.0, Comparison::AtLeast),
            (3.500_000_1, 3.5, Comparison::AtMost),
            (2.5, 2.5, Comparison::Below),
            (11.996, 12.0, Comparison::AtMost),
        ] {
            let pass = c.holds(v, t);
            let s = shown(v, Some(t), Some(pass), c, 2);
            let back: f64 = s.parse().unwrap();
            assert_eq!(c.holds(back, t), pass, "{v} shown {s}");
        }
        assert_eq!(shown(2.0, None, None, Comparison::AtMost, 2), "2.00");
    }
}
