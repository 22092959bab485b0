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
//!
//! # Solution
//! The balance equations are sparse: a state has at most `N` neighbours up (an arrival) and `N`
//! down (a completion). They are solved by Gauss–Seidel sweeps, as Larson did: each state's
//! probability becomes its inflow over its outflow, then the vector is normalised, until a
//! sweep changes it by less than `1e-14` (L1). Memory is `O(2^N · N)` (the arrival rate from
//! each state to each unit), a sweep costs `O(2^N · N)`; `N` is capped at [`MAX_UNITS`] (18:
//! 262,144 states, about 40 MB).

/// What happens to a call that finds every unit busy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineCapacity {
    /// It is lost.
    Zero,
    /// It waits for the first unit to free.
    Infinite,
}

/// The most units the exact model takes (`2^18` states).
pub const MAX_UNITS: usize = 18;

/// Gauss–Seidel sweeps before the solver gives up.
const MAX_SWEEPS: usize = 200_000;

/// A hypercube system.
#[derive(Debug, Clone, PartialEq)]
pub struct Hypercube {
    /// Units, `N` (at most [`MAX_UNITS`]).
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
    /// The model needs 1 to [`MAX_UNITS`] units, positive rates, and a full preference list per
    /// atom.
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
        if n == 0 || n > MAX_UNITS {
            return bad(format!(
                "{n} units (1 to {MAX_UNITS}: the exact model has 2^N states)"
            ));
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
        // The arrival rate from each state to each unit (the first free one in each atom's
        // list), and each state's outflow.
        let mut arrive = vec![0.0; s * n];
        let mut out = vec![0.0; s];
        for b in 0..s {
            for (j, r) in self.rates.iter().enumerate() {
                if let Some(u) = first_free(b, j) {
                    arrive[b * n + u] += r;
                    out[b] += r;
                }
            }
            out[b] += self.mu * (b.count_ones() as f64);
        }
        let mut pi = gauss_seidel(n, &arrive, &out, self.mu).ok_or_else(|| {
            HypercubeError::Invalid(format!(
                "the balance equations did not converge in {MAX_SWEEPS} sweeps"
            ))
        })?;
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

/// The stationary distribution of the busy sets by Gauss–Seidel sweeps over `π_b = inflow(b) /
/// out(b)`, with inflow from `b \ {u}` (an arrival sent to `u`, at `arrive[(b \ {u}) n + u]`)
/// and from `b ∪ {u}` (a completion, at `μ`). `None` if it does not converge.
fn gauss_seidel(n: usize, arrive: &[f64], out: &[f64], mu: f64) -> Option<Vec<f64>> {
    let s = 1usize << n;
    let mut pi = vec![1.0 / s as f64; s];
    for _ in 0..MAX_SWEEPS {
        let mut change = 0.0;
        for b in 0..s {
            let mut inflow = 0.0;
            for u in 0..n {
                let bit = 1 << u;
                if b & bit != 0 {
                    let from = b ^ bit;
                    inflow += pi[from] * arrive[from * n + u];
                } else {
                    inflow += pi[b | bit] * mu;
                }
            }
            let new = if out[b] > 0.0 { inflow / out[b] } else { pi[b] };
            change += (new - pi[b]).abs();
            pi[b] = new;
        }
        let total: f64 = pi.iter().sum();
        if !(total.is_finite() && total > 0.0) {
            return None;
        }
        pi.iter_mut().for_each(|p| *p /= total);
        if change / total < 1e-14 {
            return Some(pi);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The balance equations solved densely (Gaussian elimination), as an oracle for the
    /// sweeps on small systems.
    fn dense(h: &Hypercube) -> Vec<f64> {
        let (n, s) = (h.units, 1usize << h.units);
        let mut a = vec![0.0; s * s]; // a[to * s + from] = rate from → to
        for b in 0..s {
            for (j, r) in h.rates.iter().enumerate() {
                if let Some(u) = h.preferences[j].iter().copied().find(|&u| b >> u & 1 == 0) {
                    a[(b | 1 << u) * s + b] += r;
                    a[b * s + b] -= r;
                }
            }
            for u in (0..n).filter(|u| b >> u & 1 == 1) {
                a[(b & !(1 << u)) * s + b] += h.mu;
                a[b * s + b] -= h.mu;
            }
        }
        // Σ π = 1 replaces the last equation; Gaussian elimination with partial pivoting.
        let mut rhs = vec![0.0; s];
        a[(s - 1) * s..].iter_mut().for_each(|x| *x = 1.0);
        rhs[s - 1] = 1.0;
        for c in 0..s {
            let p = (c..s)
                .max_by(|x, y| a[x * s + c].abs().total_cmp(&a[y * s + c].abs()))
                .unwrap();
            for k in 0..s {
                a.swap(p * s + k, c * s + k);
            }
            rhs.swap(p, c);
            for r in c + 1..s {
                let f = a[r * s + c] / a[c * s + c];
                for k in c..s {
                    a[r * s + k] -= f * a[c * s + k];
                }
                rhs[r] -= f * rhs[c];
            }
        }
        let mut x = vec![0.0; s];
        for r in (0..s).rev() {
            let t: f64 = (r + 1..s).map(|k| a[r * s + k] * x[k]).sum();
            x[r] = (rhs[r] - t) / a[r * s + r];
        }
        x
    }

    /// Gauss–Seidel equals the dense solution on asymmetric systems of 2 to 6 units.
    #[test]
    fn sweeps_equal_dense_elimination() {
        for n in 2..=6 {
            let atoms = n + 1;
            let h = Hypercube {
                units: n,
                rates: (0..atoms).map(|j| 0.1 + 0.07 * j as f64).collect(),
                preferences: (0..atoms)
                    .map(|j| (0..n).map(|k| (j * 3 + k * (j % 2 + 1)) % n).collect())
                    .map(|p: Vec<usize>| {
                        let mut seen = vec![false; n];
                        let mut q: Vec<usize> = p
                            .into_iter()
                            .filter(|&u| !std::mem::replace(&mut seen[u], true))
                            .collect();
                        q.extend((0..n).filter(|&u| !seen[u]));
                        q
                    })
                    .collect(),
                mu: 1.0,
                capacity: LineCapacity::Zero,
            };
            let s = h.solve().unwrap();
            let d = dense(&h);
            for (a, b) in s.state.iter().zip(&d) {
                assert!((a - b).abs() < 1e-12, "{n} units: {a} vs {b}");
            }
        }
    }

    /// 18 units (262,144 states) solve; 19 are refused with the reason.
    #[test]
    fn large_systems_are_sparse_or_refused() {
        let n = MAX_UNITS;
        let h = Hypercube {
            units: n,
            rates: vec![0.4; n],
            preferences: (0..n)
                .map(|j| (0..n).map(|k| (j + k) % n).collect())
                .collect(),
            mu: 1.0,
            capacity: LineCapacity::Infinite,
        };
        let s = h.solve().unwrap();
        for w in &s.workload {
            assert!((w - 0.4).abs() < 1e-6, "{w}");
        }
        let e = Hypercube {
            units: n + 1,
            rates: vec![0.1],
            preferences: vec![(0..=n).collect()],
            ..h
        }
        .solve()
        .unwrap_err();
        assert!(e.to_string().contains("2^N states"), "{e}");
    }

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
