#!/usr/bin/env python3
"""Builds data/demo/boundary.geojson and data/demo/quarters.geojson from maps/monaco.osm.pbf.

One-off data preparation, kept for provenance; ems itself never runs it. Needs `pip install osmium`.

The extract lacks a few member ways of Monaco's boundary relations (they lie outside the clip), so
the outer rings cannot be assembled as they are. This script chains the member ways that are
present and closes each remaining gap with a straight line to the nearest free chain end. Where
the chained ring passes a node twice (it pinches), the ring is not a valid polygon (OGC: a ring
must be simple), so it is split into valid polygons with shapely's `buffer(0)` (same area). Then it
writes:
- boundary.geojson: the commune of Monaco (relation 2220322, admin_level=8), i.e. the land
  territory of the Principality;
- quarters.geojson: the nine quarters (admin_level=10 relations) as demand-zone polygons, without
  population (`ems population --from-buildings` adds it).
Data (c) OpenStreetMap contributors, ODbL 1.0. Needs `pip install osmium shapely`.
"""
import json
import math
import sys

import osmium
from shapely.geometry import Polygon, mapping

MAP = sys.argv[1] if len(sys.argv) > 1 else "maps/monaco.osm.pbf"
OUT = sys.argv[2] if len(sys.argv) > 2 else "data/demo"
BOUNDARY = 2220322
QUARTERS = [2220206, 2220207, 2221178, 5986436, 5986437, 5986438, 5986473, 5986474, 5986475]

rels, ways, nodes = {}, {}, {}


class H(osmium.SimpleHandler):
    def node(self, n):
        nodes[n.id] = (round(n.location.lon, 7), round(n.location.lat, 7))

    def way(self, w):
        ways[w.id] = [n.ref for n in w.nodes]

    def relation(self, r):
        if r.id in [BOUNDARY] + QUARTERS:
            t = {x.k: x.v for x in r.tags}
            rels[r.id] = (t.get("name"), [m.ref for m in r.members if m.type == "w" and m.role == "outer"])


H().apply_file(MAP)


def ring(rel_id):
    chains = [[nodes[n] for n in ways[w] if n in nodes] for w in rels[rel_id][1] if w in ways]
    chains = [c for c in chains if len(c) >= 2]
    out = chains.pop(0)
    while chains:
        end = out[-1]
        best = None
        for i, c in enumerate(chains):
            for rev in (False, True):
                start = c[-1] if rev else c[0]
                d = math.dist(end, start)
                if best is None or d < best[0]:
                    best = (d, i, rev)
        _, i, rev = best
        c = chains.pop(i)
        c = c[::-1] if rev else c
        out.extend(c[1:] if c[0] == out[-1] else c)
    if out[0] != out[-1]:
        out.append(out[0])
    return [list(p) for p in out]


def geometry(rel_id):
    """The relation's ring as GeoJSON, split into valid polygons where it pinches."""
    poly = Polygon(ring(rel_id))
    if poly.is_valid:
        return {"type": "Polygon", "coordinates": [ring(rel_id)]}
    fixed = poly.buffer(0)
    assert fixed.is_valid and abs(fixed.area - poly.area) < 1e-9 * poly.area, rel_id
    g = mapping(fixed)
    rnd = lambda rings: [[[round(x, 7), round(y, 7)] for x, y in r] for r in rings]
    if g["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": rnd(g["coordinates"])}
    return {"type": "MultiPolygon", "coordinates": [rnd(p) for p in g["coordinates"]]}


def feature(rel_id, props):
    return {"type": "Feature", "geometry": geometry(rel_id), "properties": props}


bnd = {"type": "FeatureCollection", "features": [feature(BOUNDARY, {"name": rels[BOUNDARY][0], "source": f"osm:relation/{BOUNDARY}"})]}
json.dump(bnd, open(f"{OUT}/boundary.geojson", "w"), indent=1)
q = {"type": "FeatureCollection", "features": [
    feature(r, {"id": rels[r][0].lower().replace(" ", "-").replace("é", "e"), "name": rels[r][0], "population": 0,
                "source": f"osm:relation/{r}"}) for r in QUARTERS]}
json.dump(q, open(f"{OUT}/quarters.geojson", "w"), indent=1)
