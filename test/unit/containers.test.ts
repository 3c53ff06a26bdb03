import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dockerDuration, hubHealthcheck, proxyCommand, proxyEntrypoint, proxyStartScript } from "../../components/containers";

describe("hub healthcheck", () => {
  it("checks the hub's health under the public URL's path", () => {
    assert.match(hubHealthcheck("https://hub.example.org").tests[3]!, /"http:\/\/127\.0\.0\.1:8081\/hub\/health"/);
    assert.match(hubHealthcheck("https://example.org/jupyter/").tests[3]!, /"http:\/\/127\.0\.0\.1:8081\/jupyter\/hub\/health"/);
  });

  it("writes durations as Docker reads them back (Go's time.Duration form)", () => {
    assert.deepEqual([0, 10, 15, 59, 60, 90, 120, 3599, 3600, 5400].map(dockerDuration), [
      "0s",
      "10s",
      "15s",
      "59s",
      "1m0s",
      "1m30s",
      "2m0s",
      "59m59s",
      "1h0m0s",
      "1h30m0s",
    ]);
    const hc = hubHealthcheck("http://localhost:8000");
    assert.deepEqual([hc.interval, hc.timeout, hc.startPeriod], ["15s", "10s", "2m0s"]);
    assert.throws(() => dockerDuration(1.5));
  });
});

describe("proxy start script", () => {
  const entrypoint = "/srv/configurable-http-proxy/chp-docker-entrypoint";

  /** Runs the start script with fake programs on PATH (`node`, `sleep`) and a fake image entrypoint. */
  function run(fakes: Record<string, string>, script = proxyStartScript) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gmap-proxy-"));
    for (const [name, body] of Object.entries({ ...fakes, "chp-docker-entrypoint": 'echo "chp $*"', sleep: "echo slept >&2" })) {
      fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    }
    const [sh, c, text, name] = proxyEntrypoint();
    assert.deepEqual([sh, c, name], ["sh", "-c", "gmap-proxy"]);
    assert.equal(text, proxyStartScript);
    return spawnSync("sh", ["-c", script.replace(entrypoint, path.join(dir, "chp-docker-entrypoint")), name!, ...proxyCommand()], {
      encoding: "utf8",
      env: { PATH: `${dir}:${process.env.PATH}` },
    });
  }

  it("binds the API to the address of the proxy alias, then runs the image's entrypoint", () => {
    assert.ok(proxyStartScript.includes(`exec ${entrypoint} "--api-ip=$ip" "$@"`));
    const r = run({ node: 'echo "$@" > "$(dirname "$0")/node-args"; echo 172.30.0.3' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `chp --api-ip=172.30.0.3 ${proxyCommand().join(" ")}\n`);
    assert.match(r.stderr, /gmap-proxy: the REST API listens on 172\.30\.0\.3 \(proxy\) only/);
  });

  it("never falls back to every interface: no address, no proxy", () => {
    const r = run({ node: "echo getaddrinfo ENOTFOUND proxy >&2; exit 1" });
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "", "configurable-http-proxy did not start");
    assert.equal(r.stderr.match(/slept/g)?.length, 10, "retried while Docker's DNS is not ready");
    assert.match(r.stderr, /cannot resolve proxy; the API is never bound to every interface/);
  });

  it("resolves with the real node (an IPv4 address)", () => {
    const node = execFileSync("sh", ["-c", "command -v node"], { encoding: "utf8" }).trim();
    const r = run({ node: `exec ${node} "$@"` }, proxyStartScript.replaceAll(" proxy)", " localhost)"));
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^chp --api-ip=127\.\d+\.\d+\.\d+ /);
  });
});
