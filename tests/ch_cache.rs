//! Issue #13: the contraction hierarchy stored in the road cache with a version, a profile key
//! and checksums; a broken or foreign hierarchy is detected and rebuilt, never trusted, and a
//! damaged network section is an error, never a panic.

use std::sync::Arc;

use ems::network::cache::{self, CacheError};
use ems::network::ch::Hierarchy;
use ems::network::{RoadNetwork, SpeedProfile, TravelModel, TravelSettings};
use rand::{RngExt, SeedableRng};

fn monaco() -> RoadNetwork {
    ems::model::demo::map().unwrap()
}

fn points(tm: &TravelModel) -> Vec<ems::network::Snapped> {
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(7);
    let mut v = Vec::new();
    while v.len() < 120 {
        if let Ok(s) = tm.snap([
            rng.random_range(7.409..7.440),
            rng.random_range(43.725..43.752),
        ]) {
            v.push(s);
        }
    }
    v
}

/// The model's hierarchy matrix equals its Dijkstra matrix on random Monaco points.
fn assert_ch_equals_dijkstra(tm: &TravelModel) {
    let p = points(tm);
    let (a, b) = p.split_at(40);
    assert_eq!(
        tm.matrix_ch(a, b, None).time_ms,
        tm.matrix_dijkstra(a, b, None).time_ms
    );
}

#[test]
fn issue_13_hierarchy_round_trips_through_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.ems");
    let tm = TravelModel::for_map(monaco(), TravelSettings::default()).unwrap();
    tm.save_cache(&path).unwrap();
    let loaded = RoadNetwork::load(&path).unwrap();
    assert_eq!(loaded, *tm.network, "the network is unchanged");
    let stored = loaded.stored_hierarchy(&SpeedProfile::ambulance()).unwrap();
    assert_eq!(*stored, Hierarchy::build(&tm.graph), "the same hierarchy");
    // Another profile: not its hierarchy.
    assert!(loaded.stored_hierarchy(&SpeedProfile::car()).is_none());
    let mut faster = SpeedProfile::ambulance();
    faster.class_factor.insert("primary".into(), 1.5);
    assert!(loaded.stored_hierarchy(&faster).is_none());
    let loaded = Arc::new(loaded);
    let warm = TravelModel::for_map(loaded.clone(), TravelSettings::default()).unwrap();
    assert!(
        warm.has_hierarchy(),
        "the model starts with the stored hierarchy"
    );
    let car =
        TravelModel::for_map(loaded, TravelSettings::with_profile(SpeedProfile::car())).unwrap();
    assert!(
        !car.has_hierarchy(),
        "a car model does not take the ambulance's"
    );
    assert_ch_equals_dijkstra(&warm);
    assert_ch_equals_dijkstra(&car);
}

#[test]
fn issue_13_a_broken_hierarchy_is_rebuilt_and_a_broken_network_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.ems");
    let tm = TravelModel::for_map(monaco(), TravelSettings::default()).unwrap();
    tm.save_cache(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let net_len = u64::from_le_bytes(bytes[12..20].try_into().unwrap()) as usize;
    let net_end = 24 + net_len;
    assert!(bytes.len() > net_end + 24, "a hierarchy section follows");
    // A flipped byte in the hierarchy's payload: checksum, ignored, rebuilt on demand.
    let mut b = bytes.clone();
    let k = net_end + 24 + (bytes.len() - net_end - 24) / 2;
    b[k] ^= 0x5a;
    let net = cache::decode(&b, "m.ems").unwrap();
    assert!(net.stored_hierarchy(&SpeedProfile::ambulance()).is_none());
    let model = TravelModel::for_map(net, TravelSettings::default()).unwrap();
    assert!(!model.has_hierarchy());
    assert_ch_equals_dijkstra(&model);
    // An unknown hierarchy format: ignored too.
    let mut b = bytes.clone();
    b[net_end + 3] = b'9';
    assert!(cache::decode(&b, "m.ems").unwrap().accelerator.0.is_none());
    // A flipped byte in the network: an error naming the file, never a panic.
    let mut b = bytes.clone();
    b[24 + net_len / 2] ^= 0x01;
    let e = cache::decode(&b, "m.ems").unwrap_err();
    assert!(matches!(e, CacheError::Corrupt { .. }));
    assert!(
        e.to_string()
            .contains("m.ems: corrupt cache (network section checksum mismatch)"),
        "{e}"
    );
    // Another version: refused with the way out, older ones too (version 3 had no bus lanes).
    for v in [99u32, 3, 2] {
        let mut b = bytes.clone();
        b[8..12].copy_from_slice(&v.to_le_bytes());
        let e = cache::decode(&b, "m.ems").unwrap_err().to_string();
        assert!(
            e.contains(&format!("version {v}")) && e.contains("ems import"),
            "{e}"
        );
    }
}

#[test]
fn issue_13_damaged_caches_never_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.ems");
    let tm = TravelModel::for_map(monaco(), TravelSettings::default()).unwrap();
    tm.save_cache(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(13);
    let (mut refused, mut read) = (0, 0);
    for case in 0..1500 {
        let mut b = bytes.clone();
        match case % 3 {
            0 => b.truncate(rng.random_range(0..bytes.len())),
            1 => {
                for _ in 0..rng.random_range(1..8) {
                    let k = rng.random_range(0..b.len());
                    b[k] = rng.random();
                }
            }
            _ => {
                let k = rng.random_range(8..b.len());
                b[k..].iter_mut().for_each(|x| *x = rng.random());
            }
        }
        match cache::decode(&b, "fuzz.ems") {
            Err(_) => refused += 1,
            Ok(net) => {
                read += 1;
                // Whatever was read builds a model and answers a query without panicking.
                if let Ok(m) = TravelModel::for_map(net, TravelSettings::default()) {
                    let p = points(&m);
                    let _ = m.matrix_ch(&p[..3], &p[3..6], None);
                }
            }
        }
    }
    assert!(refused > 1000, "{refused} refused, {read} read");
}
