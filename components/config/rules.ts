/**
 * The value rules of the stack config: what a path, an image, a user name, a URL, a share option
 * or a memory limit must look like, with the reason given when it does not. Pure; the schema
 * (schema.ts) composes them.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { z } from "zod";
import { userNameRule } from "../identity";

export const slug = (what: string) =>
  z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, `${what} must be 1-40 characters of a-z, 0-9 and "-", starting with a letter`);

export const absolutePath = (what: string) => z.string().regex(/^\/[^\0]*$/, `${what} must be an absolute path starting with "/"`);

/** The notebook user's home in docker-stacks images (NB_USER jovyan). */
export const notebookHome = "/home/jovyan";

/** True when `path` is `base` or one of its ancestors (both absolute and in normal form). */
export function atOrAbove(path: string, base: string): boolean {
  return path === base || path === "/" || base.startsWith(`${path}/`);
}

/**
 * Why an absolute path is not in normal form (so that the rules below can compare paths as
 * strings), or undefined. Relative paths are left to absolutePath.
 */
export function pathFormProblem(path: string): string | undefined {
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
export const imageSystemPaths = ["/etc", "/usr", "/bin", "/sbin", "/proc", "/sys", "/dev", "/var/run", "/run", "/opt/conda"];

/** Why a path inside the notebook container is no place for a mount, or undefined. */
export function mountPathProblem(path: string): string | undefined {
  const form = pathFormProblem(path);
  if (form || !path.startsWith("/")) return form;
  if (/[\s,:]/.test(path)) return 'must not contain spaces, "," or ":" (Docker and the image\'s CHOWN_EXTRA list use them as separators)';
  const hidden = /^\/lib[^/]*$/.test(path) ? path : imageSystemPaths.find((p) => atOrAbove(path, p));
  if (hidden)
    return `${path} would hide ${hidden} of the notebook image (its system files or conda environment): mount below /mnt, /srv or ${notebookHome} instead`;
  return undefined;
}

/** A mount path inside the notebook containers. */
export const mountPath = (what: string) =>
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
export const hostSystemPaths = ["/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/var/lib/docker", "/run", "/var/run"];

/**
 * Why a bind-mount source (a template when it contains {username}) could expose one of
 * `protectedPaths`, or undefined. {username} becomes the escaped user name ([a-z0-9-]), so a
 * directory that holds a protected path must not be where {username} is filled in: user "docker"
 * of /var/lib/{username} would get /var/lib/docker.
 */
export function hostPathProblem(path: string, protectedPaths: readonly string[]): string | undefined {
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

export const imageRef = z
  .string()
  .regex(
    /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/,
    "must be a Docker image reference such as quay.io/jupyter/minimal-notebook:2025-03-14",
  )
  .refine((ref) => /:[\w][\w.-]*$|@sha256:/.test(ref.split("/").pop() ?? ""), {
    message: "must pin a tag or digest (an untagged image means :latest, which changes under you)",
  });

export const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "environment variable names are letters, digits and _");
export const envMap = z.record(envName, z.string());

/**
 * User names as the hub sees them (identity.ts userNameRule): every authenticator lower-cases
 * logins, so a name with capitals would never match. Names are written without the provider prefix
 * (`github:`) of multi-provider hubs; the program adds it.
 */
export const userName = new RegExp(`^${userNameRule.source}$`);
export const nativeUserName = z
  .string()
  .regex(
    userName,
    'user names are 1-48 lower-case letters, digits, ".", "_", "@" and "-", starting with a letter, digit or "_" (the hub lower-cases every login; no provider prefix)',
  );
export const githubLogin = z
  .string()
  .regex(
    /^[a-z0-9](?:-?[a-z0-9]){0,38}$/,
    'GitHub logins are lower-case letters, digits and single hyphens, at most 39 characters (the hub lower-cases logins; write them without a "github:" prefix)',
  );
export const gitlabUsername = z
  .string()
  .regex(
    /^[a-z0-9_][a-z0-9_.-]{0,47}$/,
    'GitLab usernames are lower-case letters, digits, "_", "." and "-", at most 48 characters here (the hub lower-cases logins; write them without a "gitlab:" prefix)',
  );

export const httpUrl = (what: string) =>
  z.url({ protocol: /^https?$/, error: `${what} must be an http(s) URL such as https://hub.example.org` });

/** A base URL (OAuth provider, API): http(s), no query or fragment; a path is allowed. */
export const baseUrl = (what: string, example: string) =>
  z.url({ protocol: /^https?$/, error: `${what} must be an http(s) URL such as ${example}` }).refine((u) => !/[?#]/.test(u), {
    message: `${what} must not have a query (?) or fragment (#): give the base URL, such as ${example}`,
  });

/**
 * Network shares are mounted by Docker's local volume driver from two strings: the device
 * (`:<export>`, `//<server>/<share>`) and the options `o`, a comma-separated list of `key=value`
 * (`addr=<server>,username=...,password=...`). A comma in a value would end it and start an
 * option of the operator's choosing (a password "x,uid=0" adds uid=0), a line break or other
 * control character breaks the strings. "=" is refused where it never belongs (server, paths,
 * user and domain names); a password may contain it, since Docker and the kernel split an option
 * at its first "=" only.
 */
export const optionBreaking = /[,=\x00-\x1f\x7f]/;
export const passwordBreaking = /[,\x00-\x1f\x7f]/;
export const fitsMountOptions = (v: string) => !optionBreaking.test(v);
export const breaksMountOptions = (what: string) =>
  `${what} must not contain ",", "=" or control characters: Docker hands it over in a comma-separated list of mount options`;

export const shareServer = (kind: string) =>
  z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9.:-]*$/,
      `source.server is the ${kind} server's host name or IP address: letters, digits, ".", "-" and ":" only (Docker passes it as addr=<server> in the mount options)`,
    );

export const mountOptions = z
  .array(z.string().regex(/^[^,\s\x00-\x1f\x7f]+$/, "one mount option per entry, without commas, spaces or control characters"))
  .default([])
  .describe('Extra mount options (mount -o), one per entry, e.g. ["vers=3.0"]. `ro` is added for read-only mounts.');

/** Byte multipliers of the units JupyterHub's ByteSpecification (DockerSpawner's mem_limit) takes. */
export const byteUnits = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 } as const;
/** Docker refuses memory limits under 6 MiB. */
export const minMemoryBytes = 6 * byteUnits.M;

/**
 * Why a memory limit would fail: JupyterHub's ByteSpecification takes a string only as a number
 * followed by exactly one of K, M, G, T (upper case, no B; a string of plain bytes fails), and
 * Docker refuses limits under 6 MiB.
 */
export function memLimitProblem(value: string): string | undefined {
  const valid = /^(\d+(?:\.\d+)?)([KMGT])$/.exec(value);
  const bytes = valid ? Number(valid[1]) * byteUnits[valid[2] as keyof typeof byteUnits] : undefined;
  if (bytes === 0 || /^0+(\.0+)?$/.test(value))
    return `"${value}" is no memory limit Docker accepts: leave spawner.memLimit unset for no limit, or give at least 6M`;
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
export function urlPath(url: string): string | undefined {
  try {
    return new URL(url).pathname.replace(/\/+$/, "");
  } catch {
    return undefined;
  }
}

/**
 * Storage names that would let a volume name be taken twice (see names() in names.ts): the
 * stack's own volumes are <prefix>-hub-data and <prefix>-user-<username>, so a per-user volume
 * <prefix>-hub-<username> of user "data", or <prefix>-user-a-<username> against the work volume
 * of user "a-...", must not exist.
 */
export function isReservedStorageName(name: string): boolean {
  return name === "hub" || name === "user" || name.startsWith("hub-") || name.startsWith("user-");
}

export function duplicates<T>(xs: readonly T[]): T[] {
  return [...new Set(xs.filter((x, i) => xs.indexOf(x) !== i))];
}

/** An IPv4 range for the per-user networks: a network address (host bits zero), /24 or larger. */
export function networkPoolFits(cidr: string): boolean {
  const [address = "", bits = ""] = cidr.split("/");
  const prefix = Number(bits);
  const value = address.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
  return prefix >= 8 && prefix <= 24 && value % 2 ** (32 - prefix) === 0;
}

/** What stands in for an encrypted (`secure:`) value when a stack file is checked without decrypting it (ops/check.ts). */
export const secretPlaceholder = "[secret]";

/** True for an IPv4 or IPv6 address written as a URL host ([::1] included). */
export function isIpHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(h) || h.includes(":");
}

/**
 * True when a bind address reaches beyond this host and its private networks: every interface
 * (0.0.0.0, ::) or a public address. Loopback and private ranges (a load balancer's side) are not.
 */
export function isPublicBindAddress(address: string): boolean {
  if (address === "0.0.0.0" || address === "::") return true;
  if (address.includes(":")) {
    const a = address.toLowerCase();
    return !(a === "::1" || a.startsWith("fc") || a.startsWith("fd") || a.startsWith("fe80"));
  }
  const [a = 0, b = 0] = address.split(".").map(Number);
  const privateOrLocal = a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  return !privateOrLocal;
}

/** True for a loopback bind address (127.0.0.0/8, ::1). */
export function isLoopbackAddress(address: string): boolean {
  return address === "::1" || address.startsWith("127.");
}

/** The PEM blocks of a text, by label (CERTIFICATE, PRIVATE KEY, EC PRIVATE KEY, ...). */
export function pemBlocks(text: string): { label: string; pem: string }[] {
  return [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----\r?\n[\s\S]*?-----END \1-----/g)].map((m) => ({ label: m[1]!, pem: m[0] }));
}

/**
 * Why a PEM text is not one or more certificates (a chain: the server's first), or undefined. Only
 * the form and that each parses; the value itself is never put into a message.
 */
export function certificatePemProblem(text: string, what: string): string | undefined {
  const blocks = pemBlocks(text);
  if (blocks.length === 0 || blocks.some((b) => b.label !== "CERTIFICATE"))
    return `${what} must be PEM certificates only (-----BEGIN CERTIFICATE----- blocks, the server's certificate first, then its intermediates)`;
  for (const b of blocks) {
    try {
      new X509Certificate(b.pem);
    } catch {
      return `${what} holds a certificate block that does not parse: export it again as PEM`;
    }
  }
  return undefined;
}

/** Why a PEM text is not one private key, or undefined (the key is never put into a message). */
export function privateKeyPemProblem(text: string, what: string): string | undefined {
  const blocks = pemBlocks(text);
  if (blocks.length !== 1 || !/PRIVATE KEY$/.test(blocks[0]!.label))
    return `${what} must be one unencrypted PEM private key (-----BEGIN PRIVATE KEY-----, RSA or EC)`;
  try {
    createPrivateKey(blocks[0]!.pem);
  } catch {
    return `${what} does not parse as a private key (is it encrypted? give it without a passphrase)`;
  }
  return undefined;
}

/**
 * Why an operator's certificate and key do not serve `host` (the public URL's host name) now, or
 * undefined: the key must belong to the first certificate, which must name the host and be valid
 * at `now`. Assumes both have passed the form checks above.
 */
export function certificateForHostProblem(certificate: string, key: string, host: string, now: Date): string | undefined {
  const leaf = new X509Certificate(pemBlocks(certificate)[0]!.pem);
  if (!leaf.checkPrivateKey(createPrivateKey(pemBlocks(key)[0]!.pem)))
    return "tlsKey is not the key of the first certificate in tlsCertificate (the server's certificate comes first)";
  const names = isIpHost(host) ? leaf.checkIP(host.replace(/^\[|\]$/g, "")) : leaf.checkHost(host);
  if (!names) return `the first certificate in tlsCertificate is not valid for ${host} (its names: ${leaf.subjectAltName ?? leaf.subject})`;
  if (new Date(leaf.validTo).getTime() <= now.getTime())
    return `the certificate in tlsCertificate expired on ${leaf.validTo}: give a current one`;
  if (new Date(leaf.validFrom).getTime() > now.getTime()) return `the certificate in tlsCertificate is not valid before ${leaf.validFrom}`;
  return undefined;
}

/** The ACME directories of Let's Encrypt, by the names hub.tls.acme.directory accepts. */
export const letsEncryptDirectories = {
  letsencrypt: "https://acme-v02.api.letsencrypt.org/directory",
  "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
} as const;

/** The ACME directory URL of hub.tls.acme.directory (a name above or a URL). */
export function acmeDirectoryUrl(directory: string): string {
  return directory in letsEncryptDirectories ? letsEncryptDirectories[directory as keyof typeof letsEncryptDirectories] : directory;
}

/** The OAuth providers (the others of auth.providers: native). */
export const oauthProviders = ["github", "gitlab"] as const;
export type OAuthProvider = (typeof oauthProviders)[number];
