/**
 * Which hub the end-to-end scenarios talk to, and how it is reached: its URL and an admin-scoped
 * service token (HUB_URL, HUB_TOKEN), and for a hub served over HTTPS under a test host name the CA
 * to trust and the address to connect to.
 */
import got from "got";

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
export async function fetchVia(connect: NonNullable<HubEnv["connect"]>, url: string, init: RequestInit): Promise<Response> {
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
