/**
 * groups, sizes and defaultSize: who belongs to which JupyterHub group, and the server sizes users
 * choose from (memory, CPU, processes, shared memory, GPUs), each open to everyone or to some groups
 * and for some images. With spawner.maxServers and spawner.memoryBudget they share one host fairly:
 * docs/sizes.md.
 */
import { z } from "zod";
import { type AuthProvider, authProviders, userNamePrefix, userNameRule } from "../../identity";
import { oauthProviders, oauthSpec, type OAuthProvider } from "../../providers";
import { duplicates, orList, slug, type Issue } from "../rules";
import { memoryBytes, memorySize } from "./spawner";

/** A hub user name as the admin page shows it: with several providers, `<provider>:<login>`. */
const memberName = z
  .string()
  .regex(
    new RegExp(`^(?:(?:${authProviders.join("|")}):)?${userNameRule.source}$`),
    'members are hub user names: lower-case letters, digits, ".", "_", "@" and "-" (with several auth providers prefixed by the provider, e.g. github:alice)',
  );

/** A group a size or a storage mount names: the config's own, or a provider's (GitHub team, GitLab path). */
export const groupName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._:/-]{0,254}$/,
    "group names are lower-case: a group of the stack config, a GitHub team (org:team-slug) or a GitLab group path (gmap/science)",
  );

/** One JupyterHub group the stack config owns. */
export const groupEntry = z
  .object({
    name: slug("group name").describe("The group's name in JupyterHub (sizes name it in groups)."),
    members: z
      .array(memberName)
      .default([])
      .describe("Hub user names of its members, exactly: every `pulumi up` adds the missing ones and removes the others."),
  })
  .strict();

/** Docker's device request of a size: GPUs (or other devices of a device driver) for each server. */
export const gpuRequest = z
  .object({
    count: z
      .union([z.int().min(1).max(64), z.literal("all")])
      .optional()
      .describe('How many GPUs each server gets, or "all"; default 1 (with deviceIds: none, those devices).'),
    deviceIds: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("Exactly these devices (IDs or UUIDs, as nvidia-smi lists them) in place of a count."),
    driver: z
      .string()
      .regex(/^[a-z0-9._-]*$/)
      .default("")
      .describe('Device driver; "" lets Docker pick the one that has the capabilities (e.g. nvidia).'),
    capabilities: z
      .array(z.string().regex(/^[a-z0-9_]+$/))
      .min(1)
      .default(["gpu"])
      .describe("Capabilities the devices must have."),
  })
  .strict()
  .refine((g) => g.count === undefined || g.deviceIds === undefined, { message: "give count or deviceIds, not both" });
export type GpuRequest = z.output<typeof gpuRequest>;

/** One server size of the menu. */
export const sizeEntry = z
  .object({
    name: slug("size name").describe("Short unique name, used in defaultSize and by the API (user_options size)."),
    displayName: z.string().min(1).optional().describe("What users see in the size menu; default: the name and the limits."),
    memLimit: memorySize("memLimit")
      .optional()
      .describe("Memory limit of each server of this size (K, M, G, T); default spawner.memLimit."),
    cpuLimit: z.number().min(0.01).max(1024).optional().describe("CPU limit in CPUs; default spawner.cpuLimit."),
    pidsLimit: z.int().min(64).max(1_000_000).optional().describe("Processes and threads at once; default spawner.pidsLimit."),
    shmSize: memorySize("shmSize")
      .optional()
      .describe("engine.mode host: size of /dev/shm (Docker's default is 64M; PyTorch data loaders and Dask want more)."),
    gpus: gpuRequest
      .optional()
      .describe("engine.mode host: GPUs for each server (Docker device requests; needs the NVIDIA container toolkit on the host)."),
    groups: z
      .array(groupName)
      .min(1)
      .optional()
      .describe(
        "Only members of these groups may choose it (and see it in the menu); default everyone. Groups of the stack config, or with auth.github.manageGroups / auth.gitlab.manageGroups the provider's (org:team-slug, group/path).",
      ),
    images: z.array(slug("image name")).min(1).optional().describe("The images it applies to, by name; default every image."),
  })
  .strict();
export type SizeEntry = z.output<typeof sizeEntry>;

export const sizeFields = {
  groups: z
    .array(groupEntry)
    .default([])
    .describe(
      "JupyterHub groups the stack config owns, kept as written on every `pulumi up`; the admin page cannot change them (groups made there stay editable there).",
    ),
  sizes: z
    .array(sizeEntry)
    .default([])
    .describe(
      "Server sizes users choose from (a menu appears with several): each server gets its size's limits. None: every server gets spawner.memLimit, cpuLimit and pidsLimit.",
    ),
  defaultSize: slug("defaultSize")
    .optional()
    .describe("Name of the preselected size, open to everyone; default the first size open to everyone."),
};

interface SizesConfig {
  readonly groups: readonly z.output<typeof groupEntry>[];
  readonly sizes: readonly SizeEntry[];
  readonly defaultSize?: string | undefined;
  readonly images: readonly { readonly name: string }[];
  readonly defaultImage?: string | undefined;
  readonly engine: { readonly mode: "host" | "swarm" };
  readonly auth: {
    readonly providers: readonly AuthProvider[];
    readonly native?: { readonly openSignup: boolean } | undefined;
  } & { readonly [P in OAuthProvider]?: { readonly manageGroups: boolean } | undefined };
  readonly spawner: { readonly memLimit?: string | undefined; readonly memoryBudget?: string | undefined };
}

/** The size a server gets when nobody chooses: the named default, else the first size open to everyone. */
export function defaultSizeName(cfg: Pick<SizesConfig, "sizes" | "defaultSize">): string | undefined {
  return cfg.defaultSize ?? cfg.sizes.find((s) => s.groups === undefined)?.name;
}

/** The enabled providers that give the users' groups (auth.<provider>.manageGroups). */
export function groupProviders(cfg: Pick<SizesConfig, "auth">): OAuthProvider[] {
  return oauthProviders.filter((p) => cfg.auth.providers.includes(p) && cfg.auth[p]?.manageGroups === true);
}

/** Why a size or a storage mount may not name this group (neither the config's nor a provider's), or undefined. */
export function groupReferenceProblem(cfg: Pick<SizesConfig, "groups" | "auth">, name: string): string | undefined {
  const fromProviders = groupProviders(cfg);
  if (fromProviders.length > 0)
    return fromProviders.some((p) => oauthSpec(p).groupName.pattern.test(name))
      ? undefined
      : `"${name}" is no group name ${orList(fromProviders)} gives (${fromProviders.map((p) => oauthSpec(p).groupName.hint).join("; ")})`;
  const declared = [...new Set(cfg.groups.map((g) => g.name))];
  return declared.includes(name) ? undefined : `"${name}" is not one of the groups (${declared.join(", ") || "none declared in groups"})`;
}

/** Groups, members, sizes, the default size and the memory budget fit together. */
export function sizeChecks(cfg: SizesConfig, issue: Issue): void {
  const groupNames = cfg.groups.map((g) => g.name);
  duplicates(groupNames).forEach((n) => issue(["groups"], `group name "${n}" is used twice`));
  const fromProviders = groupProviders(cfg);
  if (fromProviders.length > 0 && cfg.groups.length > 0)
    issue(
      ["groups"],
      `with ${orList(fromProviders.map((p) => `auth.${p}.manageGroups`))} the sign-in provider gives every user's groups: declare no groups in the stack config (name the provider's groups in sizes)`,
    );
  const several = cfg.auth.providers.length > 1;
  const loginRule = new RegExp(`^${userNameRule.source}$`);
  // the provider whose hub user names (identity.ts) the member is one of
  const providerOf = (member: string) =>
    cfg.auth.providers.find(
      (p) => member.startsWith(userNamePrefix(cfg, p)) && loginRule.test(member.slice(userNamePrefix(cfg, p).length)),
    );
  cfg.groups.forEach((g, i) => {
    duplicates(g.members).forEach((m) => issue(["groups", i, "members"], `"${m}" is listed twice`));
    g.members.forEach((m, j) => {
      const provider = providerOf(m);
      const login = m.replace(/^[a-z]+:/, "");
      if (provider === undefined)
        issue(
          ["groups", i, "members", j],
          several
            ? `with several auth providers hub user names carry the provider: write ${orList(cfg.auth.providers.map((p) => `${userNamePrefix(cfg, p)}${login}`))}`
            : `with one auth provider hub user names have no prefix: write "${login}"`,
        );
      if (provider === "native" && cfg.auth.native?.openSignup)
        issue(
          ["groups", i, "members", j],
          `with auth.native.openSignup anyone could sign up as "${m}" and get this group's sizes and folders: turn openSignup off (admins authorize each account) or list accounts of another provider`,
        );
    });
  });

  const sizeNames = cfg.sizes.map((s) => s.name);
  const imageNames = cfg.images.map((i) => i.name);
  duplicates(sizeNames).forEach((n) => issue(["sizes"], `size name "${n}" is used twice`));
  cfg.sizes.forEach((s, i) => {
    s.groups?.forEach((g, j) => {
      const problem = groupReferenceProblem(cfg, g);
      if (problem) issue(["sizes", i, "groups", j], problem);
    });
    s.images?.forEach((m, j) => {
      if (!imageNames.includes(m)) issue(["sizes", i, "images", j], `"${m}" is not one of the images (${imageNames.join(", ")})`);
    });
    if (s.gpus && cfg.engine.mode === "swarm")
      issue(["sizes", i, "gpus"], "Swarm services cannot request devices (GPUs): give GPU sizes on a hub with engine.mode host");
    if (s.shmSize !== undefined && cfg.engine.mode === "swarm")
      issue(["sizes", i, "shmSize"], "Swarm services take no shared-memory size: give shmSize on a hub with engine.mode host");
  });

  if (cfg.sizes.length > 0) {
    const name = defaultSizeName(cfg);
    const size = cfg.sizes.find((s) => s.name === name);
    const defaultImage = cfg.defaultImage ?? imageNames[0];
    if (name === undefined) issue(["sizes"], "no size is open to everyone: give one size without groups (the default size)");
    else if (!size) issue(["defaultSize"], `"${name}" is not one of the sizes (${sizeNames.join(", ")})`);
    else if (size.groups)
      issue(["defaultSize"], `"${name}" is open to ${orList(size.groups)} only: the default size must be open to everyone`);
    else if (size.images && defaultImage !== undefined && !size.images.includes(defaultImage))
      issue(["defaultSize"], `"${name}" does not apply to the default image "${defaultImage}"`);
  } else if (cfg.defaultSize !== undefined) {
    issue(["defaultSize"], "there are no sizes: give sizes, or remove defaultSize");
  }

  const budget = cfg.spawner.memoryBudget;
  if (budget === undefined) return;
  const limitOf = (s: SizeEntry) => s.memLimit ?? cfg.spawner.memLimit;
  if (cfg.sizes.length === 0 && cfg.spawner.memLimit === undefined)
    issue(
      ["spawner", "memLimit"],
      "spawner.memoryBudget counts the servers' memory limits: give spawner.memLimit (or sizes with memLimit)",
    );
  cfg.sizes.forEach((s, i) => {
    const limit = limitOf(s);
    if (limit === undefined)
      issue(
        ["sizes", i, "memLimit"],
        "spawner.memoryBudget counts the servers' memory limits: give this size a memLimit (or spawner.memLimit)",
      );
    else if (memoryBytes(limit) > memoryBytes(budget))
      issue(
        ["sizes", i, "memLimit"],
        `${limit} is more than the whole spawner.memoryBudget (${budget}): no server of this size could start`,
      );
  });
}
