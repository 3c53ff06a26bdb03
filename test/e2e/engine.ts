/**
 * The Docker engine the end-to-end stacks run on, as the scenarios look at it: containers by name
 * or by a stack's labels, commands run in them, their health and their logs.
 */
import { execFile } from "node:child_process";
import Docker from "dockerode";
import { labelKeys } from "../../components/names";
import { prefix, stack } from "./stack";
import { waitFor, waitForHub } from "./wait";

export const docker = new Docker();

/** Fails with a clear message when no Docker engine answers (for a suite's `before`). */
export async function requireEngine(): Promise<void> {
  try {
    await docker.ping();
  } catch (e) {
    throw new Error(`no Docker engine: ${(e as Error).message}`, { cause: e });
  }
}

export async function inspectContainer(name: string): Promise<Docker.ContainerInspectInfo> {
  return docker.getContainer(name).inspect();
}

/** The container of exactly this name, or undefined. */
export async function containerNamed(name: string): Promise<Docker.ContainerInspectInfo | undefined> {
  const list = await docker.listContainers({ all: true, filters: { name: [`^/${name}$`] } });
  return list[0] ? docker.getContainer(list[0].Id).inspect() : undefined;
}

/** The user server container of a user, found by the stack's labels and its name. */
export async function userContainer(escapedName: string, stackName = stack!): Promise<Docker.ContainerInspectInfo | undefined> {
  const p = prefix(stackName);
  const list = await docker.listContainers({
    all: true,
    filters: { label: [`${labelKeys.component}=user`, `${labelKeys.prefix}=${p}`], name: [`^/${p}-user-${escapedName}$`] },
  });
  return list[0] ? docker.getContainer(list[0].Id).inspect() : undefined;
}

/** Runs a command in a container (`docker exec`) and returns its stdout; throws with stderr when it fails (bounded: 2 minutes). */
export function dockerExec(container: string, command: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("docker", ["exec", container, ...command], { timeout: 120_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`docker exec ${container} ${command.join(" ")}: ${error.message}\n${String(stderr)}`));
      else resolve(String(stdout));
    });
  });
}

/** Waits (bounded) until a container's healthcheck reports healthy; returns its inspection. */
export async function waitForHealthy(name: string, timeoutMs = 180_000): Promise<Docker.ContainerInspectInfo> {
  return waitFor(
    `${name} to be healthy`,
    async () => {
      const info = await inspectContainer(name);
      return info.State.Health?.Status === "healthy" ? info : undefined;
    },
    timeoutMs,
  );
}

/** Waits (bounded) until the deployed stack's hub container (or `container`) is healthy and its API answers again. */
export async function waitForHealthyHub(url: string, container = `${prefix()}-hub`): Promise<void> {
  await waitFor(
    "the hub to be healthy",
    async () => ((await inspectContainer(container)).State.Health?.Status === "healthy" ? true : undefined),
    180_000,
  );
  await waitForHub(url, 60);
}

/** Everything a container wrote to stdout and stderr (its `docker logs`), or only the last `tail` lines. */
export async function containerLogs(name: string, tail?: number): Promise<string> {
  const buf = (await docker.getContainer(name).logs({ stdout: true, stderr: true, ...(tail ? { tail } : {}) })) as unknown as Buffer;
  return buf.toString("utf8");
}

/** Like `containerLogs`, but says why instead of failing when there are none (e.g. no such container). */
export async function containerLogsOrWhy(name: string, tail?: number): Promise<string> {
  try {
    return await containerLogs(name, tail);
  } catch (e) {
    return `(no logs: ${(e as Error).message})`;
  }
}

/** A stack's containers (names), networks (ids, by name) and volumes (names) on the engine, found by its prefix. */
export async function engineObjects(stackPrefix: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const ours = { filters: { label: [`${labelKeys.prefix}=${stackPrefix}`] } };
  return {
    containers: (await docker.listContainers({ all: true, ...ours })).map((c) => c.Names[0]!.slice(1)).sort(),
    networks: (await docker.listNetworks({ filters: { name: [stackPrefix] } })).map((n) => n.Id),
    volumes: await stackVolumes(stackPrefix),
  };
}

/** The names of the volumes that carry a stack's prefix label, sorted. */
export async function stackVolumes(stackPrefix: string): Promise<string[]> {
  const list = await docker.listVolumes({ filters: { label: [`${labelKeys.prefix}=${stackPrefix}`] } });
  return (list.Volumes ?? []).map((v) => v.Name).sort();
}

/** The payload of a non-TTY container log (frames: 8-byte header, then the data). */
export function demux(buf: Buffer): string {
  const parts: Buffer[] = [];
  for (let i = 0; i + 8 <= buf.length;) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts).toString("utf8");
}
