/**
 * What a user server may do as a process on the host: no privilege gain (no-new-privileges: setuid
 * binaries do not raise it) and only the capabilities the images' start-up needs as root before it
 * drops to the notebook user (docker-stacks' start.sh: ownership of the home and the writable
 * mounts, the notebook user's ids, the switch to that user, signals to its processes). Docker's
 * other default capabilities (raw sockets, device nodes, chroot, file capabilities, capability
 * setting, low ports) are dropped. `spawner.allowRoot` keeps Docker's defaults for hubs whose users
 * may become root (uid 0, GRANT_SUDO).
 */
import type { PublicConfig } from "./config";

/** The capabilities a user server keeps (all others are dropped). */
export const serverCapabilities = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "SETUID", "SETGID", "KILL", "AUDIT_WRITE"] as const;

/** The user servers' privileges, as the hub applies them to every server. */
export function serverPrivileges(config: Pick<PublicConfig, "spawner">) {
  if (config.spawner.allowRoot) return { noNewPrivileges: false, capDrop: [], capAdd: [] };
  return { noNewPrivileges: true, capDrop: ["ALL"], capAdd: [...serverCapabilities] };
}
