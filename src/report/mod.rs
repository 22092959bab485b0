//! Text, JSON, HTML and SVG output for people and scripts.
//!
//! This module owns formatting. It must not compute anything a number depends on beyond
//! presentation (units, rounding); analyses hand it finished results.

pub mod check;
pub mod html;

use serde_json::{Value, json};

use crate::model::{Capability, Scenario};
use crate::network::{ImportSummary, Route, Snapped, TravelModel};

/// The import summary as an aligned text block.
pub fn import_summary_text(s: &ImportSummary) -> String {
    let mut o = String::new();
    let mut line = |k: &str, v: String| o.push_str(&format!("  {k:<15} {v}\n"));
    line("source", format!("{} ({})", s.source, s.format));
    line(
        "osm elements",
        format!(
            "{} nodes, {} ways, {} relations",
            s.osm_nodes, s.osm_ways, s.osm_relations
        ),
    );
    line(
        "highway ways",
        format!(
            "{} ({} drivable; dropped: {} not drivable, {} area, {} no access)",
            s.highway_ways,
            s.drivable_ways,
            s.rejected_not_drivable,
            s.rejected_area,
            s.rejected_access
        ),
    );
    line(
        "graph",
        format!(
            "{} nodes, {} edges, {} segments",
            s.nodes, s.edges, s.segments
        ),
    );
    line("road", format!("{:.1} km", s.road_km));
    line(
        "largest SCC",
        format!(
            "{:.1} % of nodes kept; dropped {} nodes, {} segments, {:.2} km ({} components)",
            s.largest_scc_share * 100.0,
            s.dropped_nodes,
            s.dropped_segments,
            s.dropped_road_km,
            s.components
        ),
    );
    line(
        "missing refs",
        format!(
            "{} node references missing from the file, in {} ways ({} ways left without geometry)",
            s.missing_node_refs, s.ways_with_missing_refs, s.ways_without_geometry
        ),
    );
    line(
        "tags",
        format!(
            "{} ways with maxspeed, {} reversible, {} emergency-only",
            s.maxspeed_tagged_ways, s.reversible_ways, s.emergency_only_ways
        ),
    );
    line(
        "POIs",
        format!(
            "{} hospitals ({} with emergency=yes), {} ambulance stations, {} fire stations, {} buildings",
            s.hospitals,
            s.hospitals_with_emergency,
            s.ambulance_stations,
            s.fire_stations,
            s.buildings
        ),
    );
    if s.poi_relations_skipped > 0 {
        line(
            "not read",
            format!(
                "{} POIs/buildings mapped as relations",
                s.poi_relations_skipped
            ),
        );
    }
    format!("Imported road network\n{o}")
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

fn snapped_json(s: &Snapped) -> Value {
    json!({
        "input": s.input,
        "on_road": [round(s.on_road[0], 7), round(s.on_road[1], 7)],
        "snap_distance_m": round(s.distance_m, 1),
        "segment": s.segment,
    })
}

/// A route as JSON: ETA, distance, snapping details.
pub fn route_json(tm: &TravelModel, from: &Snapped, to: &Snapped, r: &Route) -> Value {
    json!({
        "eta_s": round(r.eta.seconds(), 1),
        "eta_min": round(r.eta.minutes(), 2),
        "distance_m": round(r.eta.distance_m, 1),
        "profile": tm.profile.name,
        "from": snapped_json(from),
        "to": snapped_json(to),
    })
}

/// A route as a GeoJSON Feature (LineString), with the ETA in its properties.
pub fn route_geojson(tm: &TravelModel, from: &Snapped, to: &Snapped, r: &Route) -> Value {
    let coords: Vec<[f64; 2]> = r
        .geometry
        .iter()
        .map(|p| [round(p[0], 7), round(p[1], 7)])
        .collect();
    json!({
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": coords},
        "properties": route_json(tm, from, to, r),
    })
}

/// A route as text.
pub fn route_text(tm: &TravelModel, from: &Snapped, to: &Snapped, r: &Route) -> String {
    format!(
        "ETA {:.1} min ({:.0} s), {:.2} km by road, profile {}\n  from ({:.6}, {:.6}), {:.0} m to the road\n  to   ({:.6}, {:.6}), {:.0} m to the road\n",
        r.eta.minutes(),
        r.eta.seconds(),
        r.eta.distance_m / 1000.0,
        tm.profile.name,
        from.input[0],
        from.input[1],
        from.distance_m,
        to.input[0],
        to.input[1],
        to.distance_m
    )
}

/// The demo's output.
pub struct DemoReport {
    pub text: String,
    pub json: Value,
}

/// Summarises the demo scenario: map, scenario contents, each station's drive to the nearest
/// emergency department, and drive times from stations to residents.
pub fn demo_report(
    sc: &Scenario,
    tm: &TravelModel,
    seconds: f64,
) -> Result<DemoReport, crate::network::SnapError> {
    let mut q = tm.query();
    let stations: Vec<Snapped> = sc
        .stations
        .iter()
        .map(|s| tm.snap(s.lon_lat))
        .collect::<Result<_, _>>()?;
    let eds: Vec<(usize, Snapped)> = sc
        .hospitals
        .iter()
        .enumerate()
        .filter(|(_, h)| h.capabilities.contains(&Capability::Emergency))
        .map(|(i, h)| tm.snap(h.lon_lat).map(|s| (i, s)))
        .collect::<Result<_, _>>()?;
    let mut text = String::new();
    text.push_str(&format!("ems demo: {}\n\n", sc.name));
    text.push_str(&import_summary_text(&sc.network.summary));
    let ambulances: u32 = sc.stations.iter().map(|s| s.ambulances).sum();
    text.push_str(&format!(
        "\nScenario\n  area            {:.2} km² (boundary, geodesic)\n  population      {:.0} residents in {} demand zones\n  stations        {} with {} ambulances\n  hospitals       {} ({} with an emergency department)\n",
        sc.area_km2(),
        sc.population(),
        sc.demand.len(),
        sc.stations.len(),
        ambulances,
        sc.hospitals.len(),
        eds.len()
    ));
    text.push_str("\nStation -> nearest emergency department (ambulance profile)\n");
    let mut routes = Vec::new();
    for (st, sn) in sc.stations.iter().zip(&stations) {
        let best = eds
            .iter()
            .filter_map(|(hi, hs)| tm.route(&mut q, sn, hs).map(|r| (*hi, r)))
            .min_by_key(|(_, r)| r.eta.time_ms);
        if let Some((hi, r)) = best {
            let h = &sc.hospitals[hi];
            text.push_str(&format!(
                "  {:<28} -> {:<36} {:>5.1} min  {:>5.2} km\n",
                st.name,
                h.name,
                r.eta.minutes(),
                r.eta.distance_m / 1000.0
            ));
            routes.push(json!({
                "station": st.id, "hospital": h.id,
                "eta_min": round(r.eta.minutes(), 2), "distance_km": round(r.eta.distance_m / 1000.0, 3),
                "route": route_geojson(tm, sn, &eds.iter().find(|(i, _)| *i == hi).expect("chosen from eds").1, &r),
            }));
        }
    }
    let zones: Vec<Snapped> = sc
        .demand
        .iter()
        .map(|z| tm.snap(z.lon_lat))
        .collect::<Result<_, _>>()?;
    let m = tm.matrix(&stations, &zones, None);
    let (mut wsum, mut psum, mut worst) = (0.0, 0.0, 0.0f64);
    for (c, z) in sc.demand.iter().enumerate() {
        if let Some(best) = (0..m.rows)
            .filter_map(|r| m.get(r, c))
            .map(|e| e.minutes())
            .reduce(f64::min)
        {
            wsum += best * z.population;
            psum += z.population;
            worst = worst.max(best);
        }
    }
    let mean = if psum > 0.0 { wsum / psum } else { f64::NAN };
    text.push_str(&format!(
        "\nDrive time, nearest station -> residents ({}x{} matrix)\n  population-weighted mean {:.2} min, worst zone {:.2} min\n",
        m.rows, m.cols, mean, worst
    ));
    text.push_str(&format!("\nDone in {seconds:.2} s.\n"));
    let json = json!({
        "scenario": sc.name,
        "map": sc.network.summary,
        "area_km2": round(sc.area_km2(), 4),
        "population": round(sc.population(), 0),
        "stations": sc.stations.len(),
        "ambulances": ambulances,
        "hospitals": sc.hospitals.len(),
        "station_to_nearest_ed": routes,
        "drive_time_to_residents_min": {"population_weighted_mean": round(mean, 3), "worst_zone": round(worst, 3)},
    });
    Ok(DemoReport { text, json })
}
