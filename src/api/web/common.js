// Shared by the ems web pages: the token (kept in this tab's sessionStorage, never in a URL),
// API calls, the event stream with resume, and the bilingual labels.
"use strict";

const EMS = (() => {
  const TOKEN_KEY = "ems.token";
  const LANG_KEY = "ems.lang";

  const LABELS = {
    en: {
      title: "ems dispatch board",
      plan_title: "ems planning",
      board_link: "Dispatch board",
      plan_link: "Planning",
      whatif: "What if",
      whatif_help: "Click the map to add a candidate site; click a station to close it (again to reopen).",
      ambulances_per_site: "Ambulances per new site",
      evaluate: "Evaluate",
      clear: "Clear",
      optimise: "Optimise new stations",
      model: "Model",
      add_n: "New stations",
      within: "Standard",
      time_limit: "Time limit (s)",
      run: "Run",
      results: "Targets before / after",
      show_before: "map: before",
      show_after: "map: after",
      target_col: "Target",
      before: "Before",
      after: "After",
      not_computed: "not computed",
      mean_modelled: "Modelled mean response",
      share_modelled: "Residents within target",
      new_sites: "New sites",
      download: "Download plan (GeoJSON)",
      gap: "certified gap",
      add_site: "new site",
      close_station: "close",
      running: "computing…",
      no_changes: "No changes yet.",
      zone_minutes: "Modelled response by zone (min)",
      site_col: "Site",
      gain: "gained",
      not_modelled: "not modelled (no road within the snapping limit)",

      token_prompt: "Access token",
      token_help: "Enter the token your administrator gave you. It is kept in this browser tab only.",
      sign_in: "Open the board",
      sign_out: "Sign out",
      bad_token: "This token is not accepted.",
      live: "live",
      reconnecting: "reconnecting…",
      read_only: "read-only (viewer)",
      kpi_mean: "Mean response today",
      kpi_within: "Within target",
      kpi_departure: "Departure ≤ 3 min",
      kpi_detention: "Detention",
      kpi_coverage: "Coverage now",
      kpi_calls: "Calls today",
      incidents: "Open incidents",
      units: "Units",
      hospitals: "Hospitals",
      move_up: "Suggested move-up",
      no_move_up: "No move-up needed: every zone is covered, or no move helps.",
      carry_out: "Carry out",
      new_incident: "New incident",
      new_help: "Click the map, or type coordinates.",
      lon: "Longitude",
      lat: "Latitude",
      priority: "Priority",
      condition: "Condition",
      create: "Create",
      recommendation: "Recommendation",
      assign: "Assign",
      eta: "ETA",
      min: "min",
      km: "km",
      since: "for",
      elapsed: "elapsed",
      target: "target",
      queue: "waiting",
      detaining: "holding ambulances",
      capabilities: "Capabilities",
      none: "none",
      no_incidents: "No open incidents.",
      unit_on: "on",
      hospital: "Hospital",
      legend: "Legend",
      covered: "covered",
      uncovered: "not covered",
      station: "station",
      unstaffed: "station without ambulance",
      error: "Error",
      language: "中文",
      incident: "Incident",
      close: "Close",
      cancel: "Cancel call",
      status: {
        available: "available", dispatched: "dispatched", en_route: "en route",
        on_scene: "on scene", transporting: "transporting", at_hospital: "at hospital",
        handover_complete: "handover complete", returning: "returning",
        out_of_service: "out of service", relocating: "relocating",
      },
      conditions: {
        "": "—", stroke: "stroke", chest_pain: "chest pain", trauma: "trauma",
        maternal: "maternal", neonatal: "neonatal", other: "other",
        emergency: "emergency department", pediatric: "paediatric", fever_clinic: "fever clinic",
      },
    },
    zh: {
      title: "ems 急救调度台",
      plan_title: "ems 站点规划",
      board_link: "调度台",
      plan_link: "规划",
      whatif: "方案评估",
      whatif_help: "点击地图添加候选站点；点击急救站将其关闭（再次点击恢复）。",
      ambulances_per_site: "每个新站点车辆数",
      evaluate: "评估",
      clear: "清除",
      optimise: "新站点优化",
      model: "模型",
      add_n: "新增站点数",
      within: "标准",
      time_limit: "时间上限（秒）",
      run: "运行",
      results: "指标（前 / 后）",
      show_before: "地图：调整前",
      show_after: "地图：调整后",
      target_col: "指标",
      before: "调整前",
      after: "调整后",
      not_computed: "无法计算",
      mean_modelled: "模型平均反应时间",
      share_modelled: "目标内覆盖人口",
      new_sites: "新站点",
      download: "下载方案（GeoJSON）",
      gap: "最优性间隙",
      add_site: "新站点",
      close_station: "关闭",
      running: "计算中…",
      no_changes: "暂无调整。",
      zone_minutes: "各区域模型反应时间（分钟）",
      site_col: "站点",
      gain: "新增覆盖",
      not_modelled: "未建模（捕捉范围内无道路）",

      token_prompt: "访问令牌",
      token_help: "请输入管理员提供的令牌，仅保存在本浏览器标签页中。",
      sign_in: "打开调度台",
      sign_out: "退出",
      bad_token: "令牌无效。",
      live: "实时",
      reconnecting: "正在重连…",
      read_only: "只读（查看者）",
      kpi_mean: "今日平均反应时间",
      kpi_within: "达标率",
      kpi_departure: "3分钟出车率",
      kpi_detention: "压车率",
      kpi_coverage: "当前覆盖率",
      kpi_calls: "今日呼救",
      incidents: "未结事件",
      units: "救护车",
      hospitals: "医院",
      move_up: "建议调防",
      no_move_up: "无需调防：所有区域已覆盖，或调防无益。",
      carry_out: "执行",
      new_incident: "新建事件",
      new_help: "点击地图，或输入坐标。",
      lon: "经度",
      lat: "纬度",
      priority: "优先级",
      condition: "病情",
      create: "创建",
      recommendation: "推荐",
      assign: "派车",
      eta: "预计到达",
      min: "分钟",
      km: "公里",
      since: "已",
      elapsed: "已过",
      target: "目标",
      queue: "等待",
      detaining: "压车中",
      capabilities: "救治能力",
      none: "无",
      no_incidents: "暂无未结事件。",
      unit_on: "执行",
      hospital: "医院",
      legend: "图例",
      covered: "已覆盖",
      uncovered: "未覆盖",
      station: "急救站",
      unstaffed: "无车急救站",
      error: "错误",
      language: "English",
      incident: "事件",
      close: "结案",
      cancel: "取消呼救",
      status: {
        available: "待命", dispatched: "已派车", en_route: "出车途中",
        on_scene: "到达现场", transporting: "转运途中", at_hospital: "到达医院",
        handover_complete: "交接完成", returning: "返回途中",
        out_of_service: "停用", relocating: "调防途中",
      },
      conditions: {
        "": "—", stroke: "卒中", chest_pain: "胸痛", trauma: "创伤",
        maternal: "孕产妇", neonatal: "新生儿", other: "其他",
        emergency: "急诊", pediatric: "儿科", fever_clinic: "发热门诊",
      },
    },
  };

  let lang = localStorage.getItem(LANG_KEY) === "zh" ? "zh" : "en";

  function t(key) {
    const parts = key.split(".");
    let v = LABELS[lang];
    for (const p of parts) v = v == null ? undefined : v[p];
    return v == null ? key : v;
  }

  function setLang(l) {
    lang = l;
    localStorage.setItem(LANG_KEY, l);
    document.documentElement.lang = l === "zh" ? "zh-CN" : "en";
    for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  }

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function setToken(v) {
    if (v) sessionStorage.setItem(TOKEN_KEY, v);
    else sessionStorage.removeItem(TOKEN_KEY);
  }

  class ApiError extends Error {
    constructor(status, body) {
      super((body && body.message) || `HTTP ${status}`);
      this.status = status;
      this.body = body;
    }
  }

  // Where calls go. The page's own server first; after `GET /v1/replicas` (see `useReplicas`)
  // also every other replica sharing its event log. A replica that does not answer (a dropped
  // connection or a 503) is left for the next one, and the board stays on whichever answered.
  let bases = [""];
  let current = 0;
  // The highest `EMS-Seq` answered so far: with several replicas, reads ask for at least it
  // (`EMS-Min-Seq`), so a write answered by one replica is never "undone" by a read from a
  // replica that has not applied it yet.
  let seen = 0;

  function base() { return bases[current]; }

  // Which server answers now, as `host:port`.
  function where() { return current === 0 ? location.host : new URL(bases[current]).host; }

  // Reads the replica list once signed in; nothing changes when there is none.
  async function useReplicas() {
    try {
      const r = await api("GET", "/v1/replicas");
      const others = (r.replicas || []).filter((u) => u !== location.origin);
      bases = [bases[current], ...others.filter((u) => u !== bases[current])];
      current = 0;
    } catch (_) { /* an older server: this one only */ }
    return bases.length;
  }

  function nextReplica() { if (bases.length > 1) current = (current + 1) % bases.length; }

  function sleep(ms) { return new Promise((ok) => setTimeout(ok, ms)); }

  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + token() };
    const init = { method, headers };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      // A retry of the same action gets the first answer, not a second change.
      headers["Idempotency-Key"] = crypto.randomUUID ? crypto.randomUUID() : String(Math.random()).slice(2);
      init.body = JSON.stringify(body);
    }
    // A dropped connection or a 503 (the server restarting, its database failing over, or the
    // replica gone) is tried again with the same Idempotency-Key, on the next replica when
    // there are several: a write that did land is answered from its record on any replica,
    // not made twice. Every replica gets two tries; a full round without an answer waits.
    const attempts = Math.max(3, 2 * bases.length);
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= attempts;
      if (method === "GET" && bases.length > 1 && seen > 0 && !last) headers["EMS-Min-Seq"] = String(seen);
      else delete headers["EMS-Min-Seq"];
      let r;
      try {
        r = await fetch(base() + path, init);
      } catch (e) {
        if (last) throw e;
        nextReplica();
        if (bases.length === 1 || attempt % bases.length === 0) await sleep(400 * Math.ceil(attempt / bases.length));
        continue;
      }
      const s = Number(r.headers.get("EMS-Seq"));
      if (Number.isFinite(s) && s > seen) seen = s;
      if (r.status === 503 && !last) {
        nextReplica();
        if (bases.length === 1 || attempt % bases.length === 0) await sleep(400 * Math.ceil(attempt / bases.length));
        continue;
      }
      const text = await r.text();
      let data = null;
      try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
      if (!r.ok) throw new ApiError(r.status, data);
      return data;
    }
  }

  // The event stream through fetch (EventSource cannot send the Authorization header), resumed
  // with Last-Event-ID after a drop, on the next replica if this one cannot be reached (the
  // sequence numbers are the shared log's, so any replica resumes it); `resync` (the log could
  // not be read) means reload all.
  function stream(onEvent, onState) {
    let last = null;
    let stopped = false;
    let controller = null;
    let wasLive = false;
    async function once() {
      controller = new AbortController();
      wasLive = false;
      const headers = { Authorization: "Bearer " + token(), Accept: "text/event-stream" };
      if (last !== null) headers["Last-Event-ID"] = String(last);
      const r = await fetch(base() + "/v1/events", { headers, signal: controller.signal });
      if (!r.ok || !r.body) throw new ApiError(r.status, null);
      wasLive = true;
      onState("live");
      const reader = r.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let k;
        while ((k = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, k);
          buf = buf.slice(k + 2);
          let id = null, ev = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("id:")) id = line.slice(3).trim();
            else if (line.startsWith("event:")) ev = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (ev === "resync") { last = null; onEvent({ resync: true }); continue; }
          if (id !== null) { last = Number(id); if (last > seen) seen = last; }
          if (data) {
            try { onEvent(JSON.parse(data)); } catch (_) { /* a comment or keep-alive */ }
          }
        }
      }
    }
    (async () => {
      let fails = 0;
      while (!stopped) {
        const from = current;
        try { await once(); } catch (e) { if (stopped) break; }
        if (stopped) break;
        onState("reconnecting");
        // Could not connect at all: the next replica (unless a call already moved on). With
        // other replicas to try, a dispatcher is not left without live updates for long;
        // while none answers, the pause grows to 2 s.
        fails = wasLive ? 0 : fails + 1;
        if (!wasLive && current === from) nextReplica();
        const round = Math.floor(fails / bases.length);
        await sleep(bases.length > 1 ? Math.min(2000, 250 << Math.min(3, round)) : 1500);
      }
    })();
    return {
      stop() { stopped = true; if (controller) controller.abort(); },
      lastId() { return last; },
      drop() { if (controller) controller.abort(); },
    };
  }

  // Asks for a token until one is accepted; answers who it is (GET /v1/whoami).
  async function signIn() {
    const dlg = document.getElementById("login");
    for (;;) {
      if (EMS.token()) {
        try {
          return await api("GET", "/v1/whoami");
        } catch (e) {
          EMS.setToken(null);
          const err = document.getElementById("login-error");
          err.hidden = false;
          err.textContent = e.status === 401 ? t("bad_token") : `${t("error")}: ${e.message}`;
        }
      }
      dlg.showModal();
      await new Promise((res) => {
        document.getElementById("login-form").addEventListener("submit", () => {
          EMS.setToken(document.getElementById("token").value.trim());
          res();
        }, { once: true });
      });
    }
  }

  // Shows an error (the server's message when it gave one) in the page's `#error` box, or
  // hides the box when `e` is null.
  function showError(e) {
    const box = document.getElementById("error");
    if (!e) { box.hidden = true; return; }
    box.hidden = false;
    box.textContent = `${t("error")}: ${e.message || e}`;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function minutesSince(iso, now) {
    if (!iso) return null;
    return (now - Date.parse(iso)) / 60000;
  }

  function fmtMin(m) {
    if (m === null || m === undefined || !isFinite(m)) return "—";
    const s = Math.max(0, Math.round(m * 60));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function pct(v) {
    return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + " %";
  }

  return { t, setLang, lang: () => lang, token, setToken, api, ApiError, stream, useReplicas, where, el, minutesSince, fmtMin, pct, signIn, showError };
})();
