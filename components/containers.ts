/**
 * What the hub, proxy and PostgreSQL containers run: the proxy's start script and arguments,
 * the PostgreSQL start script, the healthchecks (pure functions, identical on every run so previews
 * stay quiet); the log options and resource options of every container of the stack.
 */
import { basePath } from "./identity";
import { endpoints, postgres } from "./names";

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
  const base = basePath(url);
  return {
    tests: [
      "CMD",
      "python3",
      "-c",
      `import urllib.request; urllib.request.urlopen("http://127.0.0.1:${endpoints.hubPort}${base}/hub/health", timeout=5)`,
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

/** Environment of the PostgreSQL container: names and the password's file, never the password. */
export function postgresEnvs(): string[] {
  return [`POSTGRES_USER=${postgres.user}`, `POSTGRES_DB=${postgres.database}`, `POSTGRES_PASSWORD_FILE=${postgres.passwordFile}`];
}

/** Marker file of the PostgreSQL container: the role's password is the stack's (see `postgresStartScript`). */
const postgresReadyFile = "/run/gmap-postgres-password-set";

/**
 * How the PostgreSQL container starts: a static `sh -c` script (identical on every run) around the
 * image's own entrypoint (`docker-entrypoint.sh postgres`, which initialises an empty data
 * directory with the password file). The image sets the password only when it creates the data
 * directory, but the data outlives the generated password (a `pulumi destroy` and `pulumi up`
 * generate a new one, a restored volume comes with its own): so at every start, once the server
 * answers on TCP, the script sets the role's password to the file's over a trusted local
 * connection (the password goes from the file to the server through psql's own backquote
 * substitution, never through a command line), and only then marks the container ready for its
 * healthcheck. It forwards the stop signal to the server (a fast, clean shutdown) and exits with
 * the server's status.
 */
export const postgresStartScript = `rm -f ${postgresReadyFile}
docker-entrypoint.sh postgres &
pid=$!
trap 'kill -INT "$pid" 2>/dev/null' INT TERM
attempt=0
while [ "$attempt" -lt 600 ] && kill -0 "$pid" 2>/dev/null; do
  if pg_isready -q -h 127.0.0.1 -p ${endpoints.postgresPort} -U ${postgres.user} -d ${postgres.database}; then
    if psql -q -v ON_ERROR_STOP=1 --no-psqlrc -h 127.0.0.1 -p ${endpoints.postgresPort} -U ${postgres.user} -d ${postgres.database} >/dev/null <<'SQL'
\\set pw \`cat ${postgres.passwordFile}\`
ALTER ROLE ${postgres.user} PASSWORD :'pw';
SQL
    then
      touch ${postgresReadyFile}
      echo "$0: the role's password is the stack's" >&2
      break
    fi
  fi
  attempt=$((attempt + 1))
  sleep 1
done
status=0
wait "$pid" || status=$?
while kill -0 "$pid" 2>/dev/null; do wait "$pid" || status=$?; done
exit "$status"
`;

/** Entrypoint of the PostgreSQL container (see `postgresStartScript`); `$0` names it in its messages. */
export function postgresEntrypoint(): string[] {
  return ["sh", "-c", postgresStartScript, "gmap-postgres"];
}

/**
 * Healthcheck of the PostgreSQL container: the role has the stack's password and the server
 * accepts TCP connections (the image's first start initialises the data directory with a server
 * on the Unix socket only), so the hub, created after it is healthy, can log in.
 */
export function postgresHealthcheck() {
  return {
    tests: [
      "CMD-SHELL",
      `test -f ${postgresReadyFile} && pg_isready --quiet -h 127.0.0.1 -p ${endpoints.postgresPort} -U ${postgres.user} -d ${postgres.database}`,
    ],
    interval: dockerDuration(10),
    timeout: dockerDuration(5),
    retries: 6,
    startPeriod: dockerDuration(120),
  };
}

/** Docker's json-file log options for a log of at most `maxFiles` files of `maxSize` (config `logs`). */
export function containerLogOptions(logs: { readonly maxSize: string; readonly maxFiles: number }): Record<string, string> {
  return { "max-size": logs.maxSize, "max-file": String(logs.maxFiles) };
}

/**
 * Resource options of every container of the stack. Its name is fixed, so a replacement removes
 * the old container before it starts the new one; and a healthcheck change replaces it, because
 * the Docker provider of this version plans such a change as an update that it never applies (the
 * container would keep its old healthcheck while the preview had promised the new one).
 */
export const containerReplacement = { deleteBeforeReplace: true, replaceOnChanges: ["healthcheck"] };
