import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { byType, installMocks, randomIdHex, types, valueOf } from "./mocks";

installMocks("jupyterhub", "unit");

import * as pulumi from "@pulumi/pulumi";
import type { StackConfigInput } from "../../components/config";
import type { JupyterHub } from "../../components/jupyterhub";
import { proxyEntrypoint } from "../../components/containers";
import { labelKeys } from "../../components/names";
import { deploy, options, optionsOf } from "./deploy-component";

const full: StackConfigInput = {
  prefix: "gmap",
  labels: { "org.example/team": "gmap" },
  // TLS off behind a load balancer that reaches this host on a private address
  hub: { publicUrl: "https://hub.example.org", port: 8443, bindAddress: "10.0.0.5" },
  auth: {
    providers: ["native", "github"],
    admins: ["admin"],
    github: { clientId: "gh-id", allowedOrganizations: ["europlanet"], admins: ["octo"] },
  },
  githubClientSecret: "gh-secret-value",
  images: [
    { name: "isis", displayName: "ISIS", image: "gmap/jupyter-isis:8.0.0" },
    { name: "gispy", displayName: "GISPy", image: "gmap/jupyter-gispy:2024.1" },
  ],
  defaultImage: "gispy",
  storage: [
    {
      name: "isis-data",
      source: { type: "nfs", server: "nas.example.org", export: "/isis" },
      mountPath: "/mnt/isis/data",
      readOnly: true,
      environment: { ISISDATA: "/mnt/isis/data" },
    },
    { name: "archive", source: { type: "cifs", server: "smb.example.org", share: "archive" }, mountPath: "/mnt/archive", readOnly: true },
    { name: "shared", source: { type: "volume" }, mountPath: "/home/jovyan/shared" },
    { name: "scratch", source: { type: "host", path: "/srv/scratch/{username}" }, mountPath: "/mnt/scratch", perUser: true },
  ],
  shareCredentials: { archive: { username: "reader", password: "cifs-password-value" } },
  hooks: { postAuth: "hooks/post_auth.py", start: "hooks/start.sh" },
  services: [
    { name: "monitoring", scopes: ["read:metrics"] },
    { name: "admin-api", scopes: ["admin:users"] },
  ],
};

describe("JupyterHub component (full config)", () => {
  let hub: JupyterHub;
  before(async () => {
    hub = await deploy("full", full, { postAuth: "def post_auth_hook(a, h, x):\n    return x\n", start: "#!/bin/sh\necho hi\n" });
  });

  it("declares one network with the stack labels", () => {
    const [net, ...rest] = byType(types.network, "full");
    assert.equal(rest.length, 0);
    assert.equal(net!.inputs.name, "gmap");
    assert.equal(net!.inputs.driver, "bridge");
    assert.deepEqual(net!.inputs.labels, [
      { label: labelKeys.component, value: "network" },
      { label: labelKeys.prefix, value: "gmap" },
      { label: labelKeys.stack, value: "unit" },
      { label: "org.example/team", value: "gmap" },
    ]);
  });

  /** The version of a share's options (its RandomId), which its volumes' names carry. */
  const versionOf = (mount: string) => byType(types.randomId, `full-share-versions-${mount}`)[0]!;
  const hexOf = (id: { name: string; inputs: Record<string, any> }) => randomIdHex(id.name, id.inputs.byteLength);

  it("declares hub-data and shared volumes, retained on delete, network shares with driver options", () => {
    const vols = byType(types.volume, "full");
    const [archiveName, isisName] = ["archive", "isis-data"].map((m) => `gmap-${m}-${hexOf(versionOf(m))}`);
    assert.match(archiveName!, /^gmap-archive-[0-9a-f]{8}$/);
    assert.deepEqual(vols.map((v) => v.inputs.name).sort(), [archiveName, "gmap-hub-data", isisName, "gmap-shared"]);
    for (const v of vols) assert.equal(optionsOf(v)?.retainOnDelete, true, `${v.name} must survive destroy`);
    const isis = vols.find((v) => v.inputs.name === isisName)!;
    assert.deepEqual(isis.inputs.driverOpts, { type: "nfs", device: ":/isis", o: "addr=nas.example.org,ro" });
    assert.deepEqual(isis.secretPaths, []);
    const archive = vols.find((v) => v.inputs.name === archiveName)!;
    assert.equal(archive.inputs.driverOpts.o, "addr=smb.example.org,username=reader,password=cifs-password-value,ro");
    assert.deepEqual(archive.secretPaths, ["driverOpts"], "CIFS credentials stay secret");
    assert.ok(!byType(types.volume).some((v) => v.inputs.name.includes("scratch")), "per-user host mounts are not stack volumes");
  });

  it("pulls every notebook image and keeps it locally", () => {
    const imgs = byType(types.remoteImage, "full-images");
    assert.deepEqual(imgs.map((i) => [i.inputs.name, i.inputs.keepLocally]).sort(), [
      ["gmap/jupyter-gispy:2024.1", true],
      ["gmap/jupyter-isis:8.0.0", true],
    ]);
  });

  it("builds the hub image locally from hub-config with the base image as build arg, for the stated platform", () => {
    const [img] = byType(types.image, "full");
    assert.deepEqual(img!.inputs, {
      imageName: "gmap-hub:local",
      skipPush: true,
      buildOnPreview: false,
      build: { context: "hub-config", args: { BASE_IMAGE: "quay.io/jupyterhub/jupyterhub:5.5.1" }, platform: "linux/amd64" },
    });
  });

  it("runs the proxy on the network, published on the configured address, token secret", () => {
    const proxy = byType(types.container, "full-proxy")[0]!;
    assert.equal(proxy.inputs.name, "gmap-proxy");
    assert.equal(
      proxy.inputs.image,
      "sha256:id-of-quay.io/jupyterhub/configurable-http-proxy:5.1.0".replace("5.1.0", proxy.inputs.image.split(":").pop()),
    );
    assert.deepEqual(proxy.inputs.ports, [{ internal: 8000, external: 8443, ip: "10.0.0.5", protocol: "tcp" }]);
    assert.ok(!proxy.inputs.command.includes("--no-x-forward"), "with TLS off the proxy adds its forwarding headers as before");
    assert.deepEqual(proxy.inputs.networksAdvanced, [{ name: "gmap", aliases: ["proxy"] }]);
    assert.deepEqual(proxy.inputs.envs, ["CONFIGPROXY_AUTH_TOKEN=password-of-full-secrets-proxy-token"]);
    assert.deepEqual(proxy.secretPaths, ["envs"]);
    assert.ok(proxy.inputs.command.includes("--default-target=http://hub:8081"));
    // the API listens on the proxy's address on the main network only, never on every interface
    assert.deepEqual(proxy.inputs.entrypoints, proxyEntrypoint());
    assert.ok(!proxy.inputs.command.some((a: string) => a.startsWith("--api-ip")), proxy.inputs.command.join(" "));
    assert.equal(proxy.inputs.restart, "unless-stopped");
    assert.equal(optionsOf(proxy)?.deleteBeforeReplace, true);
  });

  it("runs the hub from the built image digest with settings, secrets and hooks uploaded", () => {
    const hubC = byType(types.container, "full-hub")[0]!;
    assert.equal(hubC.inputs.name, "gmap-hub");
    assert.equal(hubC.inputs.image, "sha256:image-of-full-hub-image");
    assert.deepEqual(hubC.inputs.networksAdvanced, [{ name: "gmap", aliases: ["hub"] }]);
    assert.deepEqual(hubC.inputs.volumes, [
      { volumeName: "gmap-hub-data", containerPath: "/srv/jupyterhub/data" },
      { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock" },
    ]);
    assert.equal(hubC.inputs.ports, undefined, "only the proxy is published");
    assert.deepEqual(
      hubC.inputs.uploads.map((u: any) => [u.file, u.permissions]),
      [
        ["/srv/jupyterhub/settings.json", "0644"],
        ["/srv/jupyterhub/secrets.json", "0600"],
        ["/srv/jupyterhub/hooks/post_auth.py", "0644"],
      ],
    );
    // The mock monitor lifts a nested secret to the whole property; the engine keeps it on the element.
    assert.deepEqual(hubC.secretPaths, ["uploads"]);
    assert.equal(hubC.inputs.restart, "unless-stopped");
    assert.equal(hubC.inputs.wait, true);
    assert.equal(hubC.inputs.destroyGraceSeconds, 20);
    assert.deepEqual(hubC.inputs.healthcheck.tests.slice(0, 2), ["CMD", "python3"]);
    assert.equal(optionsOf(hubC)?.deleteBeforeReplace, true);
    assert.ok(hubC.inputs.labels.some((l: any) => l.label === labelKeys.component && l.value === "hub"));
  });

  it("leaves nothing behind: user servers go after the hub, the image tag after the image, the network goes last", () => {
    const leftovers = byType(types.leftovers, "full-hub-");
    const servers = leftovers.find((r) => r.name === "full-hub-user-servers")!;
    const tag = leftovers.find((r) => r.name === "full-hub-image-tag")!;
    assert.deepEqual(servers.inputs.containers, {
      network: "gmap",
      labels: { [labelKeys.component]: "user", [labelKeys.prefix]: "gmap" },
    });
    assert.deepEqual(servers.inputs.networks, { labels: { [labelKeys.component]: "user-network", [labelKeys.prefix]: "gmap" } });
    assert.deepEqual(tag.inputs.images, ["gmap-hub:local"]);
    assert.equal(typeof servers.inputs.__provider, "string", "the provider is serialized into the state");
    const dependsOn = (r: { type: string; name: string }) =>
      ([optionsOf(r)?.dependsOn ?? []].flat() as (pulumi.Resource & { __name?: string })[]).map((d) => d.__name);
    assert.deepEqual(
      dependsOn(byType(types.container, "full-hub")[0]!),
      ["full-hub-user-servers"],
      "the hub is deleted before its servers",
    );
    assert.deepEqual(dependsOn(byType(types.image, "full")[0]!), ["full-hub-image-tag"], "the image before its tag");
    assert.equal(optionsOf(byType(types.network, "full")[0]!)?.deleteBeforeReplace, true, "fixed name: delete first");
  });

  it("writes settings the hub reads, without any secret", () => {
    const hubC = byType(types.container, "full-hub")[0]!;
    const settingsText: string = hubC.inputs.uploads[0].content;
    for (const secret of ["gh-secret-value", "cifs-password-value", "password-of", "hex-of"]) {
      assert.ok(!settingsText.includes(secret), `settings.json leaks ${secret}`);
    }
    const settings = JSON.parse(settingsText);
    assert.equal(settings.hub.publicUrl, "https://hub.example.org");
    assert.equal(
      settings.auth.github.callbackUrl,
      "https://hub.example.org/hub/github/oauth_callback",
      "several providers: each has its own callback path",
    );
    assert.equal(settings.spawner.defaultImage, "gispy");
    // the spawner gives each server its own network and connects hub and proxy to it
    assert.equal(settings.spawner.networkTemplate, "gmap-u-{username}");
    assert.equal(settings.spawner.networkLabels[labelKeys.component], "user-network");
    assert.equal(settings.spawner.networkLabels[labelKeys.prefix], "gmap");
    assert.equal(settings.spawner.labels[labelKeys.component], "user");
    assert.equal(settings.spawner.network, undefined);
    assert.deepEqual([settings.hub.container, settings.hub.proxyContainer, settings.hub.connectHost], ["gmap-hub", "gmap-proxy", "hub"]);
    assert.deepEqual(settings.spawner.environment, { ISISDATA: "/mnt/isis/data" });
    assert.deepEqual(
      settings.spawner.mounts.map((m: any) => [m.target, m.type, m.source, m.readOnly]),
      [
        ["/home/jovyan", "volume", "gmap-user-{username}", false],
        ["/home/jovyan/shared", "volume", "gmap-shared", false],
        ["/mnt/archive", "volume", `gmap-archive-${hexOf(versionOf("archive"))}`, true],
        ["/mnt/isis/data", "volume", `gmap-isis-data-${hexOf(versionOf("isis-data"))}`, true],
        ["/mnt/scratch", "bind", "/srv/scratch/{username}", false],
      ],
    );
    assert.equal(settings.hooks.postAuth, "/srv/jupyterhub/hooks/post_auth.py");
    assert.equal(settings.hooks.preSpawn, null);
    assert.equal(settings.hooks.startScript, "#!/bin/sh\necho hi\n");
  });

  it("writes secrets.json with generated and configured secrets", () => {
    const secrets = JSON.parse(byType(types.container, "full-hub")[0]!.inputs.uploads[1].content);
    assert.equal(secrets.cookieSecret, "hex-of-full-secrets-cookie-secret");
    assert.equal(secrets.githubClientSecret, "gh-secret-value");
    assert.deepEqual(Object.keys(secrets.serviceTokens), ["admin-api", "monitoring"]);
    assert.equal(secrets.gitlabClientSecret, undefined);
  });

  it("generates secrets with @pulumi/random and exposes service tokens and admin passwords only as secrets", async () => {
    assert.deepEqual(
      byType(types.bytes, "full").map((r) => r.inputs),
      [{ length: 32 }],
    );
    assert.equal(byType(types.password, "full").length, 5, "proxy, culler, two services, one native admin");
    assert.equal(await pulumi.isSecret(hub.adminPasswords), true);
    assert.deepEqual(await valueOf(hub.adminPasswords), { admin: "password-of-full-secrets-admin-admin" });
    const secretsJson = JSON.parse(byType(types.container, "full-hub")[0]!.inputs.uploads[1].content);
    assert.deepEqual(
      secretsJson.nativeAdminPasswordHashes,
      { admin: "$2a$10$hash-of-full-secrets-admin-admin" },
      "the hub gets only the hash",
    );
    assert.equal(await pulumi.isSecret(hub.serviceTokens), true);
    assert.deepEqual(await valueOf(hub.serviceTokens), {
      "admin-api": "password-of-full-secrets-service-admin-api",
      monitoring: "password-of-full-secrets-service-monitoring",
    });
  });

  it("starts the hub only after proxy, images, volumes and the egress rules", () => {
    const deps = (optionsOf({ type: "jupyterhub:docker:Hub", name: "full-hub" })?.dependsOn ?? []) as pulumi.Resource[];
    assert.equal(deps.length, 4);
  });

  it("exposes outputs", async () => {
    assert.equal(hub.url, "https://hub.example.org");
    assert.deepEqual(await valueOf(hub.volumeNames), [
      "gmap-hub-data",
      `gmap-archive-${hexOf(versionOf("archive"))}`,
      `gmap-isis-data-${hexOf(versionOf("isis-data"))}`,
      "gmap-shared",
    ]);
    assert.deepEqual(await valueOf(hub.images), { gispy: "gmap/jupyter-gispy:2024.1", isis: "gmap/jupyter-isis:8.0.0" });
  });

  it("parents every resource under a component", () => {
    const mine = Object.entries(options).filter(([k]) => k.split("::")[1]!.startsWith("full-"));
    assert.ok(mine.length >= 19, `only ${mine.length} resources seen`);
    for (const [key, opts] of mine) assert.ok(opts.parent, `${key} has no parent`);
  });
});
