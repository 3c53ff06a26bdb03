/**
 * Captures the `pulumi preview --json` documents the unit tests of the review read
 * (test/fixtures/previews/, test/unit/preview-review.test.ts), from a deployed stack and edited
 * copies of its stack file, with the real CLI (see pulumi.ts):
 *
 *   node --import tsx test/e2e/deploy.ts up e2e-backup
 *   node --import tsx test/e2e/capture-previews.ts e2e-backup
 *
 * Each document is stored as the CLI printed it, less the program's stack traces and source
 * positions (`stackTrace`, `sourcePosition`: where a resource was declared, on this machine).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { pulumi } from "./pulumi";
import { editedStackFile, projectDir } from "./stack";

type Edit = (config: Record<string, any>) => void;

/** The captures: a config edit, or extra preview arguments. */
const captures: Readonly<Record<string, { readonly edit?: Edit; readonly args?: (stack: string) => string[] }>> = {
  quiet: {},
  image: { edit: (c) => (c["jupyterhub:images"][0].image = "localhost/notebook-gispy:5.5.1") },
  network: { edit: (c) => (c["jupyterhub:labels"] = { "org.europlanet-gmap.generation": "2" }) },
  "volume-renamed": {
    edit: (c) => {
      c["jupyterhub:storage"][0].name = "common";
      c["jupyterhub:storage"][0].mountPath = "/home/jovyan/common";
    },
  },
  "service-renamed": {
    edit: (c) => {
      c["jupyterhub:services"][0].name = "backup-api";
      c["jupyterhub:auth"].admins = ["hub-admin"];
    },
  },
  port: { edit: (c) => (c["jupyterhub:hub"].port += 1) },
  "cookie-secret": {
    args: (stack) => [
      "--replace",
      `urn:pulumi:${stack}::jupyterhub::jupyterhub:index:JupyterHub$jupyterhub:random:Secrets$random:index/randomBytes:RandomBytes::jupyterhub-secrets-cookie-secret`,
    ],
  },
  "service-token": {
    args: (stack) => [
      "--replace",
      `urn:pulumi:${stack}::jupyterhub::jupyterhub:index:JupyterHub$jupyterhub:random:Secrets$random:index/randomPassword:RandomPassword::jupyterhub-secrets-service-bak-admin-api`,
    ],
  },
  "hub-data-volume": {
    args: (stack) => [
      "--replace",
      `urn:pulumi:${stack}::jupyterhub::jupyterhub:index:JupyterHub$jupyterhub:docker:Storage$docker:index/volume:Volume::jupyterhub-storage-hub-data`,
    ],
  },
};

/** Drops where the program declared each resource (paths of this machine), keeps the rest as printed. */
function withoutSourcePositions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSourcePositions);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== "stackTrace" && k !== "sourcePosition")
      .map(([k, v]) => [k, withoutSourcePositions(v)]),
  );
}

async function main(): Promise<number> {
  const [stack, ...only] = process.argv.slice(2);
  if (!stack) {
    process.stderr.write("usage: capture-previews.ts <deployed stack> [capture ...]\n");
    return 2;
  }
  const dir = path.join(projectDir, "test", "fixtures", "previews");
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, capture] of Object.entries(captures)) {
    if (only.length && !only.includes(name)) continue;
    const file = capture.edit ? ["--config-file", editedStackFile(capture.edit, stack)] : [];
    const run = await pulumi(["preview", "--json", "--stack", stack, ...file, ...(capture.args?.(stack) ?? [])]);
    if (run.code !== 0) {
      process.stderr.write(`${name}: pulumi preview failed (${run.code}):\n${run.stderr.slice(-3000)}\n`);
      return 1;
    }
    fs.writeFileSync(path.join(dir, `${name}.json`), `${JSON.stringify(withoutSourcePositions(JSON.parse(run.stdout)), null, 2)}\n`);
    process.stderr.write(`${name}: ${JSON.stringify(JSON.parse(run.stdout).changeSummary)}\n`);
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`capture-previews: ${e.message}\n`);
    process.exit(1);
  },
);
