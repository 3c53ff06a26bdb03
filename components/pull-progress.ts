/**
 * Long pulls made visible. The Docker provider's pull says nothing for the minutes a notebook image
 * of several GB takes; so during `pulumi up` (never in a preview) an image that is not on the engine
 * yet is pulled here first, through the engine's API with the registry's credentials, and its
 * progress is reported every few seconds (layers done, bytes of bytes) on the component that
 * declares it. The image's RemoteImage then finds it on the engine. An image already there is never
 * pulled again: a tag that moved upstream does not change what the stack runs.
 */
import type Docker from "dockerode";
import type { RegistryCredentials } from "./registries";

/** Seconds between two progress reports of one pull. */
export const progressEverySeconds = 10;
/** Minutes without any progress after which a pull is given up. */
export const stallMinutes = 10;

/** How a pull reports: a line, and whether it is only progress (shown while it runs, not kept). */
export type Report = (message: string, progress: boolean) => void;

/** One event of the engine's pull stream. */
interface PullEvent {
  readonly id?: string;
  readonly status?: string;
  readonly progressDetail?: { readonly current?: number; readonly total?: number };
}

const units = ["B", "KiB", "MiB", "GiB", "TiB"];
export function bytes(n: number): string {
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** The state of a pull from its events: per layer, bytes downloaded of its size, and whether it is there. */
export class PullTally {
  private readonly layers = new Map<string, { current: number; total: number; done: boolean }>();

  add(event: PullEvent): void {
    if (!event.id || !event.status) return;
    const layer = this.layers.get(event.id) ?? { current: 0, total: 0, done: false };
    if (event.status === "Downloading" && event.progressDetail?.total) {
      layer.current = event.progressDetail.current ?? layer.current;
      layer.total = event.progressDetail.total;
    } else if (/^(Download complete|Pull complete|Already exists)$/.test(event.status)) {
      layer.current = layer.total;
      layer.done = true;
    } else if (!/^(Pulling fs layer|Waiting|Verifying Checksum|Extracting)$/.test(event.status)) {
      // "Pulling from ...", "Digest: ...", "Status: ...": not a layer
      return;
    }
    this.layers.set(event.id, layer);
  }

  /** e.g. "312 MiB of 1.4 GiB, 4 of 9 layers". */
  summary(): string {
    const all = [...this.layers.values()];
    const current = all.reduce((s, l) => s + l.current, 0);
    const total = all.reduce((s, l) => s + l.total, 0);
    const done = all.filter((l) => l.done).length;
    return `${bytes(current)}${total ? ` of ${bytes(total)}` : ""}, ${done} of ${all.length} layers`;
  }

  /** Bytes downloaded so far. */
  downloaded(): number {
    return [...this.layers.values()].reduce((s, l) => s + l.current, 0);
  }
}

/**
 * Pulls `ref` unless the engine has it, reporting progress every `progressEverySeconds` and a last
 * line with the size and time; throws with the engine's reason when the pull fails.
 */
export async function pullAhead(docker: Docker, ref: string, credentials: RegistryCredentials | undefined, report: Report): Promise<void> {
  const present = await docker
    .getImage(ref)
    .inspect()
    .then(
      () => true,
      (e: { statusCode?: number }) => {
        if (e.statusCode === 404) return false;
        throw e;
      },
    );
  if (present) return;
  const started = Date.now();
  const tally = new PullTally();
  const authconfig = credentials
    ? { username: credentials.username, password: credentials.password, serveraddress: credentials.server }
    : undefined;
  report(`pulling ${ref}`, true);
  let ticker: NodeJS.Timeout | undefined;
  try {
    const stream = await docker.pull(ref, authconfig ? { authconfig } : {});
    let lastEvent = Date.now();
    await new Promise<void>((resolve, reject) => {
      ticker = setInterval(() => {
        // a pull that stalls (a registry that stops answering) ends instead of holding `pulumi up`
        if (Date.now() - lastEvent > stallMinutes * 60_000) {
          (stream as NodeJS.ReadableStream & { destroy(e: Error): void }).destroy(new Error(`no progress for ${stallMinutes} minutes`));
        } else report(`pulling ${ref}: ${tally.summary()}`, true);
      }, progressEverySeconds * 1000);
      docker.modem.followProgress(
        stream,
        (error: Error | null, events: (PullEvent & { error?: string })[]) => {
          const failed = error?.message ?? events.find((e) => e.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve();
        },
        (event: PullEvent) => {
          lastEvent = Date.now();
          tally.add(event);
        },
      );
    });
  } catch (e) {
    throw new Error(`pulling ${ref} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    clearInterval(ticker);
  }
  const downloaded = tally.downloaded();
  const what = downloaded > 0 ? `${bytes(downloaded)} downloaded` : "its layers were on the engine already";
  report(`pulled ${ref} (${what}) in ${Math.round((Date.now() - started) / 1000)} s`, false);
}
