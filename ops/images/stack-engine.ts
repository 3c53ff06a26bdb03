/** The Docker engine of a stack, from the `docker:` settings of its stack file (else DOCKER_HOST or the local socket). */
import type Docker from "dockerode";
import { type DockerSettings, dockerSettingKeys, engineClient } from "../../components/docker-engine";
import { readStackFile } from "../stack-file";

export function stackEngine(projectDir: string, stack: string, configFile?: string): Docker {
  const { config, isSecret } = readStackFile(projectDir, stack, configFile);
  const settings: Record<string, unknown> = {};
  for (const key of dockerSettingKeys) {
    const value = config[`docker:${key}`];
    if (value === undefined) continue;
    if (isSecret(`docker:${key}`))
      throw new Error(`docker:${key} is encrypted in the stack file: run this on the engine's host (DOCKER_HOST)`);
    settings[key] = key === "sshOpts" ? JSON.parse(value) : value;
  }
  const client = engineClient(settings as DockerSettings);
  if ("unsupported" in client)
    throw new Error(`the engine's API cannot follow ${client.unsupported}: set docker:host, or run this on the engine's host`);
  return client.docker;
}
