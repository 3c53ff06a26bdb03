import * as docker from "@pulumi/docker";
import { containerReplacement } from "./containers";
import * as pulumi from "@pulumi/pulumi";
import { egressGuardCapabilities, egressGuardEntrypoint, egressGuardEnv, egressGuardHealthcheck } from "./egress";
import type { Label, egressChains } from "./names";
import type { PublicConfig } from "./config";

export interface EgressGuardArgs {
  /** Container name. */
  readonly containerName: string;
  /**
   * The id of a pulled image with a shell, readlink, cat and nsenter: the proxy's (Alpine's BusyBox
   * has them); not the hub's base image, whose upgrades would replace the guard.
   */
  readonly imageId: pulumi.Input<string>;
  /** spawner.egress. */
  readonly egress: PublicConfig["spawner"]["egress"];
  /** The user networks' address pool (spawner.networkPool): the source the rules match. */
  readonly pool: string;
  /** The stack's own iptables chains (`egressChains`). */
  readonly chains: ReturnType<typeof egressChains>;
  /** Labels of the container. */
  readonly labels: readonly Label[];
  /** Docker's json-file options that bound its log (`containerLogOptions`). */
  readonly logOptions: Readonly<Record<string, string>>;
}

/**
 * The user servers' egress rules (spawner.egress, components/egress.ts), kept in the Docker host's
 * firewall by a container that runs as long as the engine does: it installs them at start (after an
 * engine restart or a reboot too), puts them back when they disappear, and removes them when it is
 * removed. The stack's one container with privileges on the host: in the host's network and process
 * namespaces, it enters the engine's mount namespace to run the host's own iptables (the one Docker
 * uses, so both write the same tables), with only the capabilities that takes. `pulumi up` waits
 * until the rules are in place (healthcheck), and the hub starts after it, so no server runs before
 * them. The rules match the pool, so they hold for servers started before the guard too.
 */
export class EgressGuard extends pulumi.ComponentResource {
  /** The guard container, for dependencies. */
  public readonly container: docker.Container;

  constructor(name: string, args: EgressGuardArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:docker:EgressGuard", name, {}, opts);
    this.container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: args.imageId,
        entrypoints: egressGuardEntrypoint(),
        user: "0",
        // "/" exists in the engine's mount namespace too, where the guard's processes (and its healthcheck) live
        workingDir: "/",
        envs: Object.entries(egressGuardEnv(args.egress, args.pool, args.chains)).map(([key, value]) => `${key}=${value}`),
        networkMode: "host",
        pidMode: "host",
        capabilities: { drops: ["ALL"], adds: [...egressGuardCapabilities] },
        // Docker's AppArmor profile forbids looking into the engine's namespaces (hosts without AppArmor
        // ignore this); with the host's process namespace Docker disables SELinux labels itself, stated
        // here so that `pulumi refresh` reads back what was declared
        securityOpts: ["apparmor=unconfined", "label=disable"],
        restart: "always",
        healthcheck: egressGuardHealthcheck(),
        wait: true,
        waitTimeout: 120,
        labels: [...args.labels],
        logDriver: "json-file",
        logOpts: { ...args.logOptions },
        // stopped (SIGTERM: the guard removes its rules) before it is removed
        destroyGraceSeconds: 15,
      },
      { parent: this, ...containerReplacement },
    );
    this.registerOutputs({ container: this.container.name });
  }
}
