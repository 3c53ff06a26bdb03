/**
 * Backs up a deployed stack while its hub and servers run:
 *
 *   npm run backup -- <stack> [--to DIR] [--include-readonly] [--image IMAGE]
 *
 * Writes one directory DIR/<stack>-<UTC time> (DIR defaults to ./backups) holding a consistent copy
 * of the hub database (SQLite's online backup API, or pg_dump for PostgreSQL; not a file copy), one gzip-compressed tar per
 * volume of the stack (the rest of the hub-data volume, writable shared storage, every user's
 * volumes; read-only storage only with --include-readonly; network shares never: their data lives
 * on their server) and manifest.json with each file's size and SHA-256. The stack's names and
 * labels come from Pulumi.<stack>.yaml and the program's own functions; no Pulumi state is needed.
 *
 * Prints a progress line per item; never overwrites a backup; on any failure removes what it wrote,
 * says why on stderr and exits non-zero (1; 2 for a wrong command line).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { names } from "../components/names";
import { backupUsage, operatorCwd, parseBackupArgs } from "./backups/args";
import { databaseEngine, databaseKinds, withoutDatabaseVolumes } from "./backups/database";
import { helperImage, ping } from "./backups/engine";
import {
  backupFileMode,
  captureToFile,
  excludeArgs,
  helperMountPoint,
  lastLines,
  tarChangedWhileRead,
  tarCreateScript,
} from "./backups/io";
import {
  backupDirName,
  claimBackupDir,
  describeItem,
  formatBytes,
  type Item,
  type Manifest,
  manifestFile,
  manifestFormat,
  manifestText,
  manifestVersion,
  volumeFile,
} from "./backups/manifest";
import { runCommand } from "./backups/run";
import { loadStack } from "./backups/stack";
import { stackEngine } from "./images/stack-engine";
import { selectVolumes, stackVolumeFilter } from "./backups/volumes";

const projectDir = path.resolve(__dirname, "..");
const say = (line: string) => process.stdout.write(`${line}\n`);

/** The backup being written, removed when the backup fails or is interrupted. */
let partialDir: string | undefined;

function progress(index: number, total: number, item: Item, seconds: number): string {
  const warn = item.warnings?.length ? ` (warning: ${item.warnings.length} file(s) changed while read, see the manifest)` : "";
  return (
    `[${index}/${total}] ${describeItem(item)}: ${formatBytes(item.contentBytes)} -> ${formatBytes(item.bytes)}` +
    ` sha256 ${item.sha256.slice(0, 12)}... in ${seconds.toFixed(1)} s${warn}`
  );
}

async function main(argv: string[]): Promise<void> {
  const args = parseBackupArgs(argv, operatorCwd());
  const { config } = loadStack(projectDir, args.stack);
  const prefix = config.prefix;
  const docker = stackEngine(projectDir, args.stack);
  await ping(docker);
  const kind = databaseKinds[databaseEngine(config)];

  const listed = await docker.listVolumes({ filters: stackVolumeFilter(prefix) });
  const own = withoutDatabaseVolumes(
    kind,
    prefix,
    (listed.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {}, driver: v.Driver, options: v.Options ?? {} })),
  );
  const selection = selectVolumes(config, own.volumes, { includeReadOnly: args.includeReadOnly });
  const hubDataVolume = names(prefix).hubDataVolume;
  if (!selection.hubData)
    throw new Error(`there is no volume ${hubDataVolume} on this Docker host: is the stack ${args.stack} deployed here?`);
  const image = await helperImage(docker, prefix, config.hub.baseImage, args.image);

  const created = new Date();
  const final = path.join(args.to, backupDirName(args.stack, created));
  partialDir = claimBackupDir(final);
  const dir = partialDir;
  fs.mkdirSync(path.join(dir, "database"));
  fs.mkdirSync(path.join(dir, "volumes"));
  say(`backup of stack ${args.stack} (prefix ${prefix}) to ${final}, with the helper image ${image}`);

  const total = 1 + selection.volumes.length;
  const items: Item[] = [];
  let t0 = Date.now();
  const { jupyterhubVersion, ...database } = await kind.backup({ docker, prefix, image, hubDataVolume }, dir);
  items.push(database);
  say(progress(1, total, database, (Date.now() - t0) / 1000));

  for (const [i, v] of selection.volumes.entries()) {
    t0 = Date.now();
    const excludes = v.kind === "hub-data" ? [...kind.hubDataExcludes] : [];
    const file = volumeFile(v.volume);
    const described = describeItem(v);
    const out = await captureToFile(
      docker,
      prefix,
      {
        image,
        script: tarCreateScript,
        args: excludeArgs(excludes),
        mounts: [{ volume: v.volume, target: helperMountPoint, readOnly: true }],
      },
      path.join(dir, file),
    );
    if (out.code !== 0 && out.code !== tarChangedWhileRead)
      throw new Error(`archiving ${described} failed (tar exit ${out.code}):\n${lastLines(out.stderr)}`);
    const warnings = out.code === tarChangedWhileRead ? lastLines(out.stderr, 20).split("\n") : [];
    const item: Item = {
      kind: v.kind,
      volume: v.volume,
      ...(v.user !== undefined ? { user: v.user } : {}),
      ...(v.mount !== undefined ? { mount: v.mount } : {}),
      file,
      format: "tar+gzip",
      bytes: out.bytes,
      contentBytes: out.contentBytes,
      sha256: out.sha256,
      labels: v.labels,
      ...(excludes.length ? { excludes } : {}),
      ...(warnings.length ? { warnings } : {}),
    };
    items.push(item);
    say(progress(i + 2, total, item, (Date.now() - t0) / 1000));
  }
  const skipped = [...selection.skipped, ...own.skipped];
  for (const s of skipped) say(`skipped ${s.volume}: ${s.reason}`);

  const manifest: Manifest = {
    format: manifestFormat,
    version: manifestVersion,
    stack: args.stack,
    prefix,
    created: created.toISOString(),
    finished: new Date().toISOString(),
    ...(jupyterhubVersion ? { jupyterhubVersion } : {}),
    image,
    host: os.hostname(),
    items,
    skipped,
  };
  fs.writeFileSync(path.join(dir, manifestFile), manifestText(manifest), { flag: "wx", mode: backupFileMode });
  fs.renameSync(dir, final);
  partialDir = undefined;
  const bytes = items.reduce((sum, i) => sum + i.bytes, 0);
  say(`backup complete: ${final} (${items.length} items, ${formatBytes(bytes)}); restore with: npm run restore -- ${args.stack} ${final}`);
}

function removePartial(): void {
  if (!partialDir) return;
  fs.rmSync(partialDir, { recursive: true, force: true });
  process.stderr.write(`backup: removed the unfinished ${partialDir}\n`);
  partialDir = undefined;
}

runCommand("backup", main, { usage: backupUsage, cleanUp: removePartial });
