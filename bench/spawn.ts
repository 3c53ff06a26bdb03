/**
 * Spawn latency of a running hub, as a ratio to a baseline measured in the same run: starting a
 * bare container of the same notebook image on the same engine. The ratio is what the hub adds
 * (API, spawner, mounts, start hook, proxy route, readiness checks); it should stay small.
 *
 *   . scripts/pulumi-env.sh && node --import tsx test/e2e/deploy.ts up e2e   (prints HUB_URL and HUB_TOKEN)
 *   HUB_URL=... HUB_TOKEN=... npm run bench -- [rounds]
 */
import Docker from "dockerode";
import { HubApi, uniqueName } from "../test/e2e/client";

const rounds = Number(process.argv[2] ?? 5);
const docker = new Docker();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function timeBareContainer(image: string): Promise<number> {
  const start = performance.now();
  const c = await docker.createContainer({ Image: image, Entrypoint: ["python3", "-c", "pass"], Labels: { "org.europlanet-gmap.bench": "spawn" } });
  try {
    await c.start();
    await c.wait();
  } finally {
    await c.remove({ force: true });
  }
  return performance.now() - start;
}

async function timeSpawn(api: HubApi): Promise<{ ms: number; image: string }> {
  const name = uniqueName("bench");
  await api.createUser(name);
  const start = performance.now();
  await api.startServer(name);
  const ms = performance.now() - start;
  const image = (await api.runPython(name, "import os; print(os.environ.get('JUPYTER_IMAGE_SPEC', ''))")).trim();
  await api.stopServer(name);
  await api.hub(`/users/${name}`, { method: "DELETE" }, [204]);
  return { ms, image };
}

async function main(): Promise<void> {
  const api = new HubApi();
  const spawns: number[] = [];
  const baselines: number[] = [];
  let image = "";
  for (let i = 0; i < rounds; i++) {
    const s = await timeSpawn(api);
    spawns.push(s.ms);
    image = s.image;
    baselines.push(await timeBareContainer(image));
  }
  const spawn = median(spawns);
  const base = median(baselines);
  console.log(`image: ${image}, rounds: ${rounds}`);
  console.log(`baseline (bare container start+exit): median ${base.toFixed(0)} ms`);
  console.log(`hub spawn (POST server -> ready):     median ${spawn.toFixed(0)} ms`);
  console.log(`ratio spawn/baseline: ${(spawn / base).toFixed(2)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
