//! The map of the HTML pages: demand zones coloured by modelled response, roads beyond the
//! target, the boundary, stations and hospitals with labels placed so they do not overlap, a
//! legend and a scale bar, as the `map.svg.html` partial's view model.
//!
//! This module owns the map's geometry on the canvas (projection, label placement). It must
//! not compute a figure: response times come from the report and the node times given.

use crate::model::Scenario;
use crate::network::RoadNetwork;
use crate::spatial::LocalProjection;
use crate::standards::CheckReport;

/// Green (fast) to red (slow) for a response time against the target.
fn colour(minutes: f64, target: f64) -> String {
    let x = (minutes / target).clamp(0.0, 1.5) / 1.5;
    let (r, g) = if x < 0.5 {
        ((510.0 * x) as u8, 170u8)
    } else {
        (220u8, (170.0 * (1.0 - x) * 2.0) as u8)
    };
    format!("rgb({r},{g},60)")
}

/// Projects lon/lat onto the SVG canvas.
struct Frame {
    proj: LocalProjection,
    min: [f64; 2],
    scale: f64,
    height: f64,
}

impl Frame {
    fn new(points: &[[f64; 2]], width: f64) -> Frame {
        let proj = LocalProjection::around(points);
        let xy: Vec<[f64; 2]> = points.iter().map(|p| proj.project(*p)).collect();
        let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in &xy {
            for k in 0..2 {
                min[k] = min[k].min(p[k]);
                max[k] = max[k].max(p[k]);
            }
        }
        let span = [(max[0] - min[0]).max(1.0), (max[1] - min[1]).max(1.0)];
        let scale = width / span[0];
        Frame {
            proj,
            min,
            scale,
            height: span[1] * scale,
        }
    }

    fn xy(&self, p: [f64; 2]) -> (f64, f64) {
        let q = self.proj.project(p);
        (
            (q[0] - self.min[0]) * self.scale,
            self.height - (q[1] - self.min[1]) * self.scale,
        )
    }

    /// SVG path data through the points.
    fn path(&self, ring: impl Iterator<Item = [f64; 2]>) -> String {
        use std::fmt::Write;
        let mut d = String::new();
        for (i, p) in ring.enumerate() {
            let (x, y) = self.xy(p);
            let _ = write!(d, "{}{x:.1},{y:.1} ", if i == 0 { "M" } else { "L" });
        }
        d
    }
}

/// A demand zone on the map.
pub(super) struct ZoneShape {
    pub(super) d: String,
    pub(super) fill: String,
    pub(super) title: String,
}

/// A station or hospital marker, with its label placed by [`place_labels`].
pub(super) struct Marker {
    pub(super) x: f64,
    pub(super) y: f64,
    pub(super) title: String,
    /// `station`, `unstaffed` (no ambulance), `new` (a site the plan adds) or `hospital`.
    pub(super) kind: &'static str,
    pub(super) label: String,
    /// Where the label goes (`anchor` is the SVG `text-anchor`); `None`: it would overlap, so
    /// the marker carries `key` and the label is listed under the map.
    pub(super) at: Option<(f64, f64, &'static str)>,
    pub(super) key: usize,
}

/// A legend swatch of the zone colours.
pub(super) struct Swatch {
    pub(super) x: f64,
    pub(super) fill: String,
    pub(super) label: String,
}

/// The map partial's view: zones by modelled response, roads beyond the target, the boundary,
/// hospitals and stations with their names, a legend, a scale bar and a north arrow. The view
/// fits everything it draws (a hospital outside the boundary included).
pub(super) struct MapView {
    pub(super) height: f64,
    pub(super) target_min: f64,
    pub(super) zones: Vec<ZoneShape>,
    pub(super) roads_ok: String,
    pub(super) roads_late: String,
    pub(super) boundary: Vec<String>,
    pub(super) markers: Vec<Marker>,
    /// Labels that did not fit beside their markers: `(key, name)`.
    pub(super) keyed: Vec<(usize, String)>,
    pub(super) swatches: Vec<Swatch>,
    /// The legend's top edge, and the scale bar: its length in pixels and what it measures.
    pub(super) legend_y: f64,
    pub(super) scale_px: f64,
    pub(super) scale_label: String,
}

/// Width of the map's drawing area, pixels.
const MAP_WIDTH: f64 = 760.0;

/// A label's width in pixels at 11 px: CJK characters are about twice as wide as Latin ones.
fn label_width(s: &str) -> f64 {
    s.chars()
        .map(|c| if c as u32 >= 0x2E80 { 11.0 } else { 6.2 })
        .sum()
}

/// Places each marker's label beside it (right, left, above, below) where it overlaps no
/// marker and no label placed before it, inside the canvas; markers are taken in order
/// (hospitals first). A label that fits nowhere is replaced by a number, listed under the map.
/// O(markers²).
fn place_labels(markers: &mut [Marker], width: f64, height: f64) -> Vec<(usize, String)> {
    type Rect = (f64, f64, f64, f64);
    let overlaps = |a: &Rect, b: &Rect| a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3;
    let mut taken: Vec<Rect> = markers
        .iter()
        .map(|m| (m.x - 6.0, m.y - 6.0, m.x + 6.0, m.y + 6.0))
        .collect();
    let mut keyed = Vec::new();
    for m in markers.iter_mut() {
        let w = label_width(&m.label);
        let candidates = [
            (
                m.x + 9.0,
                m.y + 4.0,
                "start",
                (m.x + 8.0, m.y - 7.0, m.x + 9.0 + w, m.y + 6.0),
            ),
            (
                m.x - 9.0,
                m.y + 4.0,
                "end",
                (m.x - 9.0 - w, m.y - 7.0, m.x - 8.0, m.y + 6.0),
            ),
            (
                m.x,
                m.y - 10.0,
                "middle",
                (m.x - w / 2.0, m.y - 21.0, m.x + w / 2.0, m.y - 8.0),
            ),
            (
                m.x,
                m.y + 19.0,
                "middle",
                (m.x - w / 2.0, m.y + 8.0, m.x + w / 2.0, m.y + 21.0),
            ),
        ];
        let mine = (m.x - 6.0, m.y - 6.0, m.x + 6.0, m.y + 6.0);
        let free = candidates.into_iter().find(|(_, _, _, r)| {
            r.0 >= -10.0
                && r.2 <= width + 10.0
                && r.1 >= -10.0
                && r.3 <= height
                && taken.iter().all(|t| *t == mine || !overlaps(t, r))
        });
        match free {
            Some((x, y, anchor, r)) => {
                m.at = Some((x, y, anchor));
                taken.push(r);
            }
            None => {
                m.key = keyed.len() + 1;
                keyed.push((m.key, m.label.clone()));
            }
        }
    }
    keyed
}

/// A round length (1, 2 or 5 × 10^k metres) near `target_m`, and its label.
fn scale_bar(target_m: f64) -> (f64, String) {
    let p = 10f64.powf(target_m.max(1.0).log10().floor());
    let m = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|f| f * p)
        .rfind(|m| *m <= target_m)
        .unwrap_or(p);
    let label = if m >= 1000.0 {
        format!("{} km", m / 1000.0)
    } else {
        format!("{m} m")
    };
    (m, label)
}

impl MapView {
    /// `new_sites`: ids of the stations a plan adds (drawn as new sites).
    pub(super) fn new(
        r: &CheckReport,
        sc: &Scenario,
        net: &RoadNetwork,
        node_minutes: &[Option<f64>],
        new_sites: &[String],
    ) -> MapView {
        let target = r.modelled_response.as_ref().map_or(12.0, |m| m.target_min);
        let access = r
            .modelled_response
            .as_ref()
            .map_or(&[][..], |m| &m.zones[..]);
        let rings = || sc.region.boundary.0.iter().map(|p| p.exterior());
        // Everything drawn as a point counts for the frame, so nothing is clipped.
        let mut extent: Vec<[f64; 2]> = rings()
            .flat_map(|r| r.0.iter().map(|c| [c.x, c.y]))
            .collect();
        extent.extend(sc.hospitals.iter().map(|h| h.lon_lat));
        extent.extend(sc.stations.iter().map(|s| s.lon_lat));
        let frame = Frame::new(&extent, MAP_WIDTH);
        let mut zones = Vec::new();
        for z in &sc.demand {
            let Some(acc) = access.iter().find(|a| a.zone == z.id) else {
                continue;
            };
            for p in z.polygon.iter().flat_map(|mp| &mp.0) {
                zones.push(ZoneShape {
                    d: frame.path(p.exterior().0.iter().map(|c| [c.x, c.y])),
                    fill: colour(acc.modelled_response_min, target),
                    title: format!(
                        "{}: {:.1} min modelled, {:.0} residents",
                        z.name, acc.modelled_response_min, z.population
                    ),
                });
            }
        }
        // Roads: grey, red where the modelled response exceeds the target at both ends.
        let (mut ok, mut late) = (String::new(), String::new());
        for seg in &net.segments {
            let beyond = [seg.from, seg.to].iter().all(|n| {
                node_minutes
                    .get(*n as usize)
                    .copied()
                    .flatten()
                    .is_none_or(|m| m > target)
            });
            let d = frame.path(seg.geometry.iter().copied());
            if beyond { &mut late } else { &mut ok }.push_str(&d);
        }
        let marker = |p: [f64; 2], title: String, kind: &'static str, label: &str| {
            let (x, y) = frame.xy(p);
            Marker {
                x,
                y,
                title,
                kind,
                label: label.to_string(),
                at: None,
                key: 0,
            }
        };
        let name = |name: &str, id: &str| {
            if name.trim().is_empty() {
                id.to_string()
            } else {
                name.to_string()
            }
        };
        let mut markers: Vec<Marker> = sc
            .hospitals
            .iter()
            .map(|h| {
                marker(
                    h.lon_lat,
                    format!("{} ({})", h.name, h.id),
                    "hospital",
                    &name(&h.name, &h.id),
                )
            })
            .collect();
        markers.extend(sc.stations.iter().map(|s| {
            let kind = if new_sites.contains(&s.id) {
                "new"
            } else if s.ambulances == 0 {
                "unstaffed"
            } else {
                "station"
            };
            let title = format!("{} ({}): {} ambulances", s.name, s.id, s.ambulances);
            marker(s.lon_lat, title, kind, &name(&s.name, &s.id))
        }));
        let keyed = place_labels(&mut markers, MAP_WIDTH, frame.height + 10.0);
        let swatches = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5]
            .iter()
            .enumerate()
            .map(|(k, f)| Swatch {
                x: k as f64 * 34.0,
                fill: colour(f * target, target),
                label: if *f == 1.5 {
                    format!("≥{:.0}", f * target)
                } else {
                    format!("{:.0}", f * target)
                },
            })
            .collect();
        // A scale bar about a fifth of the width (the local projection is in metres).
        let (metres, scale_label) = scale_bar(MAP_WIDTH / 5.0 / frame.scale);
        MapView {
            height: frame.height + 20.0 + 80.0,
            target_min: target,
            zones,
            roads_ok: ok,
            roads_late: late,
            boundary: rings()
                .map(|r| frame.path(r.0.iter().map(|c| [c.x, c.y])))
                .collect(),
            markers,
            keyed,
            swatches,
            legend_y: frame.height + 24.0,
            scale_px: metres * frame.scale,
            scale_label,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Labels never overlap one another; one that fits nowhere gets a key number.
    #[test]
    fn issue_15_labels_do_not_overlap() {
        let mk = |x: f64, y: f64, label: &str| Marker {
            x,
            y,
            title: String::new(),
            kind: "station",
            label: label.into(),
            at: None,
            key: 0,
        };
        // Five markers on one spot: four sides, then a key.
        let mut ms: Vec<Marker> = (0..5)
            .map(|k| mk(300.0, 300.0, &format!("Station {k}")))
            .collect();
        let keyed = place_labels(&mut ms, 760.0, 600.0);
        assert_eq!(keyed, vec![(1, "Station 4".to_string())]);
        let placed: Vec<_> = ms
            .iter()
            .filter_map(|m| m.at.map(|a| (a, &m.label)))
            .collect();
        assert_eq!(placed.len(), 4);
        let anchors: std::collections::BTreeSet<_> = placed
            .iter()
            .map(|((x, y, a), _)| (x.to_bits(), y.to_bits(), *a))
            .collect();
        assert_eq!(anchors.len(), 4, "four different places");
        // A marker at the right edge puts its label on the left.
        let mut ms = vec![mk(755.0, 100.0, "Edge hospital")];
        place_labels(&mut ms, 760.0, 600.0);
        assert_eq!(ms[0].at.unwrap().2, "end");
    }

    #[test]
    fn scale_bars_are_round() {
        assert_eq!(scale_bar(180.0), (100.0, "100 m".into()));
        assert_eq!(scale_bar(2600.0), (2000.0, "2 km".into()));
        assert_eq!(scale_bar(7000.0), (5000.0, "5 km".into()));
        assert_eq!(scale_bar(10_000.0), (10_000.0, "10 km".into()));
    }
}
