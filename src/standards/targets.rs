//! Target sets: the thresholds a check compares against, as TOML files with built-in presets.
//!
//! This module owns parsing and validating target files. It must not compute any indicator.
//! A target that a file leaves out is reported without a pass/fail verdict.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The built-in presets: `(id, TOML text)`.
pub const PRESETS: &[(&str, &str)] = &[
    ("shanghai-2020", include_str!("presets/shanghai-2020.toml")),
    (
        "china-2020-national",
        include_str!("presets/china-2020-national.toml"),
    ),
];

/// The default preset.
pub const DEFAULT_PRESET: &str = "shanghai-2020";

/// A set of targets. Every threshold is optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Targets {
    pub id: String,
    pub name: String,
    /// Official service radius `sqrt(A / (π N))` must be at most this, km.
    pub service_radius_km: Option<f64>,
    /// At least one ambulance per this many residents.
    pub residents_per_ambulance: Option<f64>,
    /// Detention rate must be below this share (0..1).
    pub detention_rate_max: Option<f64>,
    /// A handover longer than this many minutes counts as detention (default 10).
    #[serde(default = "default_detention_threshold")]
    pub detention_threshold_min: f64,
    /// Handover thresholds the distribution is counted against, minutes (NHS: 15, 30, 60;
    /// "release within 45").
    #[serde(default = "default_handover_thresholds")]
    pub handover_thresholds_min: Vec<f64>,
    /// Hours lost: handover time beyond this many minutes (NHS: 15).
    #[serde(default = "default_lost_after")]
    pub handover_lost_after_min: f64,
    /// Mean response time must be at most this, minutes.
    pub mean_response_min: Option<f64>,
    /// Share of turnouts (dispatched -> departed) within 3 minutes must be at least this.
    pub departure_3min_rate_min: Option<f64>,
    /// Share of negative-pressure ambulances must be at least this.
    pub negative_pressure_share_min: Option<f64>,
}

fn default_detention_threshold() -> f64 {
    10.0
}

/// The handover thresholds when a targets file gives none, minutes (NHS: 15, 30, 60; 45).
pub const DEFAULT_HANDOVER_THRESHOLDS_MIN: [f64; 4] = [15.0, 30.0, 45.0, 60.0];

/// Lost hours count handover time beyond this when a targets file does not say, minutes.
pub const DEFAULT_HANDOVER_LOST_AFTER_MIN: f64 = 15.0;

fn default_handover_thresholds() -> Vec<f64> {
    DEFAULT_HANDOVER_THRESHOLDS_MIN.to_vec()
}

fn default_lost_after() -> f64 {
    DEFAULT_HANDOVER_LOST_AFTER_MIN
}

/// A target file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    /// Neither a preset name nor a readable file: check the spelling or the path.
    #[error("targets `{0}`: not a preset ({presets}) and not a readable file: {1}", presets = PRESETS.iter().map(|p| p.0).collect::<Vec<_>>().join(", "))]
    NotFound(String, std::io::Error),
    /// The TOML does not parse or has an unknown key; the message gives the line.
    #[error("{path}: invalid targets TOML: {message}")]
    Toml { path: String, message: String },
    /// A threshold is out of range.
    #[error("{path}: `{field}` = {value}: {message}")]
    Value {
        path: String,
        field: &'static str,
        value: f64,
        message: &'static str,
    },
}

impl Targets {
    /// Parses a targets TOML text.
    pub fn from_toml(text: &str, path: &str) -> Result<Targets, TargetsError> {
        let t: Targets = toml::from_str(text).map_err(|e| TargetsError::Toml {
            path: path.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let bad = |field, value, message| TargetsError::Value {
            path: path.to_string(),
            field,
            value,
            message,
        };
        let positive = [
            ("service_radius_km", t.service_radius_km),
            ("residents_per_ambulance", t.residents_per_ambulance),
            ("mean_response_min", t.mean_response_min),
            ("detention_threshold_min", Some(t.detention_threshold_min)),
            ("handover_lost_after_min", Some(t.handover_lost_after_min)),
        ];
        for (field, v) in positive {
            if let Some(v) = v
                && !(v.is_finite() && v > 0.0)
            {
                return Err(bad(field, v, "must be a positive number"));
            }
        }
        for v in &t.handover_thresholds_min {
            if !(v.is_finite() && *v > 0.0) {
                return Err(bad(
                    "handover_thresholds_min",
                    *v,
                    "every threshold must be a positive number of minutes",
                ));
            }
        }
        let shares = [
            ("detention_rate_max", t.detention_rate_max),
            ("departure_3min_rate_min", t.departure_3min_rate_min),
            ("negative_pressure_share_min", t.negative_pressure_share_min),
        ];
        for (field, v) in shares {
            if let Some(v) = v
                && !(0.0..=1.0).contains(&v)
            {
                return Err(bad(
                    field,
                    v,
                    "must be a share between 0 and 1 (2.5 % is 0.025)",
                ));
            }
        }
        Ok(t)
    }

    /// A preset by name, or a TOML file by path.
    pub fn load(spec: &str) -> Result<Targets, TargetsError> {
        if let Some((id, text)) = PRESETS.iter().find(|p| p.0 == spec) {
            return Targets::from_toml(text, &format!("preset {id}"));
        }
        let text = std::fs::read_to_string(Path::new(spec))
            .map_err(|e| TargetsError::NotFound(spec.to_string(), e))?;
        Targets::from_toml(&text, spec)
    }

    /// The default preset (`shanghai-2020`).
    pub fn default_preset() -> Targets {
        Targets::load(DEFAULT_PRESET).expect("built-in preset parses")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse() {
        for (id, _) in PRESETS {
            let t = Targets::load(id).unwrap();
            assert_eq!(&t.id, id);
        }
        let sh = Targets::default_preset();
        assert_eq!(sh.service_radius_km, Some(3.5));
        assert_eq!(sh.detention_rate_max, Some(0.025));
        assert_eq!(
            Targets::load("china-2020-national")
                .unwrap()
                .service_radius_km,
            Some(5.0)
        );
    }

    #[test]
    fn bad_targets_are_named() {
        let e = Targets::from_toml(
            "id = \"x\"\nname = \"y\"\ndetention_rate_max = 2.5\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("t.toml: `detention_rate_max` = 2.5"),
            "{e}"
        );
        let e = Targets::from_toml("id = \"x\"\nname = \"y\"\nradius = 3\n", "t.toml").unwrap_err();
        assert!(e.to_string().contains("unknown field `radius`"), "{e}");
        let e = Targets::load("no-such-preset").unwrap_err();
        assert!(e.to_string().contains("shanghai-2020"), "{e}");
    }
}
