import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type Docker from "dockerode";
import type { Label } from "./names";
import { prePullWording, waitForNodeTasks } from "./node-tasks-wait";
import type { RegistryCredentials } from "./registries";

/** One notebook image to keep on the nodes. */
export interface PrePulledImage {
  /** Name of the global service that keeps it. */
  readonly serviceName: string;
  /** Image reference. */
  readonly image: string;
  /** Placement constraints: the nodes that may run servers of this image. */
  readonly constraints: readonly string[];
  /** The credentials of its registry (configured in `registries`): every node pulls with them. */
  readonly credentials?: RegistryCredentials | undefined;
}

export interface ImagePrePullArgs {
  /** The images, keyed by short name. */
  readonly images: Readonly<Record<string, PrePulledImage>>;
  /** Labels of the services and their containers. */
  readonly labels: readonly Label[];
  /** Docker's json-file options that bound its log (`containerLogOptions`). */
  readonly logOptions: Readonly<Record<string, string>>;
  /** The manager's engine: `pulumi up` waits there until every node has the images, reporting (absent, as in a preview: no wait). */
  readonly engine?: Docker | undefined;
}

/**
 * Swarm mode: every notebook image on every node that may run its servers, before a user needs it.
 * One global service per image runs an idle container of the image on each such node (nodes that
 * join later included): Swarm pulls the image there, and an image in use is never pruned. A new
 * image reference updates the service, which pulls the new image on every node. Each container
 * sleeps, with at most 32 MiB of memory. `pulumi up` waits until every node has its images (`ready`),
 * reporting each node's state, so that no spawn waits on a pull.
 */
export class ImagePrePull extends pulumi.ComponentResource {
  /** Names of the services, keyed by image short name. */
  public readonly services: pulumi.Output<Record<string, string>>;
  /** This component, once every node that may run a server has its images (`pulumi up`): what the hub depends on. */
  public readonly ready: pulumi.Output<pulumi.Resource>;

  constructor(name: string, args: ImagePrePullArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:docker:ImagePrePull", name, {}, opts);
    const keys = Object.keys(args.images).sort();
    const services = keys.map((key) => {
      const spec = args.images[key]!;
      return new docker.Service(
        `${name}-${key}`,
        {
          name: spec.serviceName,
          labels: [...args.labels],
          mode: { global: true },
          ...(spec.credentials
            ? {
                auth: {
                  serverAddress: spec.credentials.server,
                  username: spec.credentials.username,
                  password: pulumi.secret(spec.credentials.password),
                },
              }
            : {}),
          taskSpec: {
            containerSpec: {
              image: spec.image,
              // the image's own entrypoint (e.g. docker-stacks' tini + start.sh) is not needed to sleep
              commands: ["sleep", "infinity"],
              labels: [...args.labels],
              stopGracePeriod: "1s",
              // written as the provider reads them back, so that the next preview is quiet
              env: {},
              sysctl: {},
            },
            placement: { constraints: [...spec.constraints] },
            resources: { limits: { memoryBytes: 32 * 1024 * 1024 } },
            restartPolicy: { condition: "any", delay: "10s", window: "0s" },
            logDriver: { name: "json-file", options: { ...args.logOptions } },
          },
        },
        { parent: this, deleteBeforeReplace: true },
      );
    });
    this.services = pulumi.all(Object.fromEntries(keys.map((key, i) => [key, services[i]!.name])));
    const engine = args.engine;
    const report = (message: string, progress: boolean) => pulumi.log.info(message, this, undefined, progress);
    this.ready = this.services.apply(async (names) => {
      if (engine) await waitForNodeTasks(engine, names, report, prePullWording);
      return this;
    });
    this.registerOutputs({ services: this.services });
  }
}
