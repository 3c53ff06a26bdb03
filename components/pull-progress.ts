/**
 * Long pulls made visible. The Docker provider's pull says nothing for the minutes a notebook image
 * of several GB takes; so during `pulumi up` (never in a preview) an image that is not on the engine
 * yet is pulled here first, through the engine's API with the registry's credentials, and its
 * progress is reported every few seconds (layers done, bytes of bytes) on the component that
 * declares it. The image's RemoteImage then finds it on the engine. An image already there is never
 * pulled again: a tag that moved upstream does not change what the stack runs.
 */
import Docker from "dockerode";
import type { RegistryCredentials } from "./registries";

/** Seconds between two progress reports of one pull. */
export const progressEverySeconds = 10;

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

/** The engine the stack deploys to: `docker:host` when the stack sets it, else DOCKER_HOST or the local socket. */
export function engineAt(host: string | undefined): Docker {
  if (!host) return new Docker();
  if (host.startsWith("unix://")) return new Docker({ socketPath: host.slice("unix://".length) });
  // docker-modem reads tcp:// and ssh:// addresses (and their TLS settings) from DOCKER_HOST only
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = host;
  try {
    return new Docker();
  } finally {
    if (saved === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = saved;
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
  const ticker = setInterval(() => report(`pulling ${ref}: ${tally.summary()}`, true), progressEverySeconds * 1000);
  try {
    const stream = await docker.pull(ref, authconfig ? { authconfig } : {});
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(
        stream,
        (error: Error | null, events: (PullEvent & { error?: string })[]) => {
          const failed = error?.message ?? events.find((e) => e.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve();
        },
        (event: PullEvent) => tally.add(event),
      ),
    );
  } catch (e) {
    throw new Error(`pulling ${ref} failed: ${(e as Error).message}`, { cause: e });
  } finally {
    clearInterval(ticker);
  }
  const downloaded = tally.downloaded();
  const what = downloaded > 0 ? `${bytes(downloaded)} downloaded` : "its layers were on the engine already";
  report(`pulled ${ref} (${what}) in ${Math.round((Date.now() - started) / 1000)} s`, false);
}

/** How long `pulumi up` waits for the Swarm nodes' pre-pulls (a notebook image of several GB on each node). */
export const prePullTimeoutMinutes = 60;

/** A task of a pre-pull service, as the manager lists it. */
interface Task {
  readonly NodeID?: string;
  readonly DesiredState?: string;
  readonly Status?: { readonly State?: string; readonly Err?: string; readonly Timestamp?: string };
}

/**
 * Swarm mode: waits until every pre-pull service runs a task on each node it should (its image is
 * then on that node), reporting each node's state every `progressEverySeconds`; throws with the
 * node's reason when a node cannot pull (a wrong password, an image the registry does not have).
 */
export async function waitForPrePull(docker: Docker, services: Readonly<Record<string, string>>, report: Report): Promise<void> {
  const started = Date.now();
  const hostnames = new Map<string, string>();
  const hostname = async (id: string) => {
    if (!hostnames.has(id))
      hostnames.set(id, ((await docker.getNode(id).inspect()) as { Description?: { Hostname?: string } }).Description?.Hostname ?? id);
    return hostnames.get(id)!;
  };
  let lastReport = 0;
  for (;;) {
    const states: string[] = [];
    let pending = 0;
    for (const [image, service] of Object.entries(services)) {
      const tasks = (await docker.listTasks({ filters: { service: [service] } })) as Task[];
      const current = tasks.filter((t) => t.DesiredState === "running");
      const failed = tasks.find((t) => t.Status?.State === "rejected" || (t.Status?.State === "failed" && t.Status.Err));
      if (failed) {
        throw new Error(
          `node ${await hostname(failed.NodeID ?? "?")} cannot pull the image ${image} (service ${service}): ${failed.Status?.Err ?? failed.Status?.State}`,
        );
      }
      for (const t of current) {
        const state = t.Status?.State ?? "new";
        if (state !== "running") pending++;
        states.push(`${image} on ${await hostname(t.NodeID ?? "?")}: ${state === "preparing" ? "pulling" : state}`);
      }
      if (current.length === 0) {
        pending++;
        states.push(`${image}: no node yet`);
      }
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    if (pending === 0) {
      report(`images on every node that may run them (${states.length} pre-pull tasks running) after ${seconds} s`, false);
      return;
    }
    if (seconds > prePullTimeoutMinutes * 60) {
      throw new Error(`the nodes' pre-pulls did not finish in ${prePullTimeoutMinutes} minutes: ${states.join("; ")}`);
    }
    if (Date.now() - lastReport >= progressEverySeconds * 1000) {
      lastReport = Date.now();
      report(`pre-pulling on the nodes (${seconds} s): ${states.join("; ")}`, true);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
