/**
 * The spawn benchmark's report (bench/spawn.ts): spawn times per target against the floor, as
 * median and slowest with their ratios, and where a spawn's time goes, phase by phase.
 */

/** One spawn as the benchmark measured it. */
export interface Spawn {
  /** POST server -> the server answers GET /api through the proxy (ms). */
  readonly total: number;
  /** Phase -> ms after the POST. */
  readonly phases: Map<string, number>;
}

/** One line of the table: a way of spawning (one at a time, a crowd) with the floor and each target's spawns. */
export interface Row {
  readonly what: string;
  readonly floor: Spawn[];
  readonly results: Map<string, Spawn[]>;
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const slowest = (xs: number[]) => Math.max(...xs);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Prints the table of spawn times: median / slowest per target, and as a ratio to the floor. */
export function table(rows: Row[], labels: string[]): void {
  const totals = (spawns: Spawn[]) => spawns.map((s) => s.total);
  const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  console.log("\nspawn time: median / slowest, and as a ratio to the floor measured in the same run");
  console.log(`${"".padEnd(18)} ${"floor".padEnd(18)} ${labels.map((l) => l.padEnd(34)).join(" ")}`);
  for (const r of rows) {
    const f = totals(r.floor);
    const cells = labels.map((l) => {
      const t = totals(r.results.get(l)!);
      const text = `${seconds(median(t))} / ${seconds(slowest(t))} (${ratio(median(t), median(f))} / ${ratio(slowest(t), slowest(f))})`;
      return text.padEnd(34);
    });
    console.log(`${r.what.padEnd(18)} ${`${seconds(median(f))} / ${seconds(slowest(f))}`.padEnd(18)} ${cells.join(" ")}`);
  }
}

/** Prints the median time of each phase after the POST, and the step from the phase before. */
export function breakdown(label: string, what: string, spawns: Spawn[]): void {
  const labels = [...new Set(spawns.flatMap((s) => [...s.phases.keys()]))];
  const rows = labels
    .map((l) => ({ l, at: median(spawns.map((s) => s.phases.get(l)).filter((v): v is number => v !== undefined)) }))
    .sort((a, b) => a.at - b.at);
  console.log(`\nwhere a spawn's time goes, ${label}, ${what} (median time after the POST, and the step from the line before):`);
  let previous = 0;
  for (const { l, at } of rows) {
    console.log(`  ${seconds(at).padStart(8)}  (+${seconds(at - previous).padStart(7)})  ${l}`);
    previous = at;
  }
}
