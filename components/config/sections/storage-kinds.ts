/**
 * The one table of storage source kinds (storage[].source.type, spawner.workVolume.source.type):
 * for each kind its fields (zod) and the facts the rest of the program asks about it: does its data
 * live on the network, which field holds {username}, does it need credentials, what engine.mode
 * swarm says about it, and the Docker volume driver and options that mount it. A new kind is one
 * schema and one entry here; the config's checks, the mounts, the stack's volumes and the backup
 * look its facts up.
 */
import { z } from "zod";
import { absolutePath, hostPathProblem, hostSystemPaths, orList, pathFormProblem } from "../rules";
import { breaksMountOptions, fitsMountOptions, mountOptions, shareServer, type ShareCredential } from "./share-options";

const nfs = z
  .object({
    type: z.literal("nfs"),
    server: shareServer("NFS").describe("NFS server host name or address."),
    export: absolutePath("source.export")
      .refine(fitsMountOptions, breaksMountOptions("source.export"))
      .describe("Exported path. Per-user mounts must include {username}."),
    options: mountOptions,
  })
  .describe("An NFS export, mounted by Docker's local volume driver.");

const cifs = z
  .object({
    type: z.literal("cifs"),
    server: shareServer("SMB/CIFS").describe("SMB/CIFS server host name or address."),
    share: z
      .string()
      .regex(/^[^/\\][^\\]*$/, "source.share is the share name and optional path, e.g. isis/data")
      .refine(fitsMountOptions, breaksMountOptions("source.share"))
      .describe("Share name and optional sub path. Per-user mounts must include {username}."),
    options: mountOptions,
  })
  .describe(
    "A SMB/CIFS share, mounted by Docker's local volume driver. Credentials come from the secret config key shareCredentials.<mount name> unless options contain `guest`.",
  );

const driver = z
  .object({
    type: z.literal("driver"),
    driver: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.\-/:]*$/, "source.driver is the name of a Docker volume plugin, e.g. rclone or vieux/sshfs:latest")
      .refine((d) => d !== "local", { message: 'source.driver "local" is Docker\'s node-local driver: use type volume, nfs or cifs' })
      .describe("Name of the Docker volume plugin, installed on every node (docker plugin install, or a legacy plugin socket)."),
    options: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "option names are letters, digits, _ . -"), z.string())
      .default({})
      .describe("The plugin's volume options (docker volume create -o); values may contain {username} in per-user mounts."),
  })
  .describe("A volume of a Docker volume plugin (a cluster file system or a network share the plugin mounts on each node).");

/** The fields of each kind, in the order the config reference lists them. */
const sourceSchemas = {
  volume: z
    .object({ type: z.literal("volume") })
    .describe("A named Docker volume on the hub host (per-user: one volume per user, created on first spawn)."),
  host: z
    .object({
      type: z.literal("host"),
      path: absolutePath("source.path")
        .superRefine((path, ctx) => {
          const problem = pathFormProblem(path) ?? hostPathProblem(path, hostSystemPaths);
          if (problem) ctx.addIssue({ code: "custom", message: problem.startsWith("must") ? `source.path ${problem}` : problem });
        })
        .describe(
          "Host directory. Per-user mounts must include {username}. Not /, system directories (/etc, /proc, /sys, /dev, /boot, /root, /run, /var/run, /var/lib/docker), hub.dockerSocket, anything inside them or above them.",
        ),
    })
    .describe("A directory of the Docker host (bind mount)."),
  nfs,
  cifs,
  driver,
};

export type StorageKind = keyof typeof sourceSchemas;
type SourceOf<K extends StorageKind> = z.output<(typeof sourceSchemas)[K]>;
/** Where a mount's data comes from (any kind). */
export type StorageSource = SourceOf<StorageKind>;

/** A field of a source: its key (issues name it) and its value. */
interface SourceField<S> {
  readonly key: string;
  readonly of: (source: S) => string;
}

/** How a volume is mounted: read-only or not, with the credentials of its mount name (if any). */
export interface ShareAccess {
  readonly readOnly: boolean;
  readonly credentials?: ShareCredential | undefined;
}

/** What the program knows about one kind of source. */
export interface KindFacts<S> {
  /** Its data lives on the network: every node of a swarm reaches the same files (allowed for the homes). */
  readonly network: boolean;
  /** A directory of the Docker host, bind-mounted (no Docker volume): the field holding it. */
  readonly bind?: SourceField<S>;
  /** The field that holds {username} in per-user mounts. */
  readonly template?: SourceField<S>;
  /** It needs shareCredentials.<mount name> (named `what` in messages), unless `unless` holds. */
  readonly credentials?: { readonly what: string; readonly unless: (source: S) => boolean };
  /** Why engine.mode swarm cannot use it (undefined: it can). */
  readonly swarmProblem?: string;
  /** The Docker volume plugin that creates its volumes (undefined: Docker's local driver). */
  readonly driver?: (source: S) => string;
  /** The Docker volume driver options that mount it (undefined: a plain volume or a bind mount). */
  readonly driverOptions?: (source: S, access: ShareAccess) => Record<string, string>;
}

/** The mount options of a share, with `ro` for read-only mounts. */
const withAccess = (options: readonly string[], { readOnly }: ShareAccess) =>
  readOnly && !options.includes("ro") ? [...options, "ro"] : [...options];

const facts = {
  volume: {
    network: false,
    swarmProblem:
      "engine.mode swarm starts servers on any node, and a Docker volume lives on one node: a user would find other files on every node. Use nfs, cifs or driver (a volume plugin every node has)",
  },
  host: {
    network: false,
    bind: { key: "path", of: (s) => s.path },
    template: { key: "path", of: (s) => s.path },
    swarmProblem:
      "engine.mode swarm starts servers on any node, and a host directory exists on one node only: export it (nfs, cifs) or use a volume plugin (driver)",
  },
  nfs: {
    network: true,
    template: { key: "export", of: (s) => s.export },
    driverOptions: (s, access) => ({
      type: "nfs",
      device: `:${s.export}`,
      o: [`addr=${s.server}`, ...withAccess(s.options, access)].join(","),
    }),
  },
  cifs: {
    network: true,
    template: { key: "share", of: (s) => s.share },
    credentials: { what: "CIFS", unless: (s) => s.options.includes("guest") },
    driverOptions: (s, access) => {
      const cred = access.credentials;
      const login = cred
        ? [`username=${cred.username}`, `password=${cred.password}`, ...(cred.domain ? [`domain=${cred.domain}`] : [])]
        : [];
      return {
        type: "cifs",
        device: `//${s.server}/${s.share}`,
        o: [`addr=${s.server}`, ...login, ...withAccess(s.options, access)].join(","),
      };
    },
  },
  driver: {
    network: true,
    driver: (s) => s.driver,
    driverOptions: (s) => ({ ...s.options }),
  },
} as const satisfies { readonly [K in StorageKind]: KindFacts<SourceOf<K>> };

/** Every kind, in the table's order. */
export const storageKinds = Object.keys(sourceSchemas) as StorageKind[];

/** The facts of a source's kind. */
export function kindOf<S extends StorageSource>(source: S): KindFacts<S> {
  return facts[source.type] as unknown as KindFacts<S>;
}

type NetworkKind = { [K in StorageKind]: (typeof facts)[K]["network"] extends true ? K : never }[StorageKind];
/** The kinds whose data lives on the network. */
export const networkKinds = storageKinds.filter((k) => facts[k].network) as NetworkKind[];

/** `"a", "b", "c"`: the kinds as the "must be one of" messages quote them. */
const quoted = (kinds: readonly string[]) => kinds.map((k) => JSON.stringify(k)).join(", ");

type Schemas<K extends StorageKind> = [(typeof sourceSchemas)[K], ...(typeof sourceSchemas)[K][]];

/** Where a storage mount's data comes from: any kind. */
export const storageSource = z
  .discriminatedUnion("type", storageKinds.map((k) => sourceSchemas[k]) as Schemas<StorageKind>, {
    error: `source.type must be one of ${quoted(storageKinds)}`,
  })
  .describe(`Where the data comes from: type ${orList(storageKinds)}.`);

type HomeKind = NetworkKind | "host";
/** The kinds the homes may live on besides a volume of the Docker host: the network's, and a host directory (per-user subvolumes for a quota). */
const homeKinds: HomeKind[] = [...networkKinds, "host"];

/** Where the homes live when not in volumes of the Docker host. */
export const homeSource = z.discriminatedUnion("type", homeKinds.map((k) => sourceSchemas[k]) as Schemas<HomeKind>, {
  error: `source.type must be one of ${quoted(homeKinds)}`,
});
