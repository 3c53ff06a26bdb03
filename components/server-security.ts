/**
 * What a user server may do as a process on the host: no privilege gain (no-new-privileges: setuid
 * binaries do not raise it) and only the capabilities the images' start-up needs as root before it
 * drops to the notebook user (docker-stacks' start.sh: ownership of the home and the writable
 * mounts, the notebook user's ids, the switch to that user, signals to its processes). Docker's
 * other default capabilities (raw sockets, device nodes, chroot, file capabilities, capability
 * setting, low ports) are dropped. `spawner.allowRoot` keeps Docker's defaults for hubs whose users
 * may become root (uid 0, GRANT_SUDO).
 *
 * Where a quota holds a home or a team folder, users may not create Btrfs subvolumes or snapshots
 * (a subvolume made inside the quota's would be outside it): the hub gives those servers Docker's
 * default seccomp profile without these ioctls (hub-config/gmap_hub/spawner/seccomp.json), even
 * with allowRoot, since making a subvolume needs no capability.
 */
import type { PublicConfig } from "./config";

/** The capabilities a user server keeps (all others are dropped). */
export const serverCapabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID", "KILL", "AUDIT_WRITE"] as const;

/** The user servers' privileges, as the hub applies them to every server. */
export function serverPrivileges(config: Pick<PublicConfig, "spawner" | "storage">) {
  // present only when true, so that the settings of stacks without a quota stay as they were
  const quota = config.spawner.workVolume.quota !== undefined || config.storage.some((m) => m.quota !== undefined);
  const subvolumes = quota ? { noSubvolumes: true as const } : {};
  if (config.spawner.allowRoot) return { noNewPrivileges: false, capDrop: [], capAdd: [], ...subvolumes };
  return { noNewPrivileges: true, capDrop: ["ALL"], capAdd: [...serverCapabilities], ...subvolumes };
}
