/**
 * A running hub's REST API with the admin-scoped service token: users and their servers, and
 * through the proxy a notebook server's API (contents, kernels).
 */
import { fetchVia, type HubEnv, hubEnv } from "./hub-env";
import { executeInKernel } from "./kernel";
import { userUrlName } from "./user-names";
import { waitFor } from "./wait";

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

  /** Starts the default server with optional user options (e.g. the chosen image) and waits until ready (polling every `everyMs`). */
  async startServer(name: string, options: Record<string, unknown> = {}, timeoutMs = 240_000, everyMs = 1000): Promise<any> {
    const res = await this.request(`/hub/api/users/${encodeURIComponent(name)}/server`, { method: "POST", body: JSON.stringify(options) });
    if (![201, 202, 400].includes(res.status)) throw new Error(`start ${name}: HTTP ${res.status}: ${await res.text()}`);
    if (res.status === 400) {
      const text = await res.text();
      if (!/already running/.test(text)) throw new Error(`start ${name}: HTTP 400: ${text}`);
    }
    return this.waitReady(name, timeoutMs, everyMs);
  }

  async waitReady(name: string, timeoutMs = 240_000, everyMs = 1000): Promise<any> {
    return waitFor(
      `${name}'s server to be ready`,
      async () => {
        const u = await this.user(name);
        const server = u.servers?.[""];
        return server?.ready ? server : undefined;
      },
      timeoutMs,
      everyMs,
    );
  }

  /** Starts the default server expecting it to fail: the failure's message, from the start request or from the progress API. */
  async spawnFailure(name: string): Promise<string> {
    const res = await this.request(`/hub/api/users/${encodeURIComponent(name)}/server`, { method: "POST", body: "{}" });
    const text = await res.text();
    if (res.status >= 500) return JSON.parse(text).message;
    if (res.status !== 202) throw new Error(`start ${name}: HTTP ${res.status}: ${text}`);
    await waitFor(`${name}'s spawn to end`, async () => ((await this.user(name)).servers?.[""] ? undefined : true), 60_000, 500);
    const progress = await (await this.request(`/hub/api/users/${encodeURIComponent(name)}/server/progress`)).text();
    const failed = [...progress.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1]!)).find((e) => e.failed);
    if (!failed) throw new Error(`no failed progress event for ${name}: ${progress}`);
    return failed.message;
  }

  /** Asks the hub to stop the default server and waits until it is gone (polling every `everyMs`). */
  async stopServer(name: string, timeoutMs = 120_000, everyMs = 1000): Promise<void> {
    const res = await this.request(`/hub/api/users/${encodeURIComponent(name)}/server`, { method: "DELETE" });
    if (![202, 204, 400].includes(res.status)) throw new Error(`stop ${name}: HTTP ${res.status}: ${await res.text()}`);
    await waitFor(`${name}'s server to stop`, async () => ((await this.user(name)).servers?.[""] ? undefined : true), timeoutMs, everyMs);
  }

  /** Starts a named server (spawner.namedServers) with optional user options and waits until it is ready. */
  async startNamed(name: string, server: string, options: Record<string, unknown> = {}, timeoutMs = 240_000): Promise<any> {
    const path = `/users/${encodeURIComponent(name)}/servers/${encodeURIComponent(server)}`;
    await this.hub(path, { method: "POST", body: JSON.stringify(options) }, [201, 202]);
    return waitFor(
      `${name}'s server ${server} to be ready`,
      async () => {
        const s = (await this.user(name)).servers?.[server];
        return s?.ready ? s : undefined;
      },
      timeoutMs,
      1000,
    );
  }

  /** Stops a named server (and deletes it from the user's list with `remove`), waiting until it is gone. */
  async stopNamed(name: string, server: string, remove = false, timeoutMs = 120_000): Promise<void> {
    const path = `/users/${encodeURIComponent(name)}/servers/${encodeURIComponent(server)}`;
    await this.hub(path, { method: "DELETE", body: JSON.stringify({ remove }) }, [202, 204]);
    await waitFor(
      `${name}'s server ${server} to stop`,
      async () => ((await this.user(name)).servers?.[server] ? undefined : true),
      timeoutMs,
      1000,
    );
  }

  /** The path of a user's server through the proxy: the default one, or a named one. */
  serverPath(name: string, server = ""): string {
    return `/user/${userUrlName(name)}/${server ? `${encodeURIComponent(server)}/` : ""}`;
  }

  /** Calls the Jupyter server API of a user's server through the proxy. */
  server<T = any>(name: string, path: string, init: RequestInit = {}, expected?: number[]): Promise<T> {
    return this.json<T>(`/user/${userUrlName(name)}/api${path}`, init, expected);
  }

  /** Writes a text file through the contents API (of a named server: `server`). */
  async putFile(name: string, path: string, content: string, server = ""): Promise<Response> {
    return this.request(`${this.serverPath(name, server)}api/contents/${path}`, {
      method: "PUT",
      body: JSON.stringify({ type: "file", format: "text", content }),
    });
  }

  /** Reads a text file through the contents API (undefined when missing; of a named server: `server`). */
  async getFile(name: string, path: string, server = ""): Promise<string | undefined> {
    const res = await this.request(`${this.serverPath(name, server)}api/contents/${path}?content=1&type=file&format=text`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`GET contents ${path}: HTTP ${res.status}: ${await res.text()}`);
    return (await res.json()).content;
  }

  /** Runs Python code in a new kernel of the user's server and returns its stdout. */
  async runPython(name: string, code: string, timeoutMs = 60_000): Promise<string> {
    const kernel = await this.server(name, "/kernels", { method: "POST", body: JSON.stringify({ name: "python3" }) });
    try {
      return await executeInKernel(this.env, name, kernel.id, code, timeoutMs);
    } finally {
      await this.request(`/user/${userUrlName(name)}/api/kernels/${kernel.id}`, { method: "DELETE" });
    }
  }
}
