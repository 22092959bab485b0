//! From raw OSM ways to a [`RoadNetwork`]: splitting at intersections, lengths, the largest
//! strongly connected component, and points of interest.
//!
//! This module owns the topology decisions. It must not read files (that is [`super::osm`]) nor
//! assign travel times (that is [`super::profile`], applied when a [`super::Csr`] is built), so
//! one imported network serves every speed profile.

use std::collections::HashMap;

use geo::{Centroid, Distance, Haversine, LineString, Point, Polygon};
use petgraph::graph::{DiGraph, NodeIndex};

use super::osm::{PoiKind, RawOsm};
use super::tags::Oneway;
use super::{Access, Building, ImportError, ImportSummary, Poi, RoadNetwork, Segment};

/// Haversine length of a `[lon, lat]` polyline in metres (mean Earth radius 6,371,008.8 m).
pub fn polyline_length_m(points: &[[f64; 2]]) -> f64 {
    points
        .windows(2)
        .map(|w| Haversine.distance(Point::new(w[0][0], w[0][1]), Point::new(w[1][0], w[1][1])))
        .sum()
}

/// Interleaves the bits of two 16-bit cell coordinates (a Z-order key) for a cache-friendly
/// node numbering: nodes near each other on the map get nearby ids.
fn morton(x: u32, y: u32) -> u64 {
    fn spread(mut v: u64) -> u64 {
        v &= 0xffff_ffff;
        v = (v | (v << 16)) & 0x0000_ffff_0000_ffff;
        v = (v | (v << 8)) & 0x00ff_00ff_00ff_00ff;
        v = (v | (v << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        v = (v | (v << 1)) & 0x5555_5555_5555_5555;
        v
    }
    spread(x as u64) | (spread(y as u64) << 1)
}

/// A drivable way with its node references resolved, in its legal direction.
struct Resolved {
    way: usize,
    ids: Vec<i64>,
    pts: Vec<[f64; 2]>,
}

/// Step 1: resolves node references; drops the missing ones but keeps the rest of the way.
fn resolve_ways(raw: &RawOsm, summary: &mut ImportSummary) -> Vec<Resolved> {
    let mut resolved = Vec::with_capacity(raw.roads.len());
    for (wi, road) in raw.roads.iter().enumerate() {
        let mut ids = Vec::with_capacity(road.refs.len());
        let mut pts = Vec::with_capacity(road.refs.len());
        let mut missing = 0;
        for &r in &road.refs {
            match raw.node(r) {
                Some(p) => {
                    if ids.last() != Some(&r) {
                        ids.push(r);
                        pts.push(p);
                    }
                }
                None => missing += 1,
            }
        }
        if missing > 0 {
            summary.missing_node_refs += missing;
            summary.ways_with_missing_refs += 1;
        }
        if ids.len() < 2 {
            summary.ways_without_geometry += 1;
            continue;
        }
        if road.attrs.oneway == Oneway::Backward {
            ids.reverse();
            pts.reverse();
        }
        match road.attrs.access {
            Access::EmergencyOnly => summary.emergency_only_ways += 1,
            Access::BusOnly => summary.bus_only_ways += 1,
            Access::BusLane => summary.bus_lane_ways += 1,
            Access::General => {}
        }
        if road.attrs.maxspeed_kmh.is_some() {
            summary.maxspeed_tagged_ways += 1;
        }
        resolved.push(Resolved { way: wi, ids, pts });
    }
    resolved
}

/// The graph before filtering: segments between split points, and the nodes they join.
struct Cut {
    segments: Vec<Segment>,
    node_pts: Vec<[f64; 2]>,
    node_ids: Vec<i64>,
}

/// Steps 2-3: cuts ways into segments at way ends and at nodes used more than once.
fn cut_segments(raw: &RawOsm, resolved: &[Resolved]) -> Cut {
    let mut uses: HashMap<i64, u32> = HashMap::new();
    for r in resolved {
        for (i, id) in r.ids.iter().enumerate() {
            let bump = if i == 0 || i + 1 == r.ids.len() { 2 } else { 1 };
            *uses.entry(*id).or_default() += bump;
        }
    }
    let mut node_of: HashMap<i64, u32> = HashMap::new();
    let mut node_pts: Vec<[f64; 2]> = Vec::new();
    let mut node_ids: Vec<i64> = Vec::new();
    let mut intern = |id: i64, p: [f64; 2]| -> u32 {
        *node_of.entry(id).or_insert_with(|| {
            node_pts.push(p);
            node_ids.push(id);
            (node_pts.len() - 1) as u32
        })
    };
    let mut segments: Vec<Segment> = Vec::new();
    for r in resolved {
        let road = &raw.roads[r.way];
        let mut start = 0;
        for i in 1..r.ids.len() {
            if uses[&r.ids[i]] >= 2 {
                let geometry = r.pts[start..=i].to_vec();
                let from = intern(r.ids[start], r.pts[start]);
                let to = intern(r.ids[i], r.pts[i]);
                segments.push(Segment {
                    from,
                    to,
                    way_id: road.way_id,
                    class: road.attrs.class,
                    oneway: matches!(road.attrs.oneway, Oneway::Forward | Oneway::Backward),
                    maxspeed_kmh: road.attrs.maxspeed_kmh.map(|v| v as f32),
                    access: road.attrs.access,
                    length_m: polyline_length_m(&geometry),
                    geometry,
                });
                start = i;
            }
        }
    }
    Cut {
        segments,
        node_pts,
        node_ids,
    }
}

/// Step 4: the nodes of the largest strongly connected component (petgraph's Tarjan, car one-way
/// rules, emergency-only ways included, bus-only ways left out so that no profile's graph
/// hangs on a busway; a busway between kept nodes is still kept); counts the components in
/// `summary`.
fn largest_scc(nodes: usize, segments: &[Segment], summary: &mut ImportSummary) -> Vec<bool> {
    let mut g: DiGraph<(), ()> = DiGraph::with_capacity(nodes, segments.len() * 2);
    for _ in 0..nodes {
        g.add_node(());
    }
    for s in segments.iter().filter(|s| s.access != Access::BusOnly) {
        let (a, b) = (
            NodeIndex::new(s.from as usize),
            NodeIndex::new(s.to as usize),
        );
        g.add_edge(a, b, ());
        if !s.oneway {
            g.add_edge(b, a, ());
        }
    }
    let sccs = petgraph::algo::tarjan_scc(&g);
    summary.components = sccs.len() as u64;
    let mut keep = vec![false; nodes];
    if let Some(largest) = sccs.iter().max_by_key(|c| c.len()) {
        for n in largest {
            keep[n.index()] = true;
        }
    }
    keep
}

/// Step 5: the kept nodes in Z-order of their position: `order[new] = old`.
fn z_order(node_pts: &[[f64; 2]], keep: &[bool]) -> Vec<u32> {
    let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
    for (i, p) in node_pts.iter().enumerate() {
        if keep[i] {
            for k in 0..2 {
                min[k] = min[k].min(p[k]);
                max[k] = max[k].max(p[k]);
            }
        }
    }
    let cell = |p: [f64; 2], k: usize| -> u32 {
        let span = (max[k] - min[k]).max(1e-9);
        (((p[k] - min[k]) / span) * 65535.0).round() as u32
    };
    let mut order: Vec<u32> = (0..node_pts.len() as u32)
        .filter(|&i| keep[i as usize])
        .collect();
    order.sort_by_key(|&i| {
        let p = node_pts[i as usize];
        morton(cell(p, 0), cell(p, 1))
    });
    order
}

/// Step 6: points of interest (nodes, and ways at their centroid) and building footprints; counts
/// them in `summary`.
fn pois_and_buildings(raw: &RawOsm, summary: &mut ImportSummary) -> (Vec<Poi>, Vec<Building>) {
    let mut pois = Vec::new();
    for p in &raw.poi_nodes {
        for kind in &p.tags.kinds {
            pois.push(Poi {
                kind: *kind,
                osm: format!("node/{}", p.node_id),
                name: p.tags.name.clone(),
                lon_lat: p.lon_lat,
                emergency: p.tags.emergency,
                tags: p.tags.all.iter().cloned().collect(),
            });
        }
    }
    let mut buildings = Vec::new();
    for w in &raw.poi_ways {
        let pts: Vec<[f64; 2]> = w.refs.iter().filter_map(|r| raw.node(*r)).collect();
        if pts.is_empty() {
            continue;
        }
        let line = LineString::from(pts.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>());
        let closed = pts.len() >= 4 && pts.first() == pts.last();
        let polygon = closed.then(|| Polygon::new(line.clone(), vec![]));
        let centroid = match &polygon {
            Some(poly) => poly.centroid(),
            None => line.centroid(),
        }
        .map(|c| [c.x(), c.y()])
        .unwrap_or(pts[0]);
        for kind in &w.tags.kinds {
            pois.push(Poi {
                kind: *kind,
                osm: format!("way/{}", w.way_id),
                name: w.tags.name.clone(),
                lon_lat: centroid,
                emergency: w.tags.emergency,
                tags: w.tags.all.iter().cloned().collect(),
            });
        }
        if let (Some(b), Some(poly)) = (&w.tags.building, &polygon) {
            // Either ring orientation: OSM ways run both ways round.
            let area = crate::spatial::polygon::geodesic_area_m2(poly);
            if area.is_finite() && area > 0.0 {
                buildings.push(Building {
                    lon_lat: centroid,
                    area_m2: area,
                    levels: w.tags.levels.map(|l| l as f32),
                    building: b.clone(),
                });
            }
        }
    }
    let count = |k: PoiKind| pois.iter().filter(|p| p.kind == k).count() as u64;
    summary.hospitals = count(PoiKind::Hospital);
    summary.hospitals_with_emergency = pois
        .iter()
        .filter(|p| p.kind == PoiKind::Hospital && p.emergency)
        .count() as u64;
    summary.ambulance_stations = count(PoiKind::AmbulanceStation);
    summary.fire_stations = count(PoiKind::FireStation);
    summary.buildings = buildings.len() as u64;
    (pois, buildings)
}

/// Builds the road network from what the reader collected: resolve, cut, keep the largest
/// strongly connected component, renumber in Z-order, and read the POIs and buildings.
pub fn build_network(raw: RawOsm, source: &str, format: &str) -> Result<RoadNetwork, ImportError> {
    if raw.stats.nodes == 0 && raw.stats.ways == 0 {
        return Err(ImportError::Empty {
            path: source.to_string(),
        });
    }
    let mut summary = ImportSummary {
        source: source.to_string(),
        format: format.to_string(),
        osm_nodes: raw.stats.nodes,
        osm_ways: raw.stats.ways,
        osm_relations: raw.stats.relations,
        highway_ways: raw.stats.highway_ways,
        drivable_ways: raw.roads.len() as u64,
        rejected_not_drivable: raw.stats.rejected_not_drivable,
        rejected_area: raw.stats.rejected_area,
        rejected_access: raw.stats.rejected_access,
        reversible_ways: raw.stats.reversible_ways,
        poi_relations_skipped: raw.stats.poi_relations_skipped,
        ..Default::default()
    };
    let no_roads = || ImportError::NoDrivableRoads {
        path: source.to_string(),
        highway_ways: raw.stats.highway_ways,
    };
    let resolved = resolve_ways(&raw, &mut summary);
    if resolved.is_empty() {
        return Err(no_roads());
    }
    let Cut {
        segments,
        node_pts,
        node_ids,
    } = cut_segments(&raw, &resolved);
    let total_nodes = node_pts.len();
    let keep = largest_scc(total_nodes, &segments, &mut summary);
    let order = z_order(&node_pts, &keep);
    let mut new_id = vec![u32::MAX; total_nodes];
    for (new, &old) in order.iter().enumerate() {
        new_id[old as usize] = new as u32;
    }
    let nodes: Vec<[f64; 2]> = order.iter().map(|&o| node_pts[o as usize]).collect();
    let node_osm_ids: Vec<i64> = order.iter().map(|&o| node_ids[o as usize]).collect();

    let total_segments = segments.len();
    let total_km: f64 = segments.iter().map(|s| s.length_m).sum::<f64>() / 1000.0;
    let mut kept_segments = Vec::with_capacity(segments.len());
    for mut s in segments {
        let (f, t) = (new_id[s.from as usize], new_id[s.to as usize]);
        if f != u32::MAX && t != u32::MAX {
            s.from = f;
            s.to = t;
            kept_segments.push(s);
        }
    }
    summary.nodes = nodes.len() as u64;
    summary.segments = kept_segments.len() as u64;
    summary.edges = kept_segments
        .iter()
        .map(|s| if s.oneway { 1 } else { 2 })
        .sum();
    summary.road_km = kept_segments.iter().map(|s| s.length_m).sum::<f64>() / 1000.0;
    summary.dropped_nodes = (total_nodes - nodes.len()) as u64;
    summary.dropped_segments = (total_segments - kept_segments.len()) as u64;
    summary.dropped_road_km = total_km - summary.road_km;
    summary.largest_scc_share = if total_nodes == 0 {
        0.0
    } else {
        nodes.len() as f64 / total_nodes as f64
    };
    let (pois, buildings) = pois_and_buildings(&raw, &mut summary);
    if nodes.is_empty() || kept_segments.is_empty() {
        return Err(no_roads());
    }
    Ok(RoadNetwork {
        nodes,
        node_osm_ids,
        segments: kept_segments,
        pois,
        buildings,
        summary,
        accelerator: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn morton_interleaves() {
        assert_eq!(morton(0, 0), 0);
        assert_eq!(morton(1, 0), 1);
        assert_eq!(morton(0, 1), 2);
        assert_eq!(morton(3, 3), 15);
    }

    #[test]
    fn length_of_one_degree_of_latitude() {
        let l = polyline_length_m(&[[0.0, 0.0], [0.0, 1.0]]);
        assert!((l - 111_195.0).abs() < 5.0, "{l}");
    }
}
