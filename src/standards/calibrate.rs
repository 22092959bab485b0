//! Calibration of a traffic profile from an incident log: the travel-time factor against free
//! flow by local hour, fitted to the log's observed drives (`departed → on_scene`) from each
//! unit's start point to the scene.
//!
//! This module owns which rows are usable, the robust fit and the error report. It must not read
//! files or print (the log comes from [`crate::model`], output goes through
//! [`crate::report`]), and it routes only through the shared [`TravelModel`].
//!
//! # Method
//! 1. **Usable rows**: an incident with `departed` and `on_scene` (the ambulance first on
//!    scene), a scene inside the region and on the map, and a start point: with [`Start::Auto`]
//!    (the default) the position the log records for the start (`start_lon`/`start_lat`, which
//!    the live server's export fills with the unit's last known position when it departed),
//!    else the unit's station; with [`Start::Logged`] the logged position only; the station of
//!    the unit (`{station}-{k}` or the station id itself) with [`Start::UnitStation`], or the station
//!    nearest by road with [`Start::NearestStation`] (for logs whose units are not the
//!    scenario's; this assumes the nearest station responded and so overstates the factor where
//!    it often did not). Rows whose drive is not positive or longer than
//!    [`MAX_DRIVE_S`], and rows whose free-flow time is under [`MIN_FREE_FLOW_S`] (a drive of a
//!    few seconds measures the clock, not the road), are left out, each reason counted.
//! 2. **Outliers**: on `ln(observed / free flow)`, rows farther than 3.5 scaled median absolute
//!    deviations (1.4826 × MAD) from the median are left out and counted (a unit that was not at
//!    its station, a status pressed late).
//! 3. **Factor per hour** (local hour of `call_received`): the median of `observed / free flow`
//!    over the kept rows of that hour; an hour with fewer than [`MIN_ROWS_PER_HOUR`] rows widens
//!    to the hours around it (±1, ±2, ..., cyclic) until it has them, and reports the window.
//!    The median, not the mean, because the noise on a drive is skewed (a red light adds, nothing
//!    subtracts) and a median of ratios is the factor that makes half the drives faster.
//! 4. **Errors** before (the scenario's model as it is: free flow, or its traffic profile) and
//!    after (free flow × the fitted factor): the median absolute error in seconds and the median
//!    absolute percentage error, over all kept rows, by hour band and by the road class of the
//!    street at the scene. The "after" figures are in-sample.
//!
//! Fewer than [`MIN_ROWS`] usable rows: no fit ([`CalibrateError::TooFewRows`], with the count
//! by reason).

use std::collections::BTreeMap;

use serde::Serialize;

use super::stats::percentile_sorted;
use crate::model::{IncidentLog, Scenario};
use crate::network::traffic::HourTimes;
use crate::network::{Matrix, Snapped, TrafficProfile, TravelModel};

/// Fewer usable rows than this: no fit.
pub const MIN_ROWS: usize = 96;
/// An hour with fewer rows borrows the hours around it.
pub const MIN_ROWS_PER_HOUR: usize = 20;
/// Longest drive kept, seconds (two hours).
pub const MAX_DRIVE_S: f64 = 7200.0;
/// Shortest free-flow time kept, seconds.
pub const MIN_FREE_FLOW_S: f64 = 30.0;
/// Outlier limit, in scaled median absolute deviations of the log-ratio.
pub const OUTLIER_MADS: f64 = 3.5;

/// Where a drive starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// The position the log records for the drive's start (`start_lon`, `start_lat`: the live
    /// server's export writes the unit's last known position when it departed), else the
    /// station of the log's unit.
    Auto,
    /// The logged start position only; rows without one are left out.
    Logged,
    /// The station of the log's unit.
    UnitStation,
    /// The station nearest to the scene by road.
    NearestStation,
}

/// Where one kept row's drive starts.
#[derive(Debug, Clone, Copy)]
enum From {
    /// A scenario station (by index), or the nearest one (`None`).
    Station(Option<usize>),
    /// A logged position, snapped.
    Point(Snapped),
}

/// Why no profile can be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalibrateError {
    /// Too few rows have what a fit needs.
    #[error(
        "{usable} usable rows in {log}; calibration needs at least {needed} (a departed and an \
         on-scene time, a scene on the map and a start point).{reasons}"
    )]
    TooFewRows {
        log: String,
        usable: usize,
        needed: usize,
        reasons: String,
    },
    /// The scenario has no stations on the map.
    #[error("the scenario has no station on the road map to start drives from")]
    NoStations,
}

/// Median errors of a set of predictions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Errors {
    pub rows: usize,
    pub median_abs_error_s: f64,
    pub median_abs_pct_error: f64,
}

impl Errors {
    fn of(pairs: &[(f64, f64)]) -> Option<Errors> {
        if pairs.is_empty() {
            return None;
        }
        let mut abs: Vec<f64> = pairs.iter().map(|(p, o)| (p - o).abs()).collect();
        let mut pct: Vec<f64> = pairs
            .iter()
            .map(|(p, o)| 100.0 * (p - o).abs() / o)
            .collect();
        abs.sort_by(f64::total_cmp);
        pct.sort_by(f64::total_cmp);
        Some(Errors {
            rows: pairs.len(),
            median_abs_error_s: percentile_sorted(&abs, 0.5),
            median_abs_pct_error: percentile_sorted(&pct, 0.5),
        })
    }
}

/// The fitted factor of one local hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourFactor {
    pub hour: usize,
    pub factor: f64,
    /// Rows of this hour (before widening).
    pub rows: usize,
    /// Hours either side borrowed to reach [`MIN_ROWS_PER_HOUR`] (0: the hour alone).
    pub window_h: usize,
}

/// Errors before and after for a group of rows (an hour band or a road class).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupErrors {
    pub group: String,
    pub rows: usize,
    /// The median of `observed / free flow` over the group.
    pub median_ratio: f64,
    pub before: Errors,
    pub after: Errors,
}

/// The calibration: factors, errors and what was left out.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub source: String,
    pub start: Start,
    /// The model the "before" errors use.
    pub model_before: String,
    pub rows_in_log: usize,
    pub rows_used: usize,
    /// Rows left out, by reason.
    pub left_out: BTreeMap<String, usize>,
    pub outliers: usize,
    pub by_hour: Vec<HourFactor>,
    pub error_before: Errors,
    pub error_after: Errors,
    pub by_band: Vec<GroupErrors>,
    pub by_class: Vec<GroupErrors>,
    /// The fitted profile (every class together: `by_hour` only).
    pub profile: TrafficProfile,
}

/// One usable drive.
struct Drive {
    hour: usize,
    free_s: f64,
    before_s: f64,
    observed_s: f64,
    class: &'static str,
}

/// Hour bands of the error report.
pub const BANDS: [(&str, std::ops::Range<usize>); 5] = [
    ("00-05 night", 0..6),
    ("06-09 morning", 6..10),
    ("10-15 day", 10..16),
    ("16-19 evening", 16..20),
    ("20-23 late", 20..24),
];

/// The station id a unit id names: the station itself, or `{station}-{k}`.
fn station_of(unit: &str, ids: &[String]) -> Option<usize> {
    if let Some(i) = ids.iter().position(|s| s == unit) {
        return Some(i);
    }
    let (stem, k) = unit.rsplit_once('-')?;
    k.parse::<u32>().ok()?;
    ids.iter().position(|s| s == stem)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile_sorted(&v, 0.5)
}

/// A usable row: (incident index, start, scene, observed seconds).
type Row = (usize, From, Snapped, f64);

/// Counts one row left out for `reason`.
fn count(left_out: &mut BTreeMap<String, usize>, reason: &str) {
    *left_out.entry(reason.to_string()).or_default() += 1;
}

/// The local hour of incident `i`'s call.
fn hour_of(log: &IncidentLog, i: usize) -> usize {
    chrono::Timelike::hour(&log.incidents[i].call_received) as usize
}

/// The reasons rows were left out, one line each, for [`CalibrateError::TooFewRows`].
fn reasons(left: &BTreeMap<String, usize>) -> String {
    left.iter()
        .map(|(r, n)| format!("\n  {n} rows: {r}"))
        .collect()
}

/// Fits a traffic profile to `log`'s drives on the scenario's model `tm` (free flow, or the
/// scenario's traffic profile for the "before" errors).
///
/// `tm` must be the scenario's model (`Scenario::travel_model`), not an hour's.
pub fn calibrate(
    sc: &Scenario,
    tm: &TravelModel,
    log: &IncidentLog,
    source: &str,
    start: Start,
) -> Result<Calibration, CalibrateError> {
    let stations: Vec<(String, Snapped)> = sc
        .stations
        .iter()
        .filter_map(|s| tm.snap(s.lon_lat).ok().map(|p| (s.id.clone(), p)))
        .collect();
    if stations.is_empty() {
        return Err(CalibrateError::NoStations);
    }
    let ids: Vec<String> = stations.iter().map(|s| s.0.clone()).collect();
    let mut left_out: BTreeMap<String, usize> = BTreeMap::new();
    // 1. Usable rows.
    let rows = usable_rows(sc, tm, log, start, &ids, &mut left_out);
    let starts: Vec<Snapped> = stations.iter().map(|s| s.1).collect();
    let times = drive_times(tm, log, &rows, &starts);
    let drives = drives(tm, log, &rows, starts.len(), &times, &mut left_out);
    if drives.len() < MIN_ROWS {
        return Err(CalibrateError::TooFewRows {
            log: source.to_string(),
            usable: drives.len(),
            needed: MIN_ROWS,
            reasons: reasons(&left_out),
        });
    }
    // 2. Outliers.
    let (kept, outliers) = drop_outliers(drives);
    if kept.len() < MIN_ROWS {
        return Err(CalibrateError::TooFewRows {
            log: source.to_string(),
            usable: kept.len(),
            needed: MIN_ROWS,
            reasons: format!(
                "{}\n  {outliers} rows: outliers (log-ratio beyond {OUTLIER_MADS} MADs)",
                reasons(&left_out)
            ),
        });
    }
    // 3. Factor per hour.
    let by_hour = factors_by_hour(&kept);
    let factor: [f64; 24] = std::array::from_fn(|h| by_hour[h].factor);
    // 4. Errors before and after.
    let report = error_report(&kept, &factor)?;
    Ok(Calibration {
        source: source.to_string(),
        start,
        model_before: tm.describe_traffic(" at each call's local hour"),
        rows_in_log: log.incidents.len(),
        rows_used: kept.len(),
        left_out,
        outliers,
        error_before: report.before,
        error_after: report.after,
        by_hour,
        by_band: report.by_band,
        by_class: report.by_class,
        profile: TrafficProfile {
            name: format!("calibrated from {source}"),
            by_hour: Some(factor),
            by_class: BTreeMap::new(),
        },
    })
}

/// Phase 1: the rows with what a fit needs (times, a scene on the map, a start point), each
/// other row counted in `left_out` by reason.
fn usable_rows(
    sc: &Scenario,
    tm: &TravelModel,
    log: &IncidentLog,
    start: Start,
    ids: &[String],
    left_out: &mut BTreeMap<String, usize>,
) -> Vec<Row> {
    let mut out = |r: &str| count(left_out, r);
    let mut rows: Vec<Row> = Vec::new();
    for (i, inc) in log.incidents.iter().enumerate() {
        let (Some(d), Some(o)) = (inc.departed, inc.on_scene) else {
            out("no departed or on-scene time");
            continue;
        };
        let observed = (o - d).num_milliseconds() as f64 / 1000.0;
        if observed <= 0.0 || observed > MAX_DRIVE_S {
            out("drive not positive or over 2 h");
            continue;
        }
        let Some(p) = inc.lon_lat else {
            out("no scene location");
            continue;
        };
        if !sc.in_region(p) {
            out("scene outside the region");
            continue;
        }
        let Ok(scene) = tm.snap(p) else {
            out("scene off the road map");
            continue;
        };
        let logged = match (start, inc.start_lon_lat) {
            (Start::Auto | Start::Logged, Some(p)) => match tm.snap(p) {
                Ok(s) => Some(s),
                Err(_) => {
                    out("logged start position off the road map");
                    continue;
                }
            },
            (Start::Logged, None) => {
                out("no logged start position");
                continue;
            }
            _ => None,
        };
        let from = match (start, logged) {
            (_, Some(p)) => From::Point(p),
            (Start::NearestStation, _) => From::Station(None),
            _ => match inc.unit.as_deref().and_then(|u| station_of(u, ids)) {
                Some(s) => From::Station(Some(s)),
                None => {
                    out("unit not at a scenario station");
                    continue;
                }
            },
        };
        rows.push((i, from, scene, observed));
    }
    rows
}

/// The free-flow and "before" travel times of the usable rows' drives.
struct Times {
    /// Column of each row's scene in the station matrices (`usize::MAX` for a logged start).
    col: Vec<usize>,
    /// Free flow, stations × scenes.
    free_m: Matrix,
    /// How each hour's "before" times are had (the scenario's traffic profile as it is).
    plan: [HourTimes; 24],
    /// The "before" matrices of the bands with their own graph.
    own_m: Vec<Matrix>,
    /// Free-flow seconds of each row with a logged start.
    point_free: Vec<Option<f64>>,
    /// "Before" seconds of each row with a logged start at a band with its own graph.
    point_before: Vec<Option<f64>>,
}

/// Times of drives from stations: one search per station to the scenes of those rows (column
/// `col[k]` for row `k`); drives from logged positions: one pair each, free flow and at their
/// band's hour.
fn drive_times(tm: &TravelModel, log: &IncidentLog, rows: &[Row], starts: &[Snapped]) -> Times {
    let mut col = vec![usize::MAX; rows.len()];
    let mut scenes: Vec<Snapped> = Vec::new();
    for (k, r) in rows.iter().enumerate() {
        if let From::Station(_) = r.1 {
            col[k] = scenes.len();
            scenes.push(r.2);
        }
    }
    // `tm` is the scenario's model: its graph is free flow (hours are `tm.at_hour`).
    let free_m = tm.matrix(starts, &scenes, None);
    // The "before" times at each hour (the scenario's traffic profile as it is).
    let (plan, own) = tm
        .traffic()
        .map_or(([HourTimes::Scaled(1.0); 24], Vec::new()), |t| {
            t.hour_plan(tm.has_exempt_roads())
        });
    let own_m: Vec<Matrix> = own
        .iter()
        .map(|&h| tm.at_hour(h).matrix(starts, &scenes, None))
        .collect();
    // Drives from logged positions: one pair each, free flow and at their band's hour.
    let point_rows: Vec<usize> = (0..rows.len())
        .filter(|&k| matches!(rows[k].1, From::Point(_)))
        .collect();
    let pairs_of = |ks: &[usize]| -> Vec<(Snapped, Snapped)> {
        ks.iter()
            .filter_map(|&k| match rows[k].1 {
                From::Point(p) => Some((p, rows[k].2)),
                From::Station(_) => None,
            })
            .collect()
    };
    let secs = |t: Option<u64>| t.map(|ms| ms as f64 / 1000.0);
    let (mut point_free, mut point_before) = (vec![None; rows.len()], vec![None; rows.len()]);
    for (k, t) in point_rows.iter().zip(tm.pair_times(&pairs_of(&point_rows))) {
        point_free[*k] = secs(t);
    }
    for (b, &h) in own.iter().enumerate() {
        let ks: Vec<usize> = point_rows
            .iter()
            .copied()
            .filter(|&k| plan[hour_of(log, rows[k].0)] == HourTimes::Own(b))
            .collect();
        for (k, t) in ks.iter().zip(tm.at_hour(h).pair_times(&pairs_of(&ks))) {
            point_before[*k] = secs(t);
        }
    }
    Times {
        col,
        free_m,
        plan,
        own_m,
        point_free,
        point_before,
    }
}

/// The usable drives: rows with a road from their start (the station, or the fastest of
/// `n_starts` stations for the nearest) and a free-flow time of at least [`MIN_FREE_FLOW_S`];
/// each other row counted in `left_out` by reason.
fn drives(
    tm: &TravelModel,
    log: &IncidentLog,
    rows: &[Row],
    n_starts: usize,
    times: &Times,
    left_out: &mut BTreeMap<String, usize>,
) -> Vec<Drive> {
    let mut out = |r: &str| count(left_out, r);
    let Times {
        col,
        free_m,
        plan,
        own_m,
        point_free,
        point_before,
    } = times;
    let mut drives = Vec::new();
    for (k, &(i, from, _, observed)) in rows.iter().enumerate() {
        let hour = hour_of(log, i);
        let c = col[k];
        let pick = |m: &Matrix, st: Option<usize>| -> Option<(usize, f64)> {
            match st {
                Some(s) => m.get(s, c).map(|e| (s, e.seconds())),
                None => (0..n_starts)
                    .filter_map(|s| m.get(s, c).map(|e| (s, e.seconds())))
                    .min_by(|a, b| a.1.total_cmp(&b.1)),
            }
        };
        // (free-flow seconds, "before" seconds at a band with its own graph)
        let (free_s, own_s) = match from {
            From::Station(st) => match pick(free_m, st) {
                Some((s, f)) => (
                    f,
                    match plan[hour] {
                        HourTimes::Own(b) => own_m[b].get(s, c).map(|e| e.seconds()),
                        HourTimes::Scaled(_) => None,
                    },
                ),
                None => {
                    out("no road from the station to the scene");
                    continue;
                }
            },
            From::Point(_) => match point_free[k] {
                Some(f) => (f, point_before[k]),
                None => {
                    out("no road from the logged start to the scene");
                    continue;
                }
            },
        };
        if free_s < MIN_FREE_FLOW_S {
            out("free-flow drive under 30 s");
            continue;
        }
        let before_s = match plan[hour] {
            HourTimes::Own(_) => own_s.unwrap_or(free_s),
            HourTimes::Scaled(f) => free_s * f,
        };
        let scene = rows[k].2;
        let class = tm.network.segments[scene.segment as usize].class.as_str();
        drives.push(Drive {
            hour,
            free_s,
            before_s,
            observed_s: observed,
            class,
        });
    }
    drives
}

/// Phase 2: the drives within [`OUTLIER_MADS`] scaled MADs of the median log-ratio, and how
/// many were left out.
fn drop_outliers(drives: Vec<Drive>) -> (Vec<Drive>, usize) {
    let logs: Vec<f64> = drives
        .iter()
        .map(|d| (d.observed_s / d.free_s).ln())
        .collect();
    let m = median(logs.clone());
    let mad = 1.4826 * median(logs.iter().map(|x| (x - m).abs()).collect());
    let limit = (OUTLIER_MADS * mad).max(1e-9);
    let before = drives.len();
    let kept: Vec<Drive> = drives
        .into_iter()
        .zip(&logs)
        .filter(|(_, x)| (*x - m).abs() <= limit)
        .map(|(d, _)| d)
        .collect();
    let outliers = before - kept.len();
    (kept, outliers)
}

/// Phase 3: the median ratio of each local hour, widened to the hours around it until it has
/// [`MIN_ROWS_PER_HOUR`] rows.
fn factors_by_hour(kept: &[Drive]) -> Vec<HourFactor> {
    let mut per_hour: Vec<Vec<f64>> = vec![Vec::new(); 24];
    for d in kept {
        per_hour[d.hour].push(d.observed_s / d.free_s);
    }
    (0..24)
        .map(|h| {
            let mut w = 0;
            let mut pool: Vec<f64> = per_hour[h].clone();
            while pool.len() < MIN_ROWS_PER_HOUR && w < 12 {
                w += 1;
                pool.extend(&per_hour[(h + w) % 24]);
                if w < 12 {
                    pool.extend(&per_hour[(h + 24 - w) % 24]);
                }
            }
            HourFactor {
                hour: h,
                factor: median(pool),
                rows: per_hour[h].len(),
                window_h: w,
            }
        })
        .collect()
}

/// The errors of phase 4.
struct ErrorReport {
    before: Errors,
    after: Errors,
    by_band: Vec<GroupErrors>,
    by_class: Vec<GroupErrors>,
}

/// The median errors of `pred` against the observed drives.
fn errors(ds: &[&Drive], pred: &dyn Fn(&Drive) -> f64) -> Option<Errors> {
    Errors::of(
        &ds.iter()
            .map(|d| (pred(d), d.observed_s))
            .collect::<Vec<_>>(),
    )
}

/// Phase 4: errors before and after (free flow × `factor`), over all kept drives, by hour band
/// and by road class.
fn error_report(kept: &[Drive], factor: &[f64; 24]) -> Result<ErrorReport, CalibrateError> {
    let after = |d: &Drive| d.free_s * factor[d.hour];
    let all: Vec<&Drive> = kept.iter().collect();
    let group = |name: String, ds: Vec<&Drive>| -> Option<GroupErrors> {
        Some(GroupErrors {
            group: name,
            rows: ds.len(),
            median_ratio: median(ds.iter().map(|d| d.observed_s / d.free_s).collect()),
            before: errors(&ds, &|d| d.before_s)?,
            after: errors(&ds, &after)?,
        })
    };
    let by_band = BANDS
        .iter()
        .filter_map(|(name, hs)| {
            group(
                name.to_string(),
                all.iter()
                    .copied()
                    .filter(|d| hs.contains(&d.hour))
                    .collect(),
            )
        })
        .collect();
    let mut classes: Vec<&str> = kept.iter().map(|d| d.class).collect();
    classes.sort_unstable();
    classes.dedup();
    let by_class = classes
        .iter()
        .filter_map(|c| {
            group(
                c.to_string(),
                all.iter().copied().filter(|d| d.class == *c).collect(),
            )
        })
        .collect();
    Ok(ErrorReport {
        before: errors(&all, &|d| d.before_s).ok_or(CalibrateError::NoStations)?,
        after: errors(&all, &after).ok_or(CalibrateError::NoStations)?,
        by_band,
        by_class,
    })
}
