/**
 * The hub database in a backup: one kind per database engine, each a small backup and a small
 * restore function. SQLite (the default: `jupyterhub.sqlite` in the hub-data volume, see
 * hub-config/gmap_hub/config.py) is copied with SQLite's online backup API while the hub runs.
 *
 * A server database (PostgreSQL with pg_dump/pg_restore) is another entry of `databaseKinds`: its
 * `backup` runs the dump in a helper container on the stack's network (or `docker exec` in the
 * database container) into a file of the backup; `ownVolumes` names its data volume, which is then
 * not archived as a volume (a file copy of a running server's data is not consistent); and
 * `databaseEngine` picks it from the stack config.
 */
import * as path from "node:path";
import type Docker from "dockerode";
import type { StackConfig } from "../../components/config";
import { captureToFile, feedFromFile, helperMountPoint, lastLines } from "./io";
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

/** Every database kind, by engine. */
export const databaseKinds: Record<DatabaseEngine, DatabaseKind> = { sqlite };

/**
 * The database engine of a stack. A stack with its hub database in PostgreSQL
 * (hub.database.type postgres) is refused until there is a pg_dump kind: archiving its data volume
 * as files while the server runs would not be a consistent copy.
 */
export function databaseEngine(config: Pick<StackConfig, "prefix" | "hub">): DatabaseEngine {
  if (config.hub.database.type === "postgres") {
    throw new Error(
      `the stack keeps its hub database in PostgreSQL (hub.database.type postgres), which backup and restore do not handle yet. ` +
        `Dump it while the hub runs with: docker exec ${config.prefix}-postgres pg_dump -U jupyterhub -Fc jupyterhub > hub-db.dump ` +
        `(README, "When to choose PostgreSQL"), and back up the volumes by hand meanwhile`,
    );
  }
  return "sqlite";
}
