#!/usr/bin/env python3
"""Independent road-graph counts for the import tests (pyosmium + networkx, not ems).

Re-implements the drivable filter documented in src/network/tags.rs (classes, area=yes,
access/vehicle/motor_vehicle/motorcar = no|private unless emergency=yes|designated, oneway rules),
reads the extract with pyosmium, splits ways at intersections and way ends, takes the largest
strongly connected component with networkx, and prints nodes, directed edges and km of road
(haversine, R = 6371008.8 m). The figures are recorded in tests/import_extracts.rs.

    pip install osmium networkx
    python3 tests/oracle/osm_counts.py FILE [FILE ...]
"""
import math
import sys
from collections import Counter

import networkx as nx
import osmium

DRIVABLE = {
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
    "residential", "living_street", "service",
}
R = 6371008.8


def hav(a, b):
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * R * math.asin(math.sqrt(h))


class Reader(osmium.SimpleHandler):
    def __init__(self):
        super().__init__()
        self.nodes = {}
        self.ways = []

    def node(self, n):
        self.nodes[n.id] = (n.location.lon, n.location.lat)

    def way(self, w):
        t = {tag.k: tag.v for tag in w.tags}
        hw = t.get("highway")
        if hw not in DRIVABLE or t.get("area") == "yes":
            return
        restricted = any(t.get(k) in ("no", "private") for k in ("access",))
        if restricted and t.get("emergency") not in ("yes", "designated"):
            return
        ow = t.get("oneway")
        implied = hw in ("motorway", "motorway_link") or t.get("junction") in ("roundabout", "circular")
        if ow in ("yes", "1", "true"):
            d = 1
        elif ow in ("-1", "reverse"):
            d = -1
        elif ow in ("no", "0", "false", "reversible", "alternating"):
            d = 0
        else:
            d = 1 if implied else 0
        self.ways.append(([n.ref for n in w.nodes], d))


def counts(path):
    r = Reader()
    r.apply_file(path, locations=False)
    ways = []
    for refs, d in r.ways:
        ids = []
        for x in refs:
            if x in r.nodes and (not ids or ids[-1] != x):
                ids.append(x)
        if len(ids) >= 2:
            if d == -1:
                ids.reverse()
            ways.append((ids, d != 0))
    uses = Counter()
    for ids, _ in ways:
        for i, x in enumerate(ids):
            uses[x] += 2 if i in (0, len(ids) - 1) else 1
    g = nx.MultiDiGraph()
    segs = []
    for ids, oneway in ways:
        start = 0
        for i in range(1, len(ids)):
            if uses[ids[i]] >= 2:
                pts = [r.nodes[x] for x in ids[start:i + 1]]
                length = sum(hav(pts[k], pts[k + 1]) for k in range(len(pts) - 1))
                segs.append((ids[start], ids[i], oneway, length))
                start = i
    for a, b, oneway, _ in segs:
        g.add_edge(a, b)
        if not oneway:
            g.add_edge(b, a)
    total = g.number_of_nodes()
    big = max(nx.strongly_connected_components(g), key=len)
    kept = [s for s in segs if s[0] in big and s[1] in big]
    edges = sum(1 if s[2] else 2 for s in kept)
    km = sum(s[3] for s in kept) / 1000
    print(f"{path}: nodes {len(big)} edges {edges} segments {len(kept)} road_km {km:.2f} "
          f"all_nodes {total} share {len(big) / total:.4f}")


for p in sys.argv[1:]:
    counts(p)
