//! Reader for Beasley's OR-Library p-median instances (`pmed1` ... `pmed40`).
//!
//! This module owns the format and its documented cost convention: first line `n m p`, then `m`
//! undirected edges `i j cost` (1-based). Edges are read in order and a repeated edge overwrites
//! the earlier cost (the "last one wins" rule in OR-Library's `pmedinfo`); the allocation costs
//! are then all-pairs shortest paths. It must not solve anything.
//!
//! OR-Library prescribes Floyd's algorithm for the shortest paths. With non-negative costs and no
//! self-loops that equals one Dijkstra search per vertex, which is what runs here, on the
//! project's own CSR graph; a test checks the result against petgraph's Floyd–Warshall.

use std::collections::HashMap;
use std::path::Path;

use super::{Instance, InstanceFileError};
use crate::network::csr::{ArcSpec, NO_SEGMENT};
use crate::network::{Csr, Dijkstra, Direction, Seed};

/// A parsed OR-Library p-median instance.
#[derive(Debug, Clone, PartialEq)]
pub struct PmedInstance {
    pub instance: Instance,
    pub p: usize,
}

/// Reads a `pmedN.txt` file.
pub fn read_pmed(path: &Path) -> Result<PmedInstance, InstanceFileError> {
    let (text, name) = super::read_instance_text(path)?;
    parse_pmed(&text, &name)
}

/// Parses OR-Library p-median text.
pub fn parse_pmed(text: &str, path: &str) -> Result<PmedInstance, InstanceFileError> {
    let err = |line: usize, message: String| InstanceFileError::Syntax {
        path: path.to_string(),
        line,
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (hl, header) = lines.next().ok_or_else(|| err(1, "empty file".into()))?;
    let h: Vec<usize> = header
        .split_whitespace()
        .map(|x| {
            x.parse()
                .map_err(|_| err(hl + 1, format!("header field `{x}` is not an integer")))
        })
        .collect::<Result<_, _>>()?;
    let [n, m, p] = h[..] else {
        return Err(err(hl + 1, "header must be `n m p`".into()));
    };
    let mut edges: HashMap<(u32, u32), u32> = HashMap::new();
    let mut count = 0;
    for (li, l) in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() != 3 {
            return Err(err(
                li + 1,
                format!("expected `i j cost`, got `{}`", l.trim()),
            ));
        }
        let num = |k: usize, what: &str| -> Result<u64, InstanceFileError> {
            f[k].parse::<u64>().map_err(|_| {
                err(
                    li + 1,
                    format!("{what} `{}` is not a non-negative integer", f[k]),
                )
            })
        };
        let (i, j, c) = (num(0, "i")?, num(1, "j")?, num(2, "cost")?);
        for (what, v) in [("i", i), ("j", j)] {
            if v == 0 || v as usize > n {
                return Err(err(li + 1, format!("{what} = {v} is outside 1..={n}")));
            }
        }
        if i == j {
            return Err(err(li + 1, format!("self-loop on vertex {i}")));
        }
        let key = ((i - 1).min(j - 1) as u32, (i - 1).max(j - 1) as u32);
        edges.insert(key, c as u32); // the last occurrence wins
        count += 1;
    }
    if count != m {
        return Err(err(
            0,
            format!("header says {m} edges, the file has {count}"),
        ));
    }
    let cost = if edges.values().all(|c| *c > 0) {
        shortest_paths_dijkstra(n, &edges)
    } else {
        shortest_paths_floyd(n, &edges)
    };
    if p == 0 || p > n {
        return Err(err(hl + 1, format!("p = {p} must be in 1..={n}")));
    }
    Ok(PmedInstance {
        instance: Instance {
            weights: vec![1.0; n],
            m: n,
            cost,
        },
        p,
    })
}

/// All-pairs shortest paths by one Dijkstra per vertex (positive costs).
fn shortest_paths_dijkstra(n: usize, edges: &HashMap<(u32, u32), u32>) -> Vec<f64> {
    let mut arcs = Vec::with_capacity(edges.len() * 2);
    for (&(a, b), &c) in edges {
        for (t, h) in [(a, b), (b, a)] {
            arcs.push(ArcSpec {
                tail: t,
                head: h,
                weight: c,
                length_m: c as f32,
                segment: NO_SEGMENT,
            });
        }
    }
    let g = Csr::from_arcs(n, &arcs);
    let mut cost = vec![f64::INFINITY; n * n];
    let mut q = Dijkstra::new(n);
    for s in 0..n {
        q.run(
            &g,
            Direction::Forward,
            &[Seed {
                node: s as u32,
                time: 0,
                length_m: 0.0,
            }],
            None,
        );
        for t in 0..n {
            if let Some(d) = q.time(t as u32) {
                cost[s * n + t] = d as f64;
            }
        }
    }
    cost
}

/// Floyd's algorithm, exactly as OR-Library describes it (used when an edge costs 0).
fn shortest_paths_floyd(n: usize, edges: &HashMap<(u32, u32), u32>) -> Vec<f64> {
    let mut c = vec![f64::INFINITY; n * n];
    for i in 0..n {
        c[i * n + i] = 0.0;
    }
    for (&(a, b), &w) in edges {
        let (a, b) = (a as usize, b as usize);
        c[a * n + b] = w as f64;
        c[b * n + a] = w as f64;
    }
    for k in 0..n {
        for i in 0..n {
            let cik = c[i * n + k];
            if !cik.is_finite() {
                continue;
            }
            for j in 0..n {
                let v = cik + c[k * n + j];
                if v < c[i * n + j] {
                    c[i * n + j] = v;
                }
            }
        }
    }
    c
}

/// Reads `pmedopt.txt` (`PROB OPTIMAL` header, then `pmedN value` lines).
pub fn read_optima(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (k, v) = (f.next()?, f.next()?.parse().ok()?);
            Some((k.to_string(), v))
        })
        .collect()
}
