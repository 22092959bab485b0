//! Unit tests of the contraction hierarchy (the oracle tests are in `tests/ch_oracle.rs`).

use super::*;
use crate::network::csr::Csr;
use crate::network::csr::{ArcSpec, NO_SEGMENT};
use crate::network::dijkstra::Seed;

fn arc(tail: u32, head: u32, weight: u32) -> ArcSpec {
    ArcSpec {
        tail,
        head,
        weight,
        length_m: 1.0,
        segment: NO_SEGMENT,
    }
}

fn seed(node: u32) -> Vec<Seed> {
    vec![Seed {
        node,
        time: 0,
        length_m: 0.0,
    }]
}

#[test]
fn a_line_and_a_detour() {
    // 0 → 1 → 2 costs 2; the direct 0 → 2 costs 5; 2 cannot go back.
    let g = Csr::from_arcs(3, &[arc(0, 1, 1), arc(1, 2, 1), arc(0, 2, 5)]);
    let h = Hierarchy::build(&g);
    let mut q = ChQuery::new(&h);
    assert_eq!(q.time(&h, &seed(0), &seed(2)), Some(2));
    assert_eq!(q.time(&h, &seed(2), &seed(0)), None);
    assert_eq!(q.time(&h, &seed(1), &seed(1)), Some(0));
    let t = q.table(&h, &[seed(0), seed(2)], &[seed(1), seed(2)]);
    assert_eq!(t, vec![Some(1), Some(2), None, Some(0)]);
}
