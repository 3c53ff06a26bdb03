/*
 * The monitoring dashboards' script (gmap_hub.monitoring.dashboards): draws each panel of the page's
 * dashboard as a Chart.js line chart of its PromQL series over the chosen time range (1h, 6h, 24h or
 * 7d; 6h at first, kept in the address as #range=...), refreshed every 30 s. The queries go to the
 * hub's monitoring/api/query_range, which asks Prometheus, with the page's XSRF token (page.html's
 * window.jhdata.xsrf_token, in the header X-XSRFToken: the hub checks it on a script's request). A
 * panel without any measurement in the range says so instead of drawing empty axes; one whose query
 * failed shows the reason.
 */
/* global window, document, fetch, URLSearchParams, getComputedStyle */
(function () {
  "use strict";

  /** The time ranges of the selector, in seconds. */
  const RANGES = { "1h": 3600, "6h": 6 * 3600, "24h": 24 * 3600, "7d": 7 * 24 * 3600 };
  /** Minutes between two marks of the time axis, by range: on whole local minutes, hours or days. */
  const TIME_MARKS = { "1h": 10, "6h": 60, "24h": 3 * 60, "7d": 24 * 60 };
  const DEFAULT_RANGE = "6h";
  const REFRESH_MS = 30 * 1000;
  /** Points per line at most (Prometheus refuses more than 11,000). */
  const POINTS = 240;
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
  /** Labels every series of a target has, left out when a line is named by its labels. */
  const TARGET_LABELS = new Set(["__name__", "job", "instance"]);

  const root = document.getElementById("gmap-dashboard");
  if (!root) return;
  const config = JSON.parse(root.dataset.config);
  const panels = Array.from(document.querySelectorAll(".gmap-panel")).map((el) => ({
    spec: config.panels[Number(el.dataset.panel)],
    canvas: el.querySelector("canvas"),
    state: el.querySelector(".gmap-state"),
    chart: null,
    colors: new Map(),
  }));
  const updated = document.getElementById("gmap-updated");
  const pageError = document.getElementById("gmap-dashboard-error");
  let range = rangeFromAddress();
  let refreshing = 0;
  let Chart = null;

  /** A number with at most 3 significant digits, without trailing zeros. */
  function short(x) {
    const a = Math.abs(x);
    return String(parseFloat(x.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2)));
  }

  function formatBytes(v) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let x = Math.abs(v);
    let i = 0;
    while (x >= 1024 && i < units.length - 1) {
      x /= 1024;
      i += 1;
    }
    return `${short(Math.sign(v) * x)} ${units[i]}`;
  }

  function formatSeconds(v) {
    const a = Math.abs(v);
    if (a === 0) return "0 s";
    if (a < 1) return `${short(v * 1000)} ms`;
    if (a < 120) return `${short(v)} s`;
    if (a < 2 * 3600) return `${short(v / 60)} min`;
    return `${short(v / 3600)} h`;
  }

  function formatCount(v) {
    return Math.abs(v) >= 1000 ? Math.round(v).toLocaleString() : short(v);
  }

  function formatPercent(v) {
    return `${short(v)} %`;
  }

  /** How each unit of a panel (gmap_hub.monitoring.dashboards.UNITS) is written. */
  const FORMATS = { bytes: formatBytes, seconds: formatSeconds, count: formatCount, percent: formatPercent };

  function formatTime(ms) {
    const date = new Date(ms);
    if (TIME_MARKS[range] >= 24 * 60) return date.toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" });
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  /** The marks of the time axis between min and max (ms): every TIME_MARKS[range] minutes of local time. */
  function timeMarks(min, max) {
    const minutes = TIME_MARKS[range];
    const mark = new Date(min);
    mark.setSeconds(0, 0);
    if (minutes >= 24 * 60) {
      mark.setHours(0, 0);
    } else {
      const ofDay = mark.getHours() * 60 + mark.getMinutes();
      mark.setHours(0, Math.floor(ofDay / minutes) * minutes);
    }
    const marks = [];
    while (mark.getTime() <= max) {
      if (mark.getTime() >= min) marks.push({ value: mark.getTime() });
      if (minutes >= 24 * 60) mark.setDate(mark.getDate() + 1);
      else mark.setMinutes(mark.getMinutes() + minutes);
    }
    return marks;
  }

  /** For bytes: the value axis's top and step in whole KiB, MiB, GiB... (1, 2 or 5 times a power of 10 of them). */
  function byteScale(lines) {
    let top = 0;
    for (const line of lines) for (const p of line.data) if (p.y !== null && p.y > top) top = p.y;
    if (top <= 0) return { max: undefined, stepSize: undefined };
    const unit = 1024 ** Math.min(5, Math.floor(Math.log(top) / Math.log(1024)));
    const rough = top / unit / 4;
    const power = 10 ** Math.floor(Math.log10(rough));
    const stepSize = unit * power * ([1, 2, 5].find((m) => m * power >= rough) || 10);
    return { max: Math.ceil(top / stepSize) * stepSize, stepSize };
  }

  function rangeFromAddress() {
    const found = /(?:^|[#&])range=([^&]+)/.exec(window.location.hash);
    return found && RANGES[found[1]] ? found[1] : DEFAULT_RANGE;
  }

  function showRange() {
    for (const button of document.querySelectorAll("#gmap-range [data-range]")) {
      const active = button.dataset.range === range;
      button.classList.toggle("active", active);
      button.setAttribute("aria-pressed", String(active));
    }
  }

  /** Chart.js: page.html loads RequireJS, so its UMD build registers as an AMD module there. */
  function loadChartJs() {
    return new Promise((resolve, reject) => {
      if (window.Chart) {
        resolve(window.Chart);
      } else if (typeof window.require === "function" && typeof window.define === "function" && window.define.amd) {
        window.require([config.chartJsUrl], resolve, () => reject(new Error(`Chart.js could not be loaded from ${config.chartJsUrl}`)));
      } else {
        const script = document.createElement("script");
        script.src = config.chartJsUrl;
        script.onload = () => (window.Chart ? resolve(window.Chart) : reject(new Error("Chart.js did not load")));
        script.onerror = () => reject(new Error(`Chart.js could not be loaded from ${config.chartJsUrl}`));
        document.head.appendChild(script);
      }
    });
  }

  /** The headers of a query: the hub refuses a script's request without the page's XSRF token. */
  function queryHeaders() {
    const headers = { Accept: "application/json" };
    const token = window.jhdata && window.jhdata.xsrf_token;
    if (token) headers["X-XSRFToken"] = token;
    return headers;
  }

  /** The result of one range query (Prometheus's data.result), or an Error with Prometheus's or the hub's reason. */
  async function query(expr, start, end, step) {
    const params = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(step) });
    const response = await fetch(`${config.queryUrl}?${params}`, { credentials: "same-origin", headers: queryHeaders() });
    let body = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: a page of a proxy in between
    }
    if (!response.ok || !body || body.status !== "success") {
      throw new Error(body && body.error ? body.error : `HTTP ${response.status} ${response.statusText}`);
    }
    return body.data.result;
  }

  /** A line's name: the series' label with {name} replaced by the result's label, or the result's labels. */
  function lineLabel(template, metric, several) {
    const label = template.replace(/\{([^{}]*)\}/g, (_, name) => (metric[name] === undefined ? "" : metric[name] || "(none)"));
    if (!several || label !== template) return label;
    const own = Object.entries(metric).filter(([k]) => !TARGET_LABELS.has(k));
    return own.length ? `${label} {${own.map(([k, v]) => `${k}="${v}"`).join(", ")}}` : label;
  }

  /** Prometheus's [time, "value"] pairs as points, with a gap wherever a step has no value. */
  function points(values, step) {
    const out = [];
    let last = null;
    for (const [t, v] of values) {
      if (last !== null && t - last > step * 1.5) out.push({ x: (last + step) * 1000, y: null });
      const y = parseFloat(v);
      out.push({ x: t * 1000, y: Number.isFinite(y) ? y : null });
      last = t;
    }
    return out;
  }

  function colorOf(panel, label) {
    if (!panel.colors.has(label)) panel.colors.set(label, COLORS[panel.colors.size % COLORS.length]);
    return panel.colors.get(label);
  }

  function datasets(panel, answers, step) {
    const out = [];
    panel.spec.series.forEach((series, i) => {
      for (const result of answers[i]) {
        const label = lineLabel(series.label, result.metric, answers[i].length > 1);
        const color = colorOf(panel, label);
        out.push({ label, data: points(result.values, step), borderColor: color, backgroundColor: color });
      }
    });
    return out;
  }

  function setState(panel, text, isError) {
    panel.state.textContent = text;
    panel.state.hidden = !text;
    panel.state.classList.toggle("text-danger", Boolean(isError));
    panel.state.classList.toggle("text-body-secondary", !isError);
    panel.canvas.style.visibility = text ? "hidden" : "visible";
  }

  function chartOptions(panel, start, end) {
    const format = FORMATS[panel.spec.unit];
    const grid = { color: "rgba(128, 128, 128, 0.2)" };
    return {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: "nearest", axis: "x", intersect: false },
      elements: { point: { radius: 0, hitRadius: 6 }, line: { borderWidth: 2, tension: 0 } },
      scales: {
        x: {
          type: "linear",
          min: start * 1000,
          max: end * 1000,
          grid,
          afterBuildTicks: (axis) => {
            axis.ticks = timeMarks(axis.min, axis.max);
          },
          ticks: { maxRotation: 0, autoSkip: true, callback: formatTime },
        },
        y: {
          beginAtZero: true,
          suggestedMax: panel.spec.unit === "percent" ? 100 : undefined,
          grid,
          ticks: { maxTicksLimit: 6, callback: (v) => format(v) },
        },
      },
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
        tooltip: {
          callbacks: {
            title: (items) => (items.length ? new Date(items[0].parsed.x).toLocaleString() : ""),
            label: (item) => `${item.dataset.label}: ${item.parsed.y === null ? "no value" : format(item.parsed.y)}`,
          },
        },
      },
    };
  }

  async function refreshPanel(panel, start, end, step, generation) {
    let answers;
    try {
      answers = await Promise.all(panel.spec.series.map((s) => query(s.query, start, end, step)));
    } catch (e) {
      if (generation === refreshing) setState(panel, `Could not load this panel: ${e.message}`, true);
      return;
    }
    if (generation !== refreshing) return; // a newer refresh (another range) is under way
    const lines = datasets(panel, answers, step);
    if (!lines.some((line) => line.data.some((p) => p.y !== null))) {
      setState(panel, `No data yet: Prometheus has no measurement for this panel in the last ${range}.`, false);
      return;
    }
    setState(panel, "", false);
    if (!panel.chart) {
      panel.chart = new Chart(panel.canvas, { type: "line", data: { datasets: [] }, options: chartOptions(panel, start, end) });
    }
    const { scales } = panel.chart.options;
    scales.x.min = start * 1000;
    scales.x.max = end * 1000;
    if (panel.spec.unit === "bytes") {
      const { max, stepSize } = byteScale(lines);
      scales.y.max = max;
      scales.y.ticks.stepSize = stepSize;
    }
    panel.chart.data.datasets = lines;
    panel.chart.update("none");
  }

  async function refresh() {
    refreshing += 1;
    const generation = refreshing;
    const seconds = RANGES[range];
    const step = Math.max(config.minStepSeconds, Math.ceil(seconds / POINTS));
    // steps on whole multiples of the step: the points stay where they were from one refresh to the next
    const end = Math.floor(Date.now() / 1000 / step) * step;
    const start = end - seconds;
    await Promise.all(panels.map((panel) => refreshPanel(panel, start, end, step, generation)));
    if (generation === refreshing) updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  }

  function chooseRange(name) {
    range = name;
    window.history.replaceState(null, "", `#range=${name}`);
    showRange();
    for (const panel of panels) if (!panel.chart) setState(panel, "Loading…", false);
    refresh();
  }

  async function start() {
    showRange();
    try {
      Chart = await loadChartJs();
    } catch (e) {
      pageError.textContent = `${e.message}. The dashboards cannot draw their charts.`;
      pageError.hidden = false;
      for (const panel of panels) setState(panel, "No chart: Chart.js did not load.", true);
      return;
    }
    Chart.defaults.color = getComputedStyle(document.body).color;
    for (const button of document.querySelectorAll("#gmap-range [data-range]")) {
      button.addEventListener("click", () => chooseRange(button.dataset.range));
    }
    window.addEventListener("hashchange", () => {
      const chosen = rangeFromAddress();
      if (chosen !== range) chooseRange(chosen);
    });
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden) refresh();
    });
    window.setInterval(() => {
      if (!document.hidden) refresh();
    }, REFRESH_MS);
    refresh();
  }

  start();
})();
