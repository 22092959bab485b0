//! Move-ups: a freed unit's post under dynamic MEXCLP, and the compliance table's relocations of
//! the free units.
//!
//! This module owns relocating free units and counting the moves. It must not define the
//! policies (it applies [`crate::dispatch::policy`]'s `dmexclp_post` and `table_moves`).

use super::{Ev, Loc, Sim, Where};
use crate::dispatch::policy::{self, FreeUnit};

impl<'a, 's> Sim<'a, 's> {
    /// Dynamic MEXCLP: the post that adds the most expected coverage for a unit just freed.
    pub(super) fn dmexclp_return(&mut self, u: usize, from: Loc) {
        let Some(cm) = &self.m.policy.cover else {
            return;
        };
        let caps = self.m.policy.caps;
        let t = self.t;
        if !self.units[u].moves.may_move(t, &caps) {
            return;
        }
        let home = self.m.unit_station[u];
        let mut candidates = vec![home];
        for s in 0..self.m.geometry.stations {
            if s != home && self.drive_from(from, s) <= caps.max_relocation_s {
                candidates.push(s);
            }
        }
        let others = self
            .units
            .iter()
            .enumerate()
            .filter(|(k, s)| *k != u && s.at.free())
            .map(|(_, s)| s.post);
        let counts = cm.counts(others);
        let q = self.busy_fraction();
        if let Some(s) = policy::dmexclp_post(cm, &counts, q, &candidates)
            && s != home
        {
            let drive = self.drive_from(from, s);
            self.units[u].post = s;
            self.head_back(u, from, drive);
            self.count_move(u, drive);
        }
    }

    pub(super) fn count_move(&mut self, u: usize, drive: f64) {
        self.units[u].moves.record(self.t);
        self.stats.relocations += 1;
        self.stats.relocation_s += drive;
    }

    /// Compliance table: moves the free units towards the level of their number.
    pub(super) fn rebalance(&mut self) {
        let free: Vec<usize> = (0..self.units.len())
            .filter(|&u| self.units[u].at.free())
            .collect();
        let k = free.len();
        if k == 0 || k > self.m.policy.table.len() {
            return;
        }
        let caps = self.m.policy.caps;
        let t = self.t;
        let fu: Vec<FreeUnit> = free
            .iter()
            .map(|&u| FreeUnit {
                post: self.units[u].post,
                movable: self.units[u].moves.may_move(t, &caps),
            })
            .collect();
        let moves = policy::table_moves(
            &self.m.policy.table[k - 1],
            &fu,
            self.m.geometry.stations,
            &mut |j, x| self.drive_to(free[j], x),
            caps.max_relocation_s,
        );
        for (j, x) in moves {
            self.send(free[j], x);
        }
    }

    /// Sends free unit `u` to station `x`.
    pub(super) fn send(&mut self, u: usize, x: usize) {
        let drive = self.drive_to(u, x);
        let t = self.t;
        let st = &mut self.units[u];
        let from = st.post;
        st.post = x;
        st.epoch += 1;
        let e = st.epoch;
        match st.at {
            Where::Returning {
                from: loc, start, ..
            } => {
                st.at = Where::Returning {
                    from: loc,
                    start,
                    arrive: t + drive,
                };
                self.at(t + drive, Ev::Free(u, e));
            }
            _ => {
                st.at = Where::Relocating {
                    from,
                    start: t,
                    arrive: t + drive,
                };
                self.at(t + drive, Ev::Moved(u, e));
            }
        }
        self.count_move(u, drive);
    }
}
