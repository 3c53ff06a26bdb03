/**
 * The mounts of the notebook containers (per-user work volume and storage mounts) as the hub's
 * spawner receives them, and the Docker volume options of network shares (pure functions).
 */
import type { PublicConfig, StackConfig } from "./config";
import { names } from "./names";

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
