/**
 * What a usage report asks Prometheus, day by day, through promtool (`promtool query range` for the
 * whole days, `promtool query instant` for a single whole day and for the day that ends at the time
 * of the report), with JSON output: the same `[{metric, values}]` / `[{metric, value}]` shape as
 * `data.result` of Prometheus's HTTP API.
 *
 * Each query is evaluated at the end of a day over that day (`[<seconds>s]`), so one range query
 * with a step of a day answers for every whole day at once.
 */
import { type Day, daySeconds, type Period } from "./period";
import { type DaySample, daySamples } from "./results";

/** Where promtool is in the Prometheus image (the upstream image and the stand-in alike). */
export const promtoolPath = "/bin/promtool";

/** The metrics a report reads, each as the PromQL over a window of `seconds` ending at the evaluation time. */
export const reportQueries = {
  /** Samples of each user's running servers by image: one sample per scrape of a running server. */
  running: (seconds: number) => `sum by (user, image) (count_over_time(gmap_server_running[${seconds}s]))`,
  /** Each user's highest memory in use (any one of their servers). */
  memory: (seconds: number) => `max by (user) (max_over_time(gmap_server_memory_bytes[${seconds}s]))`,
  /** Each user's groups (a membership seen at any time of the window). */
  groups: (seconds: number) => `max by (user, group) (max_over_time(gmap_user_group[${seconds}s]))`,
  /** JupyterHub's own count of users active in the 24 hours before, its last value in the window. */
  hubActiveUsers: (seconds: number) => `max(last_over_time(jupyterhub_active_users{period="24h"}[${seconds}s]))`,
} as const;

export type QueryName = keyof typeof reportQueries;

/** The answers of every query, as samples by day. */
export type QueryResults = Record<QueryName, DaySample[]>;

/** One evaluation of the queries: a range of whole days (a step of a day) or one instant. */
export type Evaluation =
  | { readonly kind: "range"; readonly start: number; readonly end: number; readonly window: number }
  | { readonly kind: "instant"; readonly time: number; readonly window: number };

/** The evaluations that cover the period's days: one range for the whole days (or an instant if there is one), an instant for a shorter last day. */
export function evaluations(days: readonly Day[]): Evaluation[] {
  const whole = days.filter((d) => d.end - d.start === daySeconds);
  const short = days.filter((d) => d.end - d.start !== daySeconds);
  const out: Evaluation[] = [];
  if (whole.length === 1) out.push({ kind: "instant", time: whole[0]!.end, window: daySeconds });
  if (whole.length > 1) out.push({ kind: "range", start: whole[0]!.end, end: whole[whole.length - 1]!.end, window: daySeconds });
  for (const d of short) out.push({ kind: "instant", time: d.end, window: d.end - d.start });
  return out;
}

/** promtool's arguments (after the program) for `expr` at `evaluation`, against the Prometheus at `server`. */
export function promtoolArgs(evaluation: Evaluation, server: string, expr: string): string[] {
  return evaluation.kind === "range"
    ? ["query", "range", "--format=json", `--start=${evaluation.start}`, `--end=${evaluation.end}`, `--step=${daySeconds}s`, server, expr]
    : ["query", "instant", "--format=json", `--time=${evaluation.time}`, server, expr];
}

/** Runs promtool with these arguments and returns its standard output (throws when it fails). */
export type Promtool = (args: readonly string[]) => Promise<string>;

/** Asks every query for every day of the period, one promtool run after the other. */
export async function collectResults(period: Period, server: string, promtool: Promtool): Promise<QueryResults> {
  const plan = evaluations(period.days);
  const results = {} as QueryResults;
  for (const name of Object.keys(reportQueries) as QueryName[]) {
    results[name] = [];
    for (const evaluation of plan) {
      const output = await promtool(promtoolArgs(evaluation, server, reportQueries[name](evaluation.window)));
      results[name].push(...daySamples(output, period.days));
    }
  }
  return results;
}
