/**
 * What each planned change means for the people who use the hub, in words, and which ones need an
 * acknowledgement before they land (data loss, everyone logged out, regenerated secrets). The
 * resources are recognised by the component that declares them (components/*.ts) and their type;
 * pure: no CLI, no Docker.
 */
import type { PlannedChange } from "./plan";

/** A consequence a reviewer must acknowledge before the change lands. */
export type Risk = "data-loss" | "logout" | "secrets";

/** Every acknowledgeable risk, in the order the review lists them. */
export const risks: readonly Risk[] = ["data-loss", "logout", "secrets"];

/**
 * How long sign-ins fail while the hub container is replaced: from the old hub's stop to the new
 * one answering (measured on the test engine: 6 s to 32 s, the upper end with a loaded host).
 */
export const hubRestartSeconds = 30;

/** One change, told for the review. */
export interface Effect {
  /** What it is, e.g. "hub container `gmap-bak-hub`". */
  readonly what: string;
  /** What `pulumi up` does to it, e.g. "replaced (the old one is removed first)". */
  readonly action: string;
  /** What it means for users (empty: nothing they notice). */
  readonly meaning: string;
  /** The acknowledgement it needs. */
  readonly risk?: Risk;
  /** The change does not do what it seems to (said in `meaning`). */
  readonly warning?: boolean;
  /** The planned changes it tells (a delete and a create of the same object count as one). */
  readonly changes: readonly PlannedChange[];
}

const CONTAINER = "docker:index/container:Container";
const NETWORK = "docker:index/network:Network";
const VOLUME = "docker:index/volume:Volume";
const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
const BUILT_IMAGE = "docker:index/image:Image";
const SERVICE = "docker:index/service:Service";
const LEFTOVERS = "pulumi-nodejs:dynamic/jupyterhub:Leftovers";
const RANDOM_BYTES = "random:index/randomBytes:RandomBytes";
const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";
const RANDOM_ID = "random:index/randomId:RandomId";

/** Types the program replaces by removing the old object first (fixed Docker names: `deleteBeforeReplace`). */
const deletedFirst = new Set([CONTAINER, NETWORK, SERVICE, LEFTOVERS]);

const component = (c: PlannedChange) => c.parents[c.parents.length - 1] ?? "";
const str = (v: unknown) => (typeof v === "string" ? v : undefined);

/** The Docker object's name (an image's reference), before and after. */
function dockerName(c: PlannedChange, side: "before" | "after"): string | undefined {
  const inputs = c[side];
  return str(inputs?.name) ?? str(inputs?.imageName);
}

const code = (s: string | undefined) => (s ? `\`${s}\`` : "");
const named = (label: string, c: PlannedChange) => `${label} ${code(dockerName(c, "after") ?? dockerName(c, "before"))}`.trim();

function action(c: PlannedChange): string {
  switch (c.operation) {
    case "create":
      return "created";
    case "update":
      return "updated in place";
    case "delete":
      return c.type === VOLUME ? "dropped from the stack (the volume stays on the host, `retainOnDelete`)" : "deleted";
    case "replace":
      if (c.type === RANDOM_BYTES || c.type === RANDOM_PASSWORD) return "regenerated";
      if (c.type === VOLUME) return "replaced: a new volume is created, the old one stays on the host (`retainOnDelete`)";
      if (c.type === REMOTE_IMAGE) return "replaced: the new image is pulled, the old one stays on the host";
      if (c.type === LEFTOVERS) return "replaced: the old one does its removal first";
      return deletedFirst.has(c.type) ? "replaced: the old one is removed first, then the new one is created" : "replaced";
    default:
      return c.ops.join(", ");
  }
}

/** A volume whose files live elsewhere: a network share (driver options) or a volume plugin. */
function isShare(c: PlannedChange): boolean {
  const inputs = c.after ?? c.before ?? {};
  const opts = inputs.driverOpts;
  const hasOpts = typeof opts === "string" ? opts !== "" : opts !== null && typeof opts === "object" && Object.keys(opts).length > 0;
  return hasOpts || (str(inputs.driver) ?? "local") !== "local";
}

function volumeLabel(c: PlannedChange): string {
  const parent = component(c);
  if (parent === "jupyterhub:docker:Postgres") return "hub database volume (PostgreSQL)";
  if (parent === "jupyterhub:docker:FrontProxy") return "certificate volume (ACME account and certificates)";
  if (c.name.endsWith("-hub-data")) return "hub data volume (users, servers, tokens; the SQLite database)";
  return isShare(c) ? "share volume" : "storage volume";
}

function volumeEffect(c: PlannedChange): Pick<Effect, "meaning" | "risk" | "warning"> {
  const before = dockerName(c, "before");
  const after = dockerName(c, "after");
  const share = isShare(c);
  if (c.operation === "create") return { meaning: share ? "" : `${code(after)} starts empty.` };
  if (c.operation === "replace" && before === after) {
    const changed = c.reasons.map((r) => `\`${r.property}\``).join(", ");
    const same = "Pulumi keeps the old volume and Docker hands back the existing volume of the same name: the files stay";
    if (!changed) return { meaning: `${same}.` };
    return { meaning: `${same}, and the change of ${changed} does not take effect (the next preview plans it again).`, warning: true };
  }
  if (share)
    return {
      meaning:
        c.operation === "delete"
          ? `Servers started afterwards no longer mount ${code(before)}; the files stay on the share.`
          : `Servers started afterwards mount ${after ? code(after) : "a volume of a new name"}${c.operation === "replace" ? " with the new options" : ""}; running servers keep theirs; the files stay on the share.`,
    };
  if (c.operation === "delete")
    return {
      meaning: `**Data loss for users**: ${code(before)} is no longer mounted; its files stay on the host, unused (\`docker volume rm\` removes them).`,
      risk: "data-loss",
    };
  return {
    meaning:
      `**Data loss for users**: ${code(after)} starts empty in place of ${code(before)}; the files of ${code(before)} ` +
      `stay on the host, unused, and are not copied.`,
    risk: "data-loss",
  };
}

/** The role of a generated secret, from its resource name (components/secrets.ts, components/postgres.ts). */
function secretEffect(c: PlannedChange): Pick<Effect, "what" | "meaning" | "risk"> {
  const parent = component(c);
  const role = c.name.replace(/^.*?-secrets-/, "");
  const regenerated = c.operation === "replace" || c.operation === "delete";
  if (c.type === RANDOM_BYTES && parent === "jupyterhub:random:Secrets")
    return {
      what: "cookie secret",
      meaning: regenerated ? "**Everyone is logged out**: every sign-in cookie becomes invalid; running servers keep running." : "",
      ...(regenerated ? { risk: "logout" as const } : {}),
    };
  if (parent === "jupyterhub:docker:Postgres")
    return {
      what: "PostgreSQL password",
      meaning: regenerated ? "A new database password: PostgreSQL sets it at its next start, the hub gets it in secrets.json." : "",
      ...(regenerated ? { risk: "secrets" as const } : {}),
    };
  const [what, onReplace, onCreate, onDelete] = role.startsWith("service-")
    ? [
        `token of API service \`${role.slice(8)}\``,
        "Its clients are refused until they use the new token (`pulumi stack output --show-secrets serviceTokens`).",
        "A token for a new service.",
        "The service's token stops working.",
      ]
    : role.startsWith("admin-")
      ? [
          `generated password of admin \`${role.slice(6)}\``,
          "A new first password; an admin who changed the password keeps it (`pulumi stack output --show-secrets adminPasswords`).",
          "A first password for a new admin (`pulumi stack output --show-secrets adminPasswords`).",
          "The admin no longer gets a generated password.",
        ]
      : [`${role.replace(/-/g, " ")}`, "An internal token is regenerated; the hub and the proxy restart with it.", "", ""];
  const meaning = c.operation === "replace" ? onReplace : c.operation === "create" ? onCreate : c.operation === "delete" ? onDelete : "";
  return { what, meaning, ...(c.operation === "replace" ? { risk: "secrets" as const } : {}) };
}

const hubDown = `Sign-ins, server starts and the hub's pages fail for about ${hubRestartSeconds} s; running servers keep running and stay reachable (the proxy keeps their routes).`;

/** The effect of one change on its own. */
function effectOf(c: PlannedChange): Effect {
  const parent = component(c);
  const base = { action: action(c), changes: [c] };
  const removedOrReplaced = c.operation === "replace" || c.operation === "delete" || c.operation === "other";
  switch (c.type) {
    case VOLUME:
      return { what: named(volumeLabel(c), c), ...base, ...volumeEffect(c) };
    case RANDOM_BYTES:
    case RANDOM_PASSWORD:
      return { ...base, ...secretEffect(c) };
    case RANDOM_ID:
      // components/share-versions.ts: one per share, replaced when the share's options change
      return {
        what: `version of the options of share \`${c.name.replace(/^.*?-share-versions-/, "")}\``,
        ...base,
        meaning:
          c.operation === "replace"
            ? "The share's options changed: its volumes get a new name, so Docker creates them with the new options."
            : "",
      };
    case NETWORK:
      if (c.name.endsWith("-front-network"))
        return {
          what: named("front network", c),
          ...base,
          meaning: removedOrReplaced ? "HTTPS does not answer until the front proxy is back." : "",
        };
      return {
        what: named("network", c),
        ...base,
        meaning: removedOrReplaced
          ? "**Every user server is stopped** and removed (their files are kept); users start them again. The hub and the proxy are recreated on it."
          : "",
      };
    case LEFTOVERS:
      if (c.name.endsWith("-user-servers"))
        return {
          what: "user servers",
          ...base,
          meaning: removedOrReplaced ? "**Every user server is stopped** and removed first (their files are kept)." : "",
        };
      return { what: "hub image tag", ...base, meaning: "" };
    case BUILT_IMAGE:
      return { what: named("hub image", c), ...base, meaning: c.operation === "create" ? "" : "Rebuilt; the hub container follows it." };
    case REMOTE_IMAGE:
      if (parent === "jupyterhub:docker:NotebookImages") {
        const meaning =
          c.operation === "delete"
            ? "No longer offered to users (the image stays on the host)."
            : c.operation === "create"
              ? "Pulled, then offered to users."
              : `New servers start from ${code(dockerName(c, "after"))} instead of ${code(dockerName(c, "before"))}; running servers keep their image until they restart.`;
        return { what: named("notebook image", c), ...base, meaning };
      }
      return { what: named("image", c), ...base, meaning: "" };
    case SERVICE:
      return { what: named("pre-pull service", c), ...base, meaning: "" };
    case CONTAINER:
      return { ...containerEffect(c, parent, removedOrReplaced), ...base };
    default:
      return { what: `${c.type} \`${c.name}\``, ...base, meaning: "" };
  }
}

function containerEffect(c: PlannedChange, parent: string, down: boolean): Pick<Effect, "what" | "meaning"> {
  const roles: Readonly<Record<string, readonly [string, string]>> = {
    "jupyterhub:docker:Hub": ["hub container", hubDown],
    "jupyterhub:docker:Proxy": [
      "proxy container",
      "The hub's address does not answer for a few seconds and open notebooks reconnect; the hub puts the servers' routes back within `proxy.routeCheckSeconds` (5 s by default).",
    ],
    "jupyterhub:docker:Postgres": [
      "PostgreSQL container",
      "The hub's requests fail until PostgreSQL is back; its data stays in its volume.",
    ],
    "jupyterhub:docker:FrontProxy": [
      "front proxy container",
      "HTTPS does not answer for a few seconds; the certificates stay in their volume.",
    ],
    "jupyterhub:docker:EgressGuard": [
      "egress guard container",
      "The user servers' egress rules go with the old guard and come back with the new one: for a few seconds running servers are not restricted.",
    ],
  };
  const [label, meaning] = roles[parent] ?? ["container", ""];
  return { what: named(label, c), meaning: down ? meaning : c.operation === "update" ? "Changed without a restart." : "" };
}

/**
 * The effects of a plan. A delete and a create of the same Docker object (a volume or container of
 * the same name, a secret of the same role) are one effect: the resource moves to a new URN.
 */
export function effectsOf(changes: readonly PlannedChange[]): Effect[] {
  const key = (c: PlannedChange) => {
    if (c.type === RANDOM_BYTES || c.type === RANDOM_PASSWORD) return `${c.type} ${c.name.replace(/^.*?-secrets-/, "")}`;
    const name = dockerName(c, c.operation === "delete" ? "before" : "after");
    return name ? `${c.type} ${name}` : undefined;
  };
  const creates = new Map(changes.filter((c) => c.operation === "create" && key(c)).map((c) => [key(c)!, c]));
  const paired = new Set<PlannedChange>();
  const effects: Effect[] = [];
  for (const c of changes) {
    const twin = c.operation === "delete" ? creates.get(key(c) ?? "") : undefined;
    if (twin && !paired.has(twin)) {
      paired.add(twin);
      effects.push(movedEffect(c, twin));
    }
  }
  for (const c of changes) if (!paired.has(c) && !effects.some((e) => e.changes.includes(c))) effects.push(effectOf(c));
  return effects;
}

/** A resource deleted under one URN and created under another (a renamed component, a missing alias). */
function movedEffect(deleted: PlannedChange, created: PlannedChange): Effect {
  const alone = effectOf({ ...deleted, operation: "replace", after: created.after ?? {} });
  const action = `deleted as \`${deleted.name}\` and created as \`${created.name}\` (a new URN, no alias)`;
  if (deleted.type === VOLUME)
    return {
      what: alone.what,
      action,
      meaning: "Same Docker volume: Pulumi keeps it (`retainOnDelete`) and Docker hands it back by name; the files stay.",
      changes: [deleted, created],
    };
  if (deleted.type === RANDOM_BYTES || deleted.type === RANDOM_PASSWORD) return { ...alone, action, changes: [deleted, created] };
  const clash = deletedFirst.has(deleted.type)
    ? " `pulumi up` creates before it deletes here, so the new one meets the old one's name in use: add an alias."
    : "";
  return { ...alone, action, meaning: `${alone.meaning}${clash}`.trim(), ...(clash ? { warning: true } : {}), changes: [deleted, created] };
}
