/**
 * The stack configuration: one zod schema that is the single source of truth for its types,
 * defaults, documentation (README "Config reference" is generated from it) and error messages.
 *
 * Every top-level key lives in the `jupyterhub:` namespace of `Pulumi.<stack>.yaml`.
 */
import { z } from "zod";
import { scopeProblem, scopesJupyterhubVersion } from "./scopes";
import { defaultOAuthCallbackUrl, userNameRule } from "./settings";
import { defaultImages } from "./versions";

/** Namespace of every config key (the project name in Pulumi.yaml). */
export const configNamespace = "jupyterhub";

const slug = (what: string) =>
  z
    .string()
    .regex(/^[a-z][a-z0-9-]{0,39}$/, `${what} must be 1-40 characters of a-z, 0-9 and "-", starting with a letter`);

const absolutePath = (what: string) =>
  z.string().regex(/^\/[^\0]*$/, `${what} must be an absolute path starting with "/"`);

/** The notebook user's home in docker-stacks images (NB_USER jovyan). */
const notebookHome = "/home/jovyan";

/** True when `path` is `base` or one of its ancestors (both absolute and in normal form). */
function atOrAbove(path: string, base: string): boolean {
  return path === base || path === "/" || base.startsWith(`${path}/`);
}

/**
 * Why an absolute path is not in normal form (so that the rules below can compare paths as
 * strings), or undefined. Relative paths are left to absolutePath.
 */
function pathFormProblem(path: string): string | undefined {
  if (!path.startsWith("/")) return undefined;
  if (/[\x00-\x1f\x7f]/.test(path)) return "must not contain control characters (line breaks, tabs)";
  if (path === "/") return undefined;
  if (path.endsWith("/")) return `must not end with "/": write ${path.replace(/\/+$/, "") || "/"}`;
  const segments = path.split("/").slice(1);
  if (segments.includes("..")) return 'must not contain ".." segments: give the path they lead to';
  if (segments.includes(".") || segments.includes("")) return 'must not contain "." segments or "//"';
  return undefined;
}

/**
 * Directories of the notebook image that a mount must not hide (the mount path itself or an
 * ancestor of one): the operating system and the image's conda environment. Top-level lib*
 * directories (lib, lib32, lib64, libx32) are checked apart.
 */
const imageSystemPaths = ["/etc", "/usr", "/bin", "/sbin", "/proc", "/sys", "/dev", "/var/run", "/run", "/opt/conda"];

/** Why a path inside the notebook container is no place for a mount, or undefined. */
function mountPathProblem(path: string): string | undefined {
  const form = pathFormProblem(path);
  if (form || !path.startsWith("/")) return form;
  if (/[\s,:]/.test(path)) return 'must not contain spaces, "," or ":" (Docker and the image\'s CHOWN_EXTRA list use them as separators)';
  const hidden = /^\/lib[^/]*$/.test(path) ? path : imageSystemPaths.find((p) => atOrAbove(path, p));
  if (hidden) return `${path} would hide ${hidden} of the notebook image (its system files or conda environment): mount below /mnt, /srv or ${notebookHome} instead`;
  return undefined;
}

/** A mount path inside the notebook containers. */
const mountPath = (what: string) =>
  absolutePath(what).superRefine((path, ctx) => {
    const problem = mountPathProblem(path);
    if (problem) ctx.addIssue({ code: "custom", message: problem.startsWith("must") ? `${what} ${problem}` : problem });
  });

/**
 * Host paths a bind mount must not reach (the path itself, anything inside it, or an ancestor):
 * the host's configuration, kernel interfaces and devices, boot files, root's home, Docker's data
 * (every volume, the hub database included) and the daemon sockets under /run (the Docker socket
 * is root on the host). hub.dockerSocket is added by the cross-field rules.
 */
const hostSystemPaths = ["/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/var/lib/docker", "/run", "/var/run"];

/**
 * Why a bind-mount source (a template when it contains {username}) could expose one of
 * `protectedPaths`, or undefined. {username} becomes the escaped user name ([a-z0-9-]), so a
 * directory that holds a protected path must not be where {username} is filled in: user "docker"
 * of /var/lib/{username} would get /var/lib/docker.
 */
function hostPathProblem(path: string, protectedPaths: readonly string[]): string | undefined {
  if (!path.startsWith("/") || pathFormProblem(path)) return undefined;
  const cut = path.indexOf("{username}");
  const userDir = cut < 0 ? undefined : path.slice(0, path.lastIndexOf("/", cut) + 1);
  for (const p of protectedPaths) {
    if (atOrAbove(path, p) || atOrAbove(p, path)) {
      return `${path} would give notebook users the host's ${p}: bind a directory that holds only their data, such as /srv/jupyterhub/data`;
    }
    if (userDir !== undefined && `${p}/`.startsWith(userDir)) {
      return `a user name in place of {username} could make ${path} the host's ${p}: put {username} in a directory of data only, such as /srv/jupyterhub/home/{username}`;
    }
  }
  return undefined;
}

const imageRef = z
  .string()
  .regex(
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    "must be a Docker image reference such as quay.io/jupyter/minimal-notebook:2025-03-14",
  )
  .refine((ref) => /:[\w][\w.-]*$|@sha256:/.test(ref.split("/").pop() ?? ""), {
    message: "must pin a tag or digest (an untagged image means :latest, which changes under you)",
  });

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "environment variable names are letters, digits and _");
const envMap = z.record(envName, z.string());

/**
 * User names as the hub sees them (settings.ts userNameRule): every authenticator lower-cases
 * logins, so a name with capitals would never match. Names are written without the provider prefix
 * (`github:`) of multi-provider hubs; the program adds it.
 */
const userName = new RegExp(`^${userNameRule.source}$`);
const nativeUserName = z
  .string()
  .regex(userName, 'user names are 1-48 lower-case letters, digits, ".", "_", "@" and "-", starting with a letter, digit or "_" (the hub lower-cases every login; no provider prefix)');
const githubLogin = z
  .string()
  .regex(
    /^[a-z0-9](?:-?[a-z0-9]){0,38}$/,
    'GitHub logins are lower-case letters, digits and single hyphens, at most 39 characters (the hub lower-cases logins; write them without a "github:" prefix)',
  );
const gitlabUsername = z
  .string()
  .regex(
    /^[a-z0-9_][a-z0-9_.-]{0,47}$/,
    'GitLab usernames are lower-case letters, digits, "_", "." and "-", at most 48 characters here (the hub lower-cases logins; write them without a "gitlab:" prefix)',
  );

const httpUrl = (what: string) =>
  z.url({ protocol: /^https?$/, error: `${what} must be an http(s) URL such as https://hub.example.org` });

/** A base URL (OAuth provider, API): http(s), no query or fragment; a path is allowed. */
const baseUrl = (what: string, example: string) =>
  z
    .url({ protocol: /^https?$/, error: `${what} must be an http(s) URL such as ${example}` })
    .refine((u) => !/[?#]/.test(u), { message: `${what} must not have a query (?) or fragment (#): give the base URL, such as ${example}` });

/**
 * Network shares are mounted by Docker's local volume driver from two strings: the device
 * (`:<export>`, `//<server>/<share>`) and the options `o`, a comma-separated list of `key=value`
 * (`addr=<server>,username=...,password=...`). A comma in a value would end it and start an
 * option of the operator's choosing (a password "x,uid=0" adds uid=0), a line break or other
 * control character breaks the strings. "=" is refused where it never belongs (server, paths,
 * user and domain names); a password may contain it, since Docker and the kernel split an option
 * at its first "=" only.
 */
const optionBreaking = /[,=\x00-\x1f\x7f]/;
const passwordBreaking = /[,\x00-\x1f\x7f]/;
const fitsMountOptions = (v: string) => !optionBreaking.test(v);
const breaksMountOptions = (what: string) =>
  `${what} must not contain ",", "=" or control characters: Docker hands it over in a comma-separated list of mount options`;

const shareServer = (kind: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9.:-]*$/,
      `source.server is the ${kind} server's host name or IP address: letters, digits, ".", "-" and ":" only (Docker passes it as addr=<server> in the mount options)`,
    );

const mountOptions = z
  .array(z.string().regex(/^[^,\s\x00-\x1f\x7f]+$/, "one mount option per entry, without commas, spaces or control characters"))
  .default([])
  .describe("Extra mount options (mount -o), one per entry, e.g. [\"vers=3.0\"]. `ro` is added for read-only mounts.");

/** Where a storage mount's data comes from. */
const storageSource = z.discriminatedUnion(
  "type",
  [
    z
      .object({ type: z.literal("volume") })
      .describe("A named Docker volume on the hub host (per-user: one volume per user, created on first spawn)."),
    z
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
    z
      .object({
        type: z.literal("nfs"),
        server: shareServer("NFS").describe("NFS server host name or address."),
        export: absolutePath("source.export")
          .refine(fitsMountOptions, breaksMountOptions("source.export"))
          .describe("Exported path. Per-user mounts must include {username}."),
        options: mountOptions,
      })
      .describe("An NFS export, mounted by Docker's local volume driver."),
    z
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
      ),
  ],
  { error: 'source.type must be one of "volume", "host", "nfs", "cifs"' },
).describe("Where the data comes from: type volume, host, nfs or cifs.");

const storageMount = z
  .object({
    name: slug("storage name")
      .refine((name) => !isReservedStorageName(name), {
        message: '"hub", "user" and names starting with "hub-" or "user-" are reserved for the stack\'s own volumes (<prefix>-hub-data, <prefix>-user-<username>): choose another name',
      })
      .describe(
        'Unique name; Docker objects are named <prefix>-<name>[-<username>]. Not "hub", "user", hub-* or user-*, and no name may extend another with "-" (a and a-b).',
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
    environment: envMap.default({}).describe("Environment variables set in notebook containers, e.g. ISISDATA: /mnt/isis/data."),
  })
  .strict();

const nativeAuth = z
  .object({
    openSignup: z.boolean().default(false).describe("Let new sign-ups log in without an admin authorizing them at /hub/authorize."),
    minimumPasswordLength: z.int().min(8, "use at least 8 characters").max(128).default(10).describe("Minimum password length."),
    allowedFailedLogins: z.int().min(1).max(100).default(5).describe("Failed logins before the account is locked for a while."),
    secondsBeforeNextTry: z.int().min(10).max(86400).default(600).describe("Lockout time after too many failed logins, in seconds."),
    checkCommonPassword: z.boolean().default(true).describe("Refuse the most common passwords at sign-up."),
    askEmail: z.boolean().default(false).describe("Ask for an e-mail address at sign-up."),
  })
  .strict();

const oauthCommon = (login: z.ZodString, what: string) => ({
  clientId: z
    .string()
    .regex(/^\S+$/, "clientId is the OAuth application's client id (no spaces)")
    .describe("Client id of the OAuth application (the client secret goes into a secret key)."),
  callbackUrl: httpUrl("callbackUrl")
    .optional()
    .describe(
      "OAuth callback URL registered with the provider; default <hub.publicUrl>/hub/oauth_callback with this provider alone, <hub.publicUrl>/hub/<provider>/oauth_callback with several providers.",
    ),
  allowedUsers: z.array(login).default([]).describe(`${what} allowed to log in besides the group rules (without the provider prefix).`),
  admins: z.array(login).default([]).describe(`${what} who are hub admins (and may log in).`),
  allowAll: z.boolean().default(false).describe("Allow every account of the provider (no allow rule needed)."),
});

const githubAuth = z
  .object({
    ...oauthCommon(githubLogin, "GitHub logins"),
    url: baseUrl("url", "https://github.example.org")
      .optional()
      .describe("GitHub Enterprise Server base URL; default https://github.com."),
    apiUrl: baseUrl("apiUrl", "https://github.example.org/api/v3")
      .optional()
      .describe("GitHub REST API URL; default https://api.github.com for github.com, <url>/api/v3 for GitHub Enterprise Server."),
    allowedOrganizations: z
      .array(z.string().regex(/^[A-Za-z0-9-]+(:[A-Za-z0-9_.-]+)?$/, "entries are `org` or `org:team-slug`"))
      .default([])
      .describe("GitHub organizations (`org`) or teams (`org:team-slug`) whose members may log in (asks for the read:org scope)."),
  })
  .strict();

const gitlabAuth = z
  .object({
    ...oauthCommon(gitlabUsername, "GitLab usernames"),
    url: baseUrl("url", "https://gitlab.example.org").default("https://gitlab.com").describe("Base URL of the GitLab instance (self-hosted allowed, also under a path)."),
    allowedGroups: z
      .array(
        z
          .string()
          .regex(/^[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*$/, "entries are group paths such as `gmap` or `gmap/science` (no leading or trailing /)"),
      )
      .default([])
      .describe("GitLab group paths (with subgroups: `group/subgroup`) whose members, direct or inherited, may log in."),
    allowedProjectIds: z.array(z.int().positive()).default([]).describe("Members (developer or above) of these project ids may log in."),
  })
  .strict();

const authProvider = z.enum(["native", "github", "gitlab"], { error: 'providers are "native", "github" or "gitlab"' });
/** The OAuth providers (the others of auth.providers: native). */
export const oauthProviders = ["github", "gitlab"] as const;
export type OAuthProvider = (typeof oauthProviders)[number];

/** The schema of every `jupyterhub:` key. Secrets are separate keys, set with `pulumi config set --secret`. */
export const configSchema = z
  .object({
    prefix: slug("prefix")
      .default("jupyterhub")
      .describe("Prefix of every Docker object's name; give each stack on a host its own."),
    labels: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9.\-/]*$/, "label keys are lower-case, digits, ., -, /"), z.string())
      .default({})
      .describe("Extra labels put on every Docker object."),
    hub: z
      .object({
        publicUrl: httpUrl("hub.publicUrl").optional().describe("URL users open; default http://localhost:<port>."),
        port: z.int().min(1).max(65535).default(8000).describe("Host port the proxy publishes."),
        bindAddress: z.union([z.ipv4(), z.ipv6()], { error: "hub.bindAddress must be an IP address" }).default("127.0.0.1").describe("Host address the proxy port binds to (0.0.0.0 for every interface)."),
        baseImage: imageRef.default(defaultImages.hubBase).describe("Base image of the hub image (override for a mirror)."),
        logLevel: z.enum(["DEBUG", "INFO", "WARNING", "ERROR"]).default("INFO").describe("Hub log level."),
        dockerSocket: absolutePath("hub.dockerSocket").default("/var/run/docker.sock").describe("Docker socket the spawner uses."),
      })
      .strict()
      .prefault({})
      .describe("The hub container and its public address."),
    proxy: z
      .object({
        image: imageRef.default(defaultImages.proxy).describe("configurable-http-proxy image."),
      })
      .strict()
      .prefault({})
      .describe("The proxy container, which keeps routing to user servers while the hub restarts."),
    auth: z
      .object({
        providers: z.array(authProvider).min(1, "enable at least one provider").default(["native"]).describe("Login providers; several at once are offered side by side, and user names then carry the provider's prefix (`github:octocat`, see docs/oauth.md)."),
        admins: z
          .array(nativeUserName)
          .default([])
          .describe("Native accounts that are hub admins. The deployment creates each with a generated password (pulumi stack output --show-secrets adminPasswords); nobody can sign up with these names. Admins of GitHub and GitLab: auth.github.admins, auth.gitlab.admins."),
        allowedUsers: z
          .array(nativeUserName)
          .default([])
          .describe("Native accounts allowed to log in (they still sign up and are authorized by an admin); empty: anyone who signs up and is authorized. Removing a name revokes its access."),
        native: nativeAuth.prefault({}).describe("NativeAuthenticator (sign-up with user name and password)."),
        github: githubAuth.optional().describe("GitHub OAuth; client secret in secret key githubClientSecret."),
        gitlab: gitlabAuth.optional().describe("GitLab OAuth; client secret in secret key gitlabClientSecret."),
      })
      .strict()
      .prefault({})
      .describe("Who can log in."),
    images: z
      .array(
        z
          .object({
            name: slug("image name").describe("Short unique name, used in defaultImage."),
            displayName: z.string().min(1).describe("What users see in the image menu."),
            image: imageRef.describe("Image reference, pinned by tag or digest."),
          })
          .strict(),
      )
      .min(1, "configure at least one notebook image")
      .default([{ name: "minimal", displayName: "Minimal (Python)", image: defaultImages.notebook }])
      .describe("Notebook images users choose from (pulled ahead of time; a menu appears when there are several)."),
    defaultImage: slug("defaultImage").optional().describe("Name of the preselected image; default the first."),
    spawner: z
      .object({
        startTimeout: z.int().min(30).max(3600).default(600).describe("Seconds a server may take to start (large images take long)."),
        httpTimeout: z.int().min(10).max(3600).default(120).describe("Seconds a started server may take to answer."),
        defaultUrl: z.string().regex(/^\//, "spawner.defaultUrl starts with /").default("/lab").describe("Page users land on."),
        notebookDir: absolutePath("spawner.notebookDir").default(notebookHome).describe("Notebook root directory in the container."),
        memLimit: z
          .string()
          .superRefine((v, ctx) => {
            const problem = memLimitProblem(v);
            if (problem) ctx.addIssue({ code: "custom", message: problem });
          })
          .optional()
          .describe("Memory limit per server: a number and a unit K, M, G or T (powers of 1024), e.g. 4G or 1.5G; at least 6M."),
        cpuLimit: z
          .number()
          .min(0.01, "spawner.cpuLimit must be at least 0.01: DockerSpawner sets a CPU quota of cpuLimit x 100 ms, and Docker refuses quotas under 1 ms")
          .max(1024, "spawner.cpuLimit must be at most 1024 (CPUs)")
          .optional()
          .describe("CPU limit per server in CPUs, e.g. 2 or 0.5; between 0.01 and 1024."),
        uid: z.int().min(0).default(1000).describe("Notebook user's uid (NB_UID)."),
        gid: z.int().min(0).default(100).describe("Notebook user's gid (NB_GID)."),
        environment: envMap.default({}).describe("Extra environment of every notebook container."),
        workVolume: z
          .object({
            enabled: z.boolean().default(true).describe("Give every user a persistent volume."),
            mountPath: mountPath("spawner.workVolume.mountPath")
              .default(notebookHome)
              .describe("Where it is mounted: the whole home by default, so whatever a user saves anywhere in the file browser persists (before: /home/jovyan/work)."),
          })
          .strict()
          .prefault({})
          .describe("The per-user persistent volume <prefix>-user-<username>: the user's home. Docker fills it from the image's home on first use."),
      })
      .strict()
      .prefault({})
      .describe("User servers."),
    storage: z.array(storageMount).default([]).describe("Extra mounts in every notebook container (data archives, shared folders)."),
    hooks: z
      .object({
        postAuth: z.string().regex(/\.py$/, "hooks.postAuth is a .py file").optional().describe("Python file defining post_auth_hook(authenticator, handler, authentication), relative to the project."),
        preSpawn: z.string().regex(/\.py$/, "hooks.preSpawn is a .py file").optional().describe("Python file defining pre_spawn_hook(spawner), relative to the project."),
        start: z.string().min(1).optional().describe("Shell script run as the notebook user in the container before the server starts."),
      })
      .strict()
      .prefault({})
      .describe("Operator-supplied hooks."),
    services: z
      .array(
        z
          .object({
            name: slug("service name").describe("Service name; its token is generated and kept in state."),
            scopes: z
              .array(
                z.string().superRefine((scope, ctx) => {
                  const problem = scopeProblem(scope);
                  if (problem) ctx.addIssue({ code: "custom", message: problem });
                }),
              )
              .min(1, "give the service at least one scope")
              .describe(
                `JupyterHub ${scopesJupyterhubVersion} scopes of the service's role, e.g. admin:users or read:users!group=staff (filters !user=, !group=, !server=, !service=).`,
              ),
          })
          .strict(),
      )
      .default([])
      .describe("API services with generated tokens and explicit scopes (automation, monitoring)."),
    culler: z
      .object({
        enabled: z.boolean().default(true).describe("Stop idle servers."),
        timeout: z.int().min(600, "culler.timeout must exceed the 5 minute activity interval: use 600 or more").default(3600).describe("Idle seconds before a server is stopped."),
        every: z.int().min(30).default(300).describe("Seconds between checks."),
        maxAge: z.int().min(0).default(0).describe("Stop servers older than this many seconds (0: never)."),
      })
      .strict()
      .prefault({})
      .describe("The idle culler service."),
    githubClientSecret: z.string().min(1).optional().describe("Secret: GitHub OAuth client secret."),
    gitlabClientSecret: z.string().min(1).optional().describe("Secret: GitLab OAuth client secret."),
    shareCredentials: z
      .record(
        z.string(),
        z
          .object({
            username: z
              .string()
              .min(1, "give the user name of the share")
              .refine(fitsMountOptions, breaksMountOptions("the user name")),
            // messages never show the value: these are secrets
            password: z
              .string()
              .min(1, "give the password of the share")
              .refine((v) => !passwordBreaking.test(v), {
                message: "the password must not contain \",\" or control characters (line breaks): Docker hands it over in a comma-separated list of mount options. Choose another password for the share",
              }),
            domain: z.string().refine(fitsMountOptions, breaksMountOptions("the domain")).optional(),
          })
          .strict(),
      )
      .default({})
      .describe("Secret: CIFS credentials per storage mount name (username, password, optional domain; without commas or line breaks)."),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });

    const imageNames = cfg.images.map((i) => i.name);
    duplicates(imageNames).forEach((n) => issue(["images"], `image name "${n}" is used twice`));
    duplicates(cfg.images.map((i) => i.image)).forEach((n) => issue(["images"], `image "${n}" is listed twice`));
    if (cfg.defaultImage !== undefined && !imageNames.includes(cfg.defaultImage)) {
      issue(["defaultImage"], `"${cfg.defaultImage}" is not one of the images (${imageNames.join(", ")})`);
    }

    const mountPaths = cfg.storage.map((m) => m.mountPath);
    if (cfg.spawner.workVolume.enabled) mountPaths.push(cfg.spawner.workVolume.mountPath);
    duplicates(mountPaths).forEach((p) => issue(["storage"], `mount path ${p} is used twice`));
    duplicates(cfg.storage.map((m) => m.name)).forEach((n) => issue(["storage"], `storage name "${n}" is used twice`));

    cfg.storage.forEach((m, i) => {
      const extended = cfg.storage.find((other) => m.name.startsWith(`${other.name}-`));
      if (extended) {
        issue(
          ["storage", i, "name"],
          `"${m.name}" extends the storage name "${extended.name}" with "-": the per-user volume <prefix>-${extended.name}-<username> of a user named "${m.name.slice(extended.name.length + 1)}..." could be a volume of "${m.name}". Rename one of them`,
        );
      }
      const template = m.source.type === "host" ? m.source.path : m.source.type === "nfs" ? m.source.export : m.source.type === "cifs" ? m.source.share : undefined;
      const key = m.source.type === "host" ? "path" : m.source.type === "nfs" ? "export" : "share";
      if (template !== undefined && m.perUser && !template.includes("{username}")) {
        issue(["storage", i, "source", key], "per-user mounts must include {username} so users get separate directories");
      }
      if (template !== undefined && !m.perUser && template.includes("{username}")) {
        issue(["storage", i, "perUser"], "the source contains {username}: set perUser: true");
      }
      if (m.source.type === "cifs" && !m.source.options.includes("guest") && !(m.name in cfg.shareCredentials)) {
        issue(["storage", i, "source"], `CIFS needs credentials: pulumi config set --secret --path 'shareCredentials.${m.name}.password' ... (and .username), or the option "guest"`);
      }
      if (m.source.type === "host" && !hostPathProblem(m.source.path, hostSystemPaths)) {
        const problem = hostPathProblem(m.source.path, [cfg.hub.dockerSocket]);
        if (problem) issue(["storage", i, "source", "path"], `${problem} (hub.dockerSocket)`);
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
      const clash = Object.keys(m.environment).filter((k) => k in cfg.spawner.environment);
      clash.forEach((k) => issue(["storage", i, "environment", k], `${k} is also set in spawner.environment`));
    });
    Object.keys(cfg.shareCredentials).forEach((name) => {
      const mount = cfg.storage.find((m) => m.name === name);
      if (!mount || mount.source.type !== "cifs") issue(["shareCredentials", name], `no CIFS storage mount is named "${name}"`);
    });

    const providers = cfg.auth.providers;
    duplicates(providers).forEach((p) => issue(["auth", "providers"], `provider "${p}" is listed twice`));
    if (!providers.includes("native")) {
      for (const key of ["admins", "allowedUsers"] as const) {
        if (cfg.auth[key].length > 0) {
          issue(["auth", key], `auth.${key} lists native accounts, but "native" is not in auth.providers: use auth.github.${key} or auth.gitlab.${key}`);
        }
      }
    }
    for (const p of oauthProviders) {
      const section = cfg.auth[p];
      const secretKey = p === "github" ? "githubClientSecret" : "gitlabClientSecret";
      if (providers.includes(p)) {
        if (!section) issue(["auth", p], `provider ${p} is enabled: set auth.${p}.clientId (and its allow rules)`);
        const secret = cfg[secretKey];
        if (!secret) issue([secretKey], `provider ${p} is enabled: pulumi config set --secret ${secretKey} <client secret>`);
        else if (secret.trim() !== secret || /\s/.test(secret)) issue([secretKey], "the client secret contains spaces or line breaks: set it again without them");
        if (section) {
          const rules =
            section.allowAll ||
            section.allowedUsers.length > 0 ||
            section.admins.length > 0 ||
            ("allowedOrganizations" in section && section.allowedOrganizations.length > 0) ||
            ("allowedGroups" in section && (section.allowedGroups.length > 0 || section.allowedProjectIds.length > 0));
          if (!rules) issue(["auth", p], `nobody could log in with ${p}: add allowed users/organizations/groups, or allowAll: true`);
          const got = section.callbackUrl !== undefined ? urlPath(section.callbackUrl) : undefined;
          const expected = urlPath(defaultOAuthCallbackUrl(cfg, p));
          if (got !== undefined && expected !== undefined) {
            if (got !== expected) {
              const why = providers.length > 1 ? " (with several providers each has its own prefix)" : "";
              issue(["auth", p, "callbackUrl"], `the hub serves the ${p} callback at ${expected}${why}, not at ${got || "/"}: fix the path or leave callbackUrl unset`);
            }
          }
        }
      } else if (section) {
        issue(["auth", p], `auth.${p} is configured but "${p}" is not in auth.providers`);
      }
    }

    const serviceNames = cfg.services.map((s) => s.name);
    duplicates(serviceNames).forEach((n) => issue(["services"], `service "${n}" is declared twice`));
    if (serviceNames.includes("idle-culler")) issue(["services"], `"idle-culler" is reserved for the idle culler`);
  });

/** A validated stack config, defaults applied. */
export type StackConfig = z.output<typeof configSchema>;
/** What an operator may write in the stack file. */
export type StackConfigInput = z.input<typeof configSchema>;

/** Config keys holding secrets: read with requireSecret and never copied into plain settings. */
export const secretKeys = ["githubClientSecret", "gitlabClientSecret", "shareCredentials"] as const;
export type SecretKey = (typeof secretKeys)[number];

/** The part of the config that never holds a secret. */
export type PublicConfig = Omit<StackConfig, SecretKey>;

/** Byte multipliers of the units JupyterHub's ByteSpecification (DockerSpawner's mem_limit) takes. */
const byteUnits = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 } as const;
/** Docker refuses memory limits under 6 MiB. */
const minMemoryBytes = 6 * byteUnits.M;

/**
 * Why a memory limit would fail: JupyterHub's ByteSpecification takes a string only as a number
 * followed by exactly one of K, M, G, T (upper case, no B; a string of plain bytes fails), and
 * Docker refuses limits under 6 MiB.
 */
function memLimitProblem(value: string): string | undefined {
  const valid = /^(\d+(?:\.\d+)?)([KMGT])$/.exec(value);
  const bytes = valid ? Number(valid[1]) * byteUnits[valid[2] as keyof typeof byteUnits] : undefined;
  if (bytes === 0 || /^0+(\.0+)?$/.test(value)) return `"${value}" is no memory limit Docker accepts: leave spawner.memLimit unset for no limit, or give at least 6M`;
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
  return `spawner.memLimit looks like "4G": a number and one of the units K, M, G, T`;
}

/** The path of a URL without trailing slashes, or undefined when it does not parse (reported elsewhere). */
function urlPath(url: string): string | undefined {
  try {
    return new URL(url).pathname.replace(/\/+$/, "");
  } catch {
    return undefined;
  }
}

/**
 * Storage names that would let a volume name be taken twice (see names() in settings.ts): the
 * stack's own volumes are <prefix>-hub-data and <prefix>-user-<username>, so a per-user volume
 * <prefix>-hub-<username> of user "data", or <prefix>-user-a-<username> against the work volume
 * of user "a-...", must not exist.
 */
function isReservedStorageName(name: string): boolean {
  return name === "hub" || name === "user" || name.startsWith("hub-") || name.startsWith("user-");
}

function duplicates<T>(xs: readonly T[]): T[] {
  return [...new Set(xs.filter((x, i) => xs.indexOf(x) !== i))];
}

/** Thrown when the stack config is invalid; its message lists every problem by config key. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid stack config: ${problems.length} problem${problems.length === 1 ? "" : "s"}\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        "\nFix them in Pulumi.<stack>.yaml (or with `pulumi config set --path <key> <value>`, secrets with --secret) and run again.",
    );
    this.name = "ConfigError";
  }
}

/** The full config key of a zod issue path, e.g. jupyterhub:storage[0].mountPath. */
export function configKey(path: readonly PropertyKey[]): string {
  if (path.length === 0) return `${configNamespace}:<root>`;
  const [head, ...rest] = path;
  return `${configNamespace}:${String(head)}` + rest.map((p) => (typeof p === "number" ? `[${p}]` : `.${String(p)}`)).join("");
}

/**
 * Validates raw config values (top-level keys without namespace, values already JSON-decoded).
 * Unknown keys, wrong types and cross-field rules are all reported at once.
 */
export function parseConfig(raw: Record<string, unknown>): StackConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((i) => {
    if (i.code === "unrecognized_keys") {
      return i.keys.map((k) => `${configKey([...i.path, k])}: unknown key (check the spelling against the config reference)`);
    }
    return [`${configKey(i.path)}: ${i.message}`];
  });
  throw new ConfigError(problems);
}

/** Top-level keys whose values are plain strings (all other keys hold JSON/YAML structures). */
export const stringKeys: ReadonlySet<string> = new Set(
  Object.entries(configSchema.shape as Record<string, z.ZodType>)
    .filter(([, s]) => innerType(s) === "string")
    .map(([k]) => k),
);

function innerType(s: z.ZodType): string {
  let t: z.ZodType = s;
  while (t.def.type === "optional" || t.def.type === "default" || t.def.type === "prefault" || t.def.type === "pipe") {
    t = ("innerType" in t.def ? t.def.innerType : (t.def as unknown as { in: z.ZodType }).in) as z.ZodType;
  }
  return t.def.type;
}

/** The top-level config keys the schema knows. */
export const configKeys: readonly string[] = Object.keys(configSchema.shape);

/** Contents of the operator's hook files, read from the project directory. */
export interface HookFiles {
  readonly postAuth?: string;
  readonly preSpawn?: string;
  readonly start?: string;
}

/** What the program needs from the stack config: validated values and hook file contents. */
export interface LoadedConfig {
  readonly config: StackConfig;
  readonly hookFiles: HookFiles;
}

/**
 * Reads every `jupyterhub:` key (`all` maps full keys to raw strings, as Pulumi stores them),
 * decodes structured values, validates them and reads the hook files. Throws one ConfigError
 * listing every problem.
 */
export function loadConfig(all: Readonly<Record<string, string>>, readFile: (relativePath: string) => string | undefined): LoadedConfig {
  const raw: Record<string, unknown> = {};
  for (const [fullKey, value] of Object.entries(all)) {
    if (!fullKey.startsWith(`${configNamespace}:`)) continue;
    const key = fullKey.slice(configNamespace.length + 1);
    raw[key] = stringKeys.has(key) ? value : decode(value);
  }
  const problems: string[] = [];
  let config: StackConfig | undefined;
  try {
    config = parseConfig(raw);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    problems.push(...e.problems);
  }
  const hooks = (config?.hooks ?? (isRecord(raw.hooks) ? raw.hooks : {})) as Record<string, unknown>;
  const hookFiles: Record<string, string> = {};
  for (const kind of ["postAuth", "preSpawn", "start"] as const) {
    const file = hooks[kind];
    if (typeof file !== "string") continue;
    if (file.startsWith("/") || file.split("/").includes("..")) {
      problems.push(`${configKey(["hooks", kind])}: give a path inside the project directory, e.g. hooks/${kind}.py`);
      continue;
    }
    const content = readFile(file);
    if (content === undefined) problems.push(`${configKey(["hooks", kind])}: file ${file} does not exist in the project directory`);
    else hookFiles[kind] = content;
  }
  if (problems.length > 0 || !config) throw new ConfigError([...new Set(problems)]);
  return { config, hookFiles };
}

function decode(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
