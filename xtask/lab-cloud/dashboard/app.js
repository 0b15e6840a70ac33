// The dashboard's page: asks /api/metrics twice a second and draws what it says, every figure as text (with what it
// means and the chapter that covers it) and a few as plain SVG charts. No library: the page must work offline, and
// a line chart of a minute of samples is a few dozen lines.
"use strict";

const POLL_MS = 500;
const HISTORY = 120; // samples kept for the charts: 60 s
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = ["#3b7dd8", "#d8643b", "#2e9e6a", "#9b59b6", "#c9a227", "#16a2b8", "#7f8c8d", "#e84393"];

const CH = {
  arch: "Architecture: AWS's limits",
  s2: "Step 2: the producer Lambda",
  s3: "Step 3: the consumer Lambda",
  s4: "Step 4: Firehose to S3",
  s5: "Step 5: real-time analysis",
  s6: "Step 6: watch it and scale it",
  trouble: "Troubleshooting",
};

const history = []; // {t, shards: {id: {rate, throttled}}, ages: {function: ms}}
let lastError = null;

const n = (x) => (x === null || x === undefined ? "–" : Number(x).toLocaleString("en-US", { maximumFractionDigits: 1 }));
const bytes = (x) => {
  if (x === null || x === undefined) return "–";
  if (x >= 1048576) return (x / 1048576).toFixed(2) + " MiB";
  if (x >= 1024) return (x / 1024).toFixed(1) + " KiB";
  return x.toFixed(0) + " B";
};
const el = (tag, attrs = {}, text) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
};
const svg = (tag, attrs = {}) => {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
};

// One figure: its label, its value as text (data-value holds the number, for tests), a one-line explanation and the
// chapter. `fill` (0..1) draws a bar against a limit.
function figure(id, label, value, text, why, chapter, options = {}) {
  const box = el("div", { class: "figure" + (options.level ? " " + options.level : "") });
  box.append(el("dt", {}, label));
  const dd = el("dd", { "data-figure": id, "data-value": String(value ?? 0) }, text);
  if (options.small) dd.classList.add("small");
  box.append(dd);
  if (options.fill !== undefined && options.fill !== null) {
    const bar = el("div", { class: "bar" + (options.fill >= 0.999 ? " hot" : "") });
    bar.append(el("span", { style: `width:${Math.min(100, options.fill * 100).toFixed(1)}%` }));
    box.append(bar);
  }
  const note = el("div", { class: "why" }, why + " ");
  note.append(el("span", { class: "chapter" }, "(" + chapter + ")"));
  box.append(note);
  return box;
}

function fill(list, nodes) {
  list.replaceChildren(...nodes);
}

function drawTotals(m) {
  const t = m.totals;
  const rate = m.shards.reduce((sum, s) => sum + s.records_per_s, 0);
  // Only open shards take writes: a reshard's closed parents add nothing to the capacity.
  const open = m.shards.filter((s) => !s.closed).length;
  const capacity = m.limits.write_records_per_s ? m.limits.write_records_per_s * open : null;
  fill(document.getElementById("totals"), [
    figure("totals.produced", "produced", t.produced, n(t.produced), "Records the stream accepted, all shards.", CH.s2),
    figure("totals.records_per_s", "incoming records/s", rate, n(rate) + (capacity ? " / " + n(capacity) : ""),
      "Writes per second into the stream, against its capacity (1,000 a shard).", CH.arch,
      { fill: capacity ? rate / capacity : null }),
    figure("totals.throttled", "throttled", t.throttled, n(t.throttled),
      "Records refused by a full shard (ProvisionedThroughputExceeded); the producer resends them.", CH.s2,
      { level: t.throttled > 0 ? "warn" : "" }),
    figure("totals.consumed", "consumed", t.consumed, n(t.consumed),
      "Records the consumer's event source mapping finished.", CH.s3),
    figure("totals.given_up", "given up", t.given_up, n(t.given_up),
      "Records a mapping gave up on and sent to its on-failure destination.", CH.s3,
      { level: t.given_up > 0 ? "bad" : "" }),
    figure("totals.delivered", "delivered to S3", t.delivered, n(t.delivered), "Records Firehose wrote to S3.", CH.s4),
    figure("totals.iterator_age_ms", "iterator age (max)", t.iterator_age_ms, n(t.iterator_age_ms) + " ms",
      "How far the slowest mapping is behind the stream's tip; rising means it falls behind.", CH.s3,
      { level: t.iterator_age_ms > 10000 ? "warn" : "" }),
    figure("totals.windows_closed", "windows closed", t.windows_closed, n(t.windows_closed),
      "Tumbling windows the analysis closed (one per shard and window).", CH.s5),
  ]);
}

function drawShards(m) {
  const limits = m.limits;
  fill(document.getElementById("shards"), m.shards.map((s) => {
    const card = el("div", { class: s.closed ? "card closed" : "card", "data-shard": s.shard_id });
    const title = el("h3", {}, `${s.stream} / ${s.shard_id}`);
    if (s.closed) {
      // Closed by a reshard: it keeps its records, its readers finish it, then read its children.
      title.append(" ", el("span", { class: "badge", title: "Closed by a reshard: no more writes; read to its end, then its children" }, "closed"));
    }
    card.append(title);
    const list = el("dl", { class: "figures" });
    const key = "shard." + s.shard_id;
    list.append(
      figure(key + ".records_per_s", "records/s", s.records_per_s,
        n(s.records_per_s) + (limits.write_records_per_s ? " / " + n(limits.write_records_per_s) : " (no limit)"),
        "Accepted writes per second against the shard's 1,000.", CH.arch,
        { fill: limits.write_records_per_s ? s.records_per_s / limits.write_records_per_s : null }),
      figure(key + ".bytes_per_s", "bytes/s", s.bytes_per_s,
        bytes(s.bytes_per_s) + (limits.write_bytes_per_s ? " / " + bytes(limits.write_bytes_per_s) : ""),
        "Accepted bytes per second against the shard's 1 MiB.", CH.arch,
        { fill: limits.write_bytes_per_s ? s.bytes_per_s / limits.write_bytes_per_s : null }),
      figure(key + ".throttled_per_s", "throttled/s", s.throttled_per_s, n(s.throttled_per_s),
        "Records refused per second: the shard is at its limit.", CH.s2,
        { level: s.throttled_per_s > 0 ? "warn" : "" }),
      figure(key + ".writes_throttled", "throttled (total)", s.writes_throttled, n(s.writes_throttled),
        "Every refusal so far; each refused record is resent.", CH.s2),
      figure(key + ".records_accepted", "records accepted", s.records_accepted, n(s.records_accepted),
        "Records stored in this shard.", CH.s2),
      figure(key + ".read_calls", "GetRecords calls", s.read_calls, `${n(s.read_calls)} (${n(s.read_throttles)} refused)`,
        "Reads of every consumer; 5 calls/s and 2 MiB/s a shard, shared.", CH.arch,
        { level: s.read_throttles > 0 ? "warn" : "" }),
    );
    card.append(list);
    return card;
  }));
}

function drawMappings(m) {
  fill(document.getElementById("mappings"), m.mappings.map((x) => {
    const card = el("div", { class: "card" });
    const kind = x.tumbling_window_s ? `tumbling window ${x.tumbling_window_s} s` : `batch size ${x.batch_size}`;
    card.append(el("h3", {}, `${x.function} ← ${x.stream} (${kind})`));
    const list = el("dl", { class: "figures" });
    const key = "mapping." + x.function;
    const chapter = x.tumbling_window_s ? CH.s5 : CH.s3;
    list.append(
      figure(key + ".invocations", "invocations", x.invocations, `${n(x.invocations)} (${n(x.invocations_per_s)}/s)`,
        "Batches handed to the function.", chapter),
      figure(key + ".records_done", "records done", x.records_done, `${n(x.records_done)} (${n(x.records_per_s)}/s)`,
        "Records whose batch the function finished.", chapter),
      figure(key + ".iterator_age_ms", "iterator age", x.iterator_age_ms, n(x.iterator_age_ms) + " ms",
        "Milliseconds behind the stream's tip, per the last read.", CH.s3,
        { level: x.iterator_age_ms > 10000 ? "warn" : "" }),
      figure(key + ".function_errors", "function errors", x.function_errors, n(x.function_errors),
        "Invocations that failed as a whole; the batch is retried (or bisected).", CH.s3,
        { level: x.function_errors > 0 ? "warn" : "" }),
      figure(key + ".records_reported_failed", "batch item failures", x.records_reported_failed,
        n(x.records_reported_failed), "Records the function reported in batchItemFailures (each report counts).", CH.s3),
      figure(key + ".records_given_up", "given up", x.records_given_up, n(x.records_given_up),
        "Records sent to the on-failure destination after the retries.", CH.s3,
        { level: x.records_given_up > 0 ? "bad" : "" }),
    );
    if (x.bisects > 0) {
      list.append(figure(key + ".bisects", "bisects", x.bisects, n(x.bisects),
        "Batches split in two after a function error, to isolate the bad record.", CH.s3, { level: "warn" }));
    }
    if (x.tumbling_window_s) {
      list.append(figure(key + ".windows_closed", "windows closed", x.windows_closed, n(x.windows_closed),
        "Windows ended with a final invocation.", CH.s5));
    }
    card.append(list);
    return card;
  }));
}

function drawDeliveries(m) {
  fill(document.getElementById("deliveries"), m.deliveries.map((d) => {
    const card = el("div", { class: "card" });
    card.append(el("h3", {}, `${d.name} → s3://${d.bucket}/${d.prefix}`));
    const list = el("dl", { class: "figures" });
    const key = "delivery." + d.name;
    list.append(
      figure(key + ".buffered_bytes", "buffer", d.buffered_bytes,
        `${bytes(d.buffered_bytes)} / ${bytes(d.buffer_size_hint_bytes)}`,
        "Bytes waiting; an object is written when it reaches the size hint…", CH.s4,
        { fill: d.buffered_bytes / Math.max(1, d.buffer_size_hint_bytes) }),
      figure(key + ".buffer_age_s", "buffer age", d.buffer_age_s,
        `${n(d.buffer_age_s)} s / ${n(d.buffer_interval_hint_s)} s`,
        "…or when its first record is this old (the interval hint).", CH.s4,
        { fill: d.buffer_age_s / Math.max(0.001, d.buffer_interval_hint_s) }),
      figure(key + ".records", "records delivered", d.records, `${n(d.records)} (${n(d.records_per_s)}/s)`,
        "Records in the objects written.", CH.s4),
      figure(key + ".objects", "objects", d.objects, `${n(d.objects)} of ${bytes(d.mean_object_bytes)} on average`,
        "Objects written to S3 and their mean size: many small objects cost PUT requests and slow every query.", CH.s4),
      figure(key + ".bytes", "bytes stored", d.bytes, `${bytes(d.bytes)} (${bytes(d.raw_bytes)} as NDJSON, ${d.compression})`,
        "What S3 stores and bills, against the records before compression.", CH.s4),
      figure(key + ".latency_ms_p50", "put → S3", d.latency_ms_p50,
        `p50 ${n(Math.round(d.latency_ms_p50))} ms, p99 ${n(Math.round(d.latency_ms_p99))} ms`,
        "From a record's arrival in the stream to its object in S3: the buffering's price.", CH.s4),
    );
    const latest = figure(key + ".latest_key", "latest object", d.latest_key ? 1 : 0, d.latest_key || "none yet",
      "Prefix, then date and time of its oldest record.", CH.s4, { small: true });
    latest.style.gridColumn = "1 / -1";
    list.append(latest);
    card.append(list);
    return card;
  }));
}

// A line chart of the history: `series` is [{name, colour, values, dashed}], with an optional limit line.
function lineChart(node, series, limit, unit) {
  const W = 600, H = 150, L = 44, R = 8, T = 10, B = 20;
  const all = series.flatMap((s) => s.values).concat(limit ? [limit] : []);
  const max = Math.max(1, ...all) * 1.1;
  const x = (i) => L + (i / (HISTORY - 1)) * (W - L - R);
  const y = (v) => T + (1 - v / max) * (H - T - B);
  const parts = [svg("line", { x1: L, y1: y(0), x2: W - R, y2: y(0), stroke: "#ccc" })];
  const top = max / 1.1;
  for (const tick of top >= 4 ? [0, Math.round(top / 2), Math.round(top)] : [0, top]) {
    const label = svg("text", { x: L - 4, y: y(tick) + 3, "text-anchor": "end" });
    label.textContent = n(tick);
    parts.push(label);
  }
  if (limit) {
    parts.push(svg("line", { x1: L, y1: y(limit), x2: W - R, y2: y(limit), stroke: "#999", "stroke-dasharray": "4 3" }));
    const label = svg("text", { x: W - R, y: y(limit) - 3, "text-anchor": "end" });
    label.textContent = "limit " + n(limit) + " " + unit;
    parts.push(label);
  }
  series.forEach((s) => {
    const offset = HISTORY - s.values.length;
    const points = s.values.map((v, i) => `${x(i + offset).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
    const attrs = { points, fill: "none", stroke: s.colour, "stroke-width": 1.6 };
    if (s.dashed) attrs["stroke-dasharray"] = "3 2";
    parts.push(svg("polyline", attrs));
  });
  series.filter((s) => !s.dashed).forEach((s, i) => {
    const label = svg("text", { x: L + 6 + i * 130, y: H - 5, fill: s.colour });
    label.textContent = "■ " + s.name;
    label.style.fill = s.colour;
    parts.push(label);
  });
  node.replaceChildren(...parts);
}

function drawCharts(m) {
  const sample = { shards: {}, ages: {} };
  m.shards.forEach((s) => { sample.shards[s.shard_id] = { rate: s.records_per_s, throttled: s.throttled_per_s }; });
  m.mappings.forEach((x) => { sample.ages[x.function] = x.iterator_age_ms; });
  history.push(sample);
  if (history.length > HISTORY) history.shift();
  const shardIds = m.shards.map((s) => s.shard_id);
  const series = [];
  shardIds.forEach((id, i) => {
    const colour = COLOURS[i % COLOURS.length];
    series.push({ name: id.replace("shardId-", "shard "), colour, values: history.map((h) => h.shards[id]?.rate ?? 0) });
    series.push({ name: id, colour, dashed: true, values: history.map((h) => h.shards[id]?.throttled ?? 0) });
  });
  lineChart(document.getElementById("chart-shards"), series, m.limits.write_records_per_s, "records/s");
  const ages = m.mappings.map((x, i) => ({
    name: x.function, colour: COLOURS[i % COLOURS.length], values: history.map((h) => h.ages[x.function] ?? 0),
  }));
  lineChart(document.getElementById("chart-age"), ages, null, "ms");
}

// The analysis panel shows the picture step 5's own `heatmap` tool drew of the latest window (lab-cloud runs it, and
// `merge-window` before it). The page draws no grid of its own: a second copy of step 5's grid once drew the map
// upside down (issue #26). `shownPicture` is the address of the picture on the page; a new window has a new one.
let shownPicture = null;
let lastMetrics = null;

function mapNote(text, level) {
  const note = el("div", { class: "empty" + (level ? " " + level : ""), "data-note": level || "" }, text);
  document.getElementById("map").replaceChildren(note);
  shownPicture = null;
}

async function showPicture(url) {
  shownPicture = url;
  try {
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const text = await response.text();
    const parsed = new DOMParser().parseFromString(text, "image/svg+xml");
    const picture = parsed.documentElement;
    if (picture.nodeName !== "svg" || parsed.querySelector("parsererror")) throw new Error("not an SVG picture");
    // The picture is shown as step 5 drew it; only what could run in the page is left out.
    picture.querySelectorAll("script, foreignObject").forEach((node) => node.remove());
    if (shownPicture !== url) return; // a newer window came meanwhile
    picture.removeAttribute("height");
    picture.dataset.picture = url;
    document.getElementById("map").replaceChildren(document.importNode(picture, true));
    if (lastMetrics) drawMap(lastMetrics); // the busiest cells in the picture's words, now that it is here
  } catch (error) {
    console.error(`dashboard: ${url} failed: ${error.message}`);
    shownPicture = null;
  }
}

// A cell in words, as step 5's picture says it (its hover text, e.g. "30° N to 40° N, 120° E to 130° E"), so that
// the page never works out for itself where a row and a column are.
function cellInWords(cell) {
  const rect = document.querySelector(`#map rect.cell[data-row="${cell.row}"][data-column="${cell.column}"]`);
  const title = rect?.querySelector("title")?.textContent;
  return title ? title.replace(/:.*$/, "") : `row ${cell.row}, column ${cell.column}`;
}

function drawMap(m) {
  lastMetrics = m;
  const a = m.analysis;
  const list = document.getElementById("analysis");
  if (!a) {
    mapNote("no window closed yet");
    fill(list, [figure("analysis.count", "readings in the window", 0, "–",
      "The first window closes after the analysis' window length.", CH.s5)]);
    return;
  }
  if (a.heatmap) {
    if (a.heatmap !== shownPicture) showPicture(a.heatmap);
  } else {
    mapNote(a.not_drawn || "no picture", "bad");
  }
  const start = String(a.window?.start ?? "").replace("T", " ").replace(/\.\d+/, "");
  const end = String(a.window?.end ?? "").replace(/^.*T/, "").replace(/\.\d+/, "");
  const busiest = (a.busiest ?? []).slice(0, 3);
  fill(list, [
    figure("analysis.window", "window", 1, `${start} – ${end}`, "The latest window every shard has closed.", CH.s5,
      { small: true }),
    figure("analysis.count", "readings in the window", a.count ?? 0,
      `${n(a.count)} from ${a.shards.length} shard(s)`,
      "Each shard writes its own result; step 5's merge-window adds them up.", CH.s5),
    figure("analysis.cells", "cells with readings", a.cells?.length ?? 0, n(a.cells?.length),
      "10° cells, coloured by count (step 5's heat).", CH.s5),
    figure("analysis.busiest", "busiest cells", busiest.length,
      busiest.map((c) => `${cellInWords(c)}: ${n(c.count)}`).join("\n") || "–",
      "Where the most readings were, in step 5's words.", CH.s5, { small: true }),
    figure("analysis.anomalies", "anomalies", a.anomaly_count ?? 0, n(a.anomaly_count),
      "Readings implying an impossible speed: a glitch in the fleet (rings).", CH.s5,
      { level: a.anomaly_count > 0 ? "warn" : "" }),
  ]);
}

// Each alarm as its last change left it: ALARM in the warning colour, with CloudWatch's reason as its note.
function drawAlarms(m) {
  const alarms = m.alarms ?? [];
  const list = document.getElementById("alarms");
  if (alarms.length === 0) {
    fill(list, [figure("alarms.count", "alarms", 0, "none evaluated yet",
      "Step 6 puts two alarms on the stream; the first evaluation is a minute after they are made.", CH.s6,
      { small: true })]);
    return;
  }
  fill(list, alarms.map((a) => figure("alarm." + a.name, a.name, a.state === "ALARM" ? 1 : 0,
    `${a.state} since ${new Date(a.since_ms).toLocaleTimeString("en-GB")}`, a.reason, CH.s6,
    { level: a.state === "ALARM" ? "warn" : "" })));
}

function drawContext(m) {
  const node = document.getElementById("context");
  const context = m.context;
  if (context === null || context === undefined || (typeof context === "object" && Object.keys(context).length === 0)) {
    node.textContent = "no scenario or faults given";
    node.dataset.figure = "context";
    return;
  }
  const text = typeof context === "object"
    ? Object.entries(context).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(" · ")
    : String(context);
  node.replaceChildren(el("b", {}, "run: "), document.createTextNode(text));
  node.dataset.figure = "context";
}

function drawSummary(m) {
  const section = document.getElementById("summary-section");
  if (!m.summary) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const s = m.summary;
  const keys = [
    ["produced", "distinct records read back from the stream", CH.s2],
    ["duplicates_in_stream", "records stored twice (a call that timed out after it was stored, sent again)", CH.s2],
    ["never_stored", "records asked for that never reached the stream", CH.s2],
    ["throttled", "write entries the shards refused", CH.arch],
    ["retried", "records the producer sent again after a refusal", CH.s2],
    ["consumed", "records the consumer finished", CH.s3],
    ["failed", "records given up", CH.s3],
    ["delivered", "records of the stream found in S3", CH.s4],
    ["s3_objects", "objects Firehose wrote", CH.s4],
    ["s3_mean_object_bytes", "their mean size as stored, in bytes", CH.s4],
    ["s3_bytes", "bytes stored", CH.s4],
    ["s3_latency_ms_p50", "milliseconds from put to S3, median", CH.s4],
    ["s3_latency_ms_p99", "milliseconds from put to S3, 99th percentile", CH.s4],
    ["lost", "records in the stream missing from S3", CH.s4],
    ["windows_closed", "windows the analysis closed", CH.s5],
    ["wall_seconds", "seconds the run took", CH.trouble],
  ];
  fill(document.getElementById("summary"), keys.filter(([k]) => k in s).map(([k, why, chapter]) =>
    figure("summary." + k, k, s[k], n(s[k]), "The lab's own count: " + why + ".", chapter,
      { level: (k === "lost" || k === "never_stored") && s[k] > 0 ? "bad" : "" })));
}

function draw(m) {
  const status = document.getElementById("status");
  status.className = "status " + (m.phase === "done" ? "done" : "live");
  status.textContent = m.phase === "done"
    ? "the run is over: these are its last figures"
    : "live · " + new Date(m.taken_at_ms).toLocaleTimeString("en-GB");
  status.dataset.phase = m.phase;
  drawContext(m);
  drawTotals(m);
  drawShards(m);
  drawMappings(m);
  drawDeliveries(m);
  drawCharts(m);
  drawMap(m);
  drawAlarms(m);
  drawSummary(m);
}

async function poll() {
  try {
    const response = await fetch("/api/metrics", { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const metrics = await response.json();
    if (!metrics || !metrics.totals || !Array.isArray(metrics.shards)) throw new Error("not the dashboard's metrics");
    draw(metrics);
    lastError = null;
  } catch (error) {
    const message = `dashboard: /api/metrics failed: ${error.message}`;
    if (lastError !== message) console.error(message);
    lastError = message;
    const status = document.getElementById("status");
    status.className = "status lost";
    status.textContent = "no figures: " + error.message + " (is the lab or the local cloud still running?)";
  }
  setTimeout(poll, POLL_MS);
}

poll();
