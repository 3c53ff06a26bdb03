/**
 * The mounts of the notebook containers (per-user work volume and storage mounts) as the hub's
 * spawner receives them, and the Docker volume options of network shares (pure functions). What
 * each kind of source needs comes from the table of storage kinds (config/sections/storage-kinds.ts).
 */
import { diskBytes, kindOf, type PublicConfig, type Quota, type StackConfig, type StorageSource } from "./config";
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
  /** Mounted only for members of these groups (absent: everyone). */
  readonly groups?: string[];
  /** Who may write a read-only mount anyway (absent: nobody). */
  readonly writers?: { readonly admins: boolean; readonly groups: string[] };
  /** The environment it sets, for a mount of some groups only (the others' is every server's). */
  readonly environment?: Record<string, string>;
  /** A size limit on each user's directory (a per-user bind mount), as the hub applies it. */
  readonly quota?: QuotaSettings;
}

/** A quota as the hub applies it: bytes, and other bytes per group (the largest of a user's applies). */
export interface QuotaSettings {
  readonly filesystem: "btrfs";
  readonly bytes: number;
  readonly groups: Record<string, number>;
}

/** The quota of a mount as the hub applies it, or nothing. */
export function quotaSettings(quota: Quota | undefined): { quota?: QuotaSettings } {
  if (!quota) return {};
  const groups = Object.entries(quota.groups).map(([group, size]) => [group, diskBytes(size)] as const);
  return { quota: { filesystem: quota.filesystem, bytes: diskBytes(quota.size), groups: Object.fromEntries(groups) } };
}

/** The source and access of a mount whose volume a driver creates (storage mounts and the homes). */
interface ShareMount {
  readonly name: string;
  readonly source: StorageSource;
  readonly readOnly: boolean;
  /** Who may write a read-only mount anyway: its share is then mounted writable, each server's mount read-only for the others. */
  readonly writers?: unknown;
}

/** The Docker volume driver options that mount a source (network shares, plugin volumes), or undefined for other sources. */
export function shareDriverOptions(mount: ShareMount, credentials: StackConfig["shareCredentials"]): Record<string, string> | undefined {
  const readOnly = mount.readOnly && mount.writers === undefined;
  return kindOf(mount.source).driverOptions?.(mount.source, { readOnly, credentials: credentials[mount.name] });
}

/** The volume plugin of a source as Docker volume specs name it (`{ driver }`), or nothing for Docker's local driver. */
export function volumeDriver(source: StorageSource): { driver?: string } {
  const driver = kindOf(source).driver?.(source);
  return driver !== undefined ? { driver } : {};
}

/** True when Pulumi declares a Docker volume for this mount (shared volumes and shared network shares). */
export function isStackVolume(mount: StorageMount): boolean {
  return !mount.perUser && !kindOf(mount.source).bind;
}

/** The users' homes as a mount whose volume a driver creates, or undefined for a volume or a directory of the Docker host. */
function homeShare(config: Pick<PublicConfig, "spawner">): ShareMount | undefined {
  const { workVolume } = config.spawner;
  return workVolume.enabled && workVolume.source && !kindOf(workVolume.source).bind
    ? { name: homeMount, source: workVolume.source, readOnly: false }
    : undefined;
}

/** The host directory of each user's home (with {username}), when the homes live in directories of the Docker host. */
export function homeDirectory(config: Pick<PublicConfig, "spawner">): string | undefined {
  const { workVolume } = config.spawner;
  return workVolume.enabled && workVolume.source ? kindOf(workVolume.source).bind?.of(workVolume.source) : undefined;
}

/**
 * Whether the spawner creates this mount's volume from driver options: per-user network shares
 * (one volume per user), and in swarm mode every network share (each node creates the volume it
 * mounts on first use).
 */
function createdBySpawner(config: Pick<PublicConfig, "engine">, mount: { source: StorageSource; perUser: boolean }) {
  return kindOf(mount.source).network && (mount.perUser || config.engine.mode === "swarm");
}

/**
 * The driver options of every network share of Docker's local driver (NFS, CIFS; the homes on one),
 * keyed by mount name: each set of options gets volumes of its own name (ShareVersions,
 * `versionedVolume`).
 */
export function shareOptions(config: StackConfig): Record<string, Record<string, string>> {
  const shares: ShareMount[] = config.storage.filter((m) => versionedShare(m.source));
  const home = homeShare(config);
  if (home && versionedShare(home.source)) shares.push(home);
  return Object.fromEntries(shares.map((m) => [m.name, shareDriverOptions(m, config.shareCredentials) ?? {}]));
}

/** The mount names of `shareOptions`, sorted (known without the secrets). */
export function shareMounts(config: PublicConfig): string[] {
  const names = config.storage.filter((m) => versionedShare(m.source)).map((m) => m.name);
  const home = homeShare(config);
  if (home && versionedShare(home.source)) names.push(homeMount);
  return names.sort();
}

/**
 * Whether a source's volumes are named with a version of their options: network shares of Docker's
 * local driver (NFS, CIFS), whose options say where the data is. Not a volume plugin's: a plugin
 * may keep a volume's data under its name, so a new name could be an empty volume.
 */
function versionedShare(source: StorageSource): boolean {
  const kind = kindOf(source);
  return kind.driverOptions !== undefined && kind.driver === undefined;
}

/**
 * The name of a share's volume for one version of its options: `<name>-<version>`; per user, the
 * version comes before the user's name (`<prefix>-user-<version>-{username}`).
 */
export function versionedVolume(name: string, version: string): string {
  return name.includes("{username}") ? name.replace("{username}", `${version}-{username}`) : `${name}-${version}`;
}

/** The volume driver options of every mount the spawner creates, keyed by mount name (secrets.json). */
export function spawnerDriverOptions(config: StackConfig): Record<string, Record<string, string>> {
  const shares: ShareMount[] = [...config.storage.filter((m) => createdBySpawner(config, m))];
  const home = homeShare(config);
  if (home) shares.push(home);
  return Object.fromEntries(shares.map((m) => [m.name, shareDriverOptions(m, config.shareCredentials) ?? {}]));
}

/**
 * Every mount of a notebook container: the per-user work volume and the storage mounts, sorted by
 * target. Shares' volumes carry the version of their options (`shareVersions`, by mount name).
 */
export function spawnerMounts(config: PublicConfig, shareVersions: Readonly<Record<string, string>>): SpawnerMount[] {
  const n = names(config.prefix);
  const versioned = (mount: string, name: string) => {
    if (!shareMounts(config).includes(mount)) return name;
    const version = shareVersions[mount];
    if (version === undefined) throw new Error(`no version of the options of share ${mount}`);
    return versionedVolume(name, version);
  };
  const mounts: SpawnerMount[] = config.storage.map((m) => {
    const bind = kindOf(m.source).bind?.of(m.source);
    return {
      name: m.name,
      type: bind !== undefined ? "bind" : "volume",
      source: bind ?? versioned(m.name, m.perUser ? `${n.storageVolume(m.name)}-{username}` : n.storageVolume(m.name)),
      target: m.mountPath,
      readOnly: m.readOnly,
      perUser: m.perUser,
      driverOptions: createdBySpawner(config, m),
      ...volumeDriver(m.source),
      ...(m.groups ? { groups: m.groups } : {}),
      ...(m.groups && Object.keys(m.environment).length > 0 ? { environment: { ...m.environment } } : {}),
      ...quotaSettings(m.quota),
      ...(m.writers ? { writers: m.writers } : {}),
    };
  });
  if (config.spawner.workVolume.enabled) {
    const home = homeShare(config);
    const directory = homeDirectory(config);
    mounts.push({
      name: homeMount,
      type: directory !== undefined ? "bind" : "volume",
      source: directory ?? versioned(homeMount, n.userVolumeTemplate),
      target: config.spawner.workVolume.mountPath,
      readOnly: false,
      perUser: true,
      driverOptions: home !== undefined,
      ...(home ? volumeDriver(home.source) : {}),
      ...quotaSettings(config.spawner.workVolume.quota),
    });
  }
  return mounts.sort((a, b) => a.target.localeCompare(b.target));
}
