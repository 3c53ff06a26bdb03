import * as pulumi from "@pulumi/pulumi";

/** Docker objects that are not Pulumi resources but must go when the resource that made them goes. */
export interface LeftoversArgs {
  /**
   * Containers to stop and remove: those on this network that carry every one of these labels
   * (the user servers the hub started). Their volumes are kept.
   */
  readonly containers?: pulumi.Input<{ readonly network: pulumi.Input<string>; readonly labels: Readonly<Record<string, string>> }>;
  /** Image tags to remove (a tag still used by a container is left). */
  readonly images?: pulumi.Input<readonly string[]>;
}

interface LeftoversState {
  readonly containers?: { readonly network: string; readonly labels: Record<string, string> };
  readonly images?: readonly string[];
}

/**
 * Removes what it describes when it is deleted, and does nothing else. @pulumi/docker cannot remove
 * the user servers the hub started (they keep the network busy, so `pulumi destroy` would time out)
 * nor the tag of a built image; a Leftovers resource placed in the dependency graph does it at the
 * right moment: resources are deleted after everything that depends on them. Any change of its
 * inputs replaces it (deleting first), so a replaced network takes its user servers with it.
 *
 * The provider talks to the engine the Docker provider uses (DOCKER_HOST, else the local socket).
 */
const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: LeftoversState) {
    const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
    return { id: randomUUID(), outs: inputs };
  },

  async diff(_id: string, olds: LeftoversState, news: LeftoversState) {
    const replaces = (["containers", "images"] as const).filter((k) => JSON.stringify(olds[k] ?? null) !== JSON.stringify(news[k] ?? null));
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
  },

  async delete(_id: string, props: LeftoversState) {
    // Loaded here: the provider's code is serialized into the stack state and runs on its own.
    const Docker = require("dockerode") as typeof import("dockerode");
    const docker = new Docker();
    const missing = (e: unknown) => (e as { statusCode?: number }).statusCode === 404;
    if (props.containers) {
      const { network, labels } = props.containers;
      const label = Object.keys(labels)
        .sort()
        .map((k) => `${k}=${labels[k]}`);
      const list = await docker.listContainers({ all: true, filters: { network: [network], label } });
      await Promise.all(
        list.map(async (c) => {
          const container = docker.getContainer(c.Id);
          try {
            // A clean shutdown first (the notebook server saves its state), then removal; volumes stay.
            if (c.State === "running") await container.stop({ t: 10 });
            await container.remove({ force: true, v: false });
          } catch (e) {
            if (!missing(e) && !/removal of container .* is already in progress/.test(String(e))) throw e;
          }
        }),
      );
    }
    for (const image of props.images ?? []) {
      try {
        await docker.getImage(image).remove({ noprune: false });
      } catch (e) {
        const status = (e as { statusCode?: number }).statusCode;
        if (status !== 404 && status !== 409) throw e;
      }
    }
  },
};

/** A dynamic resource whose deletion removes leftovers (see `provider`). */
export class Leftovers extends pulumi.dynamic.Resource {
  constructor(name: string, args: LeftoversArgs, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { containers: args.containers, images: args.images }, opts, "jupyterhub", "Leftovers");
  }
}
