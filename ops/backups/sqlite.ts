/**
 * The hub's SQLite database in a backup (the default: `jupyterhub.sqlite` in the hub-data volume,
 * named in the hub's settings.json: hub.sqliteFile): copied with SQLite's online backup API while the hub runs,
 * and put back into the hub-data volume with the hub stopped. The helper container runs the Python
 * programs of programs/ (sqlite_backup.py, sqlite_restore.py) with `python3 -c`.
 */
import * as path from "node:path";
import { hubPaths } from "../../components/names";
import { type DatabaseKind, factsOf } from "./database-kind";
import { captureToFile, feedFromFile, helperMountPoint, lastLines } from "./io";
import { python, pythonProgram } from "./programs";

/** The hub's SQLite file in the hub-data volume (the hub's settings.json hub.sqliteFile). */
export const sqliteFile = hubPaths.sqliteFile;

/** The program that copies the database of the hub-data volume (mounted read-only) to stdout, facts on stderr. */
export function sqliteBackupProgram(): string {
  return pythonProgram("sqlite_backup.py", "backup", [`${helperMountPoint}/${sqliteFile}`, `/tmp/${sqliteFile}`]);
}

/** The program that puts the database on stdin into place in the hub-data volume. */
export function sqliteRestoreProgram(): string {
  return pythonProgram("sqlite_restore.py", "restore", [
    `${helperMountPoint}/${sqliteFile}`,
    `${helperMountPoint}/.${sqliteFile}.restoring`,
    helperMountPoint,
  ]);
}

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
        args: [sqliteBackupProgram()],
        mounts: [{ volume: ctx.hubDataVolume, target: helperMountPoint, readOnly: true }],
      },
      path.join(dir, file),
    );
    if (out.code !== 0)
      throw new Error(`copying the SQLite database of ${ctx.hubDataVolume} failed (exit ${out.code}):\n${lastLines(out.stderr)}`);
    const facts = (factsOf(out.stderr) ?? {}) as {
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
        args: [sqliteRestoreProgram()],
        mounts: [{ volume: item.volume, target: helperMountPoint, readOnly: false }],
      },
      file,
      item.sha256,
    );
    if (out.code !== 0)
      throw new Error(`restoring the SQLite database into ${item.volume} failed (exit ${out.code}):\n${lastLines(out.stderr)}`);
  },
};
