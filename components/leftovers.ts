import * as pulumi from "@pulumi/pulumi";

/** Docker objects that are not Pulumi resources but must go when the resource that made them goes. */
export interface LeftoversArgs {
  /**
   * Containers (and, in swarm mode, services) to stop and remove: those that carry every one of
   * these labels (the user servers the hub started, wherever they are attached). Their volumes are kept. `network` is the stack's
   * main network: when it is replaced, this resource is replaced (deleting first) and takes the
   * servers with it.
   */
  readonly containers?: pulumi.Input<{ readonly network: pulumi.Input<string>; readonly labels: Readonly<Record<string, string>> }>;
  /**
   * Networks to remove after the containers: those that carry every one of these labels (the
   * per-user networks the hub created); whatever is still attached (hub, proxy) is disconnected.
   */
  readonly networks?: pulumi.Input<{ readonly labels: Readonly<Record<string, string>> }>;
  /** Image tags to remove (a tag still used by a container is left). */
  readonly images?: pulumi.Input<readonly string[]>;
}

interface LeftoversState {
  readonly containers?: { readonly network: string; readonly labels: Record<string, string> };
  readonly networks?: { readonly labels: Record<string, string> };
  readonly images?: readonly string[];
  readonly __provider?: string;
}

/**
 * Removes what it describes when it is deleted, and does nothing else. @pulumi/docker cannot remove
 * the user servers the hub started (they keep the network busy, so `pulumi destroy` would time out),
 * their per-user networks, nor the tag of a built image; a Leftovers resource placed in the
 * dependency graph does it at the right moment: resources are deleted after everything that depends
 * on them. A change of `containers` or `images` replaces it (deleting first), so a replaced network
 * takes its user servers with it; a change of `networks` or of this code only updates the state
 * (the code that runs at deletion is the one serialized into the state).
 *
 * The provider talks to the engine the Docker provider uses (DOCKER_HOST, else the local socket).
 */
const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: LeftoversState) {
    const { randomUUID } = require("node:crypto") as typeof import("node:crypto");
    return { id: randomUUID(), outs: inputs };
  },

  async diff(_id: string, olds: LeftoversState, news: LeftoversState) {
    const same = (k: keyof LeftoversState) => JSON.stringify(olds[k] ?? null) === JSON.stringify(news[k] ?? null);
    const replaces = (["containers", "images"] as const).filter((k) => !same(k));
    const changes = replaces.length > 0 || !same("networks") || !same("__provider");
    return { changes, replaces, deleteBeforeReplace: true };
  },

  async update(_id: string, _olds: LeftoversState, news: LeftoversState) {
    return { outs: news };
  },

  async delete(_id: string, props: LeftoversState) {
    // Loaded here: the provider's code is serialized into the stack state and runs on its own.
    const Docker = require("dockerode") as typeof import("dockerode");
    const docker = new Docker();
    const missing = (e: unknown) => (e as { statusCode?: number }).statusCode === 404;
    const selector = (labels: Record<string, string>) =>
      Object.keys(labels)
        .sort()
        .map((k) => `${k}=${labels[k]}`);
    if (props.containers) {
      // swarm mode: the user servers are services (an engine outside a swarm answers 503)
      let services: { ID: string }[] = [];
      try {
        services = (await docker.listServices({ filters: { label: selector(props.containers.labels) } })) as { ID: string }[];
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode !== 503) throw e;
      }
      await Promise.all(
        services.map(async (s) => {
          try {
            await docker.getService(s.ID).remove();
          } catch (e) {
            if (!missing(e)) throw e;
          }
        }),
      );
      const list = await docker.listContainers({ all: true, filters: { label: selector(props.containers.labels) } });
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
    if (props.networks) {
      const list = await docker.listNetworks({ filters: { label: selector(props.networks.labels) } });
      for (const n of list) {
        const network = docker.getNetwork(n.Id);
        // A container being removed may hold its endpoint a moment longer: a few tries.
        for (let attempt = 1; ; attempt++) {
          try {
            const info = (await network.inspect()) as { Containers?: Record<string, unknown> };
            for (const id of Object.keys(info.Containers ?? {})) {
              try {
                await network.disconnect({ Container: id, Force: true });
              } catch (e) {
                if (!missing(e)) throw e;
              }
            }
            await network.remove();
            break;
          } catch (e) {
            if (missing(e)) break;
            if (attempt >= 30) throw e; // swarm tasks leave an overlay network a few seconds after their service
            await new Promise((r) => setTimeout(r, 1000));
          }
        }
      }
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
    super(provider, name, { containers: args.containers, networks: args.networks, images: args.images }, opts, "jupyterhub", "Leftovers");
  }
}
