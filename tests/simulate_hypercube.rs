//! The simulator against Larson's exact hypercube model (issue #6): configured with the
//! hypercube's assumptions (fixed preferences from fixed travel times, exponential service, no
//! delays), its busy fractions and dispatch fractions agree with the exact steady state within
//! statistical tolerance, for 2 to 6 units with zero and infinite line capacity.

use ems::model::Hospital;
use ems::simulate::des::{self, Call, Dist, Geometry, QueuePolicy, Service, SimModel, SimPolicy};
use ems::simulate::hypercube::{Hypercube, LineCapacity};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rayon::prelude::*;

struct System {
    model: SimModel,
    rates_per_s: Vec<f64>,
    exact: Hypercube,
}

/// A random system: `n` units at `stations` stations, `atoms` atoms, load `rho`.
fn system(
    seed: u64,
    n: usize,
    stations: usize,
    atoms: usize,
    rho: f64,
    cap: LineCapacity,
) -> System {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    let station_to_atom: Vec<f64> = (0..stations * atoms)
        .map(|_| 60.0 + r.random::<f64>() * 900.0)
        .collect();
    let unit_station: Vec<usize> = (0..n).map(|u| u % stations).collect();
    let unit_ids: Vec<String> = (0..n).map(|u| format!("u{u}")).collect();
    let mean_min = 30.0;
    let weights: Vec<f64> = (0..atoms).map(|_| 0.2 + r.random::<f64>()).collect();
    let wsum: f64 = weights.iter().sum();
    // Total rate λ = ρ N μ, per minute.
    let lambda = rho * n as f64 / mean_min;
    let rates: Vec<f64> = weights.iter().map(|w| lambda * w / wsum).collect();
    // Preferences: units by travel from their station, ties by id (the dispatch rule).
    let preferences: Vec<Vec<usize>> = (0..atoms)
        .map(|a| {
            let mut us: Vec<usize> = (0..n).collect();
            us.sort_by(|&x, &y| {
                let tx = station_to_atom[unit_station[x] * atoms + a];
                let ty = station_to_atom[unit_station[y] * atoms + a];
                tx.total_cmp(&ty).then(unit_ids[x].cmp(&unit_ids[y]))
            });
            us
        })
        .collect();
    let model = SimModel {
        geometry: Geometry {
            stations,
            hospitals: 0,
            atoms,
            station_to_atom,
            atom_to_station: vec![0.0; stations * atoms],
            atom_to_hospital: Vec::new(),
            hospital_to_atom: Vec::new(),
            hospital_to_station: Vec::new(),
            station_to_station: vec![0.0; stations * stations],
        },
        unit_station,
        unit_ids,
        hospitals: Vec::<Hospital>::new(),
        service: Service::Exponential { mean_min },
        call_handling_s: Dist::Fixed(0.0),
        turnout_s: Dist::Fixed(0.0),
        queue: match cap {
            LineCapacity::Zero => QueuePolicy::Lost,
            LineCapacity::Infinite => QueuePolicy::Infinite,
        },
        hour_factor: [1.0; 24],
        hour_geometries: Vec::new(),
        hour_geometry: [None; 24],
        detention_threshold_min: 10.0,
        policy: SimPolicy::default(),
    };
    System {
        model,
        rates_per_s: rates.iter().map(|x| x / 60.0).collect(),
        exact: Hypercube {
            units: n,
            rates,
            preferences,
            mu: 1.0 / mean_min,
            capacity: cap,
        },
    }
}

/// Poisson calls from every atom over `horizon_s`.
fn calls(rates_per_s: &[f64], horizon_s: f64, seed: u64) -> Vec<Call> {
    let mut r = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let total: f64 = rates_per_s.iter().sum();
    let mut t = 0.0;
    let mut out = Vec::new();
    loop {
        t += -(1.0 - r.random::<f64>()).ln() / total;
        if t > horizon_s {
            return out;
        }
        let mut x = r.random::<f64>() * total;
        let mut atom = 0;
        while atom + 1 < rates_per_s.len() && x >= rates_per_s[atom] {
            x -= rates_per_s[atom];
            atom += 1;
        }
        out.push(Call {
            t,
            atom,
            priority: 1,
            condition: None,
        });
    }
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

fn check(sys: &System, label: &str) {
    let exact = sys.exact.solve().unwrap();
    let n = sys.exact.units;
    let atoms = sys.exact.rates.len();
    let horizon = 40_000.0 * 60.0; // about 1,300 mean service times
    let reps: Vec<des::Replication> = (0..12u64)
        .into_par_iter()
        .map(|k| des::run(&sys.model, &calls(&sys.rates_per_s, horizon, 1000 + k), k).unwrap())
        .collect();
    for u in 0..n {
        let w: Vec<f64> = reps
            .iter()
            .map(|r| r.unit_busy_s[u] / r.horizon_s)
            .collect();
        let (m, se) = mean_se(&w);
        let want = exact.workload[u];
        assert!(
            (m - want).abs() <= 4.0 * se + 0.004,
            "{label}: unit {u} busy {m:.4} ± {se:.4}, hypercube {want:.4}"
        );
        for a in 0..atoms {
            let f: Vec<f64> = reps
                .iter()
                .map(|r| {
                    let total: u64 = r.dispatches.iter().flatten().sum();
                    r.dispatches[u][a] as f64 / total as f64
                })
                .collect();
            let (m, se) = mean_se(&f);
            let want = exact.dispatch[u][a];
            assert!(
                (m - want).abs() <= 4.0 * se + 0.003,
                "{label}: unit {u} → atom {a}: {m:.4} ± {se:.4}, hypercube {want:.4}"
            );
        }
    }
    // Lost or waiting share.
    let lost: Vec<f64> = reps
        .iter()
        .map(|r| {
            r.calls.iter().filter(|c| c.lost || c.waited).count() as f64 / r.calls.len() as f64
        })
        .collect();
    let (m, se) = mean_se(&lost);
    assert!(
        (m - exact.all_busy).abs() <= 4.0 * se + 0.004,
        "{label}: all busy {m:.4} ± {se:.4}, hypercube {:.4}",
        exact.all_busy
    );
}

#[test]
fn simulation_agrees_with_the_exact_hypercube() {
    let cases = [
        (2, 2, 3, 0.5),
        (3, 3, 4, 0.6),
        (4, 3, 5, 0.5),
        (5, 5, 4, 0.7),
        (6, 4, 6, 0.6),
    ];
    for (k, (n, stations, atoms, rho)) in cases.into_iter().enumerate() {
        for cap in [LineCapacity::Zero, LineCapacity::Infinite] {
            let sys = system(k as u64 + 1, n, stations, atoms, rho, cap);
            check(&sys, &format!("N={n}, {atoms} atoms, ρ={rho}, {cap:?}"));
        }
    }
}

#[test]
fn a_fixed_seed_gives_identical_results() {
    let sys = system(9, 4, 3, 5, 0.6, LineCapacity::Infinite);
    let c = calls(&sys.rates_per_s, 500_000.0, 3);
    let a = des::run(&sys.model, &c, 42).unwrap();
    let b = des::run(&sys.model, &c, 42).unwrap();
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    let other = des::run(&sys.model, &c, 43).unwrap();
    assert_ne!(a.unit_busy_s, other.unit_busy_s);
}
