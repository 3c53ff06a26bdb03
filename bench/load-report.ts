/**
 * The load run's report (bench/load-run.ts): how each user's attempt ended, the spawn times, the
 * latency of every kind of request (p50, p95, slowest) with their statuses, and the 5xx answers.
 */
import { type LoadResult } from "./load-run";
import { percentile } from "./traffic";

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** The users who got neither a server nor a clear "try later". */
export function unanswered(r: LoadResult) {
  return r.outcomes.filter((o) => o.outcome === "neither");
}

/** The report as lines of text. */
export function loadReport(r: LoadResult): string[] {
  const by = (k: string) => r.outcomes.filter((o) => o.outcome === k).length;
  const spawns = r.outcomes.flatMap((o) => (o.spawnMs === undefined ? [] : [o.spawnMs]));
  const lines = [
    `${r.outcomes.length} users logged in and asked for a server at once; all settled in ${r.seconds.toFixed(1)} s`,
    `  server: ${by("server")}, try later: ${by("try later")}, neither: ${by("neither")}`,
    ...unanswered(r).map((o) => `  neither: ${o.user}: ${o.detail}`),
    `spawn time (spawn form's POST until the hub lists the server ready): min ${seconds(Math.min(...spawns))}, p50 ${seconds(percentile(spawns, 50))}, p95 ${seconds(percentile(spawns, 95))}, max ${seconds(Math.max(...spawns))}`,
    `page loads of the flood while the spawns were under way: ${r.floodDuringSpawns}`,
    "",
    "latency per kind of request:",
    `  ${"kind".padEnd(34)} ${"count".padStart(6)} ${"p50".padStart(9)} ${"p95".padStart(9)} ${"slowest".padStart(9)}  statuses`,
  ];
  for (const s of r.traffic.summaries()) {
    const statuses = Object.entries(s.statuses)
      .map(([k, n]) => `${k === "0" ? "no answer" : k}: ${n}`)
      .join(", ");
    lines.push(
      `  ${s.kind.padEnd(34)} ${String(s.count).padStart(6)} ${seconds(s.p50).padStart(9)} ${seconds(s.p95).padStart(9)} ${seconds(s.max).padStart(9)}  ${statuses}`,
    );
  }
  const errors = r.traffic.serverErrors();
  lines.push("", `5xx answers: ${errors.length}`, ...errors.slice(0, 10).map((e) => `  ${e.kind}: HTTP ${e.status}`));
  return lines;
}
