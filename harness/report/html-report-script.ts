/**
 * The inline script of `index.html`: it renders the whole report in the browser from the run.json embedded in
 * `<script type="application/json" id="run-data">`. Plain browser JavaScript kept as text (no backticks and no
 * `${` in it: it lives in a template literal). Pure helpers are top-level functions, so unit tests can load the
 * same text in `node:vm` without a document; `boot()` runs only where a document exists.
 *
 * Every value printed goes through `esc()`: event payloads come from the system under test. Every field may be
 * absent: each section renders from what is there and says what is missing.
 * @internal
 */
export const REPORT_SCRIPT = String.raw`
"use strict";
var EVENT_ROW_LIMIT = 500;
var TEXT_LIMIT = 20000;
var PALETTE = ["#1f63b5", "#c0392b", "#1e8449", "#7d3c98", "#d35400", "#138d90", "#7b5e3b", "#c2185b", "#555555", "#8a8a00"];
var DASHES = ["", "8 4", "2 3", "10 3 2 3", "4 4", "1 3", "14 4", "6 2 2 2"];
var CHART = { width: 1000, height: 240, left: 64, right: 18, top: 22, bottom: 38 };
var reportErrors = [];

// ---- values -------------------------------------------------------------------------------------------------

function esc(value) {
  return String(value).replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}
function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
function obj(v) { return isObject(v) ? v : {}; }
function list(v) { return Array.isArray(v) ? v : []; }
function num(v) { return typeof v === "number" && isFinite(v) ? v : null; }
function text(v, fallback) {
  if (typeof v === "string" && v !== "") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return fallback === undefined ? "" : fallback;
}
function fmtNumber(v, digits) {
  var n = num(v);
  if (n === null) return "–";
  return n.toLocaleString("en-US", { maximumFractionDigits: digits === undefined ? 2 : digits });
}
function fmtDuration(ms) {
  var n = num(ms);
  if (n === null) return "–";
  if (Math.abs(n) < 1000) return Math.round(n) + " ms";
  if (Math.abs(n) < 120000) return (n / 1000).toFixed(1) + " s";
  var s = Math.round(n / 1000);
  return Math.floor(s / 60) + " min " + (s % 60) + " s";
}
function fmtOffset(seconds) {
  var n = num(seconds);
  return n === null ? "–" : "+" + n.toFixed(n < 100 ? 2 : 1) + " s";
}
function fmtTime(t) {
  var n = typeof t === "string" ? Date.parse(t) : num(t);
  if (n === null || !isFinite(n)) return "–";
  return new Date(n).toISOString().replace("T", " ").replace("Z", " UTC");
}
function toJson(value, limit) {
  var s;
  try { s = JSON.stringify(value, null, 2); } catch (e) { s = String(value); }
  if (s === undefined) s = String(value);
  var max = limit || TEXT_LIMIT;
  if (s.length > max) s = s.slice(0, max) + "\n… " + (s.length - max) + " more characters (see run.json)";
  return s;
}
function compactJson(value) {
  try { var s = JSON.stringify(value); return s === undefined ? String(value) : s; } catch (e) { return String(value); }
}
function shellQuote(s) {
  s = String(s);
  return /^[A-Za-z0-9_.,:\/=@%+-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'";
}

// ---- the run's data -----------------------------------------------------------------------------------------

/**
 * The earliest and latest time of the phases, samples and events (null when nothing has one). A plain loop:
 * Math.min.apply over every event time overflows the call stack on a big run.
 */
function timeRange(run) {
  var range = { min: Infinity, max: -Infinity };
  var add = function (t) { if (num(t) !== null) { if (t < range.min) range.min = t; if (t > range.max) range.max = t; } };
  var phases = list(run.phases);
  for (var i = 0; i < phases.length; i++) { add(obj(phases[i]).start); add(obj(phases[i]).end); }
  var samples = list(run.samples);
  for (var j = 0; j < samples.length; j++) add(obj(samples[j]).t);
  var events = list(run.events);
  for (var k = 0; k < events.length; k++) add(obj(events[k]).t);
  return range.min === Infinity ? null : range;
}

/** Start and end of the run in epoch ms, from the best field present (0..0 when nothing has a time). */
function timeBase(run) {
  var range;
  var times = function () { if (range === undefined) range = timeRange(run); return range; };
  var t0 = Date.parse(run.started_at);
  if (!isFinite(t0)) t0 = times() ? times().min : 0;
  var t1 = Date.parse(run.ended_at);
  if (!isFinite(t1) && num(run.duration_ms) !== null) t1 = t0 + run.duration_ms;
  if (!isFinite(t1)) t1 = times() ? times().max : t0;
  return { t0: t0, t1: Math.max(t1, t0 + 1) };
}

/** The exact CLI command that reruns this scenario with the same seed and options. */
function reproCommand(run) {
  var config = obj(run.config);
  var overrides = obj(config.overrides);
  var args = ["npm", "run", "scenario", "--", text(run.scenario, "SCENARIO")];
  var seed = num(run.seed) !== null ? run.seed : num(config.seed);
  if (seed !== null) args.push("--seed", String(seed));
  var profile = text(run.profile, text(config.profile));
  if (profile) args.push("--profile", profile);
  if (text(config.runtime)) args.push("--runtime", text(config.runtime));
  if (text(config.registry)) args.push("--registry", text(config.registry));
  if (num(overrides.instances) !== null) args.push("--instances", String(overrides.instances));
  if (num(overrides.clients) !== null) args.push("--clients", String(overrides.clients));
  if (num(overrides.duration_s) !== null) args.push("--duration", String(overrides.duration_s));
  var sut = obj(config.sut);
  if (text(sut.name) && sut.name !== "reference") args.push("--sut", "SUT.json");
  var env = Object.keys(obj(config.gateway_env)).map(function (k) { return k + "=" + String(config.gateway_env[k]); });
  return { command: args.map(shellQuote).join(" "), seedKnown: seed !== null, sut: text(sut.name), gatewayEnv: env };
}

function targetsOf(e) {
  if (Array.isArray(e.targets)) return e.targets.map(String);
  if (e.target !== undefined && e.target !== null) return [String(e.target)];
  return [];
}

/** Faults as intervals: each fault_start paired with the fault_end of the same fault id; unended ones run to tEnd. */
function faultIntervals(events, tEnd) {
  var open = {};
  var out = [];
  list(events).forEach(function (e) {
    if (!isObject(e) || e.source !== "fault" || num(e.t) === null) return;
    var key = text(e.fault_id) || text(e.description) || text(e.kind, "fault");
    if (e.type === "fault_start") {
      var started = { id: key, kind: text(e.kind, "fault"), targets: targetsOf(e), description: text(e.description), start: e.t, end: null, ok: null, open: false };
      open[key] = started;
      out.push(started);
    } else if (e.type === "fault_end") {
      var f = open[key];
      if (!f) {
        f = { id: key, kind: text(e.kind, "fault"), targets: targetsOf(e), description: text(e.description), start: num(e.duration_ms) !== null ? e.t - e.duration_ms : e.t, end: null, ok: null, open: false };
        out.push(f);
      }
      f.end = e.t;
      f.ok = e.ok === true ? true : e.ok === false ? false : null;
      if (e.error !== undefined) f.error = text(e.error, compactJson(e.error));
      delete open[key];
    }
  });
  out.forEach(function (f) { if (f.end === null) { f.end = Math.max(f.start, tEnd); f.open = true; } });
  return out;
}

/** Process events as marks: kill (SIGKILL), exit, crash (unexpected exit), stopping (signal sent), start. */
function processMarks(events) {
  var out = [];
  list(events).forEach(function (e) {
    if (!isObject(e) || e.source !== "process" || num(e.t) === null) return;
    var state = text(e.state, text(e.type, "?"));
    var exit = obj(e.exit);
    var kind = "other";
    var label = state;
    if (state === "stopped" || state === "exited") {
      if (exit.signal === "SIGKILL") { kind = "kill"; label = "killed (SIGKILL)"; }
      else if (exit.expected === false) { kind = "crash"; label = "exited unexpectedly (" + text(exit.signal, "code " + text(exit.code, "?")) + ")"; }
      else { kind = "exit"; label = "exited (" + text(exit.signal, "code " + text(exit.code, "?")) + ")"; }
    } else if (state === "stopping") { kind = "stop"; label = "stopping (signal sent)"; }
    else if (state === "started") { kind = "start"; label = "started" + (num(e.pid) !== null ? " (pid " + e.pid + ")" : ""); }
    else if (state === "starting") { kind = "starting"; label = "starting"; }
    out.push({ t: e.t, target: text(e.target, "?"), state: state, kind: kind, label: label });
  });
  return out;
}

/** Per-instance intervals while draining (stopping→stopped) and down (stopped→started). */
function downIntervals(marks, tEnd) {
  var state = {};
  var out = [];
  marks.forEach(function (m) {
    var s = state[m.target] || (state[m.target] = { drain: null, down: null });
    if (m.kind === "stop") s.drain = m.t;
    else if (m.kind === "kill" || m.kind === "exit" || m.kind === "crash") {
      if (s.drain !== null) out.push({ target: m.target, kind: "draining", start: s.drain, end: m.t });
      s.drain = null;
      s.down = m.t;
    } else if (m.kind === "start") {
      if (s.down !== null) out.push({ target: m.target, kind: "down", start: s.down, end: m.t });
      s.down = null;
    }
  });
  Object.keys(state).forEach(function (target) {
    if (state[target].down !== null && state[target].down < tEnd) out.push({ target: target, kind: "down", start: state[target].down, end: tEnd });
  });
  return out;
}

/** Every instance id the run mentions (topology, fleet, registry, process events), sorted naturally. */
function instanceIds(run) {
  var seen = {};
  list(obj(run.topology).instances).forEach(function (i) { if (text(obj(i).id)) seen[i.id] = true; });
  list(run.samples).forEach(function (s) {
    s = obj(s);
    Object.keys(obj(obj(s.fleet).by_instance)).forEach(function (k) { seen[k] = true; });
    Object.keys(obj(obj(s.registry).by_instance)).forEach(function (k) { seen[k] = true; });
  });
  list(run.events).forEach(function (e) { if (obj(e).source === "process" && text(e.target)) seen[e.target] = true; });
  return Object.keys(seen).sort(function (a, b) { return a.localeCompare(b, "en", { numeric: true }); });
}

/** One chart series from the samples: x in seconds since t0, y from pick(sample) (null leaves a gap). */
function sampleSeries(samples, t0, pick) {
  var out = [];
  list(samples).forEach(function (s) {
    if (!isObject(s)) return;
    var x = num(s.t) !== null ? (s.t - t0) / 1000 : num(s.elapsed_ms) !== null ? s.elapsed_ms / 1000 : null;
    if (x === null) return;
    var y = null;
    try { y = num(pick(s)); } catch (e) { y = null; }
    out.push({ x: x, y: y });
  });
  return out;
}

function niceStep(span, count) {
  var raw = span / Math.max(1, count);
  var step = Math.pow(10, Math.floor(Math.log10(raw)));
  var err = raw / step;
  if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
  return step;
}

/** Round tick values covering [min, max] (about count of them). */
function niceTicks(min, max, count) {
  if (!(max > min)) max = min + 1;
  var step = niceStep(max - min, count);
  var ticks = [];
  for (var i = Math.ceil(min / step); i * step <= max + step * 1e-9; i++) ticks.push(parseFloat((i * step).toPrecision(12)));
  return ticks;
}

/** A y scale from 0 to a round value at or above max, with its ticks. */
function niceScale(max, count) {
  var top = num(max) !== null && max > 0 ? max : 1;
  var step = niceStep(top, count);
  top = parseFloat((Math.ceil(top / step - 1e-9) * step).toPrecision(12));
  return { max: top, ticks: niceTicks(0, top, count) };
}

/**
 * Events matching a source ("!fleet": any source but fleet), a type and a case-insensitive text (each optional);
 * at most limit rows, with the count of all matches.
 */
/** Whether an event belongs to a source choice: "" any, "!fleet" any but fleet, else that source exactly. */
function sourceMatches(e, source) {
  if (!isObject(e)) return false;
  source = source || "";
  if (source.charAt(0) === "!") return e.source !== source.slice(1);
  return !source || e.source === source;
}

/**
 * Events matching a source (see sourceMatches), a type and a case-insensitive text (each optional); at most
 * limit rows, with the count of all matches. texts, when given, caches each event's lowercased JSON by index:
 * built the first time the text filter reaches that event, reused by every later call with the same array.
 */
function filterEvents(events, filter, limit, texts) {
  var source = filter.source || "";
  var type = filter.type || "";
  var needle = (filter.text || "").toLowerCase();
  var cache = Array.isArray(texts) ? texts : [];
  var all = list(events);
  var rows = [];
  var total = 0;
  for (var index = 0; index < all.length; index++) {
    var e = all[index];
    if (!sourceMatches(e, source)) continue;
    if (type && e.type !== type) continue;
    if (needle) {
      var haystack = cache[index];
      if (haystack === undefined) haystack = cache[index] = compactJson(e).toLowerCase();
      if (haystack.indexOf(needle) < 0) continue;
    }
    total++;
    if (rows.length < limit) rows.push({ index: index, event: e });
  }
  return { rows: rows, total: total };
}

/** Checks with the failed ones first, otherwise in recorded order. */
function sortChecks(checks) {
  return list(checks).filter(isObject).map(function (c, i) { return { c: c, i: i }; })
    .sort(function (a, b) { return (a.c.pass === true ? 1 : 0) - (b.c.pass === true ? 1 : 0) || a.i - b.i; })
    .map(function (x) { return x.c; });
}

function statusClass(status) {
  return ["passed", "failed", "error", "aborted"].indexOf(status) >= 0 ? status : "unknown";
}

// ---- SVG ----------------------------------------------------------------------------------------------------

function xScale(domain) {
  var w = CHART.width - CHART.left - CHART.right;
  var span = domain[1] - domain[0] || 1;
  return function (x) { return CHART.left + ((x - domain[0]) / span) * w; };
}

function linePath(points, sx, sy) {
  var d = "";
  var pen = false;
  points.forEach(function (p) {
    if (p.y === null) { pen = false; return; }
    d += (pen ? "L" : "M") + sx(p.x).toFixed(1) + " " + sy(p.y).toFixed(1);
    pen = true;
  });
  return d;
}

/** Closed shapes between two series sampled at the same x, over each stretch where both have values. */
function areaBetween(a, b, sx, sy) {
  var d = "";
  var run = [];
  function flush() {
    if (run.length > 1) {
      d += "M" + run.map(function (p) { return sx(p.x).toFixed(1) + " " + sy(p.a).toFixed(1); }).join("L");
      d += "L" + run.slice().reverse().map(function (p) { return sx(p.x).toFixed(1) + " " + sy(p.b).toFixed(1); }).join("L") + "Z";
    }
    run = [];
  }
  for (var i = 0; i < a.length && i < b.length; i++) {
    if (a[i].y === null || b[i].y === null) { flush(); continue; }
    run.push({ x: a[i].x, a: a[i].y, b: b[i].y });
  }
  flush();
  return d;
}

function hatchDefs(id) {
  return "<defs><pattern id=\"" + id + "\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">" +
    "<rect width=\"8\" height=\"8\" fill=\"#f6d7a7\" fill-opacity=\"0.45\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#c77c11\" stroke-width=\"2\" stroke-opacity=\"0.5\"/></pattern></defs>";
}

function faultBands(faults, sx, top, height, patternId) {
  return faults.map(function (f) {
    var x = sx(f.start);
    var w = Math.max(2, sx(f.end) - x);
    return "<rect class=\"fault-band\" data-fault=\"" + esc(f.id) + "\" x=\"" + x.toFixed(1) + "\" y=\"" + top + "\" width=\"" + w.toFixed(1) + "\" height=\"" + height + "\" fill=\"url(#" + patternId + ")\">" +
      "<title>" + esc(faultLabel(f)) + "</title></rect>";
  }).join("");
}

function faultLabel(f) {
  return f.kind + (f.targets.length ? " → " + f.targets.join(", ") : "") + (f.description ? " (" + f.description + ")" : "") + (f.open ? ", never ended" : "");
}

function xAxis(domain, sx, y) {
  return niceTicks(domain[0], domain[1], 10).map(function (t) {
    var x = sx(t).toFixed(1);
    return "<line class=\"grid\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + CHART.top + "\" y2=\"" + y + "\"/>" +
      "<text class=\"tick\" x=\"" + x + "\" y=\"" + (y + 14) + "\" text-anchor=\"middle\">" + esc(fmtNumber(t, 1)) + "</text>";
  }).join("") + "<text class=\"axis-title\" x=\"" + (CHART.width - CHART.right) + "\" y=\"" + (y + 30) + "\" text-anchor=\"end\">seconds since the run started</text>";
}

function seriesStyle(i) {
  return { color: PALETTE[i % PALETTE.length], dash: DASHES[i % DASHES.length] };
}

function legendSwatch(style, width) {
  return "<svg class=\"swatch\" width=\"34\" height=\"12\" aria-hidden=\"true\"><line x1=\"1\" y1=\"6\" x2=\"33\" y2=\"6\" stroke=\"" + style.color + "\" stroke-width=\"" + (width || 2.5) + "\"" +
    (style.dash ? " stroke-dasharray=\"" + style.dash + "\"" : "") + "/></svg>";
}

/**
 * A line chart over the run's time axis. spec: { id, title, unit, note, domain: [s0, s1], faults, series:
 * [{ name, points, style, width, kind }], area: { a, b, label } (optional shaded gap), markers: [{ x, label }]
 * (red ticks on the time axis) }.
 */
function lineChart(spec) {
  var series = spec.series.filter(function (s) { return s.points.some(function (p) { return p.y !== null; }); });
  var head = "<figure class=\"chart\" data-chart=\"" + esc(spec.id) + "\"><figcaption><b>" + esc(spec.title) + "</b> <span class=\"unit\">(" + esc(spec.unit) + ")</span>" +
    (spec.note ? "<span class=\"note\">" + esc(spec.note) + "</span>" : "") + "</figcaption>";
  if (series.length === 0) return head + "<p class=\"empty\">No data recorded for this chart.</p></figure>";
  var maxY = 0;
  series.forEach(function (s) { s.points.forEach(function (p) { if (p.y !== null && p.y > maxY) maxY = p.y; }); });
  var scale = niceScale(maxY, 4);
  var sx = xScale(spec.domain);
  var bottom = CHART.height - CHART.bottom;
  var plotH = bottom - CHART.top;
  var sy = function (v) { return bottom - (v / scale.max) * plotH; };
  var pattern = "hatch-" + spec.id;
  var svg = "<svg class=\"plot\" viewBox=\"0 0 " + CHART.width + " " + CHART.height + "\" role=\"img\" aria-label=\"" + esc(spec.title) + "\">" + hatchDefs(pattern);
  svg += faultBands(spec.faults || [], sx, CHART.top, plotH, pattern);
  svg += scale.ticks.map(function (t) {
    var y = sy(t).toFixed(1);
    return "<line class=\"grid\" x1=\"" + CHART.left + "\" x2=\"" + (CHART.width - CHART.right) + "\" y1=\"" + y + "\" y2=\"" + y + "\"/>" +
      "<text class=\"tick\" x=\"" + (CHART.left - 6) + "\" y=\"" + (sy(t) + 4).toFixed(1) + "\" text-anchor=\"end\">" + esc(fmtNumber(t)) + "</text>";
  }).join("");
  svg += phaseLines(spec.phases || [], sx, bottom);
  svg += xAxis(spec.domain, sx, bottom);
  svg += "<text class=\"axis-title\" transform=\"translate(14 " + (CHART.top + plotH / 2) + ") rotate(-90)\" text-anchor=\"middle\">" + esc(spec.unit) + "</text>";
  svg += "<line class=\"axis\" x1=\"" + CHART.left + "\" x2=\"" + CHART.left + "\" y1=\"" + CHART.top + "\" y2=\"" + bottom + "\"/><line class=\"axis\" x1=\"" + CHART.left + "\" x2=\"" + (CHART.width - CHART.right) + "\" y1=\"" + bottom + "\" y2=\"" + bottom + "\"/>";
  if (spec.area) svg += "<path class=\"gap-area\" d=\"" + areaBetween(spec.area.a, spec.area.b, sx, sy) + "\"><title>" + esc(spec.area.label) + "</title></path>";
  series.forEach(function (s) {
    svg += "<path class=\"series\" data-series=\"" + esc(s.name) + "\" data-kind=\"" + esc(s.kind || "") + "\" d=\"" + linePath(s.points, sx, sy) + "\" fill=\"none\" stroke=\"" + s.style.color +
      "\" stroke-width=\"" + (s.width || 2) + "\"" + (s.style.dash ? " stroke-dasharray=\"" + s.style.dash + "\"" : "") + "><title>" + esc(s.name) + "</title></path>";
  });
  (spec.markers || []).forEach(function (m) {
    var x = sx(m.x).toFixed(1);
    svg += "<path class=\"marker-bad\" d=\"M" + x + " " + (bottom - 8) + "l-4 8h8z\"><title>" + esc(m.label) + "</title></path>";
  });
  svg += hoverTargets(series, sx, sy, spec.unit);
  svg += "</svg>";
  var legend = series.map(function (s) { return "<li>" + legendSwatch(s.style, s.width) + esc(s.name) + "</li>"; });
  if ((spec.faults || []).length) legend.push("<li><span class=\"swatch-fault\"></span>fault in effect</li>");
  if (spec.area) legend.push("<li><span class=\"swatch-gap\"></span>" + esc(spec.area.label) + "</li>");
  if ((spec.markers || []).length) legend.push("<li><span class=\"swatch-bad\">▲</span>" + esc(spec.markerLabel || "no answer") + "</li>");
  return head + svg + "<ul class=\"legend\">" + legend.join("") + "</ul></figure>";
}

/** A dotted line where each phase starts, named when there is room. */
function phaseLines(phases, sx, bottom) {
  return phases.map(function (p, i) {
    var x = sx(p.start);
    var next = i + 1 < phases.length ? sx(phases[i + 1].start) : CHART.width - CHART.right;
    return "<line class=\"phase-line\" x1=\"" + x.toFixed(1) + "\" x2=\"" + x.toFixed(1) + "\" y1=\"" + (CHART.top - 16) + "\" y2=\"" + bottom + "\"><title>phase " + esc(p.name) + "</title></line>" +
      (next - x > 44 ? "<text class=\"phase-name\" x=\"" + (x + 3).toFixed(1) + "\" y=\"" + (CHART.top - 6) + "\">" + esc(clip(p.name, Math.floor((next - x) / 6))) + "</text>" : "");
  }).join("");
}

/** Invisible points with a tooltip (series, time, value), skipped for very long runs to keep the page light. */
function hoverTargets(series, sx, sy, unit) {
  var count = series.reduce(function (n, s) { return n + s.points.length; }, 0);
  if (count > 4000) return "";
  var out = "";
  series.forEach(function (s) {
    s.points.forEach(function (p) {
      if (p.y === null) return;
      out += "<circle class=\"hover\" cx=\"" + sx(p.x).toFixed(1) + "\" cy=\"" + sy(p.y).toFixed(1) + "\" r=\"4\"><title>" +
        esc(s.name + " at " + fmtOffset(p.x) + ": " + fmtNumber(p.y) + " " + unit) + "</title></circle>";
    });
  });
  return out;
}

// ---- sections -----------------------------------------------------------------------------------------------

function field(label, value, raw) {
  return "<div class=\"field\"><dt>" + esc(label) + "</dt><dd>" + (raw ? value : esc(value)) + "</dd></div>";
}

function renderHeader(run, ctx) {
  var status = text(run.status, "unknown");
  var config = obj(run.config);
  var profile = obj(config.resolved_profile);
  var sut = obj(config.sut);
  var checks = list(run.checks).filter(isObject);
  var failed = checks.filter(function (c) { return c.pass !== true; }).length;
  var repro = reproCommand(run);
  var verdict = status === "passed" ? "PASSED" : status === "failed" ? "FAILED" : status === "error" ? "HARNESS ERROR" : status === "aborted" ? "ABORTED" : "UNKNOWN";
  var html = "<header class=\"verdict " + statusClass(status) + "\" id=\"verdict\" data-status=\"" + esc(status) + "\">";
  html += "<div class=\"verdict-line\"><span class=\"badge\">" + esc(verdict) + "</span><h1>" + esc(text(run.scenario, "unnamed scenario")) + "</h1>" +
    "<span class=\"exit\">exit code " + esc(text(run.exit_code, "–")) + "</span></div>";
  if (text(run.description)) html += "<p class=\"description\">" + esc(run.description) + "</p>";
  html += "<p class=\"checks-summary\">" + (checks.length === 0 ? "No checks recorded." : failed === 0 ? "All " + checks.length + " checks passed." : failed + " of " + checks.length + " checks failed.") + "</p>";
  if (isObject(run.error) || typeof run.error === "string") {
    var err = obj(run.error);
    html += "<div class=\"run-error\" id=\"run-error\"><b>The harness could not finish the run" + (text(err.code) ? " (" + esc(err.code) + ")" : "") + ":</b><pre>" + esc(text(err.message, text(run.error, compactJson(run.error)))) + "</pre></div>";
  }
  html += "<dl class=\"fields\">";
  html += field("seed", text(run.seed, "unknown"));
  html += field("profile", text(run.profile, text(config.profile, "–")));
  html += field("runtime", text(config.runtime, "–"));
  html += field("registry", text(config.registry, "–") + (text(config.redis) ? " (Redis " + config.redis + ")" : ""));
  html += field("duration", fmtDuration(run.duration_ms));
  html += field("started", fmtTime(run.started_at));
  html += field("instances × clients", text(profile.instances, "–") + " × " + text(profile.clients, "–"));
  html += field("system under test", text(sut.name, "–") + (text(sut.command) ? " — " + [sut.command].concat(list(sut.args)).join(" ") : ""));
  html += field("run id", text(run.run_id, "–"));
  html += "</dl>";
  html += "<div class=\"repro\"><span>Reproduce" + (repro.seedKnown ? "" : " (the seed was not recorded)") + ":</span><code id=\"repro-command\">" + esc(repro.command) + "</code><button type=\"button\" id=\"copy-repro\">copy</button></div>";
  if (repro.sut && repro.sut !== "reference") html += "<p class=\"note\">Replace SUT.json with the definition of the system under test “" + esc(repro.sut) + "”.</p>";
  if (repro.gatewayEnv.length) html += "<p class=\"note\">The gateways also ran with " + esc(repro.gatewayEnv.join(" ")) + " (set by the caller, not a CLI flag).</p>";
  html += renderFleetFigures(run);
  return html + "</header>";
}

function renderFleetFigures(run) {
  var f = obj(run.fleet_summary);
  if (Object.keys(f).length === 0) return "";
  var m = obj(f.messages);
  var lat = obj(f.latency);
  var pct = function (k) { var l = obj(lat[k]); return num(l.p50) === null ? "–" : fmtNumber(l.p50, 1) + " / " + fmtNumber(l.p99, 1) + " ms"; };
  return "<dl class=\"fields figures\">" +
    field("clients", text(f.clients, "–")) +
    field("welcomes / disconnects", fmtNumber(f.welcomes, 0) + " / " + fmtNumber(f.disconnects, 0)) +
    field("connect errors", fmtNumber(f.connectErrors, 0)) +
    field("messages sent / acked / errors", fmtNumber(m.sent, 0) + " / " + fmtNumber(m.acked, 0) + " / " + fmtNumber(m.errors, 0)) +
    field("delivered / received", fmtNumber(m.delivered, 0) + " / " + fmtNumber(m.received, 0)) +
    field("connect p50 / p99", pct("connect")) +
    field("route ack p50 / p99", pct("ack")) +
    field("delivery p50 / p99", pct("delivery")) +
    "</dl>";
}

function renderValue(value) {
  if (isObject(value)) {
    var keys = Object.keys(value);
    if (keys.length === 0) return "<span class=\"muted\">{}</span>";
    return "<table class=\"kv\">" + keys.map(function (k) {
      var v = value[k];
      var s = v !== null && typeof v === "object" ? compactJson(v) : String(v);
      var cell = s.length <= 120 ? "<code>" + esc(s) + "</code>" : "<pre>" + esc(toJson(v, 4000)) + "</pre>";
      return "<tr><th>" + esc(k) + "</th><td>" + cell + "</td></tr>";
    }).join("") + "</table>";
  }
  if (value === undefined) return "<span class=\"muted\">–</span>";
  var s = typeof value === "string" ? value : compactJson(value);
  return s.length <= 120 ? "<code>" + esc(s) + "</code>" : "<pre>" + esc(toJson(value)) + "</pre>";
}

function renderChecks(run) {
  var checks = sortChecks(run.checks);
  var html = "<h2>Checks</h2>";
  if (checks.length === 0) return html + "<p class=\"empty\" id=\"no-checks\">No checks were recorded" + (run.error ? " (the run ended with a harness error before the checks)." : ".") + "</p>";
  html += "<table class=\"checks\"><thead><tr><th>result</th><th>check</th><th>expected</th><th>actual</th></tr></thead><tbody>";
  checks.forEach(function (c) {
    var pass = c.pass === true;
    html += "<tr class=\"check " + (pass ? "pass" : "fail") + "\" data-check=\"" + esc(text(c.name, "?")) + "\" data-pass=\"" + pass + "\">" +
      "<td class=\"result\"><span class=\"pill " + (pass ? "pass" : "fail") + "\">" + (pass ? "✔ pass" : "✘ FAIL") + "</span></td>" +
      "<td class=\"name\"><b>" + esc(text(c.name, "(unnamed)")) + "</b>" + (num(c.duration_ms) !== null ? "<div class=\"muted\">" + esc(fmtDuration(c.duration_ms)) + "</div>" : "") + "</td>" +
      "<td>" + renderValue(c.expected) + "</td><td>" + renderValue(c.actual) + "</td></tr>";
    html += "<tr class=\"evidence-row " + (pass ? "pass" : "fail") + "\"><td></td><td colspan=\"3\"><details class=\"evidence\"" + (pass ? "" : " open") + "><summary>evidence</summary><pre>" +
      esc(toJson(c.evidence)) + "</pre></details></td></tr>";
  });
  return html + "</tbody></table>";
}

function renderTimeline(run, ctx) {
  var html = "<h2>Timeline</h2>";
  var phases = list(run.phases).filter(function (p) { return isObject(p) && num(p.start) !== null; });
  if (phases.length === 0 && ctx.faults.length === 0 && ctx.marks.length === 0) return html + "<p class=\"empty\">No phases, faults or process events were recorded.</p>";
  var lanes = [{ key: "phases", label: "phases" }, { key: "faults", label: "faults" }].concat(ctx.instances.map(function (id) { return { key: "instance", id: id, label: id }; }));
  var laneH = 30;
  var top = 6;
  var bottom = top + lanes.length * laneH;
  var height = bottom + 40;
  var t0 = ctx.t0;
  var sx = xScale(ctx.domain);
  var sec = function (t) { return sx((t - t0) / 1000); };
  var svg = "<svg class=\"plot timeline\" viewBox=\"0 0 " + CHART.width + " " + height + "\" role=\"img\" aria-label=\"timeline of phases, faults and processes\">" + hatchDefs("hatch-timeline");
  svg += xAxis(ctx.domain, sx, bottom);
  lanes.forEach(function (lane, i) {
    var y = top + i * laneH;
    svg += "<line class=\"lane\" x1=\"" + CHART.left + "\" x2=\"" + (CHART.width - CHART.right) + "\" y1=\"" + (y + laneH) + "\" y2=\"" + (y + laneH) + "\"/>" +
      "<text class=\"lane-label\" x=\"" + (CHART.left - 6) + "\" y=\"" + (y + laneH / 2 + 4) + "\" text-anchor=\"end\">" + esc(lane.label) + "</text>";
  });
  phases.forEach(function (p, i) {
    var x = sec(p.start);
    var end = num(p.end) !== null ? p.end : ctx.t1;
    var w = Math.max(1, sec(end) - x);
    svg += "<g class=\"phase\" data-phase=\"" + esc(text(p.name, "?")) + "\"><rect x=\"" + x.toFixed(1) + "\" y=\"" + (top + 3) + "\" width=\"" + w.toFixed(1) + "\" height=\"" + (laneH - 6) + "\" class=\"phase-band p" + (i % 2) + "\"><title>" +
      esc(text(p.name, "?") + ": " + fmtOffset((p.start - t0) / 1000) + " to " + fmtOffset((end - t0) / 1000)) + "</title></rect>" +
      (w > 34 ? "<text class=\"band-label\" x=\"" + (x + 4).toFixed(1) + "\" y=\"" + (top + laneH / 2 + 4) + "\">" + esc(clip(text(p.name, "?"), Math.floor(w / 7))) + "</text>" : "") + "</g>";
  });
  var rows = stackRows(ctx.faults);
  var rowH = (laneH - 6) / Math.max(1, rows.count);
  ctx.faults.forEach(function (f, i) {
    var x = sec(f.start);
    var w = Math.max(3, sec(f.end) - x);
    var y = top + laneH + 3 + rows.row[i] * rowH;
    svg += "<g class=\"fault\" data-fault=\"" + esc(f.id) + "\"><rect class=\"fault-bar" + (f.ok === false ? " bad" : "") + "\" x=\"" + x.toFixed(1) + "\" y=\"" + y.toFixed(1) + "\" width=\"" + w.toFixed(1) + "\" height=\"" + rowH.toFixed(1) + "\" fill=\"url(#hatch-timeline)\"><title>" +
      esc(faultLabel(f) + ": " + fmtOffset((f.start - t0) / 1000) + " to " + fmtOffset((f.end - t0) / 1000)) + "</title></rect>" +
      (w > 40 ? "<text class=\"band-label\" x=\"" + (x + 4).toFixed(1) + "\" y=\"" + (y + rowH / 2 + 4).toFixed(1) + "\">" + esc(clip(f.kind + " " + f.targets.join(","), Math.floor(w / 7))) + "</text>" : "") + "</g>";
  });
  ctx.downs.forEach(function (d) {
    var lane = ctx.instances.indexOf(d.target);
    if (lane < 0) return;
    var y = top + (lane + 2) * laneH + 8;
    var x = sec(d.start);
    svg += "<rect class=\"instance-" + d.kind + "\" x=\"" + x.toFixed(1) + "\" y=\"" + y + "\" width=\"" + Math.max(1, sec(d.end) - x).toFixed(1) + "\" height=\"" + (laneH - 16) + "\"><title>" +
      esc(d.target + " " + d.kind + ": " + fmtOffset((d.start - t0) / 1000) + " to " + fmtOffset((d.end - t0) / 1000)) + "</title></rect>";
  });
  ctx.marks.forEach(function (m) {
    var lane = ctx.instances.indexOf(m.target);
    if (lane < 0 || m.kind === "starting" || m.kind === "other") return;
    var y = top + (lane + 2) * laneH + laneH / 2;
    svg += "<g class=\"mark " + m.kind + "\" data-mark=\"" + m.kind + "\" transform=\"translate(" + sec(m.t).toFixed(1) + " " + y + ")\">" + markGlyph(m.kind) +
      "<title>" + esc(m.target + " " + m.label + " at " + fmtOffset((m.t - t0) / 1000)) + "</title></g>";
  });
  svg += "</svg>";
  html += "<figure class=\"chart\" data-chart=\"timeline\">" + svg + "<ul class=\"legend\"><li><span class=\"swatch-fault\"></span>fault interval</li>" +
    "<li><span class=\"glyph\">" + glyphSvg("kill") + "</span>killed (SIGKILL)</li><li><span class=\"glyph\">" + glyphSvg("stop") + "</span>stop signal sent</li>" +
    "<li><span class=\"glyph\">" + glyphSvg("exit") + "</span>exited</li><li><span class=\"glyph\">" + glyphSvg("crash") + "</span>exited unexpectedly</li><li><span class=\"glyph\">" + glyphSvg("start") + "</span>started</li>" +
    "<li><span class=\"swatch-down\"></span>instance down</li><li><span class=\"swatch-draining\"></span>draining</li></ul></figure>";
  html += renderFaultTable(ctx);
  return html;
}

function clip(s, n) { return s.length <= n ? s : s.slice(0, Math.max(1, n - 1)) + "…"; }

/** Assigns overlapping intervals to rows so that none overlap within a row. */
function stackRows(intervals) {
  var ends = [];
  var row = intervals.map(function (f) {
    for (var r = 0; r < ends.length; r++) if (ends[r] <= f.start) { ends[r] = f.end; return r; }
    ends.push(f.end);
    return ends.length - 1;
  });
  return { row: row, count: Math.max(1, ends.length) };
}

function markGlyph(kind) {
  if (kind === "kill") return "<path d=\"M-6 -6L6 6M-6 6L6 -6\" class=\"glyph-kill\"/>";
  if (kind === "stop") return "<rect x=\"-4\" y=\"-4\" width=\"8\" height=\"8\" class=\"glyph-stop\"/>";
  if (kind === "exit") return "<circle r=\"5\" class=\"glyph-exit\"/>";
  if (kind === "crash") return "<path d=\"M0 -7L7 6H-7Z\" class=\"glyph-crash\"/>";
  return "<path d=\"M-5 -6L6 0L-5 6Z\" class=\"glyph-start\"/>";
}
function glyphSvg(kind) { return "<svg width=\"16\" height=\"16\" viewBox=\"-8 -8 16 16\" aria-hidden=\"true\">" + markGlyph(kind) + "</svg>"; }

function renderFaultTable(ctx) {
  var faultRow = function (f) {
    return "<tr class=\"fault-row\"><td>" + esc(fmtOffset((f.start - ctx.t0) / 1000)) + "</td><td>" + esc(f.open ? "never ended" : fmtOffset((f.end - ctx.t0) / 1000) + " (" + fmtDuration(f.end - f.start) + ")") +
      "</td><td><b>" + esc(f.kind) + "</b></td><td>" + esc(f.targets.join(", ") || "–") + "</td><td>" + esc(f.description) + (f.ok === false ? " <span class=\"pill fail\">failed</span>" : "") + (f.error ? " " + esc(f.error) : "") + "</td></tr>";
  };
  var head = "<thead><tr><th>start</th><th>end</th><th>kind</th><th>target</th><th>detail</th></tr></thead>";
  var html = ctx.faults.length
    ? "<table class=\"faults\">" + head + "<tbody>" + ctx.faults.map(faultRow).join("") + "</tbody></table>"
    : "<p class=\"empty\">No faults were injected.</p>";
  var marks = ctx.marks.filter(function (m) { return m.kind !== "starting" && m.kind !== "other"; });
  if (marks.length === 0) return html;
  return html + "<details class=\"table-details\"><summary>" + marks.length + " process events (start, stop signal, exit, kill)</summary><table class=\"faults\"><thead><tr><th>time</th><th>instance</th><th>event</th></tr></thead><tbody>" +
    marks.map(function (m) { return "<tr class=\"process-row\"><td>" + esc(fmtOffset((m.t - ctx.t0) / 1000)) + "</td><td>" + esc(m.target) + "</td><td><b>" + esc(m.kind) + "</b> " + esc(m.label) + "</td></tr>"; }).join("") +
    "</tbody></table></details>";
}

function renderCharts(run, ctx) {
  var samples = list(run.samples);
  var html = "<h2>Charts</h2>";
  if (samples.length === 0) return html + "<p class=\"empty\" id=\"no-samples\">No samples were recorded (the run ended before the first one).</p>";
  var t0 = ctx.t0;
  var faults = ctx.faults.map(function (f) { return { id: f.id, kind: f.kind, targets: f.targets, description: f.description, open: f.open, start: (f.start - t0) / 1000, end: (f.end - t0) / 1000 }; });
  var phases = list(run.phases).filter(function (p) { return isObject(p) && num(p.start) !== null; })
    .map(function (p) { return { name: text(p.name, "?"), start: (p.start - t0) / 1000 }; });
  var base = { domain: ctx.domain, faults: faults, phases: phases };
  var fleetOf = function (s) { return isObject(s.fleet) ? s.fleet : null; };
  var connections = ctx.instances.map(function (id, i) {
    // Equal counts draw lines on top of each other: earlier series are wider, so each stays visible under the next.
    return { name: id, kind: "instance", style: seriesStyle(i), width: Math.max(1.5, 2 + 1.75 * (Math.min(ctx.instances.length, 4) - 1 - i)), points: sampleSeries(samples, t0, function (s) { var f = fleetOf(s); return f ? (num(obj(f.by_instance)[id]) !== null ? f.by_instance[id] : 0) : null; }) };
  });
  html += lineChart(Object.assign({ id: "connections", title: "Connections per instance (as the clients see them)", unit: "connections", series: connections }, base));
  var live = sampleSeries(samples, t0, function (s) { var f = fleetOf(s); return f ? f.connected : null; });
  var records = sampleSeries(samples, t0, function (s) { return obj(s.registry).records; });
  var registryErrors = samples.filter(function (s) { return isObject(s) && isObject(s.registry) && s.registry.error !== undefined; })
    .map(function (s) { return { x: num(s.t) !== null ? (s.t - t0) / 1000 : num(s.elapsed_ms) / 1000, label: "registry unreadable: " + text(s.registry.error, "error") }; });
  html += lineChart(Object.assign({
    id: "registry", title: "Registry records vs live connections", unit: "count",
    note: registryNote(live, records),
    series: [
      { name: "live connections (clients)", kind: "live", style: { color: "#222222", dash: "" }, width: 3, points: live },
      { name: "records in Redis", kind: "records", style: seriesStyle(1), width: 2, points: records },
      { name: "session index members", kind: "index", style: { color: PALETTE[2], dash: DASHES[2] }, points: sampleSeries(samples, t0, function (s) { return obj(s.registry).session_index_members; }) },
      { name: "reverse index keys", kind: "index", style: { color: PALETTE[3], dash: DASHES[3] }, points: sampleSeries(samples, t0, function (s) { return obj(s.registry).reverse_keys; }) },
    ],
    area: { a: live, b: records, label: "records ≠ live connections (above the black line: ghosts; below: missing)" },
    markers: registryErrors, markerLabel: "registry could not be read",
  }, base));
  var rate = function (key) { return function (s) { return obj(s.rates)[key]; }; };
  html += lineChart(Object.assign({
    id: "rates", title: "Message rates", unit: "messages/s",
    series: [
      { name: "sent", style: seriesStyle(0), points: sampleSeries(samples, t0, rate("sent")) },
      { name: "acked", style: seriesStyle(2), points: sampleSeries(samples, t0, rate("acked")) },
      { name: "received", style: seriesStyle(3), points: sampleSeries(samples, t0, rate("received")) },
      { name: "errors", style: { color: "#c0392b", dash: "3 2" }, width: 3, points: sampleSeries(samples, t0, rate("errors")) },
    ],
  }, base));
  var pct = function (kind, p) { return function (s) { var f = fleetOf(s); return f ? obj(obj(f.latency)[kind])[p] : null; }; };
  html += lineChart(Object.assign({
    id: "latency", title: "Latency percentiles", unit: "ms", note: "cumulative since the fleet started",
    series: [
      { name: "connect p50", style: { color: PALETTE[0], dash: "" }, points: sampleSeries(samples, t0, pct("connect", "p50")) },
      { name: "connect p99", style: { color: PALETTE[0], dash: "8 4" }, points: sampleSeries(samples, t0, pct("connect", "p99")) },
      { name: "route ack p50", style: { color: PALETTE[4], dash: "" }, points: sampleSeries(samples, t0, pct("ack", "p50")) },
      { name: "route ack p99", style: { color: PALETTE[4], dash: "8 4" }, points: sampleSeries(samples, t0, pct("ack", "p99")) },
    ],
  }, base));
  var pingFailures = samples.filter(function (s) { return isObject(s) && s.redis_ping_ms === null; })
    .map(function (s) { return { x: num(s.t) !== null ? (s.t - t0) / 1000 : num(s.elapsed_ms) / 1000, label: "Redis did not answer PING" }; });
  html += lineChart(Object.assign({
    id: "redis-ping", title: "Redis PING round trip (direct, not through the proxy)", unit: "ms",
    series: [{ name: "PING", style: seriesStyle(5), points: sampleSeries(samples, t0, function (s) { return s.redis_ping_ms; }) }],
    markers: pingFailures, markerLabel: "no answer",
  }, base));
  return html;
}

function registryNote(live, records) {
  var last = null;
  for (var i = Math.min(live.length, records.length) - 1; i >= 0; i--) if (live[i].y !== null && records[i].y !== null) { last = i; break; }
  if (last === null) return "";
  var d = records[last].y - live[last].y;
  return "last sample: " + fmtNumber(live[last].y, 0) + " live, " + fmtNumber(records[last].y, 0) + " records" + (d > 0 ? " (" + d + " ghosts)" : d < 0 ? " (" + -d + " missing)" : " (equal)");
}

function renderBaseline(run) {
  if (run.baseline === undefined || run.baseline === null) return "";
  var b = obj(run.baseline);
  var html = "<h2>Baseline comparison</h2>";
  if (b.error !== undefined) return html + "<p class=\"run-error\">The baseline " + esc(text(b.path, "")) + " could not be read: " + esc(text(b.error, compactJson(b.error))) + "</p>";
  html += "<dl class=\"fields\">" + field("baseline run", text(b.run_id, "–")) + field("baseline seed", text(b.seed, "–")) + field("file", text(b.path, "–"));
  var ratio = num(b.duration_ratio);
  html += field("duration ratio", ratio === null ? "–" : fmtNumber(ratio) + "× the baseline's") + "</dl>";
  var regressions = list(b.regressions);
  var fixed = list(b.fixed);
  html += "<ul class=\"baseline-changes\">";
  html += regressions.length ? regressions.map(function (n) { return "<li class=\"regression\"><span class=\"pill fail\">regressed</span> " + esc(text(n, compactJson(n))) + " passed in the baseline and fails now</li>"; }).join("") : "<li>No check regressed.</li>";
  html += fixed.map(function (n) { return "<li class=\"fixed\"><span class=\"pill pass\">fixed</span> " + esc(text(n, compactJson(n))) + " failed in the baseline and passes now</li>"; }).join("");
  list(b.added).forEach(function (n) { html += "<li>new check: " + esc(text(n, compactJson(n))) + "</li>"; });
  list(b.removed).forEach(function (n) { html += "<li>check no longer run: " + esc(text(n, compactJson(n))) + "</li>"; });
  html += "</ul>";
  var lat = obj(b.latency_ratios);
  var kinds = Object.keys(lat);
  if (kinds.length) {
    html += "<table class=\"ratios\"><thead><tr><th>latency (this run ÷ baseline)</th><th>p50</th><th>p90</th><th>p99</th><th>max</th></tr></thead><tbody>" + kinds.map(function (k) {
      var r = obj(lat[k]);
      return "<tr><th>" + esc(k) + "</th>" + ["p50", "p90", "p99", "max"].map(function (p) { return "<td class=\"" + ratioClass(r[p]) + "\">" + (num(r[p]) === null ? "–" : esc(fmtNumber(r[p])) + "×") + "</td>"; }).join("") + "</tr>";
    }).join("") + "</tbody></table>";
  }
  var known = ["path", "run_id", "seed", "duration_ratio", "regressions", "fixed", "added", "removed", "latency_ratios"];
  var rest = {};
  Object.keys(b).forEach(function (k) { if (known.indexOf(k) < 0) rest[k] = b[k]; });
  if (Object.keys(rest).length) html += "<details><summary>more of the comparison</summary><pre>" + esc(toJson(rest)) + "</pre></details>";
  return html;
}

function ratioClass(v) { var n = num(v); return n === null ? "" : n >= 1.5 ? "worse" : n <= 0.67 ? "better" : ""; }

function renderEventsShell(run) {
  var events = list(run.events);
  var html = "<h2>Events</h2>";
  if (events.length === 0) return html + "<p class=\"empty\">No events were recorded.</p>";
  var sources = {};
  events.forEach(function (e) { if (isObject(e)) { var s = text(e.source, "?"); sources[s] = (sources[s] || 0) + 1; } });
  var fleet = sources.fleet || 0;
  // Fleet events are per client and drown the rest: the log opens on everything else when both exist.
  var quiet = fleet > 0 && fleet < events.length;
  html += "<div class=\"event-filter\"><label>source <select id=\"event-source\"><option value=\"\">all (" + events.length + ")</option>" +
    (quiet ? "<option value=\"!fleet\" selected>all but fleet (" + (events.length - fleet) + ")</option>" : "") +
    Object.keys(sources).sort().map(function (s) { return "<option value=\"" + esc(s) + "\">" + esc(s) + " (" + sources[s] + ")</option>"; }).join("") + "</select></label>" +
    "<label>type <select id=\"event-type\"></select></label><label>text <input id=\"event-text\" type=\"search\" placeholder=\"client, websocket id, target…\"></label></div>";
  html += "<p class=\"event-count\" id=\"event-count\"></p><div class=\"events-scroll\"><table class=\"events\"><thead><tr><th>time</th><th>source</th><th>type</th><th>subject</th><th>fields</th></tr></thead><tbody id=\"event-rows\"></tbody></table></div>";
  return html;
}

function eventSubject(e) {
  var parts = [];
  if (e.target !== undefined) parts.push(text(e.target, compactJson(e.target)));
  if (Array.isArray(e.targets)) parts.push(e.targets.join(","));
  if (e.client !== undefined) parts.push(text(e.client, compactJson(e.client)));
  if (e.instance_id !== undefined) parts.push("@" + text(e.instance_id, compactJson(e.instance_id)));
  if (e.phase !== undefined) parts.push(text(e.phase, compactJson(e.phase)));
  if (e.name !== undefined) parts.push(text(e.name, compactJson(e.name)));
  return parts.join(" ");
}

function eventRow(e, t0) {
  var rest = {};
  Object.keys(e).forEach(function (k) { if (["t", "source", "type", "target", "targets", "client", "instance_id", "phase", "name"].indexOf(k) < 0) rest[k] = e[k]; });
  var cls = /error|fail|kill|crash/i.test(text(e.type)) || e.ok === false || e.pass === false ? " class=\"bad\"" : "";
  var fields = compactJson(rest);
  if (fields.length > 600) fields = fields.slice(0, 600) + "…";
  return "<tr" + cls + "><td>" + esc(num(e.t) !== null ? fmtOffset((e.t - t0) / 1000) : "–") + "</td><td>" + esc(text(e.source, "?")) + "</td><td>" + esc(text(e.type, "?")) + "</td><td>" +
    esc(eventSubject(e)) + "</td><td><code>" + esc(fields === "{}" ? "" : fields) + "</code></td></tr>";
}

/** The copy button of the reproduce command; where the clipboard is refused, the command is selected instead. */
function wireCopy() {
  var button = document.getElementById("copy-repro");
  var code = document.getElementById("repro-command");
  if (!button || !code) return;
  button.addEventListener("click", function () {
    var select = function () { var range = document.createRange(); range.selectNodeContents(code); var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); button.textContent = "selected: press Ctrl+C"; };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(code.textContent).then(function () { button.textContent = "copied"; }, select);
    else select();
  });
}

function wireEvents(run, ctx) {
  var events = list(run.events);
  var source = document.getElementById("event-source");
  if (!source) return;
  var type = document.getElementById("event-type");
  var input = document.getElementById("event-text");
  var texts = [];
  var fillTypes = function () {
    var counts = {};
    var chosen = source.value;
    for (var i = 0; i < events.length; i++) {
      if (!sourceMatches(events[i], chosen)) continue;
      var t = text(events[i].type, "?");
      counts[t] = (counts[t] || 0) + 1;
    }
    var current = type.value;
    type.innerHTML = "<option value=\"\">all</option>" + Object.keys(counts).sort().map(function (t) { return "<option value=\"" + esc(t) + "\">" + esc(t) + " (" + counts[t] + ")</option>"; }).join("");
    type.value = counts[current] ? current : "";
  };
  var update = function () {
    var result = filterEvents(events, { source: source.value, type: type.value, text: input.value }, EVENT_ROW_LIMIT, texts);
    document.getElementById("event-rows").innerHTML = result.rows.map(function (r) { return eventRow(r.event, ctx.t0); }).join("");
    document.getElementById("event-count").textContent = result.total > result.rows.length
      ? "Showing the first " + result.rows.length + " of " + result.total + " matching events (" + events.length + " in all); narrow the filter to see others."
      : result.total + " matching event" + (result.total === 1 ? "" : "s") + " (" + events.length + " in all).";
  };
  var timer = null;
  source.addEventListener("change", function () { fillTypes(); update(); });
  type.addEventListener("change", update);
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 150); });
  fillTypes();
  update();
}

function renderConfig(run) {
  var topology = obj(run.topology);
  var html = "<h2>Configuration and topology</h2>";
  var instances = list(topology.instances).filter(isObject);
  html += "<details class=\"config\"><summary>topology: " + instances.length + " instance(s)" + (text(obj(topology.redis).url) ? ", Redis " + esc(topology.redis.url) : "") + "</summary>";
  if (instances.length) html += "<table><thead><tr><th>instance</th><th>port</th><th>http</th><th>proxies</th></tr></thead><tbody>" + instances.map(function (i) {
    return "<tr><td>" + esc(text(i.id, "?")) + "</td><td>" + esc(text(i.port, "–")) + "</td><td>" + esc(text(i.http, "–")) + "</td><td>" + esc(list(i.proxies).join(", ")) + "</td></tr>";
  }).join("") + "</tbody></table>";
  html += "<pre>" + esc(toJson(topology)) + "</pre></details>";
  html += "<details class=\"config\"><summary>configuration (resolved flags and profile)</summary><pre>" + esc(toJson(run.config === undefined ? {} : run.config)) + "</pre></details>";
  var plan = list(run.plan);
  html += "<details class=\"config\"><summary>plan: " + plan.length + " seeded step(s)</summary><ol class=\"plan\">" + plan.map(function (p) { return "<li><code>" + esc(compactJson(p)) + "</code></li>"; }).join("") + "</ol></details>";
  if (run.fleet_summary !== undefined) html += "<details class=\"config\"><summary>fleet summary</summary><pre>" + esc(toJson(run.fleet_summary)) + "</pre></details>";
  html += renderLastMetrics(run);
  return html;
}

function renderLastMetrics(run) {
  var samples = list(run.samples).filter(isObject);
  var last = samples.length ? obj(samples[samples.length - 1].gateways) : {};
  var ids = Object.keys(last);
  if (ids.length === 0) return "";
  var names = {};
  ids.forEach(function (id) { Object.keys(obj(obj(last[id]).metrics)).forEach(function (n) { names[n] = true; }); });
  var rows = Object.keys(names).sort().map(function (n) {
    return "<tr><th><code>" + esc(n) + "</code></th>" + ids.map(function (id) { return "<td>" + esc(fmtNumber(obj(obj(last[id]).metrics)[n], 4)) + "</td>"; }).join("") + "</tr>";
  });
  return "<details class=\"config\"><summary>gateway metrics at the last sample</summary><table class=\"metrics\"><thead><tr><th>series</th>" + ids.map(function (id) {
    return "<th>" + esc(id) + (obj(last[id]).up === false ? " (down)" : "") + "</th>";
  }).join("") + "</tr></thead><tbody>" + rows.join("") + "</tbody></table></details>";
}

// ---- boot ---------------------------------------------------------------------------------------------------

/** Renders one section; a section that throws shows its error instead of taking the page down. */
function section(id, render) {
  try {
    var html = render();
    return html ? "<section id=\"" + id + "\">" + html + "</section>" : "";
  } catch (e) {
    reportErrors.push(id + ": " + (e && e.stack ? e.stack : String(e)));
    return "<section id=\"" + id + "\"><p class=\"run-error\">This section could not be rendered: " + esc(String(e)) + "</p></section>";
  }
}

function readRun() {
  var node = document.getElementById("run-data");
  try {
    var data = JSON.parse(node ? node.textContent : "null");
    return isObject(data) ? data : {};
  } catch (e) {
    reportErrors.push("run data: " + String(e));
    return {};
  }
}

function finish() {
  var marker = document.getElementById("report-status");
  if (!marker) return;
  marker.setAttribute("data-status", reportErrors.length ? "error" : "ok");
  marker.textContent = reportErrors.join("\n");
  if (reportErrors.length) marker.hidden = false;
}

function boot() {
  window.addEventListener("error", function (event) { reportErrors.push("script: " + event.message); finish(); });
  var run = readRun();
  var base = timeBase(run);
  var marks = processMarks(run.events);
  var ctx = {
    t0: base.t0, t1: base.t1, domain: [0, (base.t1 - base.t0) / 1000],
    faults: faultIntervals(run.events, base.t1), marks: marks, downs: downIntervals(marks, base.t1), instances: instanceIds(run),
  };
  document.title = text(run.scenario, "run") + " " + text(run.status, "unknown") + " (" + text(run.run_id, "no run id") + ")";
  var html = section("header", function () { return renderHeader(run, ctx); }) +
    section("checks", function () { return renderChecks(run); }) +
    section("timeline", function () { return renderTimeline(run, ctx); }) +
    section("charts", function () { return renderCharts(run, ctx); }) +
    section("baseline", function () { return renderBaseline(run); }) +
    section("events", function () { return renderEventsShell(run); }) +
    section("config", function () { return renderConfig(run); });
  document.getElementById("app").innerHTML = html;
  try { wireEvents(run, ctx); } catch (e) { reportErrors.push("events: " + String(e)); }
  try { wireCopy(); } catch (e) { reportErrors.push("copy: " + String(e)); }
  finish();
}

if (typeof document !== "undefined") boot();
`;
