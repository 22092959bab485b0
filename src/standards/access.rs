//! Road access from the stations: each demand zone's fastest station (the network figures of
//! the service radius and the modelled response time) and the modelled response time at every
//! road node (for maps).
//!
//! This module owns those travel-time figures. It routes only through the shared
//! [`TravelModel`]; it must not build a model of its own or format output.

use super::{CheckError, CheckOptions, DataQuality, ZoneAccess};
use crate::model::Scenario;
use crate::network::{Direction, Seed, Snapped, TravelModel};

/// Per-zone access from the nearest station (by travel time).
pub(super) fn zone_access(
    sc: &Scenario,
    tm: &TravelModel,
    opts: &CheckOptions,
    dq: &mut DataQuality,
) -> Result<Vec<ZoneAccess>, CheckError> {
    // The stations are on the map (the check removed those that are not).
    let stations: Vec<Snapped> = sc
        .stations
        .iter()
        .filter_map(|s| tm.snap(s.lon_lat).ok())
        .collect();
    let mut zones = Vec::new();
    let mut snapped = Vec::new();
    for z in &sc.demand {
        match tm.snap(z.lon_lat) {
            Ok(s) => {
                zones.push(z);
                snapped.push(s);
            }
            Err(_) => dq.unsnapped_zones.push(z.id.clone()),
        }
    }
    let m = tm.matrix_over(&opts.hours, &stations, &snapped, None);
    let mut out = Vec::new();
    for (c, z) in zones.iter().enumerate() {
        let best = (0..m.rows)
            .filter_map(|r| m.get(r, c).map(|e| (r, e)))
            .min_by_key(|(_, e)| e.time_ms);
        match best {
            Some((r, e)) => {
                let travel = e.minutes();
                out.push(ZoneAccess {
                    zone: z.id.clone(),
                    name: z.name.clone(),
                    population: z.population,
                    station: sc.stations[r].id.clone(),
                    travel_min: travel,
                    distance_km: e.distance_m / 1000.0,
                    modelled_response_min: travel + (opts.call_handling_s + opts.turnout_s) / 60.0,
                });
            }
            None => dq.unreachable_zones.push(z.id.clone()),
        }
    }
    Ok(out)
}

/// The earliest modelled response time at every road node: one multi-source search from all
/// stations, plus call handling and turnout. Minutes; `None` where unreached. For maps.
pub fn node_response_minutes(
    sc: &Scenario,
    tm: &TravelModel,
    opts: &CheckOptions,
) -> Vec<Option<f64>> {
    // One hour: that hour's graph. Weighted hours: the free-flow graph scaled by the weighted
    // mean of the hours' `by_hour` factors (a map shading, not a figure).
    let (model, scale) = match (tm.traffic(), opts.hours) {
        (None, _) => (None, 1.0),
        (Some(_), crate::network::Hours::Hour { hour }) => (Some(tm.at_hour(hour)), 1.0),
        (Some(t), h) => {
            let w = h.weights();
            (None, (0..24).map(|k| w[k] * t.hour_factor(k)).sum::<f64>())
        }
    };
    let tm = model.as_ref().unwrap_or(tm);
    let seeds: Vec<Seed> = sc
        .staffed_stations()
        .filter_map(|s| tm.snap(s.lon_lat).ok())
        .flat_map(|sn| tm.departure_seeds(&sn).collect::<Vec<_>>())
        .collect();
    let mut q = tm.query();
    q.run(&tm.graph, Direction::Forward, &seeds, None);
    let fixed = (opts.call_handling_s + opts.turnout_s) / 60.0;
    (0..tm.graph.num_nodes() as u32)
        .map(|v| q.time(v).map(|t| scale * t as f64 / 60_000.0 + fixed))
        .collect()
}
