/** User names in the end-to-end scenarios: unique ones for a test, and as a server URL writes them. */
import { randomBytes } from "node:crypto";

/**
 * A user name in a server URL (`/user/<name>/`) as JupyterHub writes it (url_escape_path: "@" and
 * "~" stay): the server's routes are under that exact prefix, so `%40` would miss them.
 */
export function userUrlName(name: string): string {
  return encodeURIComponent(name).replace(/%40/g, "@");
}

/** A unique, valid user name for one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${randomBytes(4).toString("hex")}`;
}
