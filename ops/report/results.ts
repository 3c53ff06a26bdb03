/**
 * promtool's JSON output (`--format=json`), the `data.result` of Prometheus's HTTP API: a matrix
 * (`[{"metric": {...}, "values": [[<unix seconds>, "<value>"], ...]}]`) for a range query, a vector
 * (`[{"metric": {...}, "value": [<unix seconds>, "<value>"]}]`) for an instant query. Each point
 * becomes a sample of the day whose end is its time.
 */
import { z } from "zod";
import type { Day } from "./period";

const point = z.tuple([z.number(), z.string()]);
const series = z.array(
  z.object({
    metric: z.record(z.string(), z.string()),
    value: point.optional(),
    values: z.array(point).optional(),
  }),
);

/** A value of one series for one day. */
export interface DaySample {
  /** The day's date (YYYY-MM-DD). */
  readonly date: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** The samples in promtool's JSON output `text`; each point's time is the end of one of `days`. Values that are not numbers (NaN) are left out. */
export function daySamples(text: string, days: readonly Day[]): DaySample[] {
  let parsed;
  try {
    parsed = series.parse(JSON.parse(text));
  } catch (e) {
    throw new Error(`promtool's output is not a JSON query result (${(e as Error).message.split("\n")[0]}): ${text.slice(0, 200)}`, {
      cause: e,
    });
  }
  const byEnd = new Map(days.map((d) => [d.end, d.date]));
  const out: DaySample[] = [];
  for (const s of parsed) {
    for (const [time, raw] of [...(s.value ? [s.value] : []), ...(s.values ?? [])]) {
      const date = byEnd.get(Math.round(time));
      if (date === undefined)
        throw new Error(`promtool answered for ${new Date(time * 1000).toISOString()}, which ends no day of the report`);
      const value = Number(raw);
      if (Number.isFinite(value)) out.push({ date, labels: s.metric, value });
    }
  }
  return out;
}
