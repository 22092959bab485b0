//! The DIMACS-9 Rome graph loads and its shortest paths equal the reference distances in
//! `../shared/data/dimacs9-rome99/PROVENANCE.md` (computed there with scipy).

mod common;

use ems::network::dimacs::read_gr;
use ems::network::{Dijkstra, Direction, Seed};
use petgraph::graph::{DiGraph, NodeIndex};

#[test]
fn rome99_distances_match_reference() {
    let Some(path) = common::shared("dimacs9-rome99/rome99.gr") else {
        return;
    };
    let g = read_gr(&path).unwrap();
    assert_eq!(g.num_nodes(), 3353);
    assert_eq!(g.num_arcs(), 8870);
    let mut q = Dijkstra::new(g.num_nodes());
    q.run(
        &g,
        Direction::Forward,
        &[Seed {
            node: 0,
            time: 0,
            length_m: 0.0,
        }],
        None,
    );
    // Node ids in the file are 1-based.
    let d = |v: u32| q.time(v - 1);
    assert_eq!(d(3353), Some(30_305));
    assert_eq!(d(1000), Some(33_725));
    let reachable = (1..=3353).filter(|v| d(*v).is_some()).count();
    assert_eq!(reachable, 3353);
    let (far, max) = (1..=3353u32)
        .map(|v| (v, d(v).unwrap()))
        .max_by_key(|x| x.1)
        .unwrap();
    assert_eq!((far, max), (2966, 69_102));

    // And against petgraph on the same arcs, from a few more sources, both directions.
    let mut pg = DiGraph::<(), u32>::new();
    let mut rev = DiGraph::<(), u32>::new();
    for _ in 0..g.num_nodes() {
        pg.add_node(());
        rev.add_node(());
    }
    for a in 0..g.num_arcs() {
        let (t, h) = (g.tail(a), g.head(a));
        pg.add_edge(
            NodeIndex::new(t as usize),
            NodeIndex::new(h as usize),
            g.weight(a),
        );
        rev.add_edge(
            NodeIndex::new(h as usize),
            NodeIndex::new(t as usize),
            g.weight(a),
        );
    }
    for s in [0u32, 17, 1234, 3000] {
        for (dir, graph) in [(Direction::Forward, &pg), (Direction::Reverse, &rev)] {
            q.run(
                &g,
                dir,
                &[Seed {
                    node: s,
                    time: 0,
                    length_m: 0.0,
                }],
                None,
            );
            let oracle =
                petgraph::algo::dijkstra(graph, NodeIndex::new(s as usize), None, |e| *e.weight());
            for v in 0..g.num_nodes() as u32 {
                assert_eq!(q.time(v), oracle.get(&NodeIndex::new(v as usize)).copied());
            }
        }
    }
}
