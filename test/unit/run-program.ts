/**
 * Runs index.ts once under plain mocks, in a stack as `pulumi up` runs it, with a stack file's
 * config and prints what it declared: every resource's inputs (secret values shown as
 * "[secret <hash>]"), its URN and aliases as the engine spells them, the options that decide what a
 * change does to it, and the stack outputs. Used by the unit tests through `runProgram`, one
 * process per run (the program declares its resources at import time).
 *
 *   node --import tsx test/unit/run-program.ts <stack> [extra config JSON]
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { secretKeys } from "../../components/config";
import { readStackFile } from "../../ops/stack-file";
import { installMocks, recorded, redacted, settle } from "./mocks";

const PROJECT = "jupyterhub";
const STACK_TYPE = "pulumi:pulumi:Stack";

/** What the program declared of one resource, beyond its inputs. */
interface Declared {
  readonly resource: pulumi.Resource;
  readonly type: string;
  readonly name: string;
  readonly parent?: pulumi.Resource;
  readonly aliases: readonly pulumi.Input<string | pulumi.Alias>[];
  readonly replaceOnChanges: readonly string[];
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
}

/**
 * URNs as the engine spells them: the types of every ancestor below the stack, then the name. A
 * resource's aliases are its own and those it inherits from its ancestors' aliases, as the SDK
 * derives them (a child whose name starts with its parent's takes the parent's old name).
 */
function urnsOf(declared: readonly Declared[], stack: string) {
  const byResource = new Map(declared.map((d) => [d.resource, d]));
  const parentOf = (d: Declared) => (d.parent ? byResource.get(d.parent) : undefined);
  const typeChain = (d: Declared | undefined): string[] => (d ? [...typeChain(parentOf(d)), d.type] : []);
  const urn = (types: readonly string[], name: string) => `urn:pulumi:${stack}::${PROJECT}::${types.join("$")}::${name}`;
  const parse = (u: string) => {
    const [, , types = "", name = ""] = u.split("::");
    return { types: types.split("$"), name };
  };
  const aliasUrns = (d: Declared): string[] => {
    const own = d.aliases.map((alias) => {
      if (typeof alias === "string") return alias;
      const a = alias as pulumi.Alias;
      const parent = a.parent !== undefined ? byResource.get(a.parent as pulumi.Resource) : parentOf(d);
      return urn([...typeChain(parent), (a.type as string | undefined) ?? d.type], (a.name as string | undefined) ?? d.name);
    });
    const parent = parentOf(d);
    const inherited = parent
      ? aliasUrns(parent).map((old) => {
          const p = parse(old);
          const name = d.name.startsWith(parent.name) ? p.name + d.name.slice(parent.name.length) : d.name;
          return urn([...p.types, d.type], name);
        })
      : [];
    return [...own, ...inherited];
  };
  return (d: Declared) => ({ urn: urn(typeChain(d), d.name), aliases: aliasUrns(d) });
}

async function main(): Promise<void> {
  const [stack, extra] = process.argv.slice(2);
  const { config, isSecret } = readStackFile(process.cwd(), stack!);
  installMocks(PROJECT, stack);
  // as the CLI does: the keys with encrypted values in the stack file, and extra secret keys (placeholders of secrets)
  const extraConfig = (extra ? JSON.parse(extra) : {}) as Record<string, string>;
  const all = { ...config, ...extraConfig };
  const encrypted = Object.keys(all).filter((k) => isSecret(k) || (k in extraConfig && secretKeys.some((s) => k === `${PROJECT}:${s}`)));
  pulumi.runtime.setAllConfig(all, encrypted);
  const declared: Declared[] = [];
  let program: Record<string, unknown> = {};
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation(({ resource, type, name, opts }) => {
      declared.push({
        resource,
        type,
        name,
        parent: opts.parent,
        aliases: (opts.aliases ?? []) as pulumi.Input<string | pulumi.Alias>[],
        replaceOnChanges: opts.replaceOnChanges ?? [],
        retainOnDelete: opts.retainOnDelete ?? false,
        deleteBeforeReplace: (opts as pulumi.CustomResourceOptions).deleteBeforeReplace ?? false,
      });
      return undefined;
    });
    program = require("../../index") as Record<string, unknown>;
    return {};
  });
  const outputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(program)) {
    if (pulumi.Output.isInstance(value)) {
      outputs[key] = { secret: await pulumi.isSecret(value), value: await new Promise((r) => value.apply(r)) };
    } else {
      outputs[key] = { secret: false, value };
    }
  }
  await settle();
  const identity = urnsOf(declared, stack!);
  const options = new Map(declared.map((d) => [`${d.type}::${d.name}`, d]));
  const resources = recorded
    .filter((r) => r.type !== STACK_TYPE)
    .map((r) => {
      const d = options.get(`${r.type}::${r.name}`)!;
      return {
        type: r.type,
        name: r.name,
        inputs: redacted(r.raw),
        secretPaths: r.secretPaths,
        ...identity(d),
        replaceOnChanges: d.replaceOnChanges,
        retainOnDelete: d.retainOnDelete,
        deleteBeforeReplace: d.deleteBeforeReplace,
      };
    });
  process.stdout.write(JSON.stringify({ resources, outputs }));
}

/**
 * Placeholder secrets of the example stacks whose secrets live encrypted outside the repository
 * (set as encrypted values, as `pulumi config set --secret` would).
 */
export const exampleSecrets: Readonly<Record<string, Record<string, string>>> = {
  production: {
    "jupyterhub:githubClientSecret": "gh-placeholder-secret",
    "jupyterhub:gitlabClientSecret": "gl-placeholder-secret",
    "jupyterhub:shareCredentials": JSON.stringify({ "shared-smb": { username: "gmap", password: "smb-placeholder-secret" } }),
  },
};

/** What one run of the program declared. */
export interface ProgramRun {
  resources: {
    type: string;
    name: string;
    inputs: any;
    secretPaths: string[];
    /** The URN `pulumi up` gives it, and the old URNs its aliases keep. */
    urn: string;
    aliases: string[];
    replaceOnChanges: string[];
    retainOnDelete: boolean;
    deleteBeforeReplace: boolean;
  }[];
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
