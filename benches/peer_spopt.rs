//! Peer comparison with PySAL spopt (PuLP + CBC) on the same matrices: MCLP on a city-sized
//! instance (Liechtenstein: ≥ 5,000 demand zones × ≥ 1,000 candidate sites) and p-median on a
//! smaller one (spopt's p-median builds one variable per demand-site pair).
//!
//! Run: `bash benches/peer/setup.sh` once (a virtual environment under `target/`), then
//! `cargo bench --bench peer_spopt`. Without the environment only `ems` runs. Results are
//! written up in `BENCHMARKS.md`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ems::model::population::{self, Options as PopOptions};
use ems::network::{self, Snapped, TravelModel, TravelSettings};
use ems::optimize::Instance;
use ems::optimize::mclp::{self, Coverage};
use ems::optimize::plan::grid_candidates;
use ems::optimize::pmedian;
use ems::optimize::{SiteOptions, SolveOptions};

fn write_instance(
    dir: &Path,
    cost_demand_major: &[f64],
    weights: &[f64],
    n: usize,
    m: usize,
    p: usize,
    radius: f64,
) {
    std::fs::create_dir_all(dir).unwrap();
    let bytes: Vec<u8> = cost_demand_major
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    std::fs::write(dir.join("cost.f64"), bytes).unwrap();
    let bytes: Vec<u8> = weights.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(dir.join("weights.f64"), bytes).unwrap();
    let meta = serde_json::json!({"n": n, "m": m, "p": p, "radius": radius, "time_limit": 3600});
    std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
}

fn spopt(dir: &Path, model: &str) -> Option<serde_json::Value> {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/peer-venv/bin/python");
    if !py.exists() {
        eprintln!("spopt not installed: run `bash benches/peer/setup.sh` for the peer side");
        return None;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/peer/run_spopt.py");
    let out = Command::new(py)
        .arg(script)
        .arg(dir)
        .arg(model)
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!("spopt failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    serde_json::from_slice(out.stdout.trim_ascii()).ok()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // criterion-style invocations pass flags such as --bench; this bench has none to parse.
    let li = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/osm-liechtenstein/liechtenstein-latest.osm.pbf");
    let net = network::import_path(&li).expect("Liechtenstein extract");
    let buildings = net.buildings.clone();
    let tm = TravelModel::for_map(net, TravelSettings::default()).unwrap();
    // Demand: residents from building footprints (Liechtenstein, about 39,000 residents) on a
    // grid shrunk until there are >= 5,000 zones; candidates: road nodes thinned to a grid, the spacing shrunk until >= 1,000.
    let pop = PopOptions {
        total: 39_000.0,
        default_levels: 2.0,
    };
    let mut cell = 100.0;
    let mut zones = population::into_grid(&buildings, cell, &pop).unwrap();
    while zones.len() < 5000 {
        cell *= 0.9;
        zones = population::into_grid(&buildings, cell, &pop).unwrap();
    }
    let demand: Vec<(Snapped, f64)> = zones
        .iter()
        .filter_map(|z| tm.snap(z.lon_lat).ok().map(|s| (s, z.population)))
        .collect();
    let mut spacing = 600.0;
    let mut cands = grid_candidates(&tm, spacing);
    while cands.len() < 1000 {
        spacing *= 0.9;
        cands = grid_candidates(&tm, spacing);
    }
    let sites: Vec<Snapped> = cands.iter().map(|p| tm.snap(*p).unwrap()).collect();
    let dpts: Vec<Snapped> = demand.iter().map(|d| d.0).collect();
    let w: Vec<f64> = demand.iter().map(|d| d.1).collect();
    let (n, m) = (dpts.len(), sites.len());
    let t0 = Instant::now();
    let mat = tm.matrix(&sites, &dpts, None);
    let matrix_s = t0.elapsed().as_secs_f64();
    eprintln!(
        "instance: {n} demand zones (grid {cell:.0} m) x {m} candidates (grid {spacing:.0} m); travel-time matrix {matrix_s:.2} s"
    );
    let time = |j: usize, i: usize| mat.get(j, i).map_or(f64::INFINITY, |e| e.seconds());
    let site_major: Vec<f64> = (0..m)
        .flat_map(|j| (0..n).map(move |i| (j, i)))
        .map(|(j, i)| time(j, i))
        .collect();
    let demand_major: Vec<f64> = (0..n)
        .flat_map(|i| (0..m).map(move |j| (i, j)))
        .map(|(i, j)| time(j, i))
        .collect();
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/peer");

    // MCLP: residents within 4 minutes of road travel, p = 15.
    let (p, radius) = (15, 240.0);
    let cov = Coverage::from_costs(w.clone(), m, &site_major, radius);
    let mut ours = Vec::new();
    let mut sol = None;
    for _ in 0..3 {
        let o = SiteOptions {
            solve: SolveOptions::seconds(60.0),
            ..SiteOptions::new(p)
        };
        let s = mclp::solve(&cov, &o).unwrap();
        ours.push(s.cert.seconds);
        sol = Some(s);
    }
    let s = sol.unwrap();
    println!(
        "MCLP p={p} S={radius}s: ems covered {:.1} of {:.1} (bound {:.1}, optimal {}), median {:.3} s over 3 runs",
        s.cert.objective,
        s.total_demand,
        s.cert.bound,
        s.cert.optimal,
        median(ours.clone())
    );
    // The same with a 1-second limit: what the heuristic and the first nodes reach.
    let o = SiteOptions {
        solve: SolveOptions::seconds(1.0),
        ..SiteOptions::new(p)
    };
    let quick = mclp::solve(&cov, &o).unwrap();
    println!(
        "MCLP with a 1 s limit: ems covered {:.3} (bound {:.3}, gap {:.4} %) in {:.2} s",
        quick.cert.objective, quick.cert.bound, quick.cert.gap_pct, quick.cert.seconds
    );
    let dir = out.join("mclp");
    write_instance(&dir, &demand_major, &w, n, m, p, radius);
    if let Some(r) = spopt(&dir, "mclp") {
        let st = r["seconds"].as_f64().unwrap();
        println!(
            "MCLP spopt: covered {} ({}), {st:.2} s; ems is {:.1}x faster",
            r["objective"],
            r["status"],
            st / median(ours)
        );
    }

    // p-median on a subsample: every 5th demand zone and candidate (PEER_PMEDIAN_STEP=k for
    // every k-th; 1 is the full instance, 6 million variables for spopt).
    let step: usize = std::env::var("PEER_PMEDIAN_STEP")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|k| *k >= 1)
        .unwrap_or(5);
    let di: Vec<usize> = (0..n).step_by(step).collect();
    let sj: Vec<usize> = (0..m).step_by(step).collect();
    let (n2, m2, p2) = (di.len(), sj.len(), 10);
    let w2: Vec<f64> = di.iter().map(|&i| w[i]).collect();
    let inst = Instance {
        weights: w2.clone(),
        m: m2,
        cost: sj
            .iter()
            .flat_map(|&j| di.iter().map(move |&i| (j, i)))
            .map(|(j, i)| time(j, i))
            .collect(),
    };
    let mut ours = Vec::new();
    let mut sol = None;
    for _ in 0..3 {
        let o = SiteOptions {
            solve: SolveOptions::seconds(60.0),
            ..SiteOptions::new(p2)
        };
        let s = pmedian::solve(&inst, &o).unwrap();
        ours.push(s.cert.seconds);
        sol = Some(s);
    }
    let s = sol.unwrap();
    println!(
        "p-median {n2}x{m2} p={p2}: ems objective {:.1} (bound {:.1}, optimal {}), median {:.3} s over 3 runs",
        s.cert.objective,
        s.cert.bound,
        s.cert.optimal,
        median(ours.clone())
    );
    let dir = out.join("pmedian");
    let dm: Vec<f64> = di
        .iter()
        .flat_map(|&i| sj.iter().map(move |&j| (i, j)))
        .map(|(i, j)| time(j, i))
        .collect();
    write_instance(&dir, &dm, &w2, n2, m2, p2, 0.0);
    if let Some(r) = spopt(&dir, "pmedian") {
        let st = r["seconds"].as_f64().unwrap();
        println!(
            "p-median spopt: objective {} ({}), {st:.2} s; ems is {:.1}x faster",
            r["objective"],
            r["status"],
            st / median(ours)
        );
    }
}
