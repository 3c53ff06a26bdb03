/**
 * Writes the JSON Schemas of the hub's settings.json and secrets.json (components/contract.ts) into
 * hub-config/gmap_hub/, where the hub validates its files against them at start:
 *
 *   npm run contract
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { contractJsonSchemas } from "../components/contract";
import { stableJson } from "../components/settings";

/** Where the schemas go. */
export const schemaDir = path.join(__dirname, "..", "hub-config", "gmap_hub");

/** The files as they must be, by path. */
export function contractFiles(): Record<string, string> {
  return Object.fromEntries(Object.entries(contractJsonSchemas()).map(([file, schema]) => [path.join(schemaDir, file), stableJson(schema)]));
}

if (require.main === module) {
  for (const [file, text] of Object.entries(contractFiles())) {
    fs.writeFileSync(file, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
}
