//! Hospitals: choosing one for a transport, handover times, emergency-department bays and the
//! stretchers held after a handover, and leaving the hospital.
//!
//! This module owns the bays, stretchers and handovers. It must not define the choice of
//! hospital (it applies [`crate::dispatch::recommend`]'s `designated`, `detaining` and
//! `hospital_order`, like the live API).

use super::{Ev, Loc, Sim};
use crate::dispatch::recommend;
use crate::simulate::des::{RoadService, Service};

impl<'a, 's> Sim<'a, 's> {
    pub(super) fn choose_hospital(&self, i: usize) -> Option<usize> {
        let g = self.geo();
        let c = &self.call(i).call;
        let a = c.atom;
        let f = self.factor();
        let needed = c.condition;
        let mut best: Option<(bool, bool, f64, usize)> = None;
        for (h, hosp) in self.m.hospitals.iter().enumerate() {
            let eta = g.atom_to_hospital[a * g.hospitals + h] * f;
            if !eta.is_finite() {
                continue;
            }
            let waiting = self.at_hosp[h].len();
            let longest = self.at_hosp[h]
                .iter()
                .map(|&uu| (self.t - self.units[uu].at_hospital_since) / 60.0)
                .fold(0.0, f64::max);
            let key = (
                recommend::designated(hosp, needed),
                recommend::detaining(
                    waiting,
                    hosp.ed_bays,
                    longest,
                    self.m.detention_threshold_min,
                ),
                eta,
                h,
            );
            if best.is_none_or(|b| recommend::hospital_order(key, b).is_lt()) {
                best = Some(key);
            }
        }
        best.map(|b| b.3)
    }

    /// Handover minutes at hospital `h` for call `i`.
    pub(super) fn handover_min(&self, r: &RoadService, h: usize, i: usize) -> f64 {
        let u = &self.call(i).u;
        let base = r.handover_min[h];
        match r.detention {
            None => base.quantile(u[4]) * r.handover_scale,
            Some(mix) => {
                let thr = self.m.detention_threshold_min;
                if u[5] < mix.share {
                    thr + mix.excess_min.quantile(u[6])
                } else if r.handover_scale <= 0.0 {
                    0.0
                } else {
                    let below = base.cdf(thr / r.handover_scale);
                    (base.quantile(u[4] * below) * r.handover_scale).min(thr)
                }
            }
        }
    }

    pub(super) fn start_handover(&mut self, u: usize, h: usize, e: u64) {
        let Service::Road(r) = &self.m.service else {
            return;
        };
        let Some(i) = self.units[u].job else { return };
        self.ed_busy[h] += 1;
        self.units[u].in_bay = true;
        let d = self.handover_min(r, h, i) * 60.0;
        self.at(self.t + d, Ev::HandoverDone(u, e));
    }

    /// Unit `u` at hospital `h` goes for a bay (waits when all are taken) and hands over.
    pub(super) fn seek_bay(&mut self, u: usize, h: usize, e: u64) {
        let bays = self.m.hospitals[h].ed_bays;
        if bays.is_some_and(|b| self.ed_busy[h] >= b as usize) {
            self.ed_wait[h].push_back((u, e));
        } else {
            self.start_handover(u, h, e);
        }
    }

    /// Unit `u` leaves hospital `h` (handover done, or released by the rule).
    pub(super) fn leave_hospital(&mut self, u: usize, h: usize, e: u64) {
        if let Some(i) = self.units[u].job {
            let t = self.t;
            self.rec(i).handover_complete = Some(t);
            if self.units[u].hospital_stretcher {
                self.units[u].hospital_stretcher = false;
                if let Service::Road(r) = &self.m.service {
                    let hold = r.stretcher_hold_min.quantile(self.call(i).u[7]) * 60.0;
                    self.at(t + hold, Ev::StretcherFree(h));
                }
            }
        }
        self.stretcher_wait[h].retain(|&(w, we)| !(w == u && we == e));
        if self.units[u].in_bay {
            self.units[u].in_bay = false;
            self.ed_busy[h] -= 1;
            if let Some((w, we)) = self.ed_wait[h].pop_front() {
                self.start_handover(w, h, we);
            }
        } else {
            self.ed_wait[h].retain(|&(w, we)| !(w == u && we == e));
        }
        self.at_hosp[h].retain(|&x| x != u);
        self.release(u, Loc::Hospital(h));
    }
}
