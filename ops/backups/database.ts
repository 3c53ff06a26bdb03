/**
 * The hub database in a backup: one kind per database engine, each a small backup and a small
 * restore function, chosen by the stack's hub.database.type (`databaseEngine`).
 *
 * SQLite (the default: `jupyterhub.sqlite` in the hub-data volume, see
 * hub-config/gmap_hub/config.py) is copied with SQLite's online backup API while the hub runs, and
 * put back into the hub-data volume with the hub stopped.
 *
 * PostgreSQL (hub.database.type postgres) is dumped with `pg_dump -Fc` inside the running
 * `<prefix>-postgres` container (docker exec; local connections there need no password), a
 * consistent snapshot while the hub writes, and restored there with `pg_restore` in one transaction
 * with the hub stopped. Its data volume `<prefix>-hub-postgres` is never archived as files (a file
 * copy of a running server's data directory is not consistent).
 */
import * as path from "node:path";
import type Docker from "dockerode";
import * as fs from "node:fs";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { StackConfig } from "../../components/config";
import { names, postgres as pg } from "../../components/names";
import { execIn, isRunning, Meter, runHelper } from "./engine";
import { backupFileMode, captureToFile, feedFromFile, helperMountPoint, lastLines } from "./io";
import type { DatabaseEngine, Item } from "./manifest";

export interface DatabaseContext {
  readonly docker: Docker;
  readonly prefix: string;
  /** The helper image (has python3 with sqlite3). */
  readonly image: string;
  /** The hub-data volume. */
  readonly hubDataVolume: string;
}

/** What a database backup adds to its manifest item. */
export type DatabaseItem = Item & { readonly kind: "database" };

export interface DatabaseKind {
  readonly engine: DatabaseEngine;
  /** Files of the hub-data volume this kind's item holds, left out of the volume's archive. */
  readonly hubDataExcludes: readonly string[];
  /** Volumes that hold the database only: not archived as volumes. */
  ownVolumes(prefix: string): string[];
  /**
   * Whether a restore needs the item's volume unused by any container (SQLite: the hub-data
   * volume), or restores through the database's own running container (PostgreSQL).
   */
  readonly restoresIntoUnusedVolume: boolean;
  /** Why the database of `item` cannot be restored now (empty: it can), checked before anything is restored. */
  restoreProblems(ctx: DatabaseContext, item: Item): Promise<string[]>;
  /** Writes a consistent copy of the running hub's database to `dir/file`; the manifest item. */
  backup(ctx: DatabaseContext, dir: string): Promise<DatabaseItem & { readonly jupyterhubVersion?: string }>;
  /** Puts the database of `file` in place (the hub is stopped). */
  restore(ctx: DatabaseContext, item: Item, file: string): Promise<void>;
}

/** The hub's SQLite file in the hub-data volume (hub-config/gmap_hub/config.py: c.JupyterHub.db_url). */
export const sqliteFile = "jupyterhub.sqlite";

/**
 * Copies the database with SQLite's online backup API in one step (a consistent snapshot under a
 * shared lock; the hub's writes wait for it, a few milliseconds for a hub database; a copy in
 * steps would start over whenever the hub writes meanwhile), from the hub-data volume mounted
 * read-only, checks the copy's integrity and writes it to stdout. Facts about it go to stderr on a
 * `gmap-facts:` line. Read-only works because JupyterHub keeps SQLite in its default rollback-journal
 * mode, where readers take POSIX locks on the file (the same kernel for every container) and write
 * nothing; only a hot journal left by a crashed writer would need write access to roll it back.
 */
const sqliteBackupPy = `
import json, os, shutil, sqlite3, sys
source = ${JSON.stringify(`${helperMountPoint}/${sqliteFile}`)}
if not os.path.isfile(source):
    sys.exit("gmap-backup: the hub-data volume holds no ${sqliteFile}: has the hub ever started?")
copy = "/tmp/${sqliteFile}"
try:
    src = sqlite3.connect("file:" + source + "?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
except sqlite3.Error as e:
    hint = ""
    if "readonly" in str(e) or "read-only" in str(e):
        hint = " (a journal left by a hub that crashed mid-write needs the hub to open the database once: start it, then back up again)"
    sys.exit("gmap-backup: cannot copy the database: " + str(e) + hint)
facts = {"integrity": dst.execute("PRAGMA integrity_check").fetchone()[0]}
if facts["integrity"] != "ok":
    sys.exit("gmap-backup: the copy fails SQLite's integrity check: " + facts["integrity"])
for key, query in (("schemaRevision", "SELECT version_num FROM alembic_version"), ("users", "SELECT count(*) FROM users")):
    try:
        facts[key] = dst.execute(query).fetchone()[0]
    except sqlite3.Error:
        pass
dst.close()
try:
    import jupyterhub
    facts["jupyterhubVersion"] = jupyterhub.__version__
except ImportError:
    pass
sys.stderr.write("gmap-facts: " + json.dumps(facts) + "\\n")
with open(copy, "rb") as f:
    shutil.copyfileobj(f, sys.stdout.buffer, 1 << 20)
sys.stdout.flush()
`;

/**
 * Writes the database on stdin next to the live file, checks its integrity, gives it the owner of
 * the volume's root and mode 0600, removes journal/WAL files of the old one and renames it into place.
 */
const sqliteRestorePy = `
import os, shutil, sqlite3, sys
final = ${JSON.stringify(`${helperMountPoint}/${sqliteFile}`)}
tmp = ${JSON.stringify(`${helperMountPoint}/.${sqliteFile}.restoring`)}
with open(tmp, "wb") as f:
    shutil.copyfileobj(sys.stdin.buffer, f, 1 << 20)
    f.flush()
    os.fsync(f.fileno())
con = sqlite3.connect(tmp)
check = con.execute("PRAGMA integrity_check").fetchone()[0]
con.close()
for suffix in ("-journal", "-wal", "-shm"):
    for base in (tmp, final):
        try:
            os.remove(base + suffix)
        except FileNotFoundError:
            pass
if check != "ok":
    os.remove(tmp)
    sys.exit("gmap-restore: the database fails SQLite's integrity check: " + check)
st = os.stat(${JSON.stringify(helperMountPoint)})
os.chown(tmp, st.st_uid, st.st_gid)
os.chmod(tmp, 0o600)
os.replace(tmp, final)
`;

const python = 'exec python3 -c "$1"';

export const sqlite: DatabaseKind = {
  engine: "sqlite",
  hubDataExcludes: [sqliteFile, `${sqliteFile}-journal`, `${sqliteFile}-wal`, `${sqliteFile}-shm`],
  ownVolumes: () => [],
  restoresIntoUnusedVolume: true,
  restoreProblems: () => Promise.resolve([]),

  async backup(ctx, dir) {
    const file = `database/${sqliteFile}.gz`;
    const out = await captureToFile(
      ctx.docker,
      ctx.prefix,
      {
        image: ctx.image,
        script: python,
        args: [sqliteBackupPy],
        mounts: [{ volume: ctx.hubDataVolume, target: helperMountPoint, readOnly: true }],
      },
      path.join(dir, file),
    );
    if (out.code !== 0)
      throw new Error(`copying the SQLite database of ${ctx.hubDataVolume} failed (exit ${out.code}):\n${lastLines(out.stderr)}`);
    const factsLine = out.stderr.split("\n").find((l) => l.startsWith("gmap-facts: "));
    const facts = (factsLine ? JSON.parse(factsLine.slice("gmap-facts: ".length)) : {}) as {
      schemaRevision?: string;
      users?: number;
      jupyterhubVersion?: string;
    };
    return {
      kind: "database",
      engine: "sqlite",
      volume: ctx.hubDataVolume,
      file,
      format: "sqlite+gzip",
      bytes: out.bytes,
      contentBytes: out.contentBytes,
      sha256: out.sha256,
      ...(facts.schemaRevision !== undefined ? { schemaRevision: String(facts.schemaRevision) } : {}),
      ...(facts.users !== undefined ? { users: facts.users } : {}),
      ...(facts.jupyterhubVersion ? { jupyterhubVersion: facts.jupyterhubVersion } : {}),
    };
  },

  async restore(ctx, item, file) {
    const out = await feedFromFile(
      ctx.docker,
      ctx.prefix,
      {
        image: ctx.image,
        script: python,
        args: [sqliteRestorePy],
        mounts: [{ volume: item.volume, target: helperMountPoint, readOnly: false }],
      },
      file,
      item.sha256,
    );
    if (out.code !== 0)
      throw new Error(`restoring the SQLite database into ${item.volume} failed (exit ${out.code}):\n${lastLines(out.stderr)}`);
  },
};

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
  const chunks: Buffer[] = [];
  const stdout = new Writable({
    write: (c: Buffer, _e, cb) => {
      chunks.push(c);
      cb();
    },
  });
  const out = await runHelper(ctx.docker, ctx.prefix, {
    image: ctx.image,
    script: python,
    args: ["import jupyterhub; print(jupyterhub.__version__)"],
    mounts: [],
    stdout,
  });
  const version = Buffer.concat(chunks).toString("utf8").trim();
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
    const factsLine = out.stderr.split("\n").find((l) => l.startsWith("gmap-facts: "));
    if (!factsLine) throw new Error(`pg_dump in ${n.postgresContainer} did not report the server's version:\n${lastLines(out.stderr)}`);
    const facts = JSON.parse(factsLine.slice("gmap-facts: ".length)) as { serverVersionNum: string; schemaRevision: string; users: string };
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
    const chunks: Buffer[] = [];
    const stdout = new Writable({
      write: (c: Buffer, _e, cb) => {
        chunks.push(c);
        cb();
      },
    });
    const out = await execIn(ctx.docker, n.postgresContainer, { cmd: ["pg_restore", "--version"], stdout });
    const version = pgToolVersion(Buffer.concat(chunks).toString("utf8"));
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

/** Every database kind, by engine. */
export const databaseKinds: Record<DatabaseEngine, DatabaseKind> = { sqlite, postgres: postgresKind };

/** The database engine of a stack: its hub.database.type. */
export function databaseEngine(config: Pick<StackConfig, "hub">): DatabaseEngine {
  return config.hub.database.type;
}

/**
 * The stack's volumes a backup archives as files, and those it leaves out because they hold the
 * database only (`ownVolumes`, e.g. PostgreSQL's data directory, in the backup as a dump), with why.
 */
export function withoutDatabaseVolumes<V extends { readonly name: string }>(
  kind: Pick<DatabaseKind, "engine" | "ownVolumes">,
  prefix: string,
  volumes: readonly V[],
): { volumes: V[]; skipped: { volume: string; reason: string }[] } {
  const own = new Set(kind.ownVolumes(prefix));
  return {
    volumes: volumes.filter((v) => !own.has(v.name)),
    skipped: volumes
      .filter((v) => own.has(v.name))
      .map((v) => ({ volume: v.name, reason: `the ${kind.engine} data directory: the database item holds its dump` })),
  };
}
