/**
 * spawner: the user servers (limits, timeouts, the notebook user, their environment, their own
 * networks and the per-user work volume, the users' homes).
 */
import { z } from "zod";
import { homeMount, userNetworkPrefixLength } from "../../names";
import { absolutePath, envMap, mountPath, notebookHome, reportProblem, type Issue } from "../rules";
import { egressFields, isNetworkAddress } from "./egress";
import { diskSize, quotaFields } from "./quota";
import { homeSource } from "./storage-kinds";

/** Byte multipliers of the units JupyterHub's ByteSpecification (DockerSpawner's mem_limit) takes. */
export const byteUnits = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 } as const;
/** Docker refuses memory limits under 6 MiB. */
export const minMemoryBytes = 6 * byteUnits.M;

/**
 * Why a memory limit would fail: JupyterHub's ByteSpecification takes a string only as a number
 * followed by exactly one of K, M, G, T (upper case, no B; a string of plain bytes fails), and
 * Docker refuses limits under 6 MiB.
 */
export function memLimitProblem(value: string, key = "spawner.memLimit"): string | undefined {
  const valid = /^(\d+(?:\.\d+)?)([KMGT])$/.exec(value);
  const bytes = valid ? Number(valid[1]) * byteUnits[valid[2] as keyof typeof byteUnits] : undefined;
  if (bytes === 0 || /^0+(\.0+)?$/.test(value))
    return `"${value}" is no memory limit Docker accepts: leave ${key} unset for no limit, or give at least 6M`;
  if (bytes !== undefined) {
    if (bytes < minMemoryBytes) return `"${value}" is below Docker's minimum memory limit of 6M: give at least 6M, e.g. 512M`;
    if (bytes > 1024 * byteUnits.T) return `"${value}" is more than 1024T: give the limit in G, e.g. 64G`;
    return undefined;
  }
  if (/^\d+$/.test(value)) {
    const hint = Number(value) >= 6 ? `write "${value}M" for ${value} MiB` : "give at least 6M";
    return `"${value}" has no unit, and JupyterHub refuses plain numbers as strings: ${hint} (units K, M, G, T)`;
  }
  const near = /^(\d+(?:\.\d+)?)\s*([kmgtKMGT])[bB]?$/.exec(value.trim());
  if (near) return `write "${near[1]}${near[2]!.toUpperCase()}": JupyterHub takes the units K, M, G, T in upper case, without a B`;
  return `${key} looks like "4G": a number and one of the units K, M, G, T`;
}

/** The bytes of a memory size that passed memLimitProblem ("4G": 4 GiB). */
export function memoryBytes(value: string): number {
  const [, number, unit] = /^(\d+(?:\.\d+)?)([KMGT])$/.exec(value)!;
  return Math.floor(Number(number) * byteUnits[unit as keyof typeof byteUnits]);
}

/** A memory size as JupyterHub's ByteSpecification takes it, e.g. "4G" (the problem says which key). */
export const memorySize = (key: string) => z.string().superRefine(reportProblem((v) => memLimitProblem(v, key)));

/** An IPv4 range for the per-user networks: a network address (host bits zero), /24 or larger. */
export function networkPoolFits(cidr: string): boolean {
  const prefix = Number(cidr.split("/")[1]);
  return prefix >= 8 && prefix <= 24 && isNetworkAddress(cidr);
}

/**
 * Spawner options the hub receives as they are and sets one trait each: the table SPAWNER_TRAITS in
 * hub-config/gmap_hub/configure/spawner.py maps each key to its class and trait, and the settings contract
 * (components/contract.ts) takes these entries as they are. A new option of this kind is one entry
 * here, one line in that table and a test.
 */
export const spawnerTraitOptions = {
  startTimeout: z.int().min(30).max(3600).default(600).describe("Seconds a server may take to start (large images take long)."),
  httpTimeout: z.int().min(10).max(3600).default(120).describe("Seconds a started server may take to answer."),
  defaultUrl: z.string().regex(/^\//, "spawner.defaultUrl starts with /").default("/lab").describe("Page users land on."),
  notebookDir: absolutePath("spawner.notebookDir").default(notebookHome).describe("Notebook root directory in the container."),
  memLimit: memorySize("spawner.memLimit")
    .optional()
    .describe("Memory limit per server: a number and a unit K, M, G or T (powers of 1024), e.g. 4G or 1.5G; at least 6M."),
  cpuLimit: z
    .number()
    .min(
      0.01,
      "spawner.cpuLimit must be at least 0.01: DockerSpawner sets a CPU quota of cpuLimit x 100 ms, and Docker refuses quotas under 1 ms",
    )
    .max(1024, "spawner.cpuLimit must be at most 1024 (CPUs)")
    .optional()
    .describe("CPU limit per server in CPUs, e.g. 2 or 0.5; between 0.01 and 1024."),
};

/** spawner.concurrentSpawnLimit, as the stack config and the settings contract take it. */
export const concurrentSpawnLimit = z
  .int()
  .min(0)
  .max(10_000)
  .describe(
    'Servers starting at once, at most: past it a user asking for a server is told at once "Too many users trying to log in right now. Try again in N seconds." (HTTP 429) instead of waiting in a queue that slows every spawn down until some time out. 0: no limit. On a 2-core host 20 spawns at once take about 30 s (docs/benchmarks.md, Load).',
  );

/** spawner.maxServers, as the stack config and the settings contract take it. */
export const maxServers = z
  .int()
  .min(0)
  .max(100_000)
  .describe(
    "Servers running (or starting) at once, at most: past it a user asking for a server is told at once that the hub is full and to try again when someone stops theirs (HTTP 429). 0: no limit.",
  );

export const spawnerFields = z
  .object({
    ...spawnerTraitOptions,
    uid: z.int().min(0).default(1000).describe("Notebook user's uid (NB_UID); 0 only with spawner.allowRoot."),
    gid: z.int().min(0).default(100).describe("Notebook user's gid (NB_GID)."),
    environment: envMap.default({}).describe("Extra environment of every notebook container."),
    allowRoot: z
      .boolean()
      .default(false)
      .describe(
        "Let users be root in their servers (uid 0, GRANT_SUDO=yes in the environment): the servers then keep Docker's default capabilities and may gain privileges through setuid programs (sudo). Off: no-new-privileges and only the capabilities the images' start-up needs. Only for a hub whose users are all trusted with the host.",
      ),
    pidsLimit: z
      .int()
      .min(64, "spawner.pidsLimit must be at least 64: a notebook server with a kernel and a terminal runs dozens of threads")
      .max(1_000_000)
      .default(1024)
      .describe(
        "Processes and threads one user server may run at once (its pids cgroup): a fork bomb stops there, not at the host's limit.",
      ),
    concurrentSpawnLimit: concurrentSpawnLimit.default(20),
    maxServers: maxServers.default(0),
    namedServers: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            "Let users run named servers beside their default one (e.g. ISIS processing beside GISPy analysis), each with its own image and size, container and network; the home page lists, starts, stops and deletes them. A user's servers share the home and the user's storage.",
          ),
        limit: z
          .int()
          .min(1, "spawner.namedServers.limit must be at least 1: set enabled: false for none")
          .max(100)
          .default(2)
          .describe("Named servers a user may have besides the default one (running or stopped; deleting one frees its place)."),
      })
      .strict()
      .prefault({})
      .describe("Several servers per user (JupyterHub's named servers)."),
    memoryBudget: memorySize("spawner.memoryBudget")
      .optional()
      .describe(
        "Memory the user servers may have together: a spawn whose size would take the sum of the running servers' memory limits past it is refused at once, saying so (HTTP 429). Every size then needs a memory limit. Leave room for the hub, the proxy and the host, e.g. 56G on a 64G host. Unset: no budget.",
      ),
    tmpSize: diskSize("spawner.tmpSize", { bytes: byteUnits.M, why: "1M" })
      .optional()
      .describe(
        "Size of /tmp in every server, a memory-backed tmpfs (what it holds counts against the server's memory limit), e.g. 2G: temporary files cannot fill the host's disk. Unset: /tmp is part of the container's writable layer.",
      ),
    writableLayerSize: diskSize("spawner.writableLayerSize", { bytes: 64 * byteUnits.M, why: "64M" })
      .optional()
      .describe(
        "Size of each server's writable layer (what is written outside its mounts: /opt/conda by pip install, /var/tmp, ...), as Docker's storage-opt size. Only engines that support it: overlay2 on XFS mounted with pquota, btrfs, zfs; the hub refuses to start on others (docs/storage.md). Unset: no bound.",
      ),
    networkPool: z
      .cidrv4({ error: "spawner.networkPool is an IPv4 range such as 10.251.0.0/16" })
      .refine(networkPoolFits, {
        message: "spawner.networkPool must be a network address (host bits zero) of a /24 or larger range, e.g. 10.251.0.0/16",
      })
      .default("10.251.0.0/16")
      .describe(
        `Address range of the user servers' own networks, a /${userNetworkPrefixLength} each (a /16 serves ${2 ** (userNetworkPrefixLength - 16)} servers at once); pick one unused on the host's LAN.`,
      ),
    egress: egressFields,
    workVolume: z
      .object({
        enabled: z.boolean().default(true).describe("Give every user a persistent volume."),
        mountPath: mountPath("spawner.workVolume.mountPath")
          .default(notebookHome)
          .describe(
            "Where it is mounted: the whole home by default, so whatever a user saves anywhere in the file browser persists (before: /home/jovyan/work).",
          ),
        source: homeSource
          .optional()
          .describe(
            `Where the homes live when not in a volume of the Docker host: nfs, cifs (credentials in shareCredentials.${homeMount}) or driver, one volume <prefix>-user-<username> per user (export/share/options with {username}: one directory each); or host, a directory of the Docker host per user (path with {username}), where a quota can hold them. nfs, cifs or driver are required with engine.mode swarm, where a server may start on any node.`,
          ),
        quota: quotaFields("spawner.workVolume.quota", "home"),
      })
      .strict()
      .prefault({})
      .describe(
        "The per-user persistent volume <prefix>-user-<username>: the user's home. Docker fills it from the image's home on first use.",
      ),
  })
  .strict()
  .prefault({})
  .describe("User servers.");

/** Environment values that make the notebook user root or give it sudo (docker-stacks' start.sh). */
const rootGranting: Readonly<Record<string, (value: string) => boolean>> = {
  NB_UID: (v) => v.trim() === "0",
  NB_USER: (v) => v.trim() === "root",
  GRANT_SUDO: (v) => ["1", "yes", "true"].includes(v.trim().toLowerCase()),
};

/** Without spawner.allowRoot: no uid 0 and no environment value that grants root or sudo. */
export function spawnerChecks(
  cfg: {
    readonly spawner: {
      readonly allowRoot: boolean;
      readonly uid: number;
      readonly environment: Readonly<Record<string, string>>;
      readonly maxServers: number;
      readonly networkPool: string;
    };
    readonly storage: readonly { readonly environment: Readonly<Record<string, string>> }[];
  },
  issue: Issue,
): void {
  poolChecks(cfg.spawner, issue);
  if (cfg.spawner.allowRoot) return;
  const optIn = "set spawner.allowRoot: true only if every user may be root on their server";
  if (cfg.spawner.uid === 0) issue(["spawner", "uid"], `uid 0 makes every user root in their server: ${optIn}`);
  const check = (path: (string | number)[], env: Readonly<Record<string, string>>) => {
    for (const [name, grants] of Object.entries(rootGranting)) {
      const value = env[name];
      if (value !== undefined && grants(value)) issue([...path, name], `${name}=${value} makes users root or gives them sudo: ${optIn}`);
    }
  };
  check(["spawner", "environment"], cfg.spawner.environment);
  cfg.storage.forEach((m, i) => check(["storage", i, "environment"], m.environment));
}

/** Each server (named ones too) takes a /userNetworkPrefixLength of the pool: maxServers must fit in it. */
function poolChecks(spawner: { readonly maxServers: number; readonly networkPool: string }, issue: Issue): void {
  const prefix = Number(spawner.networkPool.split("/")[1]);
  if (!Number.isInteger(prefix) || prefix > userNetworkPrefixLength) return; // the pool's own rule says what is wrong
  const networks = 2 ** (userNetworkPrefixLength - prefix);
  if (spawner.maxServers > networks) {
    issue(
      ["spawner", "maxServers"],
      `${spawner.maxServers} servers need ${spawner.maxServers} networks, and spawner.networkPool ${spawner.networkPool} holds ${networks} (a /${userNetworkPrefixLength} per server, named servers too): widen networkPool or lower maxServers`,
    );
  }
}
