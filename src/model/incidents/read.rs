//! Reading an incident log through a [`Mapping`]: rows → filtered, parsed rows → incidents.
//!
//! One pass over the CSV records (O(rows)), then one pass over the groups. Rows of one incident
//! (`group_by`) need not be adjacent. Per incident: the response runs from the call to the
//! **first ambulance on scene** (the mapping's ambulance rule says which rows are ambulances;
//! without one every row is); dispatch and en-route times are that ambulance's, so call
//! handling + turnout + travel add up to the response; scene, transport, hospital and
//! back-in-service times come from the ambulance that transported (the earliest hospital
//! arrival); other units are counted, and a non-ambulance unit that reached the scene first is
//! kept in [`Incident::first_on_scene_other`]. This module must not compute any figure.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use chrono::{DateTime, FixedOffset, NaiveDateTime};

use super::mapping::{Field, LocationOrder, Mapping, Resolved, TIME_FIELDS};
use super::{
    Incident, IncidentLog, InvalidRow, OtherUnit, Skipped, TimeZoneSpec, UnitRows, UnitStages,
    lead_units,
};
use crate::model::ModelError;
use crate::spatial::china::Crs;

/// How to read a log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogOptions {
    pub mapping: Mapping,
    /// `--timezone`: overrides the mapping's zone.
    pub timezone: Option<TimeZoneSpec>,
    /// The zone when neither `--timezone` nor the mapping gives one (the scenario's).
    pub fallback_timezone: TimeZoneSpec,
    /// Where the fallback zone comes from, for the log's notes (`the scenario`).
    pub fallback_from: &'static str,
    /// `--crs`: overrides the mapping's coordinate system.
    pub crs: Option<Crs>,
    /// Record unparseable rows in [`IncidentLog::invalid`] instead of failing on the first.
    pub skip_invalid: bool,
}

impl LogOptions {
    /// Our own format with the given zone.
    pub fn ems(timezone: TimeZoneSpec, skip_invalid: bool) -> LogOptions {
        LogOptions {
            mapping: Mapping::ems(),
            timezone: None,
            fallback_timezone: timezone,
            fallback_from: "the scenario",
            crs: None,
            skip_invalid,
        }
    }

    /// The zone local times are read in, and where it comes from.
    pub fn zone(&self) -> (TimeZoneSpec, &'static str) {
        if let Some(tz) = self.timezone {
            return (tz, "--timezone");
        }
        if let Some(tz) = self
            .mapping
            .timezone
            .as_deref()
            .and_then(TimeZoneSpec::parse)
        {
            return (tz, "the mapping");
        }
        (self.fallback_timezone, self.fallback_from)
    }
}

/// Reads a log file.
pub fn read_log(path: &std::path::Path, opts: &LogOptions) -> Result<IncidentLog, ModelError> {
    let f = std::fs::File::open(path).map_err(|e| ModelError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    parse_log(
        std::io::BufReader::with_capacity(1 << 16, f),
        &path.display().to_string(),
        opts,
    )
}

/// One parsed row.
struct Row {
    line: u64,
    key: String,
    times: [Option<DateTime<FixedOffset>>; 8],
    priority: u8,
    priority_assumed: bool,
    unit: Option<String>,
    hospital: Option<String>,
    condition: Option<String>,
    zone: Option<String>,
    lon_lat: Option<[f64; 2]>,
    start_lon_lat: Option<[f64; 2]>,
    ambulance: bool,
    kind: Option<String>,
}

/// What the reader needs of the mapping, resolved against the header.
struct Plan {
    cols: BTreeMap<Field, Resolved>,
    group: Option<usize>,
    ambulance: Option<(usize, Vec<String>)>,
    filters: Vec<(usize, super::mapping::Filter)>,
    tz: TimeZoneSpec,
    crs: Crs,
}

/// Parses a log from a reader (`path` names it in messages).
pub fn parse_log<R: Read>(
    reader: R,
    path: &str,
    opts: &LogOptions,
) -> Result<IncidentLog, ModelError> {
    let m = &opts.mapping;
    let err = |line: u64, field: &str, message: String| ModelError::Csv {
        path: path.to_string(),
        line,
        field: field.to_string(),
        message,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(true)
        .has_headers(false)
        .delimiter(m.delimiter.map_or(b',', |c| c as u8))
        .from_reader(reader);
    let mut rec = csv::StringRecord::new();
    let read = |rdr: &mut csv::Reader<R>, rec: &mut csv::StringRecord| {
        rdr.read_record(rec).map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            err(line, "row", e.to_string())
        })
    };
    for _ in 0..m.skip_rows {
        if !read(&mut rdr, &mut rec)? {
            break;
        }
    }
    let header: Vec<String> = if m.header {
        if !read(&mut rdr, &mut rec)? {
            return Err(err(1, "header", "the file is empty".into()));
        }
        rec.iter().map(str::to_string).collect()
    } else {
        m.columns.clone()
    };
    let header_line = if m.header { m.skip_rows as u64 + 1 } else { 0 };
    let plan = plan(m, &header, opts).map_err(|(f, msg)| err(header_line.max(1), &f, msg))?;
    let mut log = IncidentLog {
        mapping: m.name.clone(),
        crs: plan.crs,
        sources: plan
            .cols
            .iter()
            .map(|(f, r)| {
                let src = match r {
                    Resolved::Column { name, .. } => format!("column `{name}`"),
                    Resolved::Fixed(v) => format!("fixed value `{v}`"),
                };
                (f.as_str().to_string(), src)
            })
            .collect(),
        ..IncidentLog::default()
    };
    let mut state = Groups::default();
    let mut filtered: BTreeMap<String, Skipped> = BTreeMap::new();
    let mut assumed_priority = 0u64;
    while read(&mut rdr, &mut rec)? {
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        if rec.iter().all(str::is_empty) {
            continue;
        }
        log.rows += 1;
        if let Some(reason) = filter_out(&plan, &rec, &header) {
            let s = filtered.entry(reason.clone()).or_insert_with(|| Skipped {
                reason,
                count: 0,
                lines: Vec::new(),
            });
            s.count += 1;
            if s.lines.len() < Skipped::LISTED {
                s.lines.push(line);
            }
            continue;
        }
        match parse_row(&plan, m, &rec, line) {
            Ok(row) => {
                assumed_priority += u64::from(row.priority_assumed);
                if let Err((field, message)) = state.push(row, m.group_by.is_some()) {
                    if opts.skip_invalid {
                        log.invalid.push(InvalidRow {
                            line,
                            field: field.to_string(),
                            message,
                        });
                    } else {
                        return Err(err(line, field, message));
                    }
                }
            }
            Err((field, message)) if opts.skip_invalid => log.invalid.push(InvalidRow {
                line,
                field: field.to_string(),
                message,
            }),
            Err((field, message)) => return Err(err(line, field, message)),
        }
    }
    if log.rows > 0 && filtered.values().map(|s| s.count).sum::<u64>() == log.rows {
        return Err(nothing_kept(path, header_line, &plan, &filtered, log.rows));
    }
    log.skipped = filtered.into_values().collect();
    log.skipped.sort_by_key(|s| std::cmp::Reverse(s.count));
    let (zone, zone_from) = opts.zone();
    log.notes.push(format!(
        "read with mapping `{}`; local times in {} (from {zone_from}); coordinates {}",
        m.name,
        zone_name(&zone),
        plan.crs
    ));
    if assumed_priority > 0 {
        log.notes.push(match m.priority.default {
            Some(d) if m.fields.contains_key(&Field::Priority) => format!(
                "{assumed_priority} rows with an empty or unknown priority counted as priority {d}"
            ),
            d => format!(
                "no priority in the log: every call counted as priority {}",
                d.unwrap_or(1)
            ),
        });
    }
    let (incidents, units) = state.finish(m.group_by.is_some() || m.ambulances.is_some());
    log.incidents = incidents;
    log.unit_rows = units;
    Ok(log)
}

fn zone_name(tz: &TimeZoneSpec) -> String {
    match tz {
        TimeZoneSpec::Fixed(o) => o.to_string(),
        TimeZoneSpec::Iana(t) => t.name().to_string(),
    }
}

fn plan(m: &Mapping, header: &[String], opts: &LogOptions) -> Result<Plan, (String, String)> {
    let cols = m
        .resolve(header)
        .map_err(|(f, msg)| (f.as_str().to_string(), msg))?;
    let need = |what: &str, name: &str| {
        m.column_index(header, name).ok_or_else(|| {
            (
                what.to_string(),
                format!(
                    "missing column `{name}` (mapping {}, {what}); the file has: {}",
                    m.name,
                    header.join(", ")
                ),
            )
        })
    };
    let group = match &m.group_by {
        Some(g) => Some(need("group_by", g)?),
        None => None,
    };
    let ambulance = match &m.ambulances {
        Some(r) => Some((
            need("ambulances", &r.column)?,
            r.values.iter().map(|v| v.trim().to_lowercase()).collect(),
        )),
        None => None,
    };
    let mut filters = Vec::new();
    for f in &m.filters {
        filters.push((need("filter", &f.column)?, f.clone()));
    }
    Ok(Plan {
        cols,
        group,
        ambulance,
        filters,
        tz: opts.zone().0,
        crs: opts.crs.unwrap_or(m.crs),
    })
}

/// Why a row is filtered out, or `None` when it is kept.
fn filter_out(plan: &Plan, rec: &csv::StringRecord, header: &[String]) -> Option<String> {
    for (i, f) in &plan.filters {
        let v = rec.get(*i).unwrap_or("");
        if !f.keeps(v) {
            let col = header.get(*i).map_or(f.column.as_str(), |s| s.as_str());
            return Some(format!("`{col}` is `{v}` (filter {})", f.describe()));
        }
    }
    None
}

fn nothing_kept(
    path: &str,
    header_line: u64,
    plan: &Plan,
    filtered: &BTreeMap<String, Skipped>,
    rows: u64,
) -> ModelError {
    let cols: Vec<String> = plan.filters.iter().map(|(_, f)| f.column.clone()).collect();
    let mut seen: Vec<(&String, u64)> = filtered.iter().map(|(r, s)| (r, s.count)).collect();
    seen.sort_by_key(|s| std::cmp::Reverse(s.1));
    let listed: Vec<String> = seen
        .iter()
        .take(8)
        .map(|(r, n)| format!("{n} rows: {r}"))
        .collect();
    ModelError::Csv {
        path: path.to_string(),
        line: header_line + 1,
        field: cols.join(", "),
        message: format!(
            "the filters keep none of the {rows} rows (lines {}-{}): {}; pass --filter 'COLUMN=*' \
             to keep every value, or --filter 'COLUMN=VALUE|VALUE'",
            header_line + 1,
            header_line + rows,
            listed.join("; ")
        ),
    }
}

type RowError = (&'static str, String);

fn parse_row(
    plan: &Plan,
    m: &Mapping,
    rec: &csv::StringRecord,
    line: u64,
) -> Result<Row, RowError> {
    let get = |f: Field| -> Option<&str> {
        match plan.cols.get(&f)? {
            Resolved::Column { index, .. } => rec.get(*index).filter(|s| !s.is_empty()),
            Resolved::Fixed(v) => Some(v.as_str()).filter(|s| !s.is_empty()),
        }
    };
    let col_name = |f: Field| match plan.cols.get(&f) {
        Some(Resolved::Column { name, .. }) if name != f.as_str() => format!("column `{name}`: "),
        _ => String::new(),
    };
    for f in m.required.iter().chain([&Field::CallReceived]) {
        if get(*f).is_none() {
            return Err((f.as_str(), format!("{}empty", col_name(*f))));
        }
    }
    let mut times = [None; 8];
    for (k, f) in TIME_FIELDS.iter().enumerate() {
        if let Some(s) = get(*f) {
            times[k] = Some(parse_time(s, &m.time_formats, &plan.tz).ok_or_else(|| {
                (
                    f.as_str(),
                    format!(
                        "{}`{s}` is not a timestamp (use {}2024-03-01T08:15:30+08:00 or 2024-03-01 08:15:30)",
                        col_name(*f),
                        if m.time_formats.is_empty() {
                            String::new()
                        } else {
                            format!("{}, ", m.time_formats.join(", "))
                        }
                    ),
                )
            })?);
        }
    }
    let (priority, priority_assumed) =
        priority(m, get(Field::Priority), &col_name(Field::Priority))?;
    let lon_lat = location(plan, m, &get, &col_name)?;
    let start_lon_lat = start_location(plan, &get, &col_name)?;
    let key = match plan.group {
        Some(i) => rec.get(i).unwrap_or("").to_string(),
        None => get(Field::Id).map_or_else(|| format!("line-{line}"), str::to_string),
    };
    if key.is_empty() {
        let name = m.group_by.clone().unwrap_or_default();
        return Err((
            "id",
            format!("column `{name}`: empty (it groups rows into incidents)"),
        ));
    }
    let (ambulance, kind) = match &plan.ambulance {
        Some((i, values)) => {
            let v = rec.get(*i).unwrap_or("");
            (
                values.contains(&v.trim().to_lowercase()),
                Some(v.to_string()).filter(|s| !s.is_empty()),
            )
        }
        None => (true, None),
    };
    let opt = |f: Field| get(f).map(str::to_string);
    Ok(Row {
        line,
        key,
        times,
        priority,
        priority_assumed,
        unit: opt(Field::Unit),
        hospital: opt(Field::Hospital),
        condition: opt(Field::Condition),
        zone: opt(Field::Zone),
        lon_lat,
        start_lon_lat,
        ambulance,
        kind,
    })
}

/// The unit's start point from `start_lon` and `start_lat` (both or neither), in the log's
/// coordinate system like the scene.
fn start_location<'a>(
    plan: &Plan,
    get: &dyn Fn(Field) -> Option<&'a str>,
    col_name: &dyn Fn(Field) -> String,
) -> Result<Option<[f64; 2]>, RowError> {
    let num = |f: Field, range: f64| -> Result<Option<f64>, RowError> {
        let Some(s) = get(f) else { return Ok(None) };
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v.abs() <= range => Ok(Some(v)),
            Ok(_) => Err((
                f.as_str(),
                format!("{}{s} is outside -{range}..{range}", col_name(f)),
            )),
            Err(_) => Err((f.as_str(), format!("{}`{s}` is not a number", col_name(f)))),
        }
    };
    match (num(Field::StartLon, 180.0)?, num(Field::StartLat, 90.0)?) {
        (Some(lon), Some(lat)) if lon == 0.0 && lat == 0.0 => Ok(None),
        (Some(lon), Some(lat)) => Ok(Some(plan.crs.to_wgs84([lon, lat]))),
        (None, None) => Ok(None),
        (None, _) => Err(("start_lon", format!("{}empty", col_name(Field::StartLon)))),
        (_, None) => Err(("start_lat", format!("{}empty", col_name(Field::StartLat)))),
    }
}

/// Parses a time: the mapping's formats, then RFC 3339 and our own local formats.
fn parse_time(s: &str, formats: &[String], tz: &TimeZoneSpec) -> Option<DateTime<FixedOffset>> {
    for f in formats {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, f) {
            return tz.localize(&n);
        }
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    super::parse_timestamp(s, tz)
}

fn priority(m: &Mapping, raw: Option<&str>, col: &str) -> Result<(u8, bool), RowError> {
    let Some(v) = raw else {
        return match m.priority.default {
            Some(d) => Ok((d, true)),
            None if !m.fields.contains_key(&Field::Priority) => Ok((1, true)),
            None => Err(("priority", format!("{col}empty"))),
        };
    };
    if let Some(p) = m
        .priority
        .values
        .iter()
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(v))
        .map(|(_, p)| *p)
    {
        return Ok((p, false));
    }
    if let Some(p) = v.parse::<u8>().ok().filter(|p| (1..=9).contains(p)) {
        return Ok((p, false));
    }
    match m.priority.default {
        Some(d) => Ok((d, true)),
        None => Err((
            "priority",
            format!(
                "{col}`{v}` is not an integer 1..9 (1 = most urgent); map it in [priority.values]"
            ),
        )),
    }
}

fn location<'a>(
    plan: &Plan,
    m: &Mapping,
    get: &dyn Fn(Field) -> Option<&'a str>,
    col_name: &dyn Fn(Field) -> String,
) -> Result<Option<[f64; 2]>, RowError> {
    let num = |f: Field| -> Result<Option<f64>, RowError> {
        let Some(s) = get(f) else { return Ok(None) };
        s.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or((f.as_str(), format!("{}`{s}` is not a number", col_name(f))))
    };
    let (lon, lat) = if plan.cols.contains_key(&Field::Location) {
        let Some(s) = get(Field::Location) else {
            return Ok(None);
        };
        let nums: Vec<f64> = s
            .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e' || c == 'E'))
            .filter(|t| !t.is_empty() && t.chars().any(|c| c.is_ascii_digit()))
            .filter_map(|t| t.parse().ok())
            .collect();
        if nums.len() != 2 {
            return Err((
                "location",
                format!(
                    "{}`{s}` is not a location: expected (lat, lon), lat,lon or POINT (lon lat)",
                    col_name(Field::Location)
                ),
            ));
        }
        let wkt = s.trim_start().to_ascii_uppercase().starts_with("POINT");
        match (wkt, m.location_order) {
            (true, _) | (false, LocationOrder::LonLat) => (nums[0], nums[1]),
            (false, LocationOrder::LatLon) => (nums[1], nums[0]),
        }
    } else {
        match (num(Field::Lon)?, num(Field::Lat)?) {
            (Some(a), Some(b)) => (a, b),
            (None, None) => return Ok(None),
            (None, _) => return Err(("lon", format!("{}empty", col_name(Field::Lon)))),
            (_, None) => return Err(("lat", format!("{}empty", col_name(Field::Lat)))),
        }
    };
    let field_of = |f: Field| {
        if plan.cols.contains_key(&Field::Location) {
            "location"
        } else {
            f.as_str()
        }
    };
    if !(-180.0..=180.0).contains(&lon) {
        return Err((field_of(Field::Lon), format!("{lon} is outside -180..180")));
    }
    if !(-90.0..=90.0).contains(&lat) {
        return Err((field_of(Field::Lat), format!("{lat} is outside -90..90")));
    }
    if lon == 0.0 && lat == 0.0 {
        // (0, 0) is how many exports write "unknown".
        return Ok(None);
    }
    Ok(Some(plan.crs.to_wgs84([lon, lat])))
}

/// Rows gathered by incident, in order of first appearance.
#[derive(Default)]
struct Groups {
    index: HashMap<String, usize>,
    groups: Vec<Vec<Row>>,
}

impl Groups {
    fn push(&mut self, row: Row, grouped: bool) -> Result<(), RowError> {
        match self.index.get(&row.key) {
            Some(&k) if grouped => self.groups[k].push(row),
            Some(_) => return Err(("id", format!("duplicate id `{}`", row.key))),
            None => {
                self.index.insert(row.key.clone(), self.groups.len());
                self.groups.push(vec![row]);
            }
        }
        Ok(())
    }

    fn finish(self, units: bool) -> (Vec<Incident>, Option<UnitRows>) {
        let mut stats = UnitRows::default();
        let incidents = self
            .groups
            .into_iter()
            .map(|g| merge(g, &mut stats))
            .collect();
        (incidents, units.then_some(stats))
    }
}

const RECEIVED: usize = 0;
const DISPATCHED: usize = 1;
const ON_SCENE: usize = 3;
const LEFT_SCENE: usize = 4;
const AT_HOSPITAL: usize = 5;

/// One incident from its rows (see the module header).
fn merge(rows: Vec<Row>, stats: &mut UnitRows) -> Incident {
    stats.rows += rows.len() as u64;
    let amb: Vec<&Row> = rows.iter().filter(|r| r.ambulance).collect();
    stats.ambulance_rows += amb.len() as u64;
    stats.other_rows += (rows.len() - amb.len()) as u64;
    stats.other_rows_with_hospital_times += rows
        .iter()
        .filter(|r| {
            !r.ambulance && (r.times[AT_HOSPITAL].is_some() || r.times[LEFT_SCENE].is_some())
        })
        .count() as u64;
    let stages: Vec<UnitStages<DateTime<FixedOffset>>> = rows
        .iter()
        .map(|r| UnitStages {
            ambulance: r.ambulance,
            dispatched: r.times[DISPATCHED],
            on_scene: r.times[ON_SCENE],
            left_scene: r.times[LEFT_SCENE],
            at_hospital: r.times[AT_HOSPITAL],
        })
        .collect();
    let (first, transport) = lead_units(&stages);
    let (first, transport) = (first.map(|k| &rows[k]), transport.map(|k| &rows[k]));
    let first_on_scene = first.and_then(|r| r.times[ON_SCENE]);
    let other = rows
        .iter()
        .filter(|r| !r.ambulance)
        .filter_map(|r| r.times[ON_SCENE].map(|t| (t, r)))
        .filter(|(t, _)| first_on_scene.is_none_or(|a| *t < a))
        .min_by_key(|(t, _)| *t)
        .map(|(t, r)| OtherUnit {
            unit: r.unit.clone(),
            kind: r.kind.clone(),
            on_scene: t,
        });
    let head = &rows[0];
    let t = |r: Option<&Row>, k: usize| r.and_then(|r| r.times[k]);
    Incident {
        line: rows.iter().map(|r| r.line).min().unwrap_or(head.line),
        id: head.key.clone(),
        call_received: rows
            .iter()
            .filter_map(|r| r.times[RECEIVED])
            .min()
            .expect("call_received is required in every row"),
        dispatched: t(first, DISPATCHED),
        departed: t(first, 2),
        on_scene: first_on_scene,
        left_scene: t(transport, LEFT_SCENE),
        at_hospital: t(transport, AT_HOSPITAL),
        handover_complete: t(transport, 6),
        available: t(transport.or(first), 7),
        priority: rows
            .iter()
            .map(|r| r.priority)
            .min()
            .unwrap_or(head.priority),
        unit: first.and_then(|r| r.unit.clone()),
        hospital: transport.and_then(|r| r.hospital.clone()),
        lon_lat: rows.iter().find_map(|r| r.lon_lat),
        start_lon_lat: first.and_then(|r| r.start_lon_lat),
        condition: rows.iter().find_map(|r| r.condition.clone()),
        zone: rows.iter().find_map(|r| r.zone.clone()),
        units: rows.len() as u32,
        ambulances: amb.len() as u32,
        first_on_scene_other: other,
    }
}
