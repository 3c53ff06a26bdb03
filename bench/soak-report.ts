/**
 * The soak run's report (bench/soak-run.ts): cycles and their times, what the user servers left on
 * the engine, the hub database's rows, the memory curve with its verdict, and the leaks.
 */
import { changedTables } from "./hub-database";
import { type Plateau } from "./hub-memory";
import { type SoakResult } from "./soak-run";
import { counts } from "./stack-objects";

const mib = (x: number) => `${x.toFixed(1)} MiB`;

function verdict(what: string, p: Plateau): string {
  if (Number.isNaN(p.firstQuarter)) return `${what}: too few samples to judge`;
  const growth = `first quarter ${p.firstQuarter >= 0 ? "+" : ""}${mib(p.firstQuarter)}, last quarter ${p.lastQuarter >= 0 ? "+" : ""}${mib(p.lastQuarter)}`;
  const slope = `${p.per100Cycles >= 0 ? "+" : ""}${mib(p.per100Cycles)} per 100 cycles over the second half`;
  return `${what}: ${p.levelsOff ? "levels off" : "still growing"} (${growth}; ${slope})`;
}

/** The report as lines of text. */
export function soakReport(r: SoakResult): string[] {
  const kinds = Object.entries(r.byKind).map(([k, n]) => `${n} ${k}`);
  const lines = [
    `${r.cycles} spawn/stop cycles in ${r.seconds.toFixed(0)} s (${kinds.join(", ")}); median start ${(r.medianStartMs / 1000).toFixed(2)} s, stop ${(r.medianStopMs / 1000).toFixed(2)} s; ${r.failures.length} failed`,
    ...r.failures.slice(0, 10).map((f) => `  failed: ${f}`),
    "",
    "user servers' objects on the engine:",
    `  before       ${counts(r.objects.before)}`,
    `  after        ${counts(r.objects.after)} (volumes kept by design, the users' own data: ${r.keptVolumes.length})`,
    `  cleaned up   ${counts(r.objects.cleanedUp)}`,
    "",
    `hub database (${r.database.before.kind}) rows per table that changed:`,
    `  first round (every user spawned once, kept by design): ${changedTables(r.database.before, r.database.warm).join("; ") || "none"}`,
    `  every cycle after it (none may grow): ${changedTables(r.database.warm, r.database.end).join("; ") || "none"}`,
    `  after the users were deleted, against before (none may grow): ${changedTables(r.database.before, r.database.cleanedUp).join("; ") || "none"}`,
  ];
  if (r.database.before.bytes !== null)
    lines.push(
      `  SQLite file: ${r.database.before.bytes} -> ${r.database.warm.bytes} -> ${r.database.end.bytes} -> ${r.database.cleanedUp.bytes} bytes`,
    );
  lines.push("", "resident memory of the main processes (VmRSS):", "  cycle        hub      proxy");
  for (const m of r.memory) lines.push(`  ${String(m.cycle).padStart(5)} ${mib(m.hub).padStart(10)} ${mib(m.proxy).padStart(10)}`);
  lines.push(`  ${verdict("hub", r.hubPlateau)}`, `  ${verdict("proxy", r.proxyPlateau)}`, "");
  lines.push(r.leaks.length ? `LEAKS (${r.leaks.length}):` : "leaks: none");
  for (const l of r.leaks) lines.push(`  ${l}`);
  return lines;
}
