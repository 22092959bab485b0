//! The binary cache of an imported [`RoadNetwork`].
//!
//! This module owns the on-disk format: the 8-byte magic `EMSROAD\0`, a little-endian `u32`
//! format version, then the network serialised with `postcard`. It must not interpret the
//! network. A cache written by another format version is rejected with a message saying which
//! versions are involved and how to rebuild it.

use std::io::{Read, Write};
use std::path::Path;

use super::RoadNetwork;

/// File signature.
pub const MAGIC: &[u8; 8] = b"EMSROAD\0";
/// Bump whenever [`RoadNetwork`] or anything it contains changes shape or meaning. 2: building
/// footprint areas are right for either ring orientation (version 1 stored the rest of the
/// Earth for clockwise footprints).
pub const FORMAT_VERSION: u32 = 2;

/// Cache read/write failures.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Reading or writing the file failed: check the path, permissions and free space.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the cache signature.
    #[error("{path}: not an ems road cache (missing the EMSROAD signature)")]
    NotACache { path: String },
    /// The cache was written by a different `ems` format version: re-import the extract.
    #[error(
        "{path}: cache format version {found}, but this ems reads version {expected}; \
         rebuild it with `ems import <extract> --out {path}`"
    )]
    Version {
        path: String,
        found: u32,
        expected: u32,
    },
    /// The payload does not decode: the file is truncated or damaged; re-import the extract.
    #[error("{path}: corrupt cache ({message}); rebuild it with `ems import`")]
    Corrupt { path: String, message: String },
}

/// Writes the cache to `path`.
pub fn write_cache(net: &RoadNetwork, path: &Path) -> Result<u64, CacheError> {
    let name = path.display().to_string();
    let io = |e| CacheError::Io {
        path: name.clone(),
        source: e,
    };
    let payload = postcard::to_stdvec(net).map_err(|e| CacheError::Corrupt {
        path: name.clone(),
        message: e.to_string(),
    })?;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    f.write_all(MAGIC).map_err(io)?;
    f.write_all(&FORMAT_VERSION.to_le_bytes()).map_err(io)?;
    f.write_all(&payload).map_err(io)?;
    f.flush().map_err(io)?;
    Ok((MAGIC.len() + 4 + payload.len()) as u64)
}

/// Reads a cache from a stream that starts with the magic.
pub fn read_cache<R: Read>(mut reader: R, source: &str) -> Result<RoadNetwork, CacheError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(|e| CacheError::Io {
        path: source.to_string(),
        source: e,
    })?;
    decode(&bytes, source)
}

/// Decodes cache bytes.
pub fn decode(bytes: &[u8], source: &str) -> Result<RoadNetwork, CacheError> {
    let rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| CacheError::NotACache {
            path: source.to_string(),
        })?;
    if rest.len() < 4 {
        return Err(CacheError::Corrupt {
            path: source.to_string(),
            message: "no version field".into(),
        });
    }
    let found = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
    if found != FORMAT_VERSION {
        return Err(CacheError::Version {
            path: source.to_string(),
            found,
            expected: FORMAT_VERSION,
        });
    }
    postcard::from_bytes(&rest[4..]).map_err(|e| CacheError::Corrupt {
        path: source.to_string(),
        message: e.to_string(),
    })
}

impl RoadNetwork {
    /// Saves the network as a cache file; returns the bytes written.
    pub fn save(&self, path: &Path) -> Result<u64, CacheError> {
        write_cache(self, path)
    }

    /// Loads a cache file.
    pub fn load(path: &Path) -> Result<RoadNetwork, CacheError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| CacheError::Io {
            path: name.clone(),
            source: e,
        })?;
        decode(&bytes, &name)
    }
}
