/**
 * The rules of the stack config that span several keys (names used twice, the default image among
 * the images, mount paths that clash, what each auth provider and TLS mode needs), each reported
 * under the key to change.
 */
import type { z } from "zod";
import { defaultOAuthCallbackUrl } from "../identity";
import {
  acmeDirectoryUrl,
  atOrAbove,
  certificateForHostProblem,
  certificatePemProblem,
  duplicates,
  hostPathProblem,
  hostSystemPaths,
  isIpHost,
  isLoopbackAddress,
  isPublicBindAddress,
  letsEncryptDirectories,
  notebookHome,
  privateKeyPemProblem,
  secretPlaceholder,
  urlPath,
  oauthProviders,
} from "./rules";
import type { configFields } from "./schema";

type Fields = z.output<typeof configFields>;

export function crossKeyChecks(cfg: Fields, ctx: z.RefinementCtx<Fields>): void {
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
  const home = cfg.spawner.workVolume;
  const homeTemplate = home.source?.type === "nfs" ? home.source.export : home.source?.type === "cifs" ? home.source.share : undefined;
  if (home.source && homeTemplate !== undefined && !homeTemplate.includes("{username}")) {
    const key = home.source.type === "nfs" ? "export" : "share";
    issue(["spawner", "workVolume", "source", key], "the users' homes must include {username} so users get separate directories");
  }
  if (home.source?.type === "cifs" && !home.source.options.includes("guest") && !("user" in cfg.shareCredentials)) {
    issue(
      ["spawner", "workVolume", "source"],
      `CIFS needs credentials: pulumi config set --secret --path 'shareCredentials.user.password' ... (and .username), or the option "guest"`,
    );
  }
  Object.keys(cfg.shareCredentials).forEach((name) => {
    const mount = cfg.storage.find((m) => m.name === name);
    const homes = name === "user" && home.source?.type === "cifs";
    if (!homes && (!mount || mount.source.type !== "cifs")) {
      issue(["shareCredentials", name], `no CIFS storage mount is named "${name}" (the homes on CIFS: "user")`);
    }
  });
  swarmChecks(cfg, issue);

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
}

function parsedUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** What engine.mode swarm needs: data every node reaches, and the swarm-only keys only there. */
function swarmChecks(cfg: Fields, issue: (path: (string | number)[], message: string) => void): void {
  const swarm = cfg.engine.mode === "swarm";
  if (!swarm) {
    if (cfg.engine.serverConstraints.length > 0) issue(["engine", "serverConstraints"], "placement constraints need engine.mode swarm");
    cfg.images.forEach((image, i) => {
      if (image.constraints !== undefined) issue(["images", i, "constraints"], "placement constraints need engine.mode swarm");
    });
    return;
  }
  cfg.storage.forEach((m, i) => {
    if (m.source.type === "volume") {
      issue(
        ["storage", i, "source", "type"],
        "engine.mode swarm starts servers on any node, and a Docker volume lives on one node: a user would find other files on every node. Use nfs, cifs or driver (a volume plugin every node has)",
      );
    }
    if (m.source.type === "host") {
      issue(
        ["storage", i, "source", "type"],
        "engine.mode swarm starts servers on any node, and a host directory exists on one node only: export it (nfs, cifs) or use a volume plugin (driver)",
      );
    }
  });
  if (cfg.spawner.workVolume.enabled && cfg.spawner.workVolume.source === undefined) {
    issue(
      ["spawner", "workVolume", "source"],
      "engine.mode swarm starts a user's server on any node, so the homes must live on the network for the files to follow the user: set spawner.workVolume.source (nfs, cifs or driver), or spawner.workVolume.enabled: false",
    );
  }
}
