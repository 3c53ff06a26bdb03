/**
 * Writes a usage report of a stack for a period, from its Prometheus (monitoring.enabled):
 *
 *   npm run report -- <stack> --since 30d [--out DIR] [--config-file FILE]
 *
 * `--since` takes a whole number of hours, days or weeks (12h, 30d, 8w); the period starts at the
 * UTC midnight before and ends now. The stack file (or `--config-file`) is validated as `npm run
 * check` does; the queries run as promtool in the stack's Prometheus container, through the stack's
 * Docker engine (its docker:host, else DOCKER_HOST or the local socket). Writes into DIR (default
 * ./reports, from where npm ran) `<stack>-usage-<from>-<to>.csv` (one row per user per day with
 * server time) and `<stack>-usage-<from>-<to>.html` (one self-contained page: summary, charts,
 * tables), and prints their paths last. Exit code 0 when written, 2 on a wrong command line or a
 * failure (a stack without monitoring, an engine or Prometheus out of reach).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ping } from "./backups/engine";
import { operatorCwd, UsageError } from "./backups/args";
import { loadStack } from "./backups/stack";
import { chartJs as chartJsSource } from "../components/dashboards";
import { stackEngine } from "./images/stack-engine";
import { aggregate } from "./report/aggregate";
import { parseReportArgs } from "./report/args";
import { usageCsv } from "./report/csv";
import { formatHours, usagePage } from "./report/html";
import { reportPeriod } from "./report/period";
import { promtoolIn } from "./report/promtool";
import { collectResults } from "./report/queries";
import { reportSettings } from "./report/settings";

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseReportArgs(argv, operatorCwd());
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${e.message}\n${e.usage}\n`);
    return 2;
  }
  const projectDir = path.resolve(__dirname, "..");
  const { config } = loadStack(projectDir, args.stack, args.configFile);
  const settings = reportSettings(args.stack, config);
  const chartJs = chartJsSource();
  const period = reportPeriod(args.sinceSeconds, new Date());
  const docker = stackEngine(projectDir, args.stack, args.configFile);
  await ping(docker);
  const promtool = await promtoolIn(docker, settings.container);
  const results = await collectResults(period, settings.server, promtool);
  const usage = aggregate(period.days, settings.scrapeIntervalSeconds, results);

  const first = period.days[0]!.date;
  const last = period.days[period.days.length - 1]!.date;
  const base = path.join(args.out, `${args.stack}-usage-${first}-${last}`);
  fs.mkdirSync(args.out, { recursive: true, mode: 0o700 });
  // they name people (users and their groups): readable by their owner only
  fs.writeFileSync(`${base}.csv`, usageCsv(usage.userDays), { mode: 0o600 });
  fs.writeFileSync(
    `${base}.html`,
    usagePage({
      stack: args.stack,
      period,
      usage,
      scrapeIntervalSeconds: settings.scrapeIntervalSeconds,
      retention: settings.retention,
      chartJs,
    }),
    { mode: 0o600 },
  );
  process.stdout.write(
    `${args.stack}, ${first} to ${last} (UTC): ${usage.totals.users} user${usage.totals.users === 1 ? "" : "s"} with server time, ` +
      `${formatHours(usage.totals.serverHours)} server-hours\n${base}.csv\n${base}.html\n`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`report: ${(e as Error).message}\n`);
    process.exitCode = 2;
  },
);
