/**
 * Helpers of the GitHub/GitLab sign-in scenarios (10-oauth.test.ts): the fake OAuth provider
 * container (test/standins/fake-oauth), a fetch that reaches it by its network alias, and
 * browser-like sessions that follow links, forms and redirects across the hub and the provider.
 *
 * The hub reaches the provider as http://fake-oauth:8080 on the stack's network. The tests use the
 * very same URLs: the session's fetch sends requests for the alias to the container's address on
 * the bridge (a container the test started), and Chromium gets the same mapping through
 * --host-resolver-rules.
 */
import * as fs from "node:fs";
import Docker from "dockerode";
import makeFetchCookie from "fetch-cookie";
import { CookieJar } from "tough-cookie";

export const FAKE_OAUTH_IMAGE = "localhost/fake-oauth:1";
export const FAKE_OAUTH_ALIAS = "fake-oauth";
export const FAKE_OAUTH_PORT = 8080;
/** Label of every Docker object these tests create themselves (value: the run id). */
export const FIXTURE_LABEL = "org.europlanet-gmap.e2e-fixture";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The fake provider's config (see fake_oauth.py). */
export interface FakeOAuthConfig {
  readonly github?: Record<string, unknown>;
  readonly gitlab?: Record<string, unknown>;
}

export interface FakeRequest {
  readonly provider: "github" | "gitlab";
  readonly kind: "authorize" | "token";
  readonly client_id: string;
  readonly redirect_uri: string;
  readonly scope: string;
  readonly login: string;
}

/** The fake OAuth provider, a labelled container on the stack's network with the alias fake-oauth. */
export class FakeOAuth {
  private constructor(
    private readonly docker: Docker,
    readonly id: string,
    /** Its address on the stack's bridge network. */
    readonly ip: string,
  ) {}

  /** http://fake-oauth:8080: what the hub and the tests both use. */
  readonly url = `http://${FAKE_OAUTH_ALIAS}:${FAKE_OAUTH_PORT}`;

  static async start(options: { docker: Docker; name: string; network: string; runId: string; config: FakeOAuthConfig }): Promise<FakeOAuth> {
    const { docker, name, network, runId, config } = options;
    try {
      await docker.getImage(FAKE_OAUTH_IMAGE).inspect();
    } catch {
      throw new Error(`image ${FAKE_OAUTH_IMAGE} is missing: build it with bash scripts/standins.sh`);
    }
    const container = await docker.createContainer({
      name,
      Image: FAKE_OAUTH_IMAGE,
      Env: [`FAKE_OAUTH_CONFIG=${JSON.stringify(config)}`, `FAKE_OAUTH_PORT=${FAKE_OAUTH_PORT}`],
      Labels: { [FIXTURE_LABEL]: runId },
      HostConfig: { NetworkMode: network },
      NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: [FAKE_OAUTH_ALIAS] } } },
    });
    await container.start();
    let ip = "";
    for (let i = 0; i < 60; i++) {
      const info = await container.inspect();
      ip = info.NetworkSettings.Networks[network]?.IPAddress ?? "";
      if (!info.State.Running) throw new Error(`${name} stopped: see docker logs ${name}`);
      if (ip && info.State.Health?.Status === "healthy") break;
      await sleep(500);
    }
    if (!ip) throw new Error(`${name} has no address on ${network}`);
    const fake = new FakeOAuth(docker, container.id, ip);
    // the test reaches it too (and only it: a container this test started)
    for (let i = 0; i < 40; i++) {
      try {
        const res = await fetch(`http://${ip}:${FAKE_OAUTH_PORT}/health`, { signal: AbortSignal.timeout(2000) });
        if (res.ok) return fake;
      } catch {
        // not yet
      }
      await sleep(500);
    }
    throw new Error(`the fake OAuth provider does not answer on http://${ip}:${FAKE_OAUTH_PORT}/health`);
  }

  /** Removes every fake provider container of this run (leftovers of an interrupted run too). */
  static async removeAll(docker: Docker, runId: string): Promise<void> {
    const list = await docker.listContainers({ all: true, filters: { label: [`${FIXTURE_LABEL}=${runId}`] } });
    for (const c of list) {
      if (c.Labels[FIXTURE_LABEL] !== runId) continue;
      await docker.getContainer(c.Id).remove({ force: true, v: true });
    }
  }

  /** The URL the test process actually connects to (the alias replaced by the container's address). */
  resolve(url: string): string {
    const u = new URL(url);
    if (u.hostname === FAKE_OAUTH_ALIAS) u.hostname = this.ip;
    return u.toString();
  }

  /** Authorize and token requests the provider saw, oldest first. */
  async requests(): Promise<FakeRequest[]> {
    const res = await fetch(this.resolve(`${this.url}/_fake/requests`), { signal: AbortSignal.timeout(10_000) });
    return (await res.json()) as FakeRequest[];
  }

  async logs(): Promise<string> {
    const buf = (await this.docker.getContainer(this.id).logs({ stdout: true, stderr: true, tail: 400 })) as unknown as Buffer;
    return buf.toString("utf8");
  }
}

/** A fetch that sends requests for the alias fake-oauth to the container's address. */
export function aliasFetch(resolve: (url: string) => string): typeof fetch {
  return (input, init) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.toString() : input.url;
    return fetch(resolve(url), init);
  };
}

export interface Page {
  readonly status: number;
  readonly url: string;
  readonly text: string;
}

interface Form {
  readonly action: string;
  readonly fields: Record<string, string>;
}

const decodeEntities = (s: string) =>
  s.replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#0?39;|&#x27;/g, "'");

const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, "i").exec(tag);
  return m ? decodeEntities(m[1] ?? m[2] ?? "") : undefined;
};

/** The POST forms of a page: action (absolute) and the fields with a value (hidden inputs, _xsrf). */
export function formsOf(page: Page): Form[] {
  const forms: Form[] = [];
  for (const m of page.text.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const tag = m[1]!;
    if ((attr(tag, "method") ?? "get").toLowerCase() !== "post") continue;
    const fields: Record<string, string> = {};
    for (const input of m[2]!.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input[0], "name");
      const value = attr(input[0], "value");
      if (name && value !== undefined) fields[name] = value;
    }
    forms.push({ action: new URL(attr(tag, "action") || page.url, page.url).toString(), fields });
  }
  return forms;
}

/** Absolute URLs of the links (href) of a page. */
export function linksOf(page: Page): string[] {
  return [...page.text.matchAll(/\shref\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)].map((m) => new URL(decodeEntities(m[1] ?? m[2] ?? ""), page.url).toString());
}

/** A browser-like session of one person: cookies, links, forms and redirects, across the hub and the fake provider. */
export class Session {
  readonly jar = new CookieJar();
  private readonly fetch: typeof fetch;
  /** Every URL visited, redirects included. */
  readonly visited: string[] = [];

  constructor(
    readonly hubUrl: string,
    resolve: (url: string) => string,
  ) {
    this.fetch = makeFetchCookie(aliasFetch(resolve), this.jar) as unknown as typeof fetch;
  }

  private abs(url: string): string {
    return url.startsWith("http") ? url : `${this.hubUrl}${url}`;
  }

  private async follow(res: Response, url: string): Promise<Page> {
    for (let hop = 0; hop < 20; hop++) {
      const location = res.headers.get("location");
      if (!(res.status >= 300 && res.status < 400 && location)) {
        return { status: res.status, url, text: await res.text() };
      }
      await res.body?.cancel();
      url = new URL(location, url).toString();
      this.visited.push(url);
      res = await this.fetch(url, { redirect: "manual", signal: AbortSignal.timeout(60_000) });
    }
    throw new Error(`too many redirects, last ${url}`);
  }

  async get(url: string): Promise<Page> {
    const full = this.abs(url);
    this.visited.push(full);
    return this.follow(await this.fetch(full, { redirect: "manual", signal: AbortSignal.timeout(60_000) }), full);
  }

  async post(url: string, fields: Record<string, string>): Promise<Page> {
    const full = this.abs(url);
    this.visited.push(full);
    const res = await this.fetch(full, {
      method: "POST",
      body: new URLSearchParams(fields),
      redirect: "manual",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      signal: AbortSignal.timeout(60_000),
    });
    return this.follow(res, full);
  }

  /** Fills the page's (only or `index`th) POST form with `fields` and submits it to its action. */
  async submit(page: Page, fields: Record<string, string>, index = 0): Promise<Page> {
    const form = formsOf(page)[index];
    if (!form) throw new Error(`no POST form on ${page.url} (HTTP ${page.status}): ${page.text.slice(0, 300)}`);
    return this.post(form.action, { ...form.fields, ...fields });
  }

  /** Follows the link of `page` whose URL starts with `prefix` (an absolute URL or a hub path). */
  async click(page: Page, prefix: string): Promise<Page> {
    const want = this.abs(prefix);
    const link = linksOf(page).find((l) => l.startsWith(want));
    if (!link) throw new Error(`no link to ${want} on ${page.url}; links: ${linksOf(page).join(" ")}`);
    return this.get(link);
  }

  /**
   * Signs in with GitHub or GitLab: the hub's login link (with several providers from the login
   * page's button), the provider's authorize form filled with `login`, back through the callback.
   */
  async oauthLogin(provider: "github" | "gitlab", login: string, multi: boolean): Promise<Page> {
    const start = multi ? await this.click(await this.get("/hub/login"), `/hub/${provider}/oauth_login`) : await this.get("/hub/oauth_login");
    if (!formsOf(start).length) throw new Error(`expected the provider's authorize form, got HTTP ${start.status} at ${start.url}: ${start.text.slice(0, 300)}`);
    return this.submit(start, { login });
  }

  /** Native sign-up through the login page's links (several providers: under /hub/native/). */
  async nativeSignUp(name: string, password: string, multi: boolean): Promise<Page> {
    const login = multi ? await this.click(await this.get("/hub/login"), "/hub/native/login") : await this.get("/hub/login");
    const signup = await this.click(login, multi ? "/hub/native/signup" : "/hub/signup");
    return this.submit(signup, { username: name, signup_password: password, signup_password_confirmation: password });
  }

  /** Native login through the login page's links and the login form's own action. */
  async nativeLogin(name: string, password: string, multi: boolean): Promise<Page> {
    const login = multi ? await this.click(await this.get("/hub/login"), "/hub/native/login") : await this.get("/hub/login");
    return this.submit(login, { username: name, password });
  }

  /** The hub's model of this session's user, or undefined when not logged in. */
  async whoami(): Promise<{ name: string; admin?: boolean } | undefined> {
    const res = await this.fetch(`${this.hubUrl}/hub/api/user`, { redirect: "manual", signal: AbortSignal.timeout(30_000) });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    return (await res.json()) as { name: string; admin?: boolean };
  }
}

/** Chromium for the browser scenario, when installed (scripts/engine.sh installs Debian's). */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}
