/**
 * The hub database in PostgreSQL (hub.database.type postgres) in a backup: dumped with `pg_dump -Fc`
 * inside the running `<prefix>-postgres` container (docker exec; local connections there need no
 * password), a consistent snapshot while the hub writes, and restored there with `pg_restore` in one
 * transaction with the hub stopped. Its data volume `<prefix>-hub-postgres` is never archived as files
 * (a file copy of a running server's data directory is not consistent).
 */
import * as fs from "node:fs";
import { pipeline } from "node:stream/promises";
import { names, postgres as pg } from "../../components/names";
import { type DatabaseContext, type DatabaseKind, factsOf } from "./database-kind";
import { execIn, isRunning, runHelper } from "./engine";
import { backupFileMode, lastLines } from "./io";
import { python } from "./programs";
import { Collector, Meter } from "./streams";

/** The hub database's dump in a backup (`pg_dump -Fc`: PostgreSQL's own compressed archive format). */
export const pgDumpFile = "database/jupyterhub.pgdump";

/** The client tools' connection: the hub's role and database over the container's local socket (trusted, no password). */
const pgConnection = ["-U", pg.user, "-d", pg.database] as const;

/**
 * Runs in the PostgreSQL container: facts about the database on a `gmap-facts:` line of stderr
 * (server version number, schema revision, number of users; numbers and hex only), then the dump on
 * stdout. `pg_dump` takes one snapshot (a repeatable-read transaction): consistent while the hub writes.
 */
const pgBackupScript = `set -eu
q() { psql -X ${pgConnection.join(" ")} -tAq -v ON_ERROR_STOP=1 -c "$1"; }
version=$(q 'SHOW server_version_num')
revision=$(q 'SELECT version_num FROM alembic_version' 2>/dev/null || true)
users=$(q 'SELECT count(*) FROM users' 2>/dev/null || true)
printf 'gmap-facts: {"serverVersionNum":"%s","schemaRevision":"%s","users":"%s"}\n' "$version" "$revision" "$users" >&2
exec pg_dump ${pgConnection.join(" ")} --format=custom
`;

/**
 * Runs in the PostgreSQL container with the dump on stdin: drops the objects of the dump that exist
 * (`--clean --if-exists`) and creates them again with their rows, owned by the connecting role
 * (`--no-owner`), all in one transaction that any error rolls back (`--single-transaction
 * --exit-on-error`): the database is either the dump's or unchanged.
 */
export const pgRestoreCommand = [
  "pg_restore",
  ...pgConnection,
  "--clean",
  "--if-exists",
  "--no-owner",
  "--no-privileges",
  "--single-transaction",
  "--exit-on-error",
] as const;

/** "15.20" of server_version_num 150020 (PostgreSQL 10 and later: major * 10000 + minor). */
export function pgVersionOfNum(num: string): string {
  const n = Number(num.trim());
  if (!Number.isInteger(n) || n < 100000) throw new Error(`not a PostgreSQL 10+ server_version_num: ${JSON.stringify(num)}`);
  return `${Math.floor(n / 10000)}.${n % 10000}`;
}

/** The version "15.20" of `pg_restore --version` output, e.g. "pg_restore (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)". */
export function pgToolVersion(output: string): string | undefined {
  return /\(PostgreSQL\) (\d+)(?:\.(\d+))?/
    .exec(output)
    ?.slice(1, 3)
    .map((p) => p ?? "0")
    .join(".");
}

/**
 * Why a dump made by a `dumpVersion` server cannot be restored with a `restoreVersion` pg_restore
 * (undefined: it can). pg_restore reads the archives of its own major version and older ones, never
 * newer ones.
 */
export function pgRestoreVersionProblem(dumpVersion: string, restoreVersion: string, container: string): string | undefined {
  const major = (v: string) => Number(v.split(".")[0]);
  if (major(restoreVersion) >= major(dumpVersion)) return undefined;
  return (
    `the backup's database was dumped from PostgreSQL ${dumpVersion}, but ${container} runs PostgreSQL ${restoreVersion}: ` +
    `pg_restore needs PostgreSQL ${major(dumpVersion)} or newer. Set hub.database.image to a PostgreSQL ${major(dumpVersion)}+ image ` +
    `(a new major version needs a new, empty data volume), pulumi up, stop the hub and restore again`
  );
}

/** The JupyterHub version of the helper image (the hub image), or undefined. */
async function hubImageJupyterhubVersion(ctx: DatabaseContext): Promise<string | undefined> {
  const stdout = new Collector();
  const out = await runHelper(ctx.docker, ctx.prefix, {
    image: ctx.image,
    script: python,
    args: ["import jupyterhub; print(jupyterhub.__version__)"],
    mounts: [],
    stdout,
  });
  const version = stdout.text.trim();
  return out.code === 0 && /^[0-9A-Za-z.+-]+$/.test(version) ? version : undefined;
}

export const postgresKind: DatabaseKind = {
  engine: "postgres",
  hubDataExcludes: [],
  ownVolumes: (prefix) => [names(prefix).postgresVolume],
  restoresIntoUnusedVolume: false,

  async backup(ctx, dir) {
    const n = names(ctx.prefix);
    if (!(await isRunning(ctx.docker, n.postgresContainer)))
      throw new Error(
        `the hub database runs in ${n.postgresContainer}, which is not running: start it (docker start ${n.postgresContainer}, or pulumi up) and back up again`,
      );
    const meter = new Meter();
    const written = pipeline(meter, fs.createWriteStream(`${dir}/${pgDumpFile}`, { flags: "wx", mode: backupFileMode }));
    written.catch(() => undefined); // awaited below
    const out = await execIn(ctx.docker, n.postgresContainer, { cmd: ["sh", "-c", pgBackupScript], stdout: meter });
    await written;
    if (out.code !== 0)
      throw new Error(`pg_dump of the hub database in ${n.postgresContainer} failed (exit ${out.code}):\n${lastLines(out.stderr)}`);
    const facts = factsOf(out.stderr) as { serverVersionNum: string; schemaRevision: string; users: string } | undefined;
    if (!facts) throw new Error(`pg_dump in ${n.postgresContainer} did not report the server's version:\n${lastLines(out.stderr)}`);
    const jupyterhubVersion = await hubImageJupyterhubVersion(ctx);
    return {
      kind: "database",
      engine: "postgres",
      volume: n.postgresVolume,
      file: pgDumpFile,
      format: "pg_dump-custom",
      bytes: meter.bytes,
      contentBytes: meter.bytes,
      sha256: meter.sha256,
      serverVersion: pgVersionOfNum(facts.serverVersionNum),
      ...(facts.schemaRevision ? { schemaRevision: facts.schemaRevision } : {}),
      ...(/^\d+$/.test(facts.users) ? { users: Number(facts.users) } : {}),
      ...(jupyterhubVersion ? { jupyterhubVersion } : {}),
    };
  },

  async restoreProblems(ctx, item) {
    const n = names(ctx.prefix);
    const problems: string[] = [];
    if (await isRunning(ctx.docker, n.hubContainer))
      problems.push(
        `the hub ${n.hubContainer} runs: stop it before its database is restored (after the user servers): docker stop ${n.hubContainer}, and after the restore: docker start ${n.hubContainer}`,
      );
    if (!(await isRunning(ctx.docker, n.postgresContainer))) {
      problems.push(
        `the hub database is restored through ${n.postgresContainer}, which is not running: start it (docker start ${n.postgresContainer}; ` +
          `on a host without the stack: pulumi up, then docker stop ${n.hubContainer}), then restore again`,
      );
      return problems;
    }
    const stdout = new Collector();
    const out = await execIn(ctx.docker, n.postgresContainer, { cmd: ["pg_restore", "--version"], stdout });
    const version = pgToolVersion(stdout.text);
    if (out.code !== 0 || !version) problems.push(`cannot run pg_restore in ${n.postgresContainer}:\n${lastLines(out.stderr)}`);
    else {
      const problem = pgRestoreVersionProblem(item.serverVersion ?? "0.0", version, n.postgresContainer);
      if (problem) problems.push(problem);
    }
    return problems;
  },

  async restore(ctx, item, file) {
    const n = names(ctx.prefix);
    const meter = new Meter();
    const source = fs.createReadStream(file);
    const reading = pipeline(source, meter);
    reading.catch(() => undefined); // a broken file shows as pg_restore's failure; the cause is rethrown below
    const out = await execIn(ctx.docker, n.postgresContainer, { cmd: pgRestoreCommand, stdin: meter });
    try {
      await reading;
    } catch (e) {
      throw new Error(`reading ${file}: ${(e as Error).message}`, { cause: e });
    }
    if (out.code !== 0)
      throw new Error(
        `pg_restore into the hub database in ${n.postgresContainer} failed (exit ${out.code}; nothing was changed, it runs in one transaction):\n${lastLines(out.stderr)}`,
      );
    if (meter.sha256 !== item.sha256)
      throw new Error(`${file} changed since it was checked (SHA-256 ${meter.sha256}, expected ${item.sha256})`);
  },
};
