/**
 * What the user servers of a stack leave on this Docker host, counted so that a run of spawns and
 * stops can be checked for leaks: the user servers' containers and networks (by the labels the hub
 * puts on them), the networks' subnets in spawner.networkPool, the host's routes into that pool
 * (one per bridge network), the stack's volumes, and the proxy's routes (configurable-http-proxy's
 * REST API, asked from inside the proxy container with its own token).
 */
import { readFile } from "node:fs/promises";
import { endpoints, userNetworkSelector, userServerSelector } from "../components/names";
import { docker, dockerExec } from "../test/e2e/engine";
import { type HubStack } from "./hub-stack";

/** One kind of object and the names (or addresses, or paths) of those present. */
export type ObjectKind = "containers" | "networks" | "subnets" | "host routes" | "proxy routes" | "volumes";
export type Objects = Record<ObjectKind, string[]>;
export const objectKinds: readonly ObjectKind[] = ["containers", "networks", "subnets", "host routes", "proxy routes", "volumes"];

const selector = (labels: Record<string, string>) => Object.entries(labels).map(([k, v]) => `${k}=${v}`);

/** An IPv4 address as a number. */
function ipv4(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/** Whether `cidr` lies inside `pool` (both a.b.c.d/len). */
export function inPool(cidr: string, pool: string): boolean {
  const [address = "", len = "32"] = cidr.split("/");
  const [poolAddress = "", poolLen = "32"] = pool.split("/");
  if (Number(len) < Number(poolLen)) return false;
  const size = 2 ** (32 - Number(poolLen));
  return Math.floor(ipv4(address) / size) === Math.floor(ipv4(poolAddress) / size);
}

/** The host's IPv4 routes (from /proc/net/route, little-endian hex) as a.b.c.d/len. */
async function hostRoutes(): Promise<string[]> {
  const text = await readFile("/proc/net/route", "utf8");
  const hex = (h: string) => [6, 4, 2, 0].map((i) => parseInt(h.slice(i, i + 2), 16)).join(".");
  const bits = (h: string) => [...parseInt(h, 16).toString(2)].filter((b) => b === "1").length;
  return text
    .split("\n")
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 8)
    .map((f) => `${hex(f[1]!)}/${bits(f[7]!)} dev ${f[0]}`);
}

/** The proxy's routing table (configurable-http-proxy's GET /api/routes), asked inside the proxy container. */
export async function proxyRoutes(stack: HubStack): Promise<string[]> {
  const info = await docker.getContainer(stack.proxyContainer).inspect();
  const apiIp = info.NetworkSettings.Networks[stack.prefix]?.IPAddress;
  if (!apiIp) throw new Error(`${stack.proxyContainer} is not on the network ${stack.prefix}`);
  const script =
    `fetch("http://${apiIp}:${endpoints.proxyApiPort}/api/routes", ` +
    `{ headers: { Authorization: "token " + process.env.CONFIGPROXY_AUTH_TOKEN }, signal: AbortSignal.timeout(20000) })` +
    `.then(async (r) => { if (!r.ok) throw new Error("HTTP " + r.status); console.log(await r.text()); })` +
    `.catch((e) => { console.error(String(e)); process.exit(1); })`;
  return Object.keys(JSON.parse(await dockerExec(stack.proxyContainer, ["node", "-e", script])) as Record<string, unknown>).sort();
}

/** Everything of the stack's user servers present now. */
export async function userObjects(stack: HubStack, pool: string): Promise<Objects> {
  const containers = await docker.listContainers({ all: true, filters: { label: selector(userServerSelector(stack.prefix)) } });
  const networks = await docker.listNetworks({ filters: { label: selector(userNetworkSelector(stack.prefix)) } });
  const subnets = networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => c.Subnet ?? "")).filter((s) => s && inPool(s, pool));
  const volumes = (await docker.listVolumes({ filters: { name: [stack.prefix] } })).Volumes ?? [];
  return {
    containers: containers.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, "")).sort(),
    networks: networks.map((n) => n.Name).sort(),
    subnets: subnets.sort(),
    "host routes": (await hostRoutes()).filter((r) => inPool(r.split(" ")[0]!, pool)).sort(),
    "proxy routes": (await proxyRoutes(stack)).filter((r) => r !== "/"),
    volumes: volumes
      .map((v) => v.Name)
      .filter((v) => v.startsWith(`${stack.prefix}-`))
      .sort(),
  };
}

/** What is in `after` and was not in `before`, per kind, except what `kept` says stays by design. */
export function newObjects(before: Objects, after: Objects, kept: (kind: ObjectKind, name: string) => boolean = () => false): Objects {
  const added = {} as Objects;
  for (const kind of objectKinds) added[kind] = after[kind].filter((x) => !before[kind].includes(x) && !kept(kind, x));
  return added;
}

/** The number of objects of each kind, e.g. "containers 0, networks 0, ...". */
export function counts(objects: Objects): string {
  return objectKinds.map((k) => `${k} ${objects[k].length}`).join(", ");
}
