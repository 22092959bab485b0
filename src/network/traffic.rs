//! Time-of-day traffic profiles: a travel-time factor against free flow per road class and
//! local hour of the day.
//!
//! This module owns the profile file, its validation and the factor for a class at an hour. It
//! must not route: [`super::TravelModel::at_hour`] applies a profile to the query graph, and
//! `ems calibrate` (in [`crate::standards::calibrate`]) fits one to an incident log.
//!
//! # The file
//! ```toml
//! name = "weekdays"
//! # Travel-time factor against free flow (1.0 = the speed profile's free-flow times, 1.5 = 50 %
//! # longer), for calls in local hours 0, 1, ..., 23: exactly 24 positive numbers.
//! by_hour = [1.0, 1.0, 1.0, 1.0, 1.0, 1.05, 1.2, 1.45, 1.5, 1.3, 1.2, 1.2,
//!            1.2, 1.2, 1.2, 1.25, 1.35, 1.5, 1.45, 1.25, 1.1, 1.05, 1.0, 1.0]
//! # Optional: a class's own 24 factors, used instead of `by_hour` on that class.
//! [by_class]
//! primary = [1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.6, 1.7, 1.4, 1.3, 1.3,
//!            1.3, 1.3, 1.3, 1.35, 1.5, 1.7, 1.6, 1.35, 1.15, 1.1, 1.0, 1.0]
//! ```
//! Without `by_hour`, `by_class` must list every routed class (a missing class is an error, not
//! free flow). The off-road leg (walking from the road to the door) is multiplied by `by_hour`
//! too, so a profile with `by_hour` only scales every time by the same factor; without
//! `by_hour` it keeps its free-flow time.
//!
//! Hours are the local hours of the scenario's time zone. Hour of the week (weekday against
//! weekend) is not modelled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::tags::RoadClass;

/// A traffic profile: travel-time factors by road class and local hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrafficProfile {
    /// A label for reports.
    pub name: String,
    /// Factors for every class without its own, by local hour (`None`: every class has its own).
    pub by_hour: Option<[f64; 24]>,
    /// Factors of single classes, by local hour.
    pub by_class: BTreeMap<RoadClass, [f64; 24]>,
}

/// The file as written; checked into a [`TrafficProfile`] by [`TrafficProfile::parse`].
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct TrafficFile {
    name: Option<String>,
    by_hour: Option<Vec<f64>>,
    #[serde(default)]
    by_class: BTreeMap<String, Vec<f64>>,
}

/// Why a traffic profile file cannot be used. Each names the file and the key to check.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrafficError {
    /// The file is not valid TOML or has an unknown key.
    #[error("{path}: invalid traffic profile TOML: {message}")]
    Toml { path: String, message: String },
    /// A list of factors does not have one entry per hour.
    #[error("{path}: `{key}` has {found} factors; it needs 24, one per local hour 0..23")]
    Hours {
        path: String,
        key: String,
        found: usize,
    },
    /// A factor is zero, negative or not a number.
    #[error("{path}: `{key}[{hour}]` = {value}: a factor must be a positive finite number")]
    NotPositive {
        path: String,
        key: String,
        hour: usize,
        value: f64,
    },
    /// `by_class` names something that is not a routed road class.
    #[error(
        "{path}: `by_class.{class}`: unknown road class; expected one of {}",
        RoadClass::ALL.map(|c| c.as_str()).join(", ")
    )]
    UnknownClass { path: String, class: String },
    /// Without `by_hour`, a class has no factors.
    #[error(
        "{path}: no `by_hour` and no `by_class.{class}`: without `by_hour`, every road class \
         needs its own factors"
    )]
    MissingClass { path: String, class: String },
}

impl TrafficProfile {
    /// Parses and checks a profile file's text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<TrafficProfile, TrafficError> {
        let file: TrafficFile = toml::from_str(text).map_err(|e| TrafficError::Toml {
            path: path.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let hours = |key: String, v: &[f64]| -> Result<[f64; 24], TrafficError> {
            let arr: [f64; 24] = v.try_into().map_err(|_| TrafficError::Hours {
                path: path.to_string(),
                key: key.clone(),
                found: v.len(),
            })?;
            if let Some((hour, &value)) = arr
                .iter()
                .enumerate()
                .find(|(_, f)| !(f.is_finite() && **f > 0.0))
            {
                return Err(TrafficError::NotPositive {
                    path: path.to_string(),
                    key,
                    hour,
                    value,
                });
            }
            Ok(arr)
        };
        let by_hour = file
            .by_hour
            .as_deref()
            .map(|v| hours("by_hour".into(), v))
            .transpose()?;
        let mut by_class = BTreeMap::new();
        for (k, v) in &file.by_class {
            let class = RoadClass::from_highway(k).ok_or_else(|| TrafficError::UnknownClass {
                path: path.to_string(),
                class: k.clone(),
            })?;
            by_class.insert(class, hours(format!("by_class.{k}"), v)?);
        }
        if by_hour.is_none()
            && let Some(c) = RoadClass::ALL.iter().find(|c| !by_class.contains_key(c))
        {
            return Err(TrafficError::MissingClass {
                path: path.to_string(),
                class: c.as_str().to_string(),
            });
        }
        Ok(TrafficProfile {
            name: file.name.unwrap_or_else(|| path.to_string()),
            by_hour,
            by_class,
        })
    }

    /// The profile as a file [`TrafficProfile::parse`] reads back.
    pub fn to_toml(&self) -> String {
        let round = |a: &[f64; 24]| a.iter().map(|f| (f * 1e4).round() / 1e4).collect();
        let file = TrafficFile {
            name: Some(self.name.clone()),
            by_hour: self.by_hour.as_ref().map(round),
            by_class: self
                .by_class
                .iter()
                .map(|(c, a)| (c.as_str().to_string(), round(a)))
                .collect(),
        };
        toml::to_string(&file).unwrap_or_default()
    }

    /// The travel-time factor of `class` at local `hour` (0..23; other values wrap).
    pub fn factor(&self, class: RoadClass, hour: usize) -> f64 {
        let h = hour % 24;
        match (self.by_class.get(&class), &self.by_hour) {
            (Some(a), _) => a[h],
            (None, Some(a)) => a[h],
            (None, None) => 1.0,
        }
    }

    /// The factor of the off-road leg (and of classes without their own) at `hour`.
    pub fn hour_factor(&self, hour: usize) -> f64 {
        self.by_hour.map_or(1.0, |a| a[hour % 24])
    }

    /// The single factor every class has at `hour`, if they all share one (then every travel
    /// time at that hour is the free-flow time times it).
    pub fn uniform_at(&self, hour: usize) -> Option<f64> {
        let f = self.factor(RoadClass::ALL[0], hour);
        RoadClass::ALL
            .iter()
            .all(|c| self.factor(*c, hour) == f)
            .then_some(f)
            .filter(|f| *f == self.hour_factor(hour))
    }

    /// Whether the profile is free flow at every hour.
    pub fn is_free_flow(&self) -> bool {
        (0..24).all(|h| self.uniform_at(h) == Some(1.0))
    }

    /// Hours with the same factors on every class, grouped: each group's hours share one travel
    /// model. Hours in ascending order within and across groups.
    pub fn bands(&self) -> Vec<Vec<usize>> {
        let key = |h: usize| -> Vec<u64> {
            RoadClass::ALL
                .iter()
                .map(|c| self.factor(*c, h).to_bits())
                .chain([self.hour_factor(h).to_bits()])
                .collect()
        };
        let mut bands: Vec<(Vec<u64>, Vec<usize>)> = Vec::new();
        for h in 0..24 {
            let k = key(h);
            match bands.iter_mut().find(|(x, _)| *x == k) {
                Some((_, hs)) => hs.push(h),
                None => bands.push((k, vec![h])),
            }
        }
        bands.into_iter().map(|(_, hs)| hs).collect()
    }
}

/// How one hour's travel times follow from the free-flow times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HourTimes {
    /// Every class shares this factor: the free-flow times times it.
    Scaled(f64),
    /// The times of the `k`-th representative hour of [`TrafficProfile::hour_plan`], whose
    /// graph must be re-weighted (`TravelModel::at_hour`).
    Own(usize),
}

impl TrafficProfile {
    /// Each hour's [`HourTimes`], and the representative hour of each band that needs its own
    /// re-weighted graph (one per band of equal hours): the one rule by which the check, the
    /// optimizer, the simulator and the calibration turn a profile into travel times. With
    /// `exempt_roads` (the speed profile keeps some roads, bus lanes, at free flow when the
    /// factor is above 1: `TravelModel::has_exempt_roads`), an hour whose shared factor is
    /// above 1 needs its own graph too, since scaling would slow the exempt roads.
    pub fn hour_plan(&self, exempt_roads: bool) -> ([HourTimes; 24], Vec<usize>) {
        let mut plan = [HourTimes::Scaled(1.0); 24];
        let mut own = Vec::new();
        for band in self.bands() {
            let shared = self
                .uniform_at(band[0])
                .filter(|f| !exempt_roads || *f <= 1.0);
            let times = match shared {
                Some(f) => HourTimes::Scaled(f),
                None => {
                    own.push(band[0]);
                    HourTimes::Own(own.len() - 1)
                }
            };
            band.iter().for_each(|&h| plan[h] = times);
        }
        (plan, own)
    }
}

/// Which hours an analysis models: one local hour, or an average over the day weighted by
/// call volume per hour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Hours {
    /// One local hour, 0..23.
    Hour { hour: usize },
    /// Every hour, weighted by the share of calls in it (sums to 1).
    Weighted {
        weights: [f64; 24],
        /// Where the weights come from (`incident log`, `simulation.hour_profile`, `uniform`).
        source: &'static str,
    },
}

impl Default for Hours {
    /// Every hour alike.
    fn default() -> Self {
        Hours::Weighted {
            weights: [1.0 / 24.0; 24],
            source: "uniform",
        }
    }
}

impl Hours {
    /// The weight of each hour (one hour: 1 there, 0 elsewhere); sums to 1.
    pub fn weights(&self) -> [f64; 24] {
        match self {
            Hours::Hour { hour } => {
                let mut w = [0.0; 24];
                w[hour % 24] = 1.0;
                w
            }
            Hours::Weighted { weights, .. } => *weights,
        }
    }

    /// Weights from call counts (or relative volumes) per hour; uniform when they are all 0 or
    /// any is not a finite non-negative number.
    pub fn weighted(counts: &[f64; 24], source: &'static str) -> Hours {
        let total: f64 = counts.iter().sum();
        if !(total.is_finite() && total > 0.0) || counts.iter().any(|c| *c < 0.0) {
            return Hours::default();
        }
        Hours::Weighted {
            weights: counts.map(|c| c / total),
            source,
        }
    }

    /// One line for reports.
    pub fn describe(&self) -> String {
        match self {
            Hours::Hour { hour } => format!("local hour {hour}:00-{hour}:59"),
            Hours::Weighted { source, .. } => {
                format!("mean over the 24 local hours weighted by call volume ({source})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(f: f64) -> String {
        format!("[{}]", vec![f.to_string(); 24].join(", "))
    }

    #[test]
    fn parses_and_round_trips() {
        let text = format!(
            "name = \"x\"\nby_hour = {}\n[by_class]\nprimary = {}\n",
            hours(1.5),
            hours(2.0)
        );
        let p = TrafficProfile::parse(&text, "t.toml").unwrap();
        assert_eq!(p.factor(RoadClass::Primary, 8), 2.0);
        assert_eq!(p.factor(RoadClass::Residential, 8), 1.5);
        assert_eq!(p.uniform_at(3), None);
        assert_eq!(TrafficProfile::parse(&p.to_toml(), "t.toml").unwrap(), p);
        assert_eq!(p.bands().len(), 1);
    }

    #[test]
    fn bad_files_name_the_key() {
        let e = TrafficProfile::parse("by_hour = [1.0, 2.0]", "t.toml").unwrap_err();
        assert!(e.to_string().contains("`by_hour` has 2 factors"), "{e}");
        let mut v = vec!["1.0".to_string(); 24];
        v[7] = "0".into();
        let e = TrafficProfile::parse(&format!("by_hour = [{}]", v.join(",")), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml: `by_hour[7]` = 0"), "{e}");
        let e = TrafficProfile::parse(&format!("[by_class]\nfootway = {}", hours(1.0)), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`by_class.footway`: unknown road class"), "{e}");
        let e = TrafficProfile::parse(&format!("[by_class]\nprimary = {}", hours(1.0)), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("no `by_hour` and no `by_class.motorway`"), "{e}");
        let e = TrafficProfile::parse("speed = 3", "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("t.toml: invalid traffic profile TOML"), "{e}");
    }

    #[test]
    fn bands_group_equal_hours() {
        let mut v = vec!["1.0".to_string(); 24];
        v[8] = "1.5".into();
        v[17] = "1.5".into();
        v[18] = "1.2".into();
        let p = TrafficProfile::parse(&format!("by_hour = [{}]", v.join(",")), "t").unwrap();
        let b = p.bands();
        assert_eq!(b.len(), 3);
        assert_eq!(b[1], vec![8, 17]);
        assert_eq!(p.uniform_at(18), Some(1.2));
    }
}
