/**
 * The stack configuration: one zod schema that is the single source of truth for its types,
 * defaults, documentation (README "Config reference" is generated from it) and error messages.
 *
 * Every top-level key lives in the `jupyterhub:` namespace of `Pulumi.<stack>.yaml`.
 */
import { z } from "zod";
import { scopeProblem, scopesJupyterhubVersion } from "../scopes";
import { defaultImages } from "../versions";
import { crossKeyChecks } from "./checks";
import {
  slug,
  absolutePath,
  notebookHome,
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
  isReservedStorageName,
  secretPlaceholder,
  certificatePemProblem,
  privateKeyPemProblem,
} from "./rules";

/** Namespace of every config key (the project name in Pulumi.yaml). */
export const configNamespace = "jupyterhub";

const nfsSource = z
  .object({
    type: z.literal("nfs"),
    server: shareServer("NFS").describe("NFS server host name or address."),
    export: absolutePath("source.export")
      .refine(fitsMountOptions, breaksMountOptions("source.export"))
      .describe("Exported path. Per-user mounts must include {username}."),
    options: mountOptions,
  })
  .describe("An NFS export, mounted by Docker's local volume driver.");

const cifsSource = z
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
  );

const driverSource = z
  .object({
    type: z.literal("driver"),
    driver: z
      .string()
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.\-/:]*$/, "source.driver is the name of a Docker volume plugin, e.g. rclone or vieux/sshfs:latest")
      .refine((d) => d !== "local", { message: 'source.driver "local" is Docker\'s node-local driver: use type volume, nfs or cifs' })
      .describe("Name of the Docker volume plugin, installed on every node (docker plugin install, or a legacy plugin socket)."),
    options: z
      .record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "option names are letters, digits, _ . -"), z.string())
      .default({})
      .describe("The plugin's volume options (docker volume create -o); values may contain {username} in per-user mounts."),
  })
  .describe("A volume of a Docker volume plugin (a cluster file system or a network share the plugin mounts on each node).");

/** Sources whose data lives on the network: every node of a swarm reaches the same files. */
const networkSource = z.discriminatedUnion("type", [nfsSource, cifsSource, driverSource], {
  error: 'source.type must be one of "nfs", "cifs", "driver"',
});

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
      nfsSource,
      cifsSource,
      driverSource,
    ],
    { error: 'source.type must be one of "volume", "host", "nfs", "cifs", "driver"' },
  )
  .describe("Where the data comes from: type volume, host, nfs, cifs or driver.");

/** A Swarm placement constraint (engine.mode swarm), as `docker service create --constraint` takes it. */
const placementConstraint = z
  .string()
  .trim()
  .regex(
    /^(node\.(id|hostname|role|platform\.os|platform\.arch|labels\.[^\s=!]+)|engine\.labels\.[^\s=!]+)\s*(==|!=)\s*\S+$/,
    "placement constraints read <attribute>==<value> or <attribute>!=<value>, the attribute one of node.id, node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.<label>, engine.labels.<label> (e.g. node.labels.memory==big)",
  );

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
export { oauthProviders, type OAuthProvider } from "./rules";

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
export const configFields = z
  .object({
    prefix: slug("prefix").default("jupyterhub").describe("Prefix of every Docker object's name; give each stack on a host its own."),
    labels: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9.\-/]*$/, "label keys are lower-case, digits, ., -, /"), z.string())
      .default({})
      .describe("Extra labels put on every Docker object."),
    engine: z
      .object({
        mode: z
          .enum(["host", "swarm"], { error: 'engine.mode is "host" or "swarm"' })
          .default("host")
          .describe(
            "host: everything on one Docker host. swarm: the user servers run as Swarm services on the nodes of the Docker Swarm this host manages (README, Swarm mode); hub, proxy and database stay on this manager node.",
          ),
        serverConstraints: z
          .array(placementConstraint)
          .default([])
          .describe("engine.mode swarm: placement constraints of every user server, e.g. node.role==worker to keep the manager free."),
        prePull: z
          .boolean()
          .default(true)
          .describe(
            "engine.mode swarm: keep every notebook image on every node that may run its servers (a global service <prefix>-pull-<image> per image, one idle container per node), so that no spawn waits on a pull and nodes that join later get the images too.",
          ),
      })
      .strict()
      .prefault({})
      .describe("Where user servers run: this Docker host, or the nodes of a Docker Swarm."),
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
        database: z
          .object({
            type: z
              .enum(["sqlite", "postgres"], { error: 'hub.database.type must be "sqlite" or "postgres"' })
              .default("sqlite")
              .describe(
                "sqlite: a file in the hub-data volume. postgres: a PostgreSQL container beside the hub (<prefix>-postgres, data in the volume <prefix>-hub-postgres, generated password); see README, When to choose PostgreSQL. Switching does not move existing users.",
              ),
            image: imageRef
              .default(defaultImages.postgres)
              .describe("PostgreSQL image (type postgres; the official image or one with its interface, e.g. a mirror)."),
          })
          .strict()
          .prefault({})
          .describe("Where the hub keeps its database (users, servers, tokens)."),
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
            constraints: z
              .array(placementConstraint)
              .optional()
              .describe(
                "engine.mode swarm: extra placement constraints of this image's servers, e.g. node.labels.memory==big for a large image such as ISIS.",
              ),
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
            source: networkSource
              .optional()
              .describe(
                "Where the homes live when not in a volume of the Docker host: nfs, cifs (credentials in shareCredentials.user) or driver, one volume <prefix>-user-<username> per user (export/share/options with {username}: one directory each). Required with engine.mode swarm, where a server may start on any node.",
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
  .strict();

/** The schema of every `jupyterhub:` key, with the rules across keys (checks.ts). */
export const configSchema = configFields.superRefine(crossKeyChecks);

/** A validated stack config, defaults applied. */
export type StackConfig = z.output<typeof configSchema>;
/** What an operator may write in the stack file. */
export type StackConfigInput = z.input<typeof configSchema>;

/** Config keys holding secrets: read with requireSecret and never copied into plain settings. */
export const secretKeys = ["githubClientSecret", "gitlabClientSecret", "shareCredentials", "tlsCertificate", "tlsKey"] as const;
export type SecretKey = (typeof secretKeys)[number];

/** The part of the config that never holds a secret. */
export type PublicConfig = Omit<StackConfig, SecretKey>;

/** The config without its secret keys (what may go into plain settings). */
export function withoutSecrets(config: StackConfig): PublicConfig {
  const copy: Partial<StackConfig> = { ...config };
  for (const key of secretKeys) delete copy[key];
  return copy as PublicConfig;
}
