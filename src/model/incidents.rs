//! The incident log CSV: one row per call, with the timestamps the standards check reads.
//!
//! This module owns the column set and its validation. It must not compute response times or
//! rates (that is the standards check); it guarantees that what it returns is well formed.
//!
//! Columns (header row required, order free, extra columns ignored):
//! `id`, `call_received`, `dispatched`, `departed`, `on_scene`, `at_hospital`,
//! `handover_complete`, `priority`, `unit`, `hospital`, `lon`, `lat`, and optionally `condition`
//! and `zone`. Only `id`, `call_received`, `priority`, `lon` and `lat` must be filled; the other
//! stages are empty when the call did not reach them. Timestamps are RFC 3339
//! (`2024-03-01T08:15:30+08:00`) or local time without an offset (`2024-03-01 08:15:30`, read as
//! written; only differences are used). Stages that are filled must not go back in time.

use std::io::Read;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};

use super::ModelError;

/// One call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: String,
    pub call_received: DateTime<FixedOffset>,
    pub dispatched: Option<DateTime<FixedOffset>>,
    pub departed: Option<DateTime<FixedOffset>>,
    pub on_scene: Option<DateTime<FixedOffset>>,
    pub at_hospital: Option<DateTime<FixedOffset>>,
    pub handover_complete: Option<DateTime<FixedOffset>>,
    /// 1 is the most urgent.
    pub priority: u8,
    pub unit: Option<String>,
    pub hospital: Option<String>,
    pub lon_lat: [f64; 2],
    pub condition: Option<String>,
    pub zone: Option<String>,
}

/// The stage columns, in the order they must occur in time.
pub const STAGES: [&str; 6] = [
    "call_received",
    "dispatched",
    "departed",
    "on_scene",
    "at_hospital",
    "handover_complete",
];

/// Parses a timestamp in one of the accepted forms.
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return FixedOffset::east_opt(0)?.from_local_datetime(&n).single();
        }
    }
    None
}

/// Reads an incident CSV file.
pub fn read_incidents(path: &std::path::Path) -> Result<Vec<Incident>, ModelError> {
    let f = std::fs::File::open(path).map_err(|e| ModelError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    parse_incidents(f, &path.display().to_string())
}

/// Parses incident CSV from a reader (`path` names it in messages).
pub fn parse_incidents<R: Read>(reader: R, path: &str) -> Result<Vec<Incident>, ModelError> {
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(reader);
    let err = |line: u64, field: &str, message: String| ModelError::Csv {
        path: path.to_string(),
        line,
        field: field.to_string(),
        message,
    };
    let headers = rdr
        .headers()
        .map_err(|e| err(1, "header", e.to_string()))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    for required in ["id", "call_received", "priority", "lon", "lat"] {
        if col(required).is_none() {
            return Err(err(1, required, "missing column".into()));
        }
    }
    let cols: Vec<Option<usize>> = STAGES.iter().map(|s| col(s)).collect();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            err(line, "row", e.to_string())
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let get = |name: &str| col(name).and_then(|i| rec.get(i)).filter(|s| !s.is_empty());
        let id = get("id")
            .ok_or_else(|| err(line, "id", "empty".into()))?
            .to_string();
        if !seen.insert(id.clone()) {
            return Err(err(line, "id", format!("duplicate id `{id}`")));
        }
        let mut times: Vec<Option<DateTime<FixedOffset>>> = Vec::with_capacity(6);
        for (stage, c) in STAGES.iter().zip(&cols) {
            let v = c.and_then(|i| rec.get(i)).filter(|s| !s.is_empty());
            times.push(match v {
                None => None,
                Some(s) => Some(parse_timestamp(s).ok_or_else(|| {
                    err(line, stage, format!("`{s}` is not a timestamp (use 2024-03-01T08:15:30+08:00 or 2024-03-01 08:15:30)"))
                })?),
            });
        }
        let call_received = times[0].ok_or_else(|| err(line, "call_received", "empty".into()))?;
        let mut last = (STAGES[0], call_received);
        for (stage, t) in STAGES.iter().zip(&times).skip(1) {
            if let Some(t) = t {
                if *t < last.1 {
                    return Err(err(
                        line,
                        stage,
                        format!("{t} is before {} ({})", last.0, last.1),
                    ));
                }
                last = (stage, *t);
            }
        }
        let num = |name: &str| -> Result<f64, ModelError> {
            let s = get(name).ok_or_else(|| err(line, name, "empty".into()))?;
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| err(line, name, format!("`{s}` is not a number")))
        };
        let (lon, lat) = (num("lon")?, num("lat")?);
        if !(-180.0..=180.0).contains(&lon) {
            return Err(err(line, "lon", format!("{lon} is outside -180..180")));
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(err(line, "lat", format!("{lat} is outside -90..90")));
        }
        let p = get("priority").ok_or_else(|| err(line, "priority", "empty".into()))?;
        let priority = p
            .parse::<u8>()
            .ok()
            .filter(|v| (1..=9).contains(v))
            .ok_or_else(|| {
                err(
                    line,
                    "priority",
                    format!("`{p}` is not an integer 1..9 (1 = most urgent)"),
                )
            })?;
        let opt = |name: &str| get(name).map(str::to_string);
        out.push(Incident {
            id,
            call_received,
            dispatched: times[1],
            departed: times[2],
            on_scene: times[3],
            at_hospital: times[4],
            handover_complete: times[5],
            priority,
            unit: opt("unit"),
            hospital: opt("hospital"),
            lon_lat: [lon, lat],
            condition: opt("condition"),
            zone: opt("zone"),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "id,call_received,dispatched,departed,on_scene,at_hospital,handover_complete,priority,unit,hospital,lon,lat\n";

    #[test]
    fn parses_a_full_row() {
        let csv = format!(
            "{HEAD}1,2024-03-01 08:00:00,2024-03-01 08:01:00,2024-03-01 08:02:30,2024-03-01T08:10:00+00:00,,,1,A1,,7.42,43.73\n"
        );
        let v = parse_incidents(csv.as_bytes(), "x.csv").unwrap();
        assert_eq!(v.len(), 1);
        let i = &v[0];
        assert_eq!((i.on_scene.unwrap() - i.call_received).num_seconds(), 600);
        assert!(i.at_hospital.is_none());
    }

    #[test]
    fn errors_name_line_and_field() {
        let csv = format!(
            "{HEAD}1,2024-03-01 08:00:00,,,,,,1,,,7.42,43.73\n2,2024-03-01 08:00:00,2024-03-01 07:00:00,,,,,1,,,7.42,43.73\n"
        );
        let e = parse_incidents(csv.as_bytes(), "x.csv")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x.csv:3: field `dispatched`"), "{e}");
        let csv = format!("{HEAD}1,yesterday,,,,,,1,,,7.42,43.73\n");
        let e = parse_incidents(csv.as_bytes(), "x.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.csv:2: field `call_received`"), "{e}");
        let csv = format!("{HEAD}1,2024-03-01 08:00:00,,,,,,1,,,7.42,430\n");
        let e = parse_incidents(csv.as_bytes(), "x.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("field `lat`"), "{e}");
        let e = parse_incidents("id,lon\n".as_bytes(), "x.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("field `call_received`: missing column"), "{e}");
    }
}
