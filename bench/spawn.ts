/**
 * Spawn latency of a running hub, against the floor measured in the same run (the same notebook
 * image started with `docker run` on a network of its own, until its HTTP API answers) and against
 * the reference deployment (jupyterhub-deploy-docker's basic example, bench/reference/), started
 * by the benchmark from the same images on the same host; the floor again with the user servers'
 * protections (privileges, process and log limits) shows what they cost. Prints, for one spawn at a time and for
 * crowds, the median and slowest times and their ratios to the floor; where a spawn's time goes
 * (bench/timeline.ts); and the resident memory of the hubs, the proxies and the user servers.
 *
 *   . test/infra/pulumi-env.sh && node --import tsx test/e2e/deploy.ts up e2e   (prints HUB_URL, HUB_TOKEN)
 *   HUB_URL=... HUB_TOKEN=... npm run bench -- [rounds] [crowd sizes...]      (default: 5 10 20)
 *
 * Everything it creates carries the label org.europlanet-gmap.bench and is removed at the end
 * (bench users, their servers and volumes, the reference deployment).
 */
import Docker from "dockerode";
import { parseConfig } from "../components/config";
import { containerLogOptions } from "../components/containers";
import { escapeUserName } from "../components/identity";
import { serverPrivileges } from "../components/server-security";
import { labelKeys } from "../components/names";
import { HubApi } from "../test/e2e/hub-api";
import { uniqueName } from "../test/e2e/user-names";
import { type Reference, startReference } from "./reference";
import { breakdown, median, type Row, type Spawn, table } from "./report";
import { EngineEvents, phasesOf, timedLog } from "./timeline";

const [rounds = 5, ...crowds] = process.argv.slice(2).map(Number);
const crowdSizes = crowds.length ? crowds : [10, 20];
const docker = new Docker();
const BENCH = { "org.europlanet-gmap.bench": "spawn" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 50 ms until it returns true; bounded (180 s). */
async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * What every user server runs with by default (components/server-security.ts, spawner.pidsLimit,
 * logs): the floor measured with them too shows what they cost a container's start.
 */
const defaults = parseConfig({});
const privileges = serverPrivileges(defaults);
const protections = {
  SecurityOpt: privileges.noNewPrivileges ? ["no-new-privileges:true"] : [],
  CapDrop: privileges.capDrop,
  CapAdd: privileges.capAdd,
  PidsLimit: defaults.spawner.pidsLimit,
  LogConfig: { Type: "json-file", Config: containerLogOptions(defaults.logs) },
};
const FLOOR_PROTECTED = "floor + protections";

/** The floor: `docker run` of the image on `network` until GET /api answers, for n at once (with the user servers' protections: `guarded`). */
async function floor(image: string, network: string, n: number, events: EngineEvents, guarded = false): Promise<Spawn[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const name = uniqueName("gmap-bench-floor");
      const t0 = Date.now();
      const c = await docker.createContainer({
        name,
        Image: image,
        Labels: BENCH,
        HostConfig: { NetworkMode: network, AutoRemove: false, ...(guarded ? protections : {}) },
      });
      try {
        await c.start();
        const ip = (await c.inspect()).NetworkSettings.Networks[network]!.IPAddress;
        await until(
          `the floor container's API`,
          async () => (await fetch(`http://${ip}:8888/api`, { signal: AbortSignal.timeout(2000) })).ok,
        );
        const total = Date.now() - t0;
        const phases = await phasesOf({ user: name, t0, container: name }, events, []);
        phases.set("client: server answers", total);
        return { total, phases };
      } finally {
        await c.remove({ force: true });
      }
    }),
  );
}

/** A hub the benchmark spawns on: this project's deployment or the reference. */
interface Target {
  readonly label: string;
  readonly api: HubApi;
  readonly hubContainer: string;
  readonly proxyContainer: string;
  readonly userContainer: (escaped: string) => string;
  readonly userVolume: (escaped: string) => string;
  readonly userNetwork?: (escaped: string) => string;
  readonly hubAndProxyIds?: readonly string[];
}

/** Spawns the servers of `names` at once through the hub API, until each answers through the proxy. */
async function spawn(target: Target, names: string[], events: EngineEvents): Promise<Spawn[]> {
  const runs = await Promise.all(
    names.map(async (name) => {
      const phases = new Map<string, number>();
      const t0 = Date.now();
      const res = await target.api.request(`/hub/api/users/${encodeURIComponent(name)}/server`, { method: "POST", body: "{}" });
      const body = await res.text();
      if (res.status === 429) {
        // the hub's own limits (spawner.concurrentSpawnLimit, maxServers, memoryBudget) refuse crowds larger than they allow
        throw new Error(`${target.label}: spawn ${name}: HTTP 429 ${body.slice(0, 300)}: choose crowds within the stack's limits`);
      }
      if (![201, 202].includes(res.status)) throw new Error(`${target.label}: spawn ${name}: HTTP ${res.status}`);
      phases.set(`hub: POST answered (${res.status === 201 ? "ready" : "still pending"})`, Date.now() - t0);
      await until(`${name}'s server through the proxy`, async () => {
        const r = await target.api.request(`/user/${encodeURIComponent(name)}/api`);
        await r.arrayBuffer();
        return r.status === 200;
      });
      const total = Date.now() - t0;
      phases.set("client: server answers through the proxy", total);
      return { name, t0, total, phases };
    }),
  );
  const hubLog = await timedLog(target.hubContainer, Math.min(...runs.map((r) => r.t0)));
  for (const r of runs) {
    const e = escapeUserName(r.name);
    const found = await phasesOf(
      {
        user: r.name,
        t0: r.t0,
        container: target.userContainer(e),
        network: target.userNetwork?.(e),
        hubAndProxy: target.hubAndProxyIds,
      },
      events,
      hubLog,
    );
    for (const [k, v] of found) r.phases.set(k, v);
  }
  return runs.map(({ total, phases }) => ({ total, phases }));
}

async function createUsers(target: Target, n: number): Promise<string[]> {
  const names = Array.from({ length: n }, () => uniqueName("bench"));
  for (const name of names) await target.api.createUser(name);
  return names;
}

async function cleanup(target: Target, names: string[]): Promise<void> {
  await Promise.all(names.map((n) => target.api.stopServer(n).catch(() => undefined)));
  for (const n of names) await target.api.hub(`/users/${encodeURIComponent(n)}`, { method: "DELETE" }, [204, 404]).catch(() => undefined);
  for (const n of names)
    await docker
      .getVolume(target.userVolume(escapeUserName(n)))
      .remove()
      .catch(() => undefined);
}

/** Resident memory of a container in MiB (the cgroup's usage without the page cache it can drop). */
async function memoryMiB(container: string): Promise<number> {
  const stats = (await docker.getContainer(container).stats({ stream: false })) as any;
  const m = stats.memory_stats ?? {};
  const cache = m.stats?.inactive_file ?? m.stats?.total_inactive_file ?? 0;
  return (m.usage - cache) / 2 ** 20;
}

const mib = (x: number) => `${x.toFixed(0)} MiB`;

async function memoryLine(target: Target, when: string, users: string[] = []): Promise<string> {
  const [hub, proxy] = await Promise.all([memoryMiB(target.hubContainer), memoryMiB(target.proxyContainer)]);
  let line = `  ${target.label.padEnd(13)} ${when.padEnd(22)} hub ${mib(hub).padStart(8)}, proxy ${mib(proxy).padStart(8)}`;
  if (users.length) {
    const each = await Promise.all(users.map((u) => memoryMiB(target.userContainer(escapeUserName(u))).catch(() => NaN)));
    line += `, per user server median ${mib(median(each.filter((x) => !Number.isNaN(x))))}`;
  }
  return line;
}

async function main(): Promise<void> {
  const api = new HubApi();
  // the default image and the stack's prefix, from a first spawn
  const probe = uniqueName("bench");
  await api.createUser(probe);
  await api.startServer(probe);
  const container = (
    await docker.listContainers({ filters: { label: [`${labelKeys.component}=user`], name: [escapeUserName(probe)] } })
  )[0];
  if (!container) throw new Error("cannot find the probe's container (run the benchmark on the hub's Docker host)");
  const image = container.Image;
  const prefix = container.Labels[labelKeys.prefix]!;
  const hubId = (await docker.getContainer(`${prefix}-hub`).inspect()).Id;
  const proxyInfo = await docker.getContainer(`${prefix}-proxy`).inspect();
  const project: Target = {
    label: "this project",
    api,
    hubContainer: `${prefix}-hub`,
    proxyContainer: `${prefix}-proxy`,
    userContainer: (e) => `${prefix}-user-${e}`,
    userVolume: (e) => `${prefix}-user-${e}`,
    userNetwork: (e) => `${prefix}-u-${e}`,
    hubAndProxyIds: [hubId, proxyInfo.Id],
  };
  await cleanup(project, [probe]);

  const events = new EngineEvents();
  await events.start();
  const network = (await docker.createNetwork({ Name: `gmap-bench-${Date.now().toString(36)}`, Driver: "bridge", Labels: BENCH })).id;
  const networkName = (await docker.getNetwork(network).inspect()).Name;
  let reference: Reference | undefined;
  try {
    reference = await startReference({ hub: `${prefix}-hub:local`, proxy: proxyInfo.Config.Image, notebook: image }, BENCH);
    const ref: Target = {
      label: "reference",
      api: new HubApi({ url: reference.url, token: reference.token }),
      hubContainer: reference.hubContainer,
      proxyContainer: reference.hubContainer.replace(/-hub$/, "-proxy"),
      userContainer: reference.userContainer,
      userVolume: reference.userVolume,
    };
    const targets = [project, ref];
    console.log(`image ${image}; stack ${prefix}; ${rounds} sequential rounds; crowds of ${crowdSizes.join(", ")}`);
    const memory: string[] = [];
    for (const t of targets) memory.push(await memoryLine(t, "idle"));

    const rows: Row[] = [];
    const labels = [FLOOR_PROTECTED, ...targets.map((t) => t.label)];
    const singles: Row = { what: "one at a time", floor: [], results: new Map(labels.map((l) => [l, []])) };
    for (let i = 0; i < rounds; i++) {
      singles.floor.push(...(await floor(image, networkName, 1, events)));
      singles.results.get(FLOOR_PROTECTED)!.push(...(await floor(image, networkName, 1, events, true)));
      for (const t of targets) {
        const names = await createUsers(t, 1);
        singles.results.get(t.label)!.push(...(await spawn(t, names, events)));
        await cleanup(t, names);
      }
    }
    rows.push(singles);
    const crowdRows: Row[] = [];
    for (const n of crowdSizes) {
      const row: Row = { what: `${n} users at once`, floor: await floor(image, networkName, n, events), results: new Map() };
      row.results.set(FLOOR_PROTECTED, await floor(image, networkName, n, events, true));
      for (const t of targets) {
        const names = await createUsers(t, n);
        try {
          row.results.set(t.label, await spawn(t, names, events));
          if (n === Math.max(...crowdSizes)) memory.push(await memoryLine(t, `${n} servers running`, names));
        } finally {
          await cleanup(t, names);
        }
        memory.push(await memoryLine(t, `after ${n} at once`));
      }
      rows.push(row);
      crowdRows.push(row);
    }

    table(rows, labels);
    for (const row of [singles, crowdRows.at(-1)].filter((r): r is Row => !!r)) {
      breakdown("floor", row.what, row.floor);
      for (const t of targets) breakdown(t.label, row.what, row.results.get(t.label)!);
    }
    console.log("\nresident memory (without the page cache): idle, with the largest crowd running, and after each crowd");
    for (const line of memory) console.log(line);
  } finally {
    events.stop();
    await reference?.remove();
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
