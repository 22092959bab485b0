// The map shared by the web pages: Leaflet with no tiles, drawing the scenario's own roads,
// boundary, demand zones and stations from GET /v1/map.
"use strict";

const EMSMap = (() => {
  const { t } = EMS;
  const ROAD_STYLE = {
    motorway: [4, "#e892a2"], trunk: [4, "#f9b29c"], primary: [3.5, "#fcd6a4"],
    secondary: [3, "#f7fabf"], tertiary: [2.5, "#ffffff"],
  };

  function symbol(cls, colour, text, title) {
    return L.divIcon({
      className: "",
      html: `<div class="sym ${cls}" style="${colour ? `background:${colour}` : ""}" title="${title || ""}"><span>${text}</span></div>`,
      iconSize: [22, 22],
      iconAnchor: [11, 11],
    });
  }

  // A station's square: `unstaffed` (dashed) or `closed` (red) or staffed.
  function stationIcon(kind) {
    return L.divIcon({ className: "", html: `<div class="sym station ${kind}"></div>`, iconSize: [14, 14], iconAnchor: [7, 7] });
  }

  // A map in element `id` with the base layers, and `extra` layer groups above them.
  function create(id, extra) {
    const map = L.map(id, { preferCanvas: false, zoomControl: true, attributionControl: true, zoomSnap: 0.25 });
    map.attributionControl.setPrefix('<a href="/assets/LICENSE-leaflet.txt">Leaflet</a>');
    L.control.scale({ metric: true, imperial: false }).addTo(map);
    const layers = {};
    for (const k of ["zones", "casing", "roads", "boundary", "stations", ...extra]) layers[k] = L.layerGroup().addTo(map);
    return { map, layers };
  }

  function drawBase(map, layers, fc) {
    const roads = fc.features.filter((f) => f.properties.kind === "road");
    const zoneFs = fc.features.filter((f) => f.properties.kind === "zone");
    L.geoJSON({ type: "FeatureCollection", features: roads }, {
      interactive: false,
      style: (f) => {
        const cls = f.properties.class.replace("_link", "");
        const [w, c] = ROAD_STYLE[cls] || [1.5, "#ffffff"];
        return { weight: w, color: c, opacity: 1 };
      },
    }).addTo(layers.roads);
    // Casing under the roads, so white streets show on the light background.
    L.geoJSON({ type: "FeatureCollection", features: roads }, {
      interactive: false,
      style: (f) => {
        const cls = f.properties.class.replace("_link", "");
        const [w] = ROAD_STYLE[cls] || [1.5];
        return { weight: w + 1.5, color: "#b9bdc4", opacity: 1 };
      },
    }).addTo(layers.casing);
    L.geoJSON({ type: "FeatureCollection", features: fc.features.filter((f) => f.properties.kind === "boundary") }, {
      interactive: false,
      style: { color: "#37474f", weight: 2, dashArray: "6 4", fill: false },
    }).addTo(layers.boundary);
    layers.zoneShapes = {};
    layers.stationMarkers = {};
    for (const f of zoneFs) {
      const p = f.properties;
      let shape;
      if (f.geometry.type === "Point") {
        const [lon, lat] = f.geometry.coordinates;
        shape = L.circleMarker([lat, lon], { radius: 7, weight: 0.5, color: "#555", opacity: 0.5, fillOpacity: 0.45 });
      } else {
        shape = L.geoJSON(f, { style: { weight: 0.5, color: "#777", opacity: 0.35, fillOpacity: 0.25 } });
      }
      shape.bindTooltip(`${p.name || p.id} · ${Math.round(p.population || 0).toLocaleString()}`);
      shape.addTo(layers.zones);
      layers.zoneShapes[p.id] = shape;
    }
    for (const f of fc.features.filter((f) => f.properties.kind === "station")) {
      const p = f.properties;
      const [lon, lat] = f.geometry.coordinates;
      const unstaffed = !p.ambulances;
      layers.stationMarkers[p.id] = L.marker([lat, lon], {
        icon: stationIcon(unstaffed ? "unstaffed" : ""),
        keyboard: false,
      }).bindTooltip(`${p.name || p.id} (${t("station")}) · ${p.ambulances || 0}`, { direction: "top" }).addTo(layers.stations);
    }
    const all = L.geoJSON(fc);
    const b = all.getBounds();
    if (b.isValid()) map.fitBounds(b, { padding: [10, 10] });
    map.attributionControl.addAttribution(escapeHtml(fc.properties.attribution));
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }

  // A zone's colour for a modelled response in minutes against the target: green within
  // half the target, yellow to the target, red beyond.
  function minutesColour(m, target) {
    if (m === null || m === undefined || !isFinite(m)) return "#9e9e9e";
    const x = Math.min(m / target, 1.5);
    const stops = [[0, [26, 150, 65]], [0.5, [166, 217, 106]], [0.85, [255, 255, 191]], [1, [253, 174, 97]], [1.5, [215, 25, 28]]];
    for (let k = 1; k < stops.length; k++) {
      if (x <= stops[k][0]) {
        const [a, ca] = stops[k - 1], [b, cb] = stops[k];
        const f = (x - a) / (b - a);
        const c = ca.map((v, i) => Math.round(v + f * (cb[i] - v)));
        return `rgb(${c.join(",")})`;
      }
    }
    return "rgb(215,25,28)";
  }

  return { create, drawBase, symbol, stationIcon, escapeHtml, minutesColour, ROAD_STYLE };
})();
