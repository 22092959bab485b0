//! GeoTIFF rasters (as WorldPop, GHSL and the JEMSS city models publish population): the grid
//! of values and its georeferencing from the GeoTIFF tags.
//!
//! This module owns reading one band of a GeoTIFF (any sample type, strips or tiles, as the
//! `tiff` crate decodes them) with its model tie point and pixel scale, its coordinate system
//! from the GeoKeys (`GeographicTypeGeoKey` or `ProjectedCSTypeGeoKey`, or a user-defined
//! Mollweide named in the citation, as GHSL writes it) and its no-data value. It must not
//! decide what a value means: the caller says whether it is a count or a density.

use std::io::Cursor;
use std::path::Path;

use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

use super::crs::Crs;
use super::{GisError, has_ext, read_bytes, zip_members};

/// A single-band raster with its georeferencing.
#[derive(Debug)]
pub struct Raster {
    pub width: usize,
    pub height: usize,
    /// Row-major values; the no-data value and non-finite values are `NaN`.
    pub values: Vec<f64>,
    /// The outer corner of pixel `(0, 0)` in the raster's system.
    pub origin: [f64; 2],
    /// Pixel size: `x` grows with the column, `y` falls with the row.
    pub pixel: [f64; 2],
    pub crs: Crs,
}

impl Raster {
    /// The centre of pixel `(col, row)` in the raster's system.
    pub fn centre(&self, col: usize, row: usize) -> [f64; 2] {
        [
            self.origin[0] + (col as f64 + 0.5) * self.pixel[0],
            self.origin[1] - (row as f64 + 0.5) * self.pixel[1],
        ]
    }

    /// The value at `(col, row)`.
    pub fn value(&self, col: usize, row: usize) -> f64 {
        self.values[row * self.width + col]
    }
}

fn to_f64(d: DecodingResult) -> Vec<f64> {
    match d {
        DecodingResult::U8(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::U16(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::U32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::U64(v) => v.into_iter().map(|x| x as f64).collect(),
        DecodingResult::F16(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::F32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::F64(v) => v,
        DecodingResult::I8(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::I16(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::I32(v) => v.into_iter().map(f64::from).collect(),
        DecodingResult::I64(v) => v.into_iter().map(|x| x as f64).collect(),
    }
}

/// The coordinate system the GeoKeys name.
fn crs_of(keys: &[u16], ascii: &str) -> Result<Crs, String> {
    // Header (4 shorts), then (key, location, count, value) entries.
    let key = |id: u16| {
        keys.get(4..)
            .unwrap_or(&[])
            .chunks_exact(4)
            .find(|e| e[0] == id && e[1] == 0)
            .map(|e| e[3])
    };
    const MODEL_TYPE: u16 = 1024;
    const GEOGRAPHIC: u16 = 2048;
    const PROJECTED: u16 = 3072;
    match key(MODEL_TYPE) {
        Some(2) | None => match key(GEOGRAPHIC) {
            Some(code) if code != 32767 => Crs::from_epsg(u32::from(code)),
            _ if ascii.contains("WGS 84") || ascii.contains("WGS_1984") => Ok(Crs::Wgs84),
            _ => Err(format!(
                "a user-defined geographic system ({ascii}) is not supported"
            )),
        },
        Some(1) => match key(PROJECTED) {
            Some(code) if code != 32767 => Crs::from_epsg(u32::from(code)),
            _ if ascii.to_ascii_lowercase().contains("mollweide") => Crs::from_epsg(54009),
            _ => Err(format!(
                "a user-defined projection ({ascii}) is not supported: reproject the raster to \
                 WGS 84 (EPSG:4326), e.g. with gdalwarp -t_srs EPSG:4326"
            )),
        },
        Some(t) => Err(format!("GTModelTypeGeoKey {t} is not supported")),
    }
}

/// Reads a GeoTIFF (`.tif`, or a `.zip` holding one).
pub fn read(path: &Path) -> Result<Raster, GisError> {
    let bytes = if has_ext(path, &[".zip"]) {
        let mut tifs = zip_members(path, ".tif")?;
        tifs.extend(zip_members(path, ".tiff")?);
        match tifs.len() {
            1 => tifs.pop().expect("one").1,
            0 => return Err(GisError::format(path, "the zip archive holds no .tif file")),
            n => {
                return Err(GisError::format(
                    path,
                    format!("the zip archive holds {n} .tif files: unzip the one to use"),
                ));
            }
        }
    } else {
        read_bytes(path)?
    };
    let bad = |m: String| GisError::format(path, m);
    let mut d = Decoder::new(Cursor::new(bytes))
        .map_err(|e| bad(format!("not a readable TIFF: {e}")))?
        .with_limits(Limits::unlimited());
    let (w, h) = d.dimensions().map_err(|e| bad(e.to_string()))?;
    let scale = d.get_tag_f64_vec(Tag::ModelPixelScaleTag).map_err(|_| {
        bad("no ModelPixelScaleTag: not a georeferenced GeoTIFF (or a rotated one, which is not read)".into())
    })?;
    let tie = d
        .get_tag_f64_vec(Tag::ModelTiepointTag)
        .map_err(|_| bad("no ModelTiepointTag: not a georeferenced GeoTIFF".into()))?;
    if scale.len() < 2 || tie.len() < 6 || !(scale[0] > 0.0 && scale[1] > 0.0) {
        return Err(bad(format!(
            "unusable georeferencing: pixel scale {scale:?}, tie point {tie:?}"
        )));
    }
    let keys = d
        .get_tag_u16_vec(Tag::GeoKeyDirectoryTag)
        .unwrap_or_default();
    let ascii = d
        .get_tag_ascii_string(Tag::GeoAsciiParamsTag)
        .unwrap_or_default();
    let crs = crs_of(&keys, &ascii).map_err(|message| GisError::Crs {
        path: path.display().to_string(),
        message,
    })?;
    let nodata = d
        .get_tag_ascii_string(Tag::GdalNodata)
        .ok()
        .and_then(|s| s.trim_matches(char::from(0)).trim().parse::<f64>().ok());
    let mut values = to_f64(
        d.read_image()
            .map_err(|e| bad(format!("cannot decode the image: {e}")))?,
    );
    let (width, height) = (w as usize, h as usize);
    if values.len() != width * height {
        return Err(bad(format!(
            "{} samples for {width} x {height} pixels: only single-band rasters are read",
            values.len()
        )));
    }
    for v in values.iter_mut() {
        if !v.is_finite() || nodata.is_some_and(|n| *v == n) {
            *v = f64::NAN;
        }
    }
    // The tie point maps raster (i, j) to model (x, y).
    let origin = [tie[3] - tie[0] * scale[0], tie[4] + tie[1] * scale[1]];
    Ok(Raster {
        width,
        height,
        values,
        origin,
        pixel: [scale[0], scale[1]],
        crs,
    })
}
