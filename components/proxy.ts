import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { type ImagePulls, pulledImage } from "./images";
import { containerReplacement, proxyCommand, proxyEntrypoint } from "./containers";
import { endpoints, type Label } from "./names";

export interface HubProxyArgs {
  /** Container name. */
  readonly containerName: string;
  /** configurable-http-proxy image reference. */
  readonly image: string;
  /** The stack's main network, shared with the hub only (the API listens there). */
  readonly networkName: pulumi.Input<string>;
  /**
   * Host address and port the proxy publishes (hub.tls off); with hub.tls on it publishes nothing
   * and serves the front proxy on `frontNetworkName` instead.
   */
  readonly published?: { readonly bindAddress: string; readonly port: number };
  /** The front network, shared with the TLS front proxy only (hub.tls on). */
  readonly frontNetworkName?: pulumi.Input<string>;
  /** Token the hub uses on the proxy's API (secret). */
  readonly authToken: pulumi.Input<string>;
  /** Labels of the container. */
  readonly labels: readonly Label[];
  /** Docker's json-file options that bound its log (`containerLogOptions`). */
  readonly logOptions: Readonly<Record<string, string>>;
  /** How its image is pulled. */
  readonly pulls: ImagePulls;
}

/**
 * configurable-http-proxy in its own container: it keeps every route to user servers while the
 * hub container is replaced, so a config change does not interrupt running notebooks. The hub
 * connects it to each user server's own network; its REST API listens on the main network only
 * (`proxyEntrypoint`). With hub.tls on, only the TLS front proxy reaches it, on a network of
 * their own.
 */
export class HubProxy extends pulumi.ComponentResource {
  /** The proxy container, for dependencies. */
  public readonly container: docker.Container;
  /** The pulled proxy image's id (the egress guard runs in it too). */
  public readonly imageId: pulumi.Output<string>;

  constructor(name: string, args: HubProxyArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:docker:Proxy", name, {}, opts);
    const image = pulledImage(`${name}-image`, args.image, this, args.pulls);
    this.imageId = image.imageId;
    const behindFront = args.frontNetworkName !== undefined;
    this.container = new docker.Container(
      name,
      {
        name: args.containerName,
        image: image.imageId,
        entrypoints: proxyEntrypoint(),
        command: proxyCommand(behindFront),
        envs: [pulumi.secret(pulumi.interpolate`CONFIGPROXY_AUTH_TOKEN=${args.authToken}`)],
        networksAdvanced: [
          { name: args.networkName, aliases: [endpoints.proxyAlias] },
          ...(args.frontNetworkName !== undefined ? [{ name: args.frontNetworkName, aliases: [endpoints.proxyFrontAlias] }] : []),
        ],
        ...(args.published
          ? { ports: [{ internal: endpoints.proxyPort, external: args.published.port, ip: args.published.bindAddress, protocol: "tcp" }] }
          : {}),
        restart: "unless-stopped",
        labels: [...args.labels],
        logDriver: "json-file",
        logOpts: { ...args.logOptions },
      },
      { parent: this, ...containerReplacement },
    );
    this.registerOutputs({ container: this.container.name });
  }
}
