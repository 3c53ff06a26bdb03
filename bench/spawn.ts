/**
 * Spawn latency of a running hub, against the floor measured in the same run: the same notebook
 * image started with `docker run` on a network of its own, until its HTTP API answers. Prints each
 * measure as a ratio to the floor (median and slowest), alone and in crowds, and where a spawn's
 * time goes (the hub's progress events, as they reach the client).
 *
 *   . scripts/pulumi-env.sh && node --import tsx test/e2e/deploy.ts up e2e   (prints HUB_URL, HUB_TOKEN)
 *   HUB_URL=... HUB_TOKEN=... npm run bench -- [rounds] [crowd sizes...]      (default: 5 10 20)
 *
 * Everything it creates carries the label org.europlanet-gmap.bench and is removed at the end
 * (bench users, their servers and volumes included).
 */
import Docker from "dockerode";
import { escapeUserName } from "../components/identity";
import { labelKeys } from "../components/names";
import { HubApi, uniqueName } from "../test/e2e/client";

const [rounds = 5, ...crowds] = process.argv.slice(2).map(Number);
const crowdSizes = crowds.length ? crowds : [10, 20];
const docker = new Docker();
const api = new HubApi();
const BENCH = { "org.europlanet-gmap.bench": "spawn" };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const slowest = (xs: number[]) => Math.max(...xs);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Polls `probe` every 50 ms until it returns true; bounded (120 s). */
async function until(what: string, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The floor: `docker run` of the image on `network` until GET /api answers (ms), for n at once. */
async function floor(image: string, network: string, n: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const t0 = performance.now();
      const c = await docker.createContainer({ Image: image, Labels: BENCH, HostConfig: { NetworkMode: network, AutoRemove: false } });
      try {
        await c.start();
        const ip = (await c.inspect()).NetworkSettings.Networks[network]!.IPAddress;
        await until(
          `the floor container's API`,
          async () => (await fetch(`http://${ip}:8888/api`, { signal: AbortSignal.timeout(2000) })).ok,
        );
        return performance.now() - t0;
      } finally {
        await c.remove({ force: true });
      }
    }),
  );
}

interface Spawn {
  /** POST server -> the server answers GET /api through the proxy (ms). */
  readonly total: number;
  /** Progress messages (numbers normalised) -> ms after the POST when the client received them. */
  readonly phases: Map<string, number>;
}

/**
 * Reads the spawn's progress events (server-sent) until the stream ends; records when each
 * arrived. Opened while the POST is still open (JupyterHub answers it only when the server is ready
 * or after 10 s); the stream exists once the spawn is pending.
 */
async function progress(name: string, t0: number, phases: Map<string, number>): Promise<void> {
  let res: Response | undefined;
  for (let i = 0; i < 400 && !res?.ok; i++) {
    if (res) await res.arrayBuffer();
    res = await api.request(`/hub/api/users/${encodeURIComponent(name)}/server/progress`);
    if (!res.ok) await sleep(25);
  }
  if (!res?.ok) return;
  const reader = res.body!.getReader();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    buffer += new TextDecoder().decode(value);
    for (const line of buffer.split("\n").slice(0, -1)) {
      if (!line.startsWith("data: ")) continue;
      const event = JSON.parse(line.slice(6)) as { message?: string; progress?: number };
      const message = (event.message ?? "").split(name).join("<user>");
      const label = `${String(event.progress ?? "").padStart(3)}% ${message.slice(0, 60)}`;
      if (!phases.has(label)) phases.set(label, performance.now() - t0);
    }
    buffer = buffer.slice(buffer.lastIndexOf("\n") + 1);
  }
}

/** Spawns the servers of `names` at once through the hub API. */
async function spawn(names: string[]): Promise<Spawn[]> {
  return Promise.all(
    names.map(async (name) => {
      const phases = new Map<string, number>();
      const t0 = performance.now();
      const post = api.request(`/hub/api/users/${encodeURIComponent(name)}/server`, { method: "POST", body: "{}" });
      const events = progress(name, t0, phases).catch(() => undefined);
      const res = await post;
      await res.arrayBuffer();
      if (![201, 202].includes(res.status)) throw new Error(`spawn ${name}: HTTP ${res.status}`);
      phases.set(`POST answered (${res.status}: ${res.status === 201 ? "ready" : "pending"})`, performance.now() - t0);
      await until(`${name}'s server through the proxy`, async () => {
        const r = await api.request(`/user/${encodeURIComponent(name)}/api`);
        await r.arrayBuffer();
        return r.status === 200;
      });
      const total = performance.now() - t0;
      phases.set("answers through the proxy", total);
      await Promise.race([events, sleep(1000)]);
      return { total, phases };
    }),
  );
}

async function cleanup(names: string[], prefix: string): Promise<void> {
  await Promise.all(names.map((n) => api.stopServer(n).catch(() => undefined)));
  for (const n of names) await api.hub(`/users/${encodeURIComponent(n)}`, { method: "DELETE" }, [204, 404]).catch(() => undefined);
  for (const n of names)
    await docker
      .getVolume(`${prefix}-user-${escapeUserName(n)}`)
      .remove()
      .catch(() => undefined);
}

function report(what: string, floorMs: number[], spawns: Spawn[]): void {
  const totals = spawns.map((s) => s.total);
  const ratio = (a: number, b: number) => (a / b).toFixed(2);
  console.log(
    `${what.padEnd(22)} floor median ${seconds(median(floorMs))}, slowest ${seconds(slowest(floorMs))} | ` +
      `hub median ${seconds(median(totals))}, slowest ${seconds(slowest(totals))} | ` +
      `ratio median ${ratio(median(totals), median(floorMs))}x, slowest ${ratio(slowest(totals), slowest(floorMs))}x`,
  );
}

function breakdown(spawns: Spawn[]): void {
  const labels = [...new Set(spawns.flatMap((s) => [...s.phases.keys()]))];
  const rows = labels
    .map((label) => ({ label, at: median(spawns.map((s) => s.phases.get(label)).filter((v): v is number => v !== undefined)) }))
    .sort((a, b) => a.at - b.at);
  console.log("  where a spawn's time goes (median arrival after the POST):");
  let previous = 0;
  for (const { label, at } of rows) {
    console.log(`    ${seconds(at).padStart(8)}  (+${seconds(at - previous).padStart(7)})  ${label}`);
    previous = at;
  }
}

async function main(): Promise<void> {
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
  await cleanup([probe], prefix);

  const network = (await docker.createNetwork({ Name: `gmap-bench-${Date.now().toString(36)}`, Driver: "bridge", Labels: BENCH })).id;
  const networkName = (await docker.getNetwork(network).inspect()).Name;
  try {
    console.log(`image ${image}; stack ${prefix}; ${rounds} sequential rounds; crowds of ${crowdSizes.join(", ")}`);
    const floors: number[] = [];
    const singles: Spawn[] = [];
    for (let i = 0; i < rounds; i++) {
      floors.push(...(await floor(image, networkName, 1)));
      const name = uniqueName("bench");
      await api.createUser(name);
      singles.push(...(await spawn([name])));
      await cleanup([name], prefix);
    }
    report("one at a time", floors, singles);
    breakdown(singles);
    for (const n of crowdSizes) {
      const crowdFloor = await floor(image, networkName, n);
      const names = Array.from({ length: n }, () => uniqueName("bench"));
      for (const name of names) await api.createUser(name);
      try {
        const crowd = await spawn(names);
        report(`${n} users at once`, crowdFloor, crowd);
        breakdown(crowd);
      } finally {
        await cleanup(names, prefix);
      }
    }
  } finally {
    await docker
      .getNetwork(network)
      .remove()
      .catch(() => undefined);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
