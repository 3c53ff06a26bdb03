/**
 * The private registry stand-in of test/infra/registry.sh (https://10.216.0.2:5000, a test CA,
 * basic auth) for the scenarios that pull from a registry: starting it, pushing images to it, and
 * removing the references to it that a scenario left on an engine.
 */
import { execFile } from "node:child_process";
import * as path from "node:path";
import type Docker from "dockerode";
import { projectDir } from "./stack";

export const REGISTRY = "10.216.0.2:5000";

/** Runs test/infra/registry.sh (needs root); its standard output. */
export function registrySh(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("bash", [path.join(projectDir, "test/infra/registry.sh"), ...args], { timeout: 30 * 60_000, env }, (error, stdout, stderr) => {
      if (error) reject(new Error(`registry.sh ${args.join(" ")}: ${error.message}\n${String(stderr).slice(-3000)}`));
      else resolve(String(stdout));
    });
  });
}

/** Starts the registry (idempotent; with `password`, the one a test stack file holds) and returns its user and password. */
export async function startRegistry(password?: string): Promise<{ user: string; password: string }> {
  await registrySh(["up"], password ? { ...process.env, REGISTRY_PASSWORD: password } : process.env);
  const env = Object.fromEntries(
    (await registrySh(["env"]))
      .trim()
      .split("\n")
      .map((l) => l.split(/=(.*)/s, 2) as [string, string]),
  );
  return { user: env.REGISTRY_USER!, password: env.REGISTRY_PASSWORD! };
}

/** Pushes a local image as REGISTRY/<target> (repository:tag); returns its digest. */
export async function push(source: string, target: string): Promise<string> {
  const digest = (await registrySh(["push", source, target])).trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`registry.sh push printed no digest: ${digest}`);
  return digest;
}

/** Removes every reference to the registry (tags and digests) from an engine; the images other references name stay. */
export async function forgetRegistryImages(docker: Docker): Promise<void> {
  for (const image of await docker.listImages()) {
    const refs = [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])].filter((r) => r.startsWith(`${REGISTRY}/`));
    for (const ref of refs)
      await docker
        .getImage(ref)
        .remove()
        .catch(() => undefined);
  }
}

/** The references to the registry an engine holds, sorted. */
export async function registryReferences(docker: Docker): Promise<string[]> {
  const refs = (await docker.listImages()).flatMap((i) => [...(i.RepoTags ?? []), ...(i.RepoDigests ?? [])]);
  return refs.filter((r) => r.startsWith(`${REGISTRY}/`)).sort();
}
