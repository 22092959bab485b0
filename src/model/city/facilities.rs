//! A city's stations and hospitals: from the planner's files (GeoJSON, CSV or Shapefile) or
//! from the extract's OpenStreetMap tags, with what was assumed about them.
//!
//! This file owns those two lists and [`osm_capabilities`]. It must not touch the boundary or
//! demand.

use std::path::Path;

use super::{City, CityError, CityRequest, unique_id};
use crate::model::gis::{self, GisError, PointRecord};
use crate::model::{Capability, Hospital, Station};
use crate::network::{PoiKind, RoadNetwork};

pub(super) fn stations_from_file(
    city: &mut City,
    req: &CityRequest,
    p: &Path,
) -> Result<(), CityError> {
    let recs: Vec<PointRecord> = gis::read_points(p, &req.csv)?;
    let (mut no_id, mut no_amb) = (0, 0);
    let mut seen = std::collections::HashSet::new();
    for (k, r) in recs.iter().enumerate() {
        let id = match req.csv.get("id", &r.attrs) {
            Some(v) => v.to_string(),
            None => {
                no_id += 1;
                format!("station-{}", k + 1)
            }
        };
        let ambulances = match req.csv.get("ambulances", &r.attrs) {
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|x| *x >= 0.0 && x.fract() == 0.0)
                .ok_or_else(|| GisError::Record {
                    path: p.display().to_string(),
                    at: r.at.clone(),
                    field: "ambulances".into(),
                    message: format!("`{v}` is not a whole number of ambulances"),
                })? as u32,
            None => {
                no_amb += 1;
                req.default_ambulances
            }
        };
        let id = unique_id(&mut seen, id);
        city.stations.push(Station {
            name: req
                .csv
                .get("name", &r.attrs)
                .map_or_else(|| id.clone(), str::to_string),
            id,
            lon_lat: r.lon_lat,
            ambulances,
            negative_pressure: None,
            source: Some(format!("{} {}", p.display(), r.at)),
        });
    }
    city.assume(
        "stations",
        format!("{} stations", recs.len()),
        p.display().to_string(),
    );
    if no_id > 0 {
        city.assume(
            "station ids",
            format!("station-N for {no_id} stations"),
            "no id column",
        );
    }
    if no_amb > 0 {
        city.assume(
            "ambulances per station",
            format!("{} at {no_amb} stations", req.default_ambulances),
            "no ambulances column: the default (--ambulances-per-station); correct them in stations.geojson",
        );
    }
    Ok(())
}

pub(super) fn stations_from_osm(
    city: &mut City,
    req: &CityRequest,
    net: &RoadNetwork,
) -> Result<(), CityError> {
    let count = |k: PoiKind| net.pois.iter().filter(|p| p.kind == k).count();
    let (amb, fire) = (
        count(PoiKind::AmbulanceStation),
        count(PoiKind::FireStation),
    );
    let kinds: &[PoiKind] = if amb > 0 {
        &[PoiKind::AmbulanceStation]
    } else if req.fire_stations && fire > 0 {
        &[PoiKind::FireStation]
    } else {
        return Err(CityError::Missing(format!(
            "the extract has no emergency=ambulance_station{}: pass --stations FILE (GeoJSON, CSV \
             or Shapefile of your stations, with lon, lat, id, name and ambulances){}",
            if fire > 0 {
                format!(" (it has {fire} amenity=fire_station)")
            } else {
                String::new()
            },
            if fire > 0 && !req.fire_stations {
                ", or --fire-stations to use the fire stations"
            } else {
                ""
            }
        )));
    };
    let mut seen = std::collections::HashSet::new();
    for p in net.pois.iter().filter(|p| kinds.contains(&p.kind)) {
        let id = unique_id(&mut seen, p.osm.replace('/', "-"));
        city.stations.push(Station {
            name: p.name.clone().unwrap_or_else(|| id.clone()),
            id,
            lon_lat: p.lon_lat,
            ambulances: req.default_ambulances,
            negative_pressure: None,
            source: Some(format!("osm:{}", p.osm)),
        });
    }
    city.assume(
        "stations",
        format!("{} from OpenStreetMap", city.stations.len()),
        if kinds[0] == PoiKind::AmbulanceStation {
            "emergency=ambulance_station nodes and ways (ways at their centroid)"
        } else {
            "amenity=fire_station (--fire-stations): the extract has no emergency=ambulance_station"
        },
    );
    city.assume(
        "ambulances per station",
        format!("{} at each", req.default_ambulances),
        "OpenStreetMap does not say: correct them in stations.geojson",
    );
    Ok(())
}

/// Capabilities from OSM `healthcare:speciality` (and `emergency=yes`).
pub fn osm_capabilities(tags: &std::collections::BTreeMap<String, String>) -> Vec<Capability> {
    let mut caps = vec![Capability::Emergency];
    let spec = tags
        .get("healthcare:speciality")
        .map(String::as_str)
        .unwrap_or("");
    for s in spec.split([';', ',']).map(str::trim) {
        let c = match s {
            "cardiology" | "cardiac_surgery" => Capability::ChestPain,
            "neurology" | "stroke" | "neurosurgery" => Capability::Stroke,
            "trauma" | "traumatology" | "emergency_surgery" => Capability::Trauma,
            "obstetrics" | "gynaecology" | "maternity" => Capability::Maternal,
            "neonatology" => Capability::Neonatal,
            "paediatrics" | "pediatrics" => Capability::Pediatric,
            _ => continue,
        };
        if !caps.contains(&c) {
            caps.push(c);
        }
    }
    caps
}

pub(super) fn hospitals_from_file(
    city: &mut City,
    req: &CityRequest,
    p: &Path,
) -> Result<(), CityError> {
    let recs = gis::read_points(p, &req.csv)?;
    let mut assumed_caps = 0;
    let mut seen = std::collections::HashSet::new();
    for (k, r) in recs.iter().enumerate() {
        let id = unique_id(
            &mut seen,
            req.csv
                .get("id", &r.attrs)
                .map_or_else(|| format!("hospital-{}", k + 1), str::to_string),
        );
        let capabilities = match req.csv.get("capabilities", &r.attrs) {
            Some(v) => v
                .split([';', ',', '|'])
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| {
                    Capability::parse(x).ok_or_else(|| GisError::Record {
                        path: p.display().to_string(),
                        at: r.at.clone(),
                        field: "capabilities".into(),
                        message: format!(
                            "unknown capability `{x}`; expected one of {}",
                            Capability::ALL.map(|c| c.as_str()).join(", ")
                        ),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => {
                assumed_caps += 1;
                vec![Capability::Emergency]
            }
        };
        let ed_bays = req
            .csv
            .get("ed_bays", &r.attrs)
            .and_then(|v| v.parse().ok());
        city.hospitals.push(Hospital {
            name: req
                .csv
                .get("name", &r.attrs)
                .map_or_else(|| id.clone(), str::to_string),
            id,
            lon_lat: r.lon_lat,
            capabilities,
            ed_bays,
            source: Some(format!("{} {}", p.display(), r.at)),
        });
    }
    city.assume(
        "hospitals",
        format!("{} hospitals", recs.len()),
        p.display().to_string(),
    );
    if assumed_caps > 0 {
        city.assume(
            "hospital capabilities",
            format!("emergency only, at {assumed_caps} hospitals"),
            "no capabilities column: add stroke, chest_pain, trauma, maternal, neonatal in hospitals.geojson",
        );
    }
    Ok(())
}

pub(super) fn hospitals_from_osm(
    city: &mut City,
    req: &CityRequest,
    net: &RoadNetwork,
) -> Result<(), CityError> {
    let all: Vec<&crate::network::Poi> = net
        .pois
        .iter()
        .filter(|p| p.kind == PoiKind::Hospital)
        .collect();
    let chosen: Vec<&&crate::network::Poi> = all
        .iter()
        .filter(|p| p.emergency || req.all_hospitals)
        .collect();
    if chosen.is_empty() {
        return Err(CityError::Missing(if all.is_empty() {
            "the extract has no amenity=hospital: pass --hospitals FILE (GeoJSON, CSV or Shapefile \
             of the receiving hospitals, with lon, lat, id, name and capabilities)"
                .to_string()
        } else {
            format!(
                "the extract has {} amenity=hospital but none tagged emergency=yes: pass --hospitals \
                 FILE, or --all-hospitals to take them all",
                all.len()
            )
        }));
    }
    let mut seen = std::collections::HashSet::new();
    for p in &chosen {
        let id = unique_id(&mut seen, p.osm.replace('/', "-"));
        city.hospitals.push(Hospital {
            name: p.name.clone().unwrap_or_else(|| id.clone()),
            id,
            lon_lat: p.lon_lat,
            capabilities: osm_capabilities(&p.tags),
            ed_bays: None,
            source: Some(format!("osm:{}", p.osm)),
        });
    }
    city.assume(
        "hospitals",
        format!("{} from OpenStreetMap", chosen.len()),
        if req.all_hospitals {
            "every amenity=hospital (--all-hospitals)"
        } else {
            "amenity=hospital with emergency=yes"
        },
    );
    city.assume(
        "hospital capabilities",
        "emergency, plus what healthcare:speciality says (cardiology: chest_pain, neurology: stroke, trauma, obstetrics: maternal, neonatology: neonatal)",
        "OpenStreetMap tags; designations are rarely mapped: correct them in hospitals.geojson",
    );
    Ok(())
}
