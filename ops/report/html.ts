/**
 * The HTML page of a usage report: one self-contained file (Chart.js and the data inlined, a
 * Content-Security-Policy that lets it load nothing), readable without scripts (summary and tables
 * are plain HTML) and with charts when scripts run. All data is also embedded as JSON in a
 * `<script type="application/json" id="report-data">`, every "<" in it escaped so that no value can
 * end the script; every name shown in the page is HTML-escaped. The charts are drawn without
 * animation, and `<html data-charts-ready="true">` says they are drawn (for a screenshot).
 */
import type { Usage, UserUsage } from "./aggregate";
import type { Period } from "./period";

/** How many users the per-user charts show by name; the rest make one "others" bar. */
export const chartTopUsers = 30;

export interface PageInput {
  readonly stack: string;
  readonly period: Period;
  readonly usage: Usage;
  /** The seconds one sample of a running server stands for (monitoring.scrapeInterval). */
  readonly scrapeIntervalSeconds: number;
  /** How long Prometheus keeps measurements (monitoring.retention), e.g. 90d. */
  readonly retention: string;
  /** The UMD build of Chart.js (chart.umd.js of the npm package). */
  readonly chartJs: string;
}

/** A chart's bars: labels and values, in order. */
export interface Bars {
  readonly labels: string[];
  readonly values: number[];
}

/** Text for HTML content or a quoted attribute. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON for a `<script type="application/json">`: every "<" escaped, so neither "</script" nor "<!--" can appear. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

/** JavaScript source for an inline `<script>`: "</script" and "<!--" (in its strings or comments) cannot end or confuse the element. */
export function inlineScript(source: string): string {
  return source.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");
}

/** The first `top` of `users` by `value` (largest first, zeros left out), the rest summed into one "others (N users)" bar. */
export function topUsers(users: readonly UserUsage[], value: (u: UserUsage) => number, top = chartTopUsers, withOthers = true): Bars {
  const ranked = users
    .map((u) => ({ user: u.user, value: value(u) }))
    .filter((u) => u.value > 0)
    .sort((a, b) => b.value - a.value || (a.user < b.user ? -1 : 1));
  const shown = ranked.slice(0, top);
  const rest = ranked.slice(top);
  const bars: Bars = { labels: shown.map((u) => u.user), values: shown.map((u) => u.value) };
  if (withOthers && rest.length) {
    bars.labels.push(`others (${rest.length} user${rest.length === 1 ? "" : "s"})`);
    bars.values.push(rest.reduce((a, u) => a + u.value, 0));
  }
  return bars;
}

/** Hours for reading: more decimals for short times (a 15 s sample is 0.004 h). */
export function formatHours(hours: number): string {
  if (hours === 0) return "0";
  return hours.toFixed(hours < 1 ? 3 : hours < 100 ? 2 : 1);
}

/** Bytes for reading (binary units). */
export function formatBytes(bytes: number | null): string {
  if (bytes === null) return "–";
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  return `${(bytes / 2 ** 20).toFixed(bytes >= 10 * 2 ** 20 ? 0 : 1)} MiB`;
}

const gib = (bytes: number) => Math.round((bytes / 2 ** 30) * 1000) / 1000;

/** A UTC time as "YYYY-MM-DD HH:MM UTC". */
const utc = (seconds: number) => `${new Date(seconds * 1000).toISOString().slice(0, 16).replace("T", " ")} UTC`;

const list = (items: readonly string[]) => (items.length ? items.map(escapeHtml).join(", ") : "–");

/** The chart's canvas in a box as tall as its bars need. */
function chartBox(id: string, title: string, bars: number | null, note = ""): string {
  const height = bars === null ? 320 : Math.max(140, 60 + 24 * bars);
  return `<section class="chart"><h3>${escapeHtml(title)}</h3>${note ? `<p class="note">${note}</p>` : ""}
<div class="canvas" style="height:${height}px"><canvas id="${id}" role="img" aria-label="${escapeHtml(title)}"></canvas></div></section>`;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[], numeric: readonly number[]): string {
  const cell = (tag: string, i: number, html: string) => `<${tag}${numeric.includes(i) ? ' class="num"' : ""}>${html}</${tag}>`;
  return `<table><thead><tr>${headers.map((h, i) => cell("th", i, escapeHtml(h))).join("")}</tr></thead>
<tbody>
${rows.map((r) => `<tr>${r.map((html, i) => cell("td", i, html)).join("")}</tr>`).join("\n")}
</tbody></table>`;
}

/** Draws the charts from the embedded data (no data of the report in the script itself). */
const pageScript = `(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var blue = "#2f6db5", orange = "#d9822b", green = "#3b8c5a", purple = "#7a4fa3", red = "#b5452f";
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = "system-ui, sans-serif";
  function bars(id, chart, label, color) {
    var canvas = document.getElementById(id);
    if (!canvas) return;
    new Chart(canvas, {
      type: "bar",
      data: { labels: chart.labels, datasets: [{ label: label, data: chart.values, backgroundColor: color }] },
      options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, title: { display: true, text: label } } } }
    });
  }
  var days = document.getElementById("chart-days");
  if (days) {
    new Chart(days, {
      type: "bar",
      data: {
        labels: data.usage.days.map(function (d) { return d.date; }),
        datasets: [
          { type: "bar", label: "users with a running server", data: data.usage.days.map(function (d) { return d.activeUsers; }), backgroundColor: blue, order: 2 },
          { type: "line", label: "JupyterHub: users active in the 24 h before", data: data.usage.days.map(function (d) { return d.hubActiveUsers; }), borderColor: orange, backgroundColor: orange, spanGaps: false, order: 1 }
        ]
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "users" } } } }
    });
  }
  bars("chart-user-hours", data.charts.userHours, "server-hours", blue);
  bars("chart-group-hours", data.charts.groupHours, "server-hours", green);
  bars("chart-image-hours", data.charts.imageHours, "server-hours", purple);
  bars("chart-user-memory", data.charts.userMemoryGiB, "peak memory (GiB)", red);
  document.documentElement.dataset.chartsReady = "true";
})();
`;

const style = `
  :root { color-scheme: light; }
  body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1.5rem; color: #1d232b; line-height: 1.45; }
  h1 { font-size: 1.6rem; margin-bottom: .25rem; }
  h2 { font-size: 1.25rem; margin-top: 2.5rem; border-bottom: 1px solid #d5dbe3; padding-bottom: .25rem; }
  h3 { font-size: 1.05rem; margin: 1.5rem 0 .25rem; }
  .sub, .note { color: #56606d; }
  .note { font-size: .9rem; margin: 0 0 .5rem; }
  .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .75rem; margin: 1.5rem 0; }
  .figure { border: 1px solid #d5dbe3; border-radius: .5rem; padding: .75rem 1rem; background: #f6f8fb; }
  .figure .value { font-size: 1.6rem; font-weight: 600; }
  .figure .label { color: #56606d; font-size: .85rem; }
  .chart { break-inside: avoid; }
  .canvas { position: relative; width: 100%; }
  table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .5rem 0 1rem; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #e3e7ed; vertical-align: top; }
  th { background: #f0f3f7; }
  .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  ul.method li { margin: .25rem 0; }
  @media print { body { margin: 0; max-width: none; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
`;

/** The whole page. */
export function usagePage(input: PageInput): string {
  const { stack, period, usage, scrapeIntervalSeconds, retention } = input;
  const first = period.days[0]?.date ?? "";
  const last = period.days[period.days.length - 1]?.date ?? "";
  const dayCount = period.days.length;
  const meanActive = dayCount ? usage.days.reduce((a, d) => a + d.activeUsers, 0) / dayCount : 0;
  const peakActive = Math.max(0, ...usage.days.map((d) => d.activeUsers));
  const busiest = peakActive > 0 ? usage.days.find((d) => d.activeUsers === peakActive) : undefined;
  const groupCount = usage.groups.filter((g) => g.group !== null).length;

  const charts = {
    userHours: topUsers(usage.users, (u) => u.serverHours),
    groupHours: {
      labels: usage.groups.map((g) => g.group ?? "(no group)"),
      values: usage.groups.map((g) => g.serverHours),
    } satisfies Bars,
    imageHours: { labels: usage.images.map((i) => i.image || "(unknown)"), values: usage.images.map((i) => i.serverHours) } satisfies Bars,
    userMemoryGiB: (() => {
      const b = topUsers(usage.users, (u) => u.peakMemoryBytes ?? 0, chartTopUsers, false);
      return { labels: b.labels, values: b.values.map(gib) };
    })(),
  };
  const data = {
    stack,
    from: new Date(period.from * 1000).toISOString(),
    to: new Date(period.to * 1000).toISOString(),
    scrapeIntervalSeconds,
    retention,
    usage,
    charts,
  };

  const figure = (value: string, label: string) =>
    `<div class="figure"><div class="value">${escapeHtml(value)}</div><div class="label">${escapeHtml(label)}</div></div>`;
  const figures = [
    figure(String(usage.totals.users), "users with server time"),
    figure(formatHours(usage.totals.serverHours), "server-hours"),
    figure(String(dayCount), `days (${first} to ${last})`),
    figure(meanActive.toFixed(1), "active users per day (mean)"),
    figure(String(peakActive), `active users on the busiest day${busiest ? ` (${busiest.date})` : ""}`),
    figure(String(groupCount), "groups with server time"),
    figure(String(usage.images.length), "images used"),
  ].join("\n");

  const noUse = usage.totals.users === 0;
  const chartSections = noUse
    ? `<p>No user server ran in this period.</p>`
    : [
        chartBox("chart-days", "Active users per day", null),
        chartBox(
          "chart-user-hours",
          "Server-hours per user",
          charts.userHours.labels.length,
          usage.users.length > chartTopUsers ? `The ${chartTopUsers} users with the most server-hours; the others as one bar.` : "",
        ),
        chartBox("chart-group-hours", "Server-hours per group", charts.groupHours.labels.length, "A user in two groups counts in both."),
        chartBox("chart-image-hours", "Server-hours per image", charts.imageHours.labels.length),
        chartBox(
          "chart-user-memory",
          "Peak memory per user",
          charts.userMemoryGiB.labels.length,
          `The highest memory in use of any one of the user's servers${usage.users.length > chartTopUsers ? `; the ${chartTopUsers} highest` : ""}.`,
        ),
      ].join("\n");

  const dayTable = table(
    ["Date", "Users with a running server", "JupyterHub: users active in the 24 h before", "Server-hours"],
    usage.days.map((d) => [
      d.date,
      String(d.activeUsers),
      d.hubActiveUsers === null ? "–" : String(d.hubActiveUsers),
      formatHours(d.serverHours),
    ]),
    [1, 2, 3],
  );
  const userTable = table(
    ["User", "Groups", "Server-hours", "Days active", "Images", "Peak memory"],
    usage.users.map((u) => [
      escapeHtml(u.user),
      list(u.groups),
      formatHours(u.serverHours),
      String(u.daysActive),
      list(u.images),
      formatBytes(u.peakMemoryBytes),
    ]),
    [2, 3, 5],
  );
  const groupTable = table(
    ["Group", "Server-hours", "Users"],
    usage.groups.map((g) => [g.group === null ? "<em>no group</em>" : escapeHtml(g.group), formatHours(g.serverHours), String(g.users)]),
    [1, 2],
  );
  const imageTable = table(
    ["Image", "Server-hours", "Users"],
    usage.images.map((i) => [i.image ? escapeHtml(i.image) : "<em>unknown</em>", formatHours(i.serverHours), String(i.users)]),
    [1, 2],
  );

  const title = `Usage of ${stack}: ${first} to ${last}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${style}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">From ${escapeHtml(utc(period.from))} to ${escapeHtml(utc(period.to))}, the time of this report.</p>
<div class="figures">
${figures}
</div>
<h2>Charts</h2>
${chartSections}
<h2>Per day</h2>
${dayTable}
<h2>Per user</h2>
${usage.users.length ? userTable : "<p>No user server ran in this period.</p>"}
<h2>Per group</h2>
<p class="note">A user in two groups counts in both: the groups' server-hours add up to more than the total.</p>
${usage.groups.length ? groupTable : "<p>No user server ran in this period.</p>"}
<h2>Per image</h2>
${usage.images.length ? imageTable : "<p>No user server ran in this period.</p>"}
<h2>How these numbers are made</h2>
<ul class="method">
<li>Days are UTC days; the last one ends at the time of the report.</li>
<li>A server-hour is one hour of one running user server. Prometheus records every ${scrapeIntervalSeconds} s which servers run; each record counts ${scrapeIntervalSeconds} s.</li>
<li>An active user had a server running that day. JupyterHub's own count (users active in any way in the 24 hours before the end of the day, its last value that day) is shown beside it where the hub reported it.</li>
<li>A user's groups on a day are the groups they belonged to that day; a user in two groups counts in both.</li>
<li>Peak memory is the highest memory in use (without the page cache) of any one of the user's servers.</li>
<li>Prometheus keeps measurements for ${escapeHtml(retention)}: days before that have none.</li>
</ul>
<script type="application/json" id="report-data">${scriptJson(data)}</script>
<script>${inlineScript(input.chartJs)}</script>
<script>${pageScript}</script>
</body>
</html>
`;
}
