/**
 * engine: where user servers run (this Docker host, or the nodes of a Docker Swarm), the Swarm
 * placement constraints, and what swarm mode asks of the rest of the config.
 */
import { z } from "zod";
import type { Issue } from "../rules";
import { kindOf, type StorageSource } from "./storage-kinds";

/** A Swarm placement constraint (engine.mode swarm), as `docker service create --constraint` takes it. */
export const placementConstraint = z
  .string()
  .trim()
  .regex(
    /^(node\.(id|hostname|role|platform\.os|platform\.arch|labels\.[^\s=!]+)|engine\.labels\.[^\s=!]+)\s*(==|!=)\s*\S+$/,
    "placement constraints read <attribute>==<value> or <attribute>!=<value>, the attribute one of node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<label>, engine.labels.<label> (e.g. node.labels.memory==big)",
  );

export const engineFields = z
  .object({
    mode: z
      .enum(["host", "swarm"], { error: 'engine.mode is "host" or "swarm"' })
      .default("host")
      .describe(
        "host: everything on one Docker host. swarm: the user servers run as Swarm services on the nodes of the Docker Swarm this host manages (docs/swarm.md); hub, proxy and database stay on this manager node.",
      ),
    serverConstraints: z
      .array(placementConstraint)
      .default([])
      .describe("engine.mode swarm: placement constraints of every user server, e.g. node.role==worker to keep the manager free."),
    prePull: z
      .boolean()
      .default(true)
      .describe(
        "engine.mode swarm: keep every notebook image on every node that may run its servers (a global service <prefix>-pull-<image> per image, one idle container per node), so that no spawn waits on a pull and nodes that join later get the images too.",
      ),
  })
  .strict()
  .prefault({})
  .describe("Where user servers run: this Docker host, or the nodes of a Docker Swarm.");

/** What engineChecks reads of the config. */
interface EngineView {
  readonly engine: z.output<typeof engineFields>;
  readonly images: readonly { readonly constraints?: readonly string[] | undefined }[];
  readonly storage: readonly { readonly source: StorageSource }[];
  readonly spawner: {
    readonly tmpSize?: string | undefined;
    readonly writableLayerSize?: string | undefined;
    readonly workVolume: { readonly enabled: boolean; readonly source?: StorageSource | undefined };
  };
}

/** What engine.mode swarm needs: data every node reaches, and the swarm-only keys only there. */
export function engineChecks(cfg: EngineView, issue: Issue): void {
  const swarm = cfg.engine.mode === "swarm";
  if (!swarm) {
    if (cfg.engine.serverConstraints.length > 0) issue(["engine", "serverConstraints"], "placement constraints need engine.mode swarm");
    cfg.images.forEach((image, i) => {
      if (image.constraints !== undefined) issue(["images", i, "constraints"], "placement constraints need engine.mode swarm");
    });
    return;
  }
  cfg.storage.forEach((m, i) => {
    const problem = kindOf(m.source).swarmProblem;
    if (problem) issue(["storage", i, "source", "type"], problem);
  });
  for (const key of ["tmpSize", "writableLayerSize"] as const) {
    if (cfg.spawner[key] !== undefined)
      issue(["spawner", key], "engine.mode swarm: Swarm services take neither a tmpfs size nor a storage size; leave it unset");
  }
  const homes = cfg.spawner.workVolume.source;
  const homesProblem = homes && kindOf(homes).swarmProblem;
  if (cfg.spawner.workVolume.enabled && homesProblem) issue(["spawner", "workVolume", "source", "type"], homesProblem);
  if (cfg.spawner.workVolume.enabled && cfg.spawner.workVolume.source === undefined) {
    issue(
      ["spawner", "workVolume", "source"],
      "engine.mode swarm starts a user's server on any node, so the homes must live on the network for the files to follow the user: set spawner.workVolume.source (nfs, cifs or driver), or spawner.workVolume.enabled: false",
    );
  }
}
