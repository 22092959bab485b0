//! What the ambulance-placement models share: the options (fleet size, per-site limits), the
//! answer (ambulances per site with a certificate), and the expansion of sites into slots.
//!
//! This module owns the translation between "`x_j` ambulances at site `j`" and binary slots
//! (copy `k` of site `j` open means `x_j > k`), which lets the binary branch and bound search
//! integer placements. It must not hold a model's objective; [`super::mexclp`] and
//! [`super::backup`] do.

use serde::Serialize;

use super::{Certificate, OptimizeError, SiteOptions, SolveOptions};

/// How many ambulances to place and where they may go.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetOptions {
    /// Ambulances to place, `N`.
    pub ambulances: usize,
    /// The most ambulances one site may hold (`None`: no limit).
    pub max_per_site: Option<usize>,
    /// Ambulances that must stay at each site (empty: none).
    pub min_per_site: Vec<usize>,
    pub solve: SolveOptions,
}

impl FleetOptions {
    /// Defaults: no per-site limits, the default search budget.
    pub fn new(ambulances: usize) -> FleetOptions {
        FleetOptions {
            ambulances,
            max_per_site: None,
            min_per_site: Vec::new(),
            solve: SolveOptions::default(),
        }
    }
}

/// Ambulances per site with the certificate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetSolution {
    /// Ambulances at each candidate site.
    pub per_site: Vec<usize>,
    /// The model's objective (expected covered demand for MEXCLP, demand covered twice for
    /// backup coverage), a proven upper bound on it and the gap `(bound − objective) / bound`.
    #[serde(flatten)]
    pub cert: Certificate,
    pub total_demand: f64,
}

/// Weights must be finite and non-negative.
pub(crate) fn check_weights(w: &[f64]) -> Result<(), OptimizeError> {
    match w.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
        Some(i) => Err(OptimizeError::Invalid(format!(
            "weight of demand {i} is {}",
            w[i]
        ))),
        None => Ok(()),
    }
}

/// Sites expanded into slots: `site[s]` is slot `s`'s site; copies of a site are consecutive and
/// share `group`; `fixed` are the slots of the per-site minimums.
pub(crate) struct Slots {
    /// Number of sites.
    pub m: usize,
    pub site: Vec<usize>,
    pub group: Vec<u32>,
    pub fixed: Vec<usize>,
}

impl Slots {
    /// Checks the options against `m` sites and expands them.
    pub fn new(m: usize, o: &FleetOptions) -> Result<Slots, OptimizeError> {
        let n_amb = o.ambulances;
        if m == 0 {
            return Err(OptimizeError::BadP { p: n_amb, m });
        }
        if n_amb == 0 {
            return Err(OptimizeError::Invalid("no ambulances to place".into()));
        }
        let cap = o.max_per_site.unwrap_or(n_amb).min(n_amb);
        if cap * m < n_amb {
            return Err(OptimizeError::Invalid(format!(
                "{m} sites holding at most {cap} ambulances each cannot take {n_amb}"
            )));
        }
        let mut caps = vec![cap; m];
        if !o.min_per_site.is_empty() {
            if o.min_per_site.len() != m {
                return Err(OptimizeError::Invalid(format!(
                    "{} minimums given for {m} sites",
                    o.min_per_site.len()
                )));
            }
            let fixed: usize = o.min_per_site.iter().sum();
            if fixed > n_amb {
                return Err(OptimizeError::TooManyFixed { fixed, p: n_amb });
            }
            for (c, &lo) in caps.iter_mut().zip(&o.min_per_site) {
                *c = (*c).max(lo);
            }
        }
        let mut s = Slots {
            m,
            site: Vec::new(),
            group: Vec::new(),
            fixed: Vec::new(),
        };
        for (j, &c) in caps.iter().enumerate() {
            let lo = o.min_per_site.get(j).copied().unwrap_or(0);
            for k in 0..c {
                if k < lo {
                    s.fixed.push(s.site.len());
                }
                s.site.push(j);
                s.group.push(j as u32);
            }
        }
        Ok(s)
    }

    /// A site-major `m × n` matrix repeated per slot.
    pub fn expand(&self, covers: &[bool], n: usize) -> Result<Vec<bool>, OptimizeError> {
        if covers.len() != self.m * n {
            return Err(OptimizeError::Invalid(format!(
                "coverage matrix has {} entries, expected {} x {n}",
                covers.len(),
                self.m
            )));
        }
        let mut out = vec![false; self.site.len() * n];
        for (s, &j) in self.site.iter().enumerate() {
            out[s * n..(s + 1) * n].copy_from_slice(&covers[j * n..(j + 1) * n]);
        }
        Ok(out)
    }

    /// Search options over slots.
    pub fn options(&self, o: &FleetOptions) -> SiteOptions {
        SiteOptions {
            p: o.ambulances,
            fixed_open: self.fixed.clone(),
            solve: o.solve.clone(),
        }
    }

    /// Ambulances per site from open slots.
    pub fn per_site(&self, open: &[usize]) -> Vec<usize> {
        let mut x = vec![0; self.m];
        for &s in open {
            x[self.site[s]] += 1;
        }
        x
    }
}
