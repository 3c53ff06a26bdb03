/**
 * Removes the old versions of the stack's images from a Docker engine (docs/images.md):
 *
 *   npm run prune-images -- <stack> [--dry-run] [--config-file FILE]
 *
 * `pulumi up` keeps every image it pulled (`keepLocally`): after an update the old version stays for
 * the servers that still run it. This removes, from the stack's engine (its docker:host, else
 * DOCKER_HOST or the local socket), every other version of a repository the stack's images come from (the references in
 * Pulumi.<stack>.yaml), unless a container (running or stopped) was made from it. Images of other
 * repositories are never touched. In swarm mode run it against each node's engine.
 */
import * as path from "node:path";
import { parseArgs } from "node:util";
import { stackImages } from "../components/config/sections/registries";
import { ping } from "./backups/engine";
import { stackEngine } from "./images/stack-engine";
import { loadStack } from "./backups/stack";
import { prunePlan } from "./images/prune-plan";

const usage = "usage: npm run prune-images -- <stack> [--dry-run] [--config-file FILE]";
const mib = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MiB`;

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { "dry-run": { type: "boolean" }, "config-file": { type: "string" } }, allowPositionals: true });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const dryRun = values["dry-run"] === true;
  const { config } = loadStack(path.resolve(__dirname, ".."), positionals[0]!, values["config-file"]);
  const stackRefs = stackImages(config).map((i) => i.ref);
  const docker = stackEngine(path.resolve(__dirname, ".."), positionals[0]!, values["config-file"]);
  await ping(docker);

  const currentIds = new Set<string>();
  for (const ref of stackRefs) {
    const found = await docker
      .getImage(ref)
      .inspect()
      .catch(() => undefined);
    if (found) currentIds.add(found.Id);
  }
  const inUse = new Set((await docker.listContainers({ all: true })).map((c) => c.ImageID));
  const images = (await docker.listImages()).map((i) => ({
    id: i.Id,
    references: [...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])],
    size: i.Size,
  }));
  const plan = prunePlan(stackRefs, currentIds, inUse, images);

  for (const k of plan.kept) process.stdout.write(`kept ${k.reference}: ${k.reason}\n`);
  let freed = 0;
  const counted = new Set<string>();
  for (const r of plan.remove) {
    if (!dryRun) await docker.getImage(r.reference).remove();
    process.stdout.write(`${dryRun ? "would remove" : "removed"} ${r.reference}\n`);
    if (!counted.has(r.id)) freed += r.size;
    counted.add(r.id);
  }
  process.stdout.write(
    plan.remove.length === 0
      ? "no old version of the stack's images is on this engine\n"
      : `${dryRun ? "would free" : "freed"} up to ${mib(freed)} (layers other images share stay)\n`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`prune-images: ${(e as Error).message}\n`);
    process.exitCode = 2;
  },
);
