/**
 * The load run (issue 21, item 4): N native users log in through the login form and ask for a
 * server through the spawn form, all at once, while other logged-in users flood the hub with page
 * loads (/hub/home), bounded in count and time. Every request is timed (traffic.ts); each user ends
 * with a server (ready, and answering through the proxy), a clear "try later" (429 or 503 with a
 * message saying so), or neither, which fails the run, as does any 5xx.
 *
 * Used by bench/load.ts (the benchmark) and test/e2e/25-load.test.ts (its short version in CI).
 */
import { BrowserSession } from "../test/e2e/browser-session";
import { type HubApi } from "../test/e2e/hub-api";
import { type Page } from "../test/e2e/pages";
import { uniqueName, userUrlName } from "../test/e2e/user-names";
import { removeUsers, signUpAuthorized } from "./bench-users";
import { type HubStack } from "./hub-stack";
import { Traffic } from "./traffic";

export interface LoadOptions {
  readonly api: HubApi;
  readonly stack: HubStack;
  /** Users logging in and starting a server at once. */
  readonly users: number;
  /** Other logged-in users loading pages meanwhile, and the most page loads they make in all. */
  readonly flooders: number;
  readonly floodLimit: number;
  /** Bound of the whole measured phase (each spawn, the flood). */
  readonly timeLimitMs: number;
  /** The notebook image chosen in the spawn form (its short name). */
  readonly image: string;
  readonly log?: (line: string) => void;
}

/** How one user's attempt ended. */
export interface UserOutcome {
  readonly user: string;
  readonly outcome: "server" | "try later" | "neither";
  /** From the spawn form's POST until the hub lists the server ready (ms). */
  readonly spawnMs?: number;
  readonly detail?: string;
}

export interface LoadResult {
  readonly outcomes: UserOutcome[];
  readonly traffic: Traffic;
  /** Page loads of the flood made while spawns were under way. */
  readonly floodDuringSpawns: number;
  readonly seconds: number;
}

const password = "Load-Bench-Passw0rd";
const tryLater = (page: Page) => (page.status === 429 || page.status === 503) && /try again|too many|later/i.test(page.text);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** How often each user's progress is asked (a spawn page's own progress stream is one request per user). */
const pollMs = 2000;

/** One user: login form, spawn form, then the hub's API until the server is ready; then its API through the proxy. */
async function attempt(o: LoadOptions, traffic: Traffic, user: string, deadline: number): Promise<UserOutcome> {
  const session = new BrowserSession(o.api.env);
  const status = (p: Page) => p.status;
  const login = await traffic.time("login (form, redirects)", () => session.login(user, password), status);
  if (tryLater(login)) return { user, outcome: "try later", detail: `login: HTTP ${login.status}` };
  if (login.status !== 200 || new URL(login.url).pathname.endsWith("/hub/login"))
    return { user, outcome: "neither", detail: `login: HTTP ${login.status} at ${login.url}` };
  const t0 = Date.now();
  const spawn = await traffic.time("spawn (form, redirects)", () => session.submit("/hub/spawn", { image: o.image }), status);
  if (tryLater(spawn)) return { user, outcome: "try later", detail: `spawn: HTTP ${spawn.status}` };
  if (spawn.status !== 200) return { user, outcome: "neither", detail: `spawn: HTTP ${spawn.status}: ${spawn.text.slice(0, 200)}` };
  for (let i = 0; i < 2000 && Date.now() < deadline; i++) {
    const res = await traffic.time(
      "hub API (GET user)",
      () => o.api.request(`/hub/api/users/${encodeURIComponent(user)}`),
      (r) => r.status,
    );
    const model = res.status === 200 ? await res.json() : (await res.arrayBuffer(), undefined);
    const server = model?.servers?.[""];
    if (server?.ready) {
      const spawnMs = Date.now() - t0;
      const api = await traffic.time(
        "server API (through the proxy)",
        () => o.api.request(`/user/${userUrlName(user)}/api/status`),
        (r) => r.status,
      );
      await api.arrayBuffer();
      if (api.status !== 200) return { user, outcome: "neither", spawnMs, detail: `server API: HTTP ${api.status}` };
      return { user, outcome: "server", spawnMs };
    }
    if (model && !server && i > 0) return { user, outcome: "neither", detail: "the server stopped before it was ready (spawn failed)" };
    await sleep(pollMs);
  }
  return { user, outcome: "neither", detail: "not ready within the time limit" };
}

/** Loads /hub/home in the flooders' sessions, one after another each, until `done()` or the limits. */
async function flood(o: LoadOptions, traffic: Traffic, sessions: BrowserSession[], done: () => boolean, deadline: number): Promise<number> {
  let made = 0;
  let during = 0;
  await Promise.all(
    sessions.map(async (s) => {
      while (!done() && made < o.floodLimit && Date.now() < deadline) {
        made++;
        await traffic
          .time(
            "page load (/hub/home)",
            () => s.get("/hub/home"),
            (p) => p.status,
          )
          .catch(() => undefined);
        if (!done()) during++;
      }
    }),
  );
  return during;
}

/** Runs the load and its checks; removes the users it made (and their servers and volumes) whatever happens. */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const log = o.log ?? (() => undefined);
  const users = Array.from({ length: o.users }, (_, i) => uniqueName(`load${i}`));
  const flooders = Array.from({ length: o.flooders }, (_, i) => uniqueName(`flood${i}`));
  const traffic = new Traffic();
  try {
    const t = Date.now();
    await signUpAuthorized([...users, ...flooders], password, await BrowserSession.admin(o.api.env));
    const sessions = flooders.map(() => new BrowserSession(o.api.env));
    await Promise.all(sessions.map((s, i) => s.login(flooders[i]!, password)));
    log(`${users.length + flooders.length} native accounts signed up and authorized in ${Math.round((Date.now() - t) / 1000)} s`);

    // the same API request on the idle hub, for comparison (a logged-in flooder's model)
    for (let i = 0; i < 20 && flooders[0]; i++)
      await traffic
        .time(
          "hub API (GET user), idle hub",
          () => o.api.request(`/hub/api/users/${encodeURIComponent(flooders[0]!)}`),
          (r) => r.status,
        )
        .then((r) => r.arrayBuffer());

    const t0 = Date.now();
    const deadline = t0 + o.timeLimitMs;
    let settled = 0;
    const attempts = users.map((u) =>
      attempt(o, traffic, u, deadline)
        .catch((e): UserOutcome => ({ user: u, outcome: "neither", detail: String(e) }))
        .finally(() => settled++),
    );
    const floodDuringSpawns = await flood(o, traffic, sessions, () => settled === users.length, deadline);
    const outcomes = await Promise.all(attempts);
    return { outcomes, traffic, floodDuringSpawns, seconds: (Date.now() - t0) / 1000 };
  } finally {
    await removeUsers(o.api, o.stack, [...users, ...flooders]);
  }
}
