/** Runs promtool in the stack's Prometheus container (docker exec through the engine's API). */
import type Docker from "dockerode";
import { execIn, isRunning } from "../backups/engine";
import { Collector } from "../backups/streams";
import { type Promtool, promtoolPath } from "./queries";

/** A Promtool that runs in `container` on `docker`; throws with promtool's message when it exits non-zero. */
export async function promtoolIn(docker: Docker, container: string): Promise<Promtool> {
  if (!(await isRunning(docker, container)))
    throw new Error(
      `the stack's Prometheus (container ${container}) is not running on this engine: \`pulumi up\` the stack with monitoring.enabled`,
    );
  return async (args) => {
    const out = new Collector();
    const { code, stderr } = await execIn(docker, container, { cmd: [promtoolPath, ...args], stdout: out });
    if (code !== 0)
      throw new Error(
        `promtool ${args.slice(0, 2).join(" ")} ${JSON.stringify(args[args.length - 1])} in ${container} exited with ${code}: ${(stderr || out.text).trim()}`,
      );
    return out.text;
  };
}
