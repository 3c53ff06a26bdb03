/**
 * The mounts of the notebook containers (per-user work volume and storage mounts) as the hub's
 * spawner receives them, and the Docker volume options of network shares (pure functions).
 */
import type { PublicConfig, StackConfig } from "./config";
import { homeMount, names } from "./names";

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
  /** The volume driver of those options, when not Docker's local driver (a volume plugin). */
  readonly driver?: string;
}

/** The source and access of a mount whose volume a driver creates (storage mounts and the homes). */
interface ShareMount {
  readonly name: string;
  readonly source: StorageMount["source"];
  readonly readOnly: boolean;
}

/** Docker's local-driver options that mount a network share, or undefined for other sources. */
export function shareDriverOptions(mount: ShareMount, credentials: StackConfig["shareCredentials"]): Record<string, string> | undefined {
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
    case "driver":
      return { ...src.options };
    default:
      return undefined;
  }
}

/** True when Pulumi declares a Docker volume for this mount (shared volumes and shared network shares). */
export function isStackVolume(mount: StorageMount): boolean {
  return !mount.perUser && mount.source.type !== "host";
}

const isNetwork = (source: StorageMount["source"]) => source.type === "nfs" || source.type === "cifs" || source.type === "driver";

/** The users' homes as a mount whose volume a driver creates, or undefined for a volume of the Docker host. */
function homeShare(config: Pick<PublicConfig, "spawner">): ShareMount | undefined {
  const { workVolume } = config.spawner;
  return workVolume.enabled && workVolume.source ? { name: homeMount, source: workVolume.source, readOnly: false } : undefined;
}

/**
 * Whether the spawner creates this mount's volume from driver options: per-user network shares
 * (one volume per user), and in swarm mode every network share (each node creates the volume it
 * mounts on first use).
 */
function createdBySpawner(config: Pick<PublicConfig, "engine">, mount: { source: StorageMount["source"]; perUser: boolean }) {
  return isNetwork(mount.source) && (mount.perUser || config.engine.mode === "swarm");
}

/** The volume driver options of every mount the spawner creates, keyed by mount name (secrets.json). */
export function spawnerDriverOptions(config: StackConfig): Record<string, Record<string, string>> {
  const shares: ShareMount[] = [...config.storage.filter((m) => createdBySpawner(config, m))];
  const home = homeShare(config);
  if (home) shares.push(home);
  return Object.fromEntries(shares.map((m) => [m.name, shareDriverOptions(m, config.shareCredentials) ?? {}]));
}

/** Every mount of a notebook container: the per-user work volume and the storage mounts, sorted by target. */
export function spawnerMounts(config: PublicConfig): SpawnerMount[] {
  const n = names(config.prefix);
  const driver = (source: StorageMount["source"]) => (source.type === "driver" ? { driver: source.driver } : {});
  const mounts: SpawnerMount[] = config.storage.map((m) => ({
    name: m.name,
    type: m.source.type === "host" ? "bind" : "volume",
    source: m.source.type === "host" ? m.source.path : m.perUser ? `${n.storageVolume(m.name)}-{username}` : n.storageVolume(m.name),
    target: m.mountPath,
    readOnly: m.readOnly,
    perUser: m.perUser,
    driverOptions: createdBySpawner(config, m),
    ...driver(m.source),
  }));
  if (config.spawner.workVolume.enabled) {
    const home = homeShare(config);
    mounts.push({
      name: homeMount,
      type: "volume",
      source: n.userVolumeTemplate,
      target: config.spawner.workVolume.mountPath,
      readOnly: false,
      perUser: true,
      driverOptions: home !== undefined,
      ...(home ? driver(home.source) : {}),
    });
  }
  return mounts.sort((a, b) => a.target.localeCompare(b.target));
}
