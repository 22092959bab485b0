//! `ems import`: an OSM extract (or a cache) into a road-graph cache, with its summary.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use anyhow::Context;

use super::{Format, import_with_progress, print_json, write_file};
use ems::network::{self, ImportSummary, PoiKind, RoadNetwork};
use ems::report;
use ems::report::geojson::point_collection;

/// Import an OSM extract (.osm.pbf or .osm XML) into a road-graph cache and print a summary.
#[derive(Args)]
pub struct ImportArgs {
    /// The extract (PBF or XML), or an existing cache to summarise.
    extract: PathBuf,
    /// Where to write the cache [default: <extract name>.ems in the current directory].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Do not write a cache, only print the summary.
    #[arg(long)]
    no_cache: bool,
    /// Do not store the contraction hierarchy of the default ambulance profile in the cache
    /// (it is then built on the first large matrix of each run).
    #[arg(long)]
    no_hierarchy: bool,
    /// Also write the hospitals, ambulance stations and fire stations found, with their OSM
    /// ids and tags, as GeoJSON in this folder (hospitals.geojson, ambulance_stations.geojson,
    /// fire_stations.geojson), to correct in QGIS.
    #[arg(long)]
    export_pois: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// The written cache.
#[derive(Serialize)]
struct CacheFile {
    path: String,
    bytes: u64,
    /// Seconds spent building the stored hierarchy (`null`: none stored).
    hierarchy_seconds: Option<f64>,
}

/// `ems import --format json`: every summary field, the import time and the cache.
#[derive(Serialize)]
struct ImportJson<'a> {
    #[serde(flatten)]
    summary: &'a ImportSummary,
    import_seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache: Option<CacheFile>,
}

/// `<extract name>.ems` in the current directory.
fn default_cache_path(extract: &Path) -> PathBuf {
    let stem = extract
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "map".into());
    let stem = stem.trim_end_matches(".pbf").trim_end_matches(".osm");
    PathBuf::from(format!("{stem}.ems"))
}

/// A POI's GeoJSON properties: what OSM says of it.
#[derive(Serialize)]
struct PoiProperties<'a> {
    /// `node/ID` or `way/ID`.
    osm: &'a str,
    name: Option<&'a str>,
    kind: PoiKind,
    emergency: bool,
    tags: &'a std::collections::BTreeMap<String, String>,
}

/// Writes one GeoJSON per POI kind into `dir`; returns the files and counts.
fn export_pois(net: &RoadNetwork, dir: &Path) -> Result<Vec<(PathBuf, usize)>> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let mut out = Vec::new();
    for (kind, file) in [
        (PoiKind::Hospital, "hospitals.geojson"),
        (PoiKind::AmbulanceStation, "ambulance_stations.geojson"),
        (PoiKind::FireStation, "fire_stations.geojson"),
    ] {
        let items: Vec<_> = net.pois.iter().filter(|p| p.kind == kind).collect();
        let fc = point_collection(items.iter().map(|p| {
            (
                p.lon_lat,
                PoiProperties {
                    osm: &p.osm,
                    name: p.name.as_deref(),
                    kind: p.kind,
                    emergency: p.emergency,
                    tags: &p.tags,
                },
            )
        }));
        let path = dir.join(file);
        write_file(&path, serde_json::to_string_pretty(&fc)?)?;
        out.push((path, items.len()));
    }
    Ok(out)
}

pub fn run(a: ImportArgs) -> Result<()> {
    let is_cache = network::file_kind(&a.extract)? == Some(network::FileKind::Cache);
    let t0 = std::time::Instant::now();
    let net = std::sync::Arc::new(import_with_progress(&a.extract)?);
    let secs = t0.elapsed().as_secs_f64();
    let mut cache = None;
    // A cache given as input is summarised, not copied, unless --out asks for a copy.
    if !a.no_cache && (!is_cache || a.out.is_some()) {
        let out = a.out.unwrap_or_else(|| default_cache_path(&a.extract));
        let (bytes, hierarchy_seconds) = if a.no_hierarchy {
            (net.save(&out)?, None)
        } else {
            let tm =
                network::TravelModel::for_map(net.clone(), network::TravelSettings::default())?;
            let t1 = std::time::Instant::now();
            tm.hierarchy();
            let h = t1.elapsed().as_secs_f64();
            (tm.save_cache(&out)?, Some(h))
        };
        cache = Some(CacheFile {
            path: out.display().to_string(),
            bytes,
            hierarchy_seconds,
        });
    }
    if let Some(dir) = &a.export_pois {
        for (path, n) in export_pois(&net, dir)? {
            eprintln!("wrote {} ({n} objects)", path.display());
        }
    }
    match a.format {
        Format::Json => print_json(&ImportJson {
            summary: &net.summary,
            import_seconds: secs,
            cache,
        })?,
        Format::Text => {
            print!("{}", report::import_summary_text(&net.summary));
            println!("  import time     {secs:.2} s");
            if let Some(c) = &cache {
                println!(
                    "  cache           {} ({:.1} MB)",
                    c.path,
                    c.bytes as f64 / 1e6
                );
                if let Some(h) = c.hierarchy_seconds {
                    println!("  hierarchy       ambulance profile, built in {h:.2} s, stored");
                }
            }
        }
    }
    Ok(())
}
