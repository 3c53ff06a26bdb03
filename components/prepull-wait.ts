/**
 * The swarm pre-pulls waited for: `pulumi up` goes on (the hub depends on it) once every pre-pull
 * service runs the image it names now on each node it is placed on, reporting each node's state
 * every few seconds on the pre-pull component.
 */
import type Docker from "dockerode";
import { progressEverySeconds, type Report } from "./pull-progress";

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
