//! The live posting: where the move-up policy wants the free units now, as moves a dispatcher
//! accepts through `POST /v1/move-ups`.
//!
//! This module owns turning the fleet's units into the policy's inputs and its answer into
//! moves. It must not hold state or know HTTP; the rules themselves are
//! [`super::policy`]'s, the same functions the simulator applies.
//!
//! - **Free units** are the assignable ones (available, returning, relocating); each stands at
//!   or heads to its post (its own station unless moved up).
//! - **Compliance table**: the level of the number of free units, and
//!   [`super::policy::table_moves`] for the units standing where the level has too many
//!   (available units under the cap: a relocating unit finishes its move, a returning one is
//!   counted where it heads and redirected only by dynamic MEXCLP).
//! - **Dynamic MEXCLP**: for each returning unit, the station within the longest relocation
//!   drive that adds the most expected coverage given the other free units
//!   ([`super::policy::dmexclp_post`]), its own first.
//! - **Static**: no moves.
//!
//! Drives are road times from each moving candidate's last known position (one search per
//! candidate unit). Cost: `O(free units × (search + stations × covered zones))`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::policy::{self, Caps, CoverModel, FreeUnit, PolicyKind, RelocationLog};
use super::{Unit, UnitStatus};
use crate::model::Scenario;
use crate::network::{Direction, Snapped, TravelModel};

/// The live server's move-up policy.
#[derive(Debug, Clone, PartialEq)]
pub struct LivePolicy {
    pub kind: PolicyKind,
    /// `table[k - 1]`: the station indices of `k` free units.
    pub table: Vec<Vec<usize>>,
    pub caps: Caps,
    /// Dynamic MEXCLP's busy fraction.
    pub busy: f64,
}

/// One recommended move.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PostingMove {
    pub unit: String,
    pub from_station: String,
    pub to_station: String,
    /// Road time from the unit's last known position, seconds.
    pub drive_s: f64,
}

/// The recommended posting now.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Posting {
    /// `static`, `table` or `dmexclp`.
    pub policy: String,
    /// The last event the posting reflects.
    pub seq: u64,
    pub free_units: usize,
    /// The compliance table's stations for this many free units (table policy).
    pub level: Option<Vec<String>>,
    pub moves: Vec<PostingMove>,
    /// Expected covered share of residents with the free units where they stand or head, and
    /// after the moves (MEXCLP's expectation with the policy's busy fraction).
    pub expected_coverage_now: Option<f64>,
    pub expected_coverage_after: Option<f64>,
}

/// The posting the policy recommends for `units` (see the module docs). `stations` are the
/// scenario's stations on the road, `moved` each unit's recent relocations, `now_s` the time
/// they are counted against.
#[allow(clippy::too_many_arguments)]
pub fn posting(
    sc: &Scenario,
    tm: &TravelModel,
    stations: &[Snapped],
    cover: &CoverModel,
    units: &BTreeMap<String, Unit>,
    p: &LivePolicy,
    moved: &BTreeMap<String, RelocationLog>,
    now_s: f64,
    seq: u64,
) -> Posting {
    let index = |id: &str| sc.stations.iter().position(|s| s.id == id);
    let free: Vec<(&Unit, usize)> = units
        .values()
        .filter(|u| u.status.assignable())
        .filter_map(|u| index(u.post_or_station()).map(|s| (u, s)))
        .collect();
    let q = p.busy;
    let total: f64 = cover.weights().iter().sum();
    let share =
        |posts: &[usize]| (total > 0.0).then(|| cover.expected(posts.iter().copied(), q) / total);
    let mut q_search = tm.query();
    let mut drives: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut drive = |u: &Unit, x: usize| -> f64 {
        let row = drives
            .entry(u.id.clone())
            .or_insert_with(|| match tm.snap(u.position) {
                Ok(from) => tm
                    .one_to_many(&mut q_search, &from, stations, Direction::Forward, None)
                    .into_iter()
                    .map(|e| e.map_or(f64::INFINITY, |e| e.seconds()))
                    .collect(),
                Err(_) => vec![f64::INFINITY; stations.len()],
            });
        row[x]
    };
    let may_move = |u: &Unit| {
        moved
            .get(&u.id)
            .is_none_or(|log| log.may_move(now_s, &p.caps))
    };
    let mut posts: Vec<usize> = free.iter().map(|(_, s)| *s).collect();
    let mut moves = Vec::new();
    let mut level = None;
    match p.kind {
        PolicyKind::Static => {}
        PolicyKind::Table => {
            let k = free.len();
            if k > 0 && k <= p.table.len() {
                let target = &p.table[k - 1];
                level = Some(target.iter().map(|&s| sc.stations[s].id.clone()).collect());
                let fu: Vec<FreeUnit> = free
                    .iter()
                    .map(|(u, s)| FreeUnit {
                        post: *s,
                        movable: u.status == UnitStatus::Available && may_move(u),
                    })
                    .collect();
                let chosen = policy::table_moves(
                    target,
                    &fu,
                    sc.stations.len(),
                    &mut |j, x| drive(free[j].0, x),
                    p.caps.max_relocation_s,
                );
                for (j, x) in chosen {
                    moves.push((j, x, drive(free[j].0, x)));
                }
            }
        }
        PolicyKind::Dmexclp | PolicyKind::DmexclpReturn => {
            for j in 0..free.len() {
                let (u, s) = free[j];
                if u.status != UnitStatus::Returning || !may_move(u) {
                    continue;
                }
                let home = index(&u.station).unwrap_or(s);
                let mut candidates = vec![home];
                for x in 0..sc.stations.len() {
                    if x != home && drive(u, x) <= p.caps.max_relocation_s {
                        candidates.push(x);
                    }
                }
                let others = posts
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| *k != j)
                    .map(|(_, s)| *s);
                let counts = cover.counts(others);
                if let Some(x) = policy::dmexclp_post(cover, &counts, q, &candidates)
                    && x != s
                {
                    moves.push((j, x, drive(u, x)));
                    posts[j] = x;
                }
            }
        }
    }
    let now = share(&free.iter().map(|(_, s)| *s).collect::<Vec<_>>());
    let mut after: Vec<usize> = free.iter().map(|(_, s)| *s).collect();
    for &(j, x, _) in &moves {
        after[j] = x;
    }
    Posting {
        policy: p.kind.to_string(),
        seq,
        free_units: free.len(),
        level,
        moves: moves
            .into_iter()
            .map(|(j, x, d)| PostingMove {
                unit: free[j].0.id.clone(),
                from_station: sc.stations[free[j].1].id.clone(),
                to_station: sc.stations[x].id.clone(),
                drive_s: d,
            })
            .collect(),
        expected_coverage_now: now,
        expected_coverage_after: share(&after),
    }
}
