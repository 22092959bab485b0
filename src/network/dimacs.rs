//! Reader for the DIMACS shortest-path challenge `.gr` format, for benchmarks and oracle tests.
//!
//! This module owns parsing `c` (comment), `p sp N M` (problem) and `a U V W` (arc, 1-based) lines
//! into a [`Csr`] whose weights are the file's integers. It must not assume units: the Rome graph
//! uses metres, other DIMACS graphs use tenths of seconds.

use std::io::BufRead;
use std::path::Path;

use super::csr::{ArcSpec, Csr, NO_SEGMENT};

/// A line-oriented text file (a DIMACS `.gr` graph here, the optimizer's benchmark instances
/// too) that cannot be read, with the line that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum TextFileError {
    /// The file could not be read: check the path.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A line does not follow the format; the message says which field (line 0: the file as a
    /// whole).
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: String,
        line: usize,
        message: String,
    },
}

/// A malformed `.gr` file.
pub type DimacsError = TextFileError;

/// A file's text and the name used in messages.
pub fn read_text(path: &Path) -> Result<(String, String), TextFileError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| TextFileError::Io {
        path: name.clone(),
        source: e,
    })?;
    Ok((text, name))
}

/// Reads a `.gr` file. Node ids in the returned graph are 0-based (file id - 1).
pub fn read_gr(path: &Path) -> Result<Csr, DimacsError> {
    let name = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| DimacsError::Io {
        path: name.clone(),
        source: e,
    })?;
    parse_gr(std::io::BufReader::new(f), &name)
}

/// Parses `.gr` text from a reader.
pub fn parse_gr<R: BufRead>(reader: R, source: &str) -> Result<Csr, DimacsError> {
    let mut n: Option<usize> = None;
    let mut declared_arcs = 0usize;
    let mut arcs = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let lineno = i + 1;
        let line = line.map_err(|e| DimacsError::Io {
            path: source.to_string(),
            source: e,
        })?;
        let err = |message: String| DimacsError::Syntax {
            path: source.to_string(),
            line: lineno,
            message,
        };
        let mut f = line.split_whitespace();
        match f.next() {
            None | Some("c") => {}
            Some("p") => {
                if f.next() != Some("sp") {
                    return Err(err("problem line must be `p sp NODES ARCS`".into()));
                }
                let nodes = f.next().and_then(|s| s.parse().ok());
                let m = f.next().and_then(|s| s.parse().ok());
                match (nodes, m) {
                    (Some(nodes), Some(m)) => {
                        n = Some(nodes);
                        declared_arcs = m;
                        arcs.reserve(m);
                    }
                    _ => return Err(err("problem line: NODES and ARCS must be integers".into())),
                }
            }
            Some("a") => {
                let nodes = n.ok_or_else(|| err("arc before the `p sp` problem line".into()))?;
                let mut num = |field: &str| -> Result<u64, DimacsError> {
                    f.next().and_then(|s| s.parse::<u64>().ok()).ok_or_else(|| {
                        err(format!(
                            "arc field `{field}` is missing or not a non-negative integer"
                        ))
                    })
                };
                let (u, v, w) = (num("u")?, num("v")?, num("w")?);
                for (field, id) in [("u", u), ("v", v)] {
                    if id == 0 || id as usize > nodes {
                        return Err(err(format!(
                            "arc field `{field}` = {id} is outside 1..={nodes}"
                        )));
                    }
                }
                if w == 0 || w > u32::MAX as u64 / 4 {
                    return Err(err(format!(
                        "arc field `w` = {w} must be in 1..={}",
                        u32::MAX / 4
                    )));
                }
                arcs.push(ArcSpec {
                    tail: (u - 1) as u32,
                    head: (v - 1) as u32,
                    weight: w as u32,
                    length_m: w as f32,
                    segment: NO_SEGMENT,
                });
            }
            Some(other) => return Err(err(format!("unknown line type `{other}`"))),
        }
    }
    let nodes = n.ok_or_else(|| DimacsError::Syntax {
        path: source.to_string(),
        line: 0,
        message: "no `p sp` problem line".into(),
    })?;
    if arcs.len() != declared_arcs {
        return Err(DimacsError::Syntax {
            path: source.to_string(),
            line: 0,
            message: format!(
                "problem line declares {declared_arcs} arcs, file has {}",
                arcs.len()
            ),
        });
    }
    Ok(Csr::from_arcs(nodes, &arcs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_lines() {
        let g = parse_gr("c x\np sp 3 2\na 1 2 5\na 2 3 7\n".as_bytes(), "t.gr").unwrap();
        assert_eq!(g.num_nodes(), 3);
        assert_eq!(g.num_arcs(), 2);
        let e = parse_gr("p sp 3 1\na 1 4 5\n".as_bytes(), "t.gr").unwrap_err();
        assert!(e.to_string().starts_with("t.gr:2:"), "{e}");
        let e = parse_gr("p sp 3 1\na 1 x 5\n".as_bytes(), "t.gr").unwrap_err();
        assert!(e.to_string().contains("`v`"), "{e}");
    }
}
