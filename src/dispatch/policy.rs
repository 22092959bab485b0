//! Move-up policies: where free ambulances should stand as units get busy, and which unit to
//! send, as plain functions over station indices, shared by the live server and the simulator.
//!
//! This module owns the three policies, their caps and the compliance table's file format. It
//! must not hold state, know HTTP or events, nor compute travel times: callers pass coverage
//! ([`CoverModel`]), the free units' posts and a travel-time function in, so the live API and
//! [`crate::simulate::des`] apply the same rules. Computing a table is [`crate::optimize`]'s.
//!
//! # Policies
//! - **Static** (`static`, also `none`): every unit returns to its home station; nothing moves.
//! - **Compliance table** (`table`): with `k` free units, they should stand at the table's level
//!   `k` (a multiset of stations, MEXCLP-optimal for `k` units). [`table_moves`] matches the
//!   units standing where the level has too many to the posts it lacks, nearest first
//!   (`O(k²)` per decision), so only as many units move as the level requires.
//! - **Dynamic MEXCLP** (`dmexclp`; Jagtenberg, Bhulai and van der Mei 2015): a unit becoming
//!   free goes to the station that adds the most expected coverage given where the other free
//!   units stand ([`CoverModel::gain`]); for dispatch (Jagtenberg et al. 2017), among the free
//!   units that reach the call within the target, the one whose absence loses the least
//!   expected coverage ([`dmexclp_dispatch`]); with none in time, the nearest.
//!   `dmexclp-return` applies the return rule only and dispatches the nearest unit, as in the
//!   2015 paper.
//!
//! Expected coverage (Daskin's MEXCLP) is `Σ_z w_z (1 − q^{c_z})` with `c_z` the free units
//! whose post covers zone `z` and `q` the busy fraction. Adding a unit at station `s` gains
//! `Σ_{z ∈ cover(s)} w_z (1 − q) q^{c_z}`; removing one loses `Σ_{z ∈ cover(s)} w_z (1 − q)
//! q^{c_z − 1}`. Each is `O(|cover(s)|)`.
//!
//! # Caps
//! A **relocation** is sending a free unit to a station other than where the static plan
//! would have it (its home on the way back, where it stands when idle). Each unit makes at most
//! [`Caps::per_unit_hour`] relocations in any 60 minutes, and none longer than
//! [`Caps::max_relocation_s`] of driving; a unit that may not move stays where the static plan
//! puts it.

use std::collections::VecDeque;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Which move-up policy runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    #[default]
    #[serde(alias = "none")]
    Static,
    Table,
    Dmexclp,
    /// Dynamic MEXCLP for the return post only; the nearest unit is dispatched (the setting of
    /// Jagtenberg et al. 2015).
    #[serde(rename = "dmexclp-return")]
    DmexclpReturn,
}

impl PolicyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Static => "static",
            PolicyKind::Table => "table",
            PolicyKind::Dmexclp => "dmexclp",
            PolicyKind::DmexclpReturn => "dmexclp-return",
        }
    }
}

impl std::fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ```
/// use ems::dispatch::policy::PolicyKind;
/// assert_eq!("none".parse::<PolicyKind>(), Ok(PolicyKind::Static));
/// assert_eq!("compliance-table".parse::<PolicyKind>(), Ok(PolicyKind::Table));
/// assert_eq!("dmexclp-return".parse::<PolicyKind>(), Ok(PolicyKind::DmexclpReturn));
/// assert!("nearest".parse::<PolicyKind>().unwrap_err().contains("unknown move-up policy"));
/// ```
impl std::str::FromStr for PolicyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "static" | "none" => Ok(PolicyKind::Static),
            "table" | "compliance-table" => Ok(PolicyKind::Table),
            "dmexclp" => Ok(PolicyKind::Dmexclp),
            "dmexclp-return" => Ok(PolicyKind::DmexclpReturn),
            other => Err(format!(
                "unknown move-up policy `{other}`: use static (or none), table, dmexclp or \
                 dmexclp-return"
            )),
        }
    }
}

/// The limits every relocation respects.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Caps {
    /// Relocations per unit in any 60 minutes (at least 1).
    pub per_unit_hour: u32,
    /// The longest relocation drive, seconds.
    pub max_relocation_s: f64,
}

impl Default for Caps {
    /// Two relocations per unit per hour, 15 minutes of driving at most.
    fn default() -> Self {
        Caps {
            per_unit_hour: 2,
            max_relocation_s: 15.0 * 60.0,
        }
    }
}

impl Caps {
    /// Checks the limits; the message names the option.
    pub fn check(&self) -> Result<(), String> {
        if self.per_unit_hour == 0 {
            return Err(
                "the relocation cap (--max-relocations-per-hour) must be at least 1".into(),
            );
        }
        if !(self.max_relocation_s.is_finite() && self.max_relocation_s > 0.0) {
            return Err(format!(
                "the longest relocation (--max-relocation-min) must be a positive number of \
                 minutes, not {}",
                self.max_relocation_s / 60.0
            ));
        }
        Ok(())
    }
}

/// One unit's recent relocations, to apply [`Caps::per_unit_hour`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RelocationLog {
    times: VecDeque<f64>,
}

impl RelocationLog {
    /// Whether the unit may relocate at `t` (seconds).
    pub fn may_move(&self, t: f64, caps: &Caps) -> bool {
        let recent = self.times.iter().filter(|&&x| x > t - 3600.0).count();
        recent < caps.per_unit_hour as usize
    }

    /// Records a relocation at `t` (and forgets those an hour before it).
    pub fn record(&mut self, t: f64) {
        while self.times.front().is_some_and(|&x| x <= t - 3600.0) {
            self.times.pop_front();
        }
        self.times.push_back(t);
    }
}

/// Which demand zones an idle unit at each station covers, and the zones' weights.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverModel {
    station_zones: Vec<Vec<u32>>,
    weights: Vec<f64>,
}

impl CoverModel {
    /// `covers(s, z)`: an idle unit at station `s` reaches zone `z` within the standard.
    pub fn new(stations: usize, weights: Vec<f64>, covers: impl Fn(usize, usize) -> bool) -> Self {
        let station_zones = (0..stations)
            .map(|s| {
                (0..weights.len())
                    .filter(|&z| covers(s, z))
                    .map(|z| z as u32)
                    .collect()
            })
            .collect();
        CoverModel {
            station_zones,
            weights,
        }
    }

    pub fn stations(&self) -> usize {
        self.station_zones.len()
    }

    pub fn zones(&self) -> usize {
        self.weights.len()
    }

    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Whether an idle unit at `s` covers zone `z`.
    pub fn covers(&self, s: usize, z: usize) -> bool {
        self.station_zones[s].binary_search(&(z as u32)).is_ok()
    }

    /// How many of the units posted at `posts` cover each zone.
    pub fn counts(&self, posts: impl IntoIterator<Item = usize>) -> Vec<u32> {
        let mut c = vec![0u32; self.weights.len()];
        for s in posts {
            for &z in &self.station_zones[s] {
                c[z as usize] += 1;
            }
        }
        c
    }

    /// Expected covered weight `Σ_z w_z (1 − q^{c_z})` of units at `posts`.
    pub fn expected(&self, posts: impl IntoIterator<Item = usize>, q: f64) -> f64 {
        self.counts(posts)
            .iter()
            .zip(&self.weights)
            .map(|(&c, w)| w * (1.0 - q.powi(c as i32)))
            .sum()
    }

    /// What one more unit at `s` adds, with `counts` units covering each zone now.
    pub fn gain(&self, counts: &[u32], s: usize, q: f64) -> f64 {
        self.station_zones[s]
            .iter()
            .map(|&z| self.weights[z as usize] * (1.0 - q) * q.powi(counts[z as usize] as i32))
            .sum()
    }

    /// What taking one unit away from `s` loses (`counts` includes that unit).
    pub fn loss(&self, counts: &[u32], s: usize, q: f64) -> f64 {
        self.station_zones[s]
            .iter()
            .map(|&z| {
                let c = counts[z as usize].max(1) - 1;
                self.weights[z as usize] * (1.0 - q) * q.powi(c as i32)
            })
            .sum()
    }
}

/// DMEXCLP's post for a unit becoming free: the candidate station with the largest
/// [`CoverModel::gain`] given `counts` (the other free units); ties go to the earlier candidate,
/// so a caller lists the home station first. `None` without candidates.
pub fn dmexclp_post(
    cm: &CoverModel,
    counts: &[u32],
    q: f64,
    candidates: &[usize],
) -> Option<usize> {
    let mut best: Option<(f64, usize)> = None;
    for &s in candidates {
        let g = cm.gain(counts, s, q);
        if best.is_none_or(|(bg, _)| g > bg + 1e-12) {
            best = Some((g, s));
        }
    }
    best.map(|b| b.1)
}

/// A free unit that could take a call, as DMEXCLP dispatch sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Candidate {
    /// The station it stands at or is heading to.
    pub post: usize,
    /// Its ETA to the call, seconds.
    pub eta_s: f64,
    /// It reaches the call within the response target.
    pub in_time: bool,
}

/// DMEXCLP dispatch: the index (into `cands`) of the unit to send. Among the units in time, the
/// one whose absence loses the least expected coverage (`counts` covers every free unit; ties:
/// the smaller ETA, then the earlier); with none in time, the smallest ETA.
pub fn dmexclp_dispatch(
    cm: &CoverModel,
    counts: &[u32],
    q: f64,
    cands: &[Candidate],
) -> Option<usize> {
    let nearest = || {
        (0..cands.len()).min_by(|&a, &b| cands[a].eta_s.total_cmp(&cands[b].eta_s).then(a.cmp(&b)))
    };
    if !cands.iter().any(|c| c.in_time) {
        return nearest();
    }
    let mut best: Option<(f64, f64, usize)> = None;
    for (k, c) in cands.iter().enumerate().filter(|(_, c)| c.in_time) {
        let l = cm.loss(counts, c.post, q);
        let better = match best {
            None => true,
            Some((bl, be, _)) => l < bl - 1e-12 || ((l - bl).abs() <= 1e-12 && c.eta_s < be),
        };
        if better {
            best = Some((l, c.eta_s, k));
        }
    }
    best.map(|b| b.2)
}

/// A free unit as the compliance table sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FreeUnit {
    /// The station it stands at or is heading to.
    pub post: usize,
    /// It may be sent elsewhere now (under the cap).
    pub movable: bool,
}

/// The moves that bring the free units to the posts of `level` (a multiset of stations, one
/// per free unit) with the fewest relocations: the units at stations holding more than the
/// level wants are matched to the posts it lacks, the shortest drive first, among movable
/// units whose drive (`drive_s(unit index, station)`) is within `max_s`. Returns
/// `(unit index, station)`. Posts no unit can reach stay empty.
pub fn table_moves(
    level: &[usize],
    units: &[FreeUnit],
    stations: usize,
    drive_s: &mut dyn FnMut(usize, usize) -> f64,
    max_s: f64,
) -> Vec<(usize, usize)> {
    let mut want = vec![0i64; stations];
    for &s in level {
        want[s] += 1;
    }
    let mut have = vec![0i64; stations];
    for u in units {
        have[u.post] += 1;
    }
    // Surplus units: at a station with more than wanted, movable ones first.
    let mut surplus: Vec<usize> = Vec::new();
    let mut extra: Vec<i64> = (0..stations).map(|s| (have[s] - want[s]).max(0)).collect();
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|&k| !units[k].movable);
    for k in order {
        let s = units[k].post;
        if extra[s] > 0 && units[k].movable {
            extra[s] -= 1;
            surplus.push(k);
        }
    }
    let mut missing: Vec<usize> = Vec::new();
    for s in 0..stations {
        for _ in 0..(want[s] - have[s]).max(0) {
            missing.push(s);
        }
    }
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for &k in &surplus {
        for (m, &s) in missing.iter().enumerate() {
            let d = drive_s(k, s);
            if d.is_finite() && d <= max_s {
                pairs.push((d, k, m));
            }
        }
    }
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut unit_used = vec![false; units.len()];
    let mut slot_used = vec![false; missing.len()];
    let mut moves = Vec::new();
    for (_, k, m) in pairs {
        if !unit_used[k] && !slot_used[m] {
            unit_used[k] = true;
            slot_used[m] = true;
            moves.push((k, missing[m]));
        }
    }
    moves.sort_unstable();
    moves
}

/// One level of a compliance table: where `free_units` free units should stand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TableLevel {
    pub free_units: usize,
    /// Station ids, one per unit; the units the previous level already had come first.
    pub posts: Vec<String>,
    /// Expected covered demand of this posting.
    pub expected_coverage: f64,
    /// The certified upper bound of the MEXCLP with this many units.
    pub bound: f64,
    /// `(bound − expected) / bound`, percent.
    pub gap_pct: f64,
    /// Units of the previous level that stand elsewhere in this one.
    pub moves_from_previous: usize,
}

/// A compliance table: the posting for each number of free units, 1..=N.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComplianceTable {
    /// The scenario's name.
    pub scenario: String,
    /// The scenario's station ids, in order (a table for other stations is refused).
    pub stations: Vec<String>,
    /// The busy fraction of the MEXCLP behind the table.
    pub busy_fraction: f64,
    /// The coverage standard in minutes (`None`: a distance standard).
    pub response_target_min: Option<f64>,
    /// The demand weights' source (`population`, `incident log`, `hour-of-week model`).
    pub weights: String,
    pub levels: Vec<TableLevel>,
}

/// Why a compliance table cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("compliance table {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("compliance table {path}: not a compliance table: {message}")]
    Format { path: String, message: String },
    #[error(
        "compliance table {path} is for {what}: compute one for this scenario with `ems optimize --model compliance-table`"
    )]
    OtherScenario { path: String, what: String },
}

impl ComplianceTable {
    /// Reads a table (JSON, as `ems optimize --model compliance-table --format json` writes).
    pub fn read(path: &Path) -> Result<ComplianceTable, TableError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TableError::Read {
            path: p.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| TableError::Format {
            path: p,
            message: e.to_string(),
        })
    }

    /// The levels as station indices of `stations` (the scenario's ids in order), checked:
    /// same scenario, same stations, one level per unit count 1..=`units`.
    pub fn resolve(
        &self,
        path: &str,
        scenario: &str,
        stations: &[String],
        units: usize,
    ) -> Result<Vec<Vec<usize>>, TableError> {
        let other = |what: String| TableError::OtherScenario {
            path: path.to_string(),
            what,
        };
        if self.scenario != scenario {
            return Err(other(format!(
                "scenario `{}`, not `{scenario}`",
                self.scenario
            )));
        }
        if self.stations != stations {
            return Err(other(format!(
                "stations {} ({} of them), not this scenario's {}",
                self.stations.join(", "),
                self.stations.len(),
                stations.len()
            )));
        }
        if self.levels.len() != units {
            return Err(other(format!(
                "{} units (it has {} levels), not this scenario's {units}",
                self.levels.len(),
                self.levels.len()
            )));
        }
        self.levels
            .iter()
            .enumerate()
            .map(|(k, l)| {
                if l.free_units != k + 1 || l.posts.len() != k + 1 {
                    return Err(TableError::Format {
                        path: path.to_string(),
                        message: format!(
                            "level {} should have free_units {} and {} posts",
                            k + 1,
                            k + 1,
                            k + 1
                        ),
                    });
                }
                l.posts
                    .iter()
                    .map(|id| {
                        stations
                            .iter()
                            .position(|s| s == id)
                            .ok_or_else(|| TableError::Format {
                                path: path.to_string(),
                                message: format!("level {}: unknown station `{id}`", k + 1),
                            })
                    })
                    .collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three stations on a line, A - B - C, each covering itself and its neighbours; zones at
    /// A, B and C with weights 1, 1, 1.
    fn line() -> CoverModel {
        CoverModel::new(3, vec![1.0, 1.0, 1.0], |s, z| s.abs_diff(z) <= 1)
    }

    #[test]
    fn one_free_unit_belongs_in_the_middle() {
        let cm = line();
        let counts = cm.counts([]);
        assert_eq!(dmexclp_post(&cm, &counts, 0.3, &[0, 1, 2]), Some(1));
        // From the home station A listed first, the middle still wins.
        assert_eq!(dmexclp_post(&cm, &counts, 0.3, &[0, 2, 1]), Some(1));
        // Gains by hand: B covers all three zones, 3 × 0.7 = 2.1; A covers two, 1.4.
        assert!((cm.gain(&counts, 1, 0.3) - 2.1).abs() < 1e-12);
        assert!((cm.gain(&counts, 0, 0.3) - 1.4).abs() < 1e-12);
    }

    #[test]
    fn a_second_unit_doubles_the_middle() {
        let cm = line();
        let counts = cm.counts([1]);
        // At B again: 3 × 0.7 × 0.3 = 0.63; at A: zone A gets 0.21, zone B 0.21 → 0.42.
        // B covers every zone, so a second unit there gains most (0.63 > 0.42)...
        assert_eq!(dmexclp_post(&cm, &counts, 0.3, &[0, 1, 2]), Some(1));
        // ...and q = 0 (MCLP) gains nothing anywhere: the first candidate.
        assert_eq!(dmexclp_post(&cm, &counts, 0.0, &[0, 1, 2]), Some(0));
    }

    #[test]
    fn dispatch_keeps_the_middle_unit_when_an_end_unit_is_in_time() {
        let cm = line();
        let counts = cm.counts([0, 1]);
        let cands = [
            Candidate {
                post: 1,
                eta_s: 300.0,
                in_time: true,
            },
            Candidate {
                post: 0,
                eta_s: 500.0,
                in_time: true,
            },
        ];
        // Losing B costs zone C its only cover; losing A costs less.
        assert_eq!(dmexclp_dispatch(&cm, &counts, 0.3, &cands), Some(1));
        // Only B in time: B goes.
        let late = [
            cands[0],
            Candidate {
                in_time: false,
                ..cands[1]
            },
        ];
        assert_eq!(dmexclp_dispatch(&cm, &counts, 0.3, &late), Some(0));
        // None in time: the nearest.
        let none = [
            Candidate {
                in_time: false,
                ..cands[0]
            },
            Candidate {
                in_time: false,
                ..cands[1]
            },
        ];
        assert_eq!(dmexclp_dispatch(&cm, &counts, 0.3, &none), Some(0));
    }

    #[test]
    fn table_moves_only_the_surplus_unit_to_the_missing_post() {
        // Two units at A, level wants A and C: one A unit drives to C.
        let units = [
            FreeUnit {
                post: 0,
                movable: true,
            },
            FreeUnit {
                post: 0,
                movable: true,
            },
        ];
        let mut drive = |_: usize, s: usize| s as f64 * 100.0;
        assert_eq!(
            table_moves(&[0, 2], &units, 3, &mut drive, 1e9),
            vec![(0, 2)]
        );
        // Too far: nobody moves.
        assert!(table_moves(&[0, 2], &units, 3, &mut drive, 150.0).is_empty());
        // Already in place: nothing.
        assert!(table_moves(&[0, 0], &units, 3, &mut drive, 1e9).is_empty());
        // A unit over its cap stays; the other one moves.
        let capped = [
            FreeUnit {
                movable: false,
                ..units[0]
            },
            units[1],
        ];
        assert_eq!(
            table_moves(&[0, 2], &capped, 3, &mut drive, 1e9),
            vec![(1, 2)]
        );
    }

    #[test]
    fn the_cap_counts_relocations_in_the_last_hour() {
        let caps = Caps {
            per_unit_hour: 2,
            max_relocation_s: 600.0,
        };
        let mut log = RelocationLog::default();
        assert!(log.may_move(0.0, &caps));
        log.record(0.0);
        log.record(100.0);
        assert!(!log.may_move(3599.0, &caps));
        assert!(log.may_move(3600.0, &caps));
        assert!(
            Caps {
                per_unit_hour: 0,
                ..caps
            }
            .check()
            .is_err()
        );
        assert!(
            Caps {
                max_relocation_s: 0.0,
                ..caps
            }
            .check()
            .is_err()
        );
        assert!(
            "nonsense"
                .parse::<PolicyKind>()
                .unwrap_err()
                .contains("nonsense")
        );
        assert_eq!("none".parse::<PolicyKind>(), Ok(PolicyKind::Static));
    }
}
