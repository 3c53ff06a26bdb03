/**
 * The contract between the program and the hub: the two JSON files uploaded into the hub
 * container, as zod schemas. settings.ts builds values of these types; their JSON Schemas are
 * generated into hub-config/gmap_hub/ (`npm run contract`, checked for staleness by a unit test)
 * and the hub validates both files against them at start, before reading a value.
 */
import { z } from "zod";
import {
  concurrentSpawnLimit,
  dataReserveMiB,
  imageEntry,
  logLevels,
  maxServers,
  routeCheckSeconds,
  spawnerTraitOptions,
  swarmImageKeys,
} from "./config";
import { authProviders } from "./identity";
import { clientSecretsContract, oauthSettingsContract } from "./providers";

const name = z.string().min(1);
const stringMap = z.record(z.string(), z.string());
/** A hub API service of the program's own: its name and its role's scopes (its token is in secrets.json). */
const service = z.strictObject({ name, scopes: z.array(name).min(1) });

const nativeAuth = z.strictObject({
  openSignup: z.boolean(),
  minimumPasswordLength: z.int().min(1),
  allowedFailedLogins: z.int().min(0),
  secondsBeforeNextTry: z.int().min(0),
  checkCommonPassword: z.boolean(),
  askEmail: z.boolean(),
});

/**
 * An image of the menu: the stack config's image entry as it is, without its swarm-only keys (so a
 * new per-image option reaches the hub by itself); the hub checks the names it is given only for
 * being there.
 */
const image = imageEntry.omit(swarmImageKeys).extend({ name, displayName: name, image: name });

/** /srv/jupyterhub/settings.json: everything the hub needs that is not a secret. */
export const hubSettingsSchema = z.strictObject({
  hub: z.strictObject({
    publicUrl: z.url().describe("What users open; OAuth callbacks derive from it."),
    logLevel: z.enum(logLevels),
    connectHost: name.describe("Network alias of the hub container (on the main network and on every user network)."),
    port: z.int().min(1).max(65535).describe("Port of the hub's API and pages (user servers and the proxy reach it at connectHost:port)."),
    container: name.describe("The hub's container: the spawner connects it to each user server's network."),
    proxyContainer: name.describe("The proxy's container: the spawner connects it to each user server's network."),
    proxyApiUrl: z.url().describe("The external configurable-http-proxy's API."),
    proxyRouteCheckSeconds: routeCheckSeconds,
    dataDir: z.string().startsWith("/").describe("Mount point of the hub-data volume (SQLite database, lockouts, user providers)."),
    sqliteFile: name.describe("File name of the SQLite hub database in dataDir (when database is absent)."),
    dataReserveMiB,
    dockerConfigDir: z
      .string()
      .startsWith("/")
      .optional()
      .describe(
        "Present with registries configured: the folder of the Docker client configuration (config.json, in the hub container only) whose credentials the hub's Docker client pulls with and, in swarm mode, sends with each service it creates.",
      ),
    secureCookies: z
      .literal(true)
      .optional()
      .describe("Present with hub.tls on: every cookie of the hub and the user servers (XSRF included) is marked Secure."),
    database: z
      .strictObject({
        type: z.literal("postgres"),
        host: name,
        port: z.int().min(1).max(65535),
        name,
        user: name,
      })
      .optional()
      .describe("The hub database in PostgreSQL (password: secrets.json databasePassword); absent: SQLite in dataDir."),
  }),
  auth: z.strictObject({
    providers: z.array(z.enum(authProviders)).min(1),
    logins: z
      .record(
        z.string(),
        z.strictObject({
          service: name,
          urlPrefix: z.string().regex(/^\/[a-z0-9-]+$/),
          userNamePrefix: z.string().regex(/^(|[a-z0-9-]+:)$/),
        }),
      )
      .describe(
        "Per enabled provider: its name on the login page, its URL prefix under /hub/ and the prefix of its users' hub names (both used with several providers only; the user-name prefix is empty with one).",
      ),
    userNameRule: name.describe("Regular expression of a user name without provider prefix; the hub anchors it and adds the prefixes."),
    admins: z.array(name).describe("Native admin accounts (bare names)."),
    allowedUsers: z.array(name),
    groups: z
      .array(z.strictObject({ name, members: z.array(name) }))
      .optional()
      .describe(
        "The groups the stack config owns, with their members (hub user names); absent: none. The hub makes them so at every start.",
      ),
    native: nativeAuth,
    ...oauthSettingsContract,
  }),
  spawner: z.strictObject({
    networkTemplate: name
      .regex(/\{username\}/)
      .describe("Name of each user server's own network; {username} becomes the escaped user name."),
    networkLabels: stringMap.describe("Labels of the per-user networks."),
    networkPool: z.cidrv4().describe("Range the per-user networks take their subnets from."),
    networkPrefixLength: z.int().min(16).max(29).describe("Prefix length of each per-user network's subnet."),
    containerNameTemplate: name,
    namedServers: z
      .strictObject({
        limit: z.int().min(1).describe("Named servers a user may have besides the default one."),
        containerNameTemplate: name.regex(/\{username\}--\{servername\}/),
        networkTemplate: name.regex(/\{username\}--\{servername\}/),
      })
      .optional()
      .describe(
        "Named servers (absent: off): their limit, and the names of their containers and networks ({servername} escaped as {username}).",
      ),
    images: z.array(image).min(1),
    defaultImage: name,
    ...spawnerTraitOptions,
    uid: z.int().min(0),
    gid: z.int().min(0),
    environment: stringMap,
    pidsLimit: z.int().min(1).describe("Processes and threads one user server may run at once (its pids cgroup)."),
    concurrentSpawnLimit,
    sizes: z
      .array(
        z.strictObject({
          name,
          displayName: name,
          memLimit: name.nullable().describe("Memory limit as DockerSpawner's mem_limit takes it (e.g. 4G); null: none."),
          cpuLimit: z.number().positive().nullable(),
          pidsLimit: z.int().min(1),
          shmSize: name.nullable().describe("Size of /dev/shm (e.g. 1G); null: Docker's default."),
          gpus: z
            .strictObject({
              driver: z.string(),
              count: z.int().min(-1).describe("GPUs per server; -1: all; 0 with deviceIds."),
              deviceIds: z.array(name),
              capabilities: z.array(z.array(name).min(1)).min(1),
            })
            .nullable()
            .describe("Docker's device request (DeviceRequests) of each server; null: none."),
          groups: z.array(name).min(1).nullable().describe("Groups whose members may choose it; null: everyone."),
          images: z.array(name).min(1).nullable().describe("Image short names it applies to; null: every image."),
        }),
      )
      .min(1)
      .optional()
      .describe("Server sizes users choose from; absent: every server gets memLimit, cpuLimit and pidsLimit."),
    defaultSize: name.optional().describe("The size of a server nobody chose a size for (present with sizes)."),
    maxServers: maxServers.min(1).optional().describe("Servers running or starting at once, at most; absent: no limit."),
    memoryBudget: name.optional().describe("The most the running servers' memory limits may add up to (e.g. 56G); absent: no budget."),
    tmpBytes: z.int().min(1).optional().describe("Size of each server's /tmp, a tmpfs; absent: /tmp is in the writable layer."),
    writableLayerBytes: z.int().min(1).optional().describe("Docker's storage-opt size of each server's writable layer; absent: none."),
    privileges: z
      .strictObject({
        noNewPrivileges: z.boolean(),
        capDrop: z.array(name),
        capAdd: z.array(name),
        noSubvolumes: z
          .literal(true)
          .optional()
          .describe(
            "Refuse the ioctls that create Btrfs subvolumes and snapshots (a quota is configured); absent: Docker's default seccomp profile.",
          ),
      })
      .describe("What every user server may do as a process: no-new-privileges, the capabilities dropped, then added back."),
    logOptions: stringMap.describe("Docker's json-file log options of every user server (max-size, max-file)."),
    mounts: z.array(
      z.strictObject({
        name,
        type: z.enum(["volume", "bind"]),
        source: name,
        target: z.string().startsWith("/"),
        readOnly: z.boolean(),
        perUser: z.boolean(),
        driverOptions: z.boolean().describe("True when secrets.json's mountDriverOptions create the volume (on each node in swarm mode)."),
        driver: name.optional().describe("Volume driver of those options; absent: Docker's local driver."),
        groups: z.array(name).min(1).optional().describe("Mounted only for members of these groups; absent: everyone."),
        writers: z
          .strictObject({ admins: z.boolean(), groups: z.array(name) })
          .optional()
          .describe("Who may write this read-only mount anyway (admins, members of groups); absent: nobody."),
        environment: stringMap.optional().describe("Environment set in the servers that get this mount (mounts with groups only)."),
        quota: z
          .strictObject({
            filesystem: z.literal("btrfs").describe("The quota mechanism: a Btrfs subvolume per user with a qgroup limit."),
            bytes: z.int().min(1).describe("The limit of each user's directory."),
            groups: z.record(z.string(), z.int().min(1)).describe("Other limits for members of these groups (the largest applies)."),
          })
          .optional()
          .describe("A size limit on each user's directory of this per-user bind mount; absent: none."),
      }),
    ),
    labels: stringMap,
    swarm: z
      .strictObject({
        constraints: z.array(name).describe("Placement constraints of every user server."),
        imageConstraints: z.record(z.string(), z.array(name)).describe("Extra placement constraints per image short name."),
        egressGuard: name
          .optional()
          .describe(
            "With spawner.egress.restrict: the global service whose task on a node keeps that node's egress rules; a server whose node runs none fails to start.",
          ),
      })
      .optional()
      .describe("Present in swarm mode only: user servers run as Swarm services."),
  }),
  hooks: z.strictObject({
    postAuth: z.string().startsWith("/").nullable(),
    preSpawn: z.string().startsWith("/").nullable(),
    startScript: z.string().nullable(),
  }),
  services: z.array(z.strictObject({ name, scopes: z.array(name).min(1) })),
  culler: z.strictObject({
    enabled: z.boolean(),
    timeout: z.int().min(1),
    every: z.int().min(1),
    maxAge: z.int().min(0),
    removeNamedServers: z.boolean().describe("Idle named servers are deleted, not only stopped."),
    service: name.describe("The idle culler's service name (reserved: no other service may have it)."),
    scopes: z.array(name).min(1).describe("Scopes of the idle culler's role."),
  }),
  monitoring: z
    .strictObject({
      prometheusUrl: z.url().describe("Prometheus on the monitoring network, which the hub's dashboards query."),
      exporterPort: z.int().min(1).max(65535).describe("Port the exporter serves its metrics on (monitoring network only)."),
      scrapeIntervalSeconds: z.int().min(1).describe("Seconds between measurements."),
      homeUsageIntervalSeconds: z.int().min(1).describe("Seconds between measurements of the homes' sizes."),
      chartJsFile: z.string().startsWith("/").describe("Chart.js (UMD build) in the hub container, which the dashboards load."),
      exporterTokenFile: z.string().startsWith("/").describe("The exporter's hub token, a file in the exporter's container."),
      prometheusService: service.describe("The service whose token Prometheus reads the hub's metrics with."),
      exporterService: service.describe("The service whose token the exporter lists users, groups and servers with."),
      stackLabels: stringMap.describe("Labels every container of the stack carries (the exporter measures them by component)."),
      componentLabel: name.describe("The label naming a container's component (hub, proxy, user, ...)."),
    })
    .optional()
    .describe("Present with monitoring.enabled: Prometheus, the exporter and the dashboards."),
});

/** /srv/jupyterhub/secrets.json (mode 0600). */
export const hubSecretsSchema = z.strictObject({
  cookieSecret: z.string().regex(/^[0-9a-f]{64}$/),
  proxyAuthToken: name,
  cullerToken: name,
  serviceTokens: stringMap,
  nativeAdminPasswordHashes: stringMap.describe("bcrypt hashes of the native admins' generated passwords."),
  ...clientSecretsContract,
  mountDriverOptions: z
    .record(z.string(), stringMap)
    .describe('Volume driver options of the mounts the spawner creates, by mount name ("user": the homes).'),
  databasePassword: name.optional().describe("Password of the PostgreSQL role of settings.json hub.database."),
  monitoringTokens: z
    .strictObject({ prometheus: name, exporter: name })
    .optional()
    .describe("With settings.json monitoring: the tokens of its prometheusService and exporterService."),
});

export type HubSettings = z.infer<typeof hubSettingsSchema>;
export type HubSecrets = z.infer<typeof hubSecretsSchema>;

/** The JSON Schemas the hub validates its files against, by file name in hub-config/gmap_hub/. */
export function contractJsonSchemas(): Record<string, unknown> {
  return {
    "settings.schema.json": z.toJSONSchema(hubSettingsSchema),
    "secrets.schema.json": z.toJSONSchema(hubSecretsSchema),
  };
}
