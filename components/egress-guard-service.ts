import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type Docker from "dockerode";
import {
  egressGuardEnv,
  nodeEgressGuardCapabilities,
  nodeEgressGuardCommand,
  nodeEgressGuardHealthcheck,
  nodeRoot,
  swarmGatewayBridge,
} from "./egress";
import type { Label, egressChains } from "./names";
import { waitForNodeTasks, type NodeTasksWording } from "./node-tasks-wait";
import type { RegistryCredentials } from "./registries";
import type { PublicConfig } from "./config";

export interface EgressGuardServiceArgs {
  /** Service name. */
  readonly serviceName: string;
  /**
   * The image of the guards, which every node that may run servers pulls: the proxy's (Alpine's
   * BusyBox has `chroot`; the guard's other programs are the node's own), pinned with the stack,
   * not an image users' servers run.
   */
  readonly image: string;
  /** The credentials of its registry (configured in `registries`), when it is private. */
  readonly credentials?: RegistryCredentials | undefined;
  /** The nodes that may run servers (engine.serverConstraints, which keep them off the managers). */
  readonly constraints: readonly string[];
  /** spawner.egress. */
  readonly egress: PublicConfig["spawner"]["egress"];
  /** The user networks' address pool (spawner.networkPool). */
  readonly pool: string;
  /** The stack's own iptables chains (`egressChains`). */
  readonly chains: ReturnType<typeof egressChains>;
  /** Labels of the service and its containers. */
  readonly labels: readonly Label[];
  /** Docker's json-file options that bound its log (`containerLogOptions`). */
  readonly logOptions: Readonly<Record<string, string>>;
  /** The id of the manager's `host` network, which the guard's tasks join on each node. */
  readonly hostNetworkId: pulumi.Input<string>;
  /** The manager's engine: `pulumi up` waits there until every node's guard is in place (absent, as in a preview: no wait). */
  readonly engine?: Docker | undefined;
}

/** The guards' wait, in `pulumi up`'s words. */
const wording: NodeTasksWording = {
  failing: "cannot keep the rules of",
  progress: "starting the egress guards on the nodes",
  done: (tasks, seconds) => `egress rules in place on every node that may run servers (${tasks} guards) after ${seconds} s`,
  unplaced: (_key, reason) => `no node takes the egress guard yet (${reason}): no server can start there either`,
  whole: "the nodes' egress guards",
};

/**
 * Swarm mode: the user servers' egress rules (spawner.egress, components/egress.ts) in the firewall
 * of every node that may run servers, kept by a global service: one guard task per node (nodes that
 * join later included), in the node's network namespace, running the node's own shell and iptables
 * in the node's filesystem (its root bound at /host, read-only at the top, entered with `chroot`),
 * with only the capabilities that takes. There the servers' packets are matched by the interface
 * they come in through, the node's docker_gwbridge, their way to anything beyond their overlay
 * networks (the hub and the proxy are reached over the overlay, not through it). Each guard installs
 * the rules at start, puts them back when they disappear and removes them when it stops; a
 * healthcheck holds its task in `starting` until they are in place, `pulumi up` waits for every
 * node's guard before the hub starts, and the hub starts no server on a node whose guard does not
 * run (gmap_hub/spawner/swarm.py).
 */
export class EgressGuardService extends pulumi.ComponentResource {
  /** The service. */
  public readonly service: docker.Service;
  /** This component, once every node that may run servers has its rules (`pulumi up`): what the hub depends on. */
  public readonly ready: pulumi.Output<pulumi.Resource>;

  constructor(name: string, args: EgressGuardServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:docker:EgressGuardService", name, {}, opts);
    const credentials = args.credentials;
    this.service = new docker.Service(
      name,
      {
        name: args.serviceName,
        labels: [...args.labels],
        mode: { global: true },
        ...(credentials
          ? { auth: { serverAddress: credentials.server, username: credentials.username, password: pulumi.secret(credentials.password) } }
          : {}),
        taskSpec: {
          containerSpec: {
            image: args.image,
            commands: nodeEgressGuardCommand(),
            user: "0",
            env: egressGuardEnv(args.egress, args.pool, args.chains, swarmGatewayBridge),
            capDrops: ["ALL"],
            capAdds: [...nodeEgressGuardCapabilities],
            mounts: [{ type: "bind", source: "/", target: nodeRoot, readOnly: true }],
            healthcheck: nodeEgressGuardHealthcheck(),
            labels: [...args.labels],
            // stopped (SIGTERM: the guard removes its rules) before it is removed
            stopGracePeriod: "15s",
            sysctl: {},
          },
          networksAdvanceds: [{ name: args.hostNetworkId }],
          placement: { constraints: [...args.constraints] },
          resources: { limits: { memoryBytes: 64 * 1024 * 1024 } },
          restartPolicy: { condition: "any", delay: "5s", window: "0s" },
          logDriver: { name: "json-file", options: { ...args.logOptions } },
        },
      },
      { parent: this, deleteBeforeReplace: true },
    );
    const engine = args.engine;
    const report = (message: string, progress: boolean) => pulumi.log.info(message, this, undefined, progress);
    this.ready = this.service.name.apply(async (service) => {
      if (engine) await waitForNodeTasks(engine, { "egress guard": service }, report, wording);
      return this;
    });
    this.registerOutputs({ service: this.service.name });
  }
}
