//! The binary cache of an imported [`RoadNetwork`], with the contraction hierarchy of one speed
//! profile beside it.
//!
//! This module owns the on-disk format. It must not interpret the network. Layout (little
//! endian), format version 4:
//!
//! ```text
//! "EMSROAD\0"  u32 version
//! u64 length  u32 CRC-32  network (postcard)
//! [ "CH02"  u64 profile key  u64 length  u32 CRC-32  hierarchy (postcard) ]   optional
//! ```
//!
//! - A network section whose checksum or decoding fails is an error ([`CacheError::Corrupt`]):
//!   the network cannot be rebuilt without the extract.
//! - The hierarchy section is an accelerator: when its checksum, decoding or shape check
//!   ([`Hierarchy::validate`]) fails, or its key is not the profile asked for, it is ignored
//!   with a warning and rebuilt when a large matrix needs it; it is never trusted.
//! - Other versions are rejected with a message saying how to rebuild (versions 2 and 3 lack
//!   the bus roads and lanes of version 4: read as they are, they would silently route
//!   without them).
//! - Files are written to a temporary name beside the target and renamed into place, so a
//!   crash mid-write leaves the old cache or none, never half of one.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use super::RoadNetwork;
use super::ch::Hierarchy;
use super::profile::SpeedProfile;

/// File signature.
pub const MAGIC: &[u8; 8] = b"EMSROAD\0";
/// Bump whenever [`RoadNetwork`] or anything it contains changes shape or meaning. 2: building
/// footprint areas are right for either ring orientation (version 1 stored the rest of the
/// Earth for clockwise footprints). 3: lengths and checksums per section, and the optional
/// hierarchy section. 4: each segment's access (general, emergency-only, bus-only, bus lane)
/// and bus counts in the import summary; busways imported.
pub const FORMAT_VERSION: u32 = 4;
/// Tag of the hierarchy section; its digits are the hierarchy's own format version. 02: the
/// upward graphs are stored by rank (01 stored them by node id; such a section is ignored and
/// the hierarchy rebuilt, never misread).
pub const CH_TAG: &[u8; 4] = b"CH02";

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
        "{path}: cache format version {found}, but this ems reads version {expected}; rebuild \
         it with `ems import <extract> --out {path}`"
    )]
    Version {
        path: String,
        found: u32,
        expected: u32,
    },
    /// The network section is truncated, damaged (checksum) or does not decode: re-import.
    #[error("{path}: corrupt cache ({message}); rebuild it with `ems import`")]
    Corrupt { path: String, message: String },
}

/// The hierarchy a cache holds for one speed profile.
#[derive(Debug, Clone)]
pub struct StoredHierarchy {
    /// [`profile_key`] of the profile it was built for.
    pub key: u64,
    pub hierarchy: Arc<Hierarchy>,
}

/// A cached accelerator carried by a [`RoadNetwork`]: not part of what the network is, so two
/// networks compare equal whatever their caches hold.
#[derive(Debug, Clone, Default)]
pub struct Accelerator(pub Option<StoredHierarchy>);

impl PartialEq for Accelerator {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The key of a speed profile's hierarchy: a CRC-32 of the hierarchy format tag and the profile
/// as stored (any change of speeds, factors or rules gives another key).
pub fn profile_key(profile: &SpeedProfile) -> u64 {
    let mut h = crc32fast::Hasher::new();
    h.update(CH_TAG);
    h.update(&postcard::to_stdvec(profile).unwrap_or_default());
    u64::from(h.finalize())
}

fn crc(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

/// Writes the cache to `path`, with `hierarchy` (built for `profile`) when given; returns the
/// bytes written.
pub fn write_cache(
    net: &RoadNetwork,
    path: &Path,
    hierarchy: Option<(&SpeedProfile, &Hierarchy)>,
) -> Result<u64, CacheError> {
    let name = path.display().to_string();
    let io = |e| CacheError::Io {
        path: name.clone(),
        source: e,
    };
    let corrupt = |e: postcard::Error| CacheError::Corrupt {
        path: name.clone(),
        message: e.to_string(),
    };
    let payload = postcard::to_stdvec(net).map_err(corrupt)?;
    let mut bytes = Vec::with_capacity(payload.len() + 64);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&crc(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    if let Some((profile, h)) = hierarchy {
        let ch = postcard::to_stdvec(h).map_err(corrupt)?;
        bytes.extend_from_slice(CH_TAG);
        bytes.extend_from_slice(&profile_key(profile).to_le_bytes());
        bytes.extend_from_slice(&(ch.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&crc(&ch).to_le_bytes());
        bytes.extend_from_slice(&ch);
    }
    let tmp = path.with_file_name(format!(
        ".{}.tmp-{}",
        path.file_name()
            .map_or_else(|| "cache".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    Ok(bytes.len() as u64)
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

/// Takes `n` bytes off the front of `rest`.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (a, b) = rest.split_at(n);
    *rest = b;
    Some(a)
}

fn u32_of(b: &[u8]) -> u32 {
    u32::from_le_bytes(b.try_into().unwrap_or([0; 4]))
}

fn u64_of(b: &[u8]) -> u64 {
    u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))
}

/// Decodes cache bytes.
pub fn decode(bytes: &[u8], source: &str) -> Result<RoadNetwork, CacheError> {
    let corrupt = |message: &str| CacheError::Corrupt {
        path: source.to_string(),
        message: message.to_string(),
    };
    let mut rest = bytes
        .strip_prefix(MAGIC)
        .ok_or_else(|| CacheError::NotACache {
            path: source.to_string(),
        })?;
    let found = u32_of(take(&mut rest, 4).ok_or_else(|| corrupt("no version field"))?);
    if found != FORMAT_VERSION {
        return Err(CacheError::Version {
            path: source.to_string(),
            found,
            expected: FORMAT_VERSION,
        });
    }
    let head = take(&mut rest, 12).ok_or_else(|| corrupt("truncated header"))?;
    let (len, sum) = (u64_of(&head[..8]), u32_of(&head[8..]));
    let payload = usize::try_from(len)
        .ok()
        .and_then(|n| take(&mut rest, n))
        .ok_or_else(|| corrupt("truncated network section"))?;
    if crc(payload) != sum {
        return Err(corrupt("network section checksum mismatch"));
    }
    let mut net: RoadNetwork =
        postcard::from_bytes(payload).map_err(|e| corrupt(&e.to_string()))?;
    // A section can decode into values no import writes (issue #14: a negative length reached
    // a clamp and panicked): those are damage too.
    check_decoded(&net).map_err(|why| corrupt(&why))?;
    if !rest.is_empty() {
        match read_hierarchy(rest, net.nodes.len()) {
            Ok(h) => net.accelerator = Accelerator(Some(h)),
            Err(why) => tracing::warn!(
                "{source}: the stored contraction hierarchy is ignored ({why}); it is rebuilt when needed"
            ),
        }
    }
    Ok(net)
}

/// What an import always writes: coordinates finite and in range, segment ends that are
/// nodes, lengths finite and not negative, speeds finite and positive, one OSM id per node.
/// `O(nodes + segment points + POIs + buildings)`.
fn check_decoded(net: &RoadNetwork) -> Result<(), String> {
    let lon_lat = |p: &[f64; 2]| {
        p[0].is_finite() && p[1].is_finite() && p[0].abs() <= 180.0 && p[1].abs() <= 90.0
    };
    if net.node_osm_ids.len() != net.nodes.len() {
        return Err(format!(
            "{} node ids for {} nodes",
            net.node_osm_ids.len(),
            net.nodes.len()
        ));
    }
    if let Some(k) = net.nodes.iter().position(|p| !lon_lat(p)) {
        return Err(format!("node {k} has coordinates {:?}", net.nodes[k]));
    }
    let n = net.nodes.len();
    for (k, s) in net.segments.iter().enumerate() {
        if s.from as usize >= n || s.to as usize >= n {
            return Err(format!(
                "segment {k} joins nodes {} and {} of {n}",
                s.from, s.to
            ));
        }
        if !(s.length_m.is_finite() && s.length_m >= 0.0) {
            return Err(format!("segment {k} has length {} m", s.length_m));
        }
        if let Some(v) = s.maxspeed_kmh
            && !(v.is_finite() && v > 0.0)
        {
            return Err(format!("segment {k} has maxspeed {v} km/h"));
        }
        if s.geometry.len() < 2 || !s.geometry.iter().all(lon_lat) {
            return Err(format!("segment {k} has a broken geometry"));
        }
    }
    if net.pois.iter().any(|p| !lon_lat(&p.lon_lat)) {
        return Err("a point of interest has broken coordinates".into());
    }
    if net
        .buildings
        .iter()
        .any(|b| !(lon_lat(&b.lon_lat) && b.area_m2.is_finite() && b.area_m2 >= 0.0))
    {
        return Err("a building has broken coordinates or area".into());
    }
    Ok(())
}

/// The hierarchy section, checked.
fn read_hierarchy(mut rest: &[u8], num_nodes: usize) -> Result<StoredHierarchy, String> {
    let tag = take(&mut rest, 4).ok_or("truncated")?;
    if tag != CH_TAG {
        return Err(format!(
            "section tag {:?}, this ems reads {:?}",
            String::from_utf8_lossy(tag),
            String::from_utf8_lossy(CH_TAG)
        ));
    }
    let head = take(&mut rest, 20).ok_or("truncated header")?;
    let (key, len, sum) = (
        u64_of(&head[..8]),
        u64_of(&head[8..16]),
        u32_of(&head[16..]),
    );
    let payload = usize::try_from(len)
        .ok()
        .and_then(|n| take(&mut rest, n))
        .ok_or("truncated")?;
    if crc(payload) != sum {
        return Err("checksum mismatch".into());
    }
    let h: Hierarchy = postcard::from_bytes(payload).map_err(|e| e.to_string())?;
    h.validate(num_nodes)?;
    Ok(StoredHierarchy {
        key,
        hierarchy: Arc::new(h),
    })
}

impl RoadNetwork {
    /// Saves the network as a cache file (with the hierarchy it carries, if any); returns the
    /// bytes written.
    pub fn save(&self, path: &Path) -> Result<u64, CacheError> {
        write_cache(self, path, None)
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

    /// The stored hierarchy for `profile`, if the cache held one built for it.
    pub fn stored_hierarchy(&self, profile: &SpeedProfile) -> Option<Arc<Hierarchy>> {
        self.accelerator
            .0
            .as_ref()
            .filter(|s| s.key == profile_key(profile))
            .map(|s| s.hierarchy.clone())
    }
}
