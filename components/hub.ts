import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type ImagePulls, pulledFirst } from "./images";
import { Leftovers } from "./leftovers";
import { containerReplacement, hubHealthcheck } from "./containers";
import { endpoints, hubPaths, type Label } from "./names";

/** A file written into the hub container before it starts. */
export interface HubFile {
  /** Absolute path in the container. */
  readonly file: string;
  /** Content; a Pulumi secret for secrets.json. */
  readonly content: pulumi.Input<string>;
  /** Octal mode, e.g. "0600". */
  readonly permissions: string;
}

export interface HubArgs {
  /** Tag of the locally built hub image. */
  readonly imageName: string;
  /** Build context of the hub image, relative to the project directory. */
  readonly context: string;
  /** Base image of the hub image (JupyterHub at the pinned version). */
  readonly baseImage: string;
  /** Platform the hub image is built for (hub.platform): the engine's, stated so that builds and previews never guess. */
  readonly platform: string;
  /** How the base image is pulled. */
  readonly pulls: ImagePulls;
  /** Container name. */
  readonly containerName: string;
  /** The stack's main network, shared with the proxy (the spawner connects the hub to each user server's own network). */
  readonly networkName: pulumi.Input<string>;
  /** The monitoring network (monitoring.enabled), where Prometheus scrapes the hub and the dashboards query Prometheus. */
  readonly monitoringNetworkName?: pulumi.Input<string>;
  /** Volume holding the hub database. */
  readonly dataVolume: pulumi.Input<string>;
  /** Host path of the Docker socket the spawner uses. */
  readonly dockerSocket: string;
  /** Files injected into the container: settings, secrets, hooks. */
  readonly files: readonly HubFile[];
  /** URL users open (its path is the hub's base URL). */
  readonly publicUrl: string;
  /** Labels of the image and container. */
  readonly labels: readonly Label[];
  /** Docker's json-file options that bound its log (`containerLogOptions`). */
  readonly logOptions: Readonly<Record<string, string>>;
  /** Labels that identify the user servers this hub starts (removed with the hub or its network). */
  readonly userServerLabels: Readonly<Record<string, string>>;
  /** Labels that identify the per-user networks the spawner creates (removed after the user servers). */
  readonly userNetworkLabels: Readonly<Record<string, string>>;
}

/**
 * The hub: its image built locally from hub-config/ (never pushed) and its container, which
 * follows the built image's id so a rebuild reaches it, and is replaced (delete first: it has a
 * fixed name) whenever its settings change. Users' servers and routes survive that.
 *
 * Deleting the hub (`pulumi destroy`) removes, after the container, the user servers it started
 * (their volumes stay), then their per-user networks, and the image tag; replacing the network
 * removes the user servers and their networks first.
 */
export class Hub extends pulumi.ComponentResource {
  /** The hub container's name. */
  public readonly containerName: pulumi.Output<string>;
  /** The built hub image (by digest): the exporter runs in it too. */
  public readonly image: pulumi.Output<string>;

  constructor(name: string, args: HubArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:docker:Hub", name, {}, opts);
    const imageTag = new Leftovers(`${name}-image-tag`, { images: [args.imageName] }, { parent: this });
    const userServers = new Leftovers(
      `${name}-user-servers`,
      {
        containers: { network: args.networkName, labels: { ...args.userServerLabels } },
        networks: { labels: { ...args.userNetworkLabels } },
      },
      { parent: this },
    );
    const image = new docker.Image(
      `${name}-image`,
      {
        imageName: args.imageName,
        skipPush: true,
        // the base image pulled first (with the registries' credentials): the build finds it on the engine
        build: { context: args.context, args: { BASE_IMAGE: pulledFirst(args.baseImage, this, args.pulls) }, platform: args.platform },
      },
      { parent: this, dependsOn: [imageTag] },
    );
    const container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: image.repoDigest,
        restart: "unless-stopped",
        networksAdvanced: [
          { name: args.networkName, aliases: [endpoints.hubAlias] },
          ...(args.monitoringNetworkName !== undefined ? [{ name: args.monitoringNetworkName, aliases: [endpoints.hubAlias] }] : []),
        ],
        volumes: [
          { volumeName: args.dataVolume, containerPath: hubPaths.data },
          { hostPath: args.dockerSocket, containerPath: hubPaths.dockerSocket },
        ],
        uploads: args.files.map((f) => ({ file: f.file, content: f.content, permissions: f.permissions })),
        healthcheck: hubHealthcheck(args.publicUrl),
        labels: [...args.labels],
        logDriver: "json-file",
        logOpts: { ...args.logOptions },
        wait: true,
        waitTimeout: 300,
        // Let JupyterHub shut down cleanly (SQLite) when the container is replaced.
        destroyGraceSeconds: 20,
      },
      { parent: this, ...containerReplacement, dependsOn: [userServers] },
    );
    this.containerName = container.name;
    this.image = image.repoDigest;
    this.registerOutputs({ containerName: this.containerName, image: this.image });
  }
}
