/**
 * The fake OAuth provider of the GitHub/GitLab sign-in scenario (10-oauth.test.ts): its container
 * (test/standins/fake-oauth) and browser-like sessions that reach it by its network alias.
 *
 * The hub reaches the provider as http://fake-oauth:8080 on the stack's network. The tests use the
 * very same URLs: the sessions resolve the alias to the container's address on the bridge (a
 * container the test started), and Chromium gets the same mapping through --host-resolver-rules.
 */
import * as dns from "node:dns";
import type Docker from "dockerode";
import { labelKeys } from "../../components/names";
import { BrowserSession } from "./browser-session";
import type { HubEnv } from "./hub-env";

export const FAKE_OAUTH_IMAGE = "localhost/fake-oauth:1";
export const FAKE_OAUTH_ALIAS = "fake-oauth";
export const FAKE_OAUTH_PORT = 8080;
/** Label of every Docker object these tests create themselves (value: the run id). */
export const FIXTURE_LABEL = "org.europlanet-gmap.e2e-fixture";

/**
 * Labels of a test fixture container: ours, plus the stack's prefix label, so removing the stack's
 * leftovers (test/e2e/remove-stack.ts removeStack) removes a fixture an interrupted run left behind.
 */
export function fixtureLabels(runId: string, prefix: string): Record<string, string> {
  return { [FIXTURE_LABEL]: runId, [labelKeys.prefix]: prefix };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The fake provider's config (see fake_oauth.py). */
export interface FakeOAuthConfig {
  readonly github?: Record<string, unknown>;
  readonly gitlab?: Record<string, unknown>;
  readonly oidc?: Record<string, unknown>;
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

  static async start(options: {
    docker: Docker;
    name: string;
    network: string;
    runId: string;
    prefix: string;
    config: FakeOAuthConfig;
  }): Promise<FakeOAuth> {
    const { docker, name, network, runId, prefix, config } = options;
    try {
      await docker.getImage(FAKE_OAUTH_IMAGE).inspect();
    } catch {
      throw new Error(`image ${FAKE_OAUTH_IMAGE} is missing: build it with bash test/infra/standins.sh`);
    }
    const container = await docker.createContainer({
      name,
      Image: FAKE_OAUTH_IMAGE,
      Env: [`FAKE_OAUTH_CONFIG=${JSON.stringify(config)}`, `FAKE_OAUTH_PORT=${FAKE_OAUTH_PORT}`],
      Labels: fixtureLabels(runId, prefix),
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

  /** The last authorize request the provider saw for `provider`. */
  async lastAuthorize(provider: "github" | "gitlab" | "oidc"): Promise<FakeRequest | undefined> {
    const all = (await this.requests()).filter((r) => r.provider === provider && r.kind === "authorize");
    return all[all.length - 1];
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

/** A browser-like session that reaches the fake provider by its alias, like the hub does. */
export function fakeSession(env: HubEnv, fake: Pick<FakeOAuth, "ip">): BrowserSession {
  return new BrowserSession(env, { lookup: aliasLookup(FAKE_OAUTH_ALIAS, fake.ip) });
}
