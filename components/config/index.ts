/** The stack config: its schema (schema.ts), value rules (rules.ts) and loading (load.ts). */
export * from "./load";
export * from "./schema";
