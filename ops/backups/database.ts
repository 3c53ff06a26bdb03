/**
 * The hub database in a backup: one kind per database engine (sqlite.ts, postgres.ts; their contract
 * in database-kind.ts), chosen by the stack's hub.database.type (`databaseEngine`).
 */
import type { StackConfig } from "../../components/config";
import type { DatabaseKind } from "./database-kind";
import type { DatabaseEngine } from "./manifest";
import { postgresKind } from "./postgres";
import { sqlite } from "./sqlite";

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
