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

/** How long `pulumi up` waits for the Swarm nodes' pre-pulls (a notebook image of several GB on each node). */
export const prePullTimeoutMinutes = 60;

/** A task of a pre-pull service, as the manager lists it. */
interface Task {
  readonly NodeID?: string;
  readonly CreatedAt?: string;
  readonly DesiredState?: string;
  readonly Spec?: { readonly ContainerSpec?: { readonly Image?: string } };
  readonly Status?: { readonly State?: string; readonly Err?: string };
}

/** Failures in a row of one node's pre-pull after which `pulumi up` stops (Swarm retries meanwhile). */
export const prePullFailuresInARow = 3;
/** Seconds after which a pre-pull that no node takes (no node fits, or only paused ones) is reported and left. */
export const unplacedGraceSeconds = 30;

/** Where one pre-pull service stands: its nodes done, pending, failed, or none that takes it. */
export interface PrePullState {
  /** One line per node, e.g. "gispy on w2: pulling". */
  readonly nodes: readonly string[];
  readonly pending: number;
  /** Why the service cannot be placed (no node fits, a paused node), when so. */
  readonly unplaced?: string;
  /** The reason a node failed `prePullFailuresInARow` times in a row, when so. */
  readonly failed?: string;
}

const newestFirst = (a: Task, b: Task) => Date.parse(b.CreatedAt ?? "") - Date.parse(a.CreatedAt ?? "");

/**
 * Where a pre-pull service stands, from its tasks (pure): per node, the newest task of the image the
 * service names now: running is done; a node still running an older image is pending (an update
 * rolls out one node at a time); failures count only in a row (a node that failed once under an old
 * password and runs now is done). Tasks no node takes (pending, without a node or on a paused one)
 * are `unplaced`.
 */
export function prePullState(image: string, wanted: string, tasks: readonly Task[], hostname: (id: string) => string): PrePullState {
  const byNode = new Map<string, Task[]>();
  for (const t of tasks) if (t.NodeID) byNode.set(t.NodeID, [...(byNode.get(t.NodeID) ?? []), t]);
  const nodes: string[] = [];
  const stuck: string[] = [];
  let pending = 0;
  let failed: string | undefined;
  for (const [node, all] of byNode) {
    const current = all.filter((t) => t.Spec?.ContainerSpec?.Image === wanted).sort(newestFirst);
    const old = all.some((t) => t.DesiredState === "running" && t.Spec?.ContainerSpec?.Image !== wanted);
    const newest = current[0];
    if (!newest) {
      if (old) {
        pending++;
        nodes.push(`${image} on ${hostname(node)}: an older image, updating`);
      }
      continue;
    }
    const state = newest.Status?.State ?? "new";
    if (state === "running") {
      nodes.push(`${image} on ${hostname(node)}: there`);
      continue;
    }
    if (state === "pending") {
      // a node that takes no new task (paused, or short of resources)
      stuck.push(`${hostname(node)}: ${newest.Status?.Err ?? "the node takes no new task"}`);
      continue;
    }
    const inARow = current.findIndex((t) => !/^(rejected|failed)$/.test(t.Status?.State ?? ""));
    const failures = inARow < 0 ? current.length : inARow;
    if (failures >= prePullFailuresInARow) failed ??= `node ${hostname(node)} cannot pull ${image}: ${newest.Status?.Err ?? state}`;
    if (newest.DesiredState !== "running" && !/^(rejected|failed)$/.test(state)) continue;
    pending++;
    nodes.push(`${image} on ${hostname(node)}: ${state === "preparing" ? "pulling" : state}`);
  }
  const waiting = tasks.filter((t) => !t.NodeID && t.DesiredState === "running").map((t) => t.Status?.Err ?? "no node takes it");
  const unplaced = byNode.size === 0 ? (waiting[0] ?? "no node may run it") : [...stuck, ...waiting].join("; ") || undefined;
  return { nodes, pending, ...(unplaced ? { unplaced } : {}), ...(failed ? { failed } : {}) };
}

/**
 * Swarm mode: waits until every pre-pull service runs the image it names on each node it is placed
 * on (the image is then on that node), reporting each node's state every `progressEverySeconds`.
 * Throws with the node's reason when a node failed `prePullFailuresInARow` times in a row (a wrong
 * password, an image the registry does not have); a service no node takes after
 * `unplacedGraceSeconds` (no node fits its constraints yet) is reported and not waited for.
 */
export async function waitForPrePull(docker: Docker, services: Readonly<Record<string, string>>, report: Report): Promise<void> {
  const started = Date.now();
  const hostnames = new Map<string, string>();
  let lastReport = 0;
  for (;;) {
    const states: [string, PrePullState][] = [];
    for (const [image, service] of Object.entries(services)) {
      const spec = (await docker.getService(service).inspect()) as { Spec?: { TaskTemplate?: { ContainerSpec?: { Image?: string } } } };
      const tasks = (await docker.listTasks({ filters: { service: [service] } })) as Task[];
      for (const id of new Set(tasks.map((t) => t.NodeID).filter((n): n is string => !!n))) {
        if (!hostnames.has(id)) {
          const node = (await docker.getNode(id).inspect()) as { Description?: { Hostname?: string } };
          hostnames.set(id, node.Description?.Hostname ?? id);
        }
      }
      const state = prePullState(image, spec.Spec?.TaskTemplate?.ContainerSpec?.Image ?? "", tasks, (id) => hostnames.get(id) ?? id);
      if (state.failed) throw new Error(`${state.failed} (service ${service})`);
      states.push([image, state]);
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    const unplaced = states.filter(([, s]) => s.unplaced !== undefined);
    const pending = states.reduce((n, [, s]) => n + s.pending, 0) + (seconds < unplacedGraceSeconds ? unplaced.length : 0);
    const lines = states.flatMap(([, s]) => s.nodes);
    if (pending === 0) {
      for (const [image, s] of unplaced)
        report(`no node takes the pre-pull of ${image} yet (${s.unplaced}): its servers wait for one`, false);
      report(`images on every node that may run them (${lines.length} pre-pull tasks running) after ${seconds} s`, false);
      return;
    }
    if (seconds > prePullTimeoutMinutes * 60) {
      throw new Error(`the nodes' pre-pulls did not finish in ${prePullTimeoutMinutes} minutes: ${lines.join("; ")}`);
    }
    if (Date.now() - lastReport >= progressEverySeconds * 1000) {
      lastReport = Date.now();
      report(`pre-pulling on the nodes (${seconds} s): ${lines.join("; ")}`, true);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
