//! Issue #13, item 4: the emergency options of the speed profile (against one-way on minor
//! roads, emergency-only access, bus roads and bus lanes), each switched on and off on a small
//! hand-made map where the answer is known, and on Monaco's real bus lanes.

use ems::network::{self, Access, Csr, Dijkstra, Direction, RoadNetwork, Seed, SpeedProfile};

/// A square of residential streets 1-4-3-2 (about 800 m a side) with three shortcuts from
/// node 1: a busway to 2, an emergency-only service road to 3, and a one-way residential
/// street from 5 (inside the square) to 1; a primary road with a bus lane from 5 to 6.
const MAP: &str = r#"<osm version="0.6" generator="hand">
 <node id="1" lat="43.7300" lon="7.4200"/>
 <node id="2" lat="43.7300" lon="7.4300"/>
 <node id="3" lat="43.7372" lon="7.4300"/>
 <node id="4" lat="43.7372" lon="7.4200"/>
 <node id="5" lat="43.7336" lon="7.4250"/>
 <node id="6" lat="43.7336" lon="7.4300"/>
 <way id="10"><nd ref="1"/><nd ref="4"/><nd ref="3"/><nd ref="6"/><nd ref="2"/><tag k="highway" v="residential"/></way>
 <way id="11"><nd ref="1"/><nd ref="2"/><tag k="highway" v="busway"/></way>
 <way id="12"><nd ref="1"/><nd ref="3"/><tag k="highway" v="residential"/><tag k="access" v="private"/><tag k="emergency" v="designated"/></way>
 <way id="13"><nd ref="5"/><nd ref="1"/><tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
 <way id="14"><nd ref="5"/><nd ref="6"/><tag k="highway" v="primary"/><tag k="busway:right" v="lane"/></way>
 <way id="15"><nd ref="4"/><nd ref="5"/><tag k="highway" v="residential"/></way>
</osm>"#;

fn node(net: &RoadNetwork, osm: i64) -> u32 {
    net.node_osm_ids.iter().position(|&x| x == osm).unwrap() as u32
}

/// Fastest time in ms between two OSM nodes under a profile and a traffic factor.
fn time(net: &RoadNetwork, p: &SpeedProfile, factor: f64, a: i64, b: i64) -> u32 {
    let g = Csr::build_with_factor(net, p, |_| factor).unwrap();
    let mut d = Dijkstra::new(g.num_nodes());
    let s = Seed {
        node: node(net, a),
        time: 0,
        length_m: 0.0,
    };
    d.run(&g, Direction::Forward, &[s], None);
    d.time(node(net, b)).unwrap()
}

fn with(f: impl Fn(&mut SpeedProfile)) -> SpeedProfile {
    let mut p = SpeedProfile::ambulance();
    f(&mut p);
    p
}

#[test]
fn issue_13_emergency_options_switch_roads_on_and_off() {
    let net = network::import_bytes(MAP.as_bytes(), "hand.osm").unwrap();
    assert_eq!(net.summary.bus_only_ways, 1);
    assert_eq!(net.summary.emergency_only_ways, 1);
    assert_eq!(net.summary.bus_lane_ways, 1);
    let access = |way: i64| {
        net.segments
            .iter()
            .find(|s| s.way_id == way)
            .map(|s| s.access)
            .unwrap()
    };
    assert_eq!(access(11), Access::BusOnly);
    assert_eq!(access(12), Access::EmergencyOnly);
    assert_eq!(access(14), Access::BusLane);
    assert_eq!(access(10), Access::General);

    let amb = SpeedProfile::ambulance();
    let car = SpeedProfile::car();
    let no_bus = with(|p| p.bus_lanes = false);
    let no_emergency = with(|p| p.emergency_access = false);
    // 1 -> 2: the busway (800 m) for the ambulance, around the square without it.
    let (a, n, c) = (
        time(&net, &amb, 1.0, 1, 2),
        time(&net, &no_bus, 1.0, 1, 2),
        time(&net, &car, 1.0, 1, 2),
    );
    assert!(a * 2 < n, "busway {a} ms vs around {n} ms");
    assert!(c > a, "the car keeps off the busway: {c} vs {a}");
    // 1 -> 3: the emergency-only diagonal, unless switched off.
    let (a, n) = (
        time(&net, &amb, 1.0, 1, 3),
        time(&net, &no_emergency, 1.0, 1, 3),
    );
    assert!(a < n, "emergency-only road {a} vs {n}");
    // 1 -> 5: only against the one-way 5 -> 1, with the option (a minor road), at half speed.
    // (Busway and emergency road off, so that the way around is the residential one.)
    let plain = with(|p| {
        p.bus_lanes = false;
        p.emergency_access = false;
    });
    let against = SpeedProfile {
        against_oneway_minor: true,
        ..plain.clone()
    };
    let (a, o) = (
        time(&net, &plain, 1.0, 1, 5),
        time(&net, &against, 1.0, 1, 5),
    );
    assert!(o < a, "against one-way {o} vs around {a}");
    let with_flow = time(&net, &amb, 1.0, 5, 1);
    assert!(
        (o as f64 / with_flow as f64 - 2.0).abs() < 0.01,
        "{o} vs {with_flow}"
    );
    // Traffic twice as slow: the bus lane (5 -> 6) and the busway keep free flow with
    // `bus_lanes`, and slow down without it.
    let seg14 = |p: &SpeedProfile, f: f64| time(&net, p, f, 5, 6);
    assert_eq!(seg14(&amb, 2.0), seg14(&amb, 1.0));
    assert_eq!(time(&net, &amb, 2.0, 1, 2), time(&net, &amb, 1.0, 1, 2));
    let slow = seg14(&no_bus, 2.0) as f64 / seg14(&no_bus, 1.0) as f64;
    assert!((slow - 2.0).abs() < 0.01, "{slow}");
    // Traffic below free flow (a quiet night) applies everywhere, bus lanes included.
    let quiet = seg14(&amb, 0.5) as f64 / seg14(&amb, 1.0) as f64;
    assert!((quiet - 0.5).abs() < 0.01, "{quiet}");
}

#[test]
fn issue_13_profile_options_read_from_a_scenario_table() {
    let p: SpeedProfile =
        toml::from_str("name = \"strict\"\nbus_lanes = false\nemergency_access = false\n").unwrap();
    assert!(!p.bus_lanes && !p.emergency_access && !p.against_oneway_minor);
    // Unset options keep the ambulance defaults.
    let p: SpeedProfile = toml::from_str("name = \"x\"\n").unwrap();
    assert!(p.bus_lanes && p.emergency_access);
    let e = toml::from_str::<SpeedProfile>("bus_lane = true\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("bus_lane"), "{e}");
}
