/**
 * What a kind of hub database (one per database engine, hub.database.type) does in a backup and a
 * restore: the contract of sqlite.ts and postgres.ts, whose table is database.ts.
 */
import type Docker from "dockerode";
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

/** The facts a database program reports on its `gmap-facts:` line of stderr, parsed (undefined: no such line). */
export function factsOf(stderr: string): unknown {
  const line = stderr.split("\n").find((l) => l.startsWith(factsPrefix));
  return line ? JSON.parse(line.slice(factsPrefix.length)) : undefined;
}

const factsPrefix = "gmap-facts: ";
