/**
 * The soak run (issue 21, item 3): many spawn/stop cycles of a few users against a running hub,
 * some one user at a time, some all users at once, and some stopped as the idle culler stops them
 * (the same DELETE /hub/api/users/<name>/server, sent with the culler's own token), then the leak
 * checks: what the stack's user servers left on the engine (stack-objects.ts), how the hub database
 * grew per cycle (hub-database.ts), and the hub's and the proxy's resident memory (hub-memory.ts).
 *
 * Used by bench/soak.ts (the benchmark) and test/e2e/24-soak.test.ts (its short version in CI).
 */
import { HubApi } from "../test/e2e/hub-api";
import { uniqueName } from "../test/e2e/user-names";
import { isUserVolume, removeUsers } from "./bench-users";
import { changedTables, databaseRows, type DatabaseRows } from "./hub-database";
import { type MemorySample, type Plateau, plateau, sample } from "./hub-memory";
import { type HubStack } from "./hub-stack";
import { newObjects, objectKinds, type Objects, userObjects } from "./stack-objects";

/** How one round of cycles starts and stops the servers. */
export type RoundKind = "one by one" | "all at once" | "all at once, culled";
/** Round r (after the first, all at once) is rotation[r % 3]: every kind has run after three rounds. */
const rotation: readonly RoundKind[] = ["all at once", "one by one", "all at once, culled"];

export interface SoakOptions {
  readonly api: HubApi;
  readonly stack: HubStack;
  /** Spawn/stop cycles in all (one cycle: one server started until ready, then stopped until gone). */
  readonly cycles: number;
  /** Users taking turns (created for the run, deleted at its end). */
  readonly users: number;
  /** Cycles between two memory samples. */
  readonly sampleEvery: number;
  /** The run stops starting cycles after this long (the checks and the clean-up still run). */
  readonly timeLimitMs: number;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

export interface SoakResult {
  readonly cycles: number;
  readonly byKind: Record<RoundKind, number>;
  readonly seconds: number;
  /** Median time of a start until ready and of a stop until gone (ms). */
  readonly medianStartMs: number;
  readonly medianStopMs: number;
  readonly failures: string[];
  readonly memory: MemorySample[];
  readonly hubPlateau: Plateau;
  readonly proxyPlateau: Plateau;
  /** Objects of the stack's user servers before the run, after the cycles, and after the clean-up. */
  readonly objects: { readonly before: Objects; readonly after: Objects; readonly cleanedUp: Objects };
  /** Volumes kept by design after the cycles (the users' own data, removed with the users at the end). */
  readonly keptVolumes: string[];
  /** Rows before the run, after the first round (every user spawned once), after the cycles, after the clean-up. */
  readonly database: {
    readonly before: DatabaseRows;
    readonly warm: DatabaseRows;
    readonly end: DatabaseRows;
    readonly cleanedUp: DatabaseRows;
  };
  /** Everything that should be gone and is not: the run fails on any. */
  readonly leaks: string[];
}

const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);
const poll = 250;

/** Runs the soak and its checks; cleans up what it created (users, their volumes) whatever happens. */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  const log = o.log ?? (() => undefined);
  const pool = (await o.stack.settings()).spawner?.networkPool as string | undefined;
  if (!pool) throw new Error(`${o.stack.hubContainer}: no spawner.networkPool in the hub's settings`);
  const culler = new HubApi({ ...o.api.env, token: await o.stack.cullerToken() });
  const users = Array.from({ length: o.users }, (_, i) => uniqueName(`soak${i}`));
  const userData = (v: string) => isUserVolume(o.stack, users, v);
  const t0 = Date.now();
  const deadline = t0 + o.timeLimitMs;
  const starts: number[] = [];
  const stops: number[] = [];
  const failures: string[] = [];
  const byKind: Record<RoundKind, number> = { "one by one": 0, "all at once": 0, "all at once, culled": 0 };

  /** One cycle of one user: start until ready, stop (by the culler's token when `culled`) until gone. */
  async function start(user: string): Promise<void> {
    const t = Date.now();
    await o.api.startServer(user, {}, 240_000, poll);
    starts.push(Date.now() - t);
  }
  async function stop(user: string, culled: boolean): Promise<void> {
    const t = Date.now();
    if (culled) {
      const res = await culler.request(`/hub/api/users/${encodeURIComponent(user)}/server`, { method: "DELETE" });
      await res.arrayBuffer();
      if (![202, 204].includes(res.status)) throw new Error(`the culler's stop of ${user}: HTTP ${res.status}`);
    }
    await o.api.stopServer(user, 120_000, poll);
    stops.push(Date.now() - t);
  }
  /** Runs cycles of `group`; a failed cycle is recorded (and its server stopped), not fatal. */
  async function cycle(group: string[], culled: boolean): Promise<void> {
    const started = await Promise.allSettled(group.map(start));
    const stopped = await Promise.allSettled(group.map((u) => stop(u, culled)));
    for (const r of [...started, ...stopped]) if (r.status === "rejected") failures.push(String(r.reason));
  }

  const before = { objects: await userObjects(o.stack, pool), rows: await databaseRows(o.stack) };
  const memory: MemorySample[] = [await sample(o.stack, 0)];
  let done = 0;
  let warm: DatabaseRows | undefined;
  let after: Objects | undefined;
  let end: DatabaseRows | undefined;
  try {
    for (const user of users) await o.api.createUser(user);
    for (let round = 0; done < o.cycles && Date.now() < deadline && round < o.cycles; round++) {
      // the first round starts every user once (the rows a user keeps by design exist from then on)
      const kind = round === 0 ? "all at once" : rotation[round % rotation.length]!;
      const group = users.slice(0, Math.min(users.length, o.cycles - done));
      if (kind === "one by one") {
        for (const user of group) {
          if (Date.now() >= deadline) break;
          await cycle([user], false);
          byKind[kind]++;
          done++;
        }
      } else {
        await cycle(group, kind === "all at once, culled");
        byKind[kind] += group.length;
        done += group.length;
      }
      if (round === 0) warm = await databaseRows(o.stack);
      if (done - memory.at(-1)!.cycle >= o.sampleEvery || done >= o.cycles) {
        const s = await sample(o.stack, done);
        memory.push(s);
        log(
          `cycle ${done}/${o.cycles} (${Math.round((Date.now() - t0) / 1000)} s): hub ${s.hub.toFixed(1)} MiB, proxy ${s.proxy.toFixed(1)} MiB`,
        );
      }
    }
    after = await userObjects(o.stack, pool);
    end = await databaseRows(o.stack);
  } finally {
    await removeUsers(o.api, o.stack, users);
  }
  if (!after || !end || !warm) throw new Error("the soak ended before its first round");
  const cleanedUp = { objects: await userObjects(o.stack, pool), rows: await databaseRows(o.stack) };

  const objects = { before: before.objects, after, cleanedUp: cleanedUp.objects };
  const database = { before: before.rows, warm, end, cleanedUp: cleanedUp.rows };
  const leaks = leaksOf(objects, database, userData, done > users.length);
  return {
    cycles: done,
    byKind,
    seconds: (Date.now() - t0) / 1000,
    medianStartMs: median(starts),
    medianStopMs: median(stops),
    failures,
    memory,
    hubPlateau: plateau(memory, "hub"),
    proxyPlateau: plateau(memory, "proxy"),
    objects,
    keptVolumes: after.volumes.filter(userData),
    database,
    leaks,
  };
}

/**
 * What should be gone and is not: objects new after the cycles (but the users' own volumes, kept by
 * design) or after the clean-up; tables that grew after the first round (`perCycle`: when there
 * were cycles after it) or kept rows of the deleted users.
 */
function leaksOf(
  objects: SoakResult["objects"],
  database: SoakResult["database"],
  userData: (volume: string) => boolean,
  perCycle: boolean,
): string[] {
  const leaks: string[] = [];
  const left = newObjects(objects.before, objects.after, (kind, name) => kind === "volumes" && userData(name));
  for (const kind of objectKinds) for (const x of left[kind]) leaks.push(`after the cycles, ${kind}: ${x}`);
  const gone = newObjects(objects.before, objects.cleanedUp);
  for (const kind of objectKinds) for (const x of gone[kind]) leaks.push(`after the clean-up, ${kind}: ${x}`);
  if (perCycle)
    for (const t of changedTables(database.warm, database.end, true)) leaks.push(`hub database, per cycle after the first round: ${t}`);
  for (const t of changedTables(database.before, database.cleanedUp, true)) leaks.push(`hub database, after the users were deleted: ${t}`);
  return leaks;
}
