/** The JupyterHub component with a minimal config, and with HTTPS (hub.tls) on and off. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { byType, installMocks, recorded, types } from "./mocks";

installMocks("jupyterhub", "unit");

import type { StackConfigInput } from "../../components/config";
import { deploy, optionsOf } from "./deploy-component";
import { selfSigned } from "./tls-fixtures";

describe("JupyterHub component (defaults)", () => {
  it("a minimal config declares network, hub-data volume, one image, proxy, egress guard and hub", async () => {
    await deploy("min", {});
    const mine = recorded.filter((r) => r.name.startsWith("min"));
    const count = (t: string) => mine.filter((r) => r.type === t).length;
    assert.equal(count(types.network), 1);
    assert.equal(count(types.volume), 1);
    assert.equal(count(types.remoteImage), 2, "notebook image + proxy image (the egress guard runs in the proxy's)");
    assert.equal(count(types.container), 3);
    const settings = JSON.parse(byType(types.container, "min-hub")[0]!.inputs.uploads[0].content);
    assert.equal(settings.hub.publicUrl, "http://localhost:8000");
    assert.equal(settings.auth.github, undefined);
    assert.equal(settings.spawner.images.length, 1);
  });
});

describe("JupyterHub component (hub.tls)", () => {
  const tlsBase: StackConfigInput = { prefix: "tls", hub: { publicUrl: "https://hub.example.org", bindAddress: "0.0.0.0" } };

  it("acme: Caddy publishes 80 and 443, keeps certificates in a retained volume; the proxy publishes nothing", async () => {
    await deploy("acme", { ...tlsBase, hub: { ...tlsBase.hub, tls: { mode: "acme", acme: { email: "ops@example.org" } } } });
    const front = byType(types.container, "acme-front-proxy")[0]!;
    assert.equal(front.inputs.name, "tls-front-proxy");
    assert.deepEqual(front.inputs.ports, [
      { internal: 80, external: 80, ip: "0.0.0.0", protocol: "tcp" },
      { internal: 443, external: 443, ip: "0.0.0.0", protocol: "tcp" },
    ]);
    assert.deepEqual(front.inputs.networksAdvanced, [{ name: "tls-front", aliases: ["hub.example.org"] }]);
    assert.deepEqual(front.inputs.volumes, [{ volumeName: "tls-hub-tls", containerPath: "/data" }]);
    assert.deepEqual(front.inputs.command, ["caddy", "run", "--config", "/etc/caddy/gmap-caddy.json"]);
    assert.equal(front.inputs.envs, undefined, "nothing in the environment");
    assert.equal(optionsOf(front)?.deleteBeforeReplace, true);
    const config = JSON.parse(front.inputs.uploads[0].content);
    assert.equal(config.apps.tls.automation.policies[0].issuers[0].ca, "https://acme-v02.api.letsencrypt.org/directory");
    const volume = byType(types.volume, "acme-front-proxy")[0]!;
    assert.equal(volume.inputs.name, "tls-hub-tls");
    assert.equal(optionsOf(volume)?.retainOnDelete, true, "certificates survive destroy and replacement");

    const proxy = byType(types.container, "acme-proxy")[0]!;
    assert.equal(proxy.inputs.ports, undefined, "only the front proxy publishes ports");
    assert.deepEqual(proxy.inputs.networksAdvanced, [
      { name: "tls", aliases: ["proxy"] },
      { name: "tls-front", aliases: ["hub-proxy"] },
    ]);
    assert.ok(proxy.inputs.command.includes("--no-x-forward"));
    assert.deepEqual(
      byType(types.network, "acme").map((n) => n.inputs.name),
      ["tls", "tls-front"],
    );
    const settings = JSON.parse(byType(types.container, "acme-hub")[0]!.inputs.uploads[0].content);
    assert.equal(settings.hub.secureCookies, true);
    const deps = ([optionsOf({ type: "jupyterhub:docker:FrontProxy", name: "acme-front-proxy" })?.dependsOn ?? []].flat() as unknown[])
      .length;
    assert.equal(deps, 2, "the front proxy starts after the proxy and the hub");
  });

  it("files: the operator's key is uploaded as a secret, 0600, never in environment or labels", async () => {
    const { certificate, key } = selfSigned("hub.example.org");
    await deploy("files", { ...tlsBase, hub: { ...tlsBase.hub, tls: { mode: "files" } }, tlsCertificate: certificate, tlsKey: key });
    const front = byType(types.container, "files-front-proxy")[0]!;
    assert.deepEqual(
      front.inputs.uploads.map((u: any) => [u.file, u.permissions]),
      [
        ["/etc/caddy/gmap-caddy.json", "0644"],
        ["/etc/caddy/gmap-tls/certificate.pem", "0644"],
        ["/etc/caddy/gmap-tls/key.pem", "0600"],
      ],
    );
    assert.deepEqual(front.secretPaths, ["uploads"]);
    assert.equal(front.inputs.uploads[2].content, key);
    assert.ok(!JSON.stringify(front.inputs.labels).includes("PRIVATE KEY"));
    assert.ok(!front.inputs.uploads[0].content.includes("PRIVATE KEY"), "the Caddy config names the key file only");
    const hubC = byType(types.container, "files-hub")[0]!;
    assert.ok(!hubC.inputs.uploads.some((u: any) => String(u.content).includes("PRIVATE KEY")), "the hub never sees the key");
  });

  it("off (default): no front proxy, no front network, settings as before", async () => {
    await deploy("plain", { prefix: "plain" });
    assert.equal(byType(types.container, "plain-front").length, 0);
    assert.deepEqual(
      byType(types.network, "plain").map((n) => n.inputs.name),
      ["plain"],
    );
    const settings = JSON.parse(byType(types.container, "plain-hub")[0]!.inputs.uploads[0].content);
    assert.equal("secureCookies" in settings.hub, false);
  });
});
