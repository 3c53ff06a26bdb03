import * as docker from "@pulumi/docker";
import { containerReplacement } from "./containers";
import * as pulumi from "@pulumi/pulumi";
import { type ImagePulls, pulledImage } from "./images";
import type { Label } from "./names";
import { caddyCommand, frontPaths, frontPorts, type FrontFile } from "./tls";

export interface FrontProxyArgs {
  /** Container name. */
  readonly containerName: string;
  /** Caddy image reference (hub.tls.image). */
  readonly image: string;
  /** The front network, shared with configurable-http-proxy only. */
  readonly networkName: pulumi.Input<string>;
  /** The public host name: also the container's alias on the front network (an ACME server there validates it). */
  readonly hostName: string;
  /** Host address and ports Caddy publishes. */
  readonly bindAddress: string;
  readonly httpPort: number;
  readonly httpsPort: number;
  /** Name of the retained volume that keeps the ACME account and the certificates. */
  readonly volumeName: string;
  /** Files written into the container (tls.ts frontFiles); the operator's key is `secret`. */
  readonly files: readonly FrontFile[];
  /** Labels of the container and the volume. */
  readonly labels: readonly Label[];
  /** Docker's json-file options that bound its log (`containerLogOptions`). */
  readonly logOptions: Readonly<Record<string, string>>;
  readonly volumeLabels: readonly Label[];
  /** How its image is pulled. */
  readonly pulls: ImagePulls;
}

/**
 * The TLS-terminating front proxy (hub.tls acme or files): Caddy in its own container, the only
 * one that publishes ports. It redirects HTTP to HTTPS, sends HSTS, and forwards everything,
 * websockets included, to configurable-http-proxy on their own network. Its certificates and
 * ACME account live in a volume that Pulumi never deletes (`retainOnDelete`), so a replacement
 * (any config change), a restart or even `pulumi destroy` + `up` reuse them instead of ordering
 * new ones. The operator's key (mode files) is written into the container as a secret upload:
 * never in its environment, labels or command line.
 */
export class FrontProxy extends pulumi.ComponentResource {
  /** The container's name. */
  public readonly containerName: pulumi.Output<string>;
  /** The certificate volume's name. */
  public readonly volumeName: pulumi.Output<string>;

  constructor(name: string, args: FrontProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:docker:FrontProxy", name, {}, opts);
    const volume = new docker.Volume(
      `${name}-tls`,
      { name: args.volumeName, driver: "local", labels: [...args.volumeLabels] },
      // Certificates and the ACME account outlive the container, the stack and a labels edit.
      { parent: this, retainOnDelete: true, ignoreChanges: ["labels"] },
    );
    const image = pulledImage(`${name}-image`, args.image, this, args.pulls);
    const container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: image.imageId,
        command: caddyCommand(),
        networksAdvanced: [{ name: args.networkName, aliases: [args.hostName] }],
        ports: [
          { internal: frontPorts.http, external: args.httpPort, ip: args.bindAddress, protocol: "tcp" },
          { internal: frontPorts.https, external: args.httpsPort, ip: args.bindAddress, protocol: "tcp" },
        ],
        volumes: [{ volumeName: volume.name, containerPath: frontPaths.data }],
        uploads: args.files.map((f) => ({
          file: f.file,
          content: f.secret ? pulumi.secret(f.content) : f.content,
          permissions: f.permissions,
        })),
        restart: "unless-stopped",
        labels: [...args.labels],
        logDriver: "json-file",
        logOpts: { ...args.logOptions },
        destroyGraceSeconds: 10,
      },
      // Fixed name and host ports: the old container goes first.
      { parent: this, ...containerReplacement },
    );
    this.containerName = container.name;
    this.volumeName = volume.name;
    this.registerOutputs({ containerName: this.containerName, volumeName: this.volumeName });
  }
}
