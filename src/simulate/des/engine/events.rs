//! The events: [`Sim::step`] hands each to its own handler (a call ready for dispatch, a unit
//! free, moved, on scene, leaving the scene, at hospital, restocked, done handing over or
//! released, a stretcher free).
//!
//! This module owns what each event does to the state, in the order the engine always did it.
//! It must not draw random numbers (each call's draws are made on arrival) nor hold the
//! dispatch, move-up or hospital logic (those are [`super::units`], [`super::moveup`] and
//! [`super::hospital`]).

use std::cmp::Reverse;

use ordered_float::OrderedFloat;

use super::{Ev, Loc, Sim, Where};
use crate::dispatch::policy::PolicyKind;
use crate::simulate::des::{QueuePolicy, RoadService, Service, StretcherRule};

impl<'a, 's> Sim<'a, 's> {
    pub(super) fn step(&mut self, ev: Ev) {
        match ev {
            Ev::Arrival => self.arrive(),
            Ev::Ready(i) => self.on_ready(i),
            Ev::Free(u, e) => self.on_free(u, e),
            Ev::Moved(u, e) => self.on_moved(u, e),
            Ev::OnScene(u, e) => self.on_scene(u, e),
            Ev::LeaveScene(u, e) => self.on_leave_scene(u, e),
            Ev::AtHospital(u, e) => self.on_at_hospital(u, e),
            Ev::StretcherFree(h) => self.on_stretcher_free(h),
            Ev::Restocked(u, e) => self.on_restocked(u, e),
            Ev::HandoverDone(u, e) | Ev::Release(u, e) => self.on_handover_done(u, e),
        }
    }

    /// Call `i` handled: the best free unit is sent, or the call waits (or is lost).
    fn on_ready(&mut self, i: usize) {
        if self.pending.is_none() && i + 1 == self.pulled {
            // Calls still queued when the last one is handled: the backlog.
            self.stats.left_waiting = self.queue.len();
        }
        let (a, pr, ct) = {
            let c = &self.call(i).call;
            (c.atom, c.priority, c.t)
        };
        match self.best_unit(i, a) {
            Some((u, travel, rolling)) => {
                self.dispatch(u, i, travel, rolling);
                if self.m.policy.kind == PolicyKind::Table {
                    self.rebalance();
                }
            }
            None => match self.m.queue {
                QueuePolicy::Lost => {
                    self.rec(i).lost = true;
                    self.stats.lost += 1;
                    self.finish(i);
                }
                QueuePolicy::Infinite => {
                    self.rec(i).waited = true;
                    self.stats.waited += 1;
                    self.queue.push(Reverse((pr, OrderedFloat(ct), i)));
                }
            },
        }
    }

    /// Unit `u` back at its post: the exponential service's end, or the end of a return.
    fn on_free(&mut self, u: usize, e: u64) {
        if self.units[u].epoch != e {
            return;
        }
        if self.units[u].at == Where::Busy {
            // The exponential service: the job ends here.
            self.free(u);
        } else {
            let st = &mut self.units[u];
            self.stats.unit_busy_s[u] += self.t - st.busy_since;
            st.at = Where::Idle;
        }
    }

    /// Unit `u` at its new post.
    fn on_moved(&mut self, u: usize, e: u64) {
        if self.units[u].epoch == e {
            self.units[u].at = Where::Idle;
        }
    }

    /// Unit `u` on scene: it stays for the priority's on-scene time.
    fn on_scene(&mut self, u: usize, e: u64) {
        if self.units[u].epoch != e {
            return;
        }
        let (Service::Road(r), Some(i)) = (&self.m.service, self.units[u].job) else {
            return;
        };
        let c = self.call(i);
        let dist = r
            .on_scene_by_priority
            .iter()
            .find(|(p, _)| *p == c.call.priority)
            .map_or(r.on_scene_min, |x| x.1);
        let d = dist.quantile(c.u[2]) * 60.0;
        self.at(self.t + d, Ev::LeaveScene(u, e));
    }

    /// Unit `u` leaves the scene: to a hospital (transport), or back.
    fn on_leave_scene(&mut self, u: usize, e: u64) {
        let g = self.geo();
        if self.units[u].epoch != e {
            return;
        }
        let (Service::Road(r), Some(i)) = (&self.m.service, self.units[u].job) else {
            return;
        };
        let transport = self.call(i).u[3] < r.transport_share;
        let a = self.call(i).call.atom;
        let f = self.factor();
        match transport.then(|| self.choose_hospital(i)).flatten() {
            Some(h) => {
                self.rec(i).hospital = Some(h);
                let d = g.atom_to_hospital[a * g.hospitals + h] * f;
                self.at(self.t + d, Ev::AtHospital(u, e));
            }
            None => self.release(u, Loc::Scene(a)),
        }
    }

    /// Unit `u` at the hospital: the release rule starts, then a stretcher and a bay.
    fn on_at_hospital(&mut self, u: usize, e: u64) {
        if self.units[u].epoch != e {
            return;
        }
        let Some(i) = self.units[u].job else { return };
        let Some(h) = self.call(i).rec.hospital else {
            return;
        };
        let t = self.t;
        self.rec(i).at_hospital = Some(t);
        self.units[u].at_hospital_since = t;
        self.at_hosp[h].push(u);
        if let Service::Road(RoadService {
            release_after_min: Some(n),
            ..
        }) = &self.m.service
        {
            self.at(t + n * 60.0, Ev::Release(u, e));
        }
        self.stats.hospital_arrivals += 1;
        let limited = match &self.m.service {
            Service::Road(r) => r.stretchers[h].is_some().then_some(r.stretcher_rule),
            Service::Exponential { .. } => None,
        };
        match limited {
            Some(_) if self.stretchers_free[h] > 0 => {
                self.stretchers_free[h] -= 1;
                self.units[u].hospital_stretcher = true;
                self.seek_bay(u, h, e);
            }
            Some(StretcherRule::Wait) => {
                self.stats.stretcher_short += 1;
                self.stretcher_wait[h].push_back((u, e));
            }
            Some(StretcherRule::Leave) => {
                self.stats.stretcher_short += 1;
                self.units[u].restock = true;
                self.seek_bay(u, h, e);
            }
            None => self.seek_bay(u, h, e),
        }
    }

    /// A stretcher at hospital `h` is free: the first unit waiting for one takes it.
    fn on_stretcher_free(&mut self, h: usize) {
        match self.stretcher_wait[h].pop_front() {
            Some((w, we)) => {
                self.units[w].hospital_stretcher = true;
                self.seek_bay(w, h, we);
            }
            None => self.stretchers_free[h] += 1,
        }
    }

    /// Unit `u` back at its station with a spare stretcher: free.
    fn on_restocked(&mut self, u: usize, e: u64) {
        if self.units[u].epoch != e {
            return;
        }
        self.n_busy -= 1;
        let st = &mut self.units[u];
        self.stats.unit_busy_s[u] += self.t - st.busy_since;
        st.at = Where::Idle;
        if !self.serve_queue(u) && self.m.policy.kind == PolicyKind::Table {
            self.rebalance();
        }
    }

    /// Unit `u`'s handover done, or the release rule: it leaves the hospital.
    fn on_handover_done(&mut self, u: usize, e: u64) {
        if self.units[u].epoch != e {
            return;
        }
        let Some(i) = self.units[u].job else { return };
        let Some(h) = self.call(i).rec.hospital else {
            return;
        };
        self.leave_hospital(u, h, e);
    }
}
