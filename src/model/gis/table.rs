//! CSV point tables: a header row (after `skip_rows` title lines, as the JEMSS model files
//! have), longitude and latitude columns found by name or given, every other column kept as an
//! attribute. Comma, semicolon or tab separated, detected from the header.
//!
//! This module owns reading the table. It must not decide what the columns mean beyond the
//! coordinates: `ems init` maps the attributes to fields.

use std::path::Path;

use super::{Attrs, GisError, PointRecord, read_bytes};

/// Column names of a point table, where they differ from the usual ones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CsvOptions {
    /// Title lines before the header row.
    pub skip_rows: usize,
    /// Our field name → the file's column name (`lon`, `lat`, `id`, `name`, `ambulances`,
    /// `capabilities`, `ed_bays`).
    pub columns: Vec<(String, String)>,
}

/// The column names looked for, in order, when a field is not mapped.
pub fn aliases(field: &str) -> &'static [&'static str] {
    match field {
        "lon" => &["lon", "lng", "long", "longitude", "x", "经度"],
        "lat" => &["lat", "latitude", "y", "纬度"],
        "id" => &["id", "station_id", "code", "index", "fid", "编号"],
        "name" => &["name", "station", "title", "名称"],
        "ambulances" => &["ambulances", "vehicles", "units", "救护车"],
        "capabilities" => &["capabilities", "specialities", "specialties"],
        "ed_bays" => &["ed_bays", "bays"],
        _ => &[],
    }
}

impl CsvOptions {
    /// The column `field` is read from: the mapped name, else the first alias present
    /// (case-insensitive).
    pub fn column<'h>(&self, field: &str, header: &'h [String]) -> Option<&'h str> {
        if let Some((_, c)) = self.columns.iter().find(|(f, _)| f == field) {
            return header.iter().find(|h| h == &c).map(String::as_str);
        }
        aliases(field).iter().find_map(|a| {
            header
                .iter()
                .find(|h| h.trim().eq_ignore_ascii_case(a))
                .map(String::as_str)
        })
    }

    /// The attribute `field` of a record read with these options (mapped name, else an alias).
    pub fn get<'a>(&self, field: &str, attrs: &'a Attrs) -> Option<&'a str> {
        let header: Vec<String> = attrs.keys().cloned().collect();
        let col = self.column(field, &header)?;
        attrs.get(col).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
}

/// Reads a CSV of points. Errors name the file, the line and the column.
pub fn read_points(path: &Path, o: &CsvOptions) -> Result<Vec<PointRecord>, GisError> {
    let name = path.display().to_string();
    let bytes = read_bytes(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| GisError::format(path, "not UTF-8 text (save the table as UTF-8 CSV)"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut lines = text.split_inclusive('\n');
    let mut skipped = String::new();
    for _ in 0..o.skip_rows {
        skipped.push_str(lines.next().unwrap_or(""));
    }
    let rest: String = lines.collect();
    let header_line = rest.lines().next().unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| header_line.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(rest.as_bytes());
    let header: Vec<String> = r
        .headers()
        .map_err(|e| GisError::format(path, format!("header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let first_line = o.skip_rows as u64 + 1;
    let need =
        |field: &str| -> Result<String, GisError> {
            o.column(field, &header).map(str::to_string).ok_or_else(|| GisError::Record {
            path: name.clone(),
            at: format!("line {first_line}"),
            field: field.into(),
            message: format!(
                "no `{field}` column among [{}]: name it with --csv-columns {field}=COLUMN{}",
                header.join(", "),
                if o.skip_rows == 0 && header.len() <= 2 {
                    " (or skip title lines with --csv-skip-rows N)"
                } else {
                    ""
                }
            ),
        })
        };
    let (lon_col, lat_col) = (need("lon")?, need("lat")?);
    let mut out = Vec::new();
    for (k, row) in r.records().enumerate() {
        let line = first_line + 1 + k as u64;
        let at = format!("line {line}");
        let row = row.map_err(|e| GisError::Record {
            path: name.clone(),
            at: at.clone(),
            field: "row".into(),
            message: e.to_string(),
        })?;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let attrs: Attrs = header
            .iter()
            .zip(row.iter())
            .filter(|(h, _)| !h.is_empty())
            .map(|(h, v)| (h.clone(), v.trim().to_string()))
            .collect();
        let num = |col: &str| -> Result<f64, GisError> {
            let v = attrs.get(col).map(String::as_str).unwrap_or("");
            v.parse::<f64>().map_err(|_| GisError::Record {
                path: name.clone(),
                at: at.clone(),
                field: col.to_string(),
                message: format!("`{v}` is not a number"),
            })
        };
        let lon_lat = [num(&lon_col)?, num(&lat_col)?];
        super::check_lon_lat(path, &at, lon_lat)?;
        out.push(PointRecord { at, lon_lat, attrs });
    }
    if out.is_empty() {
        return Err(GisError::format(path, "the table has no data rows"));
    }
    Ok(out)
}
