import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { Label } from "./names";

export interface HubNetworkArgs {
  /** Docker network name; hub, proxy and every user server join it. */
  readonly networkName: string;
  /** Labels of the network. */
  readonly labels: readonly Label[];
  /**
   * bridge (one host), or overlay (swarm mode): attachable, so that the hub and the proxy, plain
   * containers on the manager, join it like the user servers' services.
   */
  readonly driver?: "bridge" | "overlay";
  /** No route out of the network (the monitoring network: its members only talk to each other). */
  readonly internal?: boolean;
}

/** The dedicated network of one hub. */
export class HubNetwork extends pulumi.ComponentResource {
  /** The network's name, as the spawner needs it. */
  public readonly name: pulumi.Output<string>;

  constructor(name: string, args: HubNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:docker:Network", name, {}, opts);
    const network = new docker.Network(
      name,
      {
        name: args.networkName,
        driver: args.driver ?? "bridge",
        ...(args.driver === "overlay" ? { attachable: true } : {}),
        ...(args.internal ? { internal: true } : {}),
        labels: [...args.labels],
      },
      // Fixed name: the old network must go before the new one is created.
      { parent: this, deleteBeforeReplace: true },
    );
    this.name = network.name;
    this.registerOutputs({ name: this.name });
  }
}
