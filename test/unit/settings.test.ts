import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfig } from "../../components/config";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dockerDuration, hubHealthcheck, proxyCommand, proxyEntrypoint, proxyStartScript } from "../../components/containers";
import { shareDriverOptions, spawnerMounts } from "../../components/mounts";
import { labelsFor, names } from "../../components/names";
import { hubSecrets, hubSettings, stableJson } from "../../components/settings";

describe("settings", () => {
  it("stableJson sorts keys at every level and drops undefined", () => {
    assert.equal(
      stableJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } }),
      '{\n  "a": {\n    "d": [\n      {\n        "y": 2,\n        "z": 1\n      }\n    ]\n  },\n  "b": 1\n}\n',
    );
  });

  it("labels are sorted and carry prefix, stack and component", () => {
    const labels = labelsFor({ prefix: "p", labels: { zeta: "1", "a.b": "2" } }, "dev", "hub");
    assert.deepEqual(
      labels.map((l) => l.label),
      [
        "a.b",
        "org.europlanet-gmap.jupyterhub.component",
        "org.europlanet-gmap.jupyterhub.prefix",
        "org.europlanet-gmap.jupyterhub.stack",
        "zeta",
      ],
    );
  });

  it("derives every Docker name from the prefix", () => {
    const n = names("gmap");
    assert.equal(n.hubContainer, "gmap-hub");
    assert.equal(n.storageVolume("isis"), "gmap-isis");
    assert.equal(n.userVolumeTemplate, "gmap-user-{username}");
    assert.equal(n.userNetworkTemplate, "gmap-u-{username}");
  });

  it("mounts network shares through the local volume driver", () => {
    const c = parseConfig({
      storage: [
        {
          name: "isis",
          source: { type: "nfs", server: "10.1.2.3", export: "/isis", options: ["nfsvers=4"] },
          mountPath: "/mnt/isis",
          readOnly: true,
        },
        {
          name: "home",
          source: { type: "cifs", server: "smb", share: "homes/{username}", options: ["vers=3.0"] },
          mountPath: "/mnt/home",
          perUser: true,
        },
      ],
      shareCredentials: { home: { username: "svc", password: "pw", domain: "LAB" } },
    });
    assert.deepEqual(shareDriverOptions(c.storage[0]!, c.shareCredentials), {
      type: "nfs",
      device: ":/isis",
      o: "addr=10.1.2.3,nfsvers=4,ro",
    });
    assert.deepEqual(shareDriverOptions(c.storage[1]!, c.shareCredentials), {
      type: "cifs",
      device: "//smb/homes/{username}",
      o: "addr=smb,username=svc,password=pw,domain=LAB,vers=3.0",
    });
    const mounts = spawnerMounts(c);
    assert.deepEqual(
      mounts.find((m) => m.name === "home"),
      {
        name: "home",
        type: "volume",
        source: "jupyterhub-home-{username}",
        target: "/mnt/home",
        readOnly: false,
        perUser: true,
        driverOptions: true,
      },
    );
    const secrets = hubSecrets(c, { cookieSecret: "c", proxyAuthToken: "p", cullerToken: "k", serviceTokens: {}, adminPasswordHashes: {} });
    assert.deepEqual(Object.keys(secrets.mountDriverOptions), ["home"], "only per-user shares need options at spawn time");
    const settings = stableJson(hubSettings(c, "dev", {}));
    assert.ok(!settings.includes("pw"), "share passwords never reach settings.json");
  });

  it("checks the hub's health under the public URL's path", () => {
    assert.match(hubHealthcheck("https://hub.example.org").tests[3]!, /"http:\/\/127\.0\.0\.1:8081\/hub\/health"/);
    assert.match(hubHealthcheck("https://example.org/jupyter/").tests[3]!, /"http:\/\/127\.0\.0\.1:8081\/jupyter\/hub\/health"/);
  });

  it("disabling the work volume removes it from the mounts", () => {
    const c = parseConfig({ spawner: { workVolume: { enabled: false } } });
    assert.deepEqual(spawnerMounts(c), []);
  });

  it("merges storage environment into the spawner environment", () => {
    const c = parseConfig({
      spawner: { environment: { TZ: "UTC" } },
      storage: [{ name: "isis", source: { type: "volume" }, mountPath: "/mnt/isis/data", environment: { ISISDATA: "/mnt/isis/data" } }],
    });
    assert.deepEqual(hubSettings(c, "dev", {}).spawner.environment, { TZ: "UTC", ISISDATA: "/mnt/isis/data" });
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
