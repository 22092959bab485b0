// The planning page: the scenario's stations, hospitals and demand zones coloured by modelled
// response; what-ifs (add a site by clicking the map, close a station by clicking it) and
// station optimisation, each with the four targets before and after from the server's own
// standards check (GET /v1/plan/evaluate, GET /v1/plan/optimize); the plan as GeoJSON.
"use strict";

(() => {
  const { t, el, api, showError, pct } = EMS;
  const state = {
    me: null, base: null, adds: [], closes: new Set(), result: null, sites: null, show: "before",
  };
  let map, layers;


  function target() {
    const m = state.result && state.result.before.modelled_response;
    return m ? m.target_min : 12;
  }

  // ---- the map -------------------------------------------------------------------------
  function colourZones() {
    const side = state.result && state.result[state.show];
    const zones = new Map(((side && side.modelled_response && side.modelled_response.zones) || []).map((z) => [z.zone, z]));
    for (const [id, shape] of Object.entries(layers.zoneShapes || {})) {
      const z = zones.get(id);
      const m = z ? z.modelled_response_min : null;
      shape.setStyle({ fillColor: EMSMap.minutesColour(m, target()), fillOpacity: 0.55 });
      shape.unbindTooltip();
      shape.bindTooltip(z ? `${z.name || z.id} · ${m.toFixed(1)} ${t("min")} · ${z.station}` : `${id} · ${t("not_modelled")}`);
    }
  }

  function drawEdits() {
    layers.edits.clearLayers();
    state.adds.forEach((p, k) => {
      L.marker([p[1], p[0]], { icon: EMSMap.symbol("candidate", null, "+"), zIndexOffset: 400 })
        .bindTooltip(`${t("add_site")} ${k + 1}: ${p[0].toFixed(5)}, ${p[1].toFixed(5)}`)
        .on("click", () => { state.adds.splice(k, 1); renderChanges(); })
        .addTo(layers.edits);
    });
    for (const [id, m] of Object.entries(layers.stationMarkers)) {
      const f = state.base.features.find((f) => f.properties.kind === "station" && f.properties.id === id);
      const kind = state.closes.has(id) ? "closed" : f && !f.properties.ambulances ? "unstaffed" : "";
      m.setIcon(EMSMap.stationIcon(kind));
    }
    if (state.sites) {
      state.sites.features.forEach((f, k) => {
        const [lon, lat] = f.geometry.coordinates;
        L.marker([lat, lon], { icon: EMSMap.symbol("site", null, "★"), zIndexOffset: 500 })
          .bindTooltip(`${t("new_sites")} ${k + 1}: ${lon.toFixed(6)}, ${lat.toFixed(6)}`)
          .addTo(layers.edits);
      });
    }
  }

  function zoneLegend() {
    const c = L.control({ position: "topright" });
    c.onAdd = () => {
      const d = L.DomUtil.create("div", "legend");
      d.render = () => {
        d.innerHTML = "";
        const tg = target();
        const scale = el("div", { class: "scale" });
        for (let k = 0; k < 15; k++) scale.append(el("span", { style: `background:${EMSMap.minutesColour((k / 10) * tg, tg)}` }));
        d.append(el("b", {}, t("zone_minutes")), scale,
          el("div", { class: "row", style: "display:flex;justify-content:space-between" },
            el("span", {}, "0"), el("span", {}, `${(tg / 2).toFixed(1)}`), el("span", {}, `${tg} (${t("target")})`), el("span", {}, `≥ ${(tg * 1.5).toFixed(0)}`)),
          el("div", {}, el("span", { class: "item", style: "width:auto" }, el("i", { style: "background:#9e9e9e" }), t("not_modelled"))),
          el("div", {}, el("span", { class: "item" }, el("i", { style: "background:#37474f" }), t("station")), " ",
            el("span", { class: "item" }, el("i", { style: "border:2px dashed #37474f" }), t("unstaffed")), " ",
            el("span", { class: "item" }, el("i", { style: "background:#c62828" }), t("close_station"))),
          el("div", {}, el("span", { class: "item" }, el("i", { style: "border:2px solid #6a1b9a;border-radius:50%" }), t("add_site")), " ",
            el("span", { class: "item" }, el("i", { style: "background:#6a1b9a;border-radius:50%" }), t("new_sites"))));
      };
      d.render();
      c.div = d;
      return d;
    };
    return c;
  }

  // ---- side panel ----------------------------------------------------------------------
  function renderChanges() {
    const ul = document.getElementById("changes");
    ul.innerHTML = "";
    if (!state.adds.length && !state.closes.size) ul.append(el("li", { class: "sub" }, t("no_changes")));
    state.adds.forEach((p, k) => ul.append(el("li", { "data-add": k }, `+ ${t("add_site")} ${p[0].toFixed(5)}, ${p[1].toFixed(5)}`)));
    for (const id of state.closes) ul.append(el("li", { "data-close": id }, `− ${t("close_station")} ${id}`));
    drawEdits();
  }

  function fmtTarget(tr) {
    if (tr.value === null || tr.value === undefined) return t("not_computed");
    if (tr.unit === "share") return pct(tr.value);
    return `${tr.value.toFixed(2)} ${tr.unit}`;
  }

  function renderTargets() {
    const tab = document.getElementById("targets");
    tab.innerHTML = "";
    const r = state.result;
    if (!r) return;
    const label = (tr) => (EMS.lang() === "zh" ? tr.label_zh : tr.label_en);
    tab.append(el("tr", {}, el("th", {}, t("target_col")), el("th", {}, t("before")), el("th", {}, t("after"))));
    r.before.targets.forEach((b, k) => {
      const a = r.after.targets[k];
      const cell = (x) => el("td", { class: x.pass === true ? "pass" : x.pass === false ? "fail" : "na", "data-target": x.id }, fmtTarget(x));
      tab.append(el("tr", {}, el("td", {}, label(b), b.threshold != null ? el("div", { class: "sub" }, `${b.comparison} ${b.unit === "share" ? pct(b.threshold) : b.threshold}`) : null), cell(b), cell(a)));
    });
    const mr = (s) => s.modelled_response;
    const mean = (s) => (mr(s) && mr(s).summary ? `${mr(s).summary.mean.toFixed(2)} ${t("min")}` : t("not_computed"));
    const share = (s) => (mr(s) && mr(s).share_within_target != null ? pct(mr(s).share_within_target) : t("not_computed"));
    tab.append(el("tr", {}, el("td", {}, t("mean_modelled")), el("td", { "data-fig": "mean-before" }, mean(r.before)), el("td", { "data-fig": "mean-after" }, mean(r.after))));
    tab.append(el("tr", {}, el("td", {}, t("share_modelled")), el("td", {}, share(r.before)), el("td", {}, share(r.after))));
    const nc = r.after.not_computed || [];
    if (nc.length) tab.append(el("tr", {}, el("td", { colspan: 3, class: "sub" }, nc.map((n) => `${n.figure}: ${n.why}`).join("; "))));
  }

  function renderSites(plan) {
    const box = document.getElementById("sites");
    box.innerHTML = "";
    if (!plan) return;
    const p = plan.plan;
    box.append(el("p", { class: "sub" }, `${p.model} · ${t("gap")} ${p.gap_pct.toFixed(2)} % · ${p.nodes} nodes · ${p.seconds.toFixed(1)} s`));
    const tab = el("table", { class: "sites" }, el("tr", {}, el("th", {}, "#"), el("th", {}, t("site_col")), el("th", {}, t("gain"))));
    p.new_sites.forEach((s, k) => tab.append(el("tr", { "data-site": k },
      el("td", {}, String(k + 1)), el("td", {}, `${s.lon_lat[0].toFixed(6)}, ${s.lon_lat[1].toFixed(6)}`),
      el("td", {}, Math.round(s.newly_covered || 0).toLocaleString()))));
    box.append(tab);
    const blob = new Blob([JSON.stringify(state.sites, null, 2)], { type: "application/geo+json" });
    box.append(el("a", { id: "download", href: URL.createObjectURL(blob), download: "ems-plan.geojson" }, t("download")));
  }

  function setStatus(s) { document.getElementById("status").textContent = s || ""; }

  // The server runs one planning computation at a time (429 otherwise): the page queues its
  // own, so a click during a computation runs after it.
  let queue = Promise.resolve();
  function queued(fn) {
    queue = queue.then(fn, fn);
    return queue;
  }

  function evaluate() { return queued(evaluateNow); }
  function optimise(form) { return queued(() => optimiseNow(form)); }

  async function evaluateNow() {
    const q = new URLSearchParams();
    for (const p of state.adds) q.append("add", `${p[0].toFixed(6)},${p[1].toFixed(6)}`);
    for (const id of state.closes) q.append("close", id);
    q.append("ambulances_per_site", document.getElementById("per-site").value || "1");
    setStatus(t("running"));
    try {
      state.result = await api("GET", "/v1/plan/evaluate?" + q.toString());
      state.sites = null;
      renderSites(null);
      showError(null);
    } catch (e) { showError(e); }
    setStatus("");
    renderAll();
  }

  async function optimiseNow(form) {
    const q = new URLSearchParams();
    for (const k of ["model", "add", "within", "time_limit"]) q.append(k, form[k].value);
    q.append("ambulances_per_site", document.getElementById("per-site").value || "1");
    setStatus(t("running"));
    try {
      const r = await api("GET", "/v1/plan/optimize?" + q.toString());
      state.result = r.comparison;
      state.sites = r.sites;
      renderSites(r.plan);
      showError(null);
      for (const inp of document.querySelectorAll("input[name=show]")) inp.checked = inp.value === "after";
      state.show = "after";
    } catch (e) { showError(e); }
    setStatus("");
    renderAll();
  }

  function renderAll() {
    renderChanges();
    renderTargets();
    colourZones();
    if (layers.legend && layers.legend.div) layers.legend.div.render();
    document.body.dataset.loaded = String(Date.now());
  }

  async function main() {
    const lang = document.getElementById("lang");
    const setLangButton = () => { lang.textContent = t("language"); };
    EMS.setLang(EMS.lang());
    setLangButton();
    lang.addEventListener("click", () => {
      EMS.setLang(EMS.lang() === "en" ? "zh" : "en");
      setLangButton();
      renderAll();
    });
    document.getElementById("signout").addEventListener("click", () => { EMS.setToken(null); location.reload(); });
    state.me = await EMS.signIn();
    document.getElementById("who").textContent = state.me.name;

    ({ map, layers } = EMSMap.create("map", ["edits"]));
    state.base = await api("GET", "/v1/map");
    EMSMap.drawBase(map, layers, state.base);
    for (const f of state.base.features.filter((f) => f.properties.kind === "hospital")) {
      const [lon, lat] = f.geometry.coordinates;
      L.marker([lat, lon], { icon: EMSMap.symbol("hosp", null, "H"), zIndexOffset: 100 })
        .bindTooltip(`${f.properties.name} · ${t("capabilities")}: ${(f.properties.capabilities || []).map((c) => t("conditions." + c)).join(", ")}`)
        .addTo(layers.stations);
    }
    layers.legend = zoneLegend();
    layers.legend.addTo(map);
    for (const [id, m] of Object.entries(layers.stationMarkers)) {
      m.on("click", () => {
        if (state.closes.has(id)) state.closes.delete(id); else state.closes.add(id);
        renderChanges();
      });
    }
    map.on("click", (e) => {
      state.adds.push([e.latlng.lng, e.latlng.lat]);
      renderChanges();
    });
    document.getElementById("evaluate").addEventListener("click", evaluate);
    document.getElementById("clear").addEventListener("click", () => {
      state.adds = [];
      state.closes.clear();
      state.sites = null;
      renderSites(null);
      evaluate();
    });
    document.getElementById("optimise").addEventListener("submit", (ev) => { ev.preventDefault(); optimise(ev.target); });
    for (const inp of document.querySelectorAll("input[name=show]")) {
      inp.addEventListener("change", () => { state.show = inp.value; colourZones(); });
    }
    window.emsPlan = { map, state };
    await evaluate();
  }

  main().catch(showError);
})();
