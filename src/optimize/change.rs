//! Changes to a scenario's stations: what-if additions and closures, ambulance counts, and the
//! changes a plan makes.
//!
//! This module owns how a change turns one scenario into another, so `ems optimize` (the
//! standards after a plan), `ems evaluate` (each what-if) and `ems simulate` (`--add-station`,
//! `--ambulances`) change scenarios by one rule, with one naming rule for new sites
//! ([`Station::new_site_id`]). It must not evaluate anything. Cloning a scenario shares its road
//! network.

use crate::model::{Scenario, Station};

use super::plan::{FleetPlan, Plan};

/// One change to the station network.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// A new station at `[lon, lat]` with this many ambulances. New sites are numbered in the
    /// order they are added: `new-1`, `new-2`, ...
    AddSite { lon_lat: [f64; 2], ambulances: u32 },
    /// Close an existing station (by id).
    RemoveStation(String),
    /// Set a station's ambulances.
    SetAmbulances { station: String, ambulances: u32 },
}

impl Change {
    /// A short label: `add (lon, lat)`, `remove ID`, `ID: N ambulances`.
    pub fn label(&self) -> String {
        match self {
            Change::AddSite { lon_lat, .. } => {
                format!("add ({:.6}, {:.6})", lon_lat[0], lon_lat[1])
            }
            Change::RemoveStation(id) => format!("remove {id}"),
            Change::SetAmbulances {
                station,
                ambulances,
            } => format!("{station}: {ambulances} ambulances"),
        }
    }
}

/// A change names a station the scenario does not have.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("no station `{station}` in the scenario (its stations: {known})")]
pub struct UnknownStation {
    pub station: String,
    /// The scenario's station ids, comma-separated.
    pub known: String,
}

/// Checks that every change names an existing station.
pub fn check(sc: &Scenario, changes: &[Change]) -> Result<(), UnknownStation> {
    for c in changes {
        let id = match c {
            Change::RemoveStation(id) => id,
            Change::SetAmbulances { station, .. } => station,
            Change::AddSite { .. } => continue,
        };
        if !sc.stations.iter().any(|s| &s.id == id) {
            let ids: Vec<&str> = sc.stations.iter().map(|s| s.id.as_str()).collect();
            return Err(UnknownStation {
                station: id.clone(),
                known: ids.join(", "),
            });
        }
    }
    Ok(())
}

/// The scenario with `changes` applied in order; `source` says what added the new sites (it
/// is recorded in each new station's `source`).
pub fn apply<'a>(
    sc: &Scenario,
    changes: impl IntoIterator<Item = &'a Change>,
    source: &str,
) -> Result<Scenario, UnknownStation> {
    let changes: Vec<Change> = changes.into_iter().cloned().collect();
    check(sc, &changes)?;
    let mut v = sc.clone();
    let mut added = 0;
    for c in changes {
        match c {
            Change::AddSite {
                lon_lat,
                ambulances,
            } => {
                v.stations
                    .push(Station::new_site(added, lon_lat, ambulances, source));
                added += 1;
            }
            Change::RemoveStation(id) => v.stations.retain(|s| s.id != id),
            Change::SetAmbulances {
                station,
                ambulances,
            } => {
                for s in v.stations.iter_mut().filter(|s| s.id == station) {
                    s.ambulances = ambulances;
                    s.negative_pressure = s.negative_pressure.map(|n| n.min(ambulances));
                }
            }
        }
    }
    Ok(v)
}

impl Plan {
    /// What the plan changes: existing stations it does not keep close (relocation), and
    /// each new site opens with `ambulances_per_site`.
    pub fn changes(&self, sc: &Scenario, ambulances_per_site: u32) -> Vec<Change> {
        let mut out: Vec<Change> = sc
            .stations
            .iter()
            .filter(|s| !self.kept_stations.contains(&s.id))
            .map(|s| Change::RemoveStation(s.id.clone()))
            .collect();
        out.extend(self.new_sites.iter().map(|s| Change::AddSite {
            lon_lat: s.lon_lat,
            ambulances: ambulances_per_site,
        }));
        out
    }
}

impl FleetPlan {
    /// What the placement changes: every station gets its planned ambulances, stations left
    /// with none close, and new sites with ambulances open (in the order of [`FleetPlan::sites`],
    /// so they keep the plan's ids).
    pub fn changes(&self, sc: &Scenario) -> Vec<Change> {
        let mut out = Vec::new();
        for st in &sc.stations {
            match self.sites.iter().find(|s| s.id == st.id) {
                Some(site) if site.after > 0 => out.push(Change::SetAmbulances {
                    station: st.id.clone(),
                    ambulances: site.after as u32,
                }),
                _ => out.push(Change::RemoveStation(st.id.clone())),
            }
        }
        let known = |id: &str| sc.stations.iter().any(|s| s.id == id);
        out.extend(
            self.sites
                .iter()
                .filter(|s| !known(&s.id) && s.after > 0)
                .map(|s| Change::AddSite {
                    lon_lat: s.lon_lat,
                    ambulances: s.after as u32,
                }),
        );
        out
    }
}
