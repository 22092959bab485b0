//! Units on the road: where a free unit can be and how long it takes to reach a call, which
//! free unit to send, dispatching it, and its way back when the job ends.
//!
//! This module owns dispatch and returns. It must not rank units by rules of its own (it
//! applies [`crate::dispatch::recommend`]'s and dynamic MEXCLP's from
//! [`crate::dispatch::policy`]) nor decide move-ups (that is [`super::moveup`]).

use std::cmp::Reverse;

use super::{Ev, Loc, Sim, Where};
use crate::dispatch::policy::{self, Candidate, PolicyKind};
use crate::dispatch::recommend;
use crate::simulate::des::{Dist, Service};

impl<'a, 's> Sim<'a, 's> {
    /// Free unit `u`'s time to a place, given `from(loc)`, the time from a station, hospital or
    /// scene to it: from its post when idle; when moving, the shorter of driving on (the rest
    /// of the drive, then from its post) and turning back (the time driven, then from where it
    /// left). `None` when it is busy.
    pub(super) fn reach(&self, u: usize, from: impl Fn(Loc) -> f64) -> Option<f64> {
        let st = &self.units[u];
        let (origin, start, arrive) = match st.at {
            Where::Idle => return Some(from(Loc::Station(st.post))),
            Where::Busy => return None,
            Where::Returning {
                from,
                start,
                arrive,
            } => (from, start, arrive),
            Where::Relocating {
                from,
                start,
                arrive,
            } => (Loc::Station(from), start, arrive),
        };
        let on = (arrive - self.t).max(0.0) + from(Loc::Station(st.post));
        Some(on.min((self.t - start) + from(origin)))
    }

    /// Unit `u`'s travel time to atom `a` now, and whether it is already rolling; `None` when it
    /// is busy (or has no road to the atom).
    pub(super) fn travel(&self, u: usize, a: usize) -> Option<(f64, bool)> {
        let g = self.geo();
        let f = self.factor();
        let t = self.reach(u, |loc| match loc {
            Loc::Station(s) => g.station_to_atom[s * g.atoms + a] * f,
            Loc::Hospital(h) => g.hospital_to_atom[h * g.atoms + a] * f,
            // The matrices have no scene-to-scene times: only the way on.
            Loc::Scene(_) => f64::INFINITY,
        })?;
        let rolling = self.units[u].at != Where::Idle;
        t.is_finite().then_some((t, rolling))
    }

    /// Free unit `u`'s drive to station `x` now (0 to its own post).
    pub(super) fn drive_to(&self, u: usize, x: usize) -> f64 {
        if x == self.units[u].post {
            return 0.0;
        }
        self.reach(u, |loc| self.drive_from(loc, x))
            .unwrap_or(f64::INFINITY)
    }

    /// The busy fraction dynamic MEXCLP uses now.
    pub(super) fn busy_fraction(&self) -> f64 {
        if let Some(q) = self.m.policy.busy {
            return q;
        }
        let n = self.units.len() as f64;
        let prior = 0.3 * n * 3600.0;
        ((self.busy_area + prior) / (n * (self.t.max(0.0) + 3600.0))).clamp(0.0, 0.99)
    }

    /// The free unit to send to call `i` at atom `a` (and its travel and whether it rolls).
    pub(super) fn best_unit(&self, i: usize, a: usize) -> Option<(usize, f64, bool)> {
        // Expected turnout ranks units; the drawn turnout applies to the one sent.
        let mean_turnout = match self.m.turnout_s {
            Dist::Fixed(v) => v,
            Dist::Exponential { mean } => mean,
            Dist::LogNormal { median, .. } => median,
        };
        let mut free: Vec<(f64, usize, f64, bool)> = Vec::new();
        for u in 0..self.units.len() {
            if let Some((travel, rolling)) = self.travel(u, a) {
                let eta = recommend::turnout_delay(rolling, mean_turnout) + travel;
                free.push((eta, u, travel, rolling));
            }
        }
        let pick = match (&self.m.policy.kind, &self.m.policy.cover) {
            (PolicyKind::Dmexclp, Some(cm)) => {
                let waited = self.t - self.call(i).call.t;
                let posts = self.units.iter().filter(|s| s.at.free()).map(|s| s.post);
                let counts = cm.counts(posts);
                let cands: Vec<Candidate> = free
                    .iter()
                    .map(|&(eta, u, _, _)| Candidate {
                        post: self.units[u].post,
                        eta_s: eta,
                        in_time: waited + eta <= self.m.policy.target_s,
                    })
                    .collect();
                policy::dmexclp_dispatch(cm, &counts, self.busy_fraction(), &cands)
            }
            _ => (0..free.len()).min_by(|&x, &y| {
                recommend::unit_order(
                    (free[x].0, &self.m.unit_ids[free[x].1]),
                    (free[y].0, &self.m.unit_ids[free[y].1]),
                )
            }),
        };
        pick.map(|k| (free[k].1, free[k].2, free[k].3))
    }

    pub(super) fn dispatch(&mut self, u: usize, i: usize, travel: f64, rolling: bool) {
        let (atom, u_turnout) = {
            let a = self.call(i);
            (a.call.atom, a.u[1])
        };
        let was_returning = matches!(self.units[u].at, Where::Returning { .. });
        let st = &mut self.units[u];
        if !was_returning {
            st.busy_since = self.t;
        }
        st.at = Where::Busy;
        st.epoch += 1;
        st.job = Some(i);
        let e = st.epoch;
        self.n_busy += 1;
        if self.count_dispatches {
            self.stats.dispatches[u][atom] += 1;
        }
        let turnout = if rolling {
            0.0
        } else {
            self.m.turnout_s.quantile(u_turnout)
        };
        let t = self.t;
        let r = self.rec(i);
        r.dispatched = Some(t);
        r.departed = Some(t + turnout);
        r.on_scene = Some(t + turnout + travel);
        r.unit = Some(u);
        match &self.m.service {
            Service::Exponential { mean_min } => {
                let d = Dist::Exponential {
                    mean: mean_min * 60.0,
                }
                .quantile(self.call(i).u[2]);
                self.at(self.t + d, Ev::Free(u, e));
            }
            Service::Road(_) => self.at(self.t + turnout + travel, Ev::OnScene(u, e)),
        }
    }

    /// A unit became free (at its post or on its way): it takes the head of the queue.
    pub(super) fn serve_queue(&mut self, u: usize) -> bool {
        if let Some(&Reverse((_, _, i))) = self.queue.peek()
            && let Some((travel, rolling)) = self.travel(u, self.call(i).call.atom)
        {
            self.queue.pop();
            self.dispatch(u, i, travel, rolling);
            return true;
        }
        false
    }

    /// The exponential service's end: back at its station, free.
    pub(super) fn free(&mut self, u: usize) {
        let st = &mut self.units[u];
        self.stats.unit_busy_s[u] += self.t - st.busy_since;
        st.at = Where::Idle;
        if let Some(i) = st.job.take() {
            self.n_busy -= 1;
            self.finish(i);
        }
        self.serve_queue(u);
    }

    /// Unit `u` has finished its job at `from`: it heads home (or where the policy says), or
    /// takes a waiting call.
    pub(super) fn release(&mut self, u: usize, from: Loc) {
        if let Some(i) = self.units[u].job.take() {
            self.finish(i);
        }
        let home = self.m.unit_station[u];
        if self.units[u].restock {
            // Busy until it has a spare stretcher at its station.
            self.units[u].restock = false;
            self.units[u].post = home;
            let drive = self.drive_from(from, home);
            let st = &mut self.units[u];
            st.epoch += 1;
            let e = st.epoch;
            self.at(self.t + drive, Ev::Restocked(u, e));
            return;
        }
        self.n_busy -= 1;
        self.units[u].post = home;
        let drive = self.drive_from(from, home);
        self.head_back(u, from, drive);
        if self.serve_queue(u) {
            return;
        }
        match self.m.policy.kind {
            PolicyKind::Static => {}
            PolicyKind::Table => self.rebalance(),
            PolicyKind::Dmexclp | PolicyKind::DmexclpReturn => self.dmexclp_return(u, from),
        }
    }

    pub(super) fn drive_from(&self, from: Loc, s: usize) -> f64 {
        let g = self.geo();
        let f = self.factor();
        match from {
            Loc::Station(k) => g.station_to_station[k * g.stations + s] * f,
            Loc::Hospital(h) => g.hospital_to_station[h * g.stations + s] * f,
            Loc::Scene(a) => g.atom_to_station[a * g.stations + s] * f,
        }
    }

    /// Sets unit `u` on its way back from `from` to its post, `drive` seconds away.
    pub(super) fn head_back(&mut self, u: usize, from: Loc, drive: f64) {
        let arrive = self.t + drive;
        let start = self.t;
        let st = &mut self.units[u];
        st.at = Where::Returning {
            from,
            start,
            arrive,
        };
        st.epoch += 1;
        let e = st.epoch;
        self.at(arrive, Ev::Free(u, e));
    }
}
