/**
 * Captures the output of `pulumi preview --json` the unit tests of the review read
 * (test/fixtures/previews/, test/unit/preview-review.test.ts), from a deployed stack and edited
 * copies of its stack file, with the real CLI (see pulumi.ts), in the form `npm run preview` reads:
 * one engine event per line (PULUMI_ENABLE_STREAMING_JSON_PREVIEW). The policy pack's dependencies
 * must be installed (`npm ci --prefix policy`).
 *
 *   node --import tsx test/e2e/deploy.ts up e2e-backup
 *   node --import tsx test/e2e/capture-previews.ts e2e-backup
 *
 * Each event is stored as the CLI printed it, less the program's stack traces and source positions
 * (`stackTrace`, `sourcePosition`: where a resource was declared, on this machine) and the debug
 * messages (the providers' logs: paths of this machine, and the test stack's generated secrets) and
 * the outputs of each resource after the step (`resOutputsEvent`, which the review does not read). The captures
 * made with `--replace` stand for what a rename without an alias or a forced regeneration plans.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { command } from "./commands";
import { pulumiEnv } from "./pulumi";
import { editedStackFile, projectDir } from "./stack";

type Edit = (config: Record<string, any>) => void;

/** The captures: a config edit, or extra preview arguments. */
const captures: Readonly<Record<string, { readonly edit?: Edit; readonly args?: (stack: string) => string[]; readonly fails?: true }>> = {
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
  "policy-every-interface": {
    edit: (c) => (c["jupyterhub:hub"].bindAddress = "0.0.0.0"),
    args: () => ["--policy-pack", "policy"],
    fails: true,
  },
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
    const args = ["preview", "--json", "--non-interactive", "--stack", stack, ...file, ...(capture.args?.(stack) ?? [])];
    const run = await command("pulumi", args, 10 * 60_000, { ...pulumiEnv(), PULUMI_ENABLE_STREAMING_JSON_PREVIEW: "1" });
    if ((run.code !== 0) !== Boolean(capture.fails)) {
      process.stderr.write(`${name}: pulumi preview exited with ${run.code}:\n${run.stderr.slice(-3000)}\n`);
      return 1;
    }
    const events = run.stdout
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l))
      .filter((e) => e.diagnosticEvent?.severity !== "debug" && !e.resOutputsEvent)
      .map((e) => JSON.stringify(withoutSourcePositions(e)));
    fs.writeFileSync(path.join(dir, `${name}.jsonl`), `${events.join("\n")}\n`);
    process.stderr.write(`${name}: ${events.length} events\n`);
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
