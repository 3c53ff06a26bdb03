/**
 * The period a usage report covers: `--since` (a whole number of hours, days or weeks) back from
 * now, widened to start at a UTC midnight, cut into UTC days; the last day ends at the time of the
 * report.
 */

/** Seconds in a day. */
export const daySeconds = 86_400;

/** The longest period a report covers (ten years; Prometheus rarely keeps that much). */
const maxSinceSeconds = 3660 * daySeconds;

const unitSeconds: Readonly<Record<string, number>> = { h: 3600, d: daySeconds, w: 7 * daySeconds };

/** One UTC day of the period: its date and its span in Unix seconds (`end` is the next midnight, or the time of the report). */
export interface Day {
  /** YYYY-MM-DD (UTC). */
  readonly date: string;
  readonly start: number;
  readonly end: number;
}

export interface Period {
  /** Unix seconds of the first day's midnight (UTC). */
  readonly from: number;
  /** Unix seconds of the report's time (the end of the last day). */
  readonly to: number;
  /** Every UTC day from `from` to `to`, oldest first; all are whole but the last, which may end early. */
  readonly days: readonly Day[];
}

/** A `--since` that is not a duration the report takes. */
export class SinceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SinceError";
  }
}

/** The seconds of a `--since` value: a whole number and h, d or w (12h, 30d, 8w). */
export function parseSince(text: string): number {
  const m = /^([0-9]+)([hdw])$/.exec(text);
  if (!m) throw new SinceError(`--since ${JSON.stringify(text)} is not a duration: give a whole number and h, d or w (e.g. 12h, 30d, 8w)`);
  const seconds = Number(m[1]) * unitSeconds[m[2]!]!;
  if (seconds === 0) throw new SinceError("--since must be at least 1h");
  if (seconds > maxSinceSeconds) throw new SinceError(`--since ${text} is longer than ${maxSinceSeconds / daySeconds} days`);
  return seconds;
}

/** The UTC date (YYYY-MM-DD) of Unix seconds. */
export function utcDate(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 10);
}

/** The period of a report made at `now` that goes back `sinceSeconds`, starting at the UTC midnight before. */
export function reportPeriod(sinceSeconds: number, now: Date): Period {
  const to = Math.floor(now.getTime() / 1000);
  const from = Math.floor((to - sinceSeconds) / daySeconds) * daySeconds;
  const days: Day[] = [];
  for (let start = from; start < to; start += daySeconds) days.push({ date: utcDate(start), start, end: Math.min(start + daySeconds, to) });
  return { from, to, days };
}
