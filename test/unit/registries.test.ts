/** registries, registryPasswords and requireDigests: the config, the pulls, the hub's client configuration, pinning and pruning. */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import YAML from "yaml";
import { byType, installMocks, recorded, redacted, types } from "./mocks";

installMocks("jupyterhub", "unit");

import { parseConfig, withoutSecrets, type StackConfigInput } from "../../components/config";
import { stackImages } from "../../components/config/sections/registries";
import { parseReference, registryOf } from "../../components/image-reference";
import { hubPaths } from "../../components/names";
import { dockerClientConfig } from "../../components/registries";
import { hubSettings } from "../../components/settings";
import { prunePlan } from "../../ops/images/prune-plan";
import { keyOf, planPins, reportLine, writePins } from "../../ops/images/references";
import { refused } from "./config-problems";
import { deploy, optionsOf } from "./deploy-component";

const REGISTRY = "registry.example.org:5000";
const DIGEST = `sha256:${"a".repeat(64)}`;
const NEWER = `sha256:${"b".repeat(64)}`;

const privateStack: StackConfigInput = {
  prefix: "reg",
  hub: { baseImage: `${REGISTRY}/mirror/jupyterhub:5.5.1` },
  proxy: { image: `${REGISTRY}/mirror/configurable-http-proxy:5.1.0` },
  images: [
    { name: "isis", displayName: "ISIS", image: `${REGISTRY}/gmap/isis:8.3@${DIGEST}` },
    { name: "public", displayName: "Public", image: "quay.io/jupyter/minimal-notebook:hub-5.5.1" },
  ],
  registries: [{ server: REGISTRY, username: "gmap-puller" }],
  registryPasswords: { [REGISTRY]: "registry-password-value" },
};

describe("registries config", () => {
  it("is empty by default: no credentials, digests not required, the hub's settings without a client configuration", () => {
    const config = parseConfig({});
    assert.deepEqual(config.registries, []);
    assert.equal(config.requireDigests, false);
    assert.equal(hubSettings(withoutSecrets(config), "unit", {}, {}).hub.dockerConfigDir, undefined);
  });

  it("reads the registry of a reference as Docker does", () => {
    assert.equal(registryOf("quay.io/jupyter/minimal-notebook:x"), "quay.io");
    assert.equal(registryOf("registry.example.org:5000/a/b:1"), "registry.example.org:5000");
    assert.equal(registryOf("localhost/notebook:1"), "localhost");
    assert.equal(registryOf("jupyter/minimal-notebook:x"), "docker.io");
    assert.equal(registryOf("postgres:15"), "docker.io");
    assert.equal(registryOf("index.docker.io/library/postgres:15"), "docker.io");
    assert.equal(registryOf("nexus:8082/gmap/isis:8@sha256:" + "a".repeat(64)), "nexus:8082");
  });

  it("refuses a registry without its password, a password without a registry, a registry twice, a server written as a URL", () => {
    refused(
      { registries: [{ server: REGISTRY, username: "u" }] },
      "jupyterhub:registries[0].server",
      /registryPasswords\["registry\.example\.org:5000"\]/,
    );
    refused({ registryPasswords: { "other.example.org": "x" } }, "jupyterhub:registryPasswords.other.example.org", /no registry/);
    refused(
      {
        registries: [
          { server: REGISTRY, username: "u" },
          { server: REGISTRY, username: "v" },
        ],
        registryPasswords: { [REGISTRY]: "p" },
      },
      "jupyterhub:registries",
      /listed twice/,
    );
    refused({ registries: [{ server: "https://registry.example.org", username: "u" }] }, "jupyterhub:registries[0].server", /no scheme/);
    // a host without a dot is a registry when it has a port, as Docker reads it
    assert.equal(
      parseConfig({ registries: [{ server: "nexus:8082", username: "u" }], registryPasswords: { "nexus:8082": "p" } }).registries[0]!
        .server,
      "nexus:8082",
    );
  });

  it("with requireDigests refuses every image of the stack without a digest, by its key", () => {
    const problems = [
      refused({ ...privateStack, requireDigests: true }, "jupyterhub:hub.baseImage", /not pinned by digest.*npm run pin/),
      refused({ ...privateStack, requireDigests: true }, "jupyterhub:proxy.image", /not pinned/),
      refused({ ...privateStack, requireDigests: true }, "jupyterhub:images[1].image", /not pinned/),
    ];
    assert.equal(problems.length, 3);
    const pinned = (ref: string) => `${ref}@${DIGEST}`;
    const config = parseConfig({
      ...privateStack,
      requireDigests: true,
      hub: { baseImage: pinned(`${REGISTRY}/mirror/jupyterhub:5.5.1`), tls: { mode: "off" } },
      proxy: { image: pinned(`${REGISTRY}/mirror/configurable-http-proxy:5.1.0`) },
      images: [{ name: "isis", displayName: "ISIS", image: pinned(`${REGISTRY}/gmap/isis:8.3`) }],
    } as Record<string, unknown>);
    assert.equal(stackImages(config).length, 3);
  });

  it("lists the images the stack runs: the front proxy and PostgreSQL only when in use", () => {
    const keys = (raw: Record<string, unknown>) => stackImages(parseConfig(raw)).map((i) => keyOf(i.path));
    assert.deepEqual(keys({}), ["hub.baseImage", "proxy.image", "images[0].image"]);
    assert.deepEqual(keys({ hub: { database: { type: "postgres" } } }), [
      "hub.baseImage",
      "proxy.image",
      "hub.database.image",
      "images[0].image",
    ]);
  });
});

describe("the hub's Docker client configuration", () => {
  it("holds each registry's credentials as `docker login` writes them, Docker Hub under Docker's own key", () => {
    const text = dockerClientConfig([
      { server: REGISTRY, username: "gmap-puller", password: "pw:1" },
      { server: "docker.io", username: "hubuser", password: "hubpw" },
    ]);
    const auths = JSON.parse(text).auths;
    assert.deepEqual(Object.keys(auths), [REGISTRY, "https://index.docker.io/v1/"].sort());
    assert.equal(Buffer.from(auths[REGISTRY].auth, "base64").toString(), "gmap-puller:pw:1");
  });
});

describe("a stack with a private registry", () => {
  before(async () => {
    await deploy("reg", privateStack);
  });

  it("declares no provider with the credentials: `pulumi up` pulls first, the RemoteImages (default provider) find the images", () => {
    assert.deepEqual(byType("pulumi:providers:docker", "reg"), []);
    const images = byType(types.remoteImage, "reg");
    assert.deepEqual(images.map((i) => i.inputs.name).sort(), [
      "quay.io/jupyter/minimal-notebook:hub-5.5.1",
      `${REGISTRY}/gmap/isis:8.3@${DIGEST}`,
      `${REGISTRY}/mirror/configurable-http-proxy:5.1.0`,
    ]);
    for (const image of images) assert.equal(optionsOf(image)?.provider, undefined, image.name);
    // the hub's base image: pulled first, then the build finds it
    assert.equal(byType(types.image, "reg")[0]!.inputs.build.args.BASE_IMAGE, `${REGISTRY}/mirror/jupyterhub:5.5.1`);
  });

  it("gives the hub the client configuration as a secret file of its own, and its folder in the settings", () => {
    const hub = byType(types.container, "reg-hub").find((c) => c.name === "reg-hub")!;
    const file = `${hubPaths.dockerConfigDir}/config.json`;
    const i = hub.inputs.uploads.findIndex((u: { file: string }) => u.file === file);
    assert.ok(i >= 0, "config.json is uploaded");
    assert.equal(hub.inputs.uploads[i].permissions, "0600");
    assert.deepEqual(hub.secretPaths, ["uploads"], "the uploads (this file among them) are a secret");
    assert.match(hub.inputs.uploads[i].content, /"auths"/);
    const settings = JSON.parse(hub.inputs.uploads.find((u: { file: string }) => u.file === hubPaths.settings).content);
    assert.equal(settings.hub.dockerConfigDir, hubPaths.dockerConfigDir);
    assert.ok(!JSON.stringify(settings).includes("registry-password-value"), "no password in the settings");
  });

  it("keeps the password out of every plain input, base64 included", () => {
    const forms = ["registry-password-value", Buffer.from("gmap-puller:registry-password-value").toString("base64")];
    const mine = recorded.filter((r) => r.name.startsWith("reg"));
    assert.ok(mine.length > 10);
    for (const r of mine) {
      const plain = JSON.stringify(redacted(r.raw));
      for (const form of forms) assert.ok(!plain.includes(form), `${r.type} ${r.name} carries the password in plain text`);
    }
  });
});

describe("pinning", () => {
  const images = [
    { path: ["hub", "baseImage"], ref: "quay.io/jupyterhub/jupyterhub:5.5.1" },
    { path: ["images", 0, "image"], ref: `${REGISTRY}/gmap/isis:8.3@${DIGEST}` },
    { path: ["images", 1, "image"], ref: `${REGISTRY}/gmap/gispy@${DIGEST}` },
  ];
  const registry: Record<string, string> = { "quay.io/jupyterhub/jupyterhub:5.5.1": DIGEST, [`${REGISTRY}/gmap/isis:8.3`]: NEWER };

  it("splits references as Docker does (a registry's port is no tag)", () => {
    assert.deepEqual(parseReference(`${REGISTRY}/gmap/isis`), { name: `${REGISTRY}/gmap/isis` });
    assert.deepEqual(parseReference(`${REGISTRY}/gmap/isis:8.3@${DIGEST}`), { name: `${REGISTRY}/gmap/isis`, tag: "8.3", digest: DIGEST });
    assert.deepEqual(parseReference("postgres:15"), { name: "postgres", tag: "15" });
  });

  it("pins what has no digest, reports a moved tag and keeps it unless asked to update", () => {
    const kept = planPins(images, (r) => registry[r]!, false);
    assert.deepEqual(
      kept.map((r) => [r.status, r.to]),
      [
        ["pinned", `quay.io/jupyterhub/jupyterhub:5.5.1@${DIGEST}`],
        ["moved", undefined],
        ["untagged", undefined],
      ],
    );
    assert.match(reportLine(kept[1]!), /^images\[0\]\.image: its tag moved upstream to sha256:b+; the stack keeps sha256:a+ \(--update/);
    const updated = planPins(images, (r) => registry[r]!, true);
    assert.equal(updated[1]!.to, `${REGISTRY}/gmap/isis:8.3@${NEWER}`);
    assert.equal(planPins([images[0]!], () => DIGEST, true)[0]!.status, "pinned");
    assert.equal(planPins([{ path: ["proxy", "image"], ref: `x.org/p:1@${DIGEST}` }], () => DIGEST, true)[0]!.status, "current");
  });
});

describe("pruning old versions", () => {
  const stackRefs = [`${REGISTRY}/gmap/isis:8.3@${NEWER}`, "quay.io/jupyterhub/jupyterhub:5.5.1"];
  const images = [
    { id: "new", references: [`${REGISTRY}/gmap/isis@${NEWER}`], size: 1 },
    { id: "old", references: [`${REGISTRY}/gmap/isis@${DIGEST}`], size: 2 },
    { id: "older-in-use", references: [`${REGISTRY}/gmap/isis:8.2`], size: 3 },
    { id: "other", references: ["quay.io/other/image:1", "<none>@<none>"], size: 4 },
    { id: "hub-old", references: ["quay.io/jupyterhub/jupyterhub:5.0.0"], size: 5 },
  ];

  it("removes other versions of the stack's repositories only, never one a container uses", () => {
    const plan = prunePlan(stackRefs, new Set(["new"]), new Set(["older-in-use"]), images);
    assert.deepEqual(
      plan.remove.map((r) => r.reference),
      [`${REGISTRY}/gmap/isis@${DIGEST}`, "quay.io/jupyterhub/jupyterhub:5.0.0"],
    );
    assert.deepEqual(
      plan.kept.map((k) => k.reference),
      [`${REGISTRY}/gmap/isis:8.2`],
    );
  });
});

describe("writing pins into a stack file", () => {
  const file = [
    "# the production hub",
    "config:",
    "  jupyterhub:prefix: gmap # one per host",
    "  jupyterhub:hub:",
    "    port: 8443",
    "encryptionsalt: v1:abc",
    "",
  ].join("\n");
  const pinned = (path: (string | number)[], to: string) => ({ path, from: "", to, status: "pinned" as const });

  it("keeps the comments, adds keys the file lacks, and writes a default list whole", () => {
    const defaults = {
      images: [{ name: "minimal", displayName: "Minimal (Python)", image: "quay.io/jupyter/minimal-notebook:hub-5.5.1" }],
    };
    const text = writePins(
      file,
      "jupyterhub",
      [
        pinned(["hub", "baseImage"], `quay.io/jupyterhub/jupyterhub:5.5.1@${DIGEST}`),
        pinned(["proxy", "image"], `quay.io/jupyterhub/configurable-http-proxy:5.1.0@${DIGEST}`),
        pinned(["images", 0, "image"], `quay.io/jupyter/minimal-notebook:hub-5.5.1@${DIGEST}`),
      ],
      (top) => defaults[top as "images"],
    );
    assert.match(text, /^# the production hub\n/);
    assert.match(text, /jupyterhub:prefix: gmap # one per host/);
    assert.match(text, /encryptionsalt: v1:abc/);
    const config = YAML.parse(text).config;
    assert.deepEqual(config["jupyterhub:hub"], { port: 8443, baseImage: `quay.io/jupyterhub/jupyterhub:5.5.1@${DIGEST}` });
    assert.deepEqual(config["jupyterhub:proxy"], { image: `quay.io/jupyterhub/configurable-http-proxy:5.1.0@${DIGEST}` });
    assert.deepEqual(config["jupyterhub:images"], [
      { ...defaults.images[0], image: `quay.io/jupyter/minimal-notebook:hub-5.5.1@${DIGEST}` },
    ]);
    // and the file is a valid stack config
    const raw = Object.fromEntries(Object.entries(config).map(([k, v]) => [k.slice("jupyterhub:".length), v]));
    assert.equal(parseConfig(raw).images[0]!.image, `quay.io/jupyter/minimal-notebook:hub-5.5.1@${DIGEST}`);
  });
});
