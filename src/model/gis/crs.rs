//! Coordinate reference systems: WGS 84, or a projection converted to WGS 84 with `proj4rs`
//! (a pure-Rust port of PROJ.4; WKT from `.prj` files is turned into a PROJ string by
//! `proj4wkt`).
//!
//! This module owns recognising a CRS and converting coordinates to WGS 84 longitude and
//! latitude. It must not guess: a system it cannot convert is an error naming it. Geographic
//! systems on the WGS 84 or GRS 80 ellipsoid with no datum shift (WGS 84, NZGD2000, ETRS89,
//! CGCS2000, ...) are taken as WGS 84: they differ from it by well under a metre.

use proj4rs::Proj;

/// A coordinate reference system.
#[derive(Debug, Clone)]
pub enum Crs {
    /// Longitude and latitude in degrees on WGS 84 (or a datum within a metre of it).
    Wgs84,
    /// A system converted by `proj4rs`.
    Proj {
        /// What the file calls it.
        name: String,
        proj: Box<Proj>,
    },
}

/// The name a WKT gives itself (`PROJCS["name", ...` or `GEOGCS["name", ...`).
fn wkt_name(wkt: &str) -> String {
    wkt.split('"').nth(1).unwrap_or("unnamed").to_string()
}

impl Crs {
    /// A system from a PROJ string.
    pub fn from_proj_string(name: &str, ps: &str) -> Result<Crs, String> {
        let is_geographic = ps.contains("+proj=longlat") || ps.contains("+proj=latlong");
        let wgs_ellipsoid = (ps.contains("+a=6378137 ") || ps.contains("+a=6378137.0 "))
            && (ps.contains("+rf=298.257223563") || ps.contains("+rf=298.257222101"))
            || ps.contains("+datum=WGS84")
            || ps.contains("+ellps=WGS84")
            || ps.contains("+ellps=GRS80");
        let no_shift = !ps.contains("+towgs84") || ps.contains("+towgs84=0,0,0,0,0,0,0");
        if is_geographic && wgs_ellipsoid && no_shift && !ps.contains("+pm=") {
            return Ok(Crs::Wgs84);
        }
        let proj = Proj::from_proj_string(ps)
            .map_err(|e| format!("`{name}` ({ps}) is not supported by proj4rs: {e}"))?;
        Ok(Crs::Proj {
            name: name.to_string(),
            proj: Box::new(proj),
        })
    }

    /// A system from a `.prj` file's WKT.
    pub fn from_wkt(wkt: &str) -> Result<Crs, String> {
        let name = wkt_name(wkt);
        let ps = proj4wkt::wkt_to_projstring(wkt.trim()).map_err(|e| {
            format!(
                "`{name}` cannot be read ({e}); convert the file to WGS 84 (EPSG:4326), e.g. with \
                 QGIS or ogr2ogr -t_srs EPSG:4326"
            )
        })?;
        Crs::from_proj_string(&name, &ps)
    }

    /// A system from an EPSG (or ESRI) code: WGS 84 and its near-equals, Web Mercator, UTM,
    /// New Zealand TM, and Mollweide (ESRI:54009, as GHSL publishes).
    pub fn from_epsg(code: u32) -> Result<Crs, String> {
        let ps = match code {
            4326 | 4167 | 4258 | 4490 | 4283 | 4269 => return Ok(Crs::Wgs84),
            3857 | 900913 => "+proj=merc +a=6378137 +b=6378137 +lat_ts=0 +lon_0=0 +x_0=0 +y_0=0 +k=1 +units=m +no_defs".to_string(),
            2193 => "+proj=tmerc +lat_0=0 +lon_0=173 +k=0.9996 +x_0=1600000 +y_0=10000000 +ellps=GRS80 +units=m +no_defs".to_string(),
            54009 => "+proj=moll +lon_0=0 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs".to_string(),
            32601..=32660 => format!("+proj=utm +zone={} +datum=WGS84 +units=m +no_defs", code - 32600),
            32701..=32760 => format!("+proj=utm +zone={} +south +datum=WGS84 +units=m +no_defs", code - 32700),
            _ => {
                return Err(format!(
                    "EPSG:{code} is not one ems knows (WGS 84, 3857, UTM 326xx/327xx, 2193, \
                     Mollweide 54009); convert the file to WGS 84 (EPSG:4326)"
                ));
            }
        };
        Crs::from_proj_string(&format!("EPSG:{code}"), &ps)
    }

    /// Whether coordinates are already WGS 84 longitude/latitude.
    pub fn is_wgs84(&self) -> bool {
        matches!(self, Crs::Wgs84)
    }

    /// The system's name, for messages and assumptions.
    pub fn name(&self) -> &str {
        match self {
            Crs::Wgs84 => "WGS 84",
            Crs::Proj { name, .. } => name,
        }
    }

    fn wgs84() -> Proj {
        Proj::from_proj_string("+proj=longlat +datum=WGS84 +no_defs").expect("WGS 84 is valid")
    }

    /// `[x, y]` in this system to `[lon, lat]` in degrees.
    pub fn to_lon_lat(&self, xy: [f64; 2]) -> Result<[f64; 2], String> {
        match self {
            Crs::Wgs84 => Ok(xy),
            Crs::Proj { proj, name } => {
                let mut p = (xy[0], xy[1], 0.0);
                if proj.is_latlong() {
                    p.0 = p.0.to_radians();
                    p.1 = p.1.to_radians();
                }
                proj4rs::transform::transform(proj, &Crs::wgs84(), &mut p)
                    .map_err(|e| format!("({}, {}) in `{name}`: {e}", xy[0], xy[1]))?;
                Ok([p.0.to_degrees(), p.1.to_degrees()])
            }
        }
    }

    /// `[lon, lat]` in degrees to `[x, y]` in this system.
    pub fn from_lon_lat(&self, ll: [f64; 2]) -> Result<[f64; 2], String> {
        match self {
            Crs::Wgs84 => Ok(ll),
            Crs::Proj { proj, name } => {
                let mut p = (ll[0].to_radians(), ll[1].to_radians(), 0.0);
                proj4rs::transform::transform(&Crs::wgs84(), proj, &mut p)
                    .map_err(|e| format!("({}, {}) to `{name}`: {e}", ll[0], ll[1]))?;
                if proj.is_latlong() {
                    p.0 = p.0.to_degrees();
                    p.1 = p.1.to_degrees();
                }
                Ok([p.0, p.1])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference pairs computed with pyproj 3.7.2 (PROJ 9.5.1), `Transformer.from_crs(...,
    /// always_xy=True)`: EPSG:2193 (NZTM2000) (1757001, 5920544) → (174.7609525286609,
    /// −36.84798326396779); ESRI:54009 (Mollweide) (7.42, 43.73) → (607529.0836720611,
    /// 5201905.6253882665).
    #[test]
    fn projections_convert_to_wgs84() {
        let nztm = Crs::from_wkt(r#"PROJCS["NZGD2000 / New Zealand Transverse Mercator 2000",GEOGCS["NZGD2000",DATUM["New_Zealand_Geodetic_Datum_2000",SPHEROID["GRS 1980",6378137,298.257222101]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",173],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",1600000],PARAMETER["false_northing",10000000],UNIT["metre",1]]"#).unwrap();
        let [lon, lat] = nztm.to_lon_lat([1757001.0, 5920544.0]).unwrap();
        assert!((lon - 174.7609525286609).abs() < 1e-8, "{lon}");
        assert!((lat + 36.84798326396779).abs() < 1e-8, "{lat}");
        let moll = Crs::from_epsg(54009).unwrap();
        let xy = moll.from_lon_lat([7.42, 43.73]).unwrap();
        assert!(
            (xy[0] - 607529.0836720611).abs() < 1e-3 && (xy[1] - 5201905.6253882665).abs() < 1e-3
        );
        let back = moll.to_lon_lat(xy).unwrap();
        assert!((back[0] - 7.42).abs() < 1e-9 && (back[1] - 43.73).abs() < 1e-9);
        let geo = Crs::from_wkt(r#"GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["Degree",0.017453292519943295]]"#).unwrap();
        assert!(geo.is_wgs84());
        let e = Crs::from_epsg(27700).unwrap_err();
        assert!(e.contains("EPSG:27700"), "{e}");
    }
}
