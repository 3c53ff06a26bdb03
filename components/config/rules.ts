/**
 * The value rules every section of the stack config shares: what a path, a mount path, an image
 * reference, a URL or an address must look like, with the reason given when it does not. Pure; the
 * sections (sections/*.ts) compose them with their own rules.
 */
import { z } from "zod";

/** How a section's cross-key check reports a problem: under the config key to change. */
export type Issue = (path: (string | number)[], message: string) => void;

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

export const httpUrl = (what: string) =>
  z.url({ protocol: /^https?$/, error: `${what} must be an http(s) URL such as https://hub.example.org` });

/** A base URL (OAuth provider, API): http(s), no query or fragment; a path is allowed. */
export const baseUrl = (what: string, example: string) =>
  z.url({ protocol: /^https?$/, error: `${what} must be an http(s) URL such as ${example}` }).refine((u) => !/[?#]/.test(u), {
    message: `${what} must not have a query (?) or fragment (#): give the base URL, such as ${example}`,
  });

/** The path of a URL without trailing slashes, or undefined when it does not parse (reported elsewhere). */
export function urlPath(url: string): string | undefined {
  try {
    return new URL(url).pathname.replace(/\/+$/, "");
  } catch {
    return undefined;
  }
}

/** The URL, or undefined when it does not parse (reported elsewhere). */
export function parsedUrl(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** A zod refinement that reports the problem `problemOf` finds in a value (its message as it is). */
export const reportProblem =
  (problemOf: (value: string) => string | undefined) =>
  (value: string, ctx: z.RefinementCtx): void => {
    const problem = problemOf(value);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  };

/** `a, b or c`: a list as descriptions and messages write it. */
export const orList = (items: readonly string[]) =>
  items.length > 1 ? `${items.slice(0, -1).join(", ")} or ${items.at(-1)}` : (items[0] ?? "");

export function duplicates<T>(xs: readonly T[]): T[] {
  return [...new Set(xs.filter((x, i) => xs.indexOf(x) !== i))];
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
