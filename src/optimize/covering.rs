//! Set-covering questions answered through the MCLP solver: the fewest sites that cover every
//! demand point (LSCP; Toregas et al. 1971) and the `p` sites with the smallest worst-case cost
//! (p-center; Hakimi 1964).
//!
//! This module owns the searches over `p` and over thresholds. It must not solve coverage
//! problems itself: every subproblem is an MCLP with unit weights on the demand points that
//! have people, solved with a certificate by [`super::mclp`]. A subproblem counts as infeasible
//! only when the MCLP proves that fewer than all points can be covered; when a time limit stops
//! a proof, the answer says it is not proven.
//!
//! - **LSCP**: the smallest `p` whose MCLP optimum covers every point. The search starts from
//!   the greedy set cover's size and lowers `p` while coverage stays complete.
//! - **p-center**: the smallest threshold among the distinct costs such that `p` sites cover
//!   every point within it (binary search over the sorted costs, as in Minieka 1970).

use serde::Serialize;

use super::mclp::{self, Coverage};
use super::{Certificate, Instance, OptimizeError, SiteOptions};

/// An LSCP answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LscpSolution {
    /// The sites (fixed ones included), ascending.
    pub open: Vec<usize>,
    /// Their number.
    pub p: usize,
    /// `p` as the objective, a proven lower bound on the fewest sites (`p` itself when `p − 1`
    /// sites were proven not to suffice), and the nodes of every MCLP subproblem.
    #[serde(flatten)]
    pub cert: Certificate,
}

/// A p-center answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PCenterSolution {
    pub open: Vec<usize>,
    /// The largest cost from a demand point (with people) to its nearest open site, a proven
    /// lower bound on the optimal worst-case cost, and the nodes of every MCLP subproblem.
    #[serde(flatten)]
    pub cert: Certificate,
}

/// Unit-weight coverage of the demand points with positive weight.
fn unit_coverage(weights: &[f64], m: usize, covers: impl Fn(usize, usize) -> bool) -> Coverage {
    let keep: Vec<usize> = (0..weights.len()).filter(|&i| weights[i] > 0.0).collect();
    let n = keep.len();
    let mut c = vec![false; m * n];
    for j in 0..m {
        for (k, &i) in keep.iter().enumerate() {
            c[j * n + k] = covers(j, i);
        }
    }
    Coverage {
        weights: vec![1.0; n],
        m,
        covers: c,
    }
}

/// Outcome of one covering subproblem.
enum Cover {
    /// All points covered by these sites.
    Yes(Vec<usize>),
    /// Proven impossible.
    No,
    /// Not all covered, not proven impossible.
    Unknown,
}

/// Solves the covering subproblem with `p` sites; adds its nodes to `nodes`.
fn try_cover(
    cov: &Coverage,
    p: usize,
    opts: &SiteOptions,
    nodes: &mut u64,
) -> Result<Cover, OptimizeError> {
    let mut o = opts.clone();
    o.p = p;
    let s = mclp::solve(cov, &o)?;
    *nodes += s.cert.nodes;
    Ok(if s.cert.objective >= s.total_demand {
        Cover::Yes(s.open)
    } else if s.cert.optimal {
        Cover::No
    } else {
        Cover::Unknown
    })
}

/// The fewest sites (fixed ones included) covering every demand point with people.
/// `cov.weights` only marks which points need cover (weight > 0).
pub fn lscp(cov: &Coverage, opts: &SiteOptions) -> Result<LscpSolution, OptimizeError> {
    let t0 = std::time::Instant::now();
    let mut nodes = 0;
    let n = cov.weights.len();
    let unit = unit_coverage(&cov.weights, cov.m, |j, i| cov.covers[j * n + i]);
    let un = unit.weights.len();
    let keep: Vec<usize> = (0..n).filter(|&i| cov.weights[i] > 0.0).collect();
    let uncovered: Vec<usize> = (0..un)
        .filter(|&k| (0..cov.m).all(|j| !unit.covers[j * un + k]))
        .map(|k| keep[k])
        .collect();
    if !uncovered.is_empty() {
        return Err(OptimizeError::Infeasible {
            p: cov.m,
            uncovered,
            proven: true,
        });
    }
    let fixed = opts.fixed_open.len();
    // Greedy set cover gives a feasible size to start from.
    let mut covered = vec![false; un];
    let mut open: Vec<usize> = opts.fixed_open.clone();
    for &j in &open {
        for (c, hit) in covered.iter_mut().zip(&unit.covers[j * un..(j + 1) * un]) {
            *c |= *hit;
        }
    }
    while covered.iter().any(|c| !c) {
        let j = (0..cov.m)
            .filter(|j| !open.contains(j))
            .max_by_key(|&j| {
                (
                    (0..un)
                        .filter(|&k| !covered[k] && unit.covers[j * un + k])
                        .count(),
                    std::cmp::Reverse(j),
                )
            })
            .expect("every point is coverable");
        open.push(j);
        for (c, hit) in covered.iter_mut().zip(&unit.covers[j * un..(j + 1) * un]) {
            *c |= *hit;
        }
    }
    let mut best = open;
    best.sort_unstable();
    let mut optimal = best.len() <= fixed.max(1);
    // Lower p while full coverage stays possible.
    while !optimal {
        let p = best.len() - 1;
        match try_cover(&unit, p, opts, &mut nodes)? {
            Cover::Yes(o) => {
                best = o;
                optimal = best.len() <= fixed.max(1);
            }
            Cover::No => optimal = true,
            Cover::Unknown => break,
        }
    }
    let p = best.len();
    let bound = if optimal { p } else { fixed.max(1) };
    Ok(LscpSolution {
        p,
        open: best,
        cert: Certificate::new(p as f64, bound as f64, optimal, nodes, t0),
    })
}

/// The `opts.p` sites minimising the worst cost from a demand point with people to its nearest
/// open site.
pub fn pcenter(inst: &Instance, opts: &SiteOptions) -> Result<PCenterSolution, OptimizeError> {
    let t0 = std::time::Instant::now();
    let mut nodes = 0;
    inst.validate()?;
    let n = inst.n();
    if opts.p == 0 || opts.p > inst.m {
        return Err(OptimizeError::BadP {
            p: opts.p,
            m: inst.m,
        });
    }
    let mut levels: Vec<f64> = (0..inst.m)
        .flat_map(|j| (0..n).map(move |i| (j, i)))
        .filter(|&(_, i)| inst.weights[i] > 0.0)
        .map(|(j, i)| inst.c(j, i))
        .filter(|c| c.is_finite())
        .collect();
    levels.sort_by(f64::total_cmp);
    levels.dedup();
    if levels.is_empty() {
        return Err(OptimizeError::Invalid("no demand point with people".into()));
    }
    let cover_at = |t: f64| unit_coverage(&inst.weights, inst.m, |j, i| inst.c(j, i) <= t);
    // The largest level always works if p sites can reach everyone at all.
    let mut hi = levels.len() - 1;
    let mut best = match try_cover(&cover_at(levels[hi]), opts.p, opts, &mut nodes)? {
        Cover::Yes(o) => o,
        _ => {
            let s = mclp::solve(&cover_at(levels[hi]), opts)?;
            let un = s.total_demand as usize;
            let keep: Vec<usize> = (0..n).filter(|&i| inst.weights[i] > 0.0).collect();
            let cov = cover_at(levels[hi]);
            let uncovered = (0..un)
                .filter(|&k| s.open.iter().all(|&j| !cov.covers[j * un + k]))
                .map(|k| keep[k])
                .collect();
            return Err(OptimizeError::Infeasible {
                p: opts.p,
                uncovered,
                proven: s.cert.optimal,
            });
        }
    };
    // Invariant: level `hi` is feasible; every level below `lo` is proven infeasible.
    let mut lo = 0;
    let mut proven = true;
    while lo < hi {
        let mid = (lo + hi) / 2;
        match try_cover(&cover_at(levels[mid]), opts.p, opts, &mut nodes)? {
            Cover::Yes(o) => {
                hi = mid;
                best = o;
            }
            Cover::No => lo = mid + 1,
            Cover::Unknown => {
                proven = false;
                lo = mid + 1;
            }
        }
    }
    let objective = (0..n)
        .filter(|&i| inst.weights[i] > 0.0)
        .map(|i| {
            best.iter()
                .map(|&j| inst.c(j, i))
                .fold(f64::INFINITY, f64::min)
        })
        .fold(0.0, f64::max);
    // Without a full proof, the bound is the highest level proven infeasible's successor; here
    // conservatively the lowest level (no smaller worst case is possible than the smallest cost).
    let bound = if proven { objective } else { levels[0] };
    Ok(PCenterSolution {
        open: best,
        cert: Certificate::new(objective, bound, proven, nodes, t0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lscp_and_pcenter_on_a_line() {
        // Points at 0, 1, 2, 10, 11; every point a candidate.
        let x = [0.0f64, 1.0, 2.0, 10.0, 11.0];
        let cost: Vec<f64> = x
            .iter()
            .flat_map(|a| x.iter().map(move |b| (a - b).abs()))
            .collect();
        let inst = Instance {
            weights: vec![1.0; 5],
            m: 5,
            cost: cost.clone(),
        };
        let cov = Coverage::from_costs(vec![1.0; 5], 5, &cost, 1.0);
        let l = lscp(&cov, &SiteOptions::new(1)).unwrap();
        assert_eq!(l.p, 2);
        assert!(l.cert.optimal);
        let c = pcenter(&inst, &SiteOptions::new(2)).unwrap();
        assert_eq!(c.cert.objective, 1.0);
        assert!(c.cert.optimal);
        let c = pcenter(&inst, &SiteOptions::new(1)).unwrap();
        // One site: the best is at 2 (worst 9) — or any point with the smallest maximum.
        assert_eq!(c.cert.objective, 9.0);
        let far = Coverage::from_costs(vec![1.0; 5], 5, &cost, 0.5);
        assert_eq!(lscp(&far, &SiteOptions::new(1)).unwrap().p, 5);
    }
}
