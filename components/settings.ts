/**
 * Pure functions that turn a validated stack config into resource inputs and the hub's settings
 * JSON (the contract: components/contract.ts). No Pulumi here: everything is testable directly.
 */
import type { HookFiles, OAuthProvider, PublicConfig, StackConfig } from "./config";
import type { HubSecrets, HubSettings } from "./contract";
import { oauthCallbackUrl, publicUrl, userNameRule } from "./identity";

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
  hooks: "/srv/jupyterhub/hooks",
  dockerSocket: "/var/run/docker.sock",
} as const;

/** Network aliases and ports of the hub and proxy containers. */
export const endpoints = {
  hubAlias: "hub",
  hubPort: 8081,
  proxyAlias: "proxy",
  proxyPort: 8000,
  proxyApiPort: 8001,
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
    hubDataVolume: `${prefix}-hub-data`,
    storageVolume: (mount: string) => `${prefix}-${mount}`,
    userContainerTemplate: `${prefix}-user-{username}`,
    userVolumeTemplate: `${prefix}-user-{username}`,
    /** The own bridge network of each user server (network names are a namespace of their own). */
    userNetworkTemplate: `${prefix}-u-{username}`,
  };
}

export interface Label {
  readonly label: string;
  readonly value: string;
}

/** Labels of a Docker object, sorted by key so inputs are identical on every run. */
export function labelsFor(config: Pick<PublicConfig, "prefix" | "labels">, stack: string, component: string): Label[] {
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

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, "");

/** The auth section of the hub settings: enabled providers only, callback URLs resolved. */
export function authSettings(config: PublicConfig) {
  const { auth } = config;
  const enabled = (p: OAuthProvider) => auth.providers.includes(p);
  const github = auth.github && enabled("github") ? auth.github : undefined;
  const gitlab = auth.gitlab && enabled("gitlab") ? auth.gitlab : undefined;
  return {
    providers: auth.providers,
    // the hub adds the provider prefixes of several providers
    userNameRule: userNameRule.source,
    admins: auth.admins,
    allowedUsers: auth.allowedUsers,
    native: auth.native,
    github: github && {
      clientId: github.clientId,
      callbackUrl: oauthCallbackUrl(config, "github"),
      allowedOrganizations: github.allowedOrganizations,
      allowedUsers: github.allowedUsers,
      admins: github.admins,
      allowAll: github.allowAll,
      url: github.url !== undefined ? withoutTrailingSlash(github.url) : null,
      apiUrl: github.apiUrl !== undefined ? withoutTrailingSlash(github.apiUrl) : null,
    },
    gitlab: gitlab && {
      clientId: gitlab.clientId,
      callbackUrl: oauthCallbackUrl(config, "gitlab"),
      url: withoutTrailingSlash(gitlab.url),
      allowedGroups: gitlab.allowedGroups,
      allowedProjectIds: gitlab.allowedProjectIds,
      allowedUsers: gitlab.allowedUsers,
      admins: gitlab.admins,
      allowAll: gitlab.allowAll,
    },
  };
}

type StorageMount = StackConfig["storage"][number];

/** A mount of the notebook containers, as the hub's spawner receives it. */
export interface SpawnerMount {
  readonly name: string;
  readonly type: "volume" | "bind";
  readonly source: string;
  readonly target: string;
  readonly readOnly: boolean;
  readonly perUser: boolean;
  /** True when Docker volume driver options (in secrets.json) create the volume on first use. */
  readonly driverOptions: boolean;
}

/** Docker's local-driver options that mount a network share, or undefined for other sources. */
export function shareDriverOptions(mount: StorageMount, credentials: StackConfig["shareCredentials"]): Record<string, string> | undefined {
  const src = mount.source;
  const options = [...(src.type === "nfs" || src.type === "cifs" ? src.options : [])];
  if (mount.readOnly && !options.includes("ro")) options.push("ro");
  switch (src.type) {
    case "nfs":
      return { type: "nfs", device: `:${src.export}`, o: [`addr=${src.server}`, ...options].join(",") };
    case "cifs": {
      const cred = credentials[mount.name];
      const login = cred
        ? [`username=${cred.username}`, `password=${cred.password}`, ...(cred.domain ? [`domain=${cred.domain}`] : [])]
        : [];
      return { type: "cifs", device: `//${src.server}/${src.share}`, o: [`addr=${src.server}`, ...login, ...options].join(",") };
    }
    default:
      return undefined;
  }
}

/** True when Pulumi declares a Docker volume for this mount (shared volumes and shared network shares). */
export function isStackVolume(mount: StorageMount): boolean {
  return !mount.perUser && mount.source.type !== "host";
}

/** Every mount of a notebook container: the per-user work volume and the storage mounts, sorted by target. */
export function spawnerMounts(config: PublicConfig): SpawnerMount[] {
  const n = names(config.prefix);
  const mounts: SpawnerMount[] = config.storage.map((m) => {
    const network = m.source.type === "nfs" || m.source.type === "cifs";
    return {
      name: m.name,
      type: m.source.type === "host" ? "bind" : "volume",
      source: m.source.type === "host" ? m.source.path : m.perUser ? `${n.storageVolume(m.name)}-{username}` : n.storageVolume(m.name),
      target: m.mountPath,
      readOnly: m.readOnly,
      perUser: m.perUser,
      driverOptions: network && m.perUser,
    };
  });
  if (config.spawner.workVolume.enabled) {
    mounts.push({
      name: "user",
      type: "volume",
      source: n.userVolumeTemplate,
      target: config.spawner.workVolume.mountPath,
      readOnly: false,
      perUser: true,
      driverOptions: false,
    });
  }
  return mounts.sort((a, b) => a.target.localeCompare(b.target));
}

/** Where an operator's hook file lands in the hub container. */
export function hookPath(kind: "postAuth" | "preSpawn"): string {
  return `${hubPaths.hooks}/${kind === "postAuth" ? "post_auth" : "pre_spawn"}.py`;
}

/** The settings the hub reads from /srv/jupyterhub/settings.json. Never holds a secret. */
export function hubSettings(config: PublicConfig, stack: string, hookFiles: HookFiles): HubSettings {
  const n = names(config.prefix);
  const url = publicUrl(config);
  const environment: Record<string, string> = { ...config.spawner.environment };
  for (const m of config.storage) Object.assign(environment, m.environment);
  const labelMap = (component: string) => Object.fromEntries(labelsFor(config, stack, component).map((l) => [l.label, l.value]));
  return {
    hub: {
      publicUrl: url,
      logLevel: config.hub.logLevel,
      connectHost: endpoints.hubAlias,
      container: n.hubContainer,
      proxyContainer: n.proxyContainer,
      proxyApiUrl: `http://${endpoints.proxyAlias}:${endpoints.proxyApiPort}`,
      dataDir: hubPaths.data,
    },
    auth: authSettings(config),
    spawner: {
      networkTemplate: n.userNetworkTemplate,
      networkLabels: labelMap("user-network"),
      networkPool: config.spawner.networkPool,
      containerNameTemplate: n.userContainerTemplate,
      images: config.images,
      defaultImage: config.defaultImage ?? config.images[0]!.name,
      startTimeout: config.spawner.startTimeout,
      httpTimeout: config.spawner.httpTimeout,
      defaultUrl: config.spawner.defaultUrl,
      notebookDir: config.spawner.notebookDir,
      memLimit: config.spawner.memLimit ?? null,
      cpuLimit: config.spawner.cpuLimit ?? null,
      uid: config.spawner.uid,
      gid: config.spawner.gid,
      environment,
      mounts: spawnerMounts(config),
      labels: labelMap("user"),
    },
    hooks: {
      postAuth: hookFiles.postAuth !== undefined ? hookPath("postAuth") : null,
      preSpawn: hookFiles.preSpawn !== undefined ? hookPath("preSpawn") : null,
      startScript: hookFiles.start ?? null,
    },
    services: config.services,
    culler: config.culler,
  };
}

/** The generated secrets, once resolved. */
export interface GeneratedSecrets {
  readonly cookieSecret: string;
  readonly proxyAuthToken: string;
  readonly cullerToken: string;
  readonly serviceTokens: Readonly<Record<string, string>>;
  /** bcrypt hashes of the native admins' generated passwords, keyed by account name. */
  readonly adminPasswordHashes: Readonly<Record<string, string>>;
}

/** The content of /srv/jupyterhub/secrets.json. Only ever built inside a Pulumi secret. */
export function hubSecrets(config: StackConfig, generated: GeneratedSecrets): HubSecrets {
  const providers = config.auth.providers;
  const mountDriverOptions = Object.fromEntries(
    config.storage
      .filter((m) => m.perUser)
      .flatMap((m) => {
        const opts = shareDriverOptions(m, config.shareCredentials);
        return opts ? [[m.name, opts] as const] : [];
      }),
  );
  return {
    cookieSecret: generated.cookieSecret,
    proxyAuthToken: generated.proxyAuthToken,
    cullerToken: generated.cullerToken,
    serviceTokens: generated.serviceTokens,
    nativeAdminPasswordHashes: generated.adminPasswordHashes,
    githubClientSecret: providers.includes("github") ? config.githubClientSecret : undefined,
    gitlabClientSecret: providers.includes("gitlab") ? config.gitlabClientSecret : undefined,
    mountDriverOptions,
  };
}

/**
 * How the proxy container starts: a static `sh -c` script (identical on every run, so previews stay
 * quiet) that binds the REST API to the proxy's own address on the stack's main network only, which
 * holds nothing but the hub and the proxy: the per-user networks, where the proxy is a member too
 * (it routes to each server there), then cannot reach the API. The address is the one of the
 * `proxy` alias, which exists on the main network only; it is resolved with `node` (both the
 * upstream image and the stand-in have `sh` and `node`, not necessarily `getent`), retried while
 * Docker's DNS is not ready, and the start fails rather than falling back to every interface. The
 * image's own entrypoint then runs configurable-http-proxy with the arguments of `proxyCommand`.
 */
export const proxyStartScript = `set -eu
ip=""
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  ip="$(node -e 'require("dns").lookup(process.argv[1], { family: 4 }, (e, a) => { if (e) { console.error(e.message); process.exit(1); } console.log(a); })' ${endpoints.proxyAlias})" && break
  ip=""
  sleep 1
done
if [ -z "$ip" ]; then
  echo "$0: cannot resolve ${endpoints.proxyAlias}; the API is never bound to every interface" >&2
  exit 1
fi
echo "$0: the REST API listens on $ip (${endpoints.proxyAlias}) only" >&2
exec /srv/configurable-http-proxy/chp-docker-entrypoint "--api-ip=$ip" "$@"
`;

/** Entrypoint of the proxy container (see `proxyStartScript`); `$0` names it in its messages. */
export function proxyEntrypoint(): string[] {
  return ["sh", "-c", proxyStartScript, "gmap-proxy"];
}

/**
 * Arguments of configurable-http-proxy (after the start script's `--api-ip`): routes everything to
 * the hub until the hub adds the user routes.
 */
export function proxyCommand(): string[] {
  const hub = `http://${endpoints.hubAlias}:${endpoints.hubPort}`;
  return [
    "--ip=0.0.0.0",
    `--port=${endpoints.proxyPort}`,
    `--api-port=${endpoints.proxyApiPort}`,
    `--default-target=${hub}`,
    `--error-target=${hub}/hub/error`,
  ];
}

/** Healthcheck of the hub container: JupyterHub's own health endpoint under the public URL's path. */
export function hubHealthcheck(url: string) {
  const basePath = new URL(url).pathname.replace(/\/+$/, "");
  return {
    tests: [
      "CMD",
      "python3",
      "-c",
      `import urllib.request; urllib.request.urlopen("http://127.0.0.1:${endpoints.hubPort}${basePath}/hub/health", timeout=5)`,
    ],
    // Written as Docker reads them back (Go's time.Duration form), so a preview after `up` is quiet.
    interval: dockerDuration(15),
    timeout: dockerDuration(10),
    retries: 5,
    startPeriod: dockerDuration(120),
  };
}

/** A whole number of seconds in Go's time.Duration form, as Docker reports it: 15s, 2m0s, 1h0m0s. */
export function dockerDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`not a whole number of seconds: ${seconds}`);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
