//! Text, JSON, HTML and SVG output for people and scripts.
//!
//! This module owns formatting. It must not compute anything a number depends on beyond
//! presentation (units, rounding); analyses hand it finished results.

pub mod basemap;
pub mod calibrate;
pub mod check;
pub mod demand;
pub mod geojson;
pub mod html;
pub mod optimize;
pub mod simulate;

use serde::Serialize;

use crate::dispatch::recommend::StationRoute;
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
            "{} ways with maxspeed, {} reversible, {} emergency-only, {} bus-only, {} with a bus lane",
            s.maxspeed_tagged_ways,
            s.reversible_ways,
            s.emergency_only_ways,
            s.bus_only_ways,
            s.bus_lane_ways
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

/// A snapped point: where it was asked, where it lies on the road, how far off.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnappedJson {
    pub input: [f64; 2],
    pub on_road: [f64; 2],
    pub snap_distance_m: f64,
    pub segment: u32,
}

impl From<&Snapped> for SnappedJson {
    fn from(s: &Snapped) -> Self {
        SnappedJson {
            input: s.input,
            on_road: [round(s.on_road[0], 7), round(s.on_road[1], 7)],
            snap_distance_m: round(s.distance_m, 1),
            segment: s.segment,
        }
    }
}

/// `ems route --format json`: ETA, distance and snapping details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteJson {
    pub eta_s: f64,
    pub eta_min: f64,
    pub distance_m: f64,
    pub profile: String,
    pub from: SnappedJson,
    pub to: SnappedJson,
}

/// A route as JSON: ETA, distance, snapping details.
pub fn route_json(tm: &TravelModel, from: &Snapped, to: &Snapped, r: &Route) -> RouteJson {
    RouteJson {
        eta_s: round(r.eta.seconds(), 1),
        eta_min: round(r.eta.minutes(), 2),
        distance_m: round(r.eta.distance_m, 1),
        profile: tm.profile.name.clone(),
        from: from.into(),
        to: to.into(),
    }
}

/// A GeoJSON LineString.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineString {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub coordinates: Vec<[f64; 2]>,
}

/// A route as a GeoJSON Feature (LineString) with its figures as properties.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RouteFeature {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub geometry: LineString,
    pub properties: RouteJson,
}

/// A route as a GeoJSON Feature (LineString), with the ETA in its properties.
pub fn route_geojson(tm: &TravelModel, from: &Snapped, to: &Snapped, r: &Route) -> RouteFeature {
    RouteFeature {
        kind: "Feature",
        geometry: LineString {
            kind: "LineString",
            coordinates: r
                .geometry
                .iter()
                .map(|p| [round(p[0], 7), round(p[1], 7)])
                .collect(),
        },
        properties: route_json(tm, from, to, r),
    }
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

/// One station's drive to its nearest emergency department, for the demo's JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoRoute {
    pub station: String,
    pub hospital: String,
    pub eta_min: f64,
    pub distance_km: f64,
    pub route: RouteFeature,
}

/// `ems demo --format json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DemoJson {
    pub scenario: String,
    pub map: ImportSummary,
    pub stations: usize,
    pub ambulances: u32,
    pub hospitals: usize,
    pub station_to_nearest_ed: Vec<DemoRoute>,
    pub check: check::CheckJson,
}

/// The demo's output.
pub struct DemoReport {
    pub text: String,
    pub json: DemoJson,
}

/// Formats the demo: the map import, the scenario, each station's drive to the nearest
/// emergency department, and the standards check.
pub fn demo_report(
    sc: &Scenario,
    tm: &TravelModel,
    routes: &[StationRoute],
    check: &crate::standards::CheckReport,
    seconds: f64,
) -> DemoReport {
    let mut text = String::new();
    text.push_str(&format!("ems demo: {}\n\n", sc.name));
    text.push_str(&import_summary_text(&sc.network.summary));
    let ambulances: u32 = sc.stations.iter().map(|s| s.ambulances).sum();
    let eds = sc
        .hospitals
        .iter()
        .filter(|h| h.capabilities.contains(&Capability::Emergency))
        .count();
    text.push_str(&format!(
        "\nScenario\n  area            {:.2} km² (boundary, geodesic)\n  population      {:.0} residents in {} demand zones\n  stations        {} with {} ambulances\n  hospitals       {} ({} with an emergency department)\n  incidents       {} (synthetic; see docs/demo.md)\n",
        sc.area_km2(),
        sc.population(),
        sc.demand.len(),
        sc.stations.len(),
        ambulances,
        sc.hospitals.len(),
        eds,
        sc.incidents.rows
    ));
    text.push_str("\nStation -> nearest emergency department (ambulance profile)\n");
    let mut json_routes = Vec::new();
    for r in routes {
        text.push_str(&format!(
            "  {:<50} -> {:<36} {:>5.1} min  {:>5.2} km\n",
            r.station.name,
            r.hospital.name,
            r.route.eta.minutes(),
            r.route.eta.distance_m / 1000.0
        ));
        json_routes.push(DemoRoute {
            station: r.station.id.clone(),
            hospital: r.hospital.id.clone(),
            eta_min: round(r.route.eta.minutes(), 2),
            distance_km: round(r.route.eta.distance_m / 1000.0, 3),
            route: route_geojson(tm, &r.from, &r.to, &r.route),
        });
    }
    text.push('\n');
    text.push_str(&check::text(check));
    text.push_str(&format!("\nDone in {seconds:.2} s.\n"));
    let json = DemoJson {
        scenario: sc.name.clone(),
        map: sc.network.summary.clone(),
        stations: sc.stations.len(),
        ambulances,
        hospitals: sc.hospitals.len(),
        station_to_nearest_ed: json_routes,
        check: check::json(check),
    };
    DemoReport { text, json }
}
