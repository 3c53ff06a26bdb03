/**
 * A browser-like session of one person against a hub: cookies, redirects and forms with their
 * XSRF token, without a browser.
 */
import got from "got";
import { CookieJar } from "tough-cookie";
import { fixedLookup, type HubEnv, hubEnv } from "./hub-env";
import { formsOf, linksOf, type Page } from "./pages";

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

  /** POSTs form fields, with extra request headers if given. */
  post(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
    return this.request(this.abs(url), "POST", fields, headers);
  }

  /** Fills the (`index`th) POST form of a page, or of the page at a path, with `fields` and submits it (with extra headers). */
  async submit(page: Page | string, fields: Record<string, string>, index = 0, headers: Record<string, string> = {}): Promise<Page> {
    const source = typeof page === "string" ? await this.get(page, headers) : page;
    const form = formsOf(source)[index];
    if (!form) throw new Error(`no POST form on ${source.url} (HTTP ${source.status}): ${source.text.slice(0, 300)}`);
    return this.post(form.action, { ...form.fields, ...fields }, headers);
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

  /** Logs in through the login form (extra request headers, e.g. a forged client address, if given). */
  login(username: string, password: string, headers: Record<string, string> = {}) {
    return this.submit("/hub/login", { username, password }, 0, headers);
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
