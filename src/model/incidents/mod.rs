//! Incident logs: our own CSV format, and other systems' exports read through a column
//! [`mapping`] (DataSF, NEMSIS v3, NYC EMS, Chinese 120 centres, or a mapping file).
//!
//! This module owns the column set, the mappings and their validation. It must not compute
//! response times or rates (that is the standards check); it guarantees that what it returns is
//! well formed.
//!
//! Our own format's columns (header row required, order free, extra columns ignored):
//! `id`, `call_received`, `dispatched`, `departed`, `on_scene`, `at_hospital`,
//! `handover_complete`, `priority`, `unit`, `hospital`, `lon`, `lat`, and optionally `condition`,
//! `zone`, `left_scene` and `available`. Only `id`, `call_received`, `priority`, `lon` and `lat` must be filled; the other
//! stages are empty when the call did not reach them. Timestamps are RFC 3339
//! (`2024-03-01T08:15:30+08:00`, the offset is honoured) or local time without an offset
//! (`2024-03-01 08:15:30`), which is read in the scenario's time zone ([`TimeZoneSpec`]).
//! Stages that go back in time are kept as written: real logs have them, and the standards check
//! excludes such rows from the metric they affect and lists them.

use std::io::Read;

pub mod mapping;
pub mod read;

pub use mapping::{FilterArg, Mapping, MappingArg, MappingError};
pub use read::{LogOptions, parse_log, read_log};

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use serde::{Deserialize, Serialize};

use super::ModelError;

/// One call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// CSV line of the row (the header is line 1), for data-quality listings.
    pub line: u64,
    pub id: String,
    pub call_received: DateTime<FixedOffset>,
    pub dispatched: Option<DateTime<FixedOffset>>,
    pub departed: Option<DateTime<FixedOffset>>,
    pub on_scene: Option<DateTime<FixedOffset>>,
    pub at_hospital: Option<DateTime<FixedOffset>>,
    pub handover_complete: Option<DateTime<FixedOffset>>,
    /// Left the scene (with the patient, when transported).
    #[serde(default)]
    pub left_scene: Option<DateTime<FixedOffset>>,
    /// The transporting (or responding) ambulance back in service.
    #[serde(default)]
    pub available: Option<DateTime<FixedOffset>>,
    /// 1 is the most urgent.
    pub priority: u8,
    pub unit: Option<String>,
    pub hospital: Option<String>,
    /// WGS 84; `None` for logs that give zones instead of coordinates.
    pub lon_lat: Option<[f64; 2]>,
    /// Where the responding ambulance set off from (its last known position when it departed,
    /// as the live server's log records it; WGS 84), where the log has it.
    #[serde(default)]
    pub start_lon_lat: Option<[f64; 2]>,
    pub condition: Option<String>,
    pub zone: Option<String>,
    /// Units (rows) of this incident in a log with one row per unit; 1 otherwise.
    #[serde(default = "one")]
    pub units: u32,
    /// Of which ambulances.
    #[serde(default = "one")]
    pub ambulances: u32,
    /// A unit that is not an ambulance and reached the scene before the first ambulance (or
    /// when no ambulance did).
    #[serde(default)]
    pub first_on_scene_other: Option<OtherUnit>,
}

fn one() -> u32 {
    1
}

/// A non-ambulance unit on scene first: an engine, a chief, a first responder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OtherUnit {
    pub unit: Option<String>,
    /// Its type as the log writes it (`ENGINE`, ...), where the mapping has an ambulance rule.
    pub kind: Option<String>,
    pub on_scene: DateTime<FixedOffset>,
}

impl Incident {
    /// A call with nothing but its time, place and priority (the simulator's and the API's).
    pub fn call(
        id: String,
        call_received: DateTime<FixedOffset>,
        priority: u8,
        lon_lat: [f64; 2],
    ) -> Incident {
        Incident {
            line: 0,
            id,
            call_received,
            dispatched: None,
            departed: None,
            on_scene: None,
            at_hospital: None,
            handover_complete: None,
            left_scene: None,
            available: None,
            priority,
            unit: None,
            hospital: None,
            lon_lat: Some(lon_lat),
            start_lon_lat: None,
            condition: None,
            zone: None,
            units: 1,
            ambulances: 1,
            first_on_scene_other: None,
        }
    }
}

/// One unit's stage times on an incident, for [`lead_units`]; generic over the time type so
/// the log reader and the live fleet share one rule.
#[derive(Debug, Clone, Copy)]
pub struct UnitStages<T> {
    /// An ambulance (not an engine, a chief, ...).
    pub ambulance: bool,
    pub dispatched: Option<T>,
    pub on_scene: Option<T>,
    pub left_scene: Option<T>,
    pub at_hospital: Option<T>,
}

/// Which of an incident's units speak for it, as indices into `units`: `first`, the first
/// ambulance on scene, else the first dispatched, else the first ambulance (its call handling,
/// turnout and travel make the response); `transport`, the ambulance with the earliest hospital
/// arrival, else the earliest to leave the scene with a patient (its hospital stages make the
/// handover). Both are `None` without ambulances. Ties go to the earlier entry. O(units).
pub fn lead_units<T: Ord + Copy>(units: &[UnitStages<T>]) -> (Option<usize>, Option<usize>) {
    let amb = || units.iter().enumerate().filter(|(_, u)| u.ambulance);
    let first = amb()
        .filter_map(|(k, u)| u.on_scene.map(|t| (t, k)))
        .min()
        .or_else(|| {
            amb()
                .filter_map(|(k, u)| u.dispatched.map(|t| (t, k)))
                .min()
        })
        .map(|(_, k)| k)
        .or_else(|| amb().map(|(k, _)| k).next());
    let transport = amb()
        .filter_map(|(k, u)| u.at_hospital.or(u.left_scene).map(|t| (t, k)))
        .min()
        .map(|(_, k)| k);
    (first, transport)
}

/// Every column, in the order [`write_incidents`] writes them.
pub const COLUMNS: [&str; 14] = [
    "id",
    "call_received",
    "dispatched",
    "departed",
    "on_scene",
    "at_hospital",
    "handover_complete",
    "priority",
    "unit",
    "hospital",
    "lon",
    "lat",
    "condition",
    "zone",
];

/// Columns [`write_incidents`] writes after [`COLUMNS`] (the synthetic log does not).
pub const EXTRA_COLUMNS: [&str; 4] = ["left_scene", "available", "start_lon", "start_lat"];

/// The stage columns, in the order they should occur in time.
pub const STAGES: [&str; 6] = [
    "call_received",
    "dispatched",
    "departed",
    "on_scene",
    "at_hospital",
    "handover_complete",
];

/// The time zone for timestamps written without an offset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TimeZoneSpec {
    /// A fixed offset such as `+08:00` (or `UTC`).
    Fixed(FixedOffset),
    /// An IANA zone such as `Asia/Shanghai` or `Europe/Monaco`, with its daylight-saving rules.
    Iana(chrono_tz::Tz),
}

impl Default for TimeZoneSpec {
    fn default() -> Self {
        TimeZoneSpec::Fixed(FixedOffset::east_opt(0).expect("zero offset"))
    }
}

impl TimeZoneSpec {
    /// Parses `UTC`, `Z`, `+08:00`, `-0500` or an IANA name.
    pub fn parse(s: &str) -> Option<TimeZoneSpec> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Some(TimeZoneSpec::default());
        }
        if let Some(sign) = s.chars().next().filter(|c| *c == '+' || *c == '-') {
            let digits: String = s[1..].chars().filter(|c| c.is_ascii_digit()).collect();
            if digits.len() != 4 && digits.len() != 2 {
                return None;
            }
            let h: i32 = digits[..2].parse().ok()?;
            let m: i32 = if digits.len() == 4 {
                digits[2..].parse().ok()?
            } else {
                0
            };
            let secs = (h * 3600 + m * 60) * if sign == '-' { -1 } else { 1 };
            return FixedOffset::east_opt(secs).map(TimeZoneSpec::Fixed);
        }
        s.parse::<chrono_tz::Tz>().ok().map(TimeZoneSpec::Iana)
    }

    /// An instant as local time in this zone.
    pub fn from_utc(&self, t: DateTime<chrono::Utc>) -> DateTime<FixedOffset> {
        match self {
            TimeZoneSpec::Fixed(o) => t.with_timezone(o),
            TimeZoneSpec::Iana(tz) => t.with_timezone(tz).fixed_offset(),
        }
    }

    /// Places a naive local time in this zone. In a daylight-saving fold the earlier instant is
    /// taken; a time inside a daylight-saving gap does not exist and gives `None`.
    pub fn localize(&self, n: &NaiveDateTime) -> Option<DateTime<FixedOffset>> {
        match self {
            TimeZoneSpec::Fixed(o) => o.from_local_datetime(n).earliest(),
            TimeZoneSpec::Iana(tz) => tz
                .from_local_datetime(n)
                .earliest()
                .map(|t| t.fixed_offset()),
        }
    }
}

/// Parses a timestamp: RFC 3339 with its own offset, or a naive local time in `tz`.
pub fn parse_timestamp(s: &str, tz: &TimeZoneSpec) -> Option<DateTime<FixedOffset>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t);
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y/%m/%d %H:%M:%S",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return tz.localize(&n);
        }
    }
    None
}

/// How to read an incident log.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ParseOptions {
    /// Zone for timestamps without an offset.
    pub timezone: TimeZoneSpec,
    /// Record unparseable rows in [`IncidentLog::invalid`] instead of failing on the first.
    pub skip_invalid: bool,
}

/// A row that could not be parsed (kept only with [`ParseOptions::skip_invalid`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvalidRow {
    pub line: u64,
    pub field: String,
    pub message: String,
}

/// Rows left out for one reason (a filter), with the first lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub reason: String,
    pub count: u64,
    /// The first [`Skipped::LISTED`] lines.
    pub lines: Vec<u64>,
}

impl Skipped {
    pub const LISTED: usize = 5;
}

/// How the rows of a log with one row per unit were used.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UnitRows {
    /// Rows grouped into incidents.
    pub rows: u64,
    pub ambulance_rows: u64,
    /// Engines, chiefs, ...: counted per incident, not used for response or transport.
    pub other_rows: u64,
    /// Non-ambulance rows with transport or hospital times (left out of the transport figures).
    pub other_rows_with_hospital_times: u64,
}

/// A parsed log: the incidents, and the rows that could not be read or were left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IncidentLog {
    pub incidents: Vec<Incident>,
    pub invalid: Vec<InvalidRow>,
    /// Data rows in the file (kept + filtered out + invalid).
    pub rows: u64,
    /// Rows the mapping's filters left out, by reason.
    pub skipped: Vec<Skipped>,
    /// How the log was read (mapping, zone, coordinate system) and what was assumed.
    pub notes: Vec<String>,
    /// The mapping's name (`ems` for our own format).
    pub mapping: String,
    /// The coordinate system the log was read in (converted to WGS 84).
    pub crs: crate::spatial::china::Crs,
    /// For logs with one row per unit (or an ambulance rule).
    pub unit_rows: Option<UnitRows>,
    /// Our fields the mapping found in this file, each with its source (`column X` or a fixed
    /// value); a field not here has no column in the file.
    pub sources: std::collections::BTreeMap<String, String>,
}

/// Reads an incident CSV file.
pub fn read_incidents(
    path: &std::path::Path,
    opts: &ParseOptions,
) -> Result<IncidentLog, ModelError> {
    let f = std::fs::File::open(path).map_err(|e| ModelError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    parse_incidents(
        std::io::BufReader::new(f),
        &path.display().to_string(),
        opts,
    )
}

/// Parses incident CSV from a reader (`path` names it in messages).
///
/// Unparseable values (a timestamp, a number, a priority, an empty required field, a duplicate
/// id) are errors naming the line and column, or, with `skip_invalid`, invalid rows. Stages that
/// go back in time are *not* errors here: the standards check excludes them from the metric they
/// affect and reports them.
pub fn parse_incidents<R: Read>(
    reader: R,
    path: &str,
    opts: &ParseOptions,
) -> Result<IncidentLog, ModelError> {
    parse_log(
        reader,
        path,
        &LogOptions::ems(opts.timezone, opts.skip_invalid),
    )
}

/// Writes incidents as CSV in this module's format (the header row, then a row per incident;
/// timestamps RFC 3339 with their offsets, absent stages empty). [`parse_incidents`] reads it
/// back unchanged.
pub fn write_incidents(incidents: &[Incident]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let ts = |t: &Option<DateTime<FixedOffset>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
    let mut rows = vec![
        COLUMNS
            .iter()
            .chain(&EXTRA_COLUMNS)
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    ];
    for i in incidents {
        rows.push(vec![
            i.id.clone(),
            i.call_received.to_rfc3339(),
            ts(&i.dispatched),
            ts(&i.departed),
            ts(&i.on_scene),
            ts(&i.at_hospital),
            ts(&i.handover_complete),
            i.priority.to_string(),
            i.unit.clone().unwrap_or_default(),
            i.hospital.clone().unwrap_or_default(),
            i.lon_lat
                .map(|p| format!("{:.6}", p[0]))
                .unwrap_or_default(),
            i.lon_lat
                .map(|p| format!("{:.6}", p[1]))
                .unwrap_or_default(),
            i.condition.clone().unwrap_or_default(),
            i.zone.clone().unwrap_or_default(),
            ts(&i.left_scene),
            ts(&i.available),
            i.start_lon_lat
                .map(|p| format!("{:.6}", p[0]))
                .unwrap_or_default(),
            i.start_lon_lat
                .map(|p| format!("{:.6}", p[1]))
                .unwrap_or_default(),
        ]);
    }
    for r in rows {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&r);
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
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
        let v = parse_incidents(csv.as_bytes(), "x.csv", &ParseOptions::default()).unwrap();
        assert_eq!(v.incidents.len(), 1);
        let i = &v.incidents[0];
        assert_eq!(i.line, 2);
        assert_eq!((i.on_scene.unwrap() - i.call_received).num_seconds(), 600);
        assert!(i.at_hospital.is_none());
    }

    #[test]
    fn errors_name_line_and_field() {
        let strict = ParseOptions::default();
        // Going back in time is not a parse error (the standards check handles it).
        let csv = format!(
            "{HEAD}1,2024-03-01 08:00:00,,,,,,1,,,7.42,43.73\n2,2024-03-01 08:00:00,2024-03-01 07:00:00,,,,,1,,,7.42,43.73\n"
        );
        assert_eq!(
            parse_incidents(csv.as_bytes(), "x.csv", &strict)
                .unwrap()
                .incidents
                .len(),
            2
        );
        let csv = format!("{HEAD}1,yesterday,,,,,,1,,,7.42,43.73\n");
        let e = parse_incidents(csv.as_bytes(), "x.csv", &strict)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.csv:2: field `call_received`"), "{e}");
        let csv = format!("{HEAD}1,2024-03-01 08:00:00,,,,,,1,,,7.42,430\n");
        let e = parse_incidents(csv.as_bytes(), "x.csv", &strict)
            .unwrap_err()
            .to_string();
        assert!(e.contains("field `lat`"), "{e}");
        let e = parse_incidents("id,lon\n".as_bytes(), "x.csv", &strict)
            .unwrap_err()
            .to_string();
        assert!(e.contains("field `call_received`: missing column"), "{e}");
    }

    #[test]
    fn skip_invalid_counts_rows() {
        let csv = format!(
            "{HEAD}1,2024-03-01 08:00:00,,,,,,1,,,7.42,43.73\n2,nope,,,,,,1,,,7.42,43.73\n1,2024-03-01 08:00:00,,,,,,1,,,7.42,43.73\n3,2024-03-01 09:00:00,,,,,,1,,,7.42\n"
        );
        let opts = ParseOptions {
            skip_invalid: true,
            ..Default::default()
        };
        let log = parse_incidents(csv.as_bytes(), "x.csv", &opts).unwrap();
        assert_eq!(log.rows, 4);
        assert_eq!(log.incidents.len(), 1);
        let lines: Vec<(u64, &str)> = log
            .invalid
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(lines, vec![(3, "call_received"), (4, "id"), (5, "lat")]);
    }

    #[test]
    fn timezones() {
        let sh = TimeZoneSpec::parse("+08:00").unwrap();
        let t = parse_timestamp("2024-03-01 08:00:00", &sh).unwrap();
        assert_eq!(t.to_rfc3339(), "2024-03-01T08:00:00+08:00");
        // An explicit offset wins over the zone.
        let t = parse_timestamp("2024-03-01T08:00:00Z", &sh).unwrap();
        assert_eq!(t.offset().local_minus_utc(), 0);
        let mc = TimeZoneSpec::parse("Europe/Monaco").unwrap();
        let a = parse_timestamp("2024-03-31 01:30:00", &mc).unwrap();
        let b = parse_timestamp("2024-03-31 03:30:00", &mc).unwrap();
        // Clocks go forward at 02:00: one hour apart, not two.
        assert_eq!((b - a).num_minutes(), 60);
        assert_eq!(parse_timestamp("2024-03-31 02:30:00", &mc), None);
        assert_eq!(TimeZoneSpec::parse("Mars/Olympus"), None);
        assert!(TimeZoneSpec::parse("UTC").is_some());
        assert_eq!(TimeZoneSpec::parse("-0500"), TimeZoneSpec::parse("-05:00"));
    }
}
