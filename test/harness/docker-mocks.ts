/**
 * Pulumi mocks that create real Docker objects, with @pulumi/docker 5.x's semantics (and
 * @pulumi/random's for generated secrets), so the real program can run without the Pulumi CLI and
 * end-to-end tests can talk to the real hub.
 *
 * Ownership: every object the harness creates carries
 *   org.europlanet-gmap.harness=<owner>          (the run id, else the stack name)
 *   org.europlanet-gmap.inputs=<sha256>          (canonical JSON of the unwrapped inputs; never a secret itself)
 *   org.europlanet-gmap.harness.resource=<type>::<name>   (the Pulumi resource it stands for)
 *   org.europlanet-gmap.harness.stack=<stack>
 * and nothing without the owner label is ever removed.
 *
 * Lifecycle, like `pulumi up` on existing state:
 * - same inputs  -> the existing object is kept (same id);
 * - Container    -> changed inputs replace it, delete before create (fixed names and ports);
 * - Volume       -> never recreated nor removed: changed inputs only warn (data is never deleted implicitly);
 * - Network      -> replaced when no container uses it, else kept with a warning;
 * - Image        -> rebuilt when the context (Dockerfile + files honouring .dockerignore) or inputs change;
 * - RemoteImage  -> resolved locally, never pulled (pulling is impossible here);
 * - random       -> outputs kept per resource in `<stateDir>/<owner>.json` (mode 0600) until inputs change.
 * Objects of this owner that a run no longer declares are removed by `prune()` (never volumes).
 *
 * Unsupported resource types, inputs and invokes fail loudly; a failure rejects `failed`, which
 * callers race against (a failed resource leaves its dependents unresolved).
 */
import { labelKeys, sortKeys } from "../../components/settings";
import { createHash, randomBytes, randomInt } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type * as pulumi from "@pulumi/pulumi";
import Docker from "dockerode";
import bcryptjs from "bcryptjs";
import { prepareBuildContext } from "./build-context";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const tarStream: { pack(): NodeJS.ReadableStream & { entry(h: Record<string, unknown>, c?: Buffer): void; finalize(): void } } = require("tar-stream");

/** How the Pulumi runtime marks a secret value on the wire (inputs arrive like this). */
export const SECRET_SIG = "4dabf18193072939515e22adb298388d";
export const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

export const LABELS = {
  owner: "org.europlanet-gmap.harness",
  inputs: "org.europlanet-gmap.inputs",
  resource: "org.europlanet-gmap.harness.resource",
  stack: "org.europlanet-gmap.harness.stack",
} as const;

/** Labels the program puts on its objects. */
export const PROGRAM_LABELS = labelKeys;

export const TYPES = {
  network: "docker:index/network:Network",
  volume: "docker:index/volume:Volume",
  image: "docker:index/image:Image",
  remoteImage: "docker:index/remoteImage:RemoteImage",
  container: "docker:index/container:Container",
  password: "random:index/randomPassword:RandomPassword",
  bytes: "random:index/randomBytes:RandomBytes",
} as const;

// ---------------------------------------------------------------------------------------------
// Values

/** True for the runtime's wrapped secret `{ [SECRET_SIG]: SECRET_VALUE, value }`. */
export function isWrappedSecret(v: unknown): v is { value: unknown } {
  return typeof v === "object" && v !== null && (v as Record<string, unknown>)[SECRET_SIG] === SECRET_VALUE;
}

/** Wraps a value as a secret the mock monitor hands back to the program as a secret output. */
export function wrapSecret<T>(value: T): { value: T } {
  return { [SECRET_SIG]: SECRET_VALUE, value } as unknown as { value: T };
}

/** Deep copy with every secret wrapper replaced by its value; `secrets` receives their paths. */
export function unwrapSecrets(value: unknown, secrets: string[] = [], at = ""): any {
  if (isWrappedSecret(value)) {
    secrets.push(at || "(root)");
    return unwrapSecrets(value.value, [], at);
  }
  if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, secrets, `${at}[${i}]`));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v, secrets, at ? `${at}.${k}` : k)]));
  }
  return value;
}

/** JSON with object keys sorted at every level and undefined dropped, on one line. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

export const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Go-style duration ("1m30s", "500ms") to nanoseconds. */
export function durationNs(text: string, what: string): number {
  const units: Record<string, number> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    end = re.lastIndex;
  }
  if (end !== text.length || text === "") throw new Error(`${what}: ${JSON.stringify(text)} is not a duration like "10s"`);
  return Math.round(total);
}

// ---------------------------------------------------------------------------------------------
// Input specs: every input key the harness implements; anything else fails loudly.

type Spec = true | "map" | { readonly [key: string]: Spec } | readonly [Spec];

const labelSpec = [{ label: true, value: true }] as const;

const SPECS: Record<string, Record<string, Spec>> = {
  [TYPES.network]: { name: true, driver: true, labels: labelSpec, options: "map", internal: true, attachable: true, ipv6: true, checkDuplicate: true },
  [TYPES.volume]: { name: true, driver: true, driverOpts: "map", labels: labelSpec },
  [TYPES.image]: {
    imageName: true,
    skipPush: true,
    buildOnPreview: true,
    build: { context: true, dockerfile: true, args: "map", platform: true, builderVersion: true, target: true },
  },
  [TYPES.remoteImage]: { name: true, keepLocally: true, forceRemove: true, triggers: "map", platform: true },
  [TYPES.container]: {
    name: true,
    image: true,
    command: [true],
    entrypoints: [true],
    envs: [true],
    uploads: [{ file: true, content: true, contentBase64: true, executable: true, permissions: true, source: true, sourceHash: true }],
    volumes: [{ volumeName: true, hostPath: true, containerPath: true, readOnly: true }],
    mounts: [
      {
        target: true,
        type: true,
        source: true,
        readOnly: true,
        bindOptions: { propagation: true },
        volumeOptions: { noCopy: true, labels: labelSpec, driverName: true, driverOptions: "map" },
        tmpfsOptions: { sizeBytes: true, mode: true },
      },
    ],
    networksAdvanced: [{ name: true, aliases: [true], ipv4Address: true, ipv6Address: true }],
    ports: [{ internal: true, external: true, ip: true, protocol: true }],
    labels: labelSpec,
    restart: true,
    maxRetryCount: true,
    healthcheck: { tests: [true], interval: true, timeout: true, startPeriod: true, startInterval: true, retries: true },
    user: true,
    workingDir: true,
    hostname: true,
    domainname: true,
    mustRun: true,
    start: true,
    wait: true,
    waitTimeout: true,
    logDriver: true,
    logOpts: "map",
    groupAdds: [true],
    init: true,
    destroyGraceSeconds: true,
    stopSignal: true,
    stopTimeout: true,
    removeVolumes: true,
    privileged: true,
    readOnly: true,
    tmpfs: "map",
    shmSize: true,
    memory: true,
    capabilities: { adds: [true], drops: [true] },
    securityOpts: [true],
    hosts: [{ host: true, ip: true }],
    dns: [true],
    networkMode: true,
  },
  [TYPES.password]: {
    length: true,
    special: true,
    upper: true,
    lower: true,
    numeric: true,
    number: true,
    minUpper: true,
    minLower: true,
    minNumeric: true,
    minSpecial: true,
    overrideSpecial: true,
    keepers: "map",
  },
  [TYPES.bytes]: { length: true, keepers: "map" },
};

function checkInputs(type: string, name: string, inputs: unknown, spec: Spec = { ...SPECS[type]! }, at = ""): void {
  if (spec === true || spec === "map" || inputs === undefined || inputs === null) return;
  if (Array.isArray(spec)) {
    if (!Array.isArray(inputs)) throw new Error(`${type} "${name}": input ${at} should be a list`);
    inputs.forEach((v, i) => checkInputs(type, name, v, spec[0], `${at}[${i}]`));
    return;
  }
  if (typeof inputs !== "object") throw new Error(`${type} "${name}": input ${at} should be an object`);
  for (const key of Object.keys(inputs as object)) {
    const sub = (spec as Record<string, Spec>)[key];
    const where = at ? `${at}.${key}` : key;
    if (sub === undefined) {
      throw new Error(`${type} "${name}": input "${where}" is not implemented by the docker harness (test/harness/docker-mocks.ts)`);
    }
    checkInputs(type, name, (inputs as Record<string, unknown>)[key], sub, where);
  }
}

// ---------------------------------------------------------------------------------------------
// State

interface StateEntry {
  type: string;
  inputsHash: string;
  outputs: Record<string, unknown>;
}

interface HarnessState {
  version: 1;
  stack: string;
  owner: string;
  resources: Record<string, StateEntry>;
}

export function stateFile(stateDir: string, owner: string): string {
  return path.join(stateDir, `${owner}.json`);
}

function loadState(file: string, stack: string, owner: string): HarnessState {
  if (fs.existsSync(file)) {
    const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as HarnessState;
    if (parsed.version === 1 && parsed.resources) return parsed;
  }
  return { version: 1, stack, owner, resources: {} };
}

// ---------------------------------------------------------------------------------------------
// Mocks

export type Action = "created" | "kept" | "replaced" | "built" | "rebuilt" | "adopted" | "resolved" | "generated";

export interface ResourceRecord {
  /** `<type>::<name>`: resource names are unique per type in the program. */
  readonly key: string;
  readonly type: string;
  readonly name: string;
  readonly action: Action;
  /** Docker object id (container, network, image id) or volume name. */
  readonly dockerId?: string;
  readonly dockerName?: string;
  /** Input paths that arrived as secrets. */
  readonly secretInputs: string[];
}

export interface DockerMocksOptions {
  /** Pulumi stack name. */
  readonly stack: string;
  /** Owner label value: a run id (tests: `e2e-...`), else the stack name. */
  readonly owner?: string;
  /** The program directory: build contexts and upload sources are relative to it. */
  readonly projectDir: string;
  /** Where generated secrets persist; default `<projectDir>/.local-state`. */
  readonly stateDir?: string;
  readonly docker?: Docker;
  /** Progress lines; default stderr. */
  readonly log?: (line: string) => void;
}

type Inputs = Record<string, any>;

const isNotFound = (err: unknown) => (err as { statusCode?: number })?.statusCode === 404;

async function inspectOrUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const labelMap = (labels: { label: string; value: string }[] | undefined): Record<string, string> =>
  Object.fromEntries((labels ?? []).map((l) => [l.label, String(l.value)]));

export class DockerMocks implements pulumi.runtime.Mocks {
  readonly stack: string;
  readonly owner: string;
  readonly projectDir: string;
  readonly docker: Docker;
  readonly records: ResourceRecord[] = [];
  readonly warnings: string[] = [];
  readonly failures: Error[] = [];
  /** Rejects with the first failure; race every wait against it. */
  readonly failed: Promise<never>;
  /** Number of newResource calls (to tell that mocks were used at all). */
  calls = 0;

  private readonly log: (line: string) => void;
  private readonly stateFilePath: string;
  private readonly state: HarnessState;
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly declaredKeys = new Set<string>();
  private readonly declaredIds = new Set<string>();
  private rejectFailed!: (err: Error) => void;

  constructor(options: DockerMocksOptions) {
    this.stack = options.stack;
    this.owner = options.owner ?? options.stack;
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(this.owner)) throw new Error(`harness owner ${JSON.stringify(this.owner)} must be a plain name`);
    this.projectDir = path.resolve(options.projectDir);
    this.docker = options.docker ?? new Docker();
    this.log = options.log ?? ((line) => process.stderr.write(`[harness] ${line}\n`));
    this.stateFilePath = stateFile(options.stateDir ?? path.join(this.projectDir, ".local-state"), this.owner);
    this.state = loadState(this.stateFilePath, this.stack, this.owner);
    this.failed = new Promise<never>((_, reject) => {
      this.rejectFailed = reject;
    });
    this.failed.catch(() => undefined);
  }

  // --- Mocks interface ------------------------------------------------------------------------

  newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
    this.calls++;
    const work = this.dispatch(args);
    this.inflight.add(work);
    work.then(
      () => this.inflight.delete(work),
      (err: unknown) => {
        this.inflight.delete(work);
        this.fail(err instanceof Error ? err : new Error(String(err)));
      },
    );
    return work;
  }

  call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
    const err = new Error(`invoke ${args.token} is not implemented by the docker harness`);
    this.fail(err);
    throw err;
  }

  // --- Run control ----------------------------------------------------------------------------

  /** Records a failure (first one rejects `failed`). */
  fail(err: Error): void {
    this.failures.push(err);
    if (this.failures.length === 1) this.rejectFailed(err);
  }

  /** Waits (bounded) until no creation is in flight; never throws. */
  async settled(timeoutMs = 600_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (let i = 0; i < 100_000 && this.inflight.size > 0 && Date.now() < deadline; i++) {
      await Promise.race([Promise.allSettled([...this.inflight]), sleep(Math.max(1, Math.min(1000, deadline - Date.now())))]);
    }
    return this.inflight.size === 0;
  }

  /**
   * After a successful run: removes this owner's containers and networks (and dangling images it
   * built) that the run did not declare, and forgets generated secrets of undeclared resources.
   * Volumes are never touched.
   */
  async prune(): Promise<string[]> {
    await this.settled();
    if (this.failures.length > 0) throw new Error("refusing to prune after a failed run");
    const removed: string[] = [];
    const filters = { label: [`${LABELS.owner}=${this.owner}`] };
    for (const c of await this.docker.listContainers({ all: true, filters })) {
      if (this.declaredIds.has(c.Id)) continue;
      await removeContainer(this.docker, c.Id, 0);
      removed.push(`container ${c.Names[0]?.replace(/^\//, "") ?? c.Id} (${c.Labels[LABELS.resource] ?? "?"})`);
    }
    for (const n of await this.docker.listNetworks({ filters })) {
      if (this.declaredIds.has(n.Id)) continue;
      try {
        await this.docker.getNetwork(n.Id).remove();
        removed.push(`network ${n.Name}`);
      } catch (err) {
        this.warn(`network ${n.Name} is no longer declared but could not be removed: ${(err as Error).message}`);
      }
    }
    for (const img of await this.docker.listImages({ filters: { ...filters, dangling: ["true"] } })) {
      try {
        await this.docker.getImage(img.Id).remove();
        removed.push(`image ${img.Id.slice(0, 19)} (superseded build)`);
      } catch {
        // still used by a container: kept
      }
    }
    for (const key of Object.keys(this.state.resources)) {
      if (!this.declaredKeys.has(key)) delete this.state.resources[key];
    }
    this.saveState();
    for (const r of removed) this.log(`removed ${r} (no longer declared)`);
    return removed;
  }

  /** Writes generated secrets and auto-names (mode 0600). */
  saveState(): void {
    fs.mkdirSync(path.dirname(this.stateFilePath), { recursive: true, mode: 0o700 });
    const tmp = `${this.stateFilePath}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.state, null, 2) + "\n", { mode: 0o600 });
    fs.renameSync(tmp, this.stateFilePath);
    fs.chmodSync(this.stateFilePath, 0o600);
  }

  get stateFile(): string {
    return this.stateFilePath;
  }

  /** created/kept/replaced... counts, one line per object. */
  summary(): string[] {
    return this.records.map((r) => `${r.action.padEnd(9)} ${r.type.split(":").pop()} ${r.dockerName ?? r.name}`);
  }

  // --- Dispatch -------------------------------------------------------------------------------

  private warn(message: string): void {
    this.warnings.push(message);
    this.log(`warning: ${message}`);
  }

  private async dispatch(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
    const { type, name } = args;
    const raw = (args.inputs ?? {}) as Inputs;
    if (args.custom === false) return { id: undefined, state: raw }; // component resources
    if (args.provider && !/::default(_[0-9_]+)?::|^$/.test(args.provider)) {
      throw new Error(`${type} "${name}": explicit provider ${args.provider} is not supported by the docker harness`);
    }
    const spec = SPECS[type];
    if (!spec) throw new Error(`${type} "${name}": resource type not implemented by the docker harness (test/harness/docker-mocks.ts)`);
    const key = `${type}::${name}`;
    if (this.declaredKeys.has(key)) throw new Error(`${type} "${name}" is declared twice`);
    this.declaredKeys.add(key);
    const secretInputs: string[] = [];
    const inputs = unwrapSecrets(raw, secretInputs) as Inputs;
    checkInputs(type, name, inputs);
    const ctx: Ctx = { type, name, key, raw, inputs, secretInputs };
    switch (type) {
      case TYPES.network:
        return this.network(ctx);
      case TYPES.volume:
        return this.volume(ctx);
      case TYPES.image:
        return this.image(ctx);
      case TYPES.remoteImage:
        return this.remoteImage(ctx);
      case TYPES.container:
        return this.container(ctx);
      case TYPES.password:
        return this.randomPassword(ctx);
      case TYPES.bytes:
        return this.randomBytes(ctx);
      default:
        throw new Error(`${type} "${name}": resource type not implemented by the docker harness`);
    }
  }

  private record(ctx: Ctx, action: Action, dockerId?: string, dockerName?: string): void {
    this.records.push({ key: ctx.key, type: ctx.type, name: ctx.name, action, dockerId, dockerName, secretInputs: ctx.secretInputs });
    if (dockerId) this.declaredIds.add(dockerId);
    const short = ctx.type.split(":").pop();
    this.log(`${action} ${short} ${dockerName ?? ctx.name}${dockerId && dockerId !== dockerName ? ` (${dockerId.replace(/^sha256:/, "").slice(0, 12)})` : ""}`);
  }

  private harnessLabels(key: string, hash: string): Record<string, string> {
    return { [LABELS.owner]: this.owner, [LABELS.inputs]: hash, [LABELS.resource]: key, [LABELS.stack]: this.stack };
  }

  /** Pulumi auto-naming (`<name>-<7 hex>`), stable across runs through the state file. */
  private autoName(ctx: Ctx): string {
    const entry = this.state.resources[`${ctx.key}#autoname`];
    if (entry && typeof entry.outputs.name === "string") return entry.outputs.name;
    const generated = `${ctx.name}-${randomBytes(4).toString("hex").slice(0, 7)}`;
    this.state.resources[`${ctx.key}#autoname`] = { type: ctx.type, inputsHash: "", outputs: { name: generated } };
    this.declaredKeys.add(`${ctx.key}#autoname`);
    this.saveState();
    return generated;
  }

  private nameOf(ctx: Ctx): string {
    if (typeof ctx.inputs.name === "string" && ctx.inputs.name !== "") return ctx.inputs.name;
    const n = this.autoName(ctx);
    this.declaredKeys.add(`${ctx.key}#autoname`);
    return n;
  }

  private ownedBy(labels: Record<string, string> | undefined, key: string): boolean {
    return labels?.[LABELS.owner] === this.owner && labels?.[LABELS.resource] === key;
  }

  // --- Network --------------------------------------------------------------------------------

  private async network(ctx: Ctx): Promise<pulumi.runtime.MockResourceResult> {
    const { inputs } = ctx;
    const netName = this.nameOf(ctx);
    const hash = sha256(canonicalJson(inputs));
    const filters = { label: [`${LABELS.owner}=${this.owner}`, `${LABELS.resource}=${ctx.key}`] };
    const previous = await this.docker.listNetworks({ filters });
    const byName = await inspectOrUndefined(this.docker.getNetwork(netName).inspect());
    if (byName && !this.ownedBy(byName.Labels, ctx.key)) {
      throw new Error(`${ctx.type} "${ctx.name}": a network named ${netName} exists and was not created by the harness for ${this.owner} (${ctx.key}); remove it or use another prefix`);
    }
    let kept: Docker.NetworkInspectInfo | undefined;
    let replaced = false;
    for (const old of previous) {
      const oldInfo = (await inspectOrUndefined(this.docker.getNetwork(old.Id).inspect())) as Docker.NetworkInspectInfo | undefined;
      if (!oldInfo) continue;
      if (oldInfo.Name === netName && oldInfo.Labels?.[LABELS.inputs] === hash) {
        kept = oldInfo;
        continue;
      }
      const users = Object.keys(oldInfo.Containers ?? {});
      if (users.length > 0) {
        this.warn(`network ${oldInfo.Name}: inputs changed but ${users.length} container(s) still use it; kept as it is`);
        if (oldInfo.Name === netName) kept = oldInfo;
        else this.declaredIds.add(oldInfo.Id);
        continue;
      }
      await this.docker.getNetwork(oldInfo.Id).remove();
      replaced = true;
    }
    let info = kept;
    if (!info) {
      const created = await this.docker.createNetwork({
        Name: netName,
        Driver: inputs.driver ?? "bridge",
        Internal: inputs.internal ?? false,
        Attachable: inputs.attachable ?? false,
        EnableIPv6: inputs.ipv6 ?? false,
        CheckDuplicate: true,
        Options: inputs.options ?? {},
        Labels: { ...labelMap(inputs.labels), ...this.harnessLabels(ctx.key, hash) },
      });
      info = (await this.docker.getNetwork(created.id).inspect()) as Docker.NetworkInspectInfo;
    }
    this.record(ctx, kept ? "kept" : replaced ? "replaced" : "created", info.Id, info.Name);
    return {
      id: info.Id,
      state: {
        ...ctx.raw,
        name: ctx.raw.name ?? info.Name,
        driver: info.Driver,
        scope: info.Scope,
        internal: info.Internal,
        attachable: info.Attachable,
        options: ctx.raw.options ?? info.Options ?? {},
      },
    };
  }

  // --- Volume ---------------------------------------------------------------------------------

  private async volume(ctx: Ctx): Promise<pulumi.runtime.MockResourceResult> {
    const { inputs } = ctx;
    const volName = this.nameOf(ctx);
    const hash = sha256(canonicalJson(inputs));
    const existing = (await inspectOrUndefined(this.docker.getVolume(volName).inspect())) as (Docker.VolumeInspectInfo & { Labels?: Record<string, string> }) | undefined;
    let action: Action;
    let info = existing;
    if (existing) {
      if (existing.Labels?.[LABELS.owner] === this.owner) {
        action = "kept";
        if (existing.Labels?.[LABELS.inputs] !== hash) {
          this.warn(`volume ${volName}: inputs changed; the harness never recreates a volume (its data is never deleted implicitly): remove it yourself (local:down --volumes) to apply them`);
        }
      } else {
        action = "adopted";
        this.warn(`volume ${volName} already exists and was not created by the harness for ${this.owner}: used as it is, and never removed by the harness`);
      }
    } else {
      await this.docker.createVolume({
        Name: volName,
        Driver: inputs.driver ?? "local",
        DriverOpts: inputs.driverOpts ?? {},
        Labels: { ...labelMap(inputs.labels), ...this.harnessLabels(ctx.key, hash) },
      });
      info = (await this.docker.getVolume(volName).inspect()) as Docker.VolumeInspectInfo;
      action = "created";
    }
    this.record(ctx, action, volName, volName);
    return {
      id: volName,
      state: { ...ctx.raw, name: ctx.raw.name ?? volName, driver: info!.Driver, mountpoint: info!.Mountpoint },
    };
  }

  // --- Image (native provider: local build, skipPush) -----------------------------------------

  private async image(ctx: Ctx): Promise<pulumi.runtime.MockResourceResult> {
    const { inputs } = ctx;
    if (inputs.skipPush !== true) {
      throw new Error(`${ctx.type} "${ctx.name}": skipPush must be true: the harness builds local images only and never pushes`);
    }
    const imageName: string = inputs.imageName;
    if (!imageName) throw new Error(`${ctx.type} "${ctx.name}": imageName is required`);
    const build: Inputs = inputs.build ?? {};
    const bv = build.builderVersion ?? "BuilderBuildKit";
    if (bv !== "BuilderBuildKit" && bv !== "BuilderV1") throw new Error(`${ctx.type} "${ctx.name}": invalid Docker Builder version ${JSON.stringify(bv)}`);
    const context = prepareBuildContext(this.projectDir, build.context ?? ".", build.dockerfile);
    const hash = sha256(canonicalJson({ inputs, context: context.hash }));
    const existing = await inspectOrUndefined(this.docker.getImage(imageName).inspect());
    let action: Action;
    let id: string;
    if (existing && existing.Config?.Labels?.[LABELS.inputs] === hash) {
      action = "kept";
      id = existing.Id;
    } else {
      action = existing?.Config?.Labels?.[LABELS.owner] ? "rebuilt" : "built";
      this.log(`building ${imageName} from ${path.relative(this.projectDir, context.contextDir) || "."} (${context.files} files, ${bv})`);
      const stream = await this.docker.buildImage(context.tar(), {
        t: imageName,
        dockerfile: context.dockerfileInTar,
        buildargs: build.args ?? {},
        labels: this.harnessLabels(ctx.key, hash),
        version: bv === "BuilderV1" ? "1" : "2",
        rm: true,
        forcerm: true,
        ...(build.platform ? { platform: build.platform } : {}),
        ...(build.target ? { target: build.target } : {}),
      } as Docker.ImageBuildOptions);
      const tail: string[] = [];
      // dockerode's followProgress also decodes BuildKit's protobuf trace into log lines.
      const d = this.docker as any;
      const follow = (s: NodeJS.ReadableStream, done: (e: Error | null, o: any[]) => void, each: (e: any) => void) =>
        typeof d.followProgress === "function" ? d.followProgress(s, done, each) : this.docker.modem.followProgress(s, done, each);
      const events: any[] = await new Promise((resolve, reject) =>
        follow(
          stream,
          (err: Error | null, out: any[]) => (err ? reject(err) : resolve(out)),
          (e: any) => {
            const line = (e.stream ?? e.status ?? "").toString().trimEnd();
            if (line) tail.push(...line.split("\n"));
            if (tail.length > 40) tail.splice(0, tail.length - 40);
          },
        ),
      );
      const failed = events.find((e) => e.error || e.errorDetail);
      if (failed) {
        throw new Error(`${ctx.type} "${ctx.name}": building ${imageName} failed: ${failed.error ?? failed.errorDetail?.message}\n${tail.join("\n")}`);
      }
      const built = await this.docker.getImage(imageName).inspect();
      if (built.Config?.Labels?.[LABELS.inputs] !== hash) throw new Error(`${ctx.type} "${ctx.name}": build of ${imageName} finished but the tag does not point at the new image`);
      id = built.Id;
    }
    this.record(ctx, action, id, imageName);
    return {
      id: imageName,
      state: {
        ...ctx.raw,
        imageName,
        repoDigest: id,
        baseImageName: imageName,
        context: build.context ?? ".",
        dockerfile: context.relDockerfile,
        platform: build.platform,
        registryServer: undefined,
      },
    };
  }

  // --- RemoteImage ----------------------------------------------------------------------------

  private async remoteImage(ctx: Ctx): Promise<pulumi.runtime.MockResourceResult> {
    const name: string = ctx.inputs.name;
    const found = await inspectOrUndefined(this.docker.getImage(name).inspect());
    if (!found) {
      throw new Error(
        `${ctx.type} "${ctx.name}": image ${name} not found locally; build the stand-ins with scripts/standins.sh (npm run images:standins): the harness never pulls`,
      );
    }
    this.record(ctx, "resolved", found.Id, name);
    return {
      id: `${found.Id}${name}`,
      state: { ...ctx.raw, name, imageId: found.Id, repoDigest: found.RepoDigests?.[0] ?? `${name}@${found.Id}` },
    };
  }

  // --- Container ------------------------------------------------------------------------------

  private async container(ctx: Ctx): Promise<pulumi.runtime.MockResourceResult> {
    const { inputs } = ctx;
    const containerName = this.nameOf(ctx);
    const hash = sha256(canonicalJson(inputs));
    const image = await inspectOrUndefined(this.docker.getImage(inputs.image).inspect());
    if (!image) {
      throw new Error(`${ctx.type} "${ctx.name}": image ${inputs.image} not found locally; build the stand-ins with scripts/standins.sh (npm run images:standins): the harness never pulls`);
    }
    const previous = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.owner}=${this.owner}`, `${LABELS.resource}=${ctx.key}`] },
    });
    const byName = await inspectOrUndefined(this.docker.getContainer(containerName).inspect());
    if (byName && !this.ownedBy(byName.Config.Labels, ctx.key)) {
      throw new Error(`${ctx.type} "${ctx.name}": a container named ${containerName} exists and was not created by the harness for ${this.owner} (${ctx.key}); remove it or use another prefix`);
    }
    const keep = byName && byName.Config.Labels?.[LABELS.inputs] === hash ? byName : undefined;
    let replaced = false;
    for (const old of previous) {
      if (keep && old.Id === keep.Id) continue;
      // delete before replace: fixed names and ports
      await removeContainer(this.docker, old.Id, Number(inputs.destroyGraceSeconds ?? 0));
      replaced = true;
    }
    let id: string;
    if (keep) {
      id = keep.Id;
      if (inputs.mustRun !== false && inputs.start !== false && !keep.State.Running) {
        this.log(`starting stopped container ${containerName} (mustRun)`);
        await this.docker.getContainer(id).start();
      }
    } else {
      id = await this.createContainer(ctx, containerName, hash);
    }
    if (inputs.wait === true && inputs.start !== false) await this.waitHealthy(ctx, id, containerName, Number(inputs.waitTimeout ?? 60));
    const info = await this.docker.getContainer(id).inspect();
    this.record(ctx, keep ? "kept" : replaced ? "replaced" : "created", id, containerName);
    const networkDatas = Object.entries(info.NetworkSettings.Networks ?? {}).map(([networkName, n]) => ({
      networkName,
      ipAddress: n.IPAddress,
      ipPrefixLength: n.IPPrefixLen,
      gateway: n.Gateway,
      macAddress: n.MacAddress,
      globalIpv6Address: n.GlobalIPv6Address,
      globalIpv6PrefixLength: n.GlobalIPv6PrefixLen,
      ipv6Gateway: n.IPv6Gateway,
    }));
    // Ports published without `external` get one from Docker: report it, as the provider reads it back.
    const ports = Array.isArray(ctx.raw.ports)
      ? (ctx.raw.ports as Inputs[]).map((p) => {
          if (p.external !== undefined || isWrappedSecret(p)) return p;
          const bound = info.NetworkSettings.Ports?.[`${p.internal}/${p.protocol ?? "tcp"}`]?.[0]?.HostPort;
          return bound ? { ...p, external: Number(bound) } : p;
        })
      : ctx.raw.ports;
    return {
      id,
      state: {
        ...ctx.raw,
        name: ctx.raw.name ?? containerName,
        image: ctx.raw.image,
        networkDatas,
        hostname: ctx.raw.hostname ?? info.Config.Hostname,
        ...(ports !== undefined ? { ports } : {}),
      },
    };
  }

  private async createContainer(ctx: Ctx, containerName: string, hash: string): Promise<string> {
    const { inputs } = ctx;
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
    for (const p of (inputs.ports ?? []) as Inputs[]) {
      const port = `${p.internal}/${p.protocol ?? "tcp"}`;
      exposed[port] = {};
      (bindings[port] ??= []).push({ HostIp: p.ip ?? "0.0.0.0", HostPort: p.external === undefined ? "" : String(p.external) });
    }
    const binds: string[] = [];
    for (const v of (inputs.volumes ?? []) as Inputs[]) {
      if (!v.containerPath) throw new Error(`${ctx.type} "${ctx.name}": volumes[] needs containerPath`);
      const source = v.hostPath || v.volumeName;
      if (source) binds.push(`${source}:${v.containerPath}:${v.readOnly ? "ro" : "rw"}`);
      else exposed[v.containerPath] ??= {};
    }
    const anonymous = ((inputs.volumes ?? []) as Inputs[]).filter((v) => !v.hostPath && !v.volumeName).map((v) => [v.containerPath, {}]);
    const mounts: Docker.MountSettings[] = ((inputs.mounts ?? []) as Inputs[]).map((m): any => ({
      Type: m.type,
      Target: m.target,
      Source: m.source,
      ReadOnly: m.readOnly ?? false,
      ...(m.type === "bind" && m.bindOptions ? { BindOptions: { Propagation: m.bindOptions.propagation } } : {}),
      ...(m.type === "volume" && m.volumeOptions
        ? {
            VolumeOptions: {
              NoCopy: m.volumeOptions.noCopy ?? false,
              Labels: labelMap(m.volumeOptions.labels),
              ...(m.volumeOptions.driverName || m.volumeOptions.driverOptions
                ? { DriverConfig: { Name: m.volumeOptions.driverName ?? "", Options: m.volumeOptions.driverOptions ?? {} } }
                : {}),
            },
          }
        : {}),
      ...(m.type === "tmpfs" && m.tmpfsOptions ? { TmpfsOptions: { SizeBytes: m.tmpfsOptions.sizeBytes, Mode: m.tmpfsOptions.mode } } : {}),
    }));
    const hc = inputs.healthcheck as Inputs | undefined;
    const networks = (inputs.networksAdvanced ?? []) as Inputs[];
    const [first, ...rest] = networks;
    const endpoint = (n: Inputs) => ({
      Aliases: n.aliases ?? [],
      ...(n.ipv4Address || n.ipv6Address ? { IPAMConfig: { IPv4Address: n.ipv4Address, IPv6Address: n.ipv6Address } } : {}),
    });
    const createOptions: Docker.ContainerCreateOptions = {
      name: containerName,
      Image: inputs.image,
      Cmd: inputs.command,
      Entrypoint: inputs.entrypoints,
      Env: inputs.envs ?? [],
      User: inputs.user ?? "",
      WorkingDir: inputs.workingDir ?? "",
      Hostname: inputs.hostname ?? "",
      Domainname: inputs.domainname ?? "",
      StopSignal: inputs.stopSignal,
      StopTimeout: inputs.stopTimeout,
      Labels: { ...labelMap(inputs.labels), ...this.harnessLabels(ctx.key, hash) },
      ExposedPorts: exposed,
      ...(anonymous.length ? { Volumes: Object.fromEntries(anonymous) } : {}),
      ...(hc
        ? {
            Healthcheck: {
              Test: hc.tests ?? [],
              Interval: durationNs(hc.interval ?? "0s", "healthcheck.interval"),
              Timeout: durationNs(hc.timeout ?? "0s", "healthcheck.timeout"),
              StartPeriod: durationNs(hc.startPeriod ?? "0s", "healthcheck.startPeriod"),
              ...(hc.startInterval ? { StartInterval: durationNs(hc.startInterval, "healthcheck.startInterval") } : {}),
              Retries: hc.retries ?? 0,
            },
          }
        : {}),
      HostConfig: {
        Binds: binds,
        Mounts: mounts,
        PortBindings: bindings,
        RestartPolicy: { Name: inputs.restart || "no", MaximumRetryCount: inputs.maxRetryCount ?? 0 },
        LogConfig: { Type: inputs.logDriver ?? "json-file", Config: inputs.logOpts ?? {} },
        GroupAdd: inputs.groupAdds,
        Init: inputs.init ?? false,
        Privileged: inputs.privileged ?? false,
        ReadonlyRootfs: inputs.readOnly ?? false,
        ...(inputs.tmpfs ? { Tmpfs: inputs.tmpfs } : {}),
        ...(inputs.shmSize ? { ShmSize: inputs.shmSize * 1024 * 1024 } : {}),
        ...(inputs.memory ? { Memory: inputs.memory * 1024 * 1024 } : {}),
        ...(inputs.capabilities ? { CapAdd: inputs.capabilities.adds, CapDrop: inputs.capabilities.drops } : {}),
        ...(inputs.securityOpts ? { SecurityOpt: inputs.securityOpts } : {}),
        ...(inputs.hosts ? { ExtraHosts: (inputs.hosts as Inputs[]).map((h) => `${h.host}:${h.ip}`) } : {}),
        ...(inputs.dns ? { Dns: inputs.dns } : {}),
        ...(first ? { NetworkMode: first.name } : inputs.networkMode ? { NetworkMode: inputs.networkMode } : {}),
      },
      ...(first ? { NetworkingConfig: { EndpointsConfig: { [first.name]: endpoint(first) } } } : {}),
    };
    const container = await this.docker.createContainer(createOptions);
    try {
      for (const n of rest) await this.docker.getNetwork(n.name).connect({ Container: container.id, EndpointConfig: endpoint(n) });
      for (const [i, u] of ((inputs.uploads ?? []) as Inputs[]).entries()) {
        await container.putArchive(this.uploadTar(ctx, u, i), { path: "/" });
      }
      if (inputs.start !== false) await container.start();
    } catch (err) {
      await removeContainer(this.docker, container.id, 0).catch(() => undefined);
      throw new Error(`${ctx.type} "${ctx.name}": creating container ${containerName} failed: ${(err as Error).message}`);
    }
    return container.id;
  }

  /** One upload as the provider writes it: a one-file tar extracted at "/", mode from permissions/executable. */
  private uploadTar(ctx: Ctx, u: Inputs, index: number): NodeJS.ReadableStream {
    const given = [u.content, u.contentBase64, u.source].filter((v) => v !== undefined && v !== "");
    if (given.length !== 1) {
      throw new Error(`${ctx.type} "${ctx.name}": uploads[${index}] (${u.file}) needs exactly one of content, contentBase64, source`);
    }
    const body =
      u.content !== undefined && u.content !== ""
        ? Buffer.from(String(u.content), "utf8")
        : u.contentBase64
          ? Buffer.from(String(u.contentBase64), "base64")
          : fs.readFileSync(path.resolve(this.projectDir, String(u.source)));
    const mode = u.permissions ? parseInt(String(u.permissions), 8) : u.executable ? 0o744 : 0o644;
    if (Number.isNaN(mode)) throw new Error(`${ctx.type} "${ctx.name}": uploads[${index}].permissions ${JSON.stringify(u.permissions)} is not octal`);
    const pack = tarStream.pack();
    pack.entry({ name: String(u.file).replace(/^\/+/, ""), mode, size: body.length, mtime: new Date(), uid: 0, gid: 0 }, body);
    pack.finalize();
    return pack;
  }

  private async waitHealthy(ctx: Ctx, id: string, containerName: string, timeoutSeconds: number): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    const c = this.docker.getContainer(id);
    let last: Docker.ContainerInspectInfo | undefined;
    for (let i = 0; i < timeoutSeconds * 2 + 2 && Date.now() <= deadline; i++) {
      last = await c.inspect();
      const health = last.State.Health;
      if (!health) {
        throw new Error(`${ctx.type} "${ctx.name}": you have supplied a 'wait' argument, but the container does not have a healthcheck defined`);
      }
      if (health.Status === "healthy") return;
      if (!last.State.Running && !last.State.Restarting) break;
      await sleep(500);
    }
    const logs = (await c.logs({ stdout: true, stderr: true, tail: 30 }).catch(() => Buffer.from(""))) as Buffer;
    const probe = last?.State.Health?.Log?.slice(-1)[0];
    throw new Error(
      `${ctx.type} "${ctx.name}": container ${containerName} did not become healthy within ${timeoutSeconds}s ` +
        `(state ${last?.State.Status}, health ${last?.State.Health?.Status}, exit ${last?.State.ExitCode})` +
        (probe ? `\nlast healthcheck (exit ${probe.ExitCode}): ${probe.Output.trim()}` : "") +
        `\nlast log lines:\n${demuxLogs(logs)}`,
    );
  }

  // --- random ---------------------------------------------------------------------------------

  private persisted(ctx: Ctx, generate: () => Record<string, unknown>): { outputs: Record<string, unknown>; action: Action } {
    const hash = sha256(canonicalJson(ctx.inputs));
    const entry = this.state.resources[ctx.key];
    if (entry && entry.type === ctx.type && entry.inputsHash === hash) return { outputs: entry.outputs, action: "kept" };
    const outputs = generate();
    this.state.resources[ctx.key] = { type: ctx.type, inputsHash: hash, outputs };
    this.saveState();
    return { outputs, action: entry ? "replaced" : "generated" };
  }

  private randomPassword(ctx: Ctx): pulumi.runtime.MockResourceResult {
    const { outputs, action } = this.persisted(ctx, () => {
      const result = generatePassword(ctx.inputs);
      return { result, bcryptHash: bcryptjs.hashSync(result, 10) };
    });
    this.record(ctx, action);
    return {
      id: "none",
      state: { ...ctx.raw, result: wrapSecret(outputs.result), bcryptHash: wrapSecret(outputs.bcryptHash) },
    };
  }

  private randomBytes(ctx: Ctx): pulumi.runtime.MockResourceResult {
    const length = Number(ctx.inputs.length);
    if (!Number.isInteger(length) || length < 1) throw new Error(`${ctx.type} "${ctx.name}": length must be a positive integer`);
    const { outputs, action } = this.persisted(ctx, () => {
      const bytes = randomBytes(length);
      return { hex: bytes.toString("hex"), base64: bytes.toString("base64") };
    });
    this.record(ctx, action);
    return { id: "none", state: { ...ctx.raw, hex: wrapSecret(outputs.hex), base64: wrapSecret(outputs.base64) } };
  }
}

interface Ctx {
  readonly type: string;
  readonly name: string;
  readonly key: string;
  /** Inputs as received (secrets wrapped): echoed back so secretness survives. */
  readonly raw: Inputs;
  /** Inputs with secrets unwrapped: what Docker gets. */
  readonly inputs: Inputs;
  readonly secretInputs: string[];
}

/** random_password's algorithm: required minimums first, the rest from every enabled class, shuffled. */
export function generatePassword(inputs: Inputs): string {
  const length = Number(inputs.length);
  if (!Number.isInteger(length) || length < 1) throw new Error("RandomPassword length must be a positive integer");
  const classes = {
    upper: { on: inputs.upper ?? true, chars: "ABCDEFGHIJKLMNOPQRSTUVWXYZ", min: inputs.minUpper ?? 0 },
    lower: { on: inputs.lower ?? true, chars: "abcdefghijklmnopqrstuvwxyz", min: inputs.minLower ?? 0 },
    numeric: { on: inputs.numeric ?? inputs.number ?? true, chars: "0123456789", min: inputs.minNumeric ?? 0 },
    special: { on: inputs.special ?? true, chars: inputs.overrideSpecial ?? "!@#$%&*()-_=+[]{}<>:?", min: inputs.minSpecial ?? 0 },
  };
  const pick = (chars: string) => chars[randomInt(chars.length)]!;
  const out: string[] = [];
  let all = "";
  for (const c of Object.values(classes)) {
    if (!c.on || c.chars === "") continue;
    all += c.chars;
    for (let i = 0; i < c.min; i++) out.push(pick(c.chars));
  }
  if (all === "") throw new Error("RandomPassword: every character class is disabled");
  while (out.length < length) out.push(pick(all));
  for (let i = out.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out.join("");
}

/** Docker's multiplexed log stream (no TTY) to text. */
export function demuxLogs(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return (parts.length ? Buffer.concat(parts) : buf).toString("utf8");
}

/** Stops (grace seconds, provider default 0) and force-removes a container; a missing one is fine. */
export async function removeContainer(docker: Docker, id: string, graceSeconds = 0): Promise<void> {
  const c = docker.getContainer(id);
  try {
    await c.stop({ t: graceSeconds });
  } catch (err) {
    const code = (err as { statusCode?: number }).statusCode;
    if (code !== 304 && code !== 404) throw err;
  }
  try {
    await c.remove({ force: true, v: true });
  } catch (err) {
    const e = err as { statusCode?: number; message?: string };
    if (e.statusCode !== 404 && !/already in progress/.test(e.message ?? "")) throw err;
  }
  for (let i = 0; i < 60; i++) {
    if (!(await inspectOrUndefined(c.inspect()))) return;
    await sleep(250);
  }
  throw new Error(`container ${id} was not removed within 15s`);
}

// ---------------------------------------------------------------------------------------------
// Cleanup by label (local.ts down / janitor, tests)

export interface RemovalOptions {
  /** Which owner label values to remove. */
  readonly owners: (owner: string) => boolean;
  /** Also remove volumes (harness-created ones, plus user volumes of those hubs). */
  readonly volumes?: boolean;
  /** Also remove images the harness built (default true). */
  readonly images?: boolean;
  readonly docker?: Docker;
  readonly log?: (line: string) => void;
}

export interface RemovalSummary {
  readonly removed: string[];
  readonly failed: string[];
}

/**
 * Removes harness objects of the selected owners: containers, then user containers the hubs
 * spawned on those networks (label component=user), networks, images it built and, when asked,
 * volumes (the harness's and the user volumes labelled with the same prefix and stack).
 */
export async function removeHarnessObjects(options: RemovalOptions): Promise<RemovalSummary> {
  const docker = options.docker ?? new Docker();
  const log = options.log ?? ((line: string) => process.stderr.write(`[harness] ${line}\n`));
  const removed: string[] = [];
  const failed: string[] = [];
  const ownerOf = (labels: Record<string, string> | undefined | null) => labels?.[LABELS.owner];
  const selected = (labels: Record<string, string> | undefined | null) => {
    const owner = ownerOf(labels);
    return owner !== undefined && options.owners(owner);
  };
  const attempt = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      removed.push(what);
      log(`removed ${what}`);
    } catch (err) {
      if (isNotFound(err)) return;
      failed.push(`${what}: ${(err as Error).message}`);
      log(`could not remove ${what}: ${(err as Error).message}`);
    }
  };
  const filters = { label: [LABELS.owner] };
  const containers = (await docker.listContainers({ all: true, filters })).filter((c) => selected(c.Labels));
  const networks = (await docker.listNetworks({ filters })).filter((n) => selected(n.Labels));
  const volumes = ((await docker.listVolumes({ filters })).Volumes ?? []).filter((v) => selected(v.Labels));
  // prefix/stack of the hubs these objects belong to: their user objects carry the same labels.
  const hubs = new Set(
    [...containers.map((c) => c.Labels), ...networks.map((n) => n.Labels), ...volumes.map((v) => v.Labels ?? {})]
      .filter((l): l is Record<string, string> => !!l?.[PROGRAM_LABELS.prefix] && !!l?.[PROGRAM_LABELS.stack])
      .map((l) => `${l[PROGRAM_LABELS.prefix]}\n${l[PROGRAM_LABELS.stack]}`),
  );
  const isUserObject = (labels: Record<string, string> | undefined | null) =>
    !!labels && labels[PROGRAM_LABELS.component] === "user" && hubs.has(`${labels[PROGRAM_LABELS.prefix]}\n${labels[PROGRAM_LABELS.stack]}`);

  for (const c of containers) {
    await attempt(`container ${c.Names[0]?.replace(/^\//, "") ?? c.Id}`, () => removeContainer(docker, c.Id, 0));
  }
  for (const n of networks) {
    const info = await inspectOrUndefined(docker.getNetwork(n.Id).inspect());
    for (const [cid, c] of Object.entries((info?.Containers ?? {}) as Record<string, { Name: string }>)) {
      const ci = await inspectOrUndefined(docker.getContainer(cid).inspect());
      if (ci && isUserObject(ci.Config.Labels)) await attempt(`user container ${c.Name}`, () => removeContainer(docker, cid, 0));
    }
    await attempt(`network ${n.Name}`, () => docker.getNetwork(n.Id).remove());
  }
  if (options.images !== false) {
    for (const img of await docker.listImages({ filters })) {
      if (!selected(img.Labels)) continue;
      const tags = (img.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
      await attempt(`image ${tags.join(", ") || img.Id.slice(0, 19)}`, async () => {
        for (const t of tags) await docker.getImage(t).remove({ noprune: false });
        if (tags.length === 0) await docker.getImage(img.Id).remove();
      });
    }
  }
  if (options.volumes) {
    const userVolumes = ((await docker.listVolumes({ filters: { label: [`${PROGRAM_LABELS.component}=user`] } })).Volumes ?? []).filter((v) =>
      isUserObject(v.Labels),
    );
    for (const v of [...volumes, ...userVolumes]) await attempt(`volume ${v.Name}`, () => docker.getVolume(v.Name).remove());
  }
  return { removed, failed };
}
