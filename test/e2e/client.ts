/**
 * What the end-to-end scenarios need to talk to a running hub, knowing only its URL and an
 * admin-scoped service token (HUB_URL, HUB_TOKEN): the REST API, a notebook server's API, kernels,
 * and browser-like form sessions with cookies and XSRF.
 */
import got from "got";
import { CookieJar } from "tough-cookie";
import WebSocket from "ws";

export interface HubEnv {
  readonly url: string;
  readonly token: string;
}

/** The hub under test, from HUB_URL and HUB_TOKEN (set by scripts/test-e2e.sh or by hand). */
export function hubEnv(): HubEnv {
  const url = process.env.HUB_URL;
  const token = process.env.HUB_TOKEN;
  if (!url || !token) throw new Error("HUB_URL and HUB_TOKEN must be set (npm run test:e2e sets them after npm run local:up -- e2e)");
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

/** A unique, valid user name for one test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}

export class HubApi {
  constructor(readonly env: HubEnv = hubEnv()) {}

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    return fetch(`${this.env.url}${path}`, {
      ...init,
      redirect: "manual",
      headers: { Authorization: `token ${this.env.token}`, ...(init.body ? { "Content-Type": "application/json" } : {}), ...(init.headers ?? {}) },
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
    return waitFor(`${name}'s server to be ready`, async () => {
      const u = await this.user(name);
      const server = u.servers?.[""];
      return server?.ready ? server : undefined;
    }, timeoutMs, 1000);
  }

  async stopServer(name: string, timeoutMs = 120_000): Promise<void> {
    const res = await this.request(`/hub/api/users/${encodeURIComponent(name)}/server`, { method: "DELETE" });
    if (![202, 204, 400].includes(res.status)) throw new Error(`stop ${name}: HTTP ${res.status}: ${await res.text()}`);
    await waitFor(`${name}'s server to stop`, async () => ((await this.user(name)).servers?.[""] ? undefined : true), timeoutMs);
  }

  /** Calls the Jupyter server API of a user's server through the proxy. */
  server<T = any>(name: string, path: string, init: RequestInit = {}, expected?: number[]): Promise<T> {
    return this.json<T>(`/user/${encodeURIComponent(name)}/api${path}`, init, expected);
  }

  /** Writes a text file through the contents API. */
  async putFile(name: string, path: string, content: string): Promise<Response> {
    return this.request(`/user/${encodeURIComponent(name)}/api/contents/${path}`, {
      method: "PUT",
      body: JSON.stringify({ type: "file", format: "text", content }),
    });
  }

  /** Reads a text file through the contents API (undefined when missing). */
  async getFile(name: string, path: string): Promise<string | undefined> {
    const res = await this.request(`/user/${encodeURIComponent(name)}/api/contents/${path}?content=1&type=file&format=text`);
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
      await this.request(`/user/${encodeURIComponent(name)}/api/kernels/${kernel.id}`, { method: "DELETE" });
    }
  }

  private execute(name: string, kernelId: string, code: string, timeoutMs: number): Promise<string> {
    const wsUrl = `${this.env.url.replace(/^http/, "ws")}/user/${encodeURIComponent(name)}/api/kernels/${kernelId}/channels`;
    const msgId = `e2e-${Date.now()}-${Math.random()}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl, { headers: { Authorization: `token ${this.env.token}` } });
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
            header: { msg_id: msgId, username: name, session: msgId, msg_type: "execute_request", version: "5.3", date: new Date().toISOString() },
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

/** A page as a browser session sees it. */
export interface Page {
  readonly status: number;
  readonly url: string;
  readonly text: string;
  readonly location: string | null;
}

/**
 * A browser-like session: a cookie jar, redirects within the hub followed, XSRF tokens taken from
 * the forms. It uses node's http client (through got) rather than fetch, because fetch always
 * sends `Sec-Fetch-Mode: cors`, which JupyterHub treats as a script request, not a navigation.
 */
export class BrowserSession {
  readonly jar = new CookieJar();
  private readonly http = got.extend({
    cookieJar: this.jar,
    followRedirect: false,
    throwHttpErrors: false,
    retry: { limit: 0 },
    timeout: { request: 60_000 },
  });

  constructor(readonly env: HubEnv = hubEnv()) {}

  private async request(url: string, options: { method?: "GET" | "POST"; form?: Record<string, string>; headers?: Record<string, string> } = {}) {
    const res = await this.http(url, { method: options.method ?? "GET", ...(options.form ? { form: options.form } : {}), headers: options.headers ?? {} });
    const location = typeof res.headers.location === "string" ? res.headers.location : null;
    return { status: res.statusCode, url, text: res.body, location };
  }

  /**
   * GETs a page, following redirects as long as they stay on the hub's own pages, or every
   * redirect (a user server's login through the hub included) with `everywhere`.
   */
  async get(path: string, everywhere = false): Promise<Page> {
    let url = path.startsWith("http") ? path : `${this.env.url}${path}`;
    for (let hop = 0; hop < 10; hop++) {
      const page = await this.request(url);
      if (page.status < 300 || page.status >= 400 || !page.location) return page;
      const next = new URL(page.location, url);
      // A user server's own login dance is not followed: callers get the redirect.
      if (!everywhere && !next.pathname.startsWith("/hub/")) return page;
      url = next.toString();
    }
    throw new Error(`too many redirects from ${path}`);
  }

  /**
   * Submits the form of the page at `pagePath` (fetched first for its XSRF token, which JupyterHub
   * puts in a hidden field or in the form's action URL) to `action`, by default the form's own.
   */
  async submit(pagePath: string, fields: Record<string, string>, action?: string): Promise<Page> {
    const page = await this.get(pagePath);
    const formAction = /<form[^>]*\saction="([^"]*)"/.exec(page.text)?.[1]?.replace(/&amp;/g, "&");
    const target = new URL(action ?? formAction ?? pagePath, page.url);
    const hidden = /name="_xsrf"\s+value="([^"]+)"/.exec(page.text)?.[1];
    const xsrf = hidden ?? target.searchParams.get("_xsrf");
    if (!xsrf) throw new Error(`no XSRF token in the form of ${pagePath} (HTTP ${page.status})`);
    const res = await this.request(target.toString(), { method: "POST", form: { _xsrf: xsrf, ...fields } });
    if (res.status >= 300 && res.status < 400 && res.location) {
      return { ...(await this.get(new URL(res.location, target).toString())), location: res.location };
    }
    return res;
  }

  signUp(username: string, password: string) {
    return this.submit("/hub/signup", { username, signup_password: password, signup_password_confirmation: password });
  }

  login(username: string, password: string) {
    return this.submit("/hub/login", { username, password });
  }

  /** Signs up (first time) and logs in the stack's native admin (E2E_ADMIN_USER, E2E_ADMIN_PASSWORD). */
  static async admin(env: HubEnv = hubEnv()): Promise<BrowserSession> {
    const session = new BrowserSession(env);
    const name = process.env.E2E_ADMIN_USER ?? "e2e-admin";
    const password = process.env.E2E_ADMIN_PASSWORD ?? "e2e-Admin-Passw0rd";
    await session.signUp(name, password);
    await session.login(name, password);
    const who = await session.whoami();
    if (who !== name) throw new Error(`cannot log in as the admin ${name} (set E2E_ADMIN_USER / E2E_ADMIN_PASSWORD)`);
    return session;
  }

  /** As an admin session: authorizes a signed-up native account (NativeAuthenticator toggles it). */
  async authorize(name: string): Promise<void> {
    const page = await this.get(`/hub/authorize/${encodeURIComponent(name)}`);
    if (page.status !== 200) throw new Error(`authorize ${name}: HTTP ${page.status}`);
  }

  /** The user the hub sees for this session's cookie, or undefined. */
  async whoami(): Promise<string | undefined> {
    // Cookie-authenticated API requests must carry the XSRF token (JupyterHub >= 4.1).
    await this.get("/hub/home");
    const xsrf = (await this.jar.getCookies(`${this.env.url}/hub/`)).find((c) => c.key === "_xsrf")?.value ?? "";
    const res = await this.request(`${this.env.url}/hub/api/user`, { headers: { "X-XSRFToken": xsrf } });
    return res.status === 200 ? JSON.parse(res.text).name : undefined;
  }
}
