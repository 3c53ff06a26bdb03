/**
 * The JupyterHub scopes a service role may name, so a misspelt scope fails `pulumi preview`
 * instead of the hub start.
 */

/** The JupyterHub version (major.minor) the scope list below comes from. */
export const scopesJupyterhubVersion = "5.5";

/**
 * Every key of `scope_definitions` in jupyterhub/scopes.py of JupyterHub 5.5.1, in its order.
 * Check it against that file when the pinned JupyterHub (hub-config/requirements.txt) moves to
 * another minor version; a unit test fails until scopesJupyterhubVersion is updated.
 */
export const jupyterhubScopes: readonly string[] = [
  "(no_scope)",
  "self",
  "inherit",
  "admin-ui",
  "admin:users",
  "admin:auth_state",
  "users",
  "delete:users",
  "list:users",
  "read:users",
  "read:users:name",
  "read:users:groups",
  "read:users:activity",
  "read:roles",
  "read:roles:users",
  "read:roles:services",
  "read:roles:groups",
  "users:activity",
  "admin:servers",
  "admin:server_state",
  "servers",
  "read:servers",
  "delete:servers",
  "tokens",
  "read:tokens",
  "admin:groups",
  "groups",
  "list:groups",
  "read:groups",
  "read:groups:name",
  "delete:groups",
  "admin:services",
  "list:services",
  "read:services",
  "read:services:name",
  "read:hub",
  "access:servers",
  "access:services",
  "users:shares",
  "read:users:shares",
  "groups:shares",
  "read:groups:shares",
  "read:shares",
  "shares",
  "proxy",
  "shutdown",
  "read:metrics",
];

/** Filters a scope may carry (`read:users!group=staff`); JupyterHub's _check_scopes_exist accepts these prefixes. */
export const scopeFilters = ["user", "group", "server", "service"] as const;

/**
 * Why JupyterHub would refuse a scope, or undefined when it is a known scope with an optional
 * `!user=`, `!group=`, `!server=` or `!service=` filter.
 */
export function scopeProblem(scope: string): string | undefined {
  const bang = scope.indexOf("!");
  const name = bang < 0 ? scope : scope.slice(0, bang);
  if (!jupyterhubScopes.includes(name)) {
    const close = closeScopes(name);
    return (
      `"${name}" is not a JupyterHub ${scopesJupyterhubVersion} scope` +
      (close.length > 0 ? `; close matches: ${close.join(", ")}` : "; the known scopes are listed in components/scopes.ts")
    );
  }
  if (bang < 0) return undefined;
  const filter = scope.slice(bang + 1);
  const [kind, ...rest] = filter.split("=");
  const value = rest.join("=");
  if (!(scopeFilters as readonly string[]).includes(kind!) || rest.length === 0 || !/^[^\s!]+$/.test(value)) {
    return `"!${filter}" is not a scope filter: use ${scopeFilters.map((f) => `!${f}=<name>`).join(", ")} (e.g. ${name}!group=staff)`;
  }
  return undefined;
}

/** Up to three known scopes that look like a mistyped name, closest first. */
export function closeScopes(name: string): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  return jupyterhubScopes
    .map((s) => ({ s, d: editDistance(name, s) }))
    .filter(({ s, d }) => d <= limit || (name.length >= 4 && (s.includes(name) || name.includes(s))))
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map(({ s }) => s);
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}
