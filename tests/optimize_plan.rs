//! `ems optimize` on the demo: the plan equals brute force over the candidates, the before/after
//! figures are consistent, and bad input gives clear errors.

use std::process::Command;

use ems::model::Scenario;
use ems::network::TravelModel;
use ems::optimize::SolveOptions;
use ems::optimize::plan::{self, DemandSource, Model, PlanRequest, Standard};

fn request(model: Model, add: usize, standard: Standard) -> PlanRequest {
    PlanRequest {
        model,
        add,
        standard,
        demand: DemandSource::Zones,
        candidate_points: Vec::new(),
        grid_m: Some(300.0),
        relocate: false,
        call_handling_s: 60.0,
        turnout_s: 60.0,
        hours: ems::network::Hours::default(),
        zone_weights: None,
        solve: SolveOptions::default(),
    }
}

/// Brute force: every pair of new candidates added to the existing stations.
#[test]
fn plan_equals_brute_force_on_the_demo() {
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let cands: Vec<[f64; 2]> = plan::grid_candidates(&tm, 300.0);
    let mut points: Vec<[f64; 2]> = sc.stations.iter().map(|s| s.lon_lat).collect();
    use geo::Contains;
    let inside = |p: &[f64; 2]| sc.region.boundary.contains(&geo::Point::new(p[0], p[1]));
    let cands: Vec<[f64; 2]> = cands.into_iter().filter(inside).collect();
    points.extend(&cands);
    let snapped: Vec<_> = points.iter().map(|p| tm.snap(*p).unwrap()).collect();
    let zones: Vec<_> = sc
        .demand
        .iter()
        .map(|z| tm.snap(z.lon_lat).unwrap())
        .collect();
    let m = tm.matrix(&snapped, &zones, None);
    let w: Vec<f64> = sc.demand.iter().map(|z| z.population).collect();
    let total: f64 = w.iter().sum();
    let t = |j: usize, i: usize| 120.0 + m.get(j, i).unwrap().seconds();
    let existing = sc.stations.len();
    let mean = |open: &[usize]| {
        (0..w.len())
            .map(|i| w[i] * open.iter().map(|&j| t(j, i)).fold(f64::INFINITY, f64::min))
            .sum::<f64>()
            / total
            / 60.0
    };
    let cover = |open: &[usize], lim: f64| {
        (0..w.len())
            .filter(|&i| open.iter().any(|&j| t(j, i) <= lim))
            .map(|i| w[i])
            .sum::<f64>()
    };
    let base: Vec<usize> = (0..existing).collect();
    let (mut best_mean, mut best_cover) = (f64::INFINITY, 0.0f64);
    for a in existing..points.len() {
        for b in a + 1..points.len() {
            let mut open = base.clone();
            open.extend([a, b]);
            best_mean = best_mean.min(mean(&open));
            best_cover = best_cover.max(cover(&open, 180.0));
        }
    }
    let p = plan::plan(
        &sc,
        &tm,
        &request(Model::PMedian, 2, Standard::Minutes(12.0)),
    )
    .unwrap();
    assert!(p.cert.optimal);
    assert_eq!(p.candidates, points.len());
    assert!(
        (p.cert.objective - best_mean).abs() < 1e-9,
        "{} vs {best_mean}",
        p.cert.objective
    );
    assert!((p.mean_response_after_min - best_mean).abs() < 1e-9);
    assert!((p.mean_response_before_min - mean(&base)).abs() < 1e-9);
    assert_eq!(p.new_sites.len(), 2);
    assert!(
        p.new_sites.iter().all(|s| inside(&s.lon_lat)),
        "new sites lie inside the region"
    );
    assert_eq!(p.kept_stations.len(), existing);
    let served: f64 = p.new_sites.iter().map(|s| s.served).sum();
    assert!(served > 0.0 && served <= total);

    let c = plan::plan(&sc, &tm, &request(Model::Mclp, 2, Standard::Minutes(3.0))).unwrap();
    assert!(c.cert.optimal);
    assert!(
        (c.cert.objective - best_cover).abs() < 1e-6,
        "{} vs {best_cover}",
        c.cert.objective
    );
    assert!((c.covered_after - best_cover).abs() < 1e-6);
    assert!((c.covered_before - cover(&base, 180.0)).abs() < 1e-6);
    assert!(c.covered_after >= c.covered_before);
}

#[test]
fn standards_parse() {
    assert_eq!(plan::parse_standard("12min"), Some(Standard::Minutes(12.0)));
    assert_eq!(plan::parse_standard("8 min"), Some(Standard::Minutes(8.0)));
    assert_eq!(plan::parse_standard("3.5km"), Some(Standard::Km(3.5)));
    assert_eq!(plan::parse_standard("500m"), Some(Standard::Km(0.5)));
    assert_eq!(plan::parse_standard("-3km"), None);
    assert_eq!(plan::parse_standard("soon"), None);
}

fn ems(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ems"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn optimize_cli() {
    let dir = tempfile::tempdir().unwrap();
    let gj = dir.path().join("sites.geojson");
    let html = dir.path().join("plan.html");
    let o = ems(&[
        "optimize",
        "--add",
        "1",
        "--format",
        "json",
        "--geojson",
        gj.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["plan"]["new_sites"].as_array().unwrap().len(), 1);
    let before = v["standards_before"].as_array().unwrap();
    let after = v["standards_after"].as_array().unwrap();
    let radius = |rows: &Vec<serde_json::Value>| {
        rows.iter()
            .find(|r| r["id"] == "service_radius_km")
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    // One more station shrinks the official radius by sqrt(3 / 4).
    assert!((radius(after) / radius(before) - (3.0f64 / 4.0).sqrt()).abs() < 1e-9);
    let sites = ems::model::parse_points(&std::fs::read_to_string(&gj).unwrap(), "sites").unwrap();
    assert_eq!(sites.len(), 1);
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches("<svg").count(), 2, "before and after maps");
    assert!(page.contains("new-1"));

    for (args, expect) in [
        (
            vec!["optimize", "--within", "soon"],
            "invalid value 'soon' for '--within <WITHIN>'",
        ),
        (vec!["optimize", "--add", "100"], "p = 103"),
        (
            vec!["optimize", "--candidates", "grid:fast"],
            "grid:<spacing>",
        ),
        (
            vec!["optimize", "--candidates", "/no/such.geojson"],
            "/no/such.geojson",
        ),
    ] {
        let o = ems(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
    }
    let far = dir.path().join("far.geojson");
    std::fs::write(&far, r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[2.35,48.85]},"properties":{}}]}"#).unwrap();
    let o = ems(&["optimize", "--candidates", far.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("candidate 0"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn evaluate_ranks_changes_consistently_with_the_plan() {
    use ems::optimize::evaluate::{self, Change, EvaluateError};
    use ems::standards::{CheckOptions, Targets};
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let p = plan::plan(
        &sc,
        &tm,
        &request(Model::PMedian, 1, Standard::Minutes(12.0)),
    )
    .unwrap();
    let best = p.new_sites[0].lon_lat;
    let changes = vec![
        Change::AddSite {
            lon_lat: [7.4330, 43.7480],
            ambulances: 1,
        },
        Change::AddSite {
            lon_lat: best,
            ambulances: 1,
        },
        Change::RemoveStation("fontvieille".into()),
    ];
    let v = evaluate::evaluate(
        &sc,
        &tm,
        &changes,
        &Targets::default_preset(),
        &CheckOptions::default(),
    )
    .unwrap();
    assert_eq!(v.len(), 5);
    assert_eq!(v[0].label, "current network");
    assert!((v[0].mean_response_min - p.mean_response_before_min).abs() < 1e-9);
    let single = v
        .iter()
        .find(|x| x.label.starts_with(&format!("add ({:.6}", best[0])))
        .unwrap();
    assert!(
        (single.mean_response_min - p.mean_response_after_min).abs() < 1e-9,
        "evaluate and optimize use one model"
    );
    // The optimal single site is the best single addition.
    let other = v
        .iter()
        .find(|x| x.label.starts_with("add (7.433000"))
        .unwrap();
    assert!(single.mean_response_min <= other.mean_response_min);
    let removed = v.iter().find(|x| x.label == "remove fontvieille").unwrap();
    assert!(removed.mean_response_change_min >= 0.0);
    // Ranked fastest first after the current network.
    for w in v[1..].windows(2) {
        assert!(w[0].mean_response_min <= w[1].mean_response_min);
    }
    let e = evaluate::evaluate(
        &sc,
        &tm,
        &[Change::RemoveStation("mars".into())],
        &Targets::default_preset(),
        &CheckOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, EvaluateError::UnknownStation(..)));
    assert!(e.to_string().contains("condamine"));
    let o = ems(&["evaluate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to evaluate"));
    let o = ems(&["evaluate", "--add-site", "0,0"]);
    assert_eq!(o.status.code(), Some(2));
}

/// LSCP and p-center on the demo agree with brute force over the grid candidates.
#[test]
fn lscp_and_pcenter_plans_on_the_demo() {
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let mut points: Vec<[f64; 2]> = sc.stations.iter().map(|s| s.lon_lat).collect();
    use geo::Contains;
    points.extend(
        plan::grid_candidates(&tm, 300.0)
            .into_iter()
            .filter(|p| sc.region.boundary.contains(&geo::Point::new(p[0], p[1]))),
    );
    let snapped: Vec<_> = points.iter().map(|p| tm.snap(*p).unwrap()).collect();
    let zones: Vec<_> = sc
        .demand
        .iter()
        .map(|z| tm.snap(z.lon_lat).unwrap())
        .collect();
    let m = tm.matrix(&snapped, &zones, None);
    let t = |j: usize, i: usize| 120.0 + m.get(j, i).unwrap().seconds();
    let existing = sc.stations.len();
    let nz = zones.len();
    let worst = |open: &[usize]| {
        (0..nz)
            .map(|i| open.iter().map(|&j| t(j, i)).fold(f64::INFINITY, f64::min))
            .fold(0.0, f64::max)
    };
    // p-center with one new site: brute force over the candidates.
    let best_worst = (existing..points.len())
        .map(|a| {
            let mut o: Vec<usize> = (0..existing).collect();
            o.push(a);
            worst(&o)
        })
        .fold(f64::INFINITY, f64::min);
    let c = plan::plan(
        &sc,
        &tm,
        &request(Model::PCenter, 1, Standard::Minutes(12.0)),
    )
    .unwrap();
    assert!(c.cert.optimal);
    assert!(
        (c.cert.objective - best_worst / 60.0).abs() < 1e-9,
        "{} vs {}",
        c.cert.objective,
        best_worst / 60.0
    );
    // LSCP within 4 minutes: the count is minimal (no smaller set of additions covers all).
    let l = plan::plan(&sc, &tm, &request(Model::Lscp, 0, Standard::Minutes(4.0))).unwrap();
    assert!(l.cert.optimal);
    assert_eq!(l.covered_after, l.total_demand);
    let k = l.new_sites.len();
    assert_eq!(l.cert.objective, k as f64);
    let covers_all = |open: &[usize]| (0..nz).all(|i| open.iter().any(|&j| t(j, i) <= 240.0));
    let cands: Vec<usize> = (existing..points.len()).collect();
    // No k-1 additions suffice (checked exhaustively when k is small).
    if (1..=3).contains(&k) {
        let mut found = false;
        let mut idx = vec![0usize; k - 1];
        fn next(idx: &mut [usize], n: usize) -> bool {
            for i in (0..idx.len()).rev() {
                if idx[i] + 1 < n - (idx.len() - 1 - i) {
                    idx[i] += 1;
                    for j in i + 1..idx.len() {
                        idx[j] = idx[j - 1] + 1;
                    }
                    return true;
                }
            }
            false
        }
        for (i, x) in idx.iter_mut().enumerate() {
            *x = i;
        }
        loop {
            let mut o: Vec<usize> = (0..existing).collect();
            o.extend(idx.iter().map(|&x| cands[x]));
            if covers_all(&o) {
                found = true;
                break;
            }
            if idx.is_empty() || !next(&mut idx, cands.len()) {
                break;
            }
        }
        assert!(!found, "{} additions would have sufficed", k - 1);
    }
}

/// Every placement of `amb` ambulances over `m` sites.
fn placements(m: usize, amb: usize) -> Vec<Vec<usize>> {
    if m == 1 {
        return vec![vec![amb]];
    }
    (0..=amb)
        .flat_map(|k| {
            placements(m - 1, amb - k).into_iter().map(move |mut rest| {
                rest.insert(0, k);
                rest
            })
        })
        .collect()
}

#[test]
fn fleet_plans_equal_brute_force_on_the_demo() {
    let sc = Scenario::demo().unwrap();
    let tm = TravelModel::for_scenario(&sc).unwrap();
    let sites: Vec<_> = sc
        .stations
        .iter()
        .map(|s| tm.snap(s.lon_lat).unwrap())
        .collect();
    let zones: Vec<_> = sc
        .demand
        .iter()
        .map(|z| tm.snap(z.lon_lat).unwrap())
        .collect();
    let mat = tm.matrix(&sites, &zones, None);
    let w: Vec<f64> = sc.demand.iter().map(|z| z.population).collect();
    let t = |j: usize, i: usize| 120.0 + mat.get(j, i).unwrap().seconds();
    let within = |x: &[usize], i: usize, lim: f64| -> usize {
        (0..sites.len())
            .filter(|&j| t(j, i) <= lim)
            .map(|j| x[j])
            .sum()
    };
    let mut req = request(Model::Mexclp, 0, Standard::Minutes(4.5));
    req.grid_m = None;
    // MEXCLP with the busy fraction from the demo's incident log.
    let fr = plan::FleetRequest {
        ambulances: Some(4),
        busy: None,
        max_per_site: None,
        secondary: None,
        alpha: 0.95,
    };
    let p = plan::plan_fleet(&sc, &tm, &req, &fr).unwrap();
    let b = p.busy.clone().unwrap();
    // The demo log is one year: about 3,398 calls over 8,760 hours.
    let rate = b.calls_per_hour.unwrap();
    assert!((rate - 3398.0 / 8760.0).abs() < 0.01 * rate, "{rate}");
    assert!((b.q - rate * b.mean_job_min.unwrap() / 60.0 / 4.0).abs() < 1e-12);
    let q = b.q;
    let best = placements(sites.len(), 4)
        .iter()
        .map(|x| {
            (0..w.len())
                .map(|i| w[i] * (1.0 - q.powi(within(x, i, 270.0) as i32)))
                .sum::<f64>()
        })
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(p.cert.optimal);
    assert!(
        (p.cert.objective - best).abs() < 1e-6,
        "{} vs {best}",
        p.cert.objective
    );
    assert_eq!(p.sites.iter().map(|s| s.after).sum::<usize>(), 4);
    assert_eq!(p.current_fleet, 4);
    // The default fleet follows the one-per-30,000 target.
    let fr_default = plan::FleetRequest {
        ambulances: None,
        busy: Some(0.3),
        ..fr.clone()
    };
    let p = plan::plan_fleet(&sc, &tm, &req, &fr_default).unwrap();
    let pop: f64 = w.iter().sum();
    assert_eq!(p.ambulances, (pop / 30_000.0).ceil() as usize);

    // Backup coverage: 3 ambulances, everyone within 7 min, 50 % within 4.5 min.
    let mut req = req.clone();
    req.model = Model::Backup;
    let fr = plan::FleetRequest {
        ambulances: Some(3),
        busy: None,
        max_per_site: Some(2),
        secondary: Some(Standard::Minutes(7.0)),
        alpha: 0.5,
    };
    let p = plan::plan_fleet(&sc, &tm, &req, &fr).unwrap();
    let mut best: Option<f64> = None;
    for x in placements(sites.len(), 3) {
        if x.iter().any(|&k| k > 2) {
            continue;
        }
        let n = w.len();
        let far_ok = (0..n).all(|i| w[i] == 0.0 || within(&x, i, 420.0) >= 1);
        let single: f64 = (0..n)
            .filter(|&i| within(&x, i, 270.0) >= 1)
            .map(|i| w[i])
            .sum();
        let double: f64 = (0..n)
            .filter(|&i| within(&x, i, 270.0) >= 2)
            .map(|i| w[i])
            .sum();
        if far_ok && single >= 0.5 * pop - 1e-9 {
            best = Some(best.map_or(double, |b: f64| b.max(double)));
        }
    }
    let best = best.expect("the demo has a feasible backup placement");
    assert!(p.cert.optimal);
    assert!(
        (p.cert.objective - best).abs() < 1e-6,
        "{} vs {best}",
        p.cert.objective
    );
    assert!(p.sites.iter().all(|s| s.after <= 2));
}

#[test]
fn fleet_cli() {
    let out = ems(&[
        "optimize", "--model", "mexclp", "--fleet", "3", "--format", "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let placed: u64 = v["plan"]["sites"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["after"].as_u64().unwrap())
        .sum();
    assert_eq!(placed, 3);
    assert_eq!(v["plan"]["busy"]["source"], "incident log");
    assert!(v["standards_after"].as_array().unwrap().len() >= 4);
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("fleet.html");
    let out = ems(&[
        "optimize",
        "--model",
        "mexclp",
        "--fleet",
        "4",
        "--within",
        "5min",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("Ambulance placement") && page.matches("<svg").count() >= 2);
    let out = ems(&["optimize", "--model", "mexclp", "--busy", "1.2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("busy fraction 1.2 must be in [0, 1)"));
    let out = ems(&[
        "optimize",
        "--model",
        "backup",
        "--within",
        "3min",
        "--secondary",
        "4min",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be served"));
    let out = ems(&[
        "optimize",
        "--model",
        "backup",
        "--within",
        "4min",
        "--secondary",
        "9min",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        e.contains("meets the double standard") && e.contains("required: 95.0 %"),
        "{e}"
    );
    let out = ems(&[
        "optimize",
        "--model",
        "backup",
        "--fleet",
        "3",
        "--within",
        "4min",
        "--secondary",
        "6min",
        "--alpha",
        "0.8",
        "--candidates",
        "grid:400m",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("covered twice within 4min"));
}
