/**
 * Runs index.ts once under plain mocks with a stack file's config and prints what it declared:
 * every resource's inputs (secret values shown as "[secret <hash>]") and the stack outputs. Used by
 * the unit tests through `runProgram`, one process per run (the program declares its resources at
 * import time).
 *
 *   node --import tsx test/unit/run-program.ts <stack> [extra config JSON]
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { readStackFile } from "../../ops/stack-file";
import { installMocks, recorded, redacted, settle } from "./mocks";

async function main(): Promise<void> {
  const [stack, extra] = process.argv.slice(2);
  const { config } = readStackFile(process.cwd(), stack!);
  installMocks("jupyterhub", stack);
  pulumi.runtime.setAllConfig({ ...config, ...(extra ? JSON.parse(extra) : {}) });
  const program = require("../../index") as Record<string, unknown>;
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(program)) {
    if (pulumi.Output.isInstance(value)) {
      outputs[key] = { secret: await pulumi.isSecret(value), value: await new Promise((r) => value.apply(r)) };
    } else {
      outputs[key] = { secret: false, value };
    }
  }
  await settle();
  const resources = recorded.map((r) => ({ type: r.type, name: r.name, inputs: redacted(r.raw), secretPaths: r.secretPaths }));
  process.stdout.write(JSON.stringify({ resources, outputs }));
}

/** What one run of the program declared. */
export interface ProgramRun {
  resources: { type: string; name: string; inputs: any; secretPaths: string[] }[];
  outputs: Record<string, { secret: boolean; value: any }>;
}

/** Runs index.ts with the stack file of `stack` (plus `extra` config) in a child process. */
export function runProgram(stack: string, extra: Record<string, string> = {}): ProgramRun {
  const out = execFileSync(process.execPath, ["--import", "tsx", __filename, stack, JSON.stringify(extra)], {
    cwd: path.resolve(__dirname, "..", ".."),
    encoding: "utf8",
  });
  return JSON.parse(out);
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(String(e instanceof Error ? e.message : e));
    process.exit(1);
  });
}
