/**
 * The hub database's size over a run: rows per table (and the file's size with SQLite), counted
 * inside the hub container with the hub's own configuration (bench/programs/hub_rows.py), so the
 * same check works for SQLite and PostgreSQL; and the tables that grew between two counts.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { dockerExec } from "../test/e2e/engine";
import { type HubStack } from "./hub-stack";

/** Rows per table of the hub database at one moment. */
export interface DatabaseRows {
  readonly kind: string;
  readonly tables: Record<string, number>;
  /** The SQLite file's size in bytes (null for PostgreSQL). */
  readonly bytes: number | null;
}

const program = readFileSync(path.join(__dirname, "programs", "hub_rows.py"), "utf8");

/** Counts the rows of every table of the stack's hub database now. */
export async function databaseRows(stack: HubStack): Promise<DatabaseRows> {
  return JSON.parse(await dockerExec(stack.hubContainer, ["python3", "-c", program])) as DatabaseRows;
}

/**
 * Tables whose row count changed from `before` to `after` (only those that grew with `grownOnly`:
 * the hub also deletes rows by itself, such as expired tokens), as "table: before -> after (+n)".
 */
export function changedTables(before: DatabaseRows, after: DatabaseRows, grownOnly = false): string[] {
  const names = [...new Set([...Object.keys(before.tables), ...Object.keys(after.tables)])].sort();
  return names
    .map((t) => ({ t, a: before.tables[t] ?? 0, b: after.tables[t] ?? 0 }))
    .filter(({ a, b }) => (grownOnly ? b > a : a !== b))
    .map(({ t, a, b }) => `${t}: ${a} -> ${b} (${b > a ? "+" : ""}${b - a})`);
}
