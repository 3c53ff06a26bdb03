/**
 * The difference between two versions of a stack file's `config:` section, by key path
 * (`jupyterhub:hub.port`, `jupyterhub:images[gispy].image`): what a reviewer reads beside the plan.
 * Values under secret keys (the config schema's `secretKeys`) and encrypted (`secure:`) values are
 * never shown, not even as ciphertext: only that they were added, removed or changed. Pure.
 */
import { configNamespace, secretKeys } from "../../components/config/schema";

/** One changed key path. */
export interface ConfigChange {
  /** e.g. `jupyterhub:storage[shared].mountPath`. */
  readonly key: string;
  readonly kind: "added" | "removed" | "changed";
  /** The values as YAML-ish text; absent for secrets, and on the side where the key does not exist. */
  readonly before?: string;
  readonly after?: string;
  /** The value is a secret: shown by key only. */
  readonly secret: boolean;
}

/** A leaf of the flattened config: its text, or that it is a secret. */
interface Leaf {
  readonly text: string;
  readonly secret: boolean;
}

const secretTopKeys = new Set<string>(secretKeys.map((k) => `${configNamespace}:${k}`));

const isSecure = (v: unknown): boolean =>
  v !== null &&
  typeof v === "object" &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  typeof (v as { secure?: unknown }).secure === "string";

/** Items of a list keyed by their `name` when every item has a distinct one (images, storage, services). */
function itemKeys(list: readonly unknown[]): string[] | undefined {
  const names = list.map((item) =>
    item !== null && typeof item === "object" && !Array.isArray(item) ? (item as { name?: unknown }).name : undefined,
  );
  if (names.length === 0 || !names.every((n): n is string => typeof n === "string" && /^[\w.-]+$/.test(n))) return undefined;
  return new Set(names).size === names.length ? names : undefined;
}

function flatten(value: unknown, at: string, secret: boolean, out: Map<string, Leaf>): void {
  if (isSecure(value)) {
    out.set(at, { text: (value as { secure: string }).secure, secret: true });
    return;
  }
  if (Array.isArray(value)) {
    const keys = itemKeys(value);
    if (value.length === 0) out.set(at, { text: "[]", secret });
    value.forEach((v, i) => flatten(v, `${at}[${keys ? keys[i] : i}]`, secret, out));
    return;
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) out.set(at, { text: "{}", secret });
    for (const [k, v] of entries) flatten(v, `${at}.${k}`, secret, out);
    return;
  }
  out.set(at, { text: value === undefined || value === null ? "null" : typeof value === "string" ? value : JSON.stringify(value), secret });
}

/** Flattens a `config:` section (keys as written, with or without the project's namespace) to key paths. */
export function flattenConfig(config: Readonly<Record<string, unknown>> | undefined, project = configNamespace): Map<string, Leaf> {
  const out = new Map<string, Leaf>();
  for (const [key, value] of Object.entries(config ?? {})) {
    const full = key.includes(":") ? key : `${project}:${key}`;
    flatten(value, full, secretTopKeys.has(full), out);
  }
  return out;
}

/** The changed key paths from `before` to `after` (two `config:` sections), sorted by key. */
export function configDiff(
  before: Readonly<Record<string, unknown>> | undefined,
  after: Readonly<Record<string, unknown>> | undefined,
  project = configNamespace,
): ConfigChange[] {
  const a = flattenConfig(before, project);
  const b = flattenConfig(after, project);
  const changes: ConfigChange[] = [];
  for (const key of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const old = a.get(key);
    const now = b.get(key);
    if (old && now && old.text === now.text && old.secret === now.secret) continue;
    const secret = Boolean(old?.secret || now?.secret);
    const kind = !old ? "added" : !now ? "removed" : "changed";
    changes.push({
      key,
      kind,
      secret,
      ...(!secret && old ? { before: old.text } : {}),
      ...(!secret && now ? { after: now.text } : {}),
    });
  }
  return changes;
}
