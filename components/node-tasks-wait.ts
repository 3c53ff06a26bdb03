/**
 * Swarm global services waited for, node by node: `pulumi up` goes on once each one runs, on every
 * node it is placed on, a task of what its spec names now (a pre-pull: the image is then on that
 * node; an egress guard: that node's rules are in place), reporting each node's state every few
 * seconds on the component that waits.
 */
import { isDeepStrictEqual } from "node:util";
import type Docker from "dockerode";
import { progressEverySeconds, type Report } from "./pull-progress";

/** How long `pulumi up` waits for the Swarm nodes' tasks (a pre-pull: a notebook image of several GB on each node). */
export const nodeTasksTimeoutMinutes = 60;

/** A task of a global service, as the manager lists it. */
interface Task {
  readonly NodeID?: string;
  readonly CreatedAt?: string;
  readonly DesiredState?: string;
  readonly Spec?: { readonly ContainerSpec?: ContainerSpec };
  readonly Status?: { readonly State?: string; readonly Err?: string };
}

/** What a task runs (its image, command, environment...), as Swarm copies it from the service. */
type ContainerSpec = Readonly<Record<string, unknown>>;

/** Failures in a row of one node's task after which `pulumi up` stops (Swarm retries meanwhile). */
export const failuresInARow = 3;
/** Seconds after which a service that no node takes (no node fits, or only paused ones) is reported and left. */
export const unplacedGraceSeconds = 30;

/** Where one global service stands: its nodes done, pending, failed, or none that takes it. */
export interface NodeTasksState {
  /** One line per node, e.g. "gispy on w2: pulling". */
  readonly nodes: readonly string[];
  readonly pending: number;
  /** Why the service cannot be placed (no node fits, a paused node), when so. */
  readonly unplaced?: string;
  /** The reason a node failed `failuresInARow` times in a row, when so. */
  readonly failed?: string;
}

const newestFirst = (a: Task, b: Task) => Date.parse(b.CreatedAt ?? "") - Date.parse(a.CreatedAt ?? "");

/**
 * Where a global service stands, from its tasks (pure): per node, the newest task of what the
 * service's spec names now (`wanted`, its ContainerSpec: for a pre-pull the image, for a guard its
 * rules too): running is done; a node still running an older version is pending (an update rolls out
 * one node at a time); failures count only in a row (a node that failed once under an old password
 * and runs now is done). Tasks no node takes (pending, without a node or on a paused one) are
 * `unplaced`.
 */
export function nodeTasksState(
  image: string,
  wanted: ContainerSpec,
  tasks: readonly Task[],
  hostname: (id: string) => string,
  failing: string,
): NodeTasksState {
  const byNode = new Map<string, Task[]>();
  for (const t of tasks) if (t.NodeID) byNode.set(t.NodeID, [...(byNode.get(t.NodeID) ?? []), t]);
  const nodes: string[] = [];
  const stuck: string[] = [];
  let pending = 0;
  let failed: string | undefined;
  for (const [node, all] of byNode) {
    const isWanted = (t: Task) => isDeepStrictEqual(t.Spec?.ContainerSpec ?? {}, wanted);
    const current = all.filter(isWanted).sort(newestFirst);
    const old = all.some((t) => t.DesiredState === "running" && !isWanted(t));
    const newest = current[0];
    if (!newest) {
      if (old) {
        pending++;
        nodes.push(`${image} on ${hostname(node)}: an older version, updating`);
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
    if (failures >= failuresInARow) failed ??= `node ${hostname(node)} ${failing} ${image}: ${newest.Status?.Err ?? state}`;
    if (newest.DesiredState !== "running" && !/^(rejected|failed)$/.test(state)) continue;
    pending++;
    nodes.push(`${image} on ${hostname(node)}: ${state === "preparing" ? "pulling" : state}`);
  }
  const waiting = tasks.filter((t) => !t.NodeID && t.DesiredState === "running").map((t) => t.Status?.Err ?? "no node takes it");
  const unplaced = byNode.size === 0 ? (waiting[0] ?? "no node may run it") : [...stuck, ...waiting].join("; ") || undefined;
  return { nodes, pending, ...(unplaced ? { unplaced } : {}), ...(failed ? { failed } : {}) };
}

/** What a wait is about, in its reports and errors. */
export interface NodeTasksWording {
  /** A node whose task failed in a row, before the service's key: "cannot pull" (a pre-pull). */
  readonly failing: string;
  /** The progress report's start: "pre-pulling on the nodes". */
  readonly progress: string;
  /** The report of the end: every node runs its tasks (`tasks` in all) after `seconds`. */
  readonly done: (tasks: number, seconds: number) => string;
  /** The report of a service (by its key) that no node takes yet, and why. */
  readonly unplaced: (key: string, reason: string) => string;
  /** What timed out: "the nodes' pre-pulls". */
  readonly whole: string;
}

/** The pre-pulls' wording: a service per image, keyed by the image's short name. */
export const prePullWording: NodeTasksWording = {
  failing: "cannot pull",
  progress: "pre-pulling on the nodes",
  done: (tasks, seconds) => `images on every node that may run them (${tasks} pre-pull tasks running) after ${seconds} s`,
  unplaced: (image, reason) => `no node takes the pre-pull of ${image} yet (${reason}): its servers wait for one`,
  whole: "the nodes' pre-pulls",
};

/**
 * Swarm mode: waits until every service (keyed) runs a task of what its spec names now (its image)
 * on each node it is placed on, reporting each node's state every `progressEverySeconds`. Throws with
 * the node's reason when a node failed `failuresInARow` times in a row (for a pre-pull: a
 * wrong password, an image the registry does not have); a service no node takes after
 * `unplacedGraceSeconds` (no node fits its constraints yet) is reported and not waited for.
 */
export async function waitForNodeTasks(
  docker: Docker,
  services: Readonly<Record<string, string>>,
  report: Report,
  wording: NodeTasksWording,
): Promise<void> {
  const started = Date.now();
  const hostnames = new Map<string, string>();
  let lastReport = 0;
  for (;;) {
    const states: [string, NodeTasksState][] = [];
    for (const [key, service] of Object.entries(services)) {
      const spec = (await docker.getService(service).inspect()) as { Spec?: { TaskTemplate?: { ContainerSpec?: ContainerSpec } } };
      const tasks = (await docker.listTasks({ filters: { service: [service] } })) as Task[];
      for (const id of new Set(tasks.map((t) => t.NodeID).filter((n): n is string => !!n))) {
        if (!hostnames.has(id)) {
          const node = (await docker.getNode(id).inspect()) as { Description?: { Hostname?: string } };
          hostnames.set(id, node.Description?.Hostname ?? id);
        }
      }
      const wanted = spec.Spec?.TaskTemplate?.ContainerSpec ?? {};
      const state = nodeTasksState(key, wanted, tasks, (id) => hostnames.get(id) ?? id, wording.failing);
      if (state.failed) throw new Error(`${state.failed} (service ${service})`);
      states.push([key, state]);
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    const unplaced = states.filter(([, s]) => s.unplaced !== undefined);
    const pending = states.reduce((n, [, s]) => n + s.pending, 0) + (seconds < unplacedGraceSeconds ? unplaced.length : 0);
    const lines = states.flatMap(([, s]) => s.nodes);
    if (pending === 0) {
      for (const [key, s] of unplaced) report(wording.unplaced(key, s.unplaced ?? ""), false);
      report(wording.done(lines.length, seconds), false);
      return;
    }
    if (seconds > nodeTasksTimeoutMinutes * 60) {
      throw new Error(`${wording.whole} did not finish in ${nodeTasksTimeoutMinutes} minutes: ${lines.join("; ")}`);
    }
    if (Date.now() - lastReport >= progressEverySeconds * 1000) {
      lastReport = Date.now();
      report(`${wording.progress} (${seconds} s): ${lines.join("; ")}`, true);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}
