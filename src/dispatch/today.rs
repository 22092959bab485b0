//! Today's live figures as running sums, so `GET /v1/kpis` costs the same at the first call of
//! the day and at the 100,000th.
//!
//! This module owns the sums: each incident's contribution (reached the scene, its response
//! time, within the target, its turnout, a hospital arrival, detained), computed by the
//! standards' own definitions ([`crate::standards::log`]) on that one incident, and added to
//! its local day. When an incident changes, its old contribution is taken out and the new one
//! put in. It must not define a figure itself: a figure here equals the standards' figure over
//! the day's whole log (tested against it).
//!
//! Cost: O(1) per incident change and per read. Days before yesterday are dropped.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;

use super::IncidentRecord;
use crate::model::TimeZoneSpec;
use crate::standards::DataQuality;
use crate::standards::log::{self, HandoverRules};

/// One incident's part of its day's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Part {
    reached: u64,
    /// Response time, microminutes (integers, so taking a part out is exact).
    response_umin: i64,
    within: u64,
    turnouts: u64,
    turnouts_3min: u64,
    arrivals: u64,
    detained: u64,
}

impl Part {
    fn add(&mut self, o: &Part, sign: i64) {
        let u = |a: &mut u64, b: u64| {
            *a = if sign > 0 {
                *a + b
            } else {
                a.saturating_sub(b)
            }
        };
        u(&mut self.reached, o.reached);
        self.response_umin += sign * o.response_umin;
        u(&mut self.within, o.within);
        u(&mut self.turnouts, o.turnouts);
        u(&mut self.turnouts_3min, o.turnouts_3min);
        u(&mut self.arrivals, o.arrivals);
        u(&mut self.detained, o.detained);
    }
}

/// A day's sums.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DaySums {
    pub calls: u64,
    part: Part,
}

impl DaySums {
    /// Incidents that reached a scene with a valid response time.
    pub fn reached_scene(&self) -> u64 {
        self.part.reached
    }
    /// Mean response time, minutes (`None` before any scene is reached).
    pub fn mean_response_min(&self) -> Option<f64> {
        (self.part.reached > 0)
            .then(|| self.part.response_umin as f64 / 1e6 / self.part.reached as f64)
    }
    /// Share of responses within the target.
    pub fn share_within_target(&self) -> Option<f64> {
        (self.part.reached > 0).then(|| self.part.within as f64 / self.part.reached as f64)
    }
    /// Share of turnouts within 3 minutes.
    pub fn departure_3min_rate(&self) -> Option<f64> {
        (self.part.turnouts > 0).then(|| self.part.turnouts_3min as f64 / self.part.turnouts as f64)
    }
    /// Hospital arrivals with a valid handover time.
    pub fn hospital_arrivals(&self) -> u64 {
        self.part.arrivals
    }
    /// Detained share of those arrivals.
    pub fn detention_rate(&self) -> Option<f64> {
        (self.part.arrivals > 0).then(|| self.part.detained as f64 / self.part.arrivals as f64)
    }
}

/// The running sums per local day.
#[derive(Debug, Clone)]
pub struct Today {
    tz: TimeZoneSpec,
    target_min: f64,
    detention_min: f64,
    parts: HashMap<u64, (NaiveDate, Part)>,
    days: BTreeMap<NaiveDate, DaySums>,
}

impl Today {
    /// Empty sums for time zone `tz`, the response target and the detention threshold
    /// (minutes).
    pub fn new(tz: TimeZoneSpec, target_min: f64, detention_min: f64) -> Today {
        Today {
            tz,
            target_min,
            detention_min,
            parts: HashMap::new(),
            days: BTreeMap::new(),
        }
    }

    /// The incident's part, by the standards' definitions applied to it alone.
    fn part(&self, inc: &IncidentRecord) -> (NaiveDate, Part) {
        let i = inc.to_incident(&self.tz);
        let date = i.call_received.date_naive();
        let one = std::slice::from_ref(&i);
        let mut dq = DataQuality::default();
        let r = log::response_from_log(one, &|_| None, self.target_min, &mut dq);
        let rules = HandoverRules {
            detention_threshold_min: self.detention_min,
            thresholds_min: &crate::standards::targets::DEFAULT_HANDOVER_THRESHOLDS_MIN,
            lost_after_min: crate::standards::targets::DEFAULT_HANDOVER_LOST_AFTER_MIN,
        };
        let d = log::detention_from_log(one, &|h| h.to_string(), &rules, &mut dq);
        let reached = r.reached_scene as u64;
        let part = Part {
            reached,
            response_umin: r
                .samples_min
                .first()
                .map_or(0, |m| (m * 1e6).round() as i64),
            within: r
                .overall
                .as_ref()
                .map_or(0, |g| (g.share_within_target >= 0.5) as u64),
            turnouts: r.turnout_min.as_ref().map_or(0, |_| 1),
            turnouts_3min: r.departure_3min_rate.map_or(0, |x| (x >= 0.5) as u64),
            arrivals: d.arrivals as u64,
            detained: d.detained as u64,
        };
        (date, part)
    }

    /// Puts in the incident as it is now (taking out what it was before).
    pub fn update(&mut self, inc: &IncidentRecord) {
        let (date, part) = self.part(inc);
        // A day already dropped stays dropped.
        if let Some(first) = self.days.keys().next()
            && date < *first
            && self.days.len() >= 2
        {
            return;
        }
        if let Some((old_date, old)) = self.parts.insert(inc.id, (date, part))
            && let Some(d) = self.days.get_mut(&old_date)
        {
            d.part.add(&old, -1);
            d.calls = d.calls.saturating_sub(1);
        }
        let d = self.days.entry(date).or_default();
        d.part.add(&part, 1);
        d.calls += 1;
        // Keep today and yesterday (by the newest day seen).
        while self.days.len() > 2 {
            let Some((&old, _)) = self.days.iter().next() else {
                break;
            };
            self.days.remove(&old);
            self.parts.retain(|_, (d, _)| *d != old);
        }
    }

    /// The sums of local day `date` (zero when it had no calls).
    pub fn day(&self, date: NaiveDate) -> DaySums {
        self.days.get(&date).copied().unwrap_or_default()
    }
}
