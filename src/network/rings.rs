//! Administrative areas from an extract: a `boundary=administrative` relation's member ways
//! chained into closed rings.
//!
//! This module owns ring assembly. It must not decide what an area is used for: `ems init`
//! takes one as the region boundary and says in its assumptions how many gaps were closed.
//!
//! # Assembly
//! An extract clipped at its edge often lacks some member ways, so the rings cannot always be
//! closed from the ways alone. Each ring starts from an unused member way and grows at its end
//! by the way whose end is nearest (a shared node is at distance 0, so connected ways are
//! chained first); a ring is done when it returns to its first node. When the nearest way does
//! not touch, the two ends are joined by a straight line, and when no way is left the ring is
//! closed by a straight line back to its start; each such line is counted as a gap. Outer and
//! inner members form separate rings. `O(w²)` in the member ways, which are few.

use super::osm::RawOsm;

/// An administrative area of the extract, assembled.
#[derive(Debug, Clone, PartialEq)]
pub struct AdminArea {
    /// OSM relation id.
    pub osm_id: i64,
    pub name: Option<String>,
    pub admin_level: Option<String>,
    /// Closed rings (`[lon, lat]`, first = last) of the `outer` (or untagged) members.
    pub outer: Vec<Vec<[f64; 2]>>,
    /// Closed rings of the `inner` members.
    pub inner: Vec<Vec<[f64; 2]>>,
    /// Straight lines added to close rings where member ways did not meet.
    pub gaps_closed: usize,
    /// Member ways absent from the extract.
    pub missing_ways: usize,
}

fn dist(a: [f64; 2], b: [f64; 2]) -> f64 {
    (a[0] - b[0]).hypot(a[1] - b[1])
}

/// Chains ways (as coordinate lists) into closed rings; returns the rings and the gaps closed.
pub fn chain_rings(mut chains: Vec<Vec<[f64; 2]>>) -> (Vec<Vec<[f64; 2]>>, usize) {
    chains.retain(|c| c.len() >= 2);
    let mut rings = Vec::new();
    let mut gaps = 0;
    while !chains.is_empty() {
        let mut ring = chains.remove(0);
        loop {
            if ring.len() >= 4 && ring.first() == ring.last() {
                break;
            }
            let end = *ring.last().expect("non-empty");
            let best = chains
                .iter()
                .enumerate()
                .flat_map(|(i, c)| {
                    [
                        (dist(end, c[0]), i, false),
                        (dist(end, c[c.len() - 1]), i, true),
                    ]
                })
                .min_by(|a, b| a.0.total_cmp(&b.0));
            // A chain that would only reach back to this ring's start is no better than closing.
            let to_start = dist(end, ring[0]);
            match best {
                Some((d, i, rev)) if d <= to_start || ring.len() < 3 => {
                    let mut c = chains.remove(i);
                    if rev {
                        c.reverse();
                    }
                    if d > 0.0 {
                        gaps += 1;
                    }
                    let skip = usize::from(c[0] == end);
                    ring.extend_from_slice(&c[skip..]);
                }
                _ => {
                    if to_start > 0.0 {
                        gaps += 1;
                    }
                    let start = ring[0];
                    ring.push(start);
                    break;
                }
            }
        }
        ring.dedup();
        if ring.len() >= 4 {
            rings.push(ring);
        }
    }
    (rings, gaps)
}

/// Every administrative boundary relation of `raw`, assembled; frees the way references kept
/// for it.
pub fn admin_areas(raw: &mut RawOsm) -> Vec<AdminArea> {
    let way_refs = std::mem::take(&mut raw.way_refs);
    let boundaries = std::mem::take(&mut raw.boundaries);
    let mut out = Vec::with_capacity(boundaries.len());
    for b in boundaries {
        let mut missing_ways = 0;
        let (mut outer, mut inner) = (Vec::new(), Vec::new());
        for (way, role) in &b.members {
            let Some(refs) = way_refs.get(way) else {
                missing_ways += 1;
                continue;
            };
            let pts: Vec<[f64; 2]> = refs.iter().filter_map(|r| raw.node(*r)).collect();
            match role.as_str() {
                "inner" => inner.push(pts),
                "outer" | "" => outer.push(pts),
                _ => {}
            }
        }
        let (outer, g1) = chain_rings(outer);
        let (inner, g2) = chain_rings(inner);
        out.push(AdminArea {
            osm_id: b.id,
            name: b.name,
            admin_level: b.admin_level,
            outer,
            inner,
            gaps_closed: g1 + g2,
            missing_ways,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ways_chain_into_rings_and_gaps_are_counted() {
        // A square in three ways, one reversed: one ring, no gap.
        let a = vec![[0.0, 0.0], [1.0, 0.0]];
        let b = vec![[1.0, 1.0], [1.0, 0.0]];
        let c = vec![[1.0, 1.0], [0.0, 1.0], [0.0, 0.0]];
        let (r, g) = chain_rings(vec![a.clone(), b.clone(), c.clone()]);
        assert_eq!((r.len(), g), (1, 0));
        assert_eq!(r[0].len(), 5);
        assert_eq!(r[0].first(), r[0].last());
        // Without the middle way: the ends are joined by one straight line.
        let (r, g) = chain_rings(vec![a, c]);
        assert_eq!((r.len(), g), (1, 1), "{r:?}");
        // Two separate squares stay two rings.
        let sq = |x: f64| vec![[x, 0.0], [x + 1.0, 0.0], [x + 1.0, 1.0], [x, 1.0], [x, 0.0]];
        let (r, g) = chain_rings(vec![sq(0.0), sq(5.0)]);
        assert_eq!((r.len(), g), (2, 0));
    }
}
