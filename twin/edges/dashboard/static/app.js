// Pilot Twin dashboard: plain JavaScript, no build step. Everything is fetched from this server.
// A run's records are held in columns (as the server sends them); every view is computed from
// them at a time T: the live clock, or the replay cursor of a stored run.
"use strict";

const STATE_COLOURS = {
  producing: "#6b6b6b", idle: "#c8c8c8", setup: "#8f8f8f", waiting: "#a9a9a9",
  blocked: "#d9a300", down: "#c62828", maintenance: "#9a9a9a", off: "#e4e4e4",
};
const ABNORMAL = new Set(["down", "blocked"]);
const GREYS = ["#4d4d4d", "#8a8a8a", "#a8a8a8", "#2e2e2e", "#6e6e6e", "#bdbdbd", "#5e5e5e"];
const PLOT_CONFIG = { displayModeBar: false, responsive: true };
const BASE_LAYOUT = {
  paper_bgcolor: "#ededed", plot_bgcolor: "#f2f2f2", font: { color: "#262626", size: 12 },
  margin: { l: 60, r: 20, t: 10, b: 40 }, showlegend: true,
  legend: { orientation: "h", y: -0.2 },
};
const HOUR = 3600;

const ui = {
  view: "overview", source: null, run: null, stream: null, renderTimer: null, lastRender: 0,
  playing: null, cursor: null, runs: [],
};
// What tests (and curious people) can read.
window.twinState = { now: 0, records: 0, messages: 0, renders: 0, source: null, ready: false };

// -------------------------------------------------------------------- run data

class RunData {
  constructor(meta) {
    this.meta = meta;
    this.t = {};
    this.now = meta.now || 0;
    this.end = meta.end || 0;
    this.count = 0;
  }
  append(records) {
    for (const [table, cols] of Object.entries(records || {})) {
      const dest = this.t[table] || (this.t[table] = {});
      let n = 0;
      for (const [name, raw] of Object.entries(cols)) {
        const values = unpack(raw);
        const col = dest[name] || (dest[name] = []);
        for (let i = 0; i < values.length; i++) col.push(values[i]);
        n = values.length;
      }
      this.count += n;
    }
  }
  col(table, name) { return (this.t[table] && this.t[table][name]) || []; }
  stationName(code) { return this.meta.stations[code] ?? String(code); }
  unitLabel(u) {
    const pair = this.meta.units[u];
    if (!pair) return `unit ${u}`;
    const st = this.stationName(pair[0]);
    const servers = (this.meta.layout.stations[st] || {}).servers || 1;
    return servers > 1 ? `${st} #${pair[1] + 1}` : st;
  }
}

// Numeric columns come as typed arrays: views into a binary stream frame, or packed in JSON
// as base64 of little-endian arrays ({"f64": "..."}).
const PACKED = { f64: Float64Array, i32: Int32Array, u16: Uint16Array, u8: Uint8Array };
function unpack(raw) {
  if (ArrayBuffer.isView(raw)) return raw;
  if (Array.isArray(raw) || raw === null || typeof raw !== "object") return raw || [];
  const [kind, text] = Object.entries(raw)[0];
  const bin = atob(text), bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new PACKED[kind](bytes.buffer);
}

// A binary stream frame: u32 header length, JSON header, padding to 8 bytes, then the numeric
// columns the header points at ({type, offset, bytes}, offsets from the end of the padding).
function readFrame(buffer) {
  const n = new DataView(buffer).getUint32(0, true);
  const head = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, n)));
  const base = Math.ceil((4 + n) / 8) * 8;
  for (const cols of Object.values(head.records || {})) {
    for (const [name, c] of Object.entries(cols)) {
      if (c && !Array.isArray(c) && PACKED[c.type]) {
        const T = PACKED[c.type];
        cols[name] = new T(buffer, base + c.offset, c.bytes / T.BYTES_PER_ELEMENT);
      }
    }
  }
  return head;
}

// State intervals up to T: per unit, list of [start, end, stateName].
function intervals(run, T) {
  const time = run.col("states", "time"), unit = run.col("states", "unit");
  const state = run.col("states", "state"), names = run.meta.state_names;
  const open = new Map(), out = new Map();
  for (let i = 0; i < time.length; i++) {
    if (time[i] > T) continue;
    const u = unit[i], prev = open.get(u);
    if (prev) {
      if (!out.has(u)) out.set(u, []);
      out.get(u).push([prev[0], time[i], prev[1]]);
    }
    open.set(u, [time[i], names[state[i]]]);
  }
  for (const [u, [t0, s]] of open) {
    if (!out.has(u)) out.set(u, []);
    out.get(u).push([t0, T, s]);
  }
  return { intervals: out, current: new Map([...open].map(([u, v]) => [u, v[1]])) };
}

function kpisAt(run, T) {
  const meta = run.meta, layout = meta.layout;
  const t0 = T > meta.warmup ? meta.warmup : 0, span = Math.max(T - t0, 1e-9);
  const fates = meta.fate_names, events = meta.event_names;
  const done = run.col("parts", "done"), fate = run.col("parts", "fate");
  let good = 0, scrap = 0, finished = 0;
  for (let i = 0; i < done.length; i++) {
    if (done[i] === null || done[i] > T) continue;
    finished++;
    if (done[i] < t0) continue;
    if (fates[fate[i]] === "good") good++;
    else if (fates[fate[i]] === "scrap") scrap++;
  }
  const et = run.col("events", "time"), ek = run.col("events", "kind");
  const es = run.col("events", "station"), ep = run.col("events", "product");
  const created = events.indexOf("created"), end = events.indexOf("end");
  const scrapK = events.indexOf("scrap"), rework = events.indexOf("rework");
  // time-weighted mean WIP over [t0, T]: each part from its creation to its end (or T)
  const pid = run.col("parts", "part"), epart = run.col("events", "part"), doneAt = new Map();
  for (let i = 0; i < pid.length; i++) if (done[i] !== null) doneAt.set(pid[i], done[i]);
  let made = 0, partSeconds = 0;
  const perStation = new Map();
  for (let i = 0; i < et.length; i++) {
    if (et[i] > T) continue;
    if (ek[i] === created) {
      made++;
      const out = Math.min(doneAt.has(epart[i]) ? doneAt.get(epart[i]) : T, T);
      partSeconds += Math.max(0, out - Math.max(et[i], t0));
    }
    if (et[i] < t0) continue;
    if (ek[i] === end || ek[i] === scrapK || ek[i] === rework) {
      const s = perStation.get(es[i]) || { end: 0, scrap: 0, rework: 0, planned: 0 };
      if (ek[i] === end) {
        s.end++;
        const st = layout.stations[run.stationName(es[i])] || {};
        s.planned += (st.planned_s || {})[meta.products[ep[i]]] || 0;
      } else if (ek[i] === scrapK) s.scrap++;
      else s.rework++;
      perStation.set(es[i], s);
    }
  }
  // time elements per station and electricity over [t0, T]
  const { intervals: iv } = intervals(run, T);
  const secs = new Map();
  let joules = 0;
  for (const [u, list] of iv) {
    const st = run.stationName((meta.units[u] || [-1])[0]);
    const power = (layout.stations[st] || {}).power_W || {};
    const acc = secs.get(st) || {};
    for (const [a, b, s] of list) {
      const d = Math.min(b, T) - Math.max(a, t0);
      if (d <= 0) continue;
      acc[s] = (acc[s] || 0) + d;
      joules += (power[s] || 0) * d;
    }
    secs.set(st, acc);
  }
  let best = null;
  for (const [name, acc] of secs) {
    const info = layout.stations[name] || {};
    if (!info.servers) continue;
    const pbt = span * info.servers - (acc.off || 0) - (acc.maintenance || 0);
    if (pbt <= 0) continue;
    const active = ((acc.producing || 0) + (acc.setup || 0) + (acc.down || 0)) / pbt;
    if (!best || active > best.active) {
      const code = meta.stations.indexOf(name), c = perStation.get(code) || { end: 0, scrap: 0, rework: 0, planned: 0 };
      const apt = acc.producing || 0;
      const avail = apt / pbt, eff = apt > 0 ? c.planned / apt : NaN;
      const q = c.end > 0 ? (c.end - c.scrap - c.rework) / c.end : NaN;
      best = { name, active, oee: avail * eff * q };
    }
  }
  const kwh = joules / 3.6e6, grid = layout.grid_kg_per_kwh || 0;
  return {
    throughput: good / (span / HOUR), good, scrap,
    yield: good + scrap > 0 ? good / (good + scrap) : NaN,
    wip: made - finished, wipMean: partSeconds / span, oee: best ? best.oee : NaN, bottleneck: best ? best.name : "",
    kwh, kwhPerUnit: good > 0 ? kwh / good : NaN,
    co2PerUnit: good > 0 ? kwh * grid / good : NaN,
  };
}

// Alarm rows up to T and the latest row of each alarm.
function alarmsAt(run, T) {
  const cols = run.t.alarms || {};
  const time = cols.time || [], n = time.length, rows = [];
  for (let i = 0; i < n; i++) {
    if (time[i] > T) continue;
    const row = {};
    for (const c of Object.keys(cols)) row[c] = cols[c][i];
    rows.push(row);
  }
  const latest = new Map();
  for (const r of rows) latest.set(r.alarm, r);
  const active = [...latest.values()].filter((r) => !isNormal(r.state));
  return { rows, active };
}
function isNormal(state) { return !state || /^(normal|ok|cleared|rtn_ack)$/i.test(String(state)); }
function isUnacked(state) { return /unack/i.test(String(state)); }
function isShelved(state) { return /shelv/i.test(String(state)); }

// -------------------------------------------------------------------- formatting

function simTime(s) {
  if (s === null || s === undefined || !isFinite(s)) return "--";
  const d = Math.floor(s / 86400), r = s - d * 86400;
  const h = Math.floor(r / 3600), m = Math.floor((r - h * 3600) / 60);
  return `day ${d} ${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}
function fmt(v, digits = 2) {
  if (v === null || v === undefined || (typeof v === "number" && !isFinite(v))) return "-";
  if (typeof v !== "number") return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(0) : v.toFixed(digits);
}
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
async function getJSON(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
}

// -------------------------------------------------------------------- views

// Tiles at the cursor: these KPIs are recomputed here over [warm-up, T]; any other KPI the
// catalogue marks as a tile shows the run's stored (whole-run or latest live) value.
const TILE_VALUES = {
  throughput_per_h: (k) => k.throughput, bottleneck_oee: (k) => k.oee, wip_mean: (k) => k.wipMean,
  quality_ratio: (k) => k.yield, kwh_per_good_unit: (k) => k.kwhPerUnit,
  co2e_kg_per_good_unit: (k) => k.co2PerUnit,
};

function renderKpis(run, T) {
  const k = kpisAt(run, T), stored = run.meta.kpis || {};
  const tiles = (run.meta.kpi_catalogue || []).filter((c) => c.shown.includes("tile"));
  const box = document.getElementById("kpis");
  box.replaceChildren(...tiles.map((c) => {
    const value = TILE_VALUES[c.key] ? TILE_VALUES[c.key](k) : stored[c.key];
    const unit = c.key === "bottleneck_oee" ? `bottleneck ${k.bottleneck || "-"}`
      : c.key === "wip_mean" ? `${c.unit}, ${k.wip} in the line now` : c.unit;
    return el("div", { class: "tile", id: `kpi-${c.key}`, title: `${c.key} (${c.iso})` },
      el("div", { class: "label" }, c.en),
      el("div", { class: "value" }, fmt(value, c.decimals)),
      el("div", { class: "unit" }, unit));
  }));
}

function layoutDiagram(run) {
  const stations = run.meta.layout.stations, names = Object.keys(stations);
  const order = names.length ? names : run.meta.stations;
  const depth = new Map();
  const targets = (n) => (stations[n] || {}).routes || [];
  const hasIn = new Set(order.flatMap((n) => targets(n)));
  const queue = order.filter((n) => !hasIn.has(n) || (stations[n] || {}).type === "source");
  queue.forEach((n) => depth.set(n, 0));
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i];
    for (const t of targets(n)) {
      if (!depth.has(t) && t !== (stations[n] || {}).rework_to) {
        depth.set(t, depth.get(n) + 1);
        queue.push(t);
      }
    }
  }
  order.forEach((n) => { if (!depth.has(n)) depth.set(n, 0); });
  const cols = new Map();
  for (const n of order) {
    const d = depth.get(n);
    if (!cols.has(d)) cols.set(d, []);
    cols.get(d).push(n);
  }
  const pos = new Map();
  for (const [d, list] of cols) list.forEach((n, i) => pos.set(n, [10 + d * 160, 10 + i * 76]));
  const height = 30 + Math.max(...[...cols.values()].map((l) => l.length)) * 76;
  const width = 20 + (Math.max(...cols.keys()) + 1) * 160;
  return { pos, height, width, order, targets };
}

function renderDiagram(run, T) {
  const { current } = intervals(run, T);
  const byStation = new Map();
  for (const [u, s] of current) {
    const st = run.stationName((run.meta.units[u] || [-1])[0]);
    if (!byStation.has(st)) byStation.set(st, []);
    byStation.get(st).push([u, s]);
  }
  const lay = ui.layout || (ui.layout = layoutDiagram(run));
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${lay.width} ${lay.height}`);
  svg.setAttribute("width", "100%");
  svg.style.maxWidth = `${lay.width}px`;
  svg.innerHTML = '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8c8c8c"/></marker></defs>';
  for (const n of lay.order) {
    const [x, y] = lay.pos.get(n);
    for (const t of lay.targets(n)) {
      if (!lay.pos.has(t)) continue;
      const [x2, y2] = lay.pos.get(t);
      const line = document.createElementNS(NS, "path");
      const back = x2 <= x;
      line.setAttribute("d", back ? `M${x + 65},${y + 56} C${x + 65},${y + 80} ${x2 + 65},${y2 + 80} ${x2 + 65},${y2 + 56}`
        : `M${x + 130},${y + 28} L${x2},${y2 + 28}`);
      line.setAttribute("class", "edge");
      svg.append(line);
    }
  }
  for (const n of lay.order) {
    const [x, y] = lay.pos.get(n);
    const units = (byStation.get(n) || []).sort((a, b) => a[0] - b[0]);
    const abnormal = units.some(([, s]) => ABNORMAL.has(s));
    const g = document.createElementNS(NS, "g");
    g.setAttribute("class", `station${abnormal ? " abnormal" : ""}`);
    g.setAttribute("data-station", n);
    const summary = units.map(([, s]) => s).join(", ");
    g.innerHTML = `<rect class="box" x="${x}" y="${y}" width="130" height="56" rx="3"/>` +
      `<text x="${x + 6}" y="${y + 16}">${escapeHtml(n)}</text>` +
      `<text class="state" x="${x + 6}" y="${y + 32}" fill="#5c5c5c">${escapeHtml(summary || (run.meta.layout.stations[n] || {}).type || "")}</text>`;
    units.forEach(([u, s], i) => {
      const r = document.createElementNS(NS, "rect");
      r.setAttribute("class", "unit");
      r.setAttribute("x", x + 6 + i * 16);
      r.setAttribute("y", y + 38);
      r.setAttribute("width", 12);
      r.setAttribute("height", 12);
      r.setAttribute("fill", STATE_COLOURS[s] || "#ccc");
      const title = document.createElementNS(NS, "title");
      title.textContent = `${run.unitLabel(u)}: ${s}`;
      r.append(title);
      g.append(r);
    });
    svg.append(g);
  }
  const legend = el("div", { class: "legend" }, ...Object.entries(STATE_COLOURS).map(([s, c]) => {
    const i = el("i");
    i.style.background = c;
    return el("span", {}, i, s);
  }));
  document.getElementById("diagram").replaceChildren(svg, legend);
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

// Alarm values as people read them (degC, kW, m3/h, kg/h, per hour, %, h): the line's
// alarms say how (layout.alarms[].display); SI when an alarm is not described.
function shown(alarm, value) {
  const a = (ui.run && (ui.run.meta.layout.alarms || []).find((x) => x.name === alarm)) || {};
  const d = a.display || { scale: 1, offset: 0, unit: "" };
  return typeof value === "number" ? [value * d.scale + d.offset, d.unit] : [value, d.unit];
}

function alarmTable(rows, withActions) {
  const cols = ["time", "alarm", "tag", "priority", "event", "state", "value", "limit", "unit"];
  const num = (c) => c === "value" || c === "limit";
  const head = el("tr", {}, ...cols.map((c) => el("th", { class: num(c) ? "num" : "" }, c)),
    ...(withActions ? [el("th", {}, "")] : []));
  const body = rows.map((r) => {
    const content = (c) => {
      if (c === "time") return simTime(r.time);
      if (c === "unit") return shown(r.alarm, null)[1] || "-";
      const v = num(c) ? shown(r.alarm, r[c])[0] : r[c];
      return typeof v === "number" ? fmt(v, 3) : (v ?? "-");
    };
    const tr = el("tr", { class: `prio-${String(r.priority).toLowerCase()}${isUnacked(r.state) ? " unack" : ""}${isShelved(r.state) ? " shelved" : ""}`, "data-alarm": r.alarm },
      ...cols.map((c) => el("td", { class: num(c) ? "num" : "" }, content(c))));
    if (withActions) {
      const cell = el("td");
      if (isUnacked(r.state)) cell.append(el("button", { class: "small ack", type: "button", onclick: () => alarmAction(r.alarm, "ack") }, "Ack"));
      if (!isShelved(r.state)) cell.append(el("button", { class: "small shelve", type: "button", onclick: () => alarmAction(r.alarm, "shelve") }, "Shelve 1 h"));
      tr.append(cell);
    }
    return tr;
  });
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
}

async function alarmAction(name, action) {
  const url = `/api/live/alarms/${encodeURIComponent(name)}/${action}` + (action === "shelve" ? "?duration_s=3600" : "");
  const res = await fetch(url, { method: "POST" });
  const box = document.getElementById("status");
  box.textContent = res.ok ? `${action} ${name}: done` : `${action} ${name}: refused (${res.status})`;
}

function renderActiveAlarms(run, T) {
  const { active } = alarmsAt(run, T);
  const badge = document.getElementById("alarmcount");
  badge.hidden = active.length === 0;
  badge.textContent = active.length;
  const box = document.getElementById("active-alarms");
  if (!active.length) { box.replaceChildren("none"); box.className = "muted"; return; }
  box.className = "";
  box.replaceChildren(alarmTable(active.slice(-12).reverse(), run.meta.live));
}

function renderAlarms(run, T) {
  const { rows, active } = alarmsAt(run, T);
  const list = document.getElementById("alarm-list");
  const live = run.meta.live;
  list.replaceChildren(el("h2", {}, `Active (${active.length})`), alarmTable(active, live),
    el("h2", {}, `Journal (${rows.length} events, newest first)`), alarmTable(rows.slice(-200).reverse(), false));
  const raised = rows.filter((r) => r.event === "activate");
  const bin = 600, start = 0, n = Math.max(1, Math.ceil((T - start) / bin));
  const counts = new Array(n).fill(0);
  for (const r of raised) { const i = Math.floor((r.time - start) / bin); if (i >= 0 && i < n) counts[i]++; }
  const x = counts.map((_, i) => (start + (i + 0.5) * bin) / HOUR);
  Plotly.react("alarm-rate", [
    { type: "bar", x, y: counts, name: "alarms per 10 min", marker: { color: counts.map((c) => (c > 10 ? "#c62828" : "#8a8a8a")) } },
    { type: "scatter", mode: "lines", x: [0, T / HOUR], y: [10, 10], name: "flood (10 per 10 min)", line: { color: "#c62828", dash: "dash" } },
  ], { ...BASE_LAYOUT, xaxis: { title: "time [h]" }, yaxis: { title: "alarms" } }, PLOT_CONFIG);
}

function windowStart(T) {
  const hours = Number(document.getElementById("window").value);
  return hours > 0 ? Math.max(0, T - hours * HOUR) : 0;
}

function ganttTraces(run, T, w0, suffix = "") {
  const { intervals: iv } = intervals(run, T);
  const byState = new Map();
  const units = [...iv.keys()].sort((a, b) => a - b);
  for (const u of units) {
    for (const [a, b, s] of iv.get(u)) {
      if (b <= w0) continue;
      if (!byState.has(s)) byState.set(s, { x: [], base: [], y: [] });
      const tr = byState.get(s), a0 = Math.max(a, w0);
      tr.base.push(a0 / HOUR);
      tr.x.push((Math.min(b, T) - a0) / HOUR);
      tr.y.push(run.unitLabel(u) + suffix);
    }
  }
  return [...byState].map(([s, tr]) => ({
    type: "bar", orientation: "h", name: s, x: tr.x, base: tr.base, y: tr.y,
    marker: { color: STATE_COLOURS[s] || "#999", line: { width: 0 } }, hovertemplate: `${s}<extra></extra>`,
  }));
}

function renderGantt(run, T) {
  const w0 = windowStart(T);
  Plotly.react("gantt", ganttTraces(run, T, w0), {
    ...BASE_LAYOUT, barmode: "overlay", margin: { l: 130, r: 20, t: 10, b: 40 },
    xaxis: { title: "time [h]", range: [w0 / HOUR, T / HOUR] }, yaxis: { autorange: "reversed" },
  }, PLOT_CONFIG);
}

function stepSeries(points, w0, T) {
  // points: [t, value] sorted by t; returns x (h), y of a step line over [w0, T]
  const x = [], y = [];
  let last = null;
  for (const [t, v] of points) {
    if (t > T) break;
    if (t < w0) { last = v; continue; }
    if (last !== null && x.length === 0) { x.push(w0 / HOUR); y.push(last); }
    x.push(t / HOUR); y.push(v); last = v;
  }
  if (last !== null) { if (!x.length) { x.push(w0 / HOUR); y.push(last); } x.push(T / HOUR); y.push(last); }
  return { x, y };
}

function renderLevels(run, T) {
  const w0 = windowStart(T), ev = run.meta.event_names;
  const arrive = ev.indexOf("arrive"), start = ev.indexOf("start"), consumed = ev.indexOf("consumed");
  const et = run.col("events", "time"), ek = run.col("events", "kind"), es = run.col("events", "station");
  const level = new Map(), series = new Map();
  for (let i = 0; i < et.length && et[i] <= T; i++) {
    const d = ek[i] === arrive ? 1 : (ek[i] === start || ek[i] === consumed ? -1 : 0);
    if (!d) continue;
    const st = run.stationName(es[i]);
    const info = run.meta.layout.stations[st] || {};
    if (!info.servers || info.type === "batch") continue;
    const v = Math.max(0, (level.get(st) || 0) + d);
    level.set(st, v);
    if (!series.has(st)) series.set(st, []);
    series.get(st).push([et[i], v]);
  }
  const traces = [];
  let k = 0;
  for (const [st, pts] of series) {
    const s = stepSeries(pts, w0, T);
    traces.push({ type: "scatter", mode: "lines", line: { shape: "hv", color: GREYS[k++ % GREYS.length] }, name: `${st} queue`, x: s.x, y: s.y });
  }
  const lt = run.col("levels", "time"), ls = run.col("levels", "station"), kg = run.col("levels", "kg");
  const tanks = new Map();
  for (let i = 0; i < lt.length; i++) {
    const st = run.stationName(ls[i]);
    if (!tanks.has(st)) tanks.set(st, []);
    tanks.get(st).push([lt[i], kg[i]]);
  }
  for (const [st, pts] of tanks) {
    const s = stepSeries(pts, w0, T);
    traces.push({ type: "scatter", mode: "lines", yaxis: "y2", line: { shape: "hv", color: GREYS[k++ % GREYS.length], dash: "dot" }, name: `${st} [kg]`, x: s.x, y: s.y });
  }
  Plotly.react("levels", traces, {
    ...BASE_LAYOUT, xaxis: { title: "time [h]", range: [w0 / HOUR, T / HOUR] }, yaxis: { title: "parts waiting" },
    yaxis2: { title: "tank [kg]", overlaying: "y", side: "right", visible: tanks.size > 0 },
  }, PLOT_CONFIG);
}

function renderUtility(run, T) {
  const w0 = windowStart(T);
  const ut = run.col("utility_load", "time"), un = run.col("utility_load", "utility"), ul = run.col("utility_load", "load");
  const per = new Map();
  for (let i = 0; i < ut.length; i++) {
    if (!per.has(un[i])) per.set(un[i], []);
    per.get(un[i]).push([ut[i], ul[i]]);
  }
  const traces = [];
  let k = 0;
  for (const [name, pts] of per) {
    const info = run.meta.layout.utilities[name] || {};
    const scale = info.medium ? 3600 : 1e-3, unit = info.medium ? "m3/h" : "kW";
    const s = stepSeries(pts, w0, T);
    const colour = GREYS[k++ % GREYS.length];
    traces.push({ type: "scatter", mode: "lines", line: { shape: "hv", color: colour }, name: `${name} [${unit}]`, x: s.x, y: s.y.map((v) => v * scale) });
    if (info.capacity) {
      const over = s.y.some((v) => v > info.capacity * (1 + 1e-9));
      traces.push({ type: "scatter", mode: "lines", line: { color: over ? "#c62828" : colour, dash: "dash" }, name: `${name} capacity`, x: [w0 / HOUR, T / HOUR], y: [info.capacity * scale, info.capacity * scale] });
    }
  }
  Plotly.react("utility", traces, { ...BASE_LAYOUT, xaxis: { title: "time [h]", range: [w0 / HOUR, T / HOUR] }, yaxis: { title: "load" },
    annotations: traces.length ? [] : [{ text: "no utilities on this line", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] }, PLOT_CONFIG);
}

function renderProfiles(run, T) {
  const cols = run.t.profiles || {};
  const time = cols.time || [], traces = [];
  const idx = [];
  for (let i = 0; i < time.length; i++) if (time[i] && time[i].length && time[i][0] <= T) idx.push(i);
  let k = 0;
  for (const i of idx.slice(-6)) {
    const label = `${run.stationName(cols.station[i])} ${cols.phase[i]} batch ${cols.part[i]}`;
    const keep = time[i].map((t) => t <= T);
    const x = time[i].filter((_, j) => keep[j]).map((t) => t / HOUR);
    const colour = GREYS[k++ % GREYS.length];
    if (cols.temperature_K && cols.temperature_K[i]) traces.push({ type: "scatter", mode: "lines", name: `${label} T [degC]`, x, y: cols.temperature_K[i].filter((_, j) => keep[j]).map((v) => v - 273.15), line: { color: colour } });
    if (cols.conversion && cols.conversion[i]) traces.push({ type: "scatter", mode: "lines", yaxis: "y2", name: `${label} conversion`, x, y: cols.conversion[i].filter((_, j) => keep[j]), line: { color: colour, dash: "dot" } });
  }
  Plotly.react("profiles", traces, { ...BASE_LAYOUT, xaxis: { title: "time [h]" }, yaxis: { title: "temperature [degC]" },
    yaxis2: { title: "conversion [-]", overlaying: "y", side: "right", range: [0, 1] },
    annotations: traces.length ? [] : [{ text: "no batch profiles (yet) on this line", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] }, PLOT_CONFIG);
}

function sankey(div, nodes, links, unit) {
  const index = new Map(nodes.map((n, i) => [n, i]));
  const keep = links.filter((l) => l[2] > 0);
  const node = document.getElementById(div), key = nodes.join("\u0000");
  if (node.dataset.nodes !== key) { Plotly.purge(node); node.dataset.nodes = key; }  // new nodes: draw afresh
  Plotly.react(div, [{
    type: "sankey", arrangement: "snap", valueformat: ".3s", valuesuffix: ` ${unit}`,
    node: { label: nodes, pad: 12, thickness: 14, color: nodes.map((n) => (/scrap|waste|emission/.test(n) ? "#c9a0a0" : "#9a9a9a")), line: { color: "#6b6b6b", width: 0.5 } },
    link: { source: keep.map((l) => index.get(l[0])), target: keep.map((l) => index.get(l[1])), value: keep.map((l) => l[2]), color: "rgba(110,110,110,0.35)" },
  }], { ...BASE_LAYOUT, margin: { l: 10, r: 10, t: 10, b: 10 } }, PLOT_CONFIG);
}

function renderFlows(run, T) {
  const ft = run.col("flows", "time");
  const linkMap = new Map(), add = (a, b, v) => { const k = `${a}\u0000${b}`; linkMap.set(k, (linkMap.get(k) || 0) + v); };
  let unit = "parts";
  if (ft.length) {
    unit = "kg";
    const fs = run.col("flows", "station"), fk = run.col("flows", "kind"), kg = run.col("flows", "kg");
    for (let i = 0; i < ft.length && ft[i] <= T; i++) {
      const st = run.stationName(fs[i]);
      if (fk[i] === "input") add("raw materials", st, kg[i]);
      else if (fk[i] !== "transformation") add(st, fk[i] === "output" ? "product" : fk[i], kg[i]);
    }
  } else {
    const ev = run.meta.event_names, et = run.col("events", "time"), ek = run.col("events", "kind");
    const es = run.col("events", "station"), ep = run.col("events", "part");
    const created = ev.indexOf("created"), arrive = ev.indexOf("arrive"), exit = ev.indexOf("exit"), scrap = ev.indexOf("scrap");
    const where = new Map();
    for (let i = 0; i < et.length && et[i] <= T; i++) {
      const k = ek[i], st = run.stationName(es[i]);
      if (k === created) where.set(ep[i], st);
      else if (k === arrive || k === exit) {
        const prev = where.get(ep[i]);
        if (prev !== undefined && prev !== st) add(prev, st, 1);
        where.set(ep[i], st);
      } else if (k === scrap) add(st, "scrap", 1);
    }
  }
  const links = [...linkMap].map(([k, v]) => [...k.split("\u0000"), v]);
  const nodes = [...new Set(links.flatMap((l) => [l[0], l[1]]))];
  sankey("sankey-material", nodes, links, unit);
  // energy: grid electricity to equipment (from states), utilities to units (from phases)
  const { intervals: iv } = intervals(run, T);
  const elinks = new Map(), eadd = (a, b, v) => { const k = `${a}\u0000${b}`; elinks.set(k, (elinks.get(k) || 0) + v); };
  for (const [u, list] of iv) {
    const st = run.stationName((run.meta.units[u] || [-1])[0]);
    const power = (run.meta.layout.stations[st] || {}).power_W || {};
    for (const [a, b, s] of list) eadd("grid electricity", st, (power[s] || 0) * (Math.min(b, T) - a) / 3.6e6);
  }
  const pe = run.col("phases", "end"), pu = run.col("phases", "utility"), ps = run.col("phases", "station"), ph = run.col("phases", "heat_J");
  for (let i = 0; i < pe.length; i++) {
    if (pe[i] > T || !pu[i] || !ph[i]) continue;
    const info = run.meta.layout.utilities[pu[i]] || {};
    const src = info.carrier === "steam" ? "natural gas (boiler)" : "electric utility plant";
    eadd(src, pu[i], ph[i] / 3.6e6);
    eadd(pu[i], run.stationName(ps[i]), ph[i] / 3.6e6);
  }
  const el2 = [...elinks].map(([k, v]) => [...k.split("\u0000"), v]);
  sankey("sankey-energy", [...new Set(el2.flatMap((l) => [l[0], l[1]]))], el2, "kWh");
  // emissions: rate per species [kg/h] (the watched emission signals where recorded, else
  // hourly from the flows), against the limits of the line's emission alarms
  const traces = [];
  const fs = run.col("flows", "species"), fk = run.col("flows", "kind"), kg = run.col("flows", "kg");
  const st = run.col("signals", "time"), sg = run.col("signals", "tag"), sv = run.col("signals", "value");
  const watched = new Map();
  for (let i = 0; i < st.length && st[i] <= T; i++) {
    if (!String(sg[i]).startsWith("emission.")) continue;
    const sp = sg[i].slice(9);
    if (!watched.has(sp)) watched.set(sp, []);
    watched.get(sp).push([st[i], sv[i] * HOUR]);
  }
  const hourly = new Map();
  for (let i = 0; i < ft.length && ft[i] <= T; i++) {
    if (fk[i] !== "emission") continue;
    const sp = run.meta.species[fs[i]] ?? String(fs[i]);
    if (watched.has(sp)) continue;
    if (!hourly.has(sp)) hourly.set(sp, new Map());
    const h = Math.floor(ft[i] / HOUR), m = hourly.get(sp);
    m.set(h, (m.get(h) || 0) + kg[i]);
  }
  let k = 0;
  for (const [sp, pts] of watched) {
    const s = stepSeries(pts, 0, T);
    traces.push({ type: "scatter", mode: "lines", line: { shape: "hv", color: GREYS[k++ % GREYS.length] }, name: `${sp} [kg/h]`, x: s.x, y: s.y });
  }
  for (const [sp, m] of hourly) {
    const hours = [...m.keys()].sort((a, b) => a - b);
    traces.push({ type: "bar", marker: { color: GREYS[k++ % GREYS.length] }, name: `${sp} [kg/h, hourly]`, width: 1, x: hours.map((h) => h + 0.5), y: hours.map((h) => m.get(h)) });
  }
  for (const a of run.meta.layout.alarms || []) {
    if (!String(a.tag).startsWith("emission.") || typeof a.limit !== "number") continue;
    const over = traces.some((t) => t.name.startsWith(a.tag.slice(9) + " ") && t.y.some((v) => v >= a.limit * HOUR));
    traces.push({ type: "scatter", mode: "lines", line: { color: over ? "#c62828" : "#6b6b6b", dash: "dash" }, name: `limit ${a.name} (${a.tag})`, x: [0, T / HOUR], y: [a.limit * HOUR, a.limit * HOUR] });
  }
  Plotly.react("emissions", traces, { ...BASE_LAYOUT, barmode: "overlay", xaxis: { title: "time [h]", range: [0, T / HOUR] }, yaxis: { title: "emission rate [kg/h]" },
    annotations: traces.length ? [] : [{ text: "no emissions recorded on this line", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }] }, PLOT_CONFIG);
}

// -------------------------------------------------------------------- rendering

function currentTime() {
  const run = ui.run;
  if (!run) return 0;
  if (run.meta.live) return run.now;
  return ui.cursor ?? run.end;
}

function render() {
  ui.renderTimer = null;
  ui.lastRender = performance.now();
  const run = ui.run;
  window.twinState.renders++;
  if (!run || ui.view === "compare") return;
  const T = currentTime();
  document.getElementById("clock").textContent = simTime(T);
  renderActiveAlarms(run, T);
  if (ui.view === "overview") { renderKpis(run, T); renderDiagram(run, T); }
  if (ui.view === "timelines") { renderGantt(run, T); renderLevels(run, T); renderUtility(run, T); renderProfiles(run, T); }
  if (ui.view === "flows") renderFlows(run, T);
  if (ui.view === "alarms") renderAlarms(run, T);
  window.twinState.now = T;
}

function scheduleRender(delay = 500) {
  if (ui.renderTimer) return;
  const wait = Math.max(0, delay - (performance.now() - ui.lastRender));
  ui.renderTimer = setTimeout(render, wait);
}

// -------------------------------------------------------------------- sources

async function openLive() {
  const meta = await getJSON("/api/live");
  const run = new RunData(meta);
  ui.run = run;
  ui.layout = null;
  document.getElementById("cursorbar").hidden = true;
  document.getElementById("runinfo").textContent = `${meta.line} (live, ${meta.speed ? `${meta.speed}x` : "as fast as possible"})`;
  connectLive(run, "");
}

// The live stream: binary frames of new records only. After a dropped connection the page
// reconnects from its cursor (waiting longer after each failure), so nothing is sent twice
// and nothing is missed. A refusal comes as close code 4000 + HTTP status: 4409 means the
// dashboard now serves another run (the page starts again on it); others end the stream.
function connectLive(run, cursor, failures = 0) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const query = cursor ? `?cursor=${encodeURIComponent(cursor)}&run=${encodeURIComponent(run.meta.run_id)}` : "";
  const ws = new WebSocket(`${scheme}//${location.host}/api/live/ws${query}`);
  ws.binaryType = "arraybuffer";
  ui.stream = ws;
  let ended = false;
  ws.onmessage = (msg) => {
    if (ui.stream !== ws) return;
    const data = readFrame(msg.data);
    failures = 0;
    cursor = data.id;
    run.append(data.records);
    run.now = data.now;
    run.meta.status = data.status;
    window.twinState.records = run.count;
    window.twinState.messages++;
    document.getElementById("status").textContent = data.status + (data.error ? ": the run failed" : "") + (data.end ? " (stream closed)" : "");
    if (data.end) { ended = true; scheduleRender(0); } else scheduleRender();
  };
  ws.onclose = (ev) => {
    if (ended || ui.stream !== ws) return;  // finished, or closed on purpose
    const status = document.getElementById("status");
    if (ev.code === 4409) {
      status.textContent = "the live run changed: starting again";
      openLive().catch((err) => { status.textContent = `no live run: ${err.message}`; });
      return;
    }
    if (ev.code >= 4000 && ev.code < 5000 && ev.code !== 4503) {
      ui.stream = null;
      status.textContent = `stream refused: ${ev.reason || ev.code}`;
      return;
    }
    const delay = Math.min(30000, 1000 * 2 ** failures);
    status.textContent = `connection lost, reconnecting in ${Math.round(delay / 1000)} s`;
    setTimeout(() => { if (ui.stream === ws) connectLive(run, cursor, failures + 1); }, delay);
  };
}

async function loadStored(id) {
  const enc = id.split("/").map(encodeURIComponent).join("/");
  const [meta, rec] = await Promise.all([getJSON(`/api/runs/${enc}/meta`), getJSON(`/api/runs/${enc}/records`)]);
  const run = new RunData(meta);
  run.append(rec.records);
  return run;
}

async function openStored(id) {
  const run = await loadStored(id);
  ui.run = run;
  ui.layout = null;
  ui.cursor = run.end;
  const bar = document.getElementById("cursorbar"), slider = document.getElementById("cursor");
  bar.hidden = false;
  slider.value = slider.max;
  document.getElementById("runinfo").textContent = `${run.meta.line} seed ${run.meta.seed} (replay)`;
  document.getElementById("status").textContent = run.meta.status || "";
  updateCursorLabel();
}

function updateCursorLabel() {
  const run = ui.run;
  document.getElementById("cursorlabel").textContent = `${simTime(ui.cursor)} of ${simTime(run.end)}`;
}

async function selectSource(value) {
  if (ui.stream) { ui.stream.close(); ui.stream = null; }
  if (ui.playing) { clearInterval(ui.playing); ui.playing = null; document.getElementById("play").textContent = "Play"; }
  window.twinState.ready = false;
  ui.source = value;
  for (const div of document.querySelectorAll(".view .plot")) { Plotly.purge(div); delete div.dataset.nodes; }
  try {
    if (value === "live") await openLive();
    else await openStored(value.slice(4));
    window.twinState.source = value;
    window.twinState.ready = true;
    render();
  } catch (err) {
    document.getElementById("status").textContent = `cannot open: ${err.message}`;
  }
}

async function loadRuns() {
  const data = await getJSON("/api/runs");
  ui.runs = data.runs;
  const options = [];
  if (data.live) options.push(el("option", { value: "live" }, `live: ${data.live.line}`));
  for (const r of data.runs) options.push(el("option", { value: `run:${r.id}` }, `${r.id}`));
  document.getElementById("source").replaceChildren(...options);
  for (const id of ["cmp-a", "cmp-b"]) {
    document.getElementById(id).replaceChildren(...data.runs.map((r) => el("option", { value: r.id }, r.id)));
  }
  if (data.runs.length > 1) document.getElementById("cmp-b").value = data.runs[1].id;
  return data;
}

// -------------------------------------------------------------------- comparison

async function compare() {
  const a = document.getElementById("cmp-a").value, b = document.getElementById("cmp-b").value;
  const out = document.getElementById("cmp-out");
  out.replaceChildren(el("span", { class: "muted" }, "loading ..."));
  const runs = await Promise.all([loadStored(a), loadStored(b)]);
  const keys = (runs[0].meta.kpi_catalogue || []).filter((c) => c.shown.includes("compare")).map((c) => c.key);
  const table = el("table", { id: "cmp-table" }, el("thead", {}, el("tr", {}, el("th", {}, "KPI"), el("th", { class: "num" }, "A"), el("th", { class: "num" }, "B"), el("th", { class: "num" }, "B - A"))),
    el("tbody", {}, ...keys.map((k) => {
      const va = (runs[0].meta.kpis || {})[k], vb = (runs[1].meta.kpis || {})[k];
      const diff = typeof va === "number" && typeof vb === "number" ? vb - va : null;
      return el("tr", {}, el("td", {}, k), el("td", { class: "num" }, fmt(va, 3)), el("td", { class: "num" }, fmt(vb, 3)), el("td", { class: "num" }, diff === null ? "" : fmt(diff, 3)));
    })));
  const columns = runs.map((run, i) => {
    const div = el("div", { class: "plot tall", id: `cmp-gantt-${i}` });
    return { run, div, box: el("div", { class: "panel cmp" }, el("h2", {}, `${i ? "B" : "A"}: ${[a, b][i]}`), div) };
  });
  out.replaceChildren(el("div", { class: "panel cmp" }, el("h2", {}, "KPIs (whole run)"), table), ...columns.map((c) => c.box));
  for (const { run, div } of columns) {
    const T = run.end, w0 = Math.max(0, T - 24 * HOUR);
    Plotly.react(div, ganttTraces(run, T, w0), { ...BASE_LAYOUT, barmode: "overlay", margin: { l: 130, r: 10, t: 10, b: 40 },
      xaxis: { title: "time [h] (last 24 h)", range: [w0 / HOUR, T / HOUR] }, yaxis: { autorange: "reversed" } }, PLOT_CONFIG);
  }
  const curves = runs.map((run, i) => {
    const done = run.col("parts", "done"), fate = run.col("parts", "fate"), good = run.meta.fate_names.indexOf("good");
    const t = done.filter((d, j) => fate[j] === good && d !== null).sort((x, y) => x - y);
    return { type: "scatter", mode: "lines", line: { shape: "hv", color: i ? "#2e2e2e" : "#9a9a9a", dash: i ? "solid" : "dot" }, name: `${i ? "B" : "A"}: ${[a, b][i]}`, x: t.map((v) => v / HOUR), y: t.map((_, j) => j + 1) };
  });
  Plotly.react("cmp-curve", curves, { ...BASE_LAYOUT, xaxis: { title: "time [h]" }, yaxis: { title: "good units" } }, PLOT_CONFIG);
  window.twinState.compared = [a, b];
}

// -------------------------------------------------------------------- wiring

function showView(view) {
  ui.view = view;
  for (const b of document.querySelectorAll("#tabs button")) b.classList.toggle("active", b.dataset.view === view);
  for (const s of document.querySelectorAll(".view")) s.hidden = s.id !== `view-${view}`;
  render();
}

function setCursorFromSlider() {
  const slider = document.getElementById("cursor"), run = ui.run;
  if (!run || run.meta.live) return;
  ui.cursor = (Number(slider.value) / Number(slider.max)) * run.end;
  updateCursorLabel();
  scheduleRender(150);
}

function togglePlay() {
  const button = document.getElementById("play"), slider = document.getElementById("cursor");
  if (ui.playing) { clearInterval(ui.playing); ui.playing = null; button.textContent = "Play"; return; }
  if (Number(slider.value) >= Number(slider.max)) slider.value = 0;
  button.textContent = "Pause";
  ui.playing = setInterval(() => {
    slider.value = Math.min(Number(slider.max), Number(slider.value) + 2);
    setCursorFromSlider();
    if (Number(slider.value) >= Number(slider.max)) togglePlay();
  }, 200);
}

async function main() {
  for (const b of document.querySelectorAll("#tabs button")) b.addEventListener("click", () => showView(b.dataset.view));
  document.getElementById("source").addEventListener("change", (e) => selectSource(e.target.value));
  document.getElementById("cursor").addEventListener("input", setCursorFromSlider);
  document.getElementById("play").addEventListener("click", togglePlay);
  document.getElementById("window").addEventListener("change", () => render());
  document.getElementById("cmp-go").addEventListener("click", () => compare().catch((err) => {
    document.getElementById("cmp-out").replaceChildren(el("span", { class: "error" }, `cannot compare: ${err.message}`));
  }));
  const data = await loadRuns();
  const wanted = new URLSearchParams(location.search).get("source");
  const first = wanted || (data.live ? "live" : (data.runs[0] ? `run:${data.runs[0].id}` : null));
  if (first) {
    document.getElementById("source").value = first;
    await selectSource(first);
  } else {
    document.getElementById("status").textContent = "no runs yet";
  }
}

main();
