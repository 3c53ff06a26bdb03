/**
 * What every Docker object, path and endpoint of a stack is called and labelled, all derived from
 * the stack's prefix (pure functions, no Pulumi).
 */
import { createHash } from "node:crypto";

/** Label keys put on every Docker object of a stack. */
export const labelKeys = {
  prefix: "org.europlanet-gmap.jupyterhub.prefix",
  stack: "org.europlanet-gmap.jupyterhub.stack",
  component: "org.europlanet-gmap.jupyterhub.component",
} as const;

/** Paths inside the hub container. */
export const hubPaths = {
  settings: "/srv/jupyterhub/settings.json",
  secrets: "/srv/jupyterhub/secrets.json",
  data: "/srv/jupyterhub/data",
  /** The SQLite hub database, a file in `data` (hub.database.type sqlite). */
  sqliteFile: "jupyterhub.sqlite",
  hooks: "/srv/jupyterhub/hooks",
  dockerSocket: "/var/run/docker.sock",
  /** The hub's Docker client configuration (registries' credentials), as DOCKER_CONFIG names it: a folder holding config.json. */
  dockerConfigDir: "/srv/jupyterhub/docker",
} as const;

/** Network aliases and ports of the hub and proxy containers. */
export const endpoints = {
  hubAlias: "hub",
  hubPort: 8081,
  proxyAlias: "proxy",
  /** The proxy's alias on the front network (hub.tls on), where only the front proxy reaches it. */
  proxyFrontAlias: "hub-proxy",
  proxyPort: 8000,
  proxyApiPort: 8001,
  /** The optional PostgreSQL container (hub.database.type postgres), on the main network. */
  postgresAlias: "postgres",
  postgresPort: 5432,
  /** Monitoring (monitoring.enabled), on the monitoring network only: Prometheus and the exporter of per-user measurements. */
  prometheusAlias: "prometheus",
  prometheusPort: 9090,
  exporterAlias: "exporter",
  exporterPort: 9101,
} as const;

/** The idle culler, a hub-managed service: its name (reserved for it) and the scopes it needs to find and stop idle servers. */
export const culler = {
  service: "idle-culler",
  scopes: ["list:users", "read:users:activity", "read:servers", "delete:servers"],
} as const;

/**
 * Monitoring: the hub's services that Prometheus (reads the hub's metrics) and the exporter (lists
 * users, their groups and servers) use, each with a generated token; where files land in the
 * Prometheus, exporter and hub containers.
 */
export const monitoring = {
  prometheusService: { name: "gmap-prometheus", scopes: ["read:metrics"] },
  exporterService: { name: "gmap-exporter", scopes: ["list:users", "read:users", "read:servers", "read:groups"] },
  prometheusConfig: "/etc/gmap-prometheus/prometheus.yml",
  prometheusToken: "/etc/gmap-prometheus/hub-token",
  prometheusData: "/prometheus",
  exporterToken: "/srv/jupyterhub/exporter-token",
  chartJsFile: "/srv/jupyterhub/monitoring/chart.umd.js",
} as const;

/** Each user server's own network is a subnet of this prefix length taken from spawner.networkPool. */
export const userNetworkPrefixLength = 28;

/** Name of the users' home mount among the spawner's mounts (the work volume, `<prefix>-user-<user>`). */
export const homeMount = "user";

/**
 * The hub database in PostgreSQL: role and database name, and where the official postgres image
 * (and its stand-in) reads the password from (POSTGRES_PASSWORD_FILE, read once by the image's
 * entrypoint as root before it starts the server; only used to initialise an empty data directory).
 */
export const postgres = {
  user: "jupyterhub",
  database: "jupyterhub",
  passwordFile: "/run/secrets/gmap-postgres-password",
  dataDir: "/var/lib/postgresql/data",
} as const;

/**
 * Docker object names, all derived from the prefix.
 *
 * Volumes share one namespace: the stack's `<prefix>-hub-data` and `<prefix>-<mount>` (shared
 * storage), and the per-user `<prefix>-<mount>-<user>` and `<prefix>-user-<user>` (work volume),
 * where <user> is the escaped user name ([a-z0-9] and -xx escapes, so distinct users never share
 * one). The names stay as they are, because existing data lives in these volumes; instead the
 * config schema keeps them apart: storage names are not "hub", "user", hub-* or user-*, and no
 * storage name extends another with "-". Then the part after `<prefix>-` starts with "hub-data",
 * "user-", "<mount>" or "<mount>-" for exactly one kind and one mount, so no two of these names can
 * be equal (test/unit/volume-names.test.ts enumerates the cases).
 */
export function names(prefix: string) {
  return {
    network: prefix,
    hubImage: `${prefix}-hub:local`,
    hubContainer: `${prefix}-hub`,
    proxyContainer: `${prefix}-proxy`,
    postgresContainer: `${prefix}-postgres`,
    /** PostgreSQL's data (hub.database.type postgres); "hub-" names are reserved for the stack's volumes. */
    postgresVolume: `${prefix}-hub-postgres`,
    /** The TLS front proxy (hub.tls on), its network shared with the proxy only, and its retained certificate volume. */
    frontContainer: `${prefix}-front-proxy`,
    frontNetwork: `${prefix}-front`,
    tlsVolume: `${prefix}-hub-tls`,
    hubDataVolume: `${prefix}-hub-data`,
    storageVolume: (mount: string) => `${prefix}-${mount}`,
    userContainerTemplate: `${prefix}-user-{username}`,
    /** A named server's container (spawner.namedServers): "--" never occurs in an escaped name, so the names stay one-to-one. */
    userNamedContainerTemplate: `${prefix}-user-{username}--{servername}`,
    userVolumeTemplate: `${prefix}-user-{username}`,
    /** Swarm mode: the global service that keeps a notebook image on every node, per image short name. */
    prePullService: (image: string) => `${prefix}-pull-${image}`,
    /** The own bridge network of each user server (network names are a namespace of their own). */
    userNetworkTemplate: `${prefix}-u-{username}`,
    /** A named server's own network. */
    userNamedNetworkTemplate: `${prefix}-u-{username}--{servername}`,
    /** The egress guard (spawner.egress.restrict), which keeps the user servers' firewall rules: a container of the Docker host, in swarm mode a global service on the nodes that may run servers. */
    egressGuard: `${prefix}-egress`,
    /** Monitoring (monitoring.enabled): its network (Prometheus, the exporter and the hub; never a user server), Prometheus and its retained data, the exporter. */
    monitoringNetwork: `${prefix}-monitoring`,
    prometheusContainer: `${prefix}-prometheus`,
    prometheusVolume: `${prefix}-hub-prometheus`,
    exporterContainer: `${prefix}-exporter`,
  };
}

/**
 * The egress guard's iptables chains: GMAP-<8 hex digits of the prefix's SHA-256>-<role>, so two
 * stacks on one host never share one, within iptables' 28 characters whatever the prefix.
 */
export function egressChains(prefix: string) {
  const id = createHash("sha256").update(prefix).digest("hex").slice(0, 8).toUpperCase();
  return { forward: `GMAP-${id}-FWD`, input: `GMAP-${id}-IN`, deny: `GMAP-${id}-DENY` };
}

export interface Label {
  readonly label: string;
  readonly value: string;
}

/** Labels of a Docker object, sorted by key so inputs are identical on every run. */
export function labelsFor(
  config: { readonly prefix: string; readonly labels: Readonly<Record<string, string>> },
  stack: string,
  component: string,
): Label[] {
  const all: Record<string, string> = {
    ...config.labels,
    [labelKeys.prefix]: config.prefix,
    [labelKeys.stack]: stack,
    [labelKeys.component]: component,
  };
  return Object.keys(all)
    .sort()
    .map((label) => ({ label, value: all[label]! }));
}

/** Labels every user server of a stack carries (the hub puts them on), to find them all. */
export function userServerSelector(prefix: string): Record<string, string> {
  return { [labelKeys.component]: "user", [labelKeys.prefix]: prefix };
}

/** Labels every per-user network of a stack carries (the hub puts them on), to find them all. */
export function userNetworkSelector(prefix: string): Record<string, string> {
  return { [labelKeys.component]: "user-network", [labelKeys.prefix]: prefix };
}
