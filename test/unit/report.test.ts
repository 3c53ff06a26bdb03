/** `npm run report` (ops/report.ts, ops/report/): the period, the queries, the aggregation, the CSV and the HTML page. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { chartJs as chartJsSource } from "../../components/dashboards";
import { UsageError } from "../../ops/backups/args";
import { aggregate, type Usage, type UserUsage } from "../../ops/report/aggregate";
import { parseReportArgs } from "../../ops/report/args";
import { csvField, usageCsv } from "../../ops/report/csv";
import { escapeHtml, formatBytes, formatHours, inlineScript, scriptJson, topUsers, usagePage } from "../../ops/report/html";
import { parseSince, reportPeriod, SinceError } from "../../ops/report/period";
import { collectResults, evaluations, promtoolArgs } from "../../ops/report/queries";
import { daySamples } from "../../ops/report/results";
import { reportSettings } from "../../ops/report/settings";
import { editedStackFile } from "../../ops/stack-file";

const root = path.resolve(__dirname, "..", "..");
const day = 86_400;

/** 2026-03-10 14:30 UTC, a report over 2d: 8 and 9 March whole, 10 March up to 14:30. */
const now = new Date("2026-03-10T14:30:00Z");
const t = (iso: string) => Date.parse(iso) / 1000;
const end8 = t("2026-03-09T00:00:00Z");
const end9 = t("2026-03-10T00:00:00Z");
const to = t("2026-03-10T14:30:00Z");
const server = "http://localhost:9090";

/**
 * promtool's answers (its JSON output, as the stand-in's promtool 2.42 prints it) for the period
 * above, scraped every 15 s (240 samples = 1 h):
 * ada: 8th 1 h minimal; 9th 2 h minimal + 1 h gis; groups astro (both days) and geo (9th).
 * bob: 9th 0.5 h gis, no group; 10th 3 h minimal, group geo.
 * carol: memory measured, never a running server (not a user of the report).
 */
const canned: Record<string, { range: unknown; instant: unknown }> = {
  gmap_server_running: {
    range: [
      {
        metric: { image: "img/minimal:1", user: "ada" },
        values: [
          [end8, "240"],
          [end9, "480"],
        ],
      },
      { metric: { image: "img/gis:2", user: "ada" }, values: [[end9, "240"]] },
      { metric: { image: "img/gis:2", user: "bob" }, values: [[end9, "120"]] },
    ],
    instant: [{ metric: { image: "img/minimal:1", user: "bob" }, value: [to, "720"] }],
  },
  gmap_server_memory_bytes: {
    range: [
      {
        metric: { user: "ada" },
        values: [
          [end8, "1000000000"],
          [end9, "2.5e+09"],
        ],
      },
      { metric: { user: "bob" }, values: [[end9, "500000000.4"]] },
      { metric: { user: "carol" }, values: [[end9, "900000000"]] },
    ],
    instant: [
      { metric: { user: "bob" }, value: [to, "750000000"] },
      { metric: { user: "dan" }, value: [to, "NaN"] },
    ],
  },
  gmap_user_group: {
    range: [
      {
        metric: { group: "astro", user: "ada" },
        values: [
          [end8, "1"],
          [end9, "1"],
        ],
      },
      { metric: { group: "geo", user: "ada" }, values: [[end9, "1"]] },
    ],
    instant: [
      { metric: { group: "geo", user: "bob" }, value: [to, "1"] },
      { metric: { group: "astro", user: "ada" }, value: [to, "1"] },
    ],
  },
  jupyterhub_active_users: {
    range: [
      {
        metric: {},
        values: [
          [end8, "3"],
          [end9, "4"],
        ],
      },
    ],
    instant: [],
  },
};

/** A promtool that answers from `canned` and records its command lines. */
function fakePromtool(calls: string[][]) {
  return async (args: readonly string[]) => {
    calls.push([...args]);
    const metric = Object.keys(canned).find((m) => args[args.length - 1]!.includes(m))!;
    return `${JSON.stringify(canned[metric]![args[1] as "range" | "instant"])}\n`;
  };
}

async function cannedUsage(): Promise<{ usage: Usage; calls: string[][] }> {
  const period = reportPeriod(2 * day, now);
  const calls: string[][] = [];
  const results = await collectResults(period, server, fakePromtool(calls));
  return { usage: aggregate(period.days, 15, results), calls };
}

const user = (name: string, hours: number, peak: number | null = null): UserUsage => ({
  user: name,
  groups: [],
  serverHours: hours,
  daysActive: 1,
  images: [],
  peakMemoryBytes: peak,
});

describe("usage report: period and command line", () => {
  it("takes --since as whole hours, days or weeks", () => {
    assert.equal(parseSince("30d"), 30 * day);
    assert.equal(parseSince("12h"), 12 * 3600);
    assert.equal(parseSince("8w"), 56 * day);
    assert.equal(parseSince("3660d"), 3660 * day);
  });

  it("refuses every other --since with a message", () => {
    const cases: [string, RegExp][] = [
      ["", /not a duration/],
      ["30", /not a duration: give a whole number and h, d or w/],
      ["d", /not a duration/],
      ["1.5d", /not a duration/],
      ["-3d", /not a duration/],
      ["30m", /not a duration/],
      ["30D", /not a duration/],
      [" 30d", /not a duration/],
      ["30 d", /not a duration/],
      ["1y", /not a duration/],
      ["0d", /at least 1h/],
      ["0h", /at least 1h/],
      ["3661d", /longer than 3660 days/],
      ["99999999w", /longer than 3660 days/],
    ];
    for (const [text, message] of cases)
      assert.throws(
        () => parseSince(text),
        (e: Error) => e instanceof SinceError && message.test(e.message),
        JSON.stringify(text),
      );
  });

  it("starts at the UTC midnight before, ends now, cut into UTC days", () => {
    const p = reportPeriod(2 * day, now);
    assert.equal(p.from, t("2026-03-08T00:00:00Z"));
    assert.equal(p.to, to);
    assert.deepEqual(p.days, [
      { date: "2026-03-08", start: t("2026-03-08T00:00:00Z"), end: end8 },
      { date: "2026-03-09", start: end8, end: end9 },
      { date: "2026-03-10", start: end9, end: to },
    ]);
    assert.deepEqual(
      reportPeriod(12 * 3600, now).days.map((d) => d.date),
      ["2026-03-10"],
    );
    // at midnight the last day is whole
    const midnight = reportPeriod(1 * day, new Date("2026-03-10T00:00:00Z"));
    assert.deepEqual(midnight.days, [{ date: "2026-03-09", start: end8, end: end9 }]);
    assert.equal(reportPeriod(30 * day, now).days.length, 31);
  });

  it("parses the command line; --out from where npm ran", () => {
    assert.deepEqual(parseReportArgs(["prod", "--since", "30d"], "/home/op"), {
      stack: "prod",
      since: "30d",
      sinceSeconds: 30 * day,
      out: "/home/op/reports",
    });
    assert.deepEqual(parseReportArgs(["--since=2w", "prod", "--out", "funders", "--config-file", "ci/Pulumi.prod.yaml"], "/home/op"), {
      stack: "prod",
      since: "2w",
      sinceSeconds: 14 * day,
      out: "/home/op/funders",
      configFile: "ci/Pulumi.prod.yaml",
    });
    assert.equal(parseReportArgs(["prod", "--since", "1h", "--out", "/srv/r"], "/x").out, "/srv/r");
  });

  it("refuses wrong command lines with a usage error", () => {
    const cases: [string[], RegExp][] = [
      [[], /give the stack name/],
      [["--since", "30d"], /give the stack name/],
      [["prod"], /give the period with --since/],
      [["prod", "--since", "30"], /--since "30" is not a duration/],
      [["prod", "--since", "0w"], /at least 1h/],
      [["prod", "--since"], /argument missing/],
      [["prod", "other", "--since", "1d"], /unexpected arguments: other/],
      [["prod", "--since", "1d", "--force"], /Unknown option '--force'/],
      [["prod", "--since", "1d", "--out="], /--out needs a directory/],
      [["../prod", "--since", "1d"], /not a stack name/],
    ];
    for (const [argv, message] of cases)
      assert.throws(
        () => parseReportArgs(argv, "/"),
        (e: Error) => e instanceof UsageError && message.test(e.message) && /usage: npm run report -- <stack> --since/.test(e.usage),
        argv.join(" "),
      );
  });

  it("refuses a stack without monitoring, before it looks for an engine (exit code 2)", () => {
    assert.throws(
      () => reportSettings("dev", { prefix: "gmap-dev", monitoring: { enabled: false, scrapeInterval: 15, retention: "90d" } }),
      /the stack dev has no monitoring \(monitoring\.enabled is not true\)/,
    );
    assert.deepEqual(reportSettings("e2e", { prefix: "gmap-e2e", monitoring: { enabled: true, scrapeInterval: 30, retention: "30d" } }), {
      container: "gmap-e2e-prometheus",
      server,
      scrapeIntervalSeconds: 30,
      retention: "30d",
    });
    const file = editedStackFile(root, "dev", (c) => {
      c["docker:host"] = "tcp://192.0.2.1:2375"; // never reached
    });
    const res = spawnSync(process.execPath, ["--import", "tsx", "ops/report.ts", "dev", "--since", "7d", "--config-file", file], {
      cwd: root,
      encoding: "utf8",
    });
    assert.equal(res.status, 2, res.stdout + res.stderr);
    assert.match(res.stderr, /^report: the stack dev has no monitoring/);
    const usage = spawnSync(process.execPath, ["--import", "tsx", "ops/report.ts", "dev", "--since", "7"], { cwd: root, encoding: "utf8" });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /not a duration[^]*usage: npm run report/);
  });
});

describe("usage report: queries and aggregation", () => {
  it("asks for the whole days with one range query and for today with an instant query", async () => {
    const p = reportPeriod(2 * day, now);
    assert.deepEqual(evaluations(p.days), [
      { kind: "range", start: end8, end: end9, window: day },
      { kind: "instant", time: to, window: to - end9 },
    ]);
    // one whole day: an instant query (a range needs its start before its end)
    assert.deepEqual(evaluations(reportPeriod(1 * day, new Date("2026-03-10T00:00:00Z")).days), [
      { kind: "instant", time: end9, window: day },
    ]);
    assert.deepEqual(promtoolArgs({ kind: "range", start: end8, end: end9, window: day }, server, "up"), [
      "query",
      "range",
      "--format=json",
      `--start=${end8}`,
      `--end=${end9}`,
      "--step=86400s",
      server,
      "up",
    ]);
    const { calls } = await cannedUsage();
    assert.deepEqual(
      calls.map((c) => c[c.length - 1]),
      [
        "sum by (user, image) (count_over_time(gmap_server_running[86400s]))",
        "sum by (user, image) (count_over_time(gmap_server_running[52200s]))",
        "max by (user) (max_over_time(gmap_server_memory_bytes[86400s]))",
        "max by (user) (max_over_time(gmap_server_memory_bytes[52200s]))",
        "max by (user, group) (max_over_time(gmap_user_group[86400s]))",
        "max by (user, group) (max_over_time(gmap_user_group[52200s]))",
        'max(last_over_time(jupyterhub_active_users{period="24h"}[86400s]))',
        'max(last_over_time(jupyterhub_active_users{period="24h"}[52200s]))',
      ],
    );
    assert.deepEqual(calls[1]!.slice(0, 4), ["query", "instant", "--format=json", `--time=${to}`]);
  });

  it("reads promtool's JSON by day; refuses other output", () => {
    const days = reportPeriod(2 * day, now).days;
    assert.deepEqual(daySamples('[{"metric":{"user":"a"},"values":[[' + end8 + ',"2"],[' + (end9 + 0.0004) + ',"NaN"]]}]', days), [
      { date: "2026-03-08", labels: { user: "a" }, value: 2 },
    ]);
    assert.deepEqual(daySamples("[]\n", days), []);
    assert.throws(() => daySamples("query error: bad_data", days), /not a JSON query result/);
    assert.throws(() => daySamples('{"resultType":"matrix"}', days), /not a JSON query result/);
    assert.throws(() => daySamples(`[{"metric":{},"value":[${end8 + 60},"1"]}]`, days), /ends no day of the report/);
  });

  it("adds up server-hours, days, images, groups and peak memory exactly", async () => {
    const { usage } = await cannedUsage();
    assert.deepEqual(usage.days, [
      { date: "2026-03-08", activeUsers: 1, serverHours: 1, hubActiveUsers: 3 },
      { date: "2026-03-09", activeUsers: 2, serverHours: 3.5, hubActiveUsers: 4 },
      { date: "2026-03-10", activeUsers: 1, serverHours: 3, hubActiveUsers: null },
    ]);
    assert.deepEqual(usage.userDays, [
      { date: "2026-03-08", user: "ada", groups: ["astro"], serverHours: 1, peakMemoryBytes: 1e9, images: ["img/minimal:1"] },
      {
        date: "2026-03-09",
        user: "ada",
        groups: ["astro", "geo"],
        serverHours: 3,
        peakMemoryBytes: 2.5e9,
        images: ["img/gis:2", "img/minimal:1"],
      },
      { date: "2026-03-09", user: "bob", groups: [], serverHours: 0.5, peakMemoryBytes: 500000000, images: ["img/gis:2"] },
      { date: "2026-03-10", user: "bob", groups: ["geo"], serverHours: 3, peakMemoryBytes: 750000000, images: ["img/minimal:1"] },
    ]);
    assert.deepEqual(usage.users, [
      {
        user: "ada",
        groups: ["astro", "geo"],
        serverHours: 4,
        daysActive: 2,
        images: ["img/gis:2", "img/minimal:1"],
        peakMemoryBytes: 2.5e9,
      },
      { user: "bob", groups: ["geo"], serverHours: 3.5, daysActive: 2, images: ["img/gis:2", "img/minimal:1"], peakMemoryBytes: 750000000 },
    ]);
    // a user in two groups counts in both; bob's day without a group counts as "no group"
    assert.deepEqual(usage.groups, [
      { group: "geo", serverHours: 6, users: 2 },
      { group: "astro", serverHours: 4, users: 1 },
      { group: null, serverHours: 0.5, users: 1 },
    ]);
    assert.deepEqual(usage.images, [
      { image: "img/minimal:1", serverHours: 6, users: 2 },
      { image: "img/gis:2", serverHours: 1.5, users: 2 },
    ]);
    assert.deepEqual(usage.totals, { users: 2, serverHours: 7.5 });
  });

  it("scales server-hours by the scrape interval; an empty Prometheus gives an empty report", () => {
    const days = reportPeriod(1 * day, new Date("2026-03-10T00:00:00Z")).days;
    const samples = daySamples(`[{"metric":{"user":"z","image":"i"},"value":[${end9},"7"]}]`, days);
    const u = aggregate(days, 60, { running: samples, memory: [], groups: [], hubActiveUsers: [] });
    assert.equal(u.users[0]!.serverHours, (7 * 60) / 3600);
    assert.equal(u.users[0]!.peakMemoryBytes, null);
    const empty = aggregate(days, 15, { running: [], memory: [], groups: [], hubActiveUsers: [] });
    assert.deepEqual(empty, {
      days: [{ date: "2026-03-09", activeUsers: 0, serverHours: 0, hubActiveUsers: null }],
      userDays: [],
      users: [],
      groups: [],
      images: [],
      totals: { users: 0, serverHours: 0 },
    });
  });
});

describe("usage report: CSV", () => {
  it("quotes as RFC 4180 does", () => {
    assert.equal(csvField("ada"), "ada");
    assert.equal(csvField("a,b"), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField("two\nlines"), '"two\nlines"');
    assert.equal(csvField("cr\r"), '"cr\r"');
    assert.equal(csvField(""), "");
  });

  it("writes one row per user per day with server time, CRLF line ends", async () => {
    const { usage } = await cannedUsage();
    assert.equal(
      usageCsv(usage.userDays),
      "date,user,groups,server_hours,peak_memory_bytes,images\r\n" +
        "2026-03-08,ada,astro,1,1000000000,img/minimal:1\r\n" +
        "2026-03-09,ada,astro;geo,3,2500000000,img/gis:2;img/minimal:1\r\n" +
        "2026-03-09,bob,,0.5,500000000,img/gis:2\r\n" +
        "2026-03-10,bob,geo,3,750000000,img/minimal:1\r\n",
    );
    const odd = usageCsv([
      { date: "2026-03-09", user: "x", groups: ['la "b", c', "d"], serverHours: 1 / 240, peakMemoryBytes: null, images: ["i\nj"] },
    ]);
    assert.equal(odd.split("\r\n")[1], '2026-03-09,x,"la ""b"", c;d",0.0042,,"i\nj"');
  });
});

describe("usage report: HTML page", () => {
  const chartJs = chartJsSource();
  const hostileUser = `<img src=x onerror="alert('u')">&amp;`;
  const hostileGroup = "</script><script>alert(1)</script><!--";
  const hostile = async () => {
    const { usage } = await cannedUsage();
    const rename = (u: string) => (u === "ada" ? hostileUser : u);
    const regroup = (g: string | null) => (g === "astro" ? hostileGroup : g);
    return {
      ...usage,
      userDays: usage.userDays.map((r) => ({ ...r, user: rename(r.user), groups: r.groups.map((g) => regroup(g)!) })),
      users: usage.users.map((u) => ({ ...u, user: rename(u.user), groups: u.groups.map((g) => regroup(g)!) })),
      groups: usage.groups.map((g) => ({ ...g, group: regroup(g.group) })),
    };
  };
  const page = async (chart = chartJs) =>
    usagePage({
      stack: "e2e",
      period: reportPeriod(2 * day, now),
      usage: await hostile(),
      scrapeIntervalSeconds: 15,
      retention: "90d",
      chartJs: chart,
    });

  it("escapes names in the markup and '<' in the embedded data", async () => {
    assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&#60;a href=&#34;x&#34;&#62;&#39;&#38;&#39;&#60;/a&#62;");
    assert.equal(scriptJson({ g: "</script><!--" }), '{"g":"\\u003c/script>\\u003c!--"}');
    const html = await page();
    assert.ok(!html.includes("<img"), "the user name became markup");
    assert.ok(!html.includes("alert(1)</script>"), "the group name ended a script");
    assert.ok(html.includes("&#60;img src=x onerror=&#34;alert(&#39;u&#39;)&#34;&#62;&#38;amp;"));
    assert.ok(html.includes("&#60;/script&#62;&#60;script&#62;alert(1)&#60;/script&#62;&#60;!--"));
    // three scripts (data, Chart.js, the page's), each ended once
    assert.equal(html.match(/<script/gi)?.length, 3);
    assert.equal(html.match(/<\/script/gi)?.length, 3);
    const json = /<script type="application\/json" id="report-data">([^]*?)<\/script>/.exec(html)![1]!;
    const data = JSON.parse(json);
    assert.deepEqual(data.usage, await hostile());
    assert.equal(data.stack, "e2e");
    assert.deepEqual(data.charts.userHours, { labels: [hostileUser, "bob"], values: [4, 3.5] });
    assert.deepEqual(data.charts.groupHours, { labels: ["geo", hostileGroup, "(no group)"], values: [6, 4, 0.5] });
  });

  it("inlines scripts so that nothing in them can end the element", async () => {
    assert.equal(inlineScript('a = "</script>"; b = "</SCRIPT"; c = "<!--";'), 'a = "<\\/script>"; b = "<\\/SCRIPT"; c = "<\\!--";');
    const html = await page('window.Chart = function () {}; var s = "</script><!--";');
    assert.equal(html.match(/<\/script/gi)?.length, 3);
    assert.ok(html.includes('var s = "<\\/script><\\!--";'));
  });

  it("is self-contained: Chart.js inlined, no URL to load, a policy that loads nothing", async () => {
    const html = await page();
    assert.ok(html.includes("Chart.js v4.5.1"));
    assert.doesNotMatch(html, /\b(src|href|action|poster|srcset)\s*=\s*["']?\s*(https?:)?\/\//i);
    assert.doesNotMatch(html, /<(link|iframe|img|object|embed)\b/i);
    assert.doesNotMatch(html, /url\(\s*["']?(https?:)?\/\//i);
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'/);
    for (const id of ["chart-days", "chart-user-hours", "chart-group-hours", "chart-image-hours", "chart-user-memory"])
      assert.ok(html.includes(`<canvas id="${id}"`), id);
    assert.ok(html.includes("A user in two groups counts in both"));
  });

  it("says so when nothing ran, and draws no chart", () => {
    const days = reportPeriod(1 * day, now).days;
    const html = usagePage({
      stack: "e2e",
      period: reportPeriod(1 * day, now),
      usage: aggregate(days, 15, { running: [], memory: [], groups: [], hubActiveUsers: [] }),
      scrapeIntervalSeconds: 15,
      retention: "90d",
      chartJs: "",
    });
    assert.match(html, /No user server ran in this period/);
    assert.doesNotMatch(html, /<canvas/);
  });

  it("charts the top 30 users and one bar for the others", () => {
    const users = Array.from({ length: 35 }, (_, i) => user(`u${String(i).padStart(2, "0")}`, 35 - i, (i + 1) * 2 ** 30));
    const bars = topUsers(users, (u) => u.serverHours);
    assert.equal(bars.labels.length, 31);
    assert.deepEqual(bars.labels.slice(0, 2), ["u00", "u01"]);
    assert.equal(bars.labels[30], "others (5 users)");
    assert.equal(bars.values[30], 5 + 4 + 3 + 2 + 1);
    const memory = topUsers(users, (u) => u.peakMemoryBytes ?? 0, 30, false);
    assert.equal(memory.labels.length, 30);
    assert.equal(memory.labels[0], "u34");
    assert.deepEqual(
      topUsers([user("a", 0), user("b", 2)], (u) => u.serverHours),
      { labels: ["b"], values: [2] },
    );
  });

  it("writes hours and sizes for reading", () => {
    assert.equal(formatHours(0), "0");
    assert.equal(formatHours(15 / 3600), "0.004");
    assert.equal(formatHours(7.5), "7.50");
    assert.equal(formatHours(1234.56), "1234.6");
    assert.equal(formatBytes(null), "–");
    assert.equal(formatBytes(5 * 2 ** 20), "5.0 MiB");
    assert.equal(formatBytes(750000000), "715 MiB");
    assert.equal(formatBytes(2.5e9), "2.33 GiB");
  });
});
