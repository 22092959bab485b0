//! Larson's hypercube queueing model (Larson 1974, *Computers & Operations Research* 1(1),
//! 67–95; Larson & Odoni, *Urban Operations Research*, 1981, §5.4), solved exactly, as an
//! oracle for the simulator.
//!
//! This module owns the exact steady state of `N` distinguishable servers with fixed dispatch
//! preferences. It must not simulate; it is the independent check the simulator is tested
//! against.
//!
//! # Model
//! Calls arrive from atom `j` as a Poisson process of rate `λ_j` and go to the first free unit
//! in the atom's preference list. Every unit's service time is exponential with rate `μ`.
//! The state is the set of busy units (`2^N` states). With **zero line capacity** a call that
//! finds every unit busy is lost. With **infinite line capacity** it waits (first come, first
//! served) and the first unit to free takes it; the states with a queue form a birth–death
//! tail behind the all-busy state with rates `λ` and `Nμ`, whose total probability is
//! `π(all busy) · ρ / (1 − ρ)` with `ρ = λ / (Nμ) < 1`. The balance equations over the `2^N`
//! states are the same in both cases (in the all-busy state, the tail's inflow equals its
//! outflow), so one linear system serves both; only the normalisation differs.
//!
//! Outputs: each unit's busy fraction (workload) and the fraction of dispatches that send unit
//! `i` to atom `j`. With infinite capacity a queued call is served by whichever unit frees
//! first, which is each unit with probability `1/N`.

/// What happens to a call that finds every unit busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineCapacity {
    /// It is lost.
    Zero,
    /// It waits for the first unit to free.
    Infinite,
}

/// A hypercube system.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypercube {
    /// Units, `N` (at most 16).
    pub units: usize,
    /// Arrival rate of each atom.
    pub rates: Vec<f64>,
    /// Each atom's units in preference order (every unit listed once).
    pub preferences: Vec<Vec<usize>>,
    /// Service rate of every unit.
    pub mu: f64,
    pub capacity: LineCapacity,
}

/// The exact steady state.
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    /// Probability of each busy set (bit `i`: unit `i` busy), without the queue tail.
    pub state: Vec<f64>,
    /// Probability that a call waits (infinite capacity) or is lost (zero capacity).
    pub all_busy: f64,
    /// Busy fraction of each unit.
    pub workload: Vec<f64>,
    /// `dispatch[i][j]`: the fraction of all dispatches that send unit `i` to atom `j`.
    pub dispatch: Vec<Vec<f64>>,
}

/// Why a system cannot be solved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HypercubeError {
    /// The model needs 1 to 16 units, positive rates, and a full preference list per atom.
    #[error("invalid hypercube system: {0}")]
    Invalid(String),
    /// With infinite line capacity the load `λ / (Nμ)` must be below 1.
    #[error("unstable: demand exceeds capacity (λ / (Nμ) = {0:.3} >= 1)")]
    Unstable(f64),
}

impl Hypercube {
    fn check(&self) -> Result<(), HypercubeError> {
        let n = self.units;
        let bad = |m: String| Err(HypercubeError::Invalid(m));
        if n == 0 || n > 16 {
            return bad(format!("{n} units (1 to 16)"));
        }
        if !(self.mu.is_finite() && self.mu > 0.0) {
            return bad(format!("service rate {}", self.mu));
        }
        if self.rates.len() != self.preferences.len() || self.rates.is_empty() {
            return bad("one preference list per atom is needed".into());
        }
        for (j, (r, p)) in self.rates.iter().zip(&self.preferences).enumerate() {
            if !(r.is_finite() && *r >= 0.0) {
                return bad(format!("atom {j} has rate {r}"));
            }
            let mut seen = vec![false; n];
            if p.len() != n
                || p.iter()
                    .any(|&u| u >= n || std::mem::replace(&mut seen[u], true))
            {
                return bad(format!(
                    "atom {j}'s preferences are not a permutation of the units"
                ));
            }
        }
        Ok(())
    }

    /// Solves the balance equations (Gaussian elimination with partial pivoting).
    pub fn solve(&self) -> Result<Solution, HypercubeError> {
        self.check()?;
        let n = self.units;
        let s = 1usize << n;
        let full = s - 1;
        let lambda: f64 = self.rates.iter().sum();
        let rho = lambda / (n as f64 * self.mu);
        if self.capacity == LineCapacity::Infinite && rho >= 1.0 {
            return Err(HypercubeError::Unstable(rho));
        }
        // The unit that takes a call from atom j in state b.
        let first_free = |b: usize, j: usize| {
            self.preferences[j]
                .iter()
                .copied()
                .find(|&u| b >> u & 1 == 0)
        };
        // Generator Q (rows: from, columns: to); solve π Q = 0 as Qᵀ πᵀ = 0.
        let mut a = vec![0.0; s * s]; // a[to * s + from] = rate from → to
        for b in 0..s {
            for j in 0..self.rates.len() {
                if let Some(u) = first_free(b, j) {
                    let to = b | 1 << u;
                    a[to * s + b] += self.rates[j];
                    a[b * s + b] -= self.rates[j];
                }
            }
            for u in 0..n {
                if b >> u & 1 == 1 {
                    let to = b & !(1 << u);
                    a[to * s + b] += self.mu;
                    a[b * s + b] -= self.mu;
                }
            }
        }
        // Replace the last equation with Σ π = 1.
        let mut rhs = vec![0.0; s];
        for b in 0..s {
            a[(s - 1) * s + b] = 1.0;
        }
        rhs[s - 1] = 1.0;
        let mut pi = gauss(a, rhs, s)
            .ok_or_else(|| HypercubeError::Invalid("singular balance equations".into()))?;
        let tail = match self.capacity {
            LineCapacity::Zero => 0.0,
            LineCapacity::Infinite => pi[full] * rho / (1.0 - rho),
        };
        let norm = 1.0 + tail;
        pi.iter_mut().for_each(|p| *p /= norm);
        let tail = tail / norm;
        let workload: Vec<f64> = (0..n)
            .map(|u| {
                (0..s)
                    .filter(|b| b >> u & 1 == 1)
                    .map(|b| pi[b])
                    .sum::<f64>()
                    + tail
            })
            .collect();
        // Dispatch rates by (unit, atom), then normalised.
        let all_busy = pi[full] + tail;
        let mut d = vec![vec![0.0; self.rates.len()]; n];
        for (b, p) in pi.iter().enumerate() {
            for (j, r) in self.rates.iter().enumerate() {
                if let Some(u) = first_free(b, j) {
                    d[u][j] += p * r;
                }
            }
        }
        if self.capacity == LineCapacity::Infinite {
            for row in d.iter_mut() {
                for (j, r) in self.rates.iter().enumerate() {
                    row[j] += all_busy * r / n as f64;
                }
            }
        }
        let total: f64 = d.iter().flatten().sum();
        if total > 0.0 {
            d.iter_mut().flatten().for_each(|x| *x /= total);
        }
        Ok(Solution {
            state: pi,
            all_busy,
            workload,
            dispatch: d,
        })
    }
}

fn gauss(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Option<Vec<f64>> {
    for c in 0..n {
        let p = (c..n).max_by(|x, y| a[x * n + c].abs().total_cmp(&a[y * n + c].abs()))?;
        if a[p * n + c].abs() < 1e-300 {
            return None;
        }
        if p != c {
            for k in 0..n {
                a.swap(p * n + k, c * n + k);
            }
            b.swap(p, c);
        }
        for r in c + 1..n {
            let f = a[r * n + c] / a[c * n + c];
            if f != 0.0 {
                for k in c..n {
                    a[r * n + k] -= f * a[c * n + k];
                }
                b[r] -= f * b[c];
            }
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let s: f64 = (r + 1..n).map(|k| a[r * n + k] * x[k]).sum();
        x[r] = (b[r] - s) / a[r * n + r];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One unit, one atom: the M/M/1 queue (infinite) and the Erlang loss system (zero).
    #[test]
    fn one_unit_is_mm1_and_erlang_loss() {
        let h = Hypercube {
            units: 1,
            rates: vec![0.6],
            preferences: vec![vec![0]],
            mu: 1.0,
            capacity: LineCapacity::Infinite,
        };
        let s = h.solve().unwrap();
        assert!((s.workload[0] - 0.6).abs() < 1e-12);
        let z = Hypercube {
            capacity: LineCapacity::Zero,
            ..h
        }
        .solve()
        .unwrap();
        assert!((z.workload[0] - 0.6 / 1.6).abs() < 1e-12);
    }

    /// Identical units: total workload is the offered load (M/M/N), and with symmetric
    /// preferences each unit carries an equal share.
    #[test]
    fn symmetric_units_share_the_load() {
        let h = Hypercube {
            units: 3,
            rates: vec![0.5, 0.5, 0.5],
            preferences: vec![vec![0, 1, 2], vec![1, 2, 0], vec![2, 0, 1]],
            mu: 1.0,
            capacity: LineCapacity::Infinite,
        };
        let s = h.solve().unwrap();
        for w in &s.workload {
            assert!((w - 0.5).abs() < 1e-9, "{w}");
        }
        let total: f64 = s.dispatch.iter().flatten().sum();
        assert!((total - 1.0).abs() < 1e-12);
        assert!(matches!(
            Hypercube {
                rates: vec![1.0, 1.0, 1.5],
                ..h
            }
            .solve(),
            Err(HypercubeError::Unstable(_))
        ));
    }
}
