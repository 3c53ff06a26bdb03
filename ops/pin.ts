/**
 * Pins the stack's images by digest in its stack file, and updates them when asked (docs/images.md):
 *
 *   npm run pin -- <stack> [--update] [--check] [--config-file FILE]
 *
 * Every image the stack runs (hub.baseImage, proxy.image, hub.tls.image and hub.database.image when
 * in use, each of images[]) is looked up in its registry through the stack's Docker engine
 * (its docker:host, else DOCKER_HOST or the local socket: the engine that trusts the registry's
 * certificate), with the
 * stack's registry credentials (`pulumi config get registryPasswords`, so backend and passphrase come
 * from the environment). A reference without a digest gets the digest its tag names now
 * (name:tag@sha256:...), written into Pulumi.<stack>.yaml with its comments kept. A pinned reference
 * whose tag has moved upstream is reported and kept; `--update` takes the new digest. The change of
 * the stack file is then reviewed like any other (`npm run preview`) before `pulumi up` pulls it.
 * `--check` changes nothing and exits 1 when an image is not pinned or its tag moved. With
 * `--config-file` that file is read and written instead of Pulumi.<stack>.yaml (as pulumi's option).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { stackImages } from "../components/config/sections/registries";
import { parseReference, registryOf, tagReference } from "../components/image-reference";
import { ping } from "./backups/engine";
import { loadStack } from "./backups/stack";
import { stackEngine } from "./images/stack-engine";
import { credentialsFor, registryCredentials } from "../components/registries";
import { planPins, reportLine, writePins } from "./images/references";
import { projectName } from "./stack-file";

const usage = "usage: npm run pin -- <stack> [--update] [--check] [--config-file FILE]";

/** The stack's registry passwords by server, decrypted by the Pulumi CLI. */
function registryPasswords(projectDir: string, stack: string, configFile: string | undefined): Record<string, string> {
  const args = ["config", "get", "registryPasswords", "--stack", stack, "--json", ...(configFile ? ["--config-file", configFile] : [])];
  const r = spawnSync("pulumi", args, { cwd: projectDir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`pulumi config get registryPasswords --stack ${stack} failed: ${(r.stderr || r.stdout).trim()}`);
  const out = JSON.parse(r.stdout) as { value?: string; objectValue?: Record<string, string> };
  return out.objectValue ?? (JSON.parse(out.value ?? "{}") as Record<string, string>);
}

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { update: { type: "boolean" }, check: { type: "boolean" }, "config-file": { type: "string" } },
      allowPositionals: true,
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || (values.update && values.check)) {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const projectDir = path.resolve(__dirname, "..");
  const stackName = positionals[0]!;
  const update = values.update === true;
  const check = values.check === true;
  const configFile = values["config-file"];
  const project = projectName(projectDir);
  // pinning is what satisfies requireDigests: the stack is read as if it did not ask for digests yet
  const { config } = loadStack(projectDir, stackName, configFile, { [`${project}:requireDigests`]: "false" });
  const images = stackImages(config);

  const tagRefs = [...new Set(images.map((i) => tagReference(parseReference(i.ref))).filter((r): r is string => r !== undefined))];
  const needsCredentials = tagRefs.some((r) => config.registries.some((reg) => reg.server === registryOf(r)));
  const passwords = needsCredentials ? registryPasswords(projectDir, stackName, configFile) : {};
  const credentials = registryCredentials({ registries: config.registries, registryPasswords: passwords });
  const docker = stackEngine(projectDir, stackName, configFile);
  await ping(docker);
  const digests = new Map<string, string>();
  for (const ref of tagRefs) {
    const c = credentialsFor(ref, credentials);
    const authconfig = c ? { username: c.username, password: c.password ?? "", serveraddress: c.server } : undefined;
    try {
      const found = (await docker.getImage(ref).distribution(authconfig ? { authconfig } : {})) as { Descriptor?: { digest?: string } };
      const digest = found.Descriptor?.digest;
      if (!digest?.startsWith("sha256:")) throw new Error("the registry named no sha256 digest");
      digests.set(ref, digest);
    } catch (e) {
      throw new Error(`cannot look up ${ref} in its registry: ${(e as Error).message}`, { cause: e });
    }
  }

  const results = planPins(images, (ref) => digests.get(ref)!, update);
  for (const r of results) process.stdout.write(`${reportLine(r)}\n`);
  const changes = results.filter((r) => r.to !== undefined);
  if (check) return results.some((r) => r.status === "pinned" || r.status === "moved") ? 1 : 0;
  if (changes.length === 0) {
    process.stdout.write("the stack file is unchanged\n");
    return 0;
  }
  const file = configFile ? path.resolve(projectDir, configFile) : path.join(projectDir, `Pulumi.${stackName}.yaml`);
  const text = writePins(fs.readFileSync(file, "utf8"), project, changes, (top) => config[top as keyof typeof config]);
  fs.writeFileSync(file, text);
  process.stdout.write(
    `wrote ${changes.length} reference${changes.length === 1 ? "" : "s"} into ${path.basename(file)}: review with \`npm run preview -- ${stackName}\`, then \`pulumi up\`\n`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    process.stderr.write(`pin: ${(e as Error).message}\n`);
    process.exitCode = 2;
  },
);
