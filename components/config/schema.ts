/**
 * The stack configuration: one zod schema that is the single source of truth for its types,
 * defaults, documentation (README "Config reference" is generated from it) and error messages.
 *
 * Every top-level key lives in the `jupyterhub:` namespace of `Pulumi.<stack>.yaml`.
 */
import { z } from "zod";
import { defaultOAuthCallbackUrl } from "../identity";
import { scopeProblem, scopesJupyterhubVersion } from "../scopes";
import { defaultImages } from "../versions";
import {
  slug,
  absolutePath,
  notebookHome,
  atOrAbove,
  pathFormProblem,
  mountPath,
  hostSystemPaths,
  hostPathProblem,
  imageRef,
  envMap,
  nativeUserName,
  githubLogin,
  gitlabUsername,
  httpUrl,
  baseUrl,
  passwordBreaking,
  fitsMountOptions,
  breaksMountOptions,
  shareServer,
  mountOptions,
  networkPoolFits,
  memLimitProblem,
  urlPath,
  isReservedStorageName,
  duplicates,
  secretPlaceholder,
  isIpHost,
  isPublicBindAddress,
  isLoopbackAddress,
  certificatePemProblem,
  privateKeyPemProblem,
  certificateForHostProblem,
  letsEncryptDirectories,
  acmeDirectoryUrl,
} from "./rules";

/** Namespace of every config key (the project name in Pulumi.yaml). */
export const configNamespace = "jupyterhub";

/** Where a storage mount's data comes from. */
const storageSource = z
  .discriminatedUnion(
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
  )
  .describe("Where the data comes from: type volume, host, nfs or cifs.");

const storageMount = z
  .object({
    name: slug("storage name")
      .refine((name) => !isReservedStorageName(name), {
        message:
          '"hub", "user" and names starting with "hub-" or "user-" are reserved for the stack\'s own volumes (<prefix>-hub-data, <prefix>-user-<username>): choose another name',
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
    url: baseUrl("url", "https://github.example.org").optional().describe("GitHub Enterprise Server base URL; default https://github.com."),
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
    url: baseUrl("url", "https://gitlab.example.org")
      .default("https://gitlab.com")
      .describe("Base URL of the GitLab instance (self-hosted allowed, also under a path)."),
    allowedGroups: z
      .array(
        z
          .string()
          .regex(
            /^[A-Za-z0-9_.][A-Za-z0-9_.-]*(\/[A-Za-z0-9_.][A-Za-z0-9_.-]*)*$/,
            "entries are group paths such as `gmap` or `gmap/science` (no leading or trailing /)",
          ),
      )
      .default([])
      .describe("GitLab group paths (with subgroups: `group/subgroup`) whose members, direct or inherited, may log in."),
    allowedProjectIds: z.array(z.int().positive()).default([]).describe("Members (developer or above) of these project ids may log in."),
  })
  .strict();

const acmeDirectoryError = 'hub.tls.acme.directory is "letsencrypt", "letsencrypt-staging" or the https URL of an ACME directory';

/** HTTPS: a TLS-terminating front proxy (Caddy) in front of the proxy, README "HTTPS". */
const tlsSettings = z
  .object({
    mode: z
      .enum(["off", "acme", "files"], { error: 'hub.tls.mode is "off", "acme" or "files"' })
      .default("off")
      .describe(
        "off: plain HTTP from the proxy on hub.port (a host that terminates TLS itself); acme: automatic certificates for the host name of hub.publicUrl (Let's Encrypt by default); files: the operator's certificate and key (secret keys tlsCertificate, tlsKey).",
      ),
    acme: z
      .object({
        email: z
          .email({ error: "hub.tls.acme.email must be an e-mail address such as ops@example.org" })
          .optional()
          .describe("Contact e-mail of the ACME account (the CA's notices about the certificates)."),
        directory: z
          .union([z.enum(["letsencrypt", "letsencrypt-staging"]), z.url({ protocol: /^https$/, error: acmeDirectoryError })], {
            error: acmeDirectoryError,
          })
          .default("letsencrypt")
          .describe(
            'ACME directory: "letsencrypt" (production), "letsencrypt-staging" (untrusted test certificates, generous rate limits) or the https URL of another ACME server.',
          ),
        caRoot: z
          .string()
          .superRefine((v, ctx) => {
            const problem = certificatePemProblem(v, "hub.tls.acme.caRoot");
            if (problem) ctx.addIssue({ code: "custom", message: problem });
          })
          .optional()
          .describe(
            "PEM root certificate(s) the ACME directory's own HTTPS is trusted with, for a private ACME server (e.g. step-ca, Pebble); not needed for Let's Encrypt.",
          ),
      })
      .strict()
      .optional()
      .describe("Automatic certificates (mode acme)."),
    httpPort: z
      .int()
      .min(1)
      .max(65535)
      .default(80)
      .describe("Host port of plain HTTP (redirects to HTTPS; ACME HTTP-01 validation) with tls on."),
    httpsPort: z.int().min(1).max(65535).default(443).describe("Host port of HTTPS with tls on."),
    hstsMaxAge: z
      .int()
      .min(0)
      .max(63072000)
      .default(31536000)
      .describe("Strict-Transport-Security max-age in seconds sent over HTTPS (0: no HSTS header)."),
    image: imageRef.default(defaultImages.caddy).describe("Caddy image of the front proxy."),
  })
  .strict()
  .prefault({})
  .describe(
    "HTTPS. With acme or files a Caddy container publishes hub.tls.httpPort and hub.tls.httpsPort on hub.bindAddress, redirects HTTP to HTTPS, sends HSTS and keeps its certificates in the volume <prefix>-hub-tls; the proxy then publishes nothing.",
  );

const authProvider = z.enum(["native", "github", "gitlab"], { error: 'providers are "native", "github" or "gitlab"' });
/** The OAuth providers (the others of auth.providers: native). */
export const oauthProviders = ["github", "gitlab"] as const;
export type OAuthProvider = (typeof oauthProviders)[number];

/**
 * Spawner options the hub receives as they are and sets one trait each: the table SPAWNER_TRAITS in
 * hub-config/gmap_hub/config.py maps each key to its class and trait, and the settings contract
 * (components/contract.ts) takes these entries as they are. A new option of this kind is one entry
 * here, one line in that table and a test.
 */
export const spawnerTraitOptions = {
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
    .min(
      0.01,
      "spawner.cpuLimit must be at least 0.01: DockerSpawner sets a CPU quota of cpuLimit x 100 ms, and Docker refuses quotas under 1 ms",
    )
    .max(1024, "spawner.cpuLimit must be at most 1024 (CPUs)")
    .optional()
    .describe("CPU limit per server in CPUs, e.g. 2 or 0.5; between 0.01 and 1024."),
};

/** The schema of every `jupyterhub:` key. Secrets are separate keys, set with `pulumi config set --secret`. */
export const configSchema = z
  .object({
    prefix: slug("prefix").default("jupyterhub").describe("Prefix of every Docker object's name; give each stack on a host its own."),
    labels: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9.\-/]*$/, "label keys are lower-case, digits, ., -, /"), z.string())
      .default({})
      .describe("Extra labels put on every Docker object."),
    hub: z
      .object({
        publicUrl: httpUrl("hub.publicUrl").optional().describe("URL users open; default http://localhost:<port>."),
        port: z.int().min(1).max(65535).default(8000).describe("Host port the proxy publishes (with hub.tls.mode off)."),
        bindAddress: z
          .union([z.ipv4(), z.ipv6()], { error: "hub.bindAddress must be an IP address" })
          .default("127.0.0.1")
          .describe(
            "Host address the published ports bind to (0.0.0.0 for every interface): the proxy's hub.port, or with TLS on the front proxy's hub.tls ports.",
          ),
        baseImage: imageRef.default(defaultImages.hubBase).describe("Base image of the hub image (override for a mirror)."),
        logLevel: z.enum(["DEBUG", "INFO", "WARNING", "ERROR"]).default("INFO").describe("Hub log level."),
        dockerSocket: absolutePath("hub.dockerSocket").default("/var/run/docker.sock").describe("Docker socket the spawner uses."),
        tls: tlsSettings,
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
        providers: z
          .array(authProvider)
          .min(1, "enable at least one provider")
          .default(["native"])
          .describe(
            "Login providers; several at once are offered side by side, and user names then carry the provider's prefix (`github:octocat`, see docs/oauth.md).",
          ),
        admins: z
          .array(nativeUserName)
          .default([])
          .describe(
            "Native accounts that are hub admins. The deployment creates each with a generated password (pulumi stack output --show-secrets adminPasswords); nobody can sign up with these names. Admins of GitHub and GitLab: auth.github.admins, auth.gitlab.admins.",
          ),
        allowedUsers: z
          .array(nativeUserName)
          .default([])
          .describe(
            "Native accounts allowed to log in (they still sign up and are authorized by an admin); empty: anyone who signs up and is authorized. Removing a name revokes its access.",
          ),
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
        ...spawnerTraitOptions,
        uid: z.int().min(0).default(1000).describe("Notebook user's uid (NB_UID)."),
        gid: z.int().min(0).default(100).describe("Notebook user's gid (NB_GID)."),
        environment: envMap.default({}).describe("Extra environment of every notebook container."),
        networkPool: z
          .cidrv4({ error: "spawner.networkPool is an IPv4 range such as 10.251.0.0/16" })
          .refine(networkPoolFits, {
            message: "spawner.networkPool must be a network address (host bits zero) of a /24 or larger range, e.g. 10.251.0.0/16",
          })
          .default("10.251.0.0/16")
          .describe(
            "Address range of the user servers' own networks, a /28 each (a /16 serves 4096 servers at once); pick one unused on the host's LAN.",
          ),
        workVolume: z
          .object({
            enabled: z.boolean().default(true).describe("Give every user a persistent volume."),
            mountPath: mountPath("spawner.workVolume.mountPath")
              .default(notebookHome)
              .describe(
                "Where it is mounted: the whole home by default, so whatever a user saves anywhere in the file browser persists (before: /home/jovyan/work).",
              ),
          })
          .strict()
          .prefault({})
          .describe(
            "The per-user persistent volume <prefix>-user-<username>: the user's home. Docker fills it from the image's home on first use.",
          ),
      })
      .strict()
      .prefault({})
      .describe("User servers."),
    storage: z.array(storageMount).default([]).describe("Extra mounts in every notebook container (data archives, shared folders)."),
    hooks: z
      .object({
        postAuth: z
          .string()
          .regex(/\.py$/, "hooks.postAuth is a .py file")
          .optional()
          .describe("Python file defining post_auth_hook(authenticator, handler, authentication), relative to the project."),
        preSpawn: z
          .string()
          .regex(/\.py$/, "hooks.preSpawn is a .py file")
          .optional()
          .describe("Python file defining pre_spawn_hook(spawner), relative to the project."),
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
        timeout: z
          .int()
          .min(600, "culler.timeout must exceed the 5 minute activity interval: use 600 or more")
          .default(3600)
          .describe("Idle seconds before a server is stopped."),
        every: z.int().min(30).default(300).describe("Seconds between checks."),
        maxAge: z.int().min(0).default(0).describe("Stop servers older than this many seconds (0: never)."),
      })
      .strict()
      .prefault({})
      .describe("The idle culler service."),
    githubClientSecret: z.string().min(1).optional().describe("Secret: GitHub OAuth client secret."),
    tlsCertificate: z
      .string()
      .superRefine((v, ctx) => {
        const problem = v === secretPlaceholder ? undefined : certificatePemProblem(v, "tlsCertificate");
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional()
      .describe("Secret: PEM certificate chain of hub.tls.mode files (the server's certificate first, then intermediates)."),
    tlsKey: z
      .string()
      .superRefine((v, ctx) => {
        const problem = v === secretPlaceholder ? undefined : privateKeyPemProblem(v, "tlsKey");
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      })
      .optional()
      .describe("Secret: PEM private key of tlsCertificate (hub.tls.mode files), unencrypted."),
    gitlabClientSecret: z.string().min(1).optional().describe("Secret: GitLab OAuth client secret."),
    shareCredentials: z
      .record(
        z.string(),
        z
          .object({
            username: z.string().min(1, "give the user name of the share").refine(fitsMountOptions, breaksMountOptions("the user name")),
            // messages never show the value: these are secrets
            password: z
              .string()
              .min(1, "give the password of the share")
              .refine((v) => !passwordBreaking.test(v), {
                message:
                  'the password must not contain "," or control characters (line breaks): Docker hands it over in a comma-separated list of mount options. Choose another password for the share',
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
      const template =
        m.source.type === "host"
          ? m.source.path
          : m.source.type === "nfs"
            ? m.source.export
            : m.source.type === "cifs"
              ? m.source.share
              : undefined;
      const key = m.source.type === "host" ? "path" : m.source.type === "nfs" ? "export" : "share";
      if (template !== undefined && m.perUser && !template.includes("{username}")) {
        issue(["storage", i, "source", key], "per-user mounts must include {username} so users get separate directories");
      }
      if (template !== undefined && !m.perUser && template.includes("{username}")) {
        issue(["storage", i, "perUser"], "the source contains {username}: set perUser: true");
      }
      if (m.source.type === "cifs" && !m.source.options.includes("guest") && !(m.name in cfg.shareCredentials)) {
        issue(
          ["storage", i, "source"],
          `CIFS needs credentials: pulumi config set --secret --path 'shareCredentials.${m.name}.password' ... (and .username), or the option "guest"`,
        );
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
          issue(
            ["auth", key],
            `auth.${key} lists native accounts, but "native" is not in auth.providers: use auth.github.${key} or auth.gitlab.${key}`,
          );
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
        else if (secret.trim() !== secret || /\s/.test(secret))
          issue([secretKey], "the client secret contains spaces or line breaks: set it again without them");
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
              issue(
                ["auth", p, "callbackUrl"],
                `the hub serves the ${p} callback at ${expected}${why}, not at ${got || "/"}: fix the path or leave callbackUrl unset`,
              );
            }
          }
        }
      } else if (section) {
        issue(["auth", p], `auth.${p} is configured but "${p}" is not in auth.providers`);
      }
    }

    const tls = cfg.hub.tls;
    const hubUrl = cfg.hub.publicUrl !== undefined ? parsedUrl(cfg.hub.publicUrl) : undefined;
    const bind = cfg.hub.bindAddress;
    if (tls.mode === "off") {
      if (hubUrl?.protocol === "https:" && isPublicBindAddress(bind)) {
        issue(
          ["hub", "tls", "mode"],
          `hub.publicUrl is https, but with hub.tls.mode off the proxy serves plain HTTP on ${bind}:${cfg.hub.port}, reachable from outside: set hub.tls.mode to acme (automatic certificates) or files, or bind hub.bindAddress to 127.0.0.1 (or the private address a TLS-terminating proxy forwards to)`,
        );
      }
    } else {
      if (cfg.hub.publicUrl === undefined) {
        issue(
          ["hub", "publicUrl"],
          `hub.tls.mode ${tls.mode} serves HTTPS for the host name of hub.publicUrl: set it, e.g. https://hub.example.org`,
        );
      } else if (hubUrl && hubUrl.protocol !== "https:") {
        issue(["hub", "publicUrl"], `hub.tls.mode is ${tls.mode}: hub.publicUrl must start with https://`);
      } else if (hubUrl) {
        const port = hubUrl.port === "" ? 443 : Number(hubUrl.port);
        if (port !== tls.httpsPort) {
          issue(
            ["hub", "publicUrl"],
            `hub.publicUrl has port ${port}, but the front proxy publishes HTTPS on hub.tls.httpsPort ${tls.httpsPort}: make them equal`,
          );
        }
      }
      if (tls.httpPort === tls.httpsPort) issue(["hub", "tls", "httpPort"], "hub.tls.httpPort and hub.tls.httpsPort must differ");
    }
    if (tls.mode !== "acme" && tls.acme !== undefined) issue(["hub", "tls", "acme"], "hub.tls.acme is only used with hub.tls.mode acme");
    if (tls.mode === "acme") {
      const host = hubUrl?.hostname;
      if (host !== undefined && isIpHost(host)) {
        issue(
          ["hub", "publicUrl"],
          `hub.tls.mode acme gets certificates for a host name, and ${host} is an IP address: give the DNS name that points to this host, or use hub.tls.mode files`,
        );
      } else if (host !== undefined && !host.includes(".")) {
        issue(["hub", "publicUrl"], `hub.tls.mode acme needs a fully qualified host name that DNS points to this host, not "${host}"`);
      }
      if (!tls.acme?.email) {
        issue(
          ["hub", "tls", "acme", "email"],
          "hub.tls.mode acme needs a contact e-mail for the ACME account (the CA's notices about expiring or revoked certificates)",
        );
      }
      const directory = acmeDirectoryUrl(tls.acme?.directory ?? "letsencrypt");
      if ((Object.values(letsEncryptDirectories) as string[]).includes(directory)) {
        if (isLoopbackAddress(bind)) {
          issue(
            ["hub", "bindAddress"],
            `Let's Encrypt validates the host name from the internet, and hub.bindAddress ${bind} is reachable from this host only: set 0.0.0.0 (or the host's public address)`,
          );
        }
        if (tls.httpPort !== 80 && tls.httpsPort !== 443) {
          issue(
            ["hub", "tls", "httpPort"],
            "Let's Encrypt validates on port 80 (HTTP-01) or 443 (TLS-ALPN-01): publish at least one of them (hub.tls.httpPort 80 or hub.tls.httpsPort 443)",
          );
        }
        if (host !== undefined && /\.(test|example|invalid|localhost|local|internal|lan|home\.arpa)$/.test(host)) {
          issue(["hub", "publicUrl"], `Let's Encrypt issues certificates for public DNS names only, not ${host}`);
        }
      }
    }
    if (tls.mode === "files") {
      if (!cfg.tlsCertificate) {
        issue(["tlsCertificate"], "hub.tls.mode files: pulumi config set --secret tlsCertificate < fullchain.pem");
      }
      if (!cfg.tlsKey) issue(["tlsKey"], "hub.tls.mode files: pulumi config set --secret tlsKey < privkey.pem");
      const cert = cfg.tlsCertificate;
      const key = cfg.tlsKey;
      if (
        cert &&
        key &&
        hubUrl &&
        cert !== secretPlaceholder &&
        key !== secretPlaceholder &&
        !certificatePemProblem(cert, "tlsCertificate") &&
        !privateKeyPemProblem(key, "tlsKey")
      ) {
        const problem = certificateForHostProblem(cert, key, hubUrl.hostname, new Date());
        if (problem) issue(["tlsCertificate"], problem);
      }
    } else {
      if (cfg.tlsCertificate !== undefined) issue(["tlsCertificate"], "tlsCertificate is only used with hub.tls.mode files");
      if (cfg.tlsKey !== undefined) issue(["tlsKey"], "tlsKey is only used with hub.tls.mode files");
    }

    const serviceNames = cfg.services.map((s) => s.name);
    duplicates(serviceNames).forEach((n) => issue(["services"], `service "${n}" is declared twice`));
    if (serviceNames.includes("idle-culler")) issue(["services"], `"idle-culler" is reserved for the idle culler`);
  });

function parsedUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** A validated stack config, defaults applied. */
export type StackConfig = z.output<typeof configSchema>;
/** What an operator may write in the stack file. */
export type StackConfigInput = z.input<typeof configSchema>;

/** Config keys holding secrets: read with requireSecret and never copied into plain settings. */
export const secretKeys = ["githubClientSecret", "gitlabClientSecret", "shareCredentials", "tlsCertificate", "tlsKey"] as const;
export type SecretKey = (typeof secretKeys)[number];

/** The part of the config that never holds a secret. */
export type PublicConfig = Omit<StackConfig, SecretKey>;
