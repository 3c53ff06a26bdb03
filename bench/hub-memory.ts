/**
 * The resident memory of the hub's and the proxy's processes over a long run: each container's main
 * process (the JupyterHub process, configurable-http-proxy's node), its VmRSS read from the host's
 * /proc, sampled every so many cycles, and whether the curve levels off.
 */
import { readFile } from "node:fs/promises";
import { docker } from "../test/e2e/engine";
import { type HubStack } from "./hub-stack";

/** One sample of the curve. */
export interface MemorySample {
  /** Spawn/stop cycles done when it was taken. */
  readonly cycle: number;
  /** Resident memory in MiB. */
  readonly hub: number;
  readonly proxy: number;
}

/** Whether a curve levels off, and the figures that decide it. */
export interface Plateau {
  readonly levelsOff: boolean;
  /** Growth (MiB) over the first and over the last quarter of the samples. */
  readonly firstQuarter: number;
  readonly lastQuarter: number;
  /** Growth over the second half of the run, in MiB per 100 cycles. */
  readonly per100Cycles: number;
}

/** VmRSS (MiB) of a container's main process, from the host's /proc. */
export async function residentMiB(container: string): Promise<number> {
  const pid = (await docker.getContainer(container).inspect()).State.Pid;
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  if (!kib) throw new Error(`no VmRSS for ${container}'s process ${pid}`);
  return Number(kib) / 1024;
}

/** Samples the hub's and the proxy's resident memory now, after `cycle` cycles. */
export async function sample(stack: HubStack, cycle: number): Promise<MemorySample> {
  const [hub, proxy] = await Promise.all([residentMiB(stack.hubContainer), residentMiB(stack.proxyContainer)]);
  return { cycle, hub, proxy };
}

/**
 * A curve levels off when it grows over its last quarter by at most a quarter of its growth over
 * the first quarter, or by less than `noiseMiB` (an allocator's page here and there). Fewer than
 * 8 samples decide nothing: `levelsOff` is then true and the figures are NaN.
 */
export function plateau(samples: readonly MemorySample[], of: "hub" | "proxy", noiseMiB = 2): Plateau {
  const q = Math.floor(samples.length / 4);
  if (q < 2) return { levelsOff: true, firstQuarter: NaN, lastQuarter: NaN, per100Cycles: NaN };
  const v = (i: number) => samples.at(i)![of];
  const firstQuarter = v(q) - v(0);
  const lastQuarter = v(-1) - v(-1 - q);
  const mid = Math.floor(samples.length / 2);
  const span = samples.at(-1)!.cycle - samples[mid]!.cycle;
  const per100Cycles = span > 0 ? ((v(-1) - v(mid)) / span) * 100 : NaN;
  return { levelsOff: lastQuarter <= Math.max(noiseMiB, firstQuarter / 4), firstQuarter, lastQuarter, per100Cycles };
}
