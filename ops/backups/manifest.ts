/**
 * The backup's manifest (`manifest.json`): what the backup holds, where each item came from and
 * the size and SHA-256 of each file, so a restore can check the backup before it touches anything.
 * Pure, apart from the small file helpers at the end.
 *
 * A backup is a directory `<stack>-<UTC time>` holding `manifest.json`, the database dump(s) under
 * `database/` and one gzip-compressed tar per volume under `volumes/`.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { stableJson } from "../../components/settings";

export const manifestFormat = "gmap-jupyterhub-backup";
export const manifestVersion = 1;
export const manifestFile = "manifest.json";

/** What an item is: the hub database, the rest of the hub-data volume, a shared volume, a user's volume, or another labelled volume. */
export const itemKinds = ["database", "hub-data", "shared", "user", "other"] as const;
export type ItemKind = (typeof itemKinds)[number];

/** Database engines a backup can hold (components/config decides which a stack uses). */
export const databaseEngines = ["sqlite", "postgres"] as const;
export type DatabaseEngine = (typeof databaseEngines)[number];

const relativeFile = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/, "a relative path of [A-Za-z0-9._-] segments")
  .refine((f) => !f.split("/").some((s) => s === "." || s === ".."), "no . or .. segments");

const itemSchema = z
  .object({
    kind: z.enum(itemKinds),
    /** The Docker volume the item came from and is restored into. */
    volume: z.string().min(1),
    /** The hub user name (kind user). */
    user: z.string().min(1).optional(),
    /** The storage mount ("user" for the work volume). */
    mount: z.string().min(1).optional(),
    /** The database engine (kind database). */
    engine: z.enum(databaseEngines).optional(),
    /** The file in the backup directory. */
    file: relativeFile,
    /**
     * How the file is made: a gzip-compressed tar of the volume, a gzip-compressed SQLite copy, or
     * PostgreSQL's custom dump format (`pg_dump -Fc`, compressed by pg_dump).
     */
    format: z.enum(["tar+gzip", "sqlite+gzip", "pg_dump-custom"]),
    /** Size of the file, in bytes. */
    bytes: z.number().int().nonnegative(),
    /** Size before compression (the tar stream or the database file), in bytes. */
    contentBytes: z.number().int().nonnegative(),
    /** SHA-256 of the file, hex. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** Labels of the volume, to create it again with them. */
    labels: z.record(z.string(), z.string()).optional(),
    /** Files the volume archive leaves out (the database files, which the database item holds). */
    excludes: z.array(z.string()).optional(),
    /** The database's schema revision (alembic) and number of hub users (kind database). */
    schemaRevision: z.string().optional(),
    users: z.number().int().nonnegative().optional(),
    /** The PostgreSQL server's version that made the dump, e.g. "15.20" (engine postgres): a restore needs this major version or a newer one. */
    serverVersion: z
      .string()
      .regex(/^\d+\.\d+$/)
      .optional(),
    /** What went not quite right, e.g. files that changed while they were read. */
    warnings: z.array(z.string()).optional(),
  })
  .strict()
  .superRefine((item, ctx) => {
    if (item.kind === "user" && !item.user) ctx.addIssue({ code: "custom", message: "a user item names its user", path: ["user"] });
    if (item.kind === "database" && !item.engine)
      ctx.addIssue({ code: "custom", message: "a database item names its engine", path: ["engine"] });
    if (item.engine === "postgres" && !item.serverVersion)
      ctx.addIssue({ code: "custom", message: "a PostgreSQL dump names its server version", path: ["serverVersion"] });
  });

export type Item = z.infer<typeof itemSchema>;

const manifestSchema = z
  .object({
    format: z.literal(manifestFormat),
    version: z.literal(manifestVersion),
    stack: z.string().min(1),
    prefix: z.string().min(1),
    /** When the backup started and finished (ISO 8601, UTC). */
    created: z.string(),
    finished: z.string(),
    /** JupyterHub version of the image that made the database copy (the hub image). */
    jupyterhubVersion: z.string().optional(),
    /** The helper image the archives were made with. */
    image: z.string(),
    host: z.string().optional(),
    items: z.array(itemSchema),
    /** Volumes of the stack the backup leaves out, and why. */
    skipped: z.array(z.object({ volume: z.string(), reason: z.string() }).strict()),
  })
  .strict()
  .superRefine((m, ctx) => {
    const files = m.items.map((i) => i.file);
    if (new Set(files).size !== files.length) ctx.addIssue({ code: "custom", message: "two items share a file", path: ["items"] });
    for (const [i, item] of m.items.entries()) {
      if (!item.volume.startsWith(`${m.prefix}-`)) {
        ctx.addIssue({
          code: "custom",
          message: `the volume ${item.volume} is not one of the prefix ${m.prefix}`,
          path: ["items", i, "volume"],
        });
      }
    }
  });

export type Manifest = z.infer<typeof manifestSchema>;

/** Parses a manifest's text; throws one error naming every problem. */
export function parseManifest(text: string, where = manifestFile): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  const result = manifestSchema.safeParse(json);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join(".") || "<root>"}: ${i.message}`);
    throw new Error(`${where} is not a backup manifest of this tool:\n  - ${problems.join("\n  - ")}`);
  }
  return result.data;
}

/** The manifest's text (keys sorted, items in backup order). */
export function manifestText(m: Manifest): string {
  return stableJson(manifestSchema.parse(m));
}

/** `<stack>-<UTC time>`, e.g. production-20260504T101500Z: sorts by time, safe in any file system. */
export function backupDirName(stack: string, at: Date): string {
  return `${stack}-${at
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/[-:]/g, "")}`;
}

/** The file of a volume's archive in the backup. */
export function volumeFile(volume: string): string {
  return `volumes/${volume}.tar.gz`;
}

/** The items a restore takes: everything, or the volumes of one hub user (never the database). */
export function itemsToRestore(m: Manifest, user?: string): Item[] {
  if (user === undefined) return m.items;
  const items = m.items.filter((i) => i.kind === "user" && i.user === user);
  if (items.length === 0) {
    const users = [...new Set(m.items.flatMap((i) => (i.kind === "user" && i.user ? [i.user] : [])))].sort();
    throw new Error(
      `the backup holds no volume of the user ${JSON.stringify(user)}; give the hub user name as the hub shows it. ` +
        `Users in this backup: ${users.length ? users.join(", ") : "none"}`,
    );
  }
  return items;
}

/** Order of restoring: the hub-data volume before the database in it, then shared, users, others. */
export function restoreOrder(items: readonly Item[]): Item[] {
  const rank: Record<ItemKind, number> = { "hub-data": 0, database: 1, shared: 2, user: 3, other: 4 };
  return [...items].sort((a, b) => rank[a.kind] - rank[b.kind]);
}

/** One line about an item, e.g. `gmap-user-ada (user ada)` or `hub database (sqlite) in gmap-hub-data`. */
export function describeItem(i: Pick<Item, "kind" | "volume" | "user" | "mount" | "engine">): string {
  switch (i.kind) {
    case "database":
      return `hub database (${i.engine}) in ${i.volume}`;
    case "hub-data":
      return `${i.volume} (hub data besides the database)`;
    case "shared":
      return `${i.volume} (shared storage ${i.mount})`;
    case "user":
      return `${i.volume} (user ${i.user}${i.mount && i.mount !== "user" ? `, storage ${i.mount}` : ""})`;
    default:
      return `${i.volume} (labelled with the stack's prefix, not in its config)`;
  }
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** SHA-256 (hex) and size of a file. */
export async function fileDigest(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

/**
 * Checks the items' files against the manifest (present, size, SHA-256); returns every problem
 * (an empty list: all good).
 */
export async function checkFiles(dir: string, items: readonly Item[]): Promise<string[]> {
  const problems: string[] = [];
  for (const item of items) {
    const file = path.join(dir, item.file);
    if (!fs.existsSync(file)) {
      problems.push(`${item.file}: missing`);
      continue;
    }
    const { sha256, bytes } = await fileDigest(file);
    if (bytes !== item.bytes) problems.push(`${item.file}: ${bytes} bytes, the manifest says ${item.bytes}`);
    else if (sha256 !== item.sha256) problems.push(`${item.file}: SHA-256 ${sha256}, the manifest says ${item.sha256}`);
  }
  return problems;
}

/**
 * Creates the directory a backup is written to (`<final>.partial`, mode 0700, renamed when
 * complete) and refuses when the backup or a partial one of that name exists: a backup is never
 * overwritten.
 */
export function claimBackupDir(final: string): string {
  const partial = `${final}.partial`;
  for (const p of [final, partial]) {
    if (fs.existsSync(p)) throw new Error(`${p} exists; a backup is never overwritten (move it away or choose another --to)`);
  }
  fs.mkdirSync(path.dirname(final), { recursive: true });
  // not recursive: fails if it appeared meanwhile; its owner's only (password hashes, everyone's files)
  fs.mkdirSync(partial, { mode: 0o700 });
  return partial;
}
