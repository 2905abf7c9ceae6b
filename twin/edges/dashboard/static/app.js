// Pilot Twin dashboard: plain JavaScript, no build step. Everything is fetched from this server.
// A run's records are held in columns (as the server sends them); every view is computed from
// them at a time T: the live clock, or the replay cursor of a stored run.
"use strict";

// ISA-101: calm greys for the normal states, colour only for the abnormal ones (down, blocked);
// no two states look alike: greys differ in lightness or carry a pattern, and every chart of
// states has a legend.
const STATE_STYLE = {
  producing: { colour: "#4d4d4d", pattern: "" },
  idle: { colour: "#c4c4c4", pattern: "" },
  setup: { colour: "#8c8c8c", pattern: "/" },
  waiting: { colour: "#8c8c8c", pattern: "." },
  maintenance: { colour: "#8c8c8c", pattern: "x" },
  off: { colour: "#e0e0e0", pattern: "" },
  blocked: { colour: "#d9a300", pattern: "" },
  down: { colour: "#c62828", pattern: "" },
};
const STATE_COLOURS = Object.fromEntries(Object.entries(STATE_STYLE).map(([s, v]) => [s, v.colour]));
const ABNORMAL = new Set(["down", "blocked"]);
const GREYS = ["#4d4d4d", "#8a8a8a", "#a8a8a8", "#2e2e2e", "#6e6e6e", "#bdbdbd", "#5e5e5e"];
const PLOT_CONFIG = { displayModeBar: false, responsive: true };
const BASE_LAYOUT = {
  paper_bgcolor: "#ededed", plot_bgcolor: "#fbfbfb", font: { color: "#262626", size: 12 },
  margin: { l: 70, r: 70, t: 24, b: 70 }, showlegend: true,
  legend: { orientation: "h", y: -0.35 },
};
const HOUR = 3600;
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const TIME_TITLE = "time of the run (day, weekday, clock; day 1 starts Monday 00:00)";
const TICK_STEPS = [600, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400];
// The most segments a chart draws per unit or series (about its width in pixels): longer
// views show per slot the state that took most of it (ganttTraces), or the extremes (thin).
const MAX_SEGMENTS = 1000;

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
  // A column's first values are kept as they came (a typed array is read in place: a stored
  // run's records are not copied); a column that grows becomes a plain array.
  append(records) {
    for (const [table, cols] of Object.entries(records || {})) {
      const dest = this.t[table] || (this.t[table] = {});
      let n = 0;
      for (const [name, raw] of Object.entries(cols)) {
        const values = unpack(raw);
        n = values.length;
        if (dest[name] === undefined) { dest[name] = values; continue; }
        const col = Array.isArray(dest[name]) ? dest[name] : (dest[name] = Array.from(dest[name]));
        for (let i = 0; i < values.length; i++) col.push(values[i]);
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
  let joules = 0, co2 = 0;
  for (const [u, list] of iv) {
    const st = run.stationName((meta.units[u] || [-1])[0]);
    const power = (layout.stations[st] || {}).power_W || {};
    const acc = secs.get(st) || {};
    for (const [a, b, s] of list) {
      const d = Math.min(b, T) - Math.max(a, t0);
      if (d <= 0) continue;
      acc[s] = (acc[s] || 0) + d;
      joules += (power[s] || 0) * d;
      co2 += gridKg(layout, power[s] || 0, Math.max(a, t0), Math.min(b, T));
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
  const kwh = joules / 3.6e6;
  return {
    throughput: good / (span / HOUR), good, scrap,
    yield: good + scrap > 0 ? good / (good + scrap) : NaN,
    wip: made - finished, wipMean: partSeconds / span, oee: best ? best.oee : NaN, bottleneck: best ? best.name : "",
    kwh, kwhPerUnit: good > 0 ? kwh / good : NaN,
    co2PerUnit: good > 0 ? co2 / good : NaN,
  };
}

// kg CO2e of `watts` drawn over [a, b) [s from Monday 00:00]: at the grid factor of each
// hour when the line has an hourly profile, else at its flat factor.
function gridKg(layout, watts, a, b) {
  const hourly = layout.grid_hourly_kg_per_kwh;
  if (!hourly) return watts * (b - a) / 3.6e6 * (layout.grid_kg_per_kwh || 0);
  let kg = 0;
  for (let t = a; t < b;) {
    const h = Math.floor(t / 3600), next = Math.min(b, (h + 1) * 3600);
    kg += watts * (next - t) / 3.6e6 * hourly[h % 24];
    t = next;
  }
  return kg;
}

// Alarm rows up to T and the latest row of each alarm. Active: the condition is present now
// (unacknowledged or acknowledged, not shelved), as the KPI "standing alarms" counts them;
// returned-unacknowledged alarms wait for an acknowledgement but are not active.
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
  const last = [...latest.values()];
  const active = last.filter((r) => isActive(r.state));
  const returned = last.filter((r) => String(r.state) === "rtn_unack");
  const shelved = last.filter((r) => isShelved(r.state));
  return { rows, active, returned, shelved };
}

function isActive(state) { return /^(unack|ack)$/i.test(String(state)); }
function isUnacked(state) { return /unack/i.test(String(state)); }
function isShelved(state) { return /shelv/i.test(String(state)); }

// -------------------------------------------------------------------- formatting

// A time of the run as a clock: day (1 = the run's first day, a Monday), weekday, hh:mm.
function simTime(s, seconds = false) {
  if (s === null || s === undefined || !isFinite(s)) return "--";
  const d = Math.floor(s / 86400), r = s - d * 86400;
  const h = Math.floor(r / 3600), m = Math.floor((r - h * 3600) / 60), sec = Math.floor(r - h * 3600 - m * 60);
  const clock = `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}` + (seconds ? `:${String(sec).padStart(2, "0")}` : "");
  return `day ${d + 1} ${WEEKDAYS[((d % 7) + 7) % 7]} ${clock}`;
}

// A time axis [h] over [w0, T] [s] labelled with clock times of the run (ticks every 10 min to
// 4 weeks, about 8 of them), with its title.
function timeAxis(w0, T, extra = {}) {
  const span = Math.max(T - w0, 1);
  const step = TICK_STEPS.find((s) => span / s <= 8) || TICK_STEPS[TICK_STEPS.length - 1];
  const vals = [], text = [];
  for (let t = Math.ceil(w0 / step) * step; t <= T + 1e-9; t += step) {
    vals.push(t / HOUR);
    text.push(step >= 86400 ? simTime(t).slice(0, -6) : simTime(t).replace(/^(day \d+ \w+) /, "$1<br>"));
  }
  return { title: { text: TIME_TITLE }, range: [w0 / HOUR, T / HOUR], tickvals: vals, ticktext: text, ...extra };
}

// The warm-up (outside the observation window of the KPIs) shaded on a time axis.
function windowShapes(run, w0, T) {
  const wu = run.meta.warmup || 0;
  if (wu <= w0) return { shapes: [], annotations: [] };
  return {
    shapes: [{ type: "rect", xref: "x", yref: "paper", x0: w0 / HOUR, x1: Math.min(wu, T) / HOUR, y0: 0, y1: 1, fillcolor: "#d6d6d6", opacity: 0.5, line: { width: 0 }, layer: "below" }],
    annotations: [{ xref: "x", yref: "paper", x: Math.min(wu, T) / HOUR, y: 1, xanchor: "left", yanchor: "bottom", showarrow: false, text: "| observation window (warm-up shaded)", font: { size: 11, color: "#5c5c5c" } }],
  };
}

function axisTitle(text, extra = {}) { return { title: { text }, ...extra }; }

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

// Tiles from the KPI catalogue. At the end of a run they show the run's own KPIs (computed by
// twin.observation); before the end these are recomputed here over [warm-up, T], energy and CO2e
// from equipment electricity only on lines with utilities (the tile says so); any other KPI
// the catalogue marks as a tile shows the run's stored (whole-run or latest live) value.
const TILE_VALUES = {
  throughput_per_h: (k) => k.throughput, bottleneck_oee: (k) => k.oee, wip_mean: (k) => k.wipMean,
  quality_ratio: (k) => k.yield, kwh_per_good_unit: (k) => k.kwhPerUnit,
  co2e_kg_per_good_unit: (k) => k.co2PerUnit,
};
const EQUIPMENT_ONLY = new Set(["kwh_per_good_unit", "co2e_kg_per_good_unit"]);

function renderKpis(run, T) {
  const k = kpisAt(run, T), stored = run.meta.kpis || {};
  const atEnd = run.meta.kpis && T >= run.end - 1e-6;
  const utilities = Object.keys(run.meta.layout.utilities || {}).length > 0;
  const layout = run.meta.layout || {};
  const has = { costs: !!layout.costs, alarms: (layout.alarms || []).length > 0 };
  // a KPI that needs prices or alarms is shown only on lines that have them (or a stored value)
  const tiles = (run.meta.kpi_catalogue || []).filter((c) => c.shown.includes("tile")
    && (!c.requires || has[c.requires] || typeof stored[c.key] === "number"));
  const box = document.getElementById("kpis");
  box.replaceChildren(...tiles.map((c) => {
    const mine = TILE_VALUES[c.key];
    const value = mine && !(atEnd && typeof stored[c.key] === "number") ? mine(k) : stored[c.key];
    let unit = c.key === "bottleneck_oee" ? `bottleneck ${(atEnd && stored.bottleneck) || k.bottleneck || "-"}`
      : c.key === "wip_mean" ? `${c.unit}, ${k.wip} in the line now` : c.unit;
    if (EQUIPMENT_ONLY.has(c.key) && utilities && !atEnd) unit += " (equipment electricity so far; all carriers at the end)";
    return el("div", { class: "tile", id: `kpi-${c.key}`, title: `${c.key} (${c.iso})` },
      el("div", { class: "label" }, c.en),
      el("div", { class: "value" }, fmt(value, c.decimals)),
      el("div", { class: "unit" }, unit));
  }));
}

// The line diagram: the layout the report uses too (twin/edges/layout.py, positions in pt),
// drawn at CSS pt (4/3 px), never scaled down, so labels keep their size; a wide line scrolls.
const PT = 4 / 3;

function layoutDiagram(run) {
  const d = run.meta.layout.diagram;
  if (d) return d;
  const names = run.meta.stations, boxes = {};  // no spec: the stations in a row
  names.forEach((n, i) => { boxes[n] = { type: "", column: i, row: 0, x: 10 + i * 150, y: 10, w: 120, h: 40 }; });
  return { width: 20 + names.length * 150, height: 60, label_pt: 10, boxes, edges: [], order: names };
}

function edgePath(a, b, back) {
  if (back) {  // a loop back upstream: from the bottom of a, below the boxes, to the bottom of b
    const y = Math.max(a.y + a.h, b.y + b.h) + 14;
    return `M${a.x + a.w / 2},${a.y + a.h} C${a.x + a.w / 2},${y} ${b.x + b.w * 0.75},${y} ${b.x + b.w * 0.75},${b.y + b.h}`;
  }
  if (b.column === a.column) return `M${a.x + a.w / 2},${a.y + a.h} L${b.x + b.w / 2},${b.y}`;
  const x1 = a.x + a.w, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2, mx = (x1 + x2) / 2;
  return `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`;
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
  const em = lay.label_pt, NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${lay.width} ${lay.height}`);
  svg.setAttribute("width", lay.width * PT);
  svg.setAttribute("height", lay.height * PT);
  svg.setAttribute("font-size", em);
  const patterns = Object.entries(STATE_STYLE).filter(([, v]) => v.pattern).map(([s, v]) =>
    `<pattern id="pat-${s}" width="4" height="4" patternUnits="userSpaceOnUse"><rect width="4" height="4" fill="${v.colour}"/>` +
    (v.pattern === "." ? '<circle cx="2" cy="2" r="0.8" fill="#3a3a3a"/>' : v.pattern === "/" ? '<path d="M0,4 L4,0" stroke="#3a3a3a" stroke-width="0.7"/>'
      : '<path d="M0,0 L4,4 M0,4 L4,0" stroke="#3a3a3a" stroke-width="0.6"/>') + "</pattern>").join("");
  svg.innerHTML = `<defs>${patterns}<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#8c8c8c"/></marker></defs>`;
  for (const e of lay.edges) {
    const a = lay.boxes[e.source], b = lay.boxes[e.target];
    if (!a || !b) continue;
    const path = document.createElementNS(NS, "path");
    path.setAttribute("d", edgePath(a, b, e.back));
    path.setAttribute("class", `edge ${e.kind}${e.back ? " back" : ""}`);
    path.setAttribute("data-from", e.source);
    path.setAttribute("data-to", e.target);
    svg.append(path);
  }
  for (const n of lay.order) {
    const b = lay.boxes[n];
    if (!b) continue;
    const units = (byStation.get(n) || []).sort((p, q) => p[0] - q[0]);
    const abnormal = units.some(([, s]) => ABNORMAL.has(s));
    const g = document.createElementNS(NS, "g");
    g.setAttribute("class", `station${abnormal ? " abnormal" : ""}`);
    g.setAttribute("data-station", n);
    g.setAttribute("data-column", b.column);
    const summary = units.map(([, s]) => s).join(", ");
    const fill = /^#[0-9a-fA-F]{6}$/.test(b.colour || "") ? ` style="fill:${b.colour}"` : "";  // the type's colour, from the line description
    g.innerHTML = `<rect class="box" x="${b.x}" y="${b.y}" width="${b.w}" height="${b.h}" rx="3"${fill}/>` +
      `<text class="name" x="${b.x + 0.5 * em}" y="${b.y + 1.3 * em}">${escapeHtml(n)}</text>` +
      `<text class="state" x="${b.x + 0.5 * em}" y="${b.y + 2.5 * em}" fill="#5c5c5c">${escapeHtml(summary || b.type || "")}</text>`;
    units.forEach(([u, s], i) => {
      const r = document.createElementNS(NS, "rect");
      r.setAttribute("class", "unit");
      r.setAttribute("x", b.x + 0.5 * em + i * 1.2 * em);
      r.setAttribute("y", b.y + 2.9 * em);
      r.setAttribute("width", 0.9 * em);
      r.setAttribute("height", 0.9 * em);
      r.setAttribute("fill", STATE_STYLE[s] && STATE_STYLE[s].pattern ? `url(#pat-${s})` : (STATE_COLOURS[s] || "#ccc"));
      const title = document.createElementNS(NS, "title");
      title.textContent = `${run.unitLabel(u)}: ${s}`;
      r.append(title);
      g.append(r);
    });
    svg.append(g);
  }
  const legend = el("div", { class: "legend" }, ...Object.entries(STATE_STYLE).map(([s, v]) => {
    const i = el("i", { class: v.pattern ? `pat pat-${s}` : "" });
    i.style.background = v.colour;
    return el("span", {}, i, s);
  }), el("span", {}, el("i", { class: "line" }), "route"), el("span", {}, el("i", { class: "line back" }), "rework / loop back"));
  document.getElementById("diagram").replaceChildren(el("div", { class: "scroll" }, svg), legend);
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

// Actions are offered only while a live run is running. Shelving runs on the simulated clock
// of the run (the button says so, with what it is in wall-clock time at the run's speed).
function actionsOffered(run) { return Boolean(run.meta.live && run.meta.status === "running"); }

function shelveLabel(run) {
  const speed = run.meta.speed;
  const wall = speed ? `${fmt(3600 / speed, 3600 / speed < 10 ? 1 : 0)} s of wall-clock time at ${speed}x` : "as fast as the run goes";
  return { text: "Shelve 1 h (simulated)", title: `Shelve for 1 h of the run's simulated time (${wall})` };
}

function alarmTable(rows, withActions) {
  const cols = ["time", "alarm", "tag", "priority", "event", "state", "value", "limit", "unit"];
  const num = (c) => c === "value" || c === "limit";
  const head = el("tr", {}, ...cols.map((c) => el("th", { class: num(c) ? "num" : "" }, c)),
    ...(withActions ? [el("th", {}, "")] : []));
  const shelve = ui.run ? shelveLabel(ui.run) : null;
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
      if (isUnacked(r.state)) cell.append(el("button", { class: "small ack", type: "button", onclick: (e) => alarmAction(r.alarm, "ack", e.target) }, "Ack"));
      if (!isShelved(r.state)) cell.append(el("button", { class: "small shelve", type: "button", title: shelve.title, onclick: (e) => alarmAction(r.alarm, "shelve", e.target) }, shelve.text));
      tr.append(cell);
    }
    return tr;
  });
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
}


// An alarm action, with feedback where it was asked for (the button) and in the status line.
async function alarmAction(name, action, button) {
  const url = `/api/live/alarms/${encodeURIComponent(name)}/${action}` + (action === "shelve" ? "?duration_s=3600" : "");
  if (button) { button.disabled = true; button.textContent = "sending ..."; }
  let text;
  try {
    const res = await fetch(url, { method: "POST" });
    const body = await res.json().catch(() => ({}));
    if (res.ok) {
      text = action === "ack" ? `${name} acknowledged at ${simTime(body.time)}`
        : `${name} shelved at ${simTime(body.time)} until ${simTime(body.until)} (simulated time)`;
    } else text = `${action} ${name} refused: ${body.error || res.status}`;
    if (button) button.textContent = res.ok ? (action === "ack" ? "acknowledged" : "shelved") : "refused";
  } catch (err) {
    text = `${action} ${name} failed: ${err.message}`;
  }
  ui.feedback = text;
  document.getElementById("status").textContent = text;
  const box = document.getElementById("alarm-feedback");
  if (box) { box.textContent = text; box.hidden = false; }
}


function renderActiveAlarms(run, T) {
  const { active, returned } = alarmsAt(run, T);
  const badge = document.getElementById("alarmcount");
  badge.hidden = active.length === 0;
  badge.textContent = active.length;
  badge.title = `${active.length} active (standing) alarm(s)`;
  const box = document.getElementById("active-alarms");
  const panel = box.closest(".panel");
  if (panel) panel.hidden = !hasAlarms(run);
  const shown = [...active, ...returned];
  if (!shown.length) { box.replaceChildren("none"); box.className = "muted"; return; }
  box.className = "";
  box.replaceChildren(alarmTable(shown.slice(-12).reverse(), actionsOffered(run)));
}

function hasAlarms(run) { return (run.meta.layout.alarms || []).length > 0 || (run.col("alarms", "time").length > 0); }


function renderAlarms(run, T) {
  const { rows, active, returned, shelved } = alarmsAt(run, T);
  const list = document.getElementById("alarm-list");
  const actions = actionsOffered(run);
  const feedback = el("div", { id: "alarm-feedback", class: "feedback" }, ui.feedback || "");
  feedback.hidden = !ui.feedback;
  const part = (title, items, withActions) => [el("h2", {}, title),
    items.length ? alarmTable(items, withActions) : el("div", { class: "muted" }, "none")];
  list.replaceChildren(feedback, ...part(`Active (${active.length})`, active, actions),
    ...part(`Returned to normal, awaiting acknowledgement (${returned.length})`, returned, actions),
    ...part(`Shelved (${shelved.length})`, shelved, false),
    ...part(`Journal (${rows.length} events, newest first)`, rows.slice(-200).reverse(), false));
  renderAlarmRate(run, rows, T);
}

// Alarm rate against the ISA-18.2 flood threshold (10 per 10 min). Over long windows a bar
// covers several 10-minute slots and shows the largest count among them, so a flood stays
// visible whatever the zoom.
function renderAlarmRate(run, rows, T) {
  const slot = 600, w0 = windowStart(T), first = Math.floor(w0 / slot), n = Math.max(1, Math.ceil((T - first * slot) / slot));
  const per = Math.max(1, Math.ceil(n / 400)), bins = Math.ceil(n / per);
  const slots = new Array(n).fill(0);
  for (const r of rows) {
    if (r.event !== "activate") continue;
    const i = Math.floor(r.time / slot) - first;
    if (i >= 0 && i < n) slots[i]++;
  }
  const counts = new Array(bins).fill(0);
  for (let i = 0; i < n; i++) counts[Math.floor(i / per)] = Math.max(counts[Math.floor(i / per)], slots[i]);
  const width = per * slot;
  const x = counts.map((_, i) => (first * slot + (i + 0.5) * width) / HOUR);
  const name = per > 1 ? `most alarms in a 10-min slot (bars of ${fmt(width / HOUR, 1)} h)` : "alarms per 10 min";
  const win = windowShapes(run, w0, T);
  Plotly.react("alarm-rate", [
    { type: "bar", x, y: counts, width: width / HOUR, name, marker: { color: counts.map((c) => (c > 10 ? "#c62828" : "#8a8a8a")) } },
    { type: "scatter", mode: "lines", x: [w0 / HOUR, T / HOUR], y: [10, 10], name: "flood (10 per 10 min)", line: { color: "#c62828", dash: "dash" } },
  ], { ...BASE_LAYOUT, ...win, xaxis: timeAxis(w0, T), yaxis: axisTitle("alarms activated per 10 min [count]", { rangemode: "tozero" }) }, PLOT_CONFIG);
}


function windowStart(T) {
  const hours = Number(document.getElementById("window").value);
  return hours > 0 ? Math.max(0, T - hours * HOUR) : 0;
}

// Per unit, [start, end, state] over [w0, T].
function ganttSegments(list, w0, T) {
  return list.filter(([a, b]) => b > w0 && a < T).map(([a, b, s]) => [Math.max(a, w0), Math.min(b, T), s]);
}

// The state that took most of each of `slots` equal slots of [w0, T] (null: none).
function dominantStates(segs, w0, T, slots) {
  const width = (T - w0) / slots, share = Array.from({ length: slots }, () => new Map());
  for (const [a, b, s] of segs) {
    for (let k = Math.max(0, Math.floor((a - w0) / width)); k < slots && w0 + k * width < b; k++) {
      const d = Math.min(b, w0 + (k + 1) * width) - Math.max(a, w0 + k * width);
      if (d > 0) share[k].set(s, (share[k].get(s) || 0) + d);
    }
  }
  return share.map((m) => {
    let best = null, most = -1;
    for (const [s, d] of m) if (d > most) { best = s; most = d; }
    return best;
  });
}

// Colours of the states where patterns cannot be drawn (the whole-run heatmap): the patterned
// greys get greys of their own.
const COARSE_COLOURS = { ...STATE_COLOURS, setup: "#707070", waiting: "#a3a3a3", maintenance: "#8a8aa6" };

// The Gantt: one bar per state interval; when a unit has more intervals in the window than
// the chart has room for (`slots`, about its width in pixels), every unit is drawn as `slots`
// slots showing the state that took most of each (one heatmap trace, with a legend of the
// states).
function ganttTraces(run, T, w0, suffix = "", slots = MAX_SEGMENTS) {
  const { intervals: iv } = intervals(run, T);
  const units = [...iv.keys()].sort((a, b) => a - b);
  const segs = new Map(units.map((u) => [u, ganttSegments(iv.get(u), w0, T)]));
  const coarse = units.some((u) => segs.get(u).length > slots);
  const names = Object.keys(STATE_STYLE);
  if (coarse) {
    const width = (T - w0) / slots, code = new Map(names.map((s, i) => [s, i]));
    const rows = units.map((u) => dominantStates(segs.get(u), w0, T, slots));
    const n = names.length, scale = [];
    names.forEach((s, i) => { scale.push([i / n, COARSE_COLOURS[s]], [(i + 1) / n, COARSE_COLOURS[s]]); });
    const heat = {
      type: "heatmap", showscale: false, showlegend: false, zmin: -0.5, zmax: n - 0.5, colorscale: scale,
      x: Array.from({ length: slots }, (_, k) => (w0 + (k + 0.5) * width) / HOUR),
      y: units.map((u) => run.unitLabel(u) + suffix), z: rows.map((r) => r.map((s) => (s === null ? null : code.get(s)))),
      customdata: rows.map((r) => r.map((s) => s || "")), hovertemplate: "%{y}: %{customdata} (most of this slot)<extra></extra>",
    };
    const seen = new Set(rows.flat());
    const legend = names.filter((s) => seen.has(s)).map((s) => ({ type: "bar", orientation: "h", name: s, x: [null], y: [null], marker: { color: COARSE_COLOURS[s], line: { color: "#6b6b6b", width: 1 } }, hoverinfo: "skip" }));
    const traces = [heat, ...legend];
    traces.coarse = true;
    return traces;
  }
  const byState = new Map(names.map((s) => [s, { x: [], base: [], y: [] }]));
  for (const u of units) {
    for (const [a, b, s] of segs.get(u)) {
      if (!byState.has(s)) byState.set(s, { x: [], base: [], y: [] });
      const tr = byState.get(s);
      tr.base.push(a / HOUR);
      tr.x.push((b - a) / HOUR);
      tr.y.push(run.unitLabel(u) + suffix);
    }
  }
  const traces = [...byState].filter(([, tr]) => tr.x.length).map(([s, tr]) => {
    const st = STATE_STYLE[s] || { colour: "#999", pattern: "" };
    return {
      type: "bar", orientation: "h", name: s, x: tr.x, base: tr.base, y: tr.y,
      marker: { color: st.colour, line: s === "off" ? { color: "#9a9a9a", width: 0.5 } : { width: 0 }, pattern: { shape: st.pattern, fgcolor: "#3a3a3a", size: 6, solidity: 0.25 } },
      hovertemplate: `${s}<extra></extra>`,
    };
  });
  traces.coarse = false;
  return traces;
}

function renderGantt(run, T) {
  const w0 = windowStart(T), traces = ganttTraces(run, T, w0), win = windowShapes(run, w0, T);
  document.getElementById("gantt-note").textContent = traces.coarse
    ? `long window: each of ${MAX_SEGMENTS} slots per unit shows the state that took most of it` : "";
  Plotly.react("gantt", traces, {
    ...BASE_LAYOUT, ...win, barmode: "overlay", margin: { l: 130, r: 20, t: 24, b: 80 },
    xaxis: timeAxis(w0, T), yaxis: axisTitle("unit (station #server)", { autorange: "reversed" }),
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
  return thin(x, y, w0 / HOUR, T / HOUR);
}

// A long series cut to what the chart can show: per slot of MAX_SEGMENTS slots over the
// window, its first, lowest, highest and last points (in time order), so every peak and dip
// stays visible.
function thin(x, y, x0, x1) {
  if (x.length <= 4 * MAX_SEGMENTS) return { x, y };
  const width = (x1 - x0) / MAX_SEGMENTS, ox = [], oy = [];
  let i = 0;
  while (i < x.length) {
    const slot = Math.floor((x[i] - x0) / width);
    let j = i, lo = i, hi = i;
    while (j < x.length && Math.floor((x[j] - x0) / width) === slot) {
      if (y[j] < y[lo]) lo = j;
      if (y[j] > y[hi]) hi = j;
      j++;
    }
    for (const k of [...new Set([i, lo, hi, j - 1])].sort((a, b) => a - b)) { ox.push(x[k]); oy.push(y[k]); }
    i = j;
  }
  return { x: ox, y: oy };
}

function panel(id, shown) {
  const box = document.getElementById(id).closest(".panel");
  box.hidden = !shown;
  return shown;
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
    if (!info.queue_curve) continue;
    const v = Math.max(0, (level.get(st) || 0) + d);
    level.set(st, v);
    if (!series.has(st)) series.set(st, []);
    series.get(st).push([et[i], v]);
  }
  const traces = [];
  let k = 0;
  for (const [st, pts] of series) {
    const s = stepSeries(pts, w0, T);
    traces.push({ type: "scatter", mode: "lines", line: { shape: "hv", color: GREYS[k++ % GREYS.length] }, name: `${st} queue [parts]`, x: s.x, y: s.y });
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
    traces.push({ type: "scatter", mode: "lines", yaxis: series.size ? "y2" : "y", line: { shape: "hv", color: GREYS[k++ % GREYS.length], dash: "dot" }, name: `${st} [kg]`, x: s.x, y: s.y });
  }
  if (!panel("levels", traces.length > 0)) return;
  const layout = { ...BASE_LAYOUT, ...windowShapes(run, w0, T), xaxis: timeAxis(w0, T) };
  if (series.size) {
    layout.yaxis = axisTitle("parts waiting [parts]", { rangemode: "tozero" });
    if (tanks.size) layout.yaxis2 = axisTitle("tank content [kg]", { overlaying: "y", side: "right", rangemode: "tozero" });
  } else layout.yaxis = axisTitle("tank content [kg]", { rangemode: "tozero" });
  Plotly.react("levels", traces, layout, PLOT_CONFIG);
}

// Utility load against capacity: heat and power in kW (left axis), media in m3/h (right).
function renderUtility(run, T) {
  const w0 = windowStart(T);
  const ut = run.col("utility_load", "time"), un = run.col("utility_load", "utility"), ul = run.col("utility_load", "load");
  const per = new Map();
  for (let i = 0; i < ut.length; i++) {
    if (!per.has(un[i])) per.set(un[i], []);
    per.get(un[i]).push([ut[i], ul[i]]);
  }
  const utilities = run.meta.layout.utilities || {};
  if (!panel("utility", Object.keys(utilities).length > 0 || per.size > 0)) return;
  const traces = [];
  let k = 0, media = false, power = false;
  for (const [name, pts] of per) {
    const info = utilities[name] || {};
    const scale = info.medium ? 3600 : 1e-3, unit = info.medium ? "m3/h" : "kW", axis = info.medium ? "y2" : "y";
    media = media || info.medium; power = power || !info.medium;
    const s = stepSeries(pts, w0, T);
    const colour = GREYS[k++ % GREYS.length];
    traces.push({ type: "scatter", mode: "lines", yaxis: axis, line: { shape: "hv", color: colour }, name: `${name} [${unit}]`, x: s.x, y: s.y.map((v) => v * scale) });
    if (info.capacity) {
      const over = s.y.some((v) => v > info.capacity * (1 + 1e-9));
      traces.push({ type: "scatter", mode: "lines", yaxis: axis, line: { color: over ? "#c62828" : colour, dash: "dash" }, name: `${name} capacity [${unit}]`, x: [w0 / HOUR, T / HOUR], y: [info.capacity * scale, info.capacity * scale] });
    }
  }
  const layout = { ...BASE_LAYOUT, ...windowShapes(run, w0, T), xaxis: timeAxis(w0, T) };
  if (media && !power) layout.yaxis = axisTitle("media flow [m3/h]", { rangemode: "tozero" });
  else {
    layout.yaxis = axisTitle("heat or power [kW]", { rangemode: "tozero" });
    if (media) layout.yaxis2 = axisTitle("media flow [m3/h]", { overlaying: "y", side: "right", rangemode: "tozero" });
  }
  if (!traces.length) layout.annotations = [...layout.annotations, { text: "no utility drawn yet in this window", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }];
  Plotly.react("utility", traces, layout, PLOT_CONFIG);
}


// Batch profiles in the time window: the last six phases that overlap [w0, T], cut to it.
function renderProfiles(run, T) {
  const cols = run.t.profiles || {};
  const time = cols.time || [], traces = [];
  if (!panel("profiles", time.length > 0 || (run.meta.layout.stations && Object.values(run.meta.layout.stations).some((s) => s.profiles)))) return;
  const w0 = windowStart(T), idx = [];
  for (let i = 0; i < time.length; i++) {
    const t = time[i];
    if (t && t.length && t[0] <= T && t[t.length - 1] >= w0) idx.push(i);
  }
  let k = 0;
  for (const i of idx.slice(-6)) {
    const label = `${run.stationName(cols.station[i])} ${cols.phase[i]} batch ${cols.part[i]}`;
    const keep = time[i].map((t) => t <= T && t >= w0);
    const x = time[i].filter((_, j) => keep[j]).map((t) => t / HOUR);
    const colour = GREYS[k++ % GREYS.length];
    if (cols.temperature_K && cols.temperature_K[i]) traces.push({ type: "scatter", mode: "lines", name: `${label} T [degC]`, x, y: cols.temperature_K[i].filter((_, j) => keep[j]).map((v) => v - 273.15), line: { color: colour } });
    if (cols.conversion && cols.conversion[i]) traces.push({ type: "scatter", mode: "lines", yaxis: "y2", name: `${label} conversion [-]`, x, y: cols.conversion[i].filter((_, j) => keep[j]), line: { color: colour, dash: "dot" } });
  }
  const win = windowShapes(run, w0, T);
  Plotly.react("profiles", traces, { ...BASE_LAYOUT, ...win, xaxis: timeAxis(w0, T), yaxis: axisTitle("temperature [degC]"),
    yaxis2: axisTitle("conversion [-]", { overlaying: "y", side: "right", range: [0, 1] }),
    annotations: [...win.annotations, ...(traces.length ? [] : [{ text: "no batch phase in this time window", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }])] }, PLOT_CONFIG);
}


const NODE_COLOURS = { carrier: "#6b6b6b", plant: "#8f8f8f", unit: "#a9a9a9", loss: "#d0d0d0", inventory: "#bdbdbd", source: "#6b6b6b",
  output: "#7a7a7a", waste: "#c9a0a0", wastewater: "#c9a0a0", emission: "#c9a0a0", recovered: "#9a9a9a", destroyed: "#b0b0b0" };

function sankey(div, data) {
  const nodes = data.nodes, index = new Map(nodes.map((n, i) => [n, i]));
  const keep = data.links.filter((l) => l[2] > 0);
  const node = document.getElementById(div), key = nodes.join("\u0000");
  if (node.dataset.nodes !== key) { Plotly.purge(node); node.dataset.nodes = key; }  // new nodes: draw afresh
  Plotly.react(div, [{
    type: "sankey", arrangement: "snap", valueformat: ".4s", valuesuffix: ` ${data.unit}`,
    node: { label: nodes, pad: 12, thickness: 14, color: (data.kinds || []).map((k) => NODE_COLOURS[k] || "#9a9a9a"), line: { color: "#6b6b6b", width: 0.5 } },
    link: { source: keep.map((l) => index.get(l[0])), target: keep.map((l) => index.get(l[1])), value: keep.map((l) => l[2]), color: "rgba(110,110,110,0.35)" },
  }], { ...BASE_LAYOUT, margin: { l: 10, r: 10, t: 10, b: 10 } }, PLOT_CONFIG);
}

// Parts between stations of a discrete line over the observation window up to T (counts).
function partFlows(run, T) {
  const t0 = Math.min(run.meta.warmup || 0, T), links = new Map(), add = (a, b) => { const k = `${a}\u0000${b}`; links.set(k, (links.get(k) || 0) + 1); };
  const ev = run.meta.event_names, et = run.col("events", "time"), ek = run.col("events", "kind");
  const es = run.col("events", "station"), ep = run.col("events", "part");
  const created = ev.indexOf("created"), arrive = ev.indexOf("arrive"), exit = ev.indexOf("exit"), scrap = ev.indexOf("scrap");
  const where = new Map();
  for (let i = 0; i < et.length && et[i] <= T; i++) {
    const k = ek[i], st = run.stationName(es[i]);
    if (k === created) where.set(ep[i], st);
    else if (k === arrive || k === exit) {
      const prev = where.get(ep[i]);
      if (prev !== undefined && prev !== st && et[i] >= t0) add(prev, st);
      where.set(ep[i], st);
    } else if (k === scrap && et[i] >= t0) add(st, "scrap");
  }
  const out = [...links].map(([k, v]) => [...k.split("\u0000"), v]);
  const nodes = [...new Set(out.flatMap((l) => [l[0], l[1]]))];
  return { unit: "parts", nodes, kinds: nodes.map((n) => (n === "scrap" ? "waste" : "unit")), links: out, t0, t1: T };
}

// The Sankeys come from the server (twin.observation.sankey: the same numbers as the report),
// over the observation window; a live run's are fetched again at most every 5 s.
async function fetchSankeys(run) {
  const now = performance.now();
  if (ui.sankey && ui.sankey.run === run && (!run.meta.live || now - ui.sankey.at < 5000)) return ui.sankey.data;
  if (ui.sankeyPending) return ui.sankey ? ui.sankey.data : null;
  ui.sankeyPending = true;
  try {
    const url = run.meta.live ? "/api/live/sankey" : `/api/runs/${ui.source.slice(4).split("/").map(encodeURIComponent).join("/")}/sankey`;
    const data = await getJSON(url);
    ui.sankey = { run, at: performance.now(), data };
    return data;
  } finally { ui.sankeyPending = false; }
}

function renderFlows(run, T) {
  fetchSankeys(run).then((data) => {
    if (!data || ui.run !== run || ui.view !== "flows") return;
    const material = data.material && data.material.links.length ? data.material : partFlows(run, T);
    const caption = `observation window ${simTime(data.t0)} to ${simTime(data.t1)}`;
    document.getElementById("flows-window").textContent = caption;
    if (panel("sankey-material", material.links.length > 0)) sankey("sankey-material", material);
    if (panel("sankey-energy", Boolean(data.energy && data.energy.links.length))) sankey("sankey-energy", data.energy);
    window.twinState.flows = ui.source;
  }).catch((err) => { document.getElementById("flows-window").textContent = `Sankeys unavailable: ${err.message}`; });
  renderEmissions(run, T);
}

// Emissions: rate per species [kg/h] (the watched emission signals where recorded, else
// hourly from the flows), against the limits of the line's emission alarms.
function renderEmissions(run, T) {
  const w0 = windowStart(T), ft = run.col("flows", "time");
  const limits = (run.meta.layout.alarms || []).filter((a) => String(a.tag).startsWith("emission.") && typeof a.limit === "number");
  if (!panel("emissions", ft.length > 0 || limits.length > 0)) return;
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
    if (fk[i] !== "emission" || ft[i] < w0) continue;
    const sp = run.meta.species[fs[i]] ?? String(fs[i]);
    if (watched.has(sp)) continue;
    if (!hourly.has(sp)) hourly.set(sp, new Map());
    const h = Math.floor(ft[i] / HOUR), m = hourly.get(sp);
    m.set(h, (m.get(h) || 0) + kg[i]);
  }
  let k = 0;
  for (const [sp, pts] of watched) {
    const s = stepSeries(pts, w0, T);
    traces.push({ type: "scatter", mode: "lines", line: { shape: "hv", color: GREYS[k++ % GREYS.length] }, name: `${sp} [kg/h]`, x: s.x, y: s.y });
  }
  for (const [sp, m] of hourly) {
    const hours = [...m.keys()].sort((a, b) => a - b);
    traces.push({ type: "bar", marker: { color: GREYS[k++ % GREYS.length] }, name: `${sp} [kg/h, hourly]`, width: 1, x: hours.map((h) => h + 0.5), y: hours.map((h) => m.get(h)) });
  }
  for (const a of limits) {
    const over = traces.some((t) => t.name.startsWith(a.tag.slice(9) + " ") && t.y.some((v) => v >= a.limit * HOUR));
    traces.push({ type: "scatter", mode: "lines", line: { color: over ? "#c62828" : "#6b6b6b", dash: "dash" }, name: `limit ${a.name} (${a.tag}) [kg/h]`, x: [w0 / HOUR, T / HOUR], y: [a.limit * HOUR, a.limit * HOUR] });
  }
  const win = windowShapes(run, w0, T);
  Plotly.react("emissions", traces, { ...BASE_LAYOUT, ...win, barmode: "overlay", xaxis: timeAxis(w0, T), yaxis: axisTitle("emission rate [kg/h]", { rangemode: "tozero" }),
    annotations: [...win.annotations, ...(traces.length ? [] : [{ text: "no emissions in this time window", showarrow: false, xref: "paper", yref: "paper", x: 0.5, y: 0.5 }])] }, PLOT_CONFIG);
}

// Measured and twin (a shadow run's residuals table): the plant's value, the twin's prediction
// and the Kalman estimate of one monitored signal, in the unit people read it in; below, the
// detector statistic against its limit (standard deviations), with the residual alarms.
function renderResiduals(run, T) {
  const rt = run.col("residuals", "time"), rs = run.col("residuals", "signal");
  const select = document.getElementById("resid-signal");
  const signals = [...new Set(rs)].sort();
  if (!panel("resid-values", signals.length > 0)) return;
  if (select.options.length !== signals.length) {
    const keep = signals.includes(select.value) ? select.value : signals[0];
    select.replaceChildren(...signals.map((t) => el("option", { value: t }, t)));
    select.value = keep;
    select.onchange = () => render();
  }
  const tag = select.value, w0 = windowStart(T);
  const d = (run.meta.layout.signals || {})[tag] || { scale: 1, offset: 0, unit: "SI" };
  const cols = ["measured", "predicted", "estimate", "statistic", "limit", "alarm"].map((c) => run.col("residuals", c));
  const pick = { x: [], measured: [], predicted: [], estimate: [], statistic: [], limit: [], alarm: [] };
  for (let i = 0; i < rt.length && rt[i] <= T; i++) {
    if (rs[i] !== tag || rt[i] < w0) continue;
    pick.x.push(rt[i] / HOUR);
    ["measured", "predicted", "estimate", "statistic", "limit", "alarm"].forEach((c, k) => pick[c].push(cols[k][i]));
  }
  const shown = (v) => (typeof v === "number" ? v * d.scale + d.offset : null);
  const values = [
    { type: "scatter", mode: "markers", marker: { color: "#8a8a8a", size: 5 }, name: `measured [${d.unit}]`, x: pick.x, y: pick.measured.map(shown) },
    { type: "scatter", mode: "lines", line: { color: "#2e2e2e" }, name: `twin [${d.unit}]`, x: pick.x, y: pick.predicted.map(shown) },
  ];
  if (pick.estimate.some((v) => typeof v === "number")) {
    values.push({ type: "scatter", mode: "lines", line: { color: "#5e5e5e", dash: "dash" }, name: `estimate (Kalman) [${d.unit}]`, x: pick.x, y: pick.estimate.map(shown) });
  }
  Plotly.react("resid-values", values, { ...BASE_LAYOUT, xaxis: timeAxis(w0, T), yaxis: axisTitle(`${tag} [${d.unit}]`) }, PLOT_CONFIG);
  const alarms = pick.x.map((x, i) => (pick.alarm[i] ? i : -1)).filter((i) => i >= 0);
  const stat = [
    { type: "scatter", mode: "lines", line: { color: "#2e2e2e" }, name: "detector statistic [sd]", x: pick.x, y: pick.statistic },
    { type: "scatter", mode: "lines", line: { color: "#c62828", dash: "dash" }, name: "limit [sd]", x: pick.x, y: pick.limit },
    { type: "scatter", mode: "markers", marker: { color: "#c62828", symbol: "x", size: 9 }, name: "residual alarm", x: alarms.map((i) => pick.x[i]), y: alarms.map((i) => pick.statistic[i]) },
  ];
  Plotly.react("resid-stat", stat, { ...BASE_LAYOUT, xaxis: timeAxis(w0, T), yaxis: axisTitle("residual statistic [standard deviations]") }, PLOT_CONFIG);
  window.twinState.residuals = { signal: tag, points: pick.x.length, alarms: alarms.length };
}

// Forecasts (a shadow run's forecasts table): at each re-sync to the plant's state, the
// forecast end of each batch in process and the good output by the end of the shift and of
// the day, as the median with its prediction interval, against the time it was made.
function renderForecasts(run, T) {
  const ft = run.col("forecasts", "time"), kind = run.col("forecasts", "kind");
  if (!panel("fc-batches", ft.length > 0)) return;
  const item = run.col("forecasts", "item"), station = run.col("forecasts", "station");
  const [low, med, high] = ["low", "median", "high"].map((c) => run.col("forecasts", c));
  const w0 = windowStart(T), fin = (v) => typeof v === "number" && Number.isFinite(v);
  const groups = new Map();
  for (let i = 0; i < ft.length && ft[i] <= T; i++) {
    if (ft[i] < w0 || !fin(med[i]) || (kind[i] !== "batch_end" && kind[i] !== "output")) continue;
    const key = kind[i] === "batch_end" ? `batch end at ${station[i]}` : `good output by ${item[i]}`;
    if (!groups.has(key)) groups.set(key, { kind: kind[i], x: [], y: [], up: [], down: [], text: [] });
    const g = groups.get(key), scale = kind[i] === "batch_end" ? HOUR : 1;
    g.x.push(ft[i] / HOUR);
    g.y.push(med[i] / scale);
    g.up.push(fin(high[i]) ? (high[i] - med[i]) / scale : null);
    g.down.push(fin(low[i]) ? (med[i] - low[i]) / scale : null);
    g.text.push(item[i]);
  }
  const traces = (k, unit) => [...groups.entries()].filter(([, g]) => g.kind === k).map(([name, g], n) => ({
    type: "scatter", mode: "markers", marker: { color: GREYS[n % GREYS.length], size: 7 }, name: `${name} [${unit}]`,
    x: g.x, y: g.y, text: g.text, error_y: { type: "data", symmetric: false, array: g.up, arrayminus: g.down, color: GREYS[n % GREYS.length] } }));
  const batches = traces("batch_end", "h"), output = traces("output", "parts");
  Plotly.react("fc-batches", batches, { ...BASE_LAYOUT, xaxis: timeAxis(w0, T), yaxis: axisTitle("forecast batch end [h since the start]") }, PLOT_CONFIG);
  Plotly.react("fc-output", output, { ...BASE_LAYOUT, xaxis: timeAxis(w0, T), yaxis: axisTitle("forecast good output [parts]", { rangemode: "tozero" }) }, PLOT_CONFIG);
  window.twinState.forecasts = { batches: batches.reduce((n, t) => n + t.x.length, 0), output: output.reduce((n, t) => n + t.x.length, 0) };
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
  // panels that a line lacks are hidden before their neighbours are drawn (which then fill
  // the row)
  if (ui.view === "timelines") {
    // a shadow run's folder records residuals, not the line's units: no empty timelines
    const units = run.meta.live || (run.meta.units || []).length > 0;
    if (units) { panel("gantt", true); renderUtility(run, T); renderProfiles(run, T); renderGantt(run, T); renderLevels(run, T); }
    else for (const id of ["gantt", "utility", "profiles", "levels"]) panel(id, false);
    renderResiduals(run, T);
    renderForecasts(run, T);
  }
  if (ui.view === "flows") renderFlows(run, T);
  if (ui.view === "alarms") renderAlarms(run, T);
  document.querySelector('#tabs button[data-view="alarms"]').hidden = !hasAlarms(run);
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
    if (data.kpis) run.meta.kpis = data.kpis;
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

// A stored run's records come as one binary frame of the stream (typed arrays read in place:
// no base64 to decode, no numbers to parse).
async function getFrame(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return readFrame(await res.arrayBuffer());
}

async function loadStored(id) {
  const enc = id.split("/").map(encodeURIComponent).join("/");
  const [meta, rec] = await Promise.all([getJSON(`/api/runs/${enc}/meta`), getFrame(`/api/runs/${enc}/records?format=frame`)]);
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
  ui.sankey = null; ui.feedback = null; window.twinState.flows = null;
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
  out.replaceChildren(el("div", { class: "panel cmp" }, el("h2", {}, "KPIs (observation window)"), table), ...columns.map((c) => c.box));
  for (const { run, div } of columns) {
    const T = run.end, w0 = Math.max(0, T - 24 * HOUR);
    Plotly.react(div, ganttTraces(run, T, w0), { ...BASE_LAYOUT, barmode: "overlay", margin: { l: 130, r: 10, t: 10, b: 80 },
      xaxis: timeAxis(w0, T), yaxis: axisTitle("unit (station #server), last 24 h", { autorange: "reversed" }) }, PLOT_CONFIG);
  }
  // good units over the observation window (as the KPI table counts them)
  const curves = runs.map((run, i) => {
    const done = run.col("parts", "done"), fate = run.col("parts", "fate"), good = run.meta.fate_names.indexOf("good");
    const t = done.filter((d, j) => fate[j] === good && d !== null && d >= run.meta.warmup).sort((x, y) => x - y);
    return { type: "scatter", mode: "lines", line: { shape: "hv", color: i ? "#2e2e2e" : "#9a9a9a", dash: i ? "solid" : "dot" }, name: `${i ? "B" : "A"}: ${[a, b][i]}`, x: t.map((v) => v / HOUR), y: t.map((_, j) => j + 1) };
  });
  const c0 = Math.min(...runs.map((r) => r.meta.warmup || 0)), c1 = Math.max(...runs.map((r) => r.end));
  Plotly.react("cmp-curve", curves, { ...BASE_LAYOUT, xaxis: timeAxis(c0, c1), yaxis: axisTitle("good units since the warm-up [count]", { rangemode: "tozero" }) }, PLOT_CONFIG);
  compareSignals(runs, [a, b]);
  window.twinState.compared = [a, b];
}

// The signals both runs recorded (a plant run and its twin, two configurations), one at a
// time: A dotted, B solid, as step lines in the unit people read them in.
function signalSeries(run, tag) {
  const t = run.col("signals", "time"), g = run.col("signals", "tag"), v = run.col("signals", "value");
  const pts = [];
  for (let i = 0; i < t.length; i++) if (g[i] === tag) pts.push([t[i], v[i]]);
  return pts;
}

function compareSignals(runs, names) {
  const tags = runs.map((r) => new Set(r.col("signals", "tag")));
  const common = [...tags[0]].filter((t) => tags[1].has(t)).sort();
  const select = document.getElementById("cmp-signal");
  if (!panel("cmp-signal-plot", common.length > 0)) return;
  const keep = common.includes(select.value) ? select.value : common[0];
  select.replaceChildren(...common.map((t) => el("option", { value: t }, t)));
  select.value = keep;
  const draw = () => {
    const tag = select.value, d = (runs[1].meta.layout.signals || {})[tag] || { scale: 1, offset: 0, unit: "SI" };
    const c0 = Math.min(...runs.map((r) => r.meta.warmup || 0)), c1 = Math.max(...runs.map((r) => r.end));
    const traces = runs.map((run, i) => {
      const s = stepSeries(signalSeries(run, tag), c0, run.end);
      return { type: "scatter", mode: "lines", line: { shape: "hv", color: i ? "#2e2e2e" : "#9a9a9a", dash: i ? "solid" : "dot" },
        name: `${i ? "B" : "A"}: ${names[i]}`, x: s.x, y: s.y.map((y) => y * d.scale + d.offset) };
    });
    Plotly.react("cmp-signal-plot", traces, { ...BASE_LAYOUT, xaxis: timeAxis(c0, c1), yaxis: axisTitle(`${tag} [${d.unit}]`) }, PLOT_CONFIG);
    window.twinState.comparedSignal = tag;
  };
  select.onchange = draw;
  draw();
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
