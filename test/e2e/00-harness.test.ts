/**
 * Self-test of the docker-backed harness (test/harness): a throwaway Pulumi program (project
 * "harnesstest", in a temp dir) declares a network, a volume, a built image, a RemoteImage of a
 * local stand-in, containers (uploads, secret envs, a 127.0.0.1 port, healthcheck, labels) and
 * generated secrets; the test checks the real Docker objects, that a second run keeps them, that a
 * changed env replaces the container but keeps the volume and its data, that generated secrets
 * persist, that undeclared containers are removed, that unsupported inputs and missing images fail
 * loudly, and that cleanup removes only the objects labelled for this run.
 *
 * Needs a Docker engine and a local stand-in image (localhost/gmap-debian:bookworm, built by
 * `npm run images:standins`); skips with a message otherwise.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import Docker from "dockerode";
import bcryptjs from "bcryptjs";
import { LABELS, removeHarnessObjects } from "../harness/docker-mocks";
import { harnessRoot, runProgramInChild, type ProgramResult } from "../harness/program";

const docker = new Docker();
const runId = `e2e-harness-${process.pid}-${randomBytes(3).toString("hex")}`;
const prefix = runId;
const DECOY_LABEL = "org.europlanet-gmap.harness-selftest-decoy";

async function findBaseImage(): Promise<string | undefined> {
  try {
    await docker.ping();
  } catch {
    return undefined;
  }
  const images = await docker.listImages();
  const tags = images.flatMap((i) => i.RepoTags ?? []).filter((t) => t !== "<none>:<none>");
  if (tags.includes("localhost/gmap-debian:bookworm")) return "localhost/gmap-debian:bookworm";
  // Any other stand-in is Debian-based too (sh, sleep, test).
  return tags.find((t) => t.startsWith("localhost/gmap-"));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import * as docker from "@pulumi/docker";
import * as random from "@pulumi/random";

const cfg = new pulumi.Config();
const prefix = cfg.require("prefix");
const labels = [{ label: "org.example.selftest", value: prefix }];

const password = new random.RandomPassword("password", { length: 32, special: false });
const cookie = new random.RandomBytes("cookie", { length: 32 });
const network = new docker.Network("net", { name: prefix + "-net", driver: "bridge", labels });
const volume = new docker.Volume("data", { name: prefix + "-data", driver: "local", labels }, { retainOnDelete: true });
const base = new docker.RemoteImage("base", { name: cfg.require("baseImage"), keepLocally: true });
const image = new docker.Image("app-image", {
  imageName: prefix + "-app:local",
  skipPush: true,
  build: { context: "app", args: { BASE: cfg.require("baseImage"), GREETING: cfg.require("greeting") } },
});

const app = new docker.Container("app", {
  name: prefix + "-app",
  image: image.repoDigest,
  command: ["sleep", "infinity"],
  envs: [pulumi.interpolate\`APP_PASSWORD=\${password.result}\`, "APP_MODE=" + cfg.require("mode")],
  uploads: [
    { file: "/srv/app/settings.json", content: JSON.stringify({ mode: cfg.require("mode") }), permissions: "0640" },
    { file: "/srv/app/secret.txt", content: pulumi.secret(cookie.hex), permissions: "0600" },
    { file: "/usr/local/bin/app-health", content: "#!/bin/sh\\ntest -f /srv/app/settings.json\\n", executable: true },
  ],
  volumes: [{ volumeName: volume.name, containerPath: "/data" }],
  networksAdvanced: [{ name: network.name, aliases: ["app", "web"] }],
  ports: [{ internal: 8080, external: cfg.requireNumber("port"), ip: "127.0.0.1", protocol: "tcp" }],
  labels,
  restart: "unless-stopped",
  healthcheck: { tests: ["CMD", "/usr/local/bin/app-health"], interval: "1s", timeout: "5s", startPeriod: "1s", retries: 3 },
  wait: true,
  waitTimeout: 60,
});

if (cfg.getBoolean("withExtra")) {
  new docker.Container("extra", { name: prefix + "-extra", image: base.imageId, command: ["sleep", "infinity"], labels,
    networksAdvanced: [{ name: network.name }] });
}
if (cfg.getBoolean("badInput")) {
  new docker.Container("bad", { name: prefix + "-bad", image: base.imageId, gpus: "all" });
}
if (cfg.get("missingImage")) {
  new docker.RemoteImage("missing", { name: cfg.require("missingImage"), keepLocally: true });
}

export const appId = app.id;
export const appName = app.name;
export const networkId = network.id;
export const volumeName = volume.name;
export const imageId = image.repoDigest;
export const baseImageId = base.imageId;
export const passwordResult = password.result;
export const passwordHash = password.bcryptHash;
export const cookieHex = cookie.hex;
export const networkDatas = app.networkDatas;
`;

describe("docker-backed harness", { concurrency: false }, () => {
  let baseImage: string | undefined;
  let dir: string;
  let port: number;
  const runs: ProgramResult[] = [];

  const writeStack = (name: string, values: Record<string, unknown>) =>
    fs.writeFileSync(
      path.join(dir, `Pulumi.${name}.yaml`),
      `config:\n${Object.entries(values)
        .map(([k, v]) => `  harnesstest:${k}: ${JSON.stringify(v)}\n`)
        .join("")}`,
    );
  const run = (configFile: string) =>
    runProgramInChild({ stack: "selftest", projectDir: dir, configFile, runId, timeoutMs: 300_000, onStderr: () => undefined });

  before(async () => {
    baseImage = await findBaseImage();
    if (!baseImage) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `${runId}-`));
    fs.symlinkSync(path.join(harnessRoot, "node_modules"), path.join(dir, "node_modules"));
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      "name: harnesstest\nruntime: nodejs\nconfig:\n  harnesstest:greeting:\n    type: string\n    default: hello\n  withExtra:\n    type: boolean\n    default: false\n",
    );
    fs.writeFileSync(path.join(dir, "index.ts"), PROGRAM);
    fs.mkdirSync(path.join(dir, "app"));
    fs.writeFileSync(path.join(dir, "app", "Dockerfile"), "ARG BASE\nFROM ${BASE}\nARG GREETING\nCOPY . /app\nRUN echo \"$GREETING\" > /app/greeting.txt\n");
    fs.writeFileSync(path.join(dir, "app", "kept.txt"), "kept\n");
    fs.writeFileSync(path.join(dir, "app", "local-only.txt"), "must not reach the image\n");
    fs.writeFileSync(path.join(dir, "app", ".dockerignore"), "local-only.txt\n");
    port = await freePort();
    const common = { prefix, baseImage, port };
    writeStack("one", { ...common, mode: "one", withExtra: true });
    writeStack("two", { ...common, mode: "two" });
    writeStack("bad", { ...common, mode: "two", badInput: true });
    writeStack("missing", { ...common, mode: "two", missingImage: `localhost/${runId}-absent:1` });
  });

  after(async () => {
    if (!baseImage) return;
    await removeHarnessObjects({ owners: (o) => o === runId, volumes: true, images: true, log: () => undefined });
    for (const c of await docker.listContainers({ all: true, filters: { label: [`${DECOY_LABEL}=${runId}`] } })) {
      await docker.getContainer(c.Id).remove({ force: true });
    }
    for (const n of await docker.listNetworks({ filters: { label: [`${DECOY_LABEL}=${runId}`] } })) await docker.getNetwork(n.Id).remove();
    for (const v of (await docker.listVolumes({ filters: { label: [`${DECOY_LABEL}=${runId}`] } })).Volumes ?? []) {
      await docker.getVolume(v.Name).remove();
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Reads one file from a container (works on any image: no exec). */
  async function readFile(containerId: string, file: string): Promise<{ content: string; mode: number }> {
    const archive = (await docker.getContainer(containerId).getArchive({ path: file })) as NodeJS.ReadableStream;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const extract = require("tar-stream").extract();
    return new Promise((resolve, reject) => {
      let found: { content: string; mode: number } | undefined;
      extract.on("entry", (header: { mode: number }, stream: NodeJS.ReadableStream, next: () => void) => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          found ??= { content: Buffer.concat(chunks).toString("utf8"), mode: header.mode & 0o7777 };
          next();
        });
      });
      extract.on("finish", () => (found ? resolve(found) : reject(new Error(`${file} not found`))));
      extract.on("error", reject);
      archive.pipe(extract);
    });
  }

  test("first run creates the declared objects with their settings", async (t) => {
    if (!baseImage) return t.skip("no Docker engine or no local stand-in image: run `npm run images:standins` first");
    const r = await run("Pulumi.one.yaml");
    runs.push(r);
    assert.equal(r.project, "harnesstest");
    assert.equal(r.owner, runId);
    assert.deepEqual(r.secretOutputs, ["cookieHex", "passwordHash", "passwordResult"]);
    assert.match(String(r.outputs.passwordResult), /^[A-Za-z0-9]{32}$/);
    assert.ok(bcryptjs.compareSync(String(r.outputs.passwordResult), String(r.outputs.passwordHash)));
    assert.match(String(r.outputs.cookieHex), /^[0-9a-f]{64}$/);
    assert.equal(r.config["harnesstest:greeting"], "hello", "project default applies");
    assert.deepEqual(
      Object.fromEntries(r.resources.map((x) => [x.name, x.action])),
      { password: "generated", cookie: "generated", net: "created", data: "created", base: "resolved", "app-image": "built", app: "created", extra: "created" },
    );
    assert.deepEqual(r.resources.find((x) => x.name === "app")!.secretInputs.sort(), ["envs", "uploads"]);

    const app = await docker.getContainer(String(r.outputs.appId)).inspect();
    assert.equal(app.Name, `/${prefix}-app`);
    assert.equal(app.Image, r.outputs.imageId, "the container runs the built image's id");
    assert.equal(app.Config.Labels[LABELS.owner], runId);
    assert.equal(app.Config.Labels["org.example.selftest"], prefix);
    assert.match(app.Config.Labels[LABELS.inputs] ?? "", /^[0-9a-f]{64}$/);
    assert.ok(!JSON.stringify(app.Config.Labels).includes(String(r.outputs.passwordResult)), "no secret in labels");
    assert.ok(app.Config.Env.includes(`APP_PASSWORD=${r.outputs.passwordResult}`));
    assert.ok(app.Config.Env.includes("APP_MODE=one"));
    assert.deepEqual(app.HostConfig.PortBindings, { "8080/tcp": [{ HostIp: "127.0.0.1", HostPort: String(port) }] });
    assert.deepEqual(app.HostConfig.RestartPolicy, { Name: "unless-stopped", MaximumRetryCount: 0 });
    assert.deepEqual(app.HostConfig.Binds, [`${prefix}-data:/data:rw`]);
    assert.equal(app.State.Health?.Status, "healthy", "wait: true waited for the healthcheck");
    assert.deepEqual(app.Config.Healthcheck, { Test: ["CMD", "/usr/local/bin/app-health"], Interval: 1e9, Timeout: 5e9, StartPeriod: 1e9, Retries: 3 });
    const endpoint = app.NetworkSettings.Networks[`${prefix}-net`];
    assert.ok(endpoint, "attached to the declared network");
    assert.deepEqual(Object.keys(app.NetworkSettings.Networks), [`${prefix}-net`], "and only to it");
    assert.ok(endpoint!.Aliases?.includes("app") && endpoint!.Aliases?.includes("web"));
    assert.equal((r.outputs.networkDatas as { networkName: string }[])[0]!.networkName, `${prefix}-net`);

    assert.deepEqual(await readFile(app.Id, "/srv/app/settings.json"), { content: '{"mode":"one"}', mode: 0o640 });
    assert.deepEqual(await readFile(app.Id, "/srv/app/secret.txt"), { content: String(r.outputs.cookieHex), mode: 0o600 });
    assert.equal((await readFile(app.Id, "/usr/local/bin/app-health")).mode, 0o744);
    assert.equal((await readFile(app.Id, "/app/greeting.txt")).content, "hello\n", "build args reach the build");
    assert.equal((await readFile(app.Id, "/app/kept.txt")).content, "kept\n");
    await assert.rejects(readFile(app.Id, "/app/local-only.txt"), ".dockerignore is honoured");

    const network = await docker.getNetwork(String(r.outputs.networkId)).inspect();
    assert.equal(network.Labels?.[LABELS.owner], runId);
    const volume = await docker.getVolume(`${prefix}-data`).inspect();
    assert.equal((volume as { Labels?: Record<string, string> }).Labels?.[LABELS.owner], runId);
    const image = await docker.getImage(String(r.outputs.imageId)).inspect();
    assert.equal(image.Config.Labels?.[LABELS.owner], runId);
    assert.equal(r.outputs.baseImageId, (await docker.getImage(baseImage).inspect()).Id);
    const extra = await docker.getContainer(`${prefix}-extra`).inspect();
    assert.equal(extra.Image, r.outputs.baseImageId);

    // data written into the volume must survive the container's replacement
    const pack = require("tar-stream").pack(); // eslint-disable-line @typescript-eslint/no-require-imports
    pack.entry({ name: "marker.txt", mode: 0o644 }, "written by run one\n");
    pack.finalize();
    await docker.getContainer(app.Id).putArchive(pack, { path: "/data" });

    const state = fs.statSync(r.stateFile);
    assert.equal(state.mode & 0o777, 0o600, "the state file is private");
  });

  test("a second run with the same config keeps every object", async (t) => {
    if (!baseImage || runs.length < 1) return t.skip("needs the first run");
    const r = await run("Pulumi.one.yaml");
    runs.push(r);
    const first = runs[0]!;
    for (const key of ["appId", "networkId", "imageId", "passwordResult", "cookieHex", "passwordHash"]) {
      assert.equal(r.outputs[key], first.outputs[key], `${key} unchanged`);
    }
    assert.ok(r.resources.filter((x) => x.name !== "base").every((x) => x.action === "kept"), JSON.stringify(r.resources.map((x) => [x.name, x.action])));
    assert.deepEqual(r.pruned, []);
  });

  test("a changed env replaces the container, keeps the volume and its data, and removes undeclared containers", async (t) => {
    if (!baseImage || runs.length < 2) return t.skip("needs the earlier runs");
    const r = await run("Pulumi.two.yaml");
    runs.push(r);
    const first = runs[0]!;
    const action = Object.fromEntries(r.resources.map((x) => [x.name, x.action]));
    assert.equal(action.app, "replaced");
    assert.equal(action.data, "kept");
    assert.equal(action.net, "kept");
    assert.equal(action["app-image"], "kept");
    assert.equal(action.password, "kept");
    assert.notEqual(r.outputs.appId, first.outputs.appId);
    assert.equal(r.outputs.networkId, first.outputs.networkId);
    assert.equal(r.outputs.passwordResult, first.outputs.passwordResult, "generated secrets persist");
    assert.equal(r.outputs.cookieHex, first.outputs.cookieHex);
    await assert.rejects(docker.getContainer(String(first.outputs.appId)).inspect(), "the old container is gone");
    const app = await docker.getContainer(String(r.outputs.appId)).inspect();
    assert.ok(app.Config.Env.includes("APP_MODE=two"));
    assert.equal((await readFile(app.Id, "/data/marker.txt")).content, "written by run one\n", "volume data kept");
    assert.ok(r.pruned.some((p) => p.includes(`${prefix}-extra`)), JSON.stringify(r.pruned));
    await assert.rejects(docker.getContainer(`${prefix}-extra`).inspect(), "the undeclared container is removed");
  });

  test("unsupported inputs and missing images fail loudly", async (t) => {
    if (!baseImage || runs.length < 3) return t.skip("needs the earlier runs");
    await assert.rejects(run("Pulumi.bad.yaml"), /docker:index\/container:Container "bad": input "gpus" is not implemented/);
    await assert.rejects(run("Pulumi.missing.yaml"), new RegExp(`image localhost/${runId}-absent:1 not found locally; build the stand-ins`));
    await assert.rejects(docker.getContainer(`${prefix}-bad`).inspect(), "nothing is created for the failing resource");
  });

  test("cleanup removes only the objects labelled for this run", async (t) => {
    if (!baseImage || runs.length < 3) return t.skip("needs the earlier runs");
    const decoyLabels = { [DECOY_LABEL]: runId };
    const otherOwner = { ...decoyLabels, [LABELS.owner]: `${runId}-other` };
    const decoyNet = await docker.createNetwork({ Name: `${prefix}-decoy-net`, Labels: decoyLabels });
    await docker.createVolume({ Name: `${prefix}-decoy-data`, Labels: decoyLabels });
    const decoy = await docker.createContainer({ name: `${prefix}-decoy`, Image: baseImage, Cmd: ["true"], Labels: otherOwner });

    const summary = await removeHarnessObjects({ owners: (o) => o === runId, volumes: false, log: () => undefined });
    assert.deepEqual(summary.failed, []);
    const last = runs[runs.length - 1]!;
    await assert.rejects(docker.getContainer(String(last.outputs.appId)).inspect());
    await assert.rejects(docker.getNetwork(String(last.outputs.networkId)).inspect());
    await assert.rejects(docker.getImage(`${prefix}-app:local`).inspect(), "built images are removed");
    await docker.getVolume(`${prefix}-data`).inspect(); // volumes only when asked
    await docker.getImage(baseImage).inspect(); // never images it did not build
    await docker.getNetwork(decoyNet.id).inspect();
    await docker.getVolume(`${prefix}-decoy-data`).inspect();
    await decoy.inspect();

    const withVolumes = await removeHarnessObjects({ owners: (o) => o === runId, volumes: true, log: () => undefined });
    assert.ok(withVolumes.removed.includes(`volume ${prefix}-data`));
    await docker.getVolume(`${prefix}-decoy-data`).inspect();
  });
});
