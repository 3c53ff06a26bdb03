/**
 * What the end-to-end scenarios need to talk to a running hub, knowing only its URL and an
 * admin-scoped service token (HUB_URL, HUB_TOKEN): the REST API, a notebook server's API, kernels,
 * and browser-like form sessions with cookies and XSRF.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import got from "got";
import { CookieJar } from "tough-cookie";
import WebSocket from "ws";

export interface HubEnv {
  readonly url: string;
  readonly token: string;
  /**
   * For a hub served over HTTPS under a test host name (test/e2e/14-tls.test.ts): the CA
   * certificate(s) to trust (PEM) and the address every host name is connected to. Without it,
   * the system's trust store and resolver are used.
   */
  readonly connect?: { readonly ca: string; readonly address: string };
}

/** dns.lookup-like resolution of every host name to one address (HubEnv.connect). */
export function fixedLookup(address: string) {
  const family = address.includes(":") ? 6 : 4;
  return (_host: string, options: unknown, callback?: unknown) => {
    const cb = (typeof options === "function" ? options : callback) as (...args: unknown[]) => void;
    const all = typeof options === "object" && options !== null && (options as { all?: boolean }).all;
    if (all) cb(null, [{ address, family }]);
    else cb(null, address, family);
  };
}

const nullBodyStatus = new Set([101, 204, 205, 304]);

/** fetch() through node's https client, with HubEnv.connect's CA and address (got: fetch has no per-request CA). */
async function fetchVia(connect: NonNullable<HubEnv["connect"]>, url: string, init: RequestInit): Promise<Response> {
  const res = await got(url, {
    method: (init.method ?? "GET") as never,
    headers: Object.fromEntries(new Headers(init.headers).entries()),
    ...(init.body !== undefined && init.body !== null ? { body: init.body as string } : {}),
    followRedirect: false,
    throwHttpErrors: false,
    retry: { limit: 0 },
    timeout: { request: 60_000 },
    https: { certificateAuthority: connect.ca },
    dnsLookup: fixedLookup(connect.address) as never,
    responseType: "buffer",
  });
  const headers = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    for (const one of [v ?? []].flat()) headers.append(k, String(one));
  }
  return new Response(nullBodyStatus.has(res.statusCode) ? null : res.body, { status: res.statusCode, headers });
}

/** The hub under test, from HUB_URL and HUB_TOKEN (set by test/infra/test-e2e.sh or by hand). */
export function hubEnv(): HubEnv {
  const url = process.env.HUB_URL;
  const token = process.env.HUB_TOKEN;
  if (!url || !token)
    throw new Error("HUB_URL and HUB_TOKEN must be set (npm run test:e2e sets them after deploying the e2e stack with test/e2e/deploy.ts)");
  return { url: url.replace(/\/+$/, ""), token };
}

/** Polls `check` until it returns a value other than undefined, at most `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; Date.now() < deadline && attempt < 10_000; attempt++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}

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

export class HubApi {
  constructor(readonly env: HubEnv = hubEnv()) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    return (this.env.connect ? (u: string, i: RequestInit) => fetchVia(this.env.connect!, u, i) : fetch)(`${this.env.url}${path}`, {
      ...init,
      redirect: "manual",
      headers: {
        Authorization: `token ${this.env.token}`,
        ...(init.body ? { "Content-Type": "application/json" } : {}),
        ...(init.headers ?? {}),
      },
      signal: AbortSignal.timeout(60_000),
    });
  }

  async json<T = any>(path: string, init: RequestInit = {}, expected: number[] = [200, 201]): Promise<T> {
    const res = await this.request(path, init);
    const text = await res.text();
    if (!expected.includes(res.status)) throw new Error(`${init.method ?? "GET"} ${path}: HTTP ${res.status}: ${text.slice(0, 500)}`);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  hub<T = any>(path: string, init: RequestInit = {}, expected?: number[]): Promise<T> {
    return this.json<T>(`/hub/api${path}`, init, expected);
  }

  async createUser(name: string, admin = false): Promise<void> {
    await this.hub(`/users/${encodeURIComponent(name)}`, { method: "POST", body: JSON.stringify({ admin }) }, [201, 409]);
  }

  async user(name: string): Promise<any> {
    return this.hub(`/users/${encodeURIComponent(name)}`);
  }

  /** Starts the default server with optional user options (e.g. the chosen image) and waits until ready. */
  async startServer(name: string, options: Record<string, unknown> = {}, timeoutMs = 240_000): Promise<any> {
    const res = await this.request(`/hub/api/users/${encodeURIComponent(name)}/server`, { method: "POST", body: JSON.stringify(options) });
    if (![201, 202, 400].includes(res.status)) throw new Error(`start ${name}: HTTP ${res.status}: ${await res.text()}`);
    if (res.status === 400) {
      const text = await res.text();
      if (!/already running/.test(text)) throw new Error(`start ${name}: HTTP 400: ${text}`);
    }
    return this.waitReady(name, timeoutMs);
  }

  async waitReady(name: string, timeoutMs = 240_000): Promise<any> {
    return waitFor(
      `${name}'s server to be ready`,
      async () => {
        const u = await this.user(name);
        const server = u.servers?.[""];
        return server?.ready ? server : undefined;
      },
      timeoutMs,
      1000,
    );
  }

  async stopServer(name: string, timeoutMs = 120_000): Promise<void> {
    const res = await this.request(`/hub/api/users/${encodeURIComponent(name)}/server`, { method: "DELETE" });
    if (![202, 204, 400].includes(res.status)) throw new Error(`stop ${name}: HTTP ${res.status}: ${await res.text()}`);
    await waitFor(`${name}'s server to stop`, async () => ((await this.user(name)).servers?.[""] ? undefined : true), timeoutMs);
  }

  /** Calls the Jupyter server API of a user's server through the proxy. */
  server<T = any>(name: string, path: string, init: RequestInit = {}, expected?: number[]): Promise<T> {
    return this.json<T>(`/user/${userUrlName(name)}/api${path}`, init, expected);
  }

  /** Writes a text file through the contents API. */
  async putFile(name: string, path: string, content: string): Promise<Response> {
    return this.request(`/user/${userUrlName(name)}/api/contents/${path}`, {
      method: "PUT",
      body: JSON.stringify({ type: "file", format: "text", content }),
    });
  }

  /** Reads a text file through the contents API (undefined when missing). */
  async getFile(name: string, path: string): Promise<string | undefined> {
    const res = await this.request(`/user/${userUrlName(name)}/api/contents/${path}?content=1&type=file&format=text`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`GET contents ${path}: HTTP ${res.status}: ${await res.text()}`);
    return (await res.json()).content;
  }

  /** Runs Python code in a new kernel of the user's server and returns its stdout. */
  async runPython(name: string, code: string, timeoutMs = 60_000): Promise<string> {
    const kernel = await this.server(name, "/kernels", { method: "POST", body: JSON.stringify({ name: "python3" }) });
    try {
      return await this.execute(name, kernel.id, code, timeoutMs);
    } finally {
      await this.request(`/user/${userUrlName(name)}/api/kernels/${kernel.id}`, { method: "DELETE" });
    }
  }

  private execute(name: string, kernelId: string, code: string, timeoutMs: number): Promise<string> {
    const wsUrl = `${this.env.url.replace(/^http/, "ws")}/user/${userUrlName(name)}/api/kernels/${kernelId}/channels`;
    const msgId = `e2e-${Date.now()}-${Math.random()}`;
    return new Promise((resolve, reject) => {
      const connect = this.env.connect;
      const ws = new WebSocket(wsUrl, {
        headers: { Authorization: `token ${this.env.token}` },
        ...(connect ? { ca: connect.ca, lookup: fixedLookup(connect.address) as never } : {}),
      });
      let stdout = "";
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`kernel execution timed out after ${timeoutMs} ms; output so far: ${stdout}`));
      }, timeoutMs);
      const done = (err?: Error) => {
        clearTimeout(timer);
        ws.close();
        if (err) reject(err);
        else resolve(stdout);
      };
      ws.on("error", (e) => done(e));
      ws.on("open", () => {
        ws.send(
          JSON.stringify({
            header: {
              msg_id: msgId,
              username: name,
              session: msgId,
              msg_type: "execute_request",
              version: "5.3",
              date: new Date().toISOString(),
            },
            parent_header: {},
            metadata: {},
            content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
            channel: "shell",
            buffers: [],
          }),
        );
      });
      ws.on("message", (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.parent_header?.msg_id !== msgId) return;
        if (msg.msg_type === "stream" && msg.content.name === "stdout") stdout += msg.content.text;
        if (msg.msg_type === "error") done(new Error(`${msg.content.ename}: ${msg.content.evalue}`));
        if (msg.msg_type === "execute_reply" && msg.content.status === "ok") {
          // stream messages arrive on iopub before the status goes idle; give them a moment
          setTimeout(() => done(), 300);
        }
      });
    });
  }
}

/** A page as a browser session sees it (after redirects). */
export interface Page {
  readonly status: number;
  readonly url: string;
  readonly text: string;
}

/** A POST form of a page: its absolute action and the fields that carry a value (hidden inputs, _xsrf). */
export interface Form {
  readonly action: string;
  readonly fields: Record<string, string>;
}

const decodeEntities = (s: string) =>
  s
    .replace(/&amp;/g, "&")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#0?39;|&#x27;/g, "'");

const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`, "i").exec(tag);
  return m ? decodeEntities(m[1] ?? m[2] ?? "") : undefined;
};

/** The POST forms of a page. JupyterHub puts the XSRF token in a hidden field or in the action URL. */
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
  return [...page.text.matchAll(/\shref\s*=\s*(?:"([^"]*)"|'([^']*)')/gi)].map((m) =>
    new URL(decodeEntities(m[1] ?? m[2] ?? ""), page.url).toString(),
  );
}

/**
 * A browser-like session of one person: a cookie jar, every redirect followed (the hub, a user
 * server's login through the hub, an OAuth provider), forms submitted with their XSRF token. It
 * uses node's http client (through got) rather than fetch, because fetch always sends
 * `Sec-Fetch-Mode: cors`, which JupyterHub treats as a script request, not a navigation.
 */
export class BrowserSession {
  readonly jar = new CookieJar();
  private readonly http;

  /** `lookup` resolves host names (e.g. a test container's network alias), as node's dns.lookup. */
  constructor(
    readonly env: HubEnv = hubEnv(),
    options: { lookup?: unknown } = {},
  ) {
    this.http = got.extend({
      cookieJar: this.jar,
      followRedirect: false,
      throwHttpErrors: false,
      retry: { limit: 0 },
      timeout: { request: 60_000 },
      ...(options.lookup ? { dnsLookup: options.lookup as never } : {}),
      ...(env.connect ? { dnsLookup: fixedLookup(env.connect.address) as never, https: { certificateAuthority: env.connect.ca } } : {}),
    });
  }

  private abs(url: string): string {
    return url.startsWith("http") ? url : `${this.env.url}${url}`;
  }

  private async request(url: string, method: "GET" | "POST" = "GET", form?: Record<string, string>, headers: Record<string, string> = {}) {
    for (let hop = 0; hop < 20; hop++) {
      const res = await this.http(url, { method, ...(form ? { form } : {}), headers });
      const location = typeof res.headers.location === "string" ? res.headers.location : undefined;
      if (!(res.statusCode >= 300 && res.statusCode < 400 && location)) return { status: res.statusCode, url, text: res.body };
      url = new URL(location, url).toString();
      method = "GET";
      form = undefined;
    }
    throw new Error(`too many redirects, last ${url}`);
  }

  /** GETs a page (a hub path or an absolute URL), with extra request headers if given. */
  get(url: string, headers: Record<string, string> = {}): Promise<Page> {
    return this.request(this.abs(url), "GET", undefined, headers);
  }

  /** POSTs form fields. */
  post(url: string, fields: Record<string, string>): Promise<Page> {
    return this.request(this.abs(url), "POST", fields);
  }

  /** Fills the (`index`th) POST form of a page, or of the page at a path, with `fields` and submits it. */
  async submit(page: Page | string, fields: Record<string, string>, index = 0): Promise<Page> {
    const source = typeof page === "string" ? await this.get(page) : page;
    const form = formsOf(source)[index];
    if (!form) throw new Error(`no POST form on ${source.url} (HTTP ${source.status}): ${source.text.slice(0, 300)}`);
    return this.post(form.action, { ...form.fields, ...fields });
  }

  /** Follows the link of `page` whose URL starts with `prefix` (an absolute URL or a hub path). */
  async click(page: Page, prefix: string): Promise<Page> {
    const want = this.abs(prefix);
    const link = linksOf(page).find((l) => l.startsWith(want));
    if (!link) throw new Error(`no link to ${want} on ${page.url}; links: ${linksOf(page).join(" ")}`);
    return this.get(link);
  }

  signUp(username: string, password: string) {
    return this.submit("/hub/signup", { username, signup_password: password, signup_password_confirmation: password });
  }

  login(username: string, password: string) {
    return this.submit("/hub/login", { username, password });
  }

  /**
   * Logs in the stack's native admin: E2E_ADMIN_USER (default e2e-admin) with E2E_ADMIN_PASSWORD
   * (the deployment's generated password: `pulumi stack output --show-secrets adminPasswords`).
   */
  static async admin(env: HubEnv = hubEnv()): Promise<BrowserSession> {
    const session = new BrowserSession(env);
    const name = process.env.E2E_ADMIN_USER ?? "e2e-admin";
    const password = process.env.E2E_ADMIN_PASSWORD;
    if (!password) throw new Error("set E2E_ADMIN_PASSWORD to the admin's password (pulumi stack output --show-secrets adminPasswords)");
    await session.login(name, password);
    const who = await session.whoami();
    if (who !== name) throw new Error(`cannot log in as the admin ${name} (check E2E_ADMIN_USER / E2E_ADMIN_PASSWORD)`);
    return session;
  }

  /** As an admin session: authorizes a signed-up native account (NativeAuthenticator toggles it). */
  async authorize(name: string): Promise<void> {
    const page = await this.get(`/hub/authorize/${encodeURIComponent(name)}`);
    if (page.status !== 200) throw new Error(`authorize ${name}: HTTP ${page.status}`);
  }

  /** The name of the user the hub sees for this session's cookie, or undefined. */
  async whoami(): Promise<string | undefined> {
    // Cookie-authenticated API requests must carry the XSRF token (JupyterHub >= 4.1).
    const xsrf = async () => (await this.jar.getCookies(`${this.env.url}/hub/`)).find((c) => c.key === "_xsrf")?.value;
    if (!(await xsrf())) await this.get("/hub/home");
    const token = await xsrf();
    const res = await this.request(`${this.env.url}/hub/api/user`, "GET", undefined, token ? { "X-XSRFToken": token } : {});
    return res.status === 200 ? JSON.parse(res.text).name : undefined;
  }
}

/** Debian's Chromium (test/infra/engine.sh installs it), or CHROMIUM_PATH; undefined when missing. */
export function chromiumPath(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  return candidates.find((p): p is string => !!p && fs.existsSync(p));
}

/** Headless Chromium flags for this closed network (no background connections, no sandbox as root). */
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
