/**
 * Restores a backup of `npm run backup` into a stack on this Docker host:
 *
 *   npm run restore -- <stack> <backup directory> [--user NAME] [--image IMAGE]
 *
 * The whole stack (hub database, hub data, shared storage, every user's volumes), or with --user
 * only the volumes of that hub user (not the database: accounts are stack-wide). First checks the
 * manifest and every file it restores (size and SHA-256) and that no running container uses a
 * volume it would overwrite; it lists the servers and the hub to stop otherwise, and restores
 * nothing. Each volume is emptied and refilled; missing volumes are created with their labels.
 * A whole-stack restore therefore needs the hub stopped (`docker stop <prefix>-hub`), or the stack
 * not deployed at all (restore, then `pulumi up`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { names } from "../components/names";
import { operatorCwd, parseRestoreArgs, restoreUsage } from "./backups/args";
import { databaseEngine, databaseKinds } from "./backups/database";
import { helperImage, ping, runningUsers } from "./backups/engine";
import { feedFromFile, helperMountPoint, lastLines, tarExtractScript } from "./backups/io";
import { checkFiles, describeItem, formatBytes, itemsToRestore, manifestFile, parseManifest, restoreOrder } from "./backups/manifest";
import { runCommand } from "./backups/run";
import { loadStack } from "./backups/stack";
import { stackEngine } from "./images/stack-engine";
import { inUseProblems } from "./backups/volumes";

const projectDir = path.resolve(__dirname, "..");
const say = (line: string) => process.stdout.write(`${line}\n`);

/** Thrown with the lines that explain why nothing was restored. */
class Refused extends Error {}

async function main(argv: string[]): Promise<void> {
  const args = parseRestoreArgs(argv, operatorCwd());
  const stack = loadStack(projectDir, args.stack);
  const prefix = stack.config.prefix;
  const n = names(prefix);

  const manifestPath = path.join(args.backup, manifestFile);
  if (!fs.existsSync(manifestPath))
    throw new Error(`${args.backup} holds no ${manifestFile}: not a backup of npm run backup, or an unfinished one`);
  const manifest = parseManifest(fs.readFileSync(manifestPath, "utf8"), manifestPath);
  if (manifest.prefix !== prefix) {
    throw new Error(
      `${args.backup} is a backup of the prefix ${manifest.prefix} (stack ${manifest.stack}), but the stack ${args.stack} has the prefix ${prefix}: ` +
        "its volume names would not match; restore it into a stack with that prefix",
    );
  }
  const items = restoreOrder(itemsToRestore(manifest, args.user));
  const engine = databaseEngine(stack.config);
  const foreign = items.find((i) => i.kind === "database" && i.engine !== engine);
  if (foreign) throw new Error(`the backup holds a ${foreign.engine} database, but the stack ${args.stack} uses ${engine}`);

  say(`checking ${items.length} file(s) of ${args.backup} against its manifest (backup of ${manifest.stack}, ${manifest.created})`);
  const problems = await checkFiles(args.backup, items);
  if (problems.length) throw new Refused(`the backup does not match its manifest; nothing was restored:\n  ${problems.join("\n  ")}`);

  const docker = stackEngine(projectDir, args.stack);
  await ping(docker);
  const kind = databaseKinds[engine];
  // a PostgreSQL database is restored through its own running container, not into an unused volume
  const viaVolume = (i: (typeof items)[number]) => i.kind !== "database" || kind.restoresIntoUnusedVolume;
  const volumes = [...new Set(items.filter(viaVolume).map((i) => i.volume))];
  const busy = inUseProblems(prefix, volumes, await runningUsers(docker, volumes), stack.hubUrl);
  if (busy.length) throw new Refused(`${busy.join("\n")}\nNothing was restored.`);
  const image = await helperImage(docker, prefix, stack.config.hub.baseImage, args.image);
  const databaseContext = { docker, prefix, image, hubDataVolume: n.hubDataVolume };
  const database = items.find((i) => i.kind === "database");
  const databaseProblems = database ? await kind.restoreProblems(databaseContext, database) : [];
  if (databaseProblems.length)
    throw new Refused(`cannot restore the hub database now:\n  - ${databaseProblems.join("\n  - ")}\nNothing was restored.`);
  say(
    `restoring ${args.user === undefined ? `the whole stack ${args.stack}` : `the volumes of ${args.user}`} with the helper image ${image}`,
  );

  for (const [index, item] of items.entries()) {
    const t0 = Date.now();
    const file = path.join(args.backup, item.file);
    let created = false;
    if (viaVolume(item)) {
      // a server may have started since the check above
      const nowBusy = inUseProblems(prefix, [item.volume], await runningUsers(docker, [item.volume]), stack.hubUrl);
      if (nowBusy.length)
        throw new Error(`${nowBusy.join("\n")}\n(${index} of ${items.length} items were restored before; run the restore again)`);
      try {
        await docker.getVolume(item.volume).inspect();
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode !== 404) throw e;
        await docker.createVolume({ Name: item.volume, Driver: "local", Labels: item.labels ?? {} });
        created = true;
      }
    } else {
      const nowProblems = await kind.restoreProblems(databaseContext, item);
      if (nowProblems.length)
        throw new Error(`${nowProblems.join("\n")}\n(${index} of ${items.length} items were restored before; run the restore again)`);
    }
    if (item.kind === "database") {
      await kind.restore({ ...databaseContext, hubDataVolume: item.volume }, item, file);
    } else {
      const out = await feedFromFile(
        docker,
        prefix,
        { image, script: tarExtractScript, mounts: [{ volume: item.volume, target: helperMountPoint, readOnly: false }] },
        file,
        item.sha256,
      );
      if (out.code !== 0) throw new Error(`restoring ${describeItem(item)} failed (tar exit ${out.code}):\n${lastLines(out.stderr)}`);
    }
    say(
      `[${index + 1}/${items.length}] ${describeItem(item)}: ${formatBytes(item.contentBytes)} restored` +
        `${created ? " into a new volume" : ""} in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }

  if (args.user === undefined) {
    say(`restore complete. Start the hub: docker start ${n.hubContainer} (or pulumi up, if the stack is not deployed on this host)`);
  } else {
    say(`restore complete: ${args.user} can start their server again`);
  }
}

runCommand("restore", main, {
  usage: restoreUsage,
  interruptedNote: "; the volume being restored is incomplete, run the restore again",
  failure: (e) => (e instanceof Refused ? e.message : `failed: ${e.message}`),
});
