/**
 * What the hub and proxy containers run: the proxy's start script and arguments, the hub's
 * healthcheck (pure functions, identical on every run so previews stay quiet).
 */
import { endpoints } from "./names";

/**
 * How the proxy container starts: a static `sh -c` script (identical on every run, so previews stay
 * quiet) that binds the REST API to the proxy's own address on the stack's main network only, which
 * holds nothing but the hub and the proxy: the per-user networks, where the proxy is a member too
 * (it routes to each server there), then cannot reach the API. The address is the one of the
 * `proxy` alias, which exists on the main network only; it is resolved with `node` (both the
 * upstream image and the stand-in have `sh` and `node`, not necessarily `getent`), retried while
 * Docker's DNS is not ready, and the start fails rather than falling back to every interface. The
 * image's own entrypoint then runs configurable-http-proxy with the arguments of `proxyCommand`.
 */
export const proxyStartScript = `set -eu
ip=""
for attempt in 1 2 3 4 5 6 7 8 9 10; do
  ip="$(node -e 'require("dns").lookup(process.argv[1], { family: 4 }, (e, a) => { if (e) { console.error(e.message); process.exit(1); } console.log(a); })' ${endpoints.proxyAlias})" && break
  ip=""
  sleep 1
done
if [ -z "$ip" ]; then
  echo "$0: cannot resolve ${endpoints.proxyAlias}; the API is never bound to every interface" >&2
  exit 1
fi
echo "$0: the REST API listens on $ip (${endpoints.proxyAlias}) only" >&2
exec /srv/configurable-http-proxy/chp-docker-entrypoint "--api-ip=$ip" "$@"
`;

/** Entrypoint of the proxy container (see `proxyStartScript`); `$0` names it in its messages. */
export function proxyEntrypoint(): string[] {
  return ["sh", "-c", proxyStartScript, "gmap-proxy"];
}

/**
 * Arguments of configurable-http-proxy (after the start script's `--api-ip`): routes everything to
 * the hub until the hub adds the user routes. Behind the TLS front proxy (hub.tls on) it keeps the
 * forwarding headers the front proxy set.
 */
export function proxyCommand(behindFrontProxy = false): string[] {
  const hub = `http://${endpoints.hubAlias}:${endpoints.hubPort}`;
  return [
    "--ip=0.0.0.0",
    `--port=${endpoints.proxyPort}`,
    `--api-port=${endpoints.proxyApiPort}`,
    `--default-target=${hub}`,
    `--error-target=${hub}/hub/error`,
    // behind the TLS front proxy: its X-Forwarded-Proto (https) and -For reach the hub as they are,
    // instead of getting ",http" and the front proxy's address appended
    ...(behindFrontProxy ? ["--no-x-forward"] : []),
  ];
}

/** Healthcheck of the hub container: JupyterHub's own health endpoint under the public URL's path. */
export function hubHealthcheck(url: string) {
  const basePath = new URL(url).pathname.replace(/\/+$/, "");
  return {
    tests: [
      "CMD",
      "python3",
      "-c",
      `import urllib.request; urllib.request.urlopen("http://127.0.0.1:${endpoints.hubPort}${basePath}/hub/health", timeout=5)`,
    ],
    // Written as Docker reads them back (Go's time.Duration form), so a preview after `up` is quiet.
    interval: dockerDuration(15),
    timeout: dockerDuration(10),
    retries: 5,
    startPeriod: dockerDuration(120),
  };
}

/** A whole number of seconds in Go's time.Duration form, as Docker reports it: 15s, 2m0s, 1h0m0s. */
export function dockerDuration(seconds: number): string {
  if (!Number.isInteger(seconds) || seconds < 0) throw new Error(`not a whole number of seconds: ${seconds}`);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
