import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type Docker from "dockerode";
import { type HookFiles, kindOf, type StackConfig, withoutSecrets } from "./config";
import { Hub, type HubFile } from "./hub";
import { EgressGuard } from "./egress-guard";
import { EgressGuardService } from "./egress-guard-service";
import { type ImagePulls, NotebookImages } from "./images";
import { HubNetwork } from "./network";
import { HubPostgres } from "./postgres";
import { ImagePrePull } from "./prepull";
import { HubProxy } from "./proxy";
import { FrontProxy } from "./front-proxy";
import { dashboardFiles } from "./dashboards";
import { Monitoring } from "./monitoring";
import { prometheusConfig, prometheusFlags, prometheusMemoryBytes } from "./prometheus";
import { frontFiles, tlsEnabled } from "./tls";
import { HubSecrets } from "./secrets";
import { nativeAdmins, publicUrl } from "./identity";
import { isStackVolume, shareDriverOptions, shareMounts, shareOptions, versionedVolume, volumeDriver } from "./mounts";
import { egressChains, hubPaths, labelsFor, names, userNetworkSelector, userServerSelector } from "./names";
import { hookPath, hubSecrets, hubSettings, stableJson } from "./settings";
import { ShareVersions } from "./share-versions";
import { HubStorage } from "./storage";
import { containerLogOptions } from "./containers";
import { credentialsFor, dockerClientConfig, registryCredentials } from "./registries";

export interface JupyterHubArgs {
  /** The validated stack config (secret values inside are only used through Pulumi secrets). */
  readonly config: StackConfig;
  /** Contents of the operator's hook files. */
  readonly hookFiles: HookFiles;
  /** Stack name, for labels. */
  readonly stack: string;
  /** Build context of the hub image, relative to the project directory. */
  readonly hubContext: string;
  /** The engine `pulumi up` pulls missing images on first, reporting their progress (absent, as in a preview: the provider pulls them). */
  readonly engine?: Docker | undefined;
}

/** A complete JupyterHub: network, volumes, images, secrets, proxy and hub on this Docker host (user servers on it or, in swarm mode, on the Swarm's nodes). */
export class JupyterHub extends pulumi.ComponentResource {
  /** The URL users open. */
  public readonly url: string;
  /** Name of the Docker network. */
  public readonly networkName: pulumi.Output<string>;
  /** Names of the volumes the stack declares (hub data and shared storage). */
  public readonly volumeNames: pulumi.Output<string[]>;
  /** Notebook image references, keyed by short name. */
  public readonly images: pulumi.Output<Record<string, string>>;
  /** API service tokens keyed by service name (secret). */
  public readonly serviceTokens: pulumi.Output<Record<string, string>>;
  /** First passwords of the native admins, keyed by account name (secret). */
  public readonly adminPasswords: pulumi.Output<Record<string, string>>;
  /** Name of the hub container. */
  public readonly hubContainer: pulumi.Output<string>;
  /** Name of the TLS front proxy container (hub.tls on). */
  public readonly frontProxyContainer: pulumi.Output<string> | undefined;

  constructor(name: string, args: JupyterHubArgs, opts?: pulumi.ComponentResourceOptions) {
    super("jupyterhub:index:JupyterHub", name, {}, opts);
    const { config, stack } = args;
    const n = names(config.prefix);
    const labels = (component: string) => labelsFor(config, stack, component);
    // every container of the stack keeps a bounded log (user servers: the same options, in settings.json)
    const logOptions = containerLogOptions(config.logs);

    const swarm = config.engine.mode === "swarm";
    const network = new HubNetwork(
      `${name}-network`,
      { networkName: n.network, labels: labels("network"), ...(swarm ? { driver: "overlay" } : {}) },
      { parent: this },
    );

    // each share's volumes are named with a version of its options: a change of them gets new volumes
    const shares = shareMounts(config);
    const shareVersions = shares.length
      ? new ShareVersions(`${name}-share-versions`, { options: pulumi.secret(shareOptions(config)), mounts: shares }, { parent: this })
          .versions
      : pulumi.output<Record<string, string>>({});
    const shared = Object.fromEntries(
      config.storage.filter(isStackVolume).map((m) => {
        const opts = shareDriverOptions(m, config.shareCredentials);
        const secret = kindOf(m.source).credentials !== undefined && m.name in config.shareCredentials;
        const volumeName = n.storageVolume(m.name);
        return [
          m.name,
          {
            name: shares.includes(m.name) ? shareVersions.apply((v) => versionedVolume(volumeName, v[m.name]!)) : volumeName,
            labels: labels(`storage-${m.name}`),
            ...volumeDriver(m.source),
            ...(opts ? { driverOpts: secret ? pulumi.secret(opts) : opts } : {}),
          },
        ];
      }),
    );
    const storage = new HubStorage(
      `${name}-storage`,
      { hubData: { name: n.hubDataVolume, labels: labels("hub-data") }, shared },
      { parent: this },
    );

    // private registries (registries): `pulumi up` pulls with their credentials, the hub and the swarm nodes too
    const credentials = registryCredentials(config);
    const pulls: ImagePulls = { credentials, engine: args.engine };

    const notebookImages = new NotebookImages(
      `${name}-images`,
      { images: Object.fromEntries(config.images.map((i) => [i.name, i.image])), pulls },
      { parent: this },
    );

    // swarm mode: the images on every node that may run their servers
    const prePull =
      swarm && config.engine.prePull
        ? new ImagePrePull(
            `${name}-pre-pull`,
            {
              images: Object.fromEntries(
                config.images.map((i) => [
                  i.name,
                  {
                    serviceName: n.prePullService(i.name),
                    image: i.image,
                    constraints: [...config.engine.serverConstraints, ...(i.constraints ?? [])],
                    credentials: credentialsFor(i.image, credentials),
                  },
                ]),
              ),
              labels: labels("pre-pull"),
              logOptions,
              engine: args.engine,
            },
            { parent: this },
          )
        : undefined;

    const secrets = new HubSecrets(
      `${name}-secrets`,
      { services: config.services.map((s) => s.name), nativeAdmins: nativeAdmins(config), monitoring: config.monitoring.enabled },
      { parent: this },
    );

    // HTTPS (hub.tls): the front proxy and configurable-http-proxy share a network of their own
    const tls = tlsEnabled(config);
    const frontNetwork = tls
      ? new HubNetwork(`${name}-front-network`, { networkName: n.frontNetwork, labels: labels("front-network") }, { parent: this })
      : undefined;

    const proxy = new HubProxy(
      `${name}-proxy`,
      {
        containerName: n.proxyContainer,
        image: config.proxy.image,
        pulls,
        networkName: network.name,
        ...(frontNetwork
          ? { frontNetworkName: frontNetwork.name }
          : { published: { bindAddress: config.hub.bindAddress, port: config.hub.port } }),
        authToken: secrets.proxyAuthToken,
        labels: labels("proxy"),
        logOptions,
      },
      { parent: this },
    );

    const database =
      config.hub.database.type === "postgres"
        ? new HubPostgres(
            `${name}-postgres`,
            {
              containerName: n.postgresContainer,
              image: config.hub.database.image,
              pulls,
              networkName: network.name,
              volumeName: n.postgresVolume,
              labels: labels("postgres"),
              logOptions,
              volumeLabels: labels("hub-postgres"),
            },
            { parent: this },
          )
        : undefined;
    const generated = database
      ? pulumi.all([secrets.generated, database.password]).apply(([g, databasePassword]) => ({ ...g, databasePassword }))
      : secrets.generated;

    const publicConfig = withoutSecrets(config);
    const settings = shareVersions.apply((v) => stableJson(hubSettings(publicConfig, stack, args.hookFiles, v)));
    const files: HubFile[] = [
      { file: hubPaths.settings, content: settings, permissions: "0644" },
      {
        file: hubPaths.secrets,
        content: pulumi.secret(generated.apply((g) => stableJson(hubSecrets(config, g)))),
        permissions: "0600",
      },
      ...(credentials.length > 0
        ? [
            {
              file: `${hubPaths.dockerConfigDir}/config.json`,
              content: pulumi.secret(dockerClientConfig(credentials)),
              permissions: "0600",
            },
          ]
        : []),
      ...(config.monitoring.enabled ? dashboardFiles() : []),
      ...(["postAuth", "preSpawn"] as const).flatMap((kind) => {
        const content = args.hookFiles[kind];
        return content === undefined ? [] : [{ file: hookPath(kind), content, permissions: "0644" }];
      }),
    ];

    // spawner.egress: the rules are in the firewall (the host's, in swarm mode every node's that may
    // run servers) before the hub can start a server; the guards run in the proxy's image (an image
    // of the stack's own, pinned, not one the users' servers run)
    const guardInputs = {
      egress: config.spawner.egress,
      pool: config.spawner.networkPool,
      chains: egressChains(config.prefix),
      labels: labels("egress"),
      logOptions,
    };
    const egress = !config.spawner.egress.restrict
      ? undefined
      : swarm
        ? new EgressGuardService(
            `${name}-egress`,
            {
              serviceName: n.egressGuard,
              image: config.proxy.image,
              credentials: credentialsFor(config.proxy.image, credentials),
              constraints: config.engine.serverConstraints,
              hostNetworkId: docker.getNetworkOutput({ name: "host" }, { parent: this }).id,
              engine: args.engine,
              ...guardInputs,
            },
            { parent: this },
          ).ready
        : new EgressGuard(`${name}-egress`, { containerName: n.egressGuard, imageId: proxy.imageId, ...guardInputs }, { parent: this })
            .container;

    // monitoring: a network of its own for Prometheus, the exporter and the hub
    const monitoringNetwork = config.monitoring.enabled
      ? new HubNetwork(
          `${name}-monitoring-network`,
          { networkName: n.monitoringNetwork, labels: labels("monitoring-network"), internal: true },
          { parent: this },
        )
      : undefined;

    const hub = new Hub(
      `${name}-hub`,
      {
        imageName: n.hubImage,
        context: args.hubContext,
        baseImage: config.hub.baseImage,
        pulls,
        platform: config.hub.platform,
        containerName: n.hubContainer,
        networkName: network.name,
        ...(monitoringNetwork ? { monitoringNetworkName: monitoringNetwork.name } : {}),
        dataVolume: storage.hubDataVolume,
        dockerSocket: config.hub.dockerSocket,
        files,
        publicUrl: publicUrl(config),
        labels: labels("hub"),
        logOptions,
        userServerLabels: userServerSelector(config.prefix),
        userNetworkLabels: userNetworkSelector(config.prefix),
      },
      // the hub starts once its PostgreSQL answers (created healthy)
      {
        parent: this,
        dependsOn: [
          proxy,
          notebookImages,
          storage,
          // in swarm mode, once every node that may run a server has the images
          ...(prePull ? [prePull.ready] : []),
          ...(database ? [database.container] : []),
          ...(egress ? [egress] : []),
        ],
      },
    );

    const monitor =
      monitoringNetwork && secrets.monitoringTokens
        ? new Monitoring(
            `${name}-monitoring`,
            {
              networkName: monitoringNetwork.name,
              prometheusContainer: n.prometheusContainer,
              prometheusImage: config.monitoring.image,
              pulls,
              volumeName: n.prometheusVolume,
              prometheusConfig: prometheusConfig(config),
              prometheusFlags: prometheusFlags(config),
              prometheusMemoryBytes: prometheusMemoryBytes(config),
              prometheusToken: secrets.monitoringTokens.apply((t) => t.prometheus),
              exporterContainer: n.exporterContainer,
              hubImage: hub.image,
              settings,
              exporterToken: secrets.monitoringTokens.apply((t) => t.exporter),
              dockerSocket: config.hub.dockerSocket,
              prometheusLabels: labels("prometheus"),
              exporterLabels: labels("exporter"),
              volumeLabels: labels("hub-prometheus"),
              logOptions,
            },
            // the exporter asks the hub from its first measurement
            { parent: this, dependsOn: [hub] },
          )
        : undefined;

    const front = frontNetwork
      ? new FrontProxy(
          `${name}-front-proxy`,
          {
            containerName: n.frontContainer,
            image: config.hub.tls.image,
            pulls,
            networkName: frontNetwork.name,
            hostName: new URL(publicUrl(config)).hostname.replace(/^\[|\]$/g, ""),
            bindAddress: config.hub.bindAddress,
            httpPort: config.hub.tls.httpPort,
            httpsPort: config.hub.tls.httpsPort,
            volumeName: n.tlsVolume,
            files: frontFiles(
              { tls: config.hub.tls, publicUrl: publicUrl(config) },
              { certificate: config.tlsCertificate, key: config.tlsKey },
            ),
            labels: labels("front-proxy"),
            logOptions,
            volumeLabels: labels("hub-tls"),
          },
          // opens the door once the hub answers
          { parent: this, dependsOn: [proxy, hub] },
        )
      : undefined;

    this.url = publicUrl(config);
    this.networkName = network.name;
    this.volumeNames = pulumi
      .all([storage.hubDataVolume, storage.sharedVolumes, database?.volumeName, front?.volumeName, monitor?.volumeName])
      .apply(([hubData, sharedVolumes, db, tlsVolume, prometheusVolume]) => [
        hubData,
        ...(db ? [db] : []),
        ...(tlsVolume ? [tlsVolume] : []),
        ...(prometheusVolume ? [prometheusVolume] : []),
        ...Object.keys(sharedVolumes)
          .sort()
          .map((k) => sharedVolumes[k]!),
      ]);
    this.images = notebookImages.references;
    this.serviceTokens = secrets.serviceTokens;
    this.adminPasswords = secrets.adminPasswords;
    this.hubContainer = hub.containerName;
    this.frontProxyContainer = front?.containerName;
    this.registerOutputs({
      url: this.url,
      networkName: this.networkName,
      volumeNames: this.volumeNames,
      images: this.images,
      hubContainer: this.hubContainer,
    });
  }
}
