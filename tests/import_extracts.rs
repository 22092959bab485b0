//! Imports every OSM extract in `../shared/data/` and checks the counts against an independent
//! count, the weights, the strongly-connected share and the cache round trip.
//!
//! The reference figures come from `tests/oracle/osm_counts.py`, which reads the extracts with
//! pyosmium and finds the largest strongly connected component with networkx (run 2026-11-22:
//! `python3 tests/oracle/osm_counts.py <files>`). `highway_ways` comes from the pyosmium counts in
//! each extract's PROVENANCE.md.

mod common;

use ems::network::{self, Csr, RoadNetwork, SpeedProfile, cache};

struct Expect {
    path: &'static str,
    format: &'static str,
    highway_ways: u64,
    nodes: u64,
    edges: u64,
    road_km: f64,
    scc_share: f64,
    missing_refs: bool,
}

/// Relative tolerance on node/edge counts and on km of road against the independent count.
const COUNT_TOL: f64 = 0.01;
const KM_TOL: f64 = 0.005;

const EXTRACTS: &[Expect] = &[
    Expect {
        path: "osm-monaco-quackosm/monaco.osm.pbf",
        format: "pbf",
        highway_ways: 2852,
        nodes: 924,
        edges: 1615,
        road_km: 57.50,
        scc_share: 0.8767,
        missing_refs: false,
    },
    Expect {
        path: "osm-liechtenstein/liechtenstein-latest.osm.pbf",
        format: "pbf",
        highway_ways: 8271,
        nodes: 5772,
        edges: 12583,
        road_km: 476.91,
        scc_share: 0.9862,
        missing_refs: false,
    },
    Expect {
        path: "osm-finland-pyrosm-test/test.osm.pbf",
        format: "pbf",
        highway_ways: 343,
        nodes: 297,
        edges: 623,
        road_km: 41.39,
        scc_share: 0.8813,
        missing_refs: true,
    },
    Expect {
        path: "osm-shanghai-yangpu-tongji/tongji.osm",
        format: "xml",
        highway_ways: 204,
        nodes: 104,
        edges: 235,
        road_km: 12.81,
        scc_share: 0.5943,
        missing_refs: false,
    },
    Expect {
        path: "jemss-auckland/data/roads/osm_2017/auckland_main_roads_tertiary+.osm",
        format: "xml",
        highway_ways: 6833,
        nodes: 7033,
        edges: 13886,
        road_km: 3070.25,
        scc_share: 0.9816,
        missing_refs: false,
    },
    Expect {
        path: "jemss-manhattan/data/roads/osm_2019/manhattan_main_roads_tertiary+_unclass_resid.osm",
        format: "xml",
        highway_ways: 16384,
        nodes: 19382,
        edges: 42268,
        road_km: 3248.13,
        scc_share: 0.9731,
        missing_refs: true,
    },
];

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1.0)
}

fn check_weights(net: &RoadNetwork) {
    for profile in [SpeedProfile::car(), SpeedProfile::ambulance(), {
        let mut p = SpeedProfile::ambulance();
        p.against_oneway_minor = true;
        p
    }] {
        let g = Csr::build(net, &profile).unwrap();
        // Every direction the profile may drive is an arc (the car keeps off emergency-only
        // and bus-only ways; the ambulance drives them).
        let drivable: usize = net
            .segments
            .iter()
            .filter(|s| profile.may_drive(s))
            .map(|s| if s.oneway { 1 } else { 2 })
            .sum();
        assert!(g.num_arcs() >= drivable, "{}", profile.name);
        if profile.bus_lanes && profile.emergency_access {
            assert_eq!(drivable, net.summary.edges as usize);
        }
        for a in 0..g.num_arcs() {
            let w = g.weight(a);
            let l = g.length_m(a);
            assert!(w > 0 && w < u32::MAX / 4, "arc {a}: weight {w}");
            assert!(l.is_finite() && l >= 0.0, "arc {a}: length {l}");
        }
    }
    for s in &net.segments {
        assert!(s.length_m.is_finite() && s.length_m >= 0.0);
        assert!(s.geometry.len() >= 2);
        assert_eq!(s.geometry.first(), Some(&net.nodes[s.from as usize]));
        assert_eq!(s.geometry.last(), Some(&net.nodes[s.to as usize]));
    }
}

#[test]
fn every_extract_imports_with_plausible_counts() {
    let mut checked = 0;
    for e in EXTRACTS {
        let Some(path) = common::shared(e.path) else {
            continue;
        };
        let net = network::import_path(&path).unwrap_or_else(|err| panic!("{}: {err}", e.path));
        let s = &net.summary;
        println!(
            "{}: {} nodes, {} edges, {:.2} km, SCC share {:.4}, {} missing refs",
            e.path, s.nodes, s.edges, s.road_km, s.largest_scc_share, s.missing_node_refs
        );
        assert_eq!(s.format, e.format, "{}", e.path);
        assert_eq!(s.highway_ways, e.highway_ways, "{}: highway ways", e.path);
        assert!(
            close(s.nodes as f64, e.nodes as f64, COUNT_TOL),
            "{}: nodes {} vs {}",
            e.path,
            s.nodes,
            e.nodes
        );
        assert!(
            close(s.edges as f64, e.edges as f64, COUNT_TOL),
            "{}: edges {} vs {}",
            e.path,
            s.edges,
            e.edges
        );
        assert!(
            close(s.road_km, e.road_km, KM_TOL),
            "{}: km {} vs {}",
            e.path,
            s.road_km,
            e.road_km
        );
        assert!(
            (s.largest_scc_share - e.scc_share).abs() < 0.005,
            "{}: SCC share {}",
            e.path,
            s.largest_scc_share
        );
        assert!(s.largest_scc_share > 0.0 && s.largest_scc_share <= 1.0);
        assert_eq!(
            s.missing_node_refs > 0,
            e.missing_refs,
            "{}: missing refs {}",
            e.path,
            s.missing_node_refs
        );
        assert_eq!(s.nodes as usize, net.nodes.len());
        check_weights(&net);
        checked += 1;
    }
    println!("{checked} extracts checked");
}

/// The two city extracts named by issue #2. Liechtenstein clears 90 %. Monaco does not: its
/// extract is clipped at the French border (cut-off streets in Beausoleil and Cap-d'Ail) and holds
/// closed-off private estates and the old town's alleys; the independent networkx count agrees
/// (87.7 %). This test pins both facts so a change in either shows.
#[test]
fn largest_component_share_on_city_extracts() {
    if let Some(p) = common::shared("osm-liechtenstein/liechtenstein-latest.osm.pbf") {
        let net = network::import_path(&p).unwrap();
        assert!(
            net.summary.largest_scc_share > 0.90,
            "{}",
            net.summary.largest_scc_share
        );
    }
    let net = ems::model::demo::map().unwrap();
    let s = net.summary.largest_scc_share;
    assert!((0.87..0.90).contains(&s), "Monaco share {s}");
    assert!(net.summary.dropped_nodes > 0 && net.summary.components > 1);
}

#[test]
fn pois_are_found() {
    let net = ems::model::demo::map().unwrap();
    let s = &net.summary;
    // pyosmium: 3 hospital nodes + 4 hospital ways, 2 fire-station nodes (PROVENANCE.md).
    assert_eq!(s.hospitals, 7);
    assert_eq!(s.fire_stations, 2);
    assert_eq!(s.hospitals_with_emergency, 1);
    assert!(s.buildings > 1000, "{}", s.buildings);
    let chpg = net
        .pois
        .iter()
        .find(|p| p.osm == "way/49209406")
        .expect("CHPG");
    assert_eq!(
        chpg.name.as_deref(),
        Some("Centre hospitalier Princesse Grace")
    );
    assert!(
        net.buildings
            .iter()
            .all(|b| b.area_m2 > 0.0 && b.area_m2.is_finite())
    );
    if let Some(p) = common::shared("osm-liechtenstein/liechtenstein-latest.osm.pbf") {
        let net = network::import_path(&p).unwrap();
        // PROVENANCE.md: 1 ambulance_station node; 2 hospital ways; 6 + 3 fire stations.
        assert!(net.summary.ambulance_stations >= 1);
        assert_eq!(net.summary.hospitals, 2);
        assert_eq!(net.summary.fire_stations, 9);
    }
}

#[test]
fn cache_round_trips_and_rejects_other_versions() {
    let net = ems::model::demo::map().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("monaco.ems");
    let bytes = net.save(&path).unwrap();
    assert!(bytes > 0);
    let t0 = std::time::Instant::now();
    let back = RoadNetwork::load(&path).unwrap();
    println!("cache: {bytes} bytes, loaded in {:?}", t0.elapsed());
    assert_eq!(back, net);
    // The generic importer recognises the cache by its magic too.
    assert_eq!(network::import_path(&path).unwrap(), net);

    let mut raw = std::fs::read(&path).unwrap();
    raw[8..12].copy_from_slice(&(cache::FORMAT_VERSION + 1).to_le_bytes());
    std::fs::write(&path, &raw).unwrap();
    let err = RoadNetwork::load(&path).unwrap_err().to_string();
    assert!(
        err.contains(&format!(
            "cache format version {}",
            cache::FORMAT_VERSION + 1
        )) && err.contains("ems import"),
        "{err}"
    );
    let err = network::import_path(&path).unwrap_err().to_string();
    assert!(err.contains("version"), "{err}");

    raw[8..12].copy_from_slice(&cache::FORMAT_VERSION.to_le_bytes());
    raw.truncate(raw.len() / 2);
    std::fs::write(&path, &raw).unwrap();
    let err = RoadNetwork::load(&path).unwrap_err().to_string();
    assert!(err.contains("corrupt cache"), "{err}");
}

/// Writes an OSM PBF file out as OSM XML (all nodes, ways and relation tags), so that both
/// readers can be fed the same data.
fn pbf_to_xml(pbf: &[u8]) -> String {
    use std::fmt::Write;
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;")
    }
    fn tags<'a>(out: &mut String, t: impl Iterator<Item = (&'a str, &'a str)>) {
        for (k, v) in t {
            let _ = writeln!(out, r#"  <tag k="{}" v="{}"/>"#, esc(k), esc(v));
        }
    }
    let mut out =
        String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<osm version=\"0.6\">\n");
    osmpbf::ElementReader::new(pbf)
        .for_each(|el| match el {
            osmpbf::Element::Node(n) => {
                let _ = writeln!(
                    out,
                    r#" <node id="{}" lat="{}" lon="{}">"#,
                    n.id(),
                    n.lat(),
                    n.lon()
                );
                tags(&mut out, n.tags());
                out.push_str(" </node>\n");
            }
            osmpbf::Element::DenseNode(n) => {
                let _ = writeln!(
                    out,
                    r#" <node id="{}" lat="{}" lon="{}">"#,
                    n.id(),
                    n.lat(),
                    n.lon()
                );
                tags(&mut out, n.tags());
                out.push_str(" </node>\n");
            }
            osmpbf::Element::Way(w) => {
                let _ = writeln!(out, r#" <way id="{}">"#, w.id());
                for r in w.refs() {
                    let _ = writeln!(out, r#"  <nd ref="{r}"/>"#);
                }
                tags(&mut out, w.tags());
                out.push_str(" </way>\n");
            }
            osmpbf::Element::Relation(r) => {
                let _ = writeln!(out, r#" <relation id="{}">"#, r.id());
                tags(&mut out, r.tags());
                out.push_str(" </relation>\n");
            }
        })
        .unwrap();
    out.push_str("</osm>\n");
    out
}

/// The same map through the PBF and the XML reader gives the same network.
#[test]
fn xml_and_pbf_readers_agree() {
    let from_pbf = ems::model::demo::map().unwrap();
    let xml = pbf_to_xml(ems::model::demo::MAP_PBF);
    let mut from_xml = network::import_bytes(xml.as_bytes(), "monaco.osm").unwrap();
    assert_eq!(from_xml.summary.format, "xml");
    from_xml.summary.format = "pbf".into();
    from_xml.summary.source = from_pbf.summary.source.clone();
    assert_eq!(from_xml, from_pbf);
}

#[test]
fn tiny_xml_fixture() {
    let net = network::import_path(&common::fixture("tiny.osm")).unwrap();
    let s = &net.summary;
    assert_eq!(s.format, "xml");
    assert_eq!(s.highway_ways, 5);
    assert_eq!(s.drivable_ways, 3);
    assert_eq!(s.rejected_not_drivable, 1);
    assert_eq!(s.rejected_access, 1);
    assert_eq!(s.missing_node_refs, 1);
    assert_eq!(s.ways_with_missing_refs, 1);
    // Nodes 1, 2, 3, 4; way 11 keeps 2 -> 4 without the missing node 99.
    assert_eq!(s.nodes, 4);
    assert_eq!(s.segments, 4);
    assert_eq!(s.edges, 7);
    assert_eq!(s.hospitals, 1);
    assert_eq!(net.pois[0].name.as_deref(), Some("H & Co"));
    assert!(net.pois[0].emergency);
    let tertiary = net.segments.iter().find(|x| x.way_id == 11).unwrap();
    assert!((tertiary.maxspeed_kmh.unwrap() - 48.28).abs() < 0.01);
    assert!(
        (tertiary.length_m - 111.19).abs() < 0.1,
        "{}",
        tertiary.length_m
    );
}

/// JOSM files keep deleted objects (`action="delete"`), and osmChange files list them in
/// `<delete>` blocks; neither may enter the graph.
#[test]
fn deleted_xml_elements_are_ignored() {
    let xml = r#"<osm version="0.6" generator="JOSM">
 <node id="1" lat="43.7300" lon="7.4200"/>
 <node id="2" lat="43.7300" lon="7.4210"/>
 <node id="3" lat="43.7310" lon="7.4210" action="delete"/>
 <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/></way>
 <way id="11" action="delete"><nd ref="2"/><nd ref="3"/><tag k="highway" v="residential"/></way>
 <way id="12" visible="false"><nd ref="1"/><nd ref="3"/><tag k="highway" v="primary"/></way>
</osm>"#;
    let net = network::import_bytes(xml.as_bytes(), "josm.osm").unwrap();
    assert_eq!(net.summary.osm_nodes, 2);
    assert_eq!(net.summary.osm_ways, 1);
    assert_eq!(net.summary.nodes, 2);
    assert_eq!(net.summary.missing_node_refs, 0);
    let change = r#"<osmChange version="0.6">
 <create><node id="1" lat="43.73" lon="7.42"/><node id="2" lat="43.73" lon="7.421"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="service"/></way></create>
 <delete><way id="11"><nd ref="1"/><nd ref="2"/><tag k="highway" v="primary"/></way></delete>
</osmChange>"#;
    let net = network::import_bytes(change.as_bytes(), "change.osc").unwrap();
    assert_eq!(net.summary.osm_ways, 1);
    assert_eq!(net.segments[0].class, network::RoadClass::Service);
}
