/**
 * storage and shareCredentials: the extra mounts of every notebook container (data archives,
 * shared folders), the credentials of network shares, and the rules across mounts, the users'
 * homes (spawner.workVolume) and the hub. What each kind of source is and needs: storage-kinds.ts.
 */
import { z } from "zod";
import { homeMount } from "../../names";
import { atOrAbove, duplicates, envMap, hostPathProblem, hostSystemPaths, mountPath, notebookHome, slug, type Issue } from "../rules";
import { shareCredential, type ShareCredential } from "./share-options";
import { groupName, groupReferenceProblem } from "./sizes";
import { quotaFields, type Quota } from "./quota";
import { kindOf, storageSource, type StorageSource } from "./storage-kinds";

/**
 * Storage names that would let a volume name be taken twice (see names() in names.ts): the
 * stack's own volumes are <prefix>-hub-data and <prefix>-user-<username>, so a per-user volume
 * <prefix>-hub-<username> of user "data", or <prefix>-user-a-<username> against the work volume
 * of user "a-...", must not exist.
 */
export function isReservedStorageName(name: string): boolean {
  return name === "hub" || name === homeMount || name.startsWith("hub-") || name.startsWith(`${homeMount}-`);
}

const storageMount = z
  .object({
    name: slug("storage name")
      .refine((name) => !isReservedStorageName(name), {
        message:
          '"hub", "user" and names starting with "hub-" or "user-" are reserved for the stack\'s own volumes (<prefix>-hub-data, <prefix>-user-<username>): choose another name',
      })
      .describe(
        'Unique name; Docker objects are named <prefix>-<name>[-<username>] (shares: <prefix>-<name>-<version of their options>[-<username>]). Not "hub", "user", hub-* or user-*, and no name may extend another with "-" (a and a-b).',
      ),
    source: storageSource,
    mountPath: mountPath("mountPath").describe(
      "Where the mount appears in every notebook container. Not a system directory of the image (/etc, /usr, /opt/conda, ...) or above one; a shared writable mount not at or above the notebook home.",
    ),
    readOnly: z.boolean().default(false).describe("Mount read-only (data archives such as ISIS data)."),
    perUser: z
      .boolean()
      .default(false)
      .describe("One directory/volume per user ({username} is the escaped user name) instead of one shared by all."),
    environment: envMap
      .default({})
      .describe(
        "Environment variables set in notebook containers, e.g. ISISDATA: /mnt/isis/data; for a mount with groups, in its members' servers only.",
      ),
    groups: z
      .array(groupName)
      .min(1)
      .optional()
      .describe(
        "Mounted only in the servers of these groups' members (a project folder of a team); default everyone. Membership is read at each server start.",
      ),
    quota: quotaFields("storage[].quota", "directory"),
    writers: z
      .object({
        admins: z.boolean().default(false).describe("Hub admins may write."),
        groups: z.array(groupName).default([]).describe("Members of these groups may write."),
      })
      .strict()
      .optional()
      .describe(
        "With readOnly: true, who may write anyway (a curated area that admins fill and everyone reads); read at each server start.",
      ),
  })
  .strict();
export type StorageMount = z.output<typeof storageMount>;

export const storageFields = z
  .array(storageMount)
  .default([])
  .describe("Extra mounts in every notebook container (data archives, shared folders).");

/** Secret key shareCredentials. */
export const shareCredentialsField = z
  .record(z.string(), shareCredential)
  .default({})
  .describe("Secret: CIFS credentials per storage mount name (username, password, optional domain; without commas or line breaks).");

/** What storageChecks reads of the config. */
interface StorageView {
  readonly storage: readonly StorageMount[];
  readonly shareCredentials: Readonly<Record<string, ShareCredential>>;
  readonly groups: Parameters<typeof groupReferenceProblem>[0]["groups"];
  readonly auth: Parameters<typeof groupReferenceProblem>[0]["auth"];
  readonly hub: { readonly dockerSocket: string };
  readonly spawner: {
    readonly notebookDir: string;
    readonly environment: Readonly<Record<string, string>>;
    readonly workVolume: { readonly enabled: boolean; readonly mountPath: string; readonly source?: StorageSource | undefined };
  };
}

/** Names and mount paths used once, per-user templates, credentials, and mounts that would expose what they must not. */
export function storageChecks(cfg: StorageView, issue: Issue): void {
  const mountPaths = cfg.storage.map((m) => m.mountPath);
  if (cfg.spawner.workVolume.enabled) mountPaths.push(cfg.spawner.workVolume.mountPath);
  duplicates(mountPaths).forEach((p) => issue(["storage"], `mount path ${p} is used twice`));
  duplicates(cfg.storage.map((m) => m.name)).forEach((n) => issue(["storage"], `storage name "${n}" is used twice`));

  cfg.storage.forEach((m, i) => {
    const kind = kindOf(m.source);
    const extended = cfg.storage.find((other) => m.name.startsWith(`${other.name}-`));
    if (extended) {
      issue(
        ["storage", i, "name"],
        `"${m.name}" extends the storage name "${extended.name}" with "-": the per-user volume <prefix>-${extended.name}-<username> of a user named "${m.name.slice(extended.name.length + 1)}..." could be a volume of "${m.name}". Rename one of them`,
      );
    }
    const template = kind.template?.of(m.source);
    if (template !== undefined && m.perUser && !template.includes("{username}")) {
      issue(["storage", i, "source", kind.template!.key], "per-user mounts must include {username} so users get separate directories");
    }
    if (template !== undefined && !m.perUser && template.includes("{username}")) {
      issue(["storage", i, "perUser"], "the source contains {username}: set perUser: true");
    }
    if (kind.credentials && !kind.credentials.unless(m.source) && !(m.name in cfg.shareCredentials)) {
      issue(["storage", i, "source"], credentialsMissing(kind.credentials.what, m.name));
    }
    const hostPath = kind.bind?.of(m.source);
    if (hostPath !== undefined && !hostPathProblem(hostPath, hostSystemPaths)) {
      const problem = hostPathProblem(hostPath, [cfg.hub.dockerSocket]);
      if (problem) issue(["storage", i, "source", kind.bind!.key], `${problem} (hub.dockerSocket)`);
    }
    if (!m.perUser && !m.readOnly) {
      const notebookDir = cfg.spawner.notebookDir.replace(/\/+$/, "") || "/";
      const home = [notebookHome, notebookDir].find((dir) => atOrAbove(m.mountPath, dir));
      if (home) {
        issue(
          ["storage", i, "mountPath"],
          `a shared writable mount at ${m.mountPath} would cover the notebook home ${home}: every user could read and change everyone's files there. Mount it below (e.g. ${home}/shared), or set readOnly: true or perUser: true`,
        );
      }
    }
    m.groups?.forEach((g, j) => {
      const problem = groupReferenceProblem(cfg, g);
      if (problem) issue(["storage", i, "groups", j], problem);
    });
    m.writers?.groups.forEach((g, j) => {
      const problem = groupReferenceProblem(cfg, g);
      if (problem) issue(["storage", i, "writers", "groups", j], problem);
    });
    if (m.writers && !m.readOnly)
      issue(["storage", i, "writers"], "writers make a read-only mount writable for some: set readOnly: true (everyone else reads)");
    if (m.writers && !m.writers.admins && m.writers.groups.length === 0)
      issue(["storage", i, "writers"], "name who may write: admins: true or groups");
    const clash = Object.keys(m.environment).filter((k) => k in cfg.spawner.environment);
    clash.forEach((k) => issue(["storage", i, "environment", k], `${k} is also set in spawner.environment`));
  });

  const home = cfg.spawner.workVolume.source;
  const homeKind = home && kindOf(home);
  const homeTemplate = home && homeKind?.template?.of(home);
  if (homeTemplate !== undefined && !homeTemplate.includes("{username}")) {
    issue(
      ["spawner", "workVolume", "source", homeKind!.template!.key],
      "the users' homes must include {username} so users get separate directories",
    );
  }
  if (home && homeKind?.credentials && !homeKind.credentials.unless(home) && !(homeMount in cfg.shareCredentials)) {
    issue(["spawner", "workVolume", "source"], credentialsMissing(homeKind.credentials.what, homeMount));
  }
  Object.keys(cfg.shareCredentials).forEach((name) => {
    const mount = cfg.storage.find((m) => m.name === name);
    const homes = name === homeMount && home !== undefined && kindOf(home).credentials !== undefined;
    if (!homes && (!mount || !kindOf(mount.source).credentials)) {
      issue(["shareCredentials", name], `no CIFS storage mount is named "${name}" (the homes on CIFS: "${homeMount}")`);
    }
  });
}

const credentialsMissing = (what: string, name: string) =>
  `${what} needs credentials: pulumi config set --secret --path 'shareCredentials.${name}.password' ... (and .username), or the option "guest"`;

/** What quotaChecks reads of the config. */
interface QuotaView {
  readonly groups: Parameters<typeof groupReferenceProblem>[0]["groups"];
  readonly auth: Parameters<typeof groupReferenceProblem>[0]["auth"];
  readonly storage: readonly StorageMount[];
  readonly spawner: {
    readonly workVolume: { readonly enabled: boolean; readonly source?: StorageSource | undefined; readonly quota?: Quota | undefined };
  };
}

/** A quota needs a host directory per user; its groups must be groups the stack knows. */
export function quotaChecks(cfg: QuotaView, issue: Issue): void {
  const groupsKnown = (quota: Quota, key: (string | number)[]) =>
    Object.keys(quota!.groups).forEach((g) => {
      const problem = groupReferenceProblem(cfg, g);
      if (problem) issue([...key, "groups", g], problem);
    });
  const { quota, source, enabled } = cfg.spawner.workVolume;
  if (quota) {
    const key = ["spawner", "workVolume", "quota"];
    if (!enabled) issue(key, "a quota limits the homes: set spawner.workVolume.enabled: true, or remove the quota");
    else if (!source || !kindOf(source).bind)
      issue(
        key,
        'the quota is enforced by the file system of a host directory: set spawner.workVolume.source to {type: host, path: "/srv/gmap/homes/{username}"} on a Btrfs file system with quotas enabled',
      );
    groupsKnown(quota, key);
  }
  cfg.storage.forEach((m, i) => {
    if (!m.quota) return;
    const key = ["storage", i, "quota"];
    if (!m.perUser || !kindOf(m.source).bind)
      issue(
        key,
        'a quota limits each user\'s own host directory: set perUser: true and source {type: host, path: "/srv/gmap/<name>/{username}"} on a Btrfs file system with quotas enabled',
      );
    groupsKnown(m.quota, key);
  });
}
