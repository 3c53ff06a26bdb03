/**
 * Which Docker volumes a stack's backup holds, found by the labels the program and the hub put on
 * them (pure). The stack's own volumes (hub data, shared storage) carry the stack's labels
 * (components/settings.ts labelsFor); the per-user volumes the hub creates on first spawn carry the
 * labels of the user servers (spawner.labels: component "user" and the prefix). Their names follow
 * components/settings.ts names(), which keeps every kind apart (see volume-names.test.ts), so a
 * volume's kind, storage mount and user are read back from its name.
 */
import { kindOf, type PublicConfig } from "../../components/config";
import { escapeUserName } from "../../components/identity";
import { labelKeys, names } from "../../components/names";
import type { ItemKind } from "./manifest";

/** A volume as the Docker engine lists it. */
export interface VolumeInfo {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly driver: string;
  readonly options: Readonly<Record<string, string>>;
}

/** A volume the backup archives. */
export interface PlannedVolume {
  readonly kind: Exclude<ItemKind, "database">;
  readonly volume: string;
  readonly user?: string;
  readonly mount?: string;
  readonly labels: Record<string, string>;
}

export interface Skipped {
  readonly volume: string;
  readonly reason: string;
}

export interface VolumeSelection {
  /** The hub-data volume, when it exists. */
  readonly hubData?: PlannedVolume;
  /** Every volume to archive, hub data first, then shared storage, users (by name), others. */
  readonly volumes: PlannedVolume[];
  readonly skipped: Skipped[];
}

/** Docker's label filter of every volume of a stack (hub data, shared storage, user volumes). */
export function stackVolumeFilter(prefix: string): { label: string[] } {
  return { label: [`${labelKeys.prefix}=${prefix}`] };
}

/**
 * The hub user name of an escaped name (escapeUserName's inverse), or undefined when `escaped` is
 * not the escape of any name.
 */
export function unescapeUserName(escaped: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < escaped.length;) {
    const c = escaped[i]!;
    if (/[a-z0-9]/.test(c)) {
      bytes.push(c.charCodeAt(0));
      i += 1;
    } else if (c === "-" && /^[0-9a-f]{2}$/.test(escaped.slice(i + 1, i + 3))) {
      bytes.push(parseInt(escaped.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      return undefined;
    }
  }
  if (bytes.length === 0) return undefined;
  const name = Buffer.from(bytes).toString("utf8");
  return escapeUserName(name) === escaped ? name : undefined;
}

/** Why a volume holds data that lives elsewhere (an NFS or CIFS share, another driver), or undefined. */
function remoteData(v: VolumeInfo): string | undefined {
  if (v.driver !== "local") return `volume driver ${v.driver}: back its data up where the driver keeps it`;
  const type = v.options.type;
  if (type || v.options.device) return `a ${type ?? "device"} mount of ${v.options.device ?? "?"}: back the data up on its server`;
  return undefined;
}

const rank: Record<PlannedVolume["kind"], number> = { "hub-data": 0, shared: 1, user: 2, other: 3 };

/**
 * The volumes of a stack's backup, out of every volume on the host: those labelled with the
 * stack's prefix, except network shares (their data lives on their server) and read-only storage
 * (data archives), unless `includeReadOnly`. A labelled volume the config does not explain (a
 * storage mount removed from the config) is kept, as kind "other".
 */
export function selectVolumes(
  config: Pick<PublicConfig, "prefix" | "storage">,
  all: readonly VolumeInfo[],
  options: { readonly includeReadOnly: boolean },
): VolumeSelection {
  const n = names(config.prefix);
  // mounts with volumes of Docker's local driver (plain volumes and network shares)
  const volumeMounts = config.storage.filter((m) => !kindOf(m.source).bind && !kindOf(m.source).driver);
  const volumes: PlannedVolume[] = [];
  const skipped: Skipped[] = [];
  const readOnly = (volume: string, mount: string) =>
    skipped.push({ volume, reason: `read-only storage ${mount} (a data archive; --include-readonly backs it up)` });

  for (const v of all) {
    if (v.labels[labelKeys.prefix] !== config.prefix) continue;
    const labels = { ...v.labels };
    const remote = remoteData(v);
    if (remote) {
      skipped.push({ volume: v.name, reason: remote });
      continue;
    }
    if (v.name === n.hubDataVolume) {
      volumes.push({ kind: "hub-data", volume: v.name, labels });
      continue;
    }
    const shared = volumeMounts.find((m) => !m.perUser && n.storageVolume(m.name) === v.name);
    if (shared) {
      // a read-only mount with writers (a curated area) is written to: it is backed up
      if (shared.readOnly && !shared.writers && !options.includeReadOnly) readOnly(v.name, shared.name);
      else volumes.push({ kind: "shared", volume: v.name, mount: shared.name, labels });
      continue;
    }
    const work = `${config.prefix}-user-`;
    if (v.name.startsWith(work)) {
      const user = unescapeUserName(v.name.slice(work.length));
      volumes.push(user ? { kind: "user", volume: v.name, user, mount: "user", labels } : { kind: "other", volume: v.name, labels });
      continue;
    }
    const perUser = volumeMounts.find((m) => m.perUser && v.name.startsWith(`${n.storageVolume(m.name)}-`));
    const user = perUser && unescapeUserName(v.name.slice(n.storageVolume(perUser.name).length + 1));
    if (perUser && user) {
      if (perUser.readOnly && !perUser.writers && !options.includeReadOnly) readOnly(v.name, perUser.name);
      else volumes.push({ kind: "user", volume: v.name, user, mount: perUser.name, labels });
      continue;
    }
    volumes.push({ kind: "other", volume: v.name, labels });
  }
  volumes.sort((a, b) => rank[a.kind] - rank[b.kind] || (a.user ?? "").localeCompare(b.user ?? "") || a.volume.localeCompare(b.volume));
  skipped.sort((a, b) => a.volume.localeCompare(b.volume));
  const hubData = volumes.find((v) => v.kind === "hub-data");
  return { ...(hubData ? { hubData } : {}), volumes, skipped };
}

/** A running container that has a volume mounted. */
export interface VolumeUser {
  readonly container: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly volumes: readonly string[];
}

/**
 * Why the volumes cannot be restored now: the running containers that use them, each with how to
 * stop it (user servers through the hub's admin page or `docker stop`, the hub with `docker stop`).
 * Empty when none is in use.
 */
export function inUseProblems(prefix: string, volumes: readonly string[], running: readonly VolumeUser[], hubUrl?: string): string[] {
  const n = names(prefix);
  const wanted = new Set(volumes);
  const lines: string[] = [];
  const servers: string[] = [];
  let hub = false;
  for (const c of [...running].sort((a, b) => a.container.localeCompare(b.container))) {
    const used = c.volumes.filter((v) => wanted.has(v));
    if (used.length === 0) continue;
    const userPart = `${prefix}-user-`;
    const user =
      c.labels[labelKeys.component] === "user" && c.container.startsWith(userPart)
        ? unescapeUserName(c.container.slice(userPart.length))
        : undefined;
    if (c.container === n.hubContainer) hub = true;
    if (user) servers.push(user);
    const what = c.container === n.hubContainer ? "the hub" : user ? `the server of ${user}` : "a container";
    lines.push(`  ${used.join(", ")}: in use by ${what} (${c.container})`);
  }
  if (lines.length === 0) return [];
  const how: string[] = [];
  if (servers.length) {
    how.push(
      `stop the user servers: as a hub admin at ${hubUrl ?? "<hub URL>"}/hub/admin (Stop Server for ${servers.join(", ")}),` +
        ` or docker stop ${servers.map((u) => `${prefix}-user-${escapeUserName(u)}`).join(" ")}`,
    );
  }
  if (hub)
    how.push(`stop the hub (after the user servers): docker stop ${n.hubContainer}, and after the restore: docker start ${n.hubContainer}`);
  if (lines.length > servers.length + (hub ? 1 : 0)) how.push("stop the other containers listed");
  return ["refusing to overwrite volumes in use:", ...lines, "Stop them, then run the restore again:", ...how.map((h) => `  - ${h}`)];
}
