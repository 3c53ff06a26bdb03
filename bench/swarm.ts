/**
 * Spawn time in swarm mode next to host mode, measured in one run: the same spawns (one at a time,
 * then crowds at once) against a hub of each mode, and the ratios swarm/host. A spawn's time runs
 * from the start requests to the hub listing the server ready (asked every 50 ms).
 *
 *   HOST_HUB_URL=... HOST_HUB_TOKEN=... SWARM_HUB_URL=... SWARM_HUB_TOKEN=... \
 *     npm run bench:swarm -- [rounds] [crowd sizes...]                        (default: 5 10)
 *
 * The tokens need admin:users and admin:servers. The test stacks: `node --import tsx
 * test/e2e/deploy.ts up e2e` (host) and the swarm stack of test/e2e/18-swarm.test.ts (run it with
 * E2E_KEEP_SWARM=1, then DOCKER_HOST=unix:///run/gmapsw/m/docker.sock for its outputs). Bench users
 * (bench-<n>) and their servers are removed at the end; their volumes stay with the stacks.
 */
import { HubApi } from "../test/e2e/hub-api";
import { uniqueName } from "../test/e2e/user-names";

const [rounds = 5, ...crowds] = process.argv.slice(2).map(Number);
const crowdSizes = crowds.length ? crowds : [10];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const slowest = (xs: number[]) => Math.max(...xs);
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function hub(mode: string): HubApi {
  const url = process.env[`${mode}_HUB_URL`];
  const token = process.env[`${mode}_HUB_TOKEN`];
  if (!url || !token) throw new Error(`set ${mode}_HUB_URL and ${mode}_HUB_TOKEN`);
  return new HubApi({ url: url.replace(/\/+$/, ""), token });
}

/**
 * Starts the servers of `names` at once; the time of each until the hub lists it ready. One request
 * for the whole crowd every 50 ms (`?state=ready`), so that asking does not load the hub (bounded: 180 s).
 */
async function spawn(api: HubApi, names: string[]): Promise<number[]> {
  const t0 = performance.now();
  await Promise.all(
    names.map(async (name) => {
      const res = await api.request(`/hub/api/users/${name}/server`, { method: "POST", body: "{}" });
      if (res.status !== 201 && res.status !== 202) throw new Error(`start ${name}: HTTP ${res.status}: ${await res.text()}`);
    }),
  );
  const ready = new Map<string, number>();
  for (const deadline = t0 + 180_000; ready.size < names.length && performance.now() < deadline; await sleep(50)) {
    const users = await api.json<{ name: string }[]>("/hub/api/users?state=ready&limit=1000");
    const now = performance.now();
    for (const { name } of users) if (names.includes(name) && !ready.has(name)) ready.set(name, now - t0);
  }
  if (ready.size < names.length) throw new Error(`${names.length - ready.size} servers were not ready within 180 s`);
  return names.map((name) => ready.get(name)!);
}

async function measure(mode: string): Promise<{ single: number[]; crowds: Map<number, number[]> }> {
  const api = hub(mode);
  const users: string[] = [];
  const fresh = async (n: number) => {
    const names = Array.from({ length: n }, () => uniqueName("bench"));
    for (const name of names) await api.createUser(name);
    users.push(...names);
    return names;
  };
  const stopAll = async (names: string[]) => Promise.all(names.map((n) => api.stopServer(n)));
  try {
    const single: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const names = await fresh(1);
      single.push(...(await spawn(api, names)));
      await stopAll(names);
    }
    const crowdTimes = new Map<number, number[]>();
    for (const size of crowdSizes) {
      const names = await fresh(size);
      crowdTimes.set(size, await spawn(api, names));
      await stopAll(names);
    }
    return { single, crowds: crowdTimes };
  } finally {
    for (const name of users) {
      await api.stopServer(name).catch(() => undefined);
      await api.request(`/hub/api/users/${name}`, { method: "DELETE" }).catch(() => undefined);
    }
  }
}

async function main(): Promise<void> {
  const host = await measure("HOST");
  const swarm = await measure("SWARM");
  const row = (what: string, h: number[], s: number[]) =>
    console.log(
      `${what.padEnd(18)} host ${seconds(median(h))} (slowest ${seconds(slowest(h))})   swarm ${seconds(median(s))} (slowest ${seconds(slowest(s))})   ratio ${(median(s) / median(h)).toFixed(2)}x median, ${(slowest(s) / slowest(h)).toFixed(2)}x slowest`,
    );
  console.log(`spawn time until ready, ${rounds} rounds one at a time, crowds of ${crowdSizes.join(", ")}`);
  row("one at a time", host.single, swarm.single);
  for (const size of crowdSizes) row(`${size} at once`, host.crowds.get(size)!, swarm.crowds.get(size)!);
}

main().catch((e: Error) => {
  console.error(`bench: ${e.message}`);
  process.exit(1);
});
