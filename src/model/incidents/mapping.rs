//! Column mappings: how a dispatch centre's own export maps onto [`Incident`](super::Incident).
//!
//! A mapping is a small TOML file (or a built-in preset, [`Mapping::preset`]) that names, for
//! each of our fields, the source column (or several alternative names, or a fixed value), the
//! time formats and zone, the coordinate columns and their system, how rows of one incident are
//! grouped, which rows are ambulances, and row filters. This module owns the mapping's schema and
//! its resolution against a file's header; reading the rows is [`super::read`]. It must not
//! compute any figure.
//!
//! The presets live in `src/model/incidents/presets/*.toml` and are documented in
//! `docs/incident-logs.md`.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::Deserialize;

use crate::spatial::china::Crs;

/// The built-in mappings, by name.
pub const PRESETS: [(&str, &str); 6] = [
    ("ems", include_str!("presets/ems.toml")),
    ("ems-units", include_str!("presets/ems-units.toml")),
    ("datasf", include_str!("presets/datasf.toml")),
    ("nemsis-v3", include_str!("presets/nemsis-v3.toml")),
    ("nyc-ems", include_str!("presets/nyc-ems.toml")),
    ("china-120", include_str!("presets/china-120.toml")),
];

/// One of our fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Id,
    CallReceived,
    Dispatched,
    Departed,
    OnScene,
    LeftScene,
    AtHospital,
    HandoverComplete,
    Available,
    Priority,
    Unit,
    Hospital,
    Lon,
    Lat,
    /// Both coordinates in one column: `(lat, lon)`, `lat,lon` or WKT `POINT (lon lat)`.
    Location,
    Condition,
    Zone,
    /// Where the responding unit set off from (the live server's export writes it).
    StartLon,
    StartLat,
}

/// The time stages, in the order they should occur.
pub const TIME_FIELDS: [Field; 8] = [
    Field::CallReceived,
    Field::Dispatched,
    Field::Departed,
    Field::OnScene,
    Field::LeftScene,
    Field::AtHospital,
    Field::HandoverComplete,
    Field::Available,
];

impl Field {
    /// The name used in our own format and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::CallReceived => "call_received",
            Field::Dispatched => "dispatched",
            Field::Departed => "departed",
            Field::OnScene => "on_scene",
            Field::LeftScene => "left_scene",
            Field::AtHospital => "at_hospital",
            Field::HandoverComplete => "handover_complete",
            Field::Available => "available",
            Field::Priority => "priority",
            Field::Unit => "unit",
            Field::Hospital => "hospital",
            Field::Lon => "lon",
            Field::Lat => "lat",
            Field::Location => "location",
            Field::Condition => "condition",
            Field::Zone => "zone",
            Field::StartLon => "start_lon",
            Field::StartLat => "start_lat",
        }
    }
}

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Source {
    /// A column name.
    Column(String),
    /// Alternative column names: the first the file has is used.
    FirstOf(Vec<String>),
    /// The long form.
    Spec(SourceSpec),
}

/// The long form of a [`Source`].
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// A column name, or alternative names.
    #[serde(default)]
    pub column: Option<String>,
    #[serde(default)]
    pub columns: Vec<String>,
    /// A fixed value for every row.
    #[serde(default)]
    pub value: Option<String>,
    /// The file may lack the column (then the field is empty).
    #[serde(default)]
    pub optional: bool,
}

impl Source {
    fn spec(&self) -> SourceSpec {
        match self {
            Source::Column(c) => SourceSpec {
                column: Some(c.clone()),
                ..SourceSpec::default()
            },
            Source::FirstOf(v) => SourceSpec {
                columns: v.clone(),
                ..SourceSpec::default()
            },
            Source::Spec(s) => s.clone(),
        }
    }
}

/// Source values for priority, mapped to ours (1 = most urgent).
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Priorities {
    /// Source value → priority 1..9. Values not listed that are integers 1..9 are taken as is.
    #[serde(default)]
    pub values: BTreeMap<String, u8>,
    /// The priority of rows whose value is empty, unlisted or not an integer 1..9 (counted and
    /// reported); without it such a row is an error. Also the priority of every row when the
    /// mapping has no priority field.
    #[serde(default)]
    pub default: Option<u8>,
}

/// Which rows are ambulances: those whose `column` holds one of `values`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitRule {
    pub column: String,
    pub values: Vec<String>,
}

/// A row filter on one column: rows are kept when the value is in `keep` (or starts with one of
/// `keep_prefix`) and not in `drop`. Values compare after trimming, case-insensitively.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub column: String,
    #[serde(default)]
    pub keep: Vec<String>,
    #[serde(default)]
    pub keep_prefix: Vec<String>,
    #[serde(default)]
    pub drop: Vec<String>,
}

impl Filter {
    /// Whether a row with this value is kept.
    pub fn keeps(&self, value: &str) -> bool {
        let v = value.trim();
        let eq = |a: &String| a.trim().eq_ignore_ascii_case(v);
        let kept = (self.keep.is_empty() && self.keep_prefix.is_empty())
            || self.keep.iter().any(eq)
            || self
                .keep_prefix
                .iter()
                .any(|p| v.to_lowercase().starts_with(&p.trim().to_lowercase()));
        kept && !self.drop.iter().any(eq)
    }

    /// What the filter keeps, for messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.keep.is_empty() {
            parts.push(format!("keep {}", self.keep.join(" | ")));
        }
        if !self.keep_prefix.is_empty() {
            parts.push(format!(
                "keep starting with {}",
                self.keep_prefix.join(" | ")
            ));
        }
        if !self.drop.is_empty() {
            parts.push(format!("drop {}", self.drop.join(" | ")));
        }
        format!("`{}`: {}", self.column, parts.join(", "))
    }
}

/// `COLUMN=V1|V2` (keep those values), `COLUMN=*` (keep all: remove the mapping's filter on that
/// column) or `COLUMN!=V1|V2` (drop those): a filter given on the command line, which replaces the
/// mapping's filters on that column.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterArg {
    pub column: String,
    /// `None` keeps every row.
    pub filter: Option<Filter>,
}

impl FromStr for FilterArg {
    type Err = String;
    fn from_str(s: &str) -> Result<FilterArg, String> {
        let (column, values, drop) = if let Some((c, v)) = s.split_once("!=") {
            (c, v, true)
        } else if let Some((c, v)) = s.split_once('=') {
            (c, v, false)
        } else {
            return Err(format!(
                "`{s}`: expected COLUMN=VALUE|VALUE, COLUMN!=VALUE|VALUE or COLUMN=*"
            ));
        };
        let column = column.trim().to_string();
        if column.is_empty() {
            return Err(format!("`{s}`: no column name before `=`"));
        }
        if values.trim() == "*" && !drop {
            return Ok(FilterArg {
                column,
                filter: None,
            });
        }
        let list: Vec<String> = values
            .split('|')
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect();
        if list.is_empty() {
            return Err(format!("`{s}`: no value after `=`"));
        }
        let mut f = Filter {
            column: column.clone(),
            ..Filter::default()
        };
        if drop {
            f.drop = list;
        } else {
            f.keep = list;
        }
        Ok(FilterArg {
            column,
            filter: Some(f),
        })
    }
}

/// The order of the two numbers in a combined location column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationOrder {
    /// `(lat, lon)`, as DataSF and NEMSIS write it. WKT `POINT (lon lat)` is recognised anyway.
    #[default]
    LatLon,
    LonLat,
}

/// A column mapping (see the module header).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    pub name: String,
    /// What the format is and where its definition comes from.
    #[serde(default)]
    pub about: String,
    /// Whether the first row (after `skip_rows`) names the columns.
    #[serde(default = "yes")]
    pub header: bool,
    /// Column names in order, for files without a header row.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Lines before the header (or the data) to skip: titles.
    #[serde(default)]
    pub skip_rows: usize,
    /// Field separator, one character; `,` when not given.
    #[serde(default)]
    pub delimiter: Option<char>,
    /// Time zone of local times (IANA name or offset); `--timezone` overrides it, the scenario's
    /// zone is used when neither is given.
    #[serde(default)]
    pub timezone: Option<String>,
    /// chrono formats tried (in order) before RFC 3339 and `YYYY-MM-DD hh:mm[:ss]`.
    #[serde(default)]
    pub time_formats: Vec<String>,
    /// Coordinate system of the coordinates; `--crs` overrides it.
    #[serde(default)]
    pub crs: Crs,
    #[serde(default)]
    pub location_order: LocationOrder,
    /// The column that groups rows into incidents (one row per unit per call); without it every
    /// row is an incident and a repeated id is an error.
    #[serde(default)]
    pub group_by: Option<String>,
    /// Fields that must be filled in every row (besides `call_received`, which always must).
    #[serde(default)]
    pub required: Vec<Field>,
    pub fields: BTreeMap<Field, Source>,
    #[serde(default)]
    pub priority: Priorities,
    /// Which rows are ambulances; without it every row is.
    #[serde(default)]
    pub ambulances: Option<UnitRule>,
    #[serde(default)]
    pub filters: Vec<Filter>,
}

fn yes() -> bool {
    true
}

/// A mapping that cannot be used: it does not parse, or it contradicts itself.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{path}: mapping: {message}")]
pub struct MappingError {
    pub path: String,
    pub message: String,
}

impl Mapping {
    /// A built-in preset by name ([`PRESETS`]).
    pub fn preset(name: &str) -> Option<Mapping> {
        PRESETS.iter().find(|(n, _)| *n == name).map(|(n, text)| {
            Mapping::from_toml(text, &format!("preset {n}"))
                .expect("the built-in presets are valid (tested)")
        })
    }

    /// Our own format, the default.
    pub fn ems() -> Mapping {
        Mapping::preset("ems").expect("the ems preset exists")
    }

    /// A mapping from TOML text (`path` names it in messages).
    pub fn from_toml(text: &str, path: &str) -> Result<Mapping, MappingError> {
        let m: Mapping = toml::from_str(text).map_err(|e| MappingError {
            path: path.to_string(),
            message: e.to_string(),
        })?;
        m.validate(path)?;
        Ok(m)
    }

    /// A mapping file.
    pub fn from_file(path: &std::path::Path) -> Result<Mapping, MappingError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| MappingError {
            path: p.clone(),
            message: e.to_string(),
        })?;
        Mapping::from_toml(&text, &p)
    }

    fn validate(&self, path: &str) -> Result<(), MappingError> {
        let bad = |message: String| {
            Err(MappingError {
                path: path.to_string(),
                message,
            })
        };
        if !self.fields.contains_key(&Field::CallReceived) {
            return bad("[fields] has no call_received: every log needs the call time".into());
        }
        let has = |f: Field| self.fields.contains_key(&f);
        if has(Field::Location) && (has(Field::Lon) || has(Field::Lat)) {
            return bad("give either location or lon and lat, not both".into());
        }
        if has(Field::Lon) != has(Field::Lat) {
            return bad("lon and lat come together".into());
        }
        if has(Field::StartLon) != has(Field::StartLat) {
            return bad("start_lon and start_lat come together".into());
        }
        if !self.header && self.columns.is_empty() {
            return bad("header = false needs `columns`, the column names in order".into());
        }
        for (field, src) in &self.fields {
            let s = src.spec();
            let named = usize::from(s.column.is_some())
                + usize::from(!s.columns.is_empty())
                + usize::from(s.value.is_some());
            if named != 1 {
                return bad(format!(
                    "field {}: give exactly one of column, columns or value",
                    field.as_str()
                ));
            }
        }
        for (v, p) in &self.priority.values {
            if !(1..=9).contains(p) {
                return bad(format!(
                    "[priority.values] `{v}` = {p}: priorities are 1..9"
                ));
            }
        }
        if let Some(d) = self.priority.default
            && !(1..=9).contains(&d)
        {
            return bad(format!("[priority] default = {d}: priorities are 1..9"));
        }
        if let Some(tz) = &self.timezone
            && super::TimeZoneSpec::parse(tz).is_none()
        {
            return bad(format!(
                "timezone `{tz}` is neither an IANA name nor an offset"
            ));
        }
        Ok(())
    }

    /// Applies command-line filters: each replaces the mapping's filters on its column.
    pub fn with_filters(mut self, args: &[FilterArg]) -> Mapping {
        for a in args {
            self.filters
                .retain(|f| !f.column.trim().eq_ignore_ascii_case(a.column.trim()));
            if let Some(f) = &a.filter {
                self.filters.push(f.clone());
            }
        }
        self
    }
}

/// `--columns`: a preset name or a mapping file.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingArg(pub Mapping);

impl FromStr for MappingArg {
    type Err = String;
    fn from_str(s: &str) -> Result<MappingArg, String> {
        if let Some(m) = Mapping::preset(s) {
            return Ok(MappingArg(m));
        }
        let p = std::path::Path::new(s);
        if p.exists() {
            return Mapping::from_file(p)
                .map(MappingArg)
                .map_err(|e| e.to_string());
        }
        Err(format!(
            "`{s}` is neither a preset ({}) nor a mapping file",
            PRESETS.map(|(n, _)| n).join(", ")
        ))
    }
}

/// Where each field's value is, once the header is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Column { index: usize, name: String },
    Fixed(String),
}

impl Mapping {
    /// Resolves every field against the header; a named column the file lacks is an error
    /// (message naming the field, the column and the columns the file has).
    pub fn resolve(&self, header: &[String]) -> Result<BTreeMap<Field, Resolved>, (Field, String)> {
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h.trim() == name.trim())
                .or_else(|| {
                    header
                        .iter()
                        .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
                })
        };
        let listing = || {
            let mut v: Vec<&str> = header.iter().map(|s| s.as_str()).take(40).collect();
            if header.len() > 40 {
                v.push("…");
            }
            v.join(", ")
        };
        let mut out = BTreeMap::new();
        for (field, src) in &self.fields {
            let s = src.spec();
            if let Some(v) = s.value {
                out.insert(*field, Resolved::Fixed(v));
                continue;
            }
            let names: Vec<String> = s.column.into_iter().chain(s.columns).collect();
            match names
                .iter()
                .find_map(|n| find(n).map(|i| (i, header[i].clone())))
            {
                Some((index, name)) => {
                    out.insert(*field, Resolved::Column { index, name });
                }
                None if s.optional => {}
                None => {
                    return Err((
                        *field,
                        format!(
                            "missing column {} (mapping {}); the file has: {}",
                            names
                                .iter()
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(" or "),
                            self.name,
                            listing()
                        ),
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The index of a named column (for `group_by`, the ambulance rule and filters).
    pub fn column_index(&self, header: &[String], name: &str) -> Option<usize> {
        header
            .iter()
            .position(|h| h.trim() == name.trim())
            .or_else(|| {
                header
                    .iter()
                    .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse() {
        for (name, _) in PRESETS {
            let m = Mapping::preset(name).unwrap();
            assert_eq!(m.name, name);
        }
    }

    #[test]
    fn filters() {
        let f: FilterArg = "Call Type=Medical Incident|Alarms".parse().unwrap();
        let flt = f.filter.clone().unwrap();
        assert!(flt.keeps(" medical incident ") && !flt.keeps("Structure Fire"));
        let all: FilterArg = "Call Type=*".parse().unwrap();
        assert!(all.filter.is_none());
        let m = Mapping::preset("datasf").unwrap().with_filters(&[all]);
        assert!(m.filters.iter().all(|f| f.column != "Call Type"));
        assert!("nothing".parse::<FilterArg>().is_err());
        let d: FilterArg = "x!=a".parse().unwrap();
        assert!(!d.filter.unwrap().keeps("A"));
    }

    #[test]
    fn bad_mappings_say_what_is_wrong() {
        let e = Mapping::from_toml("name = \"x\"\n[fields]\nid = \"a\"\n", "m.toml").unwrap_err();
        assert!(
            e.to_string()
                .contains("m.toml: mapping: [fields] has no call_received"),
            "{e}"
        );
        let e = Mapping::from_toml(
            "name = \"x\"\n[fields]\ncall_received = \"a\"\nlon = \"x\"\n",
            "m.toml",
        )
        .unwrap_err();
        assert!(e.to_string().contains("lon and lat come together"), "{e}");
        let e = Mapping::from_toml(
            "name = \"x\"\n[fields]\ncall_received = \"a\"\nstart_lat = \"y\"\n",
            "m.toml",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .contains("start_lon and start_lat come together"),
            "{e}"
        );
        let e = Mapping::from_toml("name = \"x\"\n[fields]\ncall_recieved = \"a\"\n", "m.toml")
            .unwrap_err();
        assert!(e.to_string().contains("call_recieved"), "{e}");
    }
}
