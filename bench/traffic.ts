/**
 * Requests a benchmark made, each with its kind (login, page load, hub API, ...), its latency and
 * the status it ended with (0: no answer), and their percentiles per kind.
 */

/** One request (or one page load, its redirects included). */
export interface Timed {
  readonly kind: string;
  readonly ms: number;
  /** The final HTTP status; 0 when nothing answered (refused, reset, timed out). */
  readonly status: number;
  /** When it was sent (ms since the epoch). */
  readonly at: number;
}

/** Percentiles of one kind of request. */
export interface Summary {
  readonly kind: string;
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
  /** Count per status ("200": 12, "429": 1, "0": 0, ...). */
  readonly statuses: Record<string, number>;
}

/** The p-th percentile (0-100, nearest rank) of `xs`. */
export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The requests of one run. */
export class Traffic {
  readonly requests: Timed[] = [];

  /** Runs `call`, recording its latency and the status `statusOf` reads from its result (0 if it throws, rethrown). */
  async time<T>(kind: string, call: () => Promise<T>, statusOf: (result: T) => number): Promise<T> {
    const at = Date.now();
    try {
      const result = await call();
      this.requests.push({ kind, ms: Date.now() - at, status: statusOf(result), at });
      return result;
    } catch (e) {
      this.requests.push({ kind, ms: Date.now() - at, status: 0, at });
      throw e;
    }
  }

  /** Requests that ended with a server error (5xx). */
  serverErrors(): Timed[] {
    return this.requests.filter((r) => r.status >= 500);
  }

  /** Percentiles per kind, in the order the kinds first appeared. */
  summaries(): Summary[] {
    const kinds = [...new Set(this.requests.map((r) => r.kind))];
    return kinds.map((kind) => {
      const of = this.requests.filter((r) => r.kind === kind);
      const ms = of.map((r) => r.ms);
      const statuses: Record<string, number> = {};
      for (const r of of) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      return { kind, count: of.length, p50: percentile(ms, 50), p95: percentile(ms, 95), max: Math.max(...ms), statuses };
    });
  }
}
