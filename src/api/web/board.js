// The dispatch board: the scenario's own map (no tiles), units, open incidents, hospitals,
// today's KPIs and coverage, kept live through the event stream; a dispatcher creates calls,
// assigns the recommended unit, steps units through their lifecycle and carries out move-ups.
"use strict";

(() => {
  const { t, el, api, showError, fmtMin, pct } = EMS;

  const STATUS_STYLE = {
    available: ["#2e7d32", "A"], dispatched: ["#ef6c00", "D"], en_route: ["#f4511e", "E"],
    on_scene: ["#c62828", "S"], transporting: ["#6a1b9a", "T"], at_hospital: ["#ad1457", "H"],
    handover_complete: ["#8e24aa", "C"], returning: ["#00838f", "R"],
    out_of_service: ["#757575", "X"], relocating: ["#1565c0", "M"],
  };
  const PRIORITY_COLOUR = { 1: "#d7191c", 2: "#f17c4a", 3: "#e5b400", 4: "#5a8dd6" };
  const state = {
    me: null, lifecycle: {}, units: [], incidents: [], hospitals: [], kpis: null, gaps: null,
    base: null, rec: null, pick: null,
  };
  let map, layers, stream, refreshTimer;


  // ---- the map -------------------------------------------------------------------------
  function legend() {
    const c = L.control({ position: "topright" });
    c.onAdd = () => {
      const d = L.DomUtil.create("div", "legend");
      L.DomEvent.disableClickPropagation(d);
      const render = () => {
        const open = d.firstChild ? d.firstChild.open : true;
        d.innerHTML = "";
        const body = el("details", { open }, el("summary", {}, el("b", {}, t("legend"))));
        for (const [s, [col]] of Object.entries(STATUS_STYLE)) {
          body.append(el("span", { class: "item" }, el("i", { style: `background:${col};border-radius:50%` }), t("status." + s)));
        }
        for (const p of [1, 2, 3, 4]) {
          body.append(el("span", { class: "item" }, el("i", { style: `background:${PRIORITY_COLOUR[p]};transform:rotate(45deg)` }), `${t("priority")} ${p}`));
        }
        body.append(
          el("span", { class: "item" }, el("i", { style: "background:#66bb6a;opacity:.6" }), t("covered")),
          el("span", { class: "item" }, el("i", { style: "background:#e53935;opacity:.6" }), t("uncovered")),
          el("span", { class: "item" }, el("i", { style: "background:#37474f" }), t("station")),
          el("span", { class: "item" }, el("i", { style: "border:2px dashed #37474f" }), t("unstaffed")),
          el("span", { class: "item" }, el("i", { style: "background:#c62828" }), t("detaining")));
        d.append(body);
      };
      render();
      d.render = render;
      c.div = d;
      return d;
    };
    return c;
  }

  function drawLive() {
    layers.live.clearLayers();
    const now = Date.now();
    const uncovered = new Set(((state.gaps && state.gaps.uncovered) || []).map((g) => g.zone));
    for (const [id, shape] of Object.entries(layers.zoneShapes || {})) {
      const bad = uncovered.has(id);
      shape.setStyle({ fillColor: bad ? "#e53935" : "#66bb6a", fillOpacity: bad ? 0.45 : 0.22 });
    }
    for (const h of state.hospitals) {
      const [lon, lat] = h.lon_lat;
      const q = h.units_waiting;
      L.marker([lat, lon], { icon: EMSMap.symbol("hosp" + (h.detaining ? " detaining" : ""), null, q ? `H${q}` : "H"), zIndexOffset: 100 })
        .bindTooltip(`${h.name} · ${t("queue")} ${q}${h.detaining ? " · " + t("detaining") : ""}<br>${t("capabilities")}: ${h.capabilities.join(", ") || t("none")}`)
        .addTo(layers.live);
    }
    for (const i of state.incidents) {
      const [lon, lat] = i.lon_lat;
      const m = EMS.minutesSince(i.call_received, now);
      L.marker([lat, lon], { icon: EMSMap.symbol("inc", PRIORITY_COLOUR[i.priority], String(i.priority)), zIndexOffset: 300 })
        .bindTooltip(`${t("incident")} ${i.id} · P${i.priority} · ${fmtMin(m)}`)
        .on("click", () => showRecommendation(i.id))
        .addTo(layers.live);
    }
    for (const u of state.units) {
      const [col, letter] = STATUS_STYLE[u.status] || ["#000", "?"];
      const [lon, lat] = u.position;
      L.marker([lat, lon], { icon: EMSMap.symbol("unit", col, letter), zIndexOffset: 500, title: u.id })
        .bindTooltip(`${u.id} · ${t("status." + u.status)}${u.since ? " · " + fmtMin(EMS.minutesSince(u.since, now)) : ""}`)
        .addTo(layers.live);
    }
    const mu = state.gaps && state.gaps.move_up;
    if (mu) {
      const u = state.units.find((x) => x.id === mu.unit);
      const st = state.base.features.find((f) => f.properties.kind === "station" && f.properties.id === mu.to_station);
      if (u && st) {
        const [slon, slat] = st.geometry.coordinates;
        L.polyline([[u.position[1], u.position[0]], [slat, slon]], { color: "#1565c0", weight: 3, dashArray: "8 6" })
          .bindTooltip(`${t("move_up")}: ${mu.unit} → ${mu.to_station}`).addTo(layers.live);
      }
    }
    if (state.pick) {
      L.circleMarker([state.pick[1], state.pick[0]], { radius: 8, color: "#000", weight: 2, fillOpacity: 0 }).addTo(layers.live);
    }
  }

  function drawRoutes() {
    layers.routes.clearLayers();
    if (!state.rec) return;
    state.rec.units.slice(0, 3).forEach((u, k) => {
      const coords = u.route.geometry.coordinates.map(([lon, lat]) => [lat, lon]);
      L.polyline(coords, { color: k === 0 ? "#0d47a1" : "#64b5f6", weight: k === 0 ? 5 : 3, opacity: 0.85 })
        .bindTooltip(`${u.unit} · ${t("eta")} ${fmtMin(u.eta_s / 60)}`).addTo(layers.routes);
    });
  }

  // ---- side panel ----------------------------------------------------------------------
  function kpi(label, value, good) {
    return el("div", { class: "kpi" + (good === true ? " good" : good === false ? " bad" : "") }, label, el("b", {}, value));
  }

  function renderKpis() {
    const k = state.kpis;
    const box = document.getElementById("kpis");
    box.innerHTML = "";
    if (!k) return;
    const mean = k.mean_response_min;
    box.append(
      kpi(t("kpi_mean"), mean == null ? "—" : `${mean.toFixed(1)} ${t("min")}`, mean == null ? undefined : mean <= k.response_target_min),
      kpi(t("kpi_within"), pct(k.share_within_target)),
      kpi(t("kpi_departure"), pct(k.departure_3min_rate)),
      kpi(t("kpi_detention"), pct(k.detention_rate), k.detention_rate == null ? undefined : k.detention_rate < 0.025),
      kpi(t("kpi_coverage"), pct(k.coverage_now)),
      kpi(t("kpi_calls"), String(k.incidents_today)),
    );
  }

  function actionButton(label, fn) {
    return el("button", {
      type: "button", class: "write-only",
      onclick: async (ev) => {
        ev.target.disabled = true;
        try { await fn(); showError(null); } catch (e) { showError(e); }
        ev.target.disabled = false;
        refreshSoon(0);
      },
    }, label);
  }

  function renderIncidents() {
    const ul = document.getElementById("incidents");
    ul.innerHTML = "";
    const now = Date.now();
    const target = state.kpis ? state.kpis.response_target_min : 12;
    if (!state.incidents.length) ul.append(el("li", { class: "sub" }, t("no_incidents")));
    for (const i of state.incidents) {
      const m = EMS.minutesSince(i.call_received, now);
      const late = !i.on_scene && m > target;
      const active = i.units.filter((a) => !a.cleared && !a.stood_down).map((a) => a.unit);
      ul.append(el("li", { "data-incident": i.id },
        el("div", { class: "row" },
          el("span", {}, el("span", { class: "badge", style: `background:${PRIORITY_COLOUR[i.priority]}` }, `P${i.priority}`), ` ${t("incident")} ${i.id}`,
            i.condition ? ` · ${t("conditions." + i.condition)}` : ""),
          el("span", { class: late ? "late" : "" }, `${fmtMin(m)} / ${target} ${t("min")}`)),
        el("div", { class: "sub" }, active.length ? `${t("units")}: ${active.join(", ")}` : "—"),
        el("div", { class: "actions" },
          el("button", { type: "button", onclick: () => showRecommendation(i.id) }, t("recommendation")),
          actionButton(t("cancel"), () => api("POST", `/v1/incidents/${i.id}/cancel`, {})),
          actionButton(t("close"), () => api("POST", `/v1/incidents/${i.id}/close`, {})))));
    }
  }

  function renderUnits() {
    const ul = document.getElementById("units");
    ul.innerHTML = "";
    const now = Date.now();
    for (const u of state.units) {
      const [col] = STATUS_STYLE[u.status] || ["#000"];
      const next = state.lifecycle[u.status] || [];
      const hospSel = el("select", { class: "write-only", "aria-label": t("hospital") },
        state.hospitals.map((h) => el("option", { value: h.id }, h.name)));
      const needsHospital = next.includes("transporting") || (next.includes("at_hospital") && !u.hospital);
      ul.append(el("li", { "data-unit": u.id },
        el("div", { class: "row" },
          el("span", {}, el("span", { class: "badge", style: `background:${col}` }, t("status." + u.status)), ` ${u.id}`),
          el("span", { class: "sub" }, u.since ? `${t("since")} ${fmtMin(EMS.minutesSince(u.since, now))}` : "")),
        el("div", { class: "sub" }, `${u.post || u.station}${u.incident ? ` · ${t("unit_on")} ${t("incident")} ${u.incident}` : ""}${u.hospital ? ` · ${u.hospital}` : ""}`),
        el("div", { class: "actions" },
          next.map((s) => actionButton(t("status." + s), () => {
            const body = { status: s };
            if ((s === "transporting" || s === "at_hospital") && !u.hospital) body.hospital_id = hospSel.value;
            return api("POST", `/v1/units/${encodeURIComponent(u.id)}/status`, body);
          })),
          needsHospital ? hospSel : null)));
    }
  }

  function renderHospitals() {
    const ul = document.getElementById("hospitals");
    ul.innerHTML = "";
    for (const h of state.hospitals) {
      ul.append(el("li", {},
        el("div", { class: "row" }, el("span", {}, h.name),
          el("span", { class: h.detaining ? "late" : "sub" }, `${t("queue")} ${h.units_waiting}${h.units_waiting ? ` · ${fmtMin(h.longest_wait_min)}` : ""}${h.detaining ? " · " + t("detaining") : ""}`)),
        el("div", { class: "sub" }, `${t("capabilities")}: ${h.capabilities.map((c) => t("conditions." + c)).join(", ") || t("none")}`)));
    }
  }

  function renderMoveUp() {
    const box = document.getElementById("moveup");
    box.innerHTML = "";
    const mu = state.gaps && state.gaps.move_up;
    if (!mu) { box.append(el("p", { class: "sub" }, t("no_move_up"))); return; }
    box.append(el("p", {}, `${mu.unit}: ${mu.from_station} → ${mu.to_station} (+${Math.round(mu.population_gained).toLocaleString()}, ${pct(mu.coverage_after)})`),
      actionButton(t("carry_out"), () => api("POST", "/v1/move-ups", { unit_id: mu.unit, to_station: mu.to_station })));
  }

  function renderRec() {
    const box = document.getElementById("rec-box");
    const ol = document.getElementById("rec");
    ol.innerHTML = "";
    if (!state.rec) { box.hidden = true; drawRoutes(); return; }
    box.hidden = false;
    document.getElementById("rec-title").textContent = `· ${t("incident")} ${state.rec.incident}`;
    for (const u of state.rec.units.slice(0, 5)) {
      ol.append(el("li", { "data-rec-unit": u.unit }, `${u.unit} · ${t("eta")} ${fmtMin(u.eta_s / 60)} · ${(u.distance_m / 1000).toFixed(1)} ${t("km")} `,
        actionButton(t("assign"), async () => {
          await api("POST", `/v1/incidents/${state.rec.incident}/assign`, { unit_id: u.unit });
          state.rec = null;
          renderRec();
        })));
    }
    const hs = document.getElementById("rec-hospitals");
    hs.textContent = state.rec.hospitals && state.rec.hospitals.length
      ? `${t("hospital")}: ${state.rec.hospitals.slice(0, 2).map((h) => h.name).join(", ")}` : "";
    drawRoutes();
  }

  async function showRecommendation(id) {
    try {
      state.rec = await api("GET", `/v1/incidents/${id}/recommendation`);
      showError(null);
    } catch (e) { state.rec = null; showError(e); }
    renderRec();
  }

  function renderAll() {
    renderKpis();
    renderIncidents();
    renderUnits();
    renderHospitals();
    renderMoveUp();
    drawLive();
  }

  // ---- data ----------------------------------------------------------------------------
  async function refresh() {
    try {
      const [units, incidents, hospitals, kpis, gaps] = await Promise.all([
        api("GET", "/v1/units"),
        api("GET", "/v1/incidents?open=true&limit=1000"),
        api("GET", "/v1/hospitals"),
        api("GET", "/v1/kpis"),
        api("GET", "/v1/coverage/gaps"),
      ]);
      Object.assign(state, { units, incidents, hospitals, kpis, gaps });
      renderAll();
      document.body.dataset.loaded = String(Date.now());
    } catch (e) {
      if (e.status === 401) { EMS.setToken(null); location.reload(); return; }
      showError(e);
    }
  }

  function refreshSoon(ms) {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(refresh, ms === undefined ? 200 : ms);
  }

  let connState = null;
  function setConn(s) {
    connState = s;
    const c = document.getElementById("conn");
    c.className = "conn " + s;
    c.dataset.t = s;
    // Behind several replicas the dispatcher sees which one answers once it is not this page's.
    const at = EMS.where();
    c.textContent = at === location.host ? t(s) : `${t(s)} · ${at}`;
    c.dataset.server = at;
    c.dataset.since = String(Date.now());
    c.dataset.lastId = stream ? String(stream.lastId()) : "";
    // A reconnect may have missed nothing (the stream resumes), but the lists are re-read.
    if (s === "live") refreshSoon(0);
  }

  async function main() {
    const lang = document.getElementById("lang");
    const setLangButton = () => { lang.textContent = t("language"); };
    EMS.setLang(EMS.lang());
    setLangButton();
    lang.addEventListener("click", () => {
      EMS.setLang(EMS.lang() === "en" ? "zh" : "en");
      setLangButton();
      fillConditions();
      if (layers && layers.legend) layers.legend.div.render();
      renderAll();
      renderRec();
      if (connState) setConn(connState);
    });
    document.getElementById("signout").addEventListener("click", () => { EMS.setToken(null); location.reload(); });
    fillConditions();
    state.me = await EMS.signIn();
    await EMS.useReplicas();
    const who = document.getElementById("who");
    who.textContent = state.me.can_write ? state.me.name : `${state.me.name} · ${t("read_only")}`;
    document.body.classList.toggle("readonly", !state.me.can_write);

    ({ map, layers } = EMSMap.create("map", ["routes", "live"]));
    layers.legend = legend();
    layers.legend.addTo(map);
    const [base, lifecycle] = await Promise.all([api("GET", "/v1/map"), api("GET", "/v1/lifecycle")]);
    state.base = base;
    for (const s of lifecycle) state.lifecycle[s.status] = s.next;
    EMSMap.drawBase(map, layers, base);

    const form = document.getElementById("create");
    map.on("click", (e) => {
      if (!state.me.can_write) return;
      form.lon.value = e.latlng.lng.toFixed(6);
      form.lat.value = e.latlng.lat.toFixed(6);
      state.pick = [e.latlng.lng, e.latlng.lat];
      drawLive();
    });
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const body = { lon: Number(form.lon.value), lat: Number(form.lat.value), priority: Number(form.priority.value) };
      if (form.condition.value) body.condition = form.condition.value;
      try {
        const created = await api("POST", "/v1/incidents", body);
        state.rec = created.recommendation;
        state.pick = null;
        showError(null);
        renderRec();
        refreshSoon(0);
      } catch (e) { showError(e); }
    });

    await refresh();
    stream = EMS.stream((msg) => {
      if (msg.resync) { refreshSoon(0); return; }
      document.getElementById("conn").dataset.lastId = String(stream.lastId());
      refreshSoon();
    }, setConn);
    window.emsBoard = { stream: () => stream, state, map };
    // Elapsed times tick without waiting for an event.
    setInterval(() => {
      const side = document.getElementById("side");
      if (!side.contains(document.activeElement)) { renderIncidents(); renderUnits(); }
    }, 5000);
  }

  function fillConditions() {
    const sel = document.getElementById("create").condition;
    const cur = sel.value;
    sel.innerHTML = "";
    for (const c of ["", "stroke", "chest_pain", "trauma", "maternal", "neonatal", "other"]) {
      sel.append(el("option", { value: c }, t("conditions." + c)));
    }
    sel.value = cur;
  }

  main().catch(showError);
})();
