/**
 * The contents of the hub's settings.json and secrets.json (the contract: components/contract.ts),
 * built from a validated stack config by pure functions.
 */
import {
  defaultSizeName,
  diskBytes,
  type HookFiles,
  hubImage,
  type PublicConfig,
  type SizeEntry,
  spawnerTraitOptions,
  type StackConfig,
} from "./config";
import type { HubSecrets, HubSettings } from "./contract";
import { oauthCallbackUrl, providerLogin, publicUrl, userNameRule } from "./identity";
import { clientSecrets, oauthSettings } from "./providers";
import { containerLogOptions } from "./containers";
import { serverPrivileges } from "./server-security";
import { spawnerDriverOptions, spawnerMounts } from "./mounts";
import { culler, endpoints, hubPaths, labelKeys, labelsFor, monitoring, names, postgres, userNetworkPrefixLength } from "./names";

/** JSON with object keys sorted at every level: the same data always gives the same bytes. */
export function stableJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2) + "\n";
}

/** A copy of a JSON value with object keys sorted at every level and undefined properties dropped. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .filter((k) => obj[k] !== undefined)
        .map((k) => [k, sortKeys(obj[k])]),
    );
  }
  return value;
}

/** The auth section of the hub settings: enabled providers only, callback URLs resolved. */
export function authSettings(config: PublicConfig) {
  const { auth } = config;
  return {
    providers: auth.providers,
    logins: Object.fromEntries(auth.providers.map((p) => [p, providerLogin(config, p)])),
    // the hub adds the provider prefixes of several providers
    userNameRule: userNameRule.source,
    admins: auth.admins,
    allowedUsers: auth.allowedUsers,
    // absent without groups, so the settings of stacks without them stay as they were
    groups: config.groups.length > 0 ? config.groups.map((g) => ({ name: g.name, members: [...g.members].sort() })) : undefined,
    native: auth.native,
    ...oauthSettings(config, (p) => oauthCallbackUrl(config, p)),
  };
}

/** Where an operator's hook file lands in the hub container. */
export function hookPath(kind: "postAuth" | "preSpawn"): string {
  return `${hubPaths.hooks}/${kind === "postAuth" ? "post_auth" : "pre_spawn"}.py`;
}

/** The spawner options the hub sets as traits unchanged (see `spawnerTraitOptions`). */
function spawnerTraits(config: PublicConfig) {
  const keys = Object.keys(spawnerTraitOptions) as (keyof typeof spawnerTraitOptions)[];
  return Object.fromEntries(keys.map((k) => [k, config.spawner[k]])) as Pick<PublicConfig["spawner"], (typeof keys)[number]>;
}

/**
 * The settings the hub reads from /srv/jupyterhub/settings.json. Never holds a secret.
 * `shareVersions`: the version of each share's options (ShareVersions), which its volumes' names carry.
 */
export function hubSettings(
  config: PublicConfig,
  stack: string,
  hookFiles: HookFiles,
  shareVersions: Readonly<Record<string, string>>,
): HubSettings {
  const n = names(config.prefix);
  const url = publicUrl(config);
  const environment: Record<string, string> = { ...config.spawner.environment };
  // a team's mount sets its variables in its members' servers only (spawnerMounts)
  for (const m of config.storage) if (!m.groups) Object.assign(environment, m.environment);
  const labelMap = (component: string) => Object.fromEntries(labelsFor(config, stack, component).map((l) => [l.label, l.value]));
  return {
    hub: {
      publicUrl: url,
      logLevel: config.hub.logLevel,
      connectHost: endpoints.hubAlias,
      port: endpoints.hubPort,
      container: n.hubContainer,
      proxyContainer: n.proxyContainer,
      proxyApiUrl: `http://${endpoints.proxyAlias}:${endpoints.proxyApiPort}`,
      proxyRouteCheckSeconds: config.proxy.routeCheckSeconds,
      dataDir: hubPaths.data,
      sqliteFile: hubPaths.sqliteFile,
      dataReserveMiB: config.hub.dataReserveMiB,
      // absent without registries, so the settings of such stacks stay as they were
      dockerConfigDir: config.registries.length > 0 ? hubPaths.dockerConfigDir : undefined,
      // absent with hub.tls off, so the settings of such stacks stay as they were
      secureCookies: config.hub.tls.mode !== "off" ? true : undefined,
      // absent with SQLite, so that settings of stacks without PostgreSQL stay as they were
      database: databaseSettings(config),
    },
    auth: authSettings(config),
    spawner: {
      networkTemplate: n.userNetworkTemplate,
      networkLabels: labelMap("user-network"),
      networkPool: config.spawner.networkPool,
      networkPrefixLength: userNetworkPrefixLength,
      containerNameTemplate: n.userContainerTemplate,
      // absent when off, so that the settings of stacks without them stay as they were
      namedServers: config.spawner.namedServers.enabled
        ? {
            limit: config.spawner.namedServers.limit,
            containerNameTemplate: n.userNamedContainerTemplate,
            networkTemplate: n.userNamedNetworkTemplate,
          }
        : undefined,
      images: config.images.map(hubImage),
      defaultImage: config.defaultImage ?? config.images[0]!.name,
      ...spawnerTraits(config),
      uid: config.spawner.uid,
      gid: config.spawner.gid,
      environment,
      pidsLimit: config.spawner.pidsLimit,
      concurrentSpawnLimit: config.spawner.concurrentSpawnLimit,
      // each absent when not in use, so the settings of stacks without them stay as they were
      ...sizeSettings(config),
      maxServers: config.spawner.maxServers || undefined,
      memoryBudget: config.spawner.memoryBudget,
      tmpBytes: config.spawner.tmpSize !== undefined ? diskBytes(config.spawner.tmpSize) : undefined,
      writableLayerBytes: config.spawner.writableLayerSize !== undefined ? diskBytes(config.spawner.writableLayerSize) : undefined,
      privileges: serverPrivileges(config),
      logOptions: containerLogOptions(config.logs),
      mounts: spawnerMounts(config, shareVersions),
      labels: labelMap("user"),
      // absent in host mode, so that the settings of such stacks stay as they were
      swarm: swarmSettings(config),
    },
    hooks: {
      postAuth: hookFiles.postAuth !== undefined ? hookPath("postAuth") : null,
      preSpawn: hookFiles.preSpawn !== undefined ? hookPath("preSpawn") : null,
      startScript: hookFiles.start ?? null,
    },
    services: config.services,
    culler: { ...config.culler, service: culler.service, scopes: [...culler.scopes] },
    // absent when off, so the settings of stacks without it stay as they were
    monitoring: monitoringSettings(config),
  };
}

/** What the hub and the exporter need of monitoring (monitoring.enabled), or undefined. */
export function monitoringSettings(config: Pick<PublicConfig, "monitoring" | "prefix">): HubSettings["monitoring"] {
  if (!config.monitoring.enabled) return undefined;
  const service = (s: { readonly name: string; readonly scopes: readonly string[] }) => ({ name: s.name, scopes: [...s.scopes] });
  return {
    prometheusUrl: `http://${endpoints.prometheusAlias}:${endpoints.prometheusPort}`,
    exporterPort: endpoints.exporterPort,
    scrapeIntervalSeconds: config.monitoring.scrapeInterval,
    homeUsageIntervalSeconds: config.monitoring.homeUsageInterval,
    chartJsFile: monitoring.chartJsFile,
    exporterTokenFile: monitoring.exporterToken,
    prometheusService: service(monitoring.prometheusService),
    exporterService: service(monitoring.exporterService),
    stackLabels: { [labelKeys.prefix]: config.prefix },
    componentLabel: labelKeys.component,
  };
}

/** What users see of a size without a display name: its name and limits, e.g. "large: 16G memory, 4 CPUs, 1 GPU". */
export function sizeLabel(size: SizeEntry, spawner: Pick<PublicConfig["spawner"], "memLimit" | "cpuLimit">): string {
  const mem = size.memLimit ?? spawner.memLimit;
  const cpu = size.cpuLimit ?? spawner.cpuLimit;
  const gpus = size.gpus && (size.gpus.deviceIds?.length ?? size.gpus.count ?? 1);
  const parts = [
    mem !== undefined ? `${mem} memory` : undefined,
    cpu !== undefined ? `${cpu} CPU${cpu === 1 ? "" : "s"}` : undefined,
    gpus !== undefined ? (gpus === "all" ? "all GPUs" : `${gpus} GPU${gpus === 1 ? "" : "s"}`) : undefined,
  ].filter((p) => p !== undefined);
  return parts.length > 0 ? `${size.name}: ${parts.join(", ")}` : size.name;
}

/**
 * The sizes as the hub applies them, each complete (spawner's limits where a size gives none; GPUs as
 * Docker's device request: count -1 for all), and the default size; nothing without sizes.
 */
export function sizeSettings(
  config: Pick<PublicConfig, "sizes" | "defaultSize" | "spawner">,
): Pick<HubSettings["spawner"], "sizes" | "defaultSize"> {
  if (config.sizes.length === 0) return {};
  const { spawner } = config;
  return {
    sizes: config.sizes.map((s) => ({
      name: s.name,
      displayName: s.displayName ?? sizeLabel(s, spawner),
      memLimit: s.memLimit ?? spawner.memLimit ?? null,
      cpuLimit: s.cpuLimit ?? spawner.cpuLimit ?? null,
      pidsLimit: s.pidsLimit ?? spawner.pidsLimit,
      shmSize: s.shmSize ?? null,
      gpus: s.gpus
        ? {
            driver: s.gpus.driver,
            count: s.gpus.deviceIds ? 0 : s.gpus.count === "all" ? -1 : (s.gpus.count ?? 1),
            deviceIds: s.gpus.deviceIds ?? [],
            capabilities: [s.gpus.capabilities],
          }
        : null,
      groups: s.groups ?? null,
      images: s.images ?? null,
    })),
    defaultSize: defaultSizeName(config)!,
  };
}

/** Where user servers may run (engine.mode swarm), or undefined in host mode. */
export function swarmSettings(config: Pick<PublicConfig, "engine" | "images" | "prefix" | "spawner">): HubSettings["spawner"]["swarm"] {
  if (config.engine.mode !== "swarm") return undefined;
  return {
    constraints: config.engine.serverConstraints,
    imageConstraints: Object.fromEntries(config.images.flatMap((i) => (i.constraints ? [[i.name, i.constraints]] : []))),
    ...(config.spawner.egress.restrict ? { egressGuard: names(config.prefix).egressGuard } : {}),
  };
}

/** Where the hub finds its PostgreSQL database (the password is in secrets.json), or undefined with SQLite. */
export function databaseSettings(config: Pick<PublicConfig, "hub">): HubSettings["hub"]["database"] {
  if (config.hub.database.type !== "postgres") return undefined;
  return { type: "postgres", host: endpoints.postgresAlias, port: endpoints.postgresPort, name: postgres.database, user: postgres.user };
}

/** The generated secrets, once resolved. */
export interface GeneratedSecrets {
  readonly cookieSecret: string;
  readonly proxyAuthToken: string;
  readonly cullerToken: string;
  readonly serviceTokens: Readonly<Record<string, string>>;
  /** bcrypt hashes of the native admins' generated passwords, keyed by account name. */
  readonly adminPasswordHashes: Readonly<Record<string, string>>;
  /** Password of the PostgreSQL role (hub.database.type postgres only). */
  readonly databasePassword?: string;
  /** With monitoring on: Prometheus's and the exporter's hub tokens. */
  readonly monitoringTokens?: MonitoringTokens;
}

/** The hub tokens of monitoring's two services. */
export interface MonitoringTokens {
  readonly prometheus: string;
  readonly exporter: string;
}

/** The content of /srv/jupyterhub/secrets.json. Only ever built inside a Pulumi secret. */
export function hubSecrets(config: StackConfig, generated: GeneratedSecrets): HubSecrets {
  const mountDriverOptions = spawnerDriverOptions(config);
  return {
    cookieSecret: generated.cookieSecret,
    proxyAuthToken: generated.proxyAuthToken,
    cullerToken: generated.cullerToken,
    serviceTokens: generated.serviceTokens,
    nativeAdminPasswordHashes: generated.adminPasswordHashes,
    ...clientSecrets(config),
    mountDriverOptions,
    databasePassword: config.hub.database.type === "postgres" ? generated.databasePassword : undefined,
    monitoringTokens: config.monitoring.enabled ? generated.monitoringTokens : undefined,
  };
}
