/**
 * Helpers of the GitHub/GitLab sign-in scenarios (10-oauth.test.ts): the fake OAuth provider
 * container (test/standins/fake-oauth), a fetch that reaches it by its network alias, and
 * browser-like sessions that follow links, forms and redirects across the hub and the provider.
 *
 * The hub reaches the provider as http://fake-oauth:8080 on the stack's network. The tests use the
 * very same URLs: the sessions resolve the alias to the container's address on the bridge (a
 * container the test started), and Chromium gets the same mapping through --host-resolver-rules.
 * Sessions use node's http client (got), like client.ts: it sends no Sec-Fetch-* headers, so the
 * hub treats requests as page navigations (fetch would send Sec-Fetch-Mode: cors).
 */
import * as dns from "node:dns";
import * as fs from "node:fs";
import Docker from "dockerode";
import got from "got";
import { CookieJar } from "tough-cookie";
import { LABELS } from "../harness/docker-mocks";

export const FAKE_OAUTH_IMAGE = "localhost/fake-oauth:1";
export const FAKE_OAUTH_ALIAS = "fake-oauth";
export const FAKE_OAUTH_PORT = 8080;
/** Label of every Docker object these tests create themselves (value: the run id). */
export const FIXTURE_LABEL = "org.europlanet-gmap.e2e-fixture";

/**
 * Labels of a test fixture container: ours, plus the harness's owner label with the owner
 * `<run id>-fixtures`. That owner starts with "e2e-", so `local:janitor` removes a fixture left
 * behind by an interrupted run (before the stack's network, which it would otherwise block), while
 * the harness never prunes it when the stack is re-applied (another owner than the run's).
 */
export function fixtureLabels(runId: string): Record<string, string> {
  return { [FIXTURE_LABEL]: runId, [LABELS.owner]: `${runId}-fixtures` };
}

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
      Labels: fixtureLabels(runId),
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

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** A DNS lookup (node http's `lookup`) that resolves the alias fake-oauth to the container's address. */
export function aliasLookup(alias: string, address: string) {
  return (hostname: string, options: dns.LookupOptions | LookupCallback, callback?: LookupCallback): void => {
    const opts = typeof options === "function" ? {} : options;
    const cb = (typeof options === "function" ? options : callback)!;
    if (hostname !== alias) {
      dns.lookup(hostname, { ...opts, all: true }, (err, addresses) => {
        if (err || opts.all) cb(err, addresses);
        else cb(null, addresses[0]?.address ?? "", addresses[0]?.family);
      });
      return;
    }
    if (opts.all) cb(null, [{ address, family: 4 }]);
    else cb(null, address, 4);
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
  private readonly http;
  /** Every URL visited, redirects included. */
  readonly visited: string[] = [];

  constructor(
    readonly hubUrl: string,
    fake: Pick<FakeOAuth, "ip">,
  ) {
    this.http = got.extend({
      cookieJar: this.jar,
      followRedirect: false,
      throwHttpErrors: false,
      retry: { limit: 0 },
      timeout: { request: 60_000 },
      dnsLookup: aliasLookup(FAKE_OAUTH_ALIAS, fake.ip) as never,
    });
  }

  private abs(url: string): string {
    return url.startsWith("http") ? url : `${this.hubUrl}${url}`;
  }

  private async request(url: string, method: "GET" | "POST" = "GET", form?: Record<string, string>, headers: Record<string, string> = {}) {
    this.visited.push(url);
    const res = await this.http(url, { method, ...(form ? { form } : {}), headers });
    const location = typeof res.headers.location === "string" ? res.headers.location : undefined;
    return { status: res.statusCode, url, text: res.body, location };
  }

  private async follow(first: { status: number; url: string; text: string; location?: string }): Promise<Page> {
    let res = first;
    for (let hop = 0; hop < 20; hop++) {
      if (!(res.status >= 300 && res.status < 400 && res.location)) return { status: res.status, url: res.url, text: res.text };
      res = await this.request(new URL(res.location, res.url).toString());
    }
    throw new Error(`too many redirects, last ${res.url}`);
  }

  /** GETs a page, following every redirect (across the hub, user servers and the fake provider). */
  async get(url: string): Promise<Page> {
    return this.follow(await this.request(this.abs(url)));
  }

  /** POSTs a form, following the redirects of the answer. */
  async post(url: string, fields: Record<string, string>): Promise<Page> {
    return this.follow(await this.request(this.abs(url), "POST", fields));
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
    // cookie-authenticated API requests carry the XSRF token (JupyterHub >= 4.1)
    let xsrf = (await this.jar.getCookies(`${this.hubUrl}/hub/`)).find((c) => c.key === "_xsrf")?.value;
    if (!xsrf) {
      await this.get("/hub/home");
      xsrf = (await this.jar.getCookies(`${this.hubUrl}/hub/`)).find((c) => c.key === "_xsrf")?.value;
    }
    const res = await this.request(`${this.hubUrl}/hub/api/user`, "GET", undefined, xsrf ? { "X-XSRFToken": xsrf } : {});
    return res.status === 200 ? (JSON.parse(res.text) as { name: string; admin?: boolean }) : undefined;
  }
}

/** Chromium for the browser scenario, when installed (scripts/engine.sh installs Debian's). */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}
