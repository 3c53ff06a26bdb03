import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type ImagePulls, pulledImage } from "./images";
import { containerReplacement } from "./containers";
import { endpoints, hubPaths, type Label, monitoring } from "./names";

export interface MonitoringArgs {
  /** The monitoring network (internal): Prometheus, the exporter and the hub, never a user server. */
  readonly networkName: pulumi.Input<string>;
  /** Name of the Prometheus container. */
  readonly prometheusContainer: string;
  /** Prometheus image reference (monitoring.image). */
  readonly prometheusImage: string;
  /** How the Prometheus image is pulled. */
  readonly pulls: ImagePulls;
  /** Name of the retained volume of Prometheus's data. */
  readonly volumeName: string;
  /** Prometheus's configuration (`prometheusConfig`). */
  readonly prometheusConfig: string;
  /** Prometheus's command-line flags (`prometheusFlags`). */
  readonly prometheusFlags: readonly string[];
  /** Memory limit of Prometheus, in bytes. */
  readonly prometheusMemoryBytes: number;
  /** The hub token Prometheus reads the hub's metrics with (secret). */
  readonly prometheusToken: pulumi.Input<string>;
  /** Name of the exporter container. */
  readonly exporterContainer: string;
  /** The built hub image, which the exporter runs in. */
  readonly hubImage: pulumi.Input<string>;
  /** The hub's settings.json, which the exporter reads too. */
  readonly settings: pulumi.Input<string>;
  /** The hub token the exporter lists users, groups and servers with (secret). */
  readonly exporterToken: pulumi.Input<string>;
  /** Host path of the Docker socket (the exporter reads the containers' measurements). */
  readonly dockerSocket: string;
  /** Labels of the Prometheus container. */
  readonly prometheusLabels: readonly Label[];
  /** Labels of the exporter container. */
  readonly exporterLabels: readonly Label[];
  /** Labels of the data volume. */
  readonly volumeLabels: readonly Label[];
  /** Docker's json-file options that bound their logs (`containerLogOptions`). */
  readonly logOptions: Readonly<Record<string, string>>;
}

/** The exporter's memory limit: it keeps one snapshot of the measurements. */
const exporterMemoryBytes = 256 * 1024 * 1024;

/**
 * Monitoring (monitoring.enabled): Prometheus, its data in a volume that no Pulumi operation deletes
 * (`retainOnDelete`; a hub replacement never touches it), scraping the hub's metrics with a token of
 * its own and the exporter, which measures every user server (CPU, memory, network, home size,
 * labelled by hub user and server), the stack's own containers and the host. Both are on the
 * monitoring network only, which user servers never join; the hub joins it to be scraped and to
 * serve the dashboards.
 */
export class Monitoring extends pulumi.ComponentResource {
  /** Name of Prometheus's data volume. */
  public readonly volumeName: pulumi.Output<string>;
  /** Name of the Prometheus container (`npm run report` queries it). */
  public readonly prometheusContainer: pulumi.Output<string>;

  constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:docker:Monitoring", name, {}, opts);
    const image = pulledImage(`${name}-prometheus-image`, args.prometheusImage, this, args.pulls);
    const volume = new docker.Volume(
      `${name}-data`,
      { name: args.volumeName, driver: "local", labels: [...args.volumeLabels] },
      // the measurements: kept on destroy and replacement; labels cannot change in Docker
      { parent: this, retainOnDelete: true, ignoreChanges: ["labels"] },
    );
    const logs = { logDriver: "json-file", logOpts: { ...args.logOptions }, restart: "unless-stopped" };
    const prometheus = new docker.Container(
      `${name}-prometheus`,
      {
        name: args.prometheusContainer,
        image: image.imageId,
        command: [...args.prometheusFlags],
        // Prometheus runs as nobody: both files readable, in its container only
        uploads: [
          { file: monitoring.prometheusConfig, content: args.prometheusConfig, permissions: "0444" },
          { file: monitoring.prometheusToken, content: pulumi.secret(args.prometheusToken), permissions: "0444" },
        ],
        networksAdvanced: [{ name: args.networkName, aliases: [endpoints.prometheusAlias] }],
        volumes: [{ volumeName: volume.name, containerPath: monitoring.prometheusData }],
        memory: Math.floor(args.prometheusMemoryBytes / (1024 * 1024)),
        labels: [...args.prometheusLabels],
        ...logs,
        // its last block written before the container goes
        destroyGraceSeconds: 30,
      },
      { parent: this, ...containerReplacement },
    );
    new docker.Container(
      `${name}-exporter`,
      {
        name: args.exporterContainer,
        image: args.hubImage,
        command: ["python3", "-m", "gmap_hub.monitoring.exporter"],
        uploads: [
          { file: hubPaths.settings, content: args.settings, permissions: "0644" },
          { file: monitoring.exporterToken, content: pulumi.secret(args.exporterToken), permissions: "0600" },
        ],
        networksAdvanced: [{ name: args.networkName, aliases: [endpoints.exporterAlias] }],
        volumes: [{ hostPath: args.dockerSocket, containerPath: hubPaths.dockerSocket }],
        memory: exporterMemoryBytes / (1024 * 1024),
        labels: [...args.exporterLabels],
        ...logs,
      },
      { parent: this, ...containerReplacement },
    );
    this.volumeName = volume.name;
    this.prometheusContainer = prometheus.name;
    this.registerOutputs({ volumeName: this.volumeName, prometheusContainer: this.prometheusContainer });
  }
}
