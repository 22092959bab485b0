//! Streaming readers for OpenStreetMap extracts: PBF (with `osmpbf`) and XML (with `quick-xml`).
//!
//! This module owns turning bytes into [`RawOsm`]: node coordinates, the drivable ways with their
//! routing attributes, and the raw points of interest. It must not split ways, build graphs or
//! decide connectivity; that is [`super::build`]'s job. Both readers feed one [`Collector`], so
//! PBF and XML extracts of the same data give the same result.

use std::io::{BufRead, Read};

use quick_xml::events::{BytesStart, Event};

use super::ImportError;
use super::tags::{Oneway, Rejection, WayAttributes, classify_way};

/// A way that is kept for routing, before splitting.
#[derive(Debug, Clone)]
pub struct RawRoad {
    pub way_id: i64,
    pub refs: Vec<i64>,
    pub attrs: WayAttributes,
}

/// A point of interest kind read from the tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoiKind {
    /// `amenity=hospital`.
    Hospital,
    /// `emergency=ambulance_station`.
    AmbulanceStation,
    /// `amenity=fire_station`.
    FireStation,
}

/// The POI-relevant tags of a node or way.
#[derive(Debug, Clone, Default)]
pub struct PoiTags {
    pub kinds: Vec<PoiKind>,
    pub name: Option<String>,
    /// Every tag of a hospital, station or fire station (for exports and capabilities).
    pub all: Vec<(String, String)>,
    /// `emergency=yes` on a hospital.
    pub emergency: bool,
    /// `building=*` value, if the way is a building.
    pub building: Option<String>,
    /// `building:levels`, parsed.
    pub levels: Option<f64>,
}

/// A way that is a POI or building footprint, before its nodes are resolved.
#[derive(Debug, Clone)]
pub struct RawPoiWay {
    pub way_id: i64,
    pub refs: Vec<i64>,
    pub tags: PoiTags,
}

/// A POI node.
#[derive(Debug, Clone)]
pub struct RawPoiNode {
    pub node_id: i64,
    pub lon_lat: [f64; 2],
    pub tags: PoiTags,
}

/// Counts made while reading.
#[derive(Debug, Clone, Default)]
pub struct ReadStats {
    pub nodes: u64,
    pub ways: u64,
    pub relations: u64,
    /// Ways with any `highway` tag.
    pub highway_ways: u64,
    pub rejected_not_drivable: u64,
    pub rejected_area: u64,
    pub rejected_access: u64,
    pub reversible_ways: u64,
    /// Hospitals, stations or buildings mapped as relations (multipolygons): not read.
    pub poi_relations_skipped: u64,
}

/// A `boundary=administrative` relation: its tags and member ways with their roles.
#[derive(Debug, Clone)]
pub struct RawBoundary {
    pub id: i64,
    pub name: Option<String>,
    pub admin_level: Option<String>,
    /// `(way id, role)`.
    pub members: Vec<(i64, String)>,
}

/// Everything read from one extract.
#[derive(Debug, Default)]
pub struct RawOsm {
    /// `(id, [lon, lat])`, sorted by id after [`Collector::finish`].
    pub nodes: Vec<(i64, [f64; 2])>,
    pub roads: Vec<RawRoad>,
    pub poi_ways: Vec<RawPoiWay>,
    pub poi_nodes: Vec<RawPoiNode>,
    pub stats: ReadStats,
    /// Administrative boundary relations (read when [`Collector::keep_boundaries`] is set).
    pub boundaries: Vec<RawBoundary>,
    /// Every way's node references (kept with the boundaries, to assemble their rings).
    pub way_refs: std::collections::HashMap<i64, Vec<i64>>,
}

impl RawOsm {
    /// Looks up a node's `[lon, lat]`.
    pub fn node(&self, id: i64) -> Option<[f64; 2]> {
        self.nodes
            .binary_search_by_key(&id, |n| n.0)
            .ok()
            .map(|i| self.nodes[i].1)
    }
}

/// Receives elements from either reader.
#[derive(Default)]
pub struct Collector {
    raw: RawOsm,
    /// Also keep administrative boundaries and every way's references (`ems init`).
    pub keep_boundaries: bool,
}

fn poi_tags<'a>(tag: &impl Fn(&str) -> Option<&'a str>) -> PoiTags {
    let mut t = PoiTags::default();
    if tag("amenity") == Some("hospital") {
        t.kinds.push(PoiKind::Hospital);
        t.emergency = tag("emergency") == Some("yes");
    }
    if tag("emergency") == Some("ambulance_station") {
        t.kinds.push(PoiKind::AmbulanceStation);
    }
    if tag("amenity") == Some("fire_station") {
        t.kinds.push(PoiKind::FireStation);
    }
    if let Some(b) = tag("building").filter(|b| *b != "no") {
        t.building = Some(b.to_string());
        t.levels = tag("building:levels").and_then(parse_levels);
    }
    if !t.kinds.is_empty() || t.building.is_some() {
        t.name = tag("name").map(str::to_string);
    }
    t
}

/// [`poi_tags`] with every tag kept for POIs (not for plain buildings).
fn poi_tags_all(tags: &[(&str, &str)]) -> PoiTags {
    let mut t = poi_tags(&Collector::lookup(tags));
    if !t.kinds.is_empty() {
        t.all = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }
    t
}

/// Parses `building:levels` ("3", "3.5", "3;4" -> 3). Rejects non-positive or absurd values.
pub fn parse_levels(v: &str) -> Option<f64> {
    let first = v.split([';', ',']).next()?.trim();
    first
        .parse::<f64>()
        .ok()
        .filter(|l| l.is_finite() && *l > 0.0 && *l < 300.0)
}

impl Collector {
    fn lookup<'a>(tags: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> + 'a {
        move |k| tags.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
    }

    pub fn node(&mut self, id: i64, lon: f64, lat: f64, tags: &[(&str, &str)]) {
        self.raw.stats.nodes += 1;
        self.raw.nodes.push((id, [lon, lat]));
        if tags.is_empty() {
            return;
        }
        let t = poi_tags_all(tags);
        if !t.kinds.is_empty() {
            self.raw.poi_nodes.push(RawPoiNode {
                node_id: id,
                lon_lat: [lon, lat],
                tags: t,
            });
        }
    }

    pub fn way(&mut self, id: i64, refs: Vec<i64>, tags: &[(&str, &str)]) {
        self.raw.stats.ways += 1;
        let tag = Self::lookup(tags);
        if tag("highway").is_some() {
            self.raw.stats.highway_ways += 1;
            match classify_way(&tag) {
                Ok(attrs) => {
                    if attrs.oneway == Oneway::Reversible {
                        self.raw.stats.reversible_ways += 1;
                    }
                    self.raw.roads.push(RawRoad {
                        way_id: id,
                        refs: refs.clone(),
                        attrs,
                    });
                }
                Err(Rejection::NotDrivable) => self.raw.stats.rejected_not_drivable += 1,
                Err(Rejection::Area) => self.raw.stats.rejected_area += 1,
                Err(Rejection::NoAccess) => self.raw.stats.rejected_access += 1,
            }
        }
        if self.keep_boundaries {
            self.raw.way_refs.insert(id, refs.clone());
        }
        let t = poi_tags_all(tags);
        if !t.kinds.is_empty() || t.building.is_some() {
            self.raw.poi_ways.push(RawPoiWay {
                way_id: id,
                refs,
                tags: t,
            });
        }
    }

    /// A relation with its member ways `(way id, role)` (other members are not needed).
    pub fn relation(&mut self, id: i64, members: Vec<(i64, String)>, tags: &[(&str, &str)]) {
        self.raw.stats.relations += 1;
        let tag = Self::lookup(tags);
        let t = poi_tags(&tag);
        if !t.kinds.is_empty() || t.building.is_some() {
            self.raw.stats.poi_relations_skipped += 1;
        }
        if self.keep_boundaries && tag("boundary") == Some("administrative") {
            self.raw.boundaries.push(RawBoundary {
                id,
                name: tag("name").map(str::to_string),
                admin_level: tag("admin_level").map(str::to_string),
                members,
            });
        }
    }

    /// Sorts the node table for lookups and returns the data.
    pub fn finish(mut self) -> RawOsm {
        if !self.raw.nodes.is_sorted_by_key(|n| n.0) {
            self.raw.nodes.sort_unstable_by_key(|n| n.0);
        }
        self.raw.nodes.dedup_by_key(|n| n.0);
        self.raw
    }
}

/// Reads an OSM PBF stream; `boundaries` keeps the administrative boundaries too.
pub fn read_pbf<R: Read + Send>(
    reader: R,
    source: &str,
    boundaries: bool,
) -> Result<RawOsm, ImportError> {
    let mut c = Collector {
        keep_boundaries: boundaries,
        ..Collector::default()
    };
    let result = osmpbf::ElementReader::new(reader).for_each(|el| match el {
        osmpbf::Element::Node(n) => {
            let t: Vec<(&str, &str)> = n.tags().collect();
            c.node(n.id(), n.lon(), n.lat(), &t);
        }
        osmpbf::Element::DenseNode(n) => {
            let t: Vec<(&str, &str)> = n.tags().collect();
            c.node(n.id(), n.lon(), n.lat(), &t);
        }
        osmpbf::Element::Way(w) => {
            let t: Vec<(&str, &str)> = w.tags().collect();
            c.way(w.id(), w.refs().collect(), &t);
        }
        osmpbf::Element::Relation(r) => {
            let t: Vec<(&str, &str)> = r.tags().collect();
            let members = r
                .members()
                .filter(|m| m.member_type == osmpbf::RelMemberType::Way)
                .map(|m| (m.member_id, m.role().unwrap_or("").to_string()))
                .collect();
            c.relation(r.id(), members, &t);
        }
    });
    result.map_err(|e| ImportError::Pbf {
        path: source.to_string(),
        message: e.to_string(),
    })?;
    Ok(c.finish())
}

/// A `BufRead` adapter that counts the lines consumed, for error messages.
struct LineCounter<R> {
    inner: R,
    line: u64,
}

impl<R: BufRead> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.line += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let n = amt.min(buf.len());
            self.line += buf[..n].iter().filter(|b| **b == b'\n').count() as u64;
        }
        self.inner.consume(amt);
    }
}

#[derive(Default)]
enum Current {
    #[default]
    None,
    Node {
        id: i64,
        lon: f64,
        lat: f64,
    },
    Way {
        id: i64,
    },
    Relation {
        id: i64,
    },
    /// A deleted element (`action="delete"`, `visible="false"`, or inside an osmChange
    /// `<delete>` block): read past, not used.
    Skipped,
}

/// JOSM files keep deleted objects with `action="delete"`; history and API files mark them
/// `visible="false"`.
fn is_deleted(e: &BytesStart) -> bool {
    e.attributes().flatten().any(|a| {
        let v = a.value.as_ref();
        (a.key.as_ref() == "action" && v == "delete")
            || (a.key.as_ref() == "visible" && v == "false")
    })
}

/// What the XML reader holds between events: the element being read and its children so far.
#[derive(Default)]
struct XmlState {
    current: Current,
    tags: Vec<(String, String)>,
    refs: Vec<i64>,
    members: Vec<(i64, String)>,
    saw_osm_root: bool,
    in_delete_block: bool,
}

impl XmlState {
    /// A start or empty element.
    fn start(
        &mut self,
        c: &mut Collector,
        e: &BytesStart,
        is_empty: bool,
        err_at: &ErrAt,
    ) -> Result<(), ImportError> {
        let name = e.local_name();
        let element = name.as_ref();
        if matches!(element, "node" | "way" | "relation") && (self.in_delete_block || is_deleted(e))
        {
            self.tags.clear();
            self.refs.clear();
            self.current = if is_empty {
                Current::None
            } else {
                Current::Skipped
            };
            return Ok(());
        }
        match element {
            "osm" | "osmChange" => self.saw_osm_root = true,
            "delete" if !is_empty => self.in_delete_block = true,
            "node" => {
                let id = attr_i64(e, "id", "node", err_at)?;
                let lat = attr_f64(e, "lat", "node", err_at)?;
                let lon = attr_f64(e, "lon", "node", err_at)?;
                if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                    return Err(err_at(
                        "node.lat/lon",
                        format!("node {id} has coordinates out of range ({lat}, {lon})"),
                    ));
                }
                self.tags.clear();
                if is_empty {
                    c.node(id, lon, lat, &[]);
                } else {
                    self.current = Current::Node { id, lon, lat };
                }
            }
            "way" => {
                let id = attr_i64(e, "id", "way", err_at)?;
                self.tags.clear();
                self.refs.clear();
                if is_empty {
                    c.way(id, Vec::new(), &[]);
                } else {
                    self.current = Current::Way { id };
                }
            }
            "relation" => {
                let id = attr_i64(e, "id", "relation", err_at)?;
                self.tags.clear();
                self.members.clear();
                if is_empty {
                    c.relation(id, Vec::new(), &[]);
                } else {
                    self.current = Current::Relation { id };
                }
            }
            "member"
                if matches!(self.current, Current::Relation { .. })
                    && e.attributes()
                        .flatten()
                        .any(|a| a.key.as_ref() == "type" && a.value.as_ref() == "way") =>
            {
                let r = attr_i64(e, "ref", "member", err_at)?;
                let role = attr_string(e, "role", "member", err_at).unwrap_or_default();
                self.members.push((r, role));
            }
            "nd" => {
                if matches!(self.current, Current::Way { .. }) {
                    self.refs.push(attr_i64(e, "ref", "nd", err_at)?);
                }
            }
            "tag" => {
                if matches!(
                    self.current,
                    Current::Node { .. } | Current::Way { .. } | Current::Relation { .. }
                ) {
                    let k = attr_string(e, "k", "tag", err_at)?;
                    let v = attr_string(e, "v", "tag", err_at)?;
                    self.tags.push((k, v));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// An end element: hands a finished node, way or relation to the collector.
    fn end(&mut self, c: &mut Collector, name: &str) {
        let t: Vec<(&str, &str)> = self
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        if name == "delete" {
            self.in_delete_block = false;
        }
        match (name, std::mem::take(&mut self.current)) {
            ("node", Current::Node { id, lon, lat }) => c.node(id, lon, lat, &t),
            ("way", Current::Way { id }) => c.way(id, std::mem::take(&mut self.refs), &t),
            ("relation", Current::Relation { id }) => {
                c.relation(id, std::mem::take(&mut self.members), &t)
            }
            ("node" | "way" | "relation", Current::Skipped) => {}
            (_, other) => self.current = other,
        }
    }
}

/// Reads an OSM XML stream (`<osm>` with `<node>`, `<way>`, `<relation>`); `boundaries`
/// keeps the administrative boundaries too.
pub fn read_xml<R: BufRead>(
    reader: R,
    source: &str,
    boundaries: bool,
) -> Result<RawOsm, ImportError> {
    let mut xml = quick_xml::Reader::from_reader(LineCounter {
        inner: reader,
        line: 1,
    });
    let mut buf = Vec::new();
    let mut c = Collector {
        keep_boundaries: boundaries,
        ..Collector::default()
    };
    let mut st = XmlState::default();
    loop {
        let line = xml.get_ref().line;
        let ev = xml
            .read_event_into(&mut buf)
            .map_err(|e| ImportError::Xml {
                path: source.to_string(),
                line,
                message: e.to_string(),
            })?;
        let err_at = |field: &str, message: String| ImportError::XmlField {
            path: source.to_string(),
            line,
            field: field.to_string(),
            message,
        };
        match ev {
            Event::Start(ref e) => st.start(&mut c, e, false, &err_at)?,
            Event::Empty(ref e) => st.start(&mut c, e, true, &err_at)?,
            Event::End(ref e) => st.end(&mut c, e.local_name().as_ref()),
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !st.saw_osm_root {
        return Err(ImportError::Xml {
            path: source.to_string(),
            line: xml.get_ref().line,
            message: "no <osm> root element: this is not an OSM XML file".into(),
        });
    }
    Ok(c.finish())
}

type ErrAt<'a> = dyn Fn(&str, String) -> ImportError + 'a;

fn attr_string(
    e: &BytesStart,
    key: &str,
    element: &str,
    err_at: &ErrAt,
) -> Result<String, ImportError> {
    let field = format!("{element}.{}", key);
    for a in e.attributes() {
        let a = a.map_err(|x| err_at(&field, x.to_string()))?;
        if a.key.as_ref() == key {
            return a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.into_owned())
                .map_err(|x| err_at(&field, x.to_string()));
        }
    }
    Err(err_at(
        &field,
        format!("<{element}> has no `{}` attribute", key),
    ))
}

fn attr_i64(e: &BytesStart, key: &str, element: &str, err_at: &ErrAt) -> Result<i64, ImportError> {
    let s = attr_string(e, key, element, err_at)?;
    s.trim().parse().map_err(|_| {
        err_at(
            &format!("{element}.{}", key),
            format!("`{s}` is not an integer"),
        )
    })
}

fn attr_f64(e: &BytesStart, key: &str, element: &str, err_at: &ErrAt) -> Result<f64, ImportError> {
    let s = attr_string(e, key, element, err_at)?;
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            err_at(
                &format!("{element}.{}", key),
                format!("`{s}` is not a number"),
            )
        })
}
