/**
 * The docker-backed harness's parts that need no Docker engine: value handling, password
 * generation, build contexts, stack config loading, loud failures, and generated secrets that
 * persist across runs (random resources never touch Docker).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import bcryptjs from "bcryptjs";
import { prepareBuildContext } from "../harness/build-context";
import {
  canonicalJson,
  DockerMocks,
  durationNs,
  generatePassword,
  SECRET_SIG,
  SECRET_VALUE,
  unwrapSecrets,
  wrapSecret,
} from "../harness/docker-mocks";
import { loadStackConfig } from "../harness/program";

const tmp = (name: string) => fs.mkdtempSync(path.join(os.tmpdir(), `harness-unit-${name}-`));

test("secret wrappers, canonical JSON and durations", () => {
  const secrets: string[] = [];
  const raw = { envs: wrapSecret(["A=1"]), uploads: [{ file: "/x", content: wrapSecret("s") }], name: "n" };
  assert.deepEqual(raw.envs, { [SECRET_SIG]: SECRET_VALUE, value: ["A=1"] });
  assert.deepEqual(unwrapSecrets(raw, secrets), { envs: ["A=1"], uploads: [{ file: "/x", content: "s" }], name: "n" });
  assert.deepEqual(secrets, ["envs", "uploads[0].content"]);
  assert.equal(canonicalJson({ b: 1, a: { d: undefined, c: [2, { z: 1, y: 2 }] } }), '{"a":{"c":[2,{"y":2,"z":1}]},"b":1}');
  assert.equal(durationNs("10s", "x"), 10e9);
  assert.equal(durationNs("1m30s", "x"), 90e9);
  assert.equal(durationNs("500ms", "x"), 5e8);
  assert.throws(() => durationNs("10", "healthcheck.interval"), /healthcheck.interval: "10" is not a duration/);
});

test("passwords follow random_password's classes and minimums", () => {
  assert.match(generatePassword({ length: 48, special: false }), /^[A-Za-z0-9]{48}$/);
  const p = generatePassword({ length: 12, upper: false, lower: false, numeric: false, overrideSpecial: "#%" });
  assert.match(p, /^[#%]{12}$/);
  for (let i = 0; i < 20; i++) {
    const q = generatePassword({ length: 6, minUpper: 2, minNumeric: 2, special: false });
    assert.equal(q.length, 6);
    assert.ok((q.match(/[A-Z]/g) ?? []).length >= 2 && (q.match(/[0-9]/g) ?? []).length >= 2, q);
  }
});

test("build contexts honour .dockerignore, keep build files and hash what is sent", () => {
  const dir = tmp("ctx");
  try {
    fs.mkdirSync(path.join(dir, "ctx", "sub"), { recursive: true });
    fs.mkdirSync(path.join(dir, "ctx", "cache"), { recursive: true });
    fs.writeFileSync(path.join(dir, "ctx", "Dockerfile"), "FROM scratch\n");
    fs.writeFileSync(path.join(dir, "ctx", "a.txt"), "a");
    fs.writeFileSync(path.join(dir, "ctx", "sub", "b.txt"), "b");
    fs.writeFileSync(path.join(dir, "ctx", "cache", "junk"), "junk");
    fs.writeFileSync(path.join(dir, "ctx", ".dockerignore"), "cache\n*.log\nDockerfile\n");
    const first = prepareBuildContext(dir, "ctx");
    assert.equal(first.relDockerfile, "Dockerfile");
    assert.equal(first.files, 4, "Dockerfile and .dockerignore are sent although ignored; cache/ is not");
    fs.writeFileSync(path.join(dir, "ctx", "debug.log"), "ignored");
    fs.writeFileSync(path.join(dir, "ctx", "cache", "more"), "ignored");
    assert.equal(prepareBuildContext(dir, "ctx").hash, first.hash, "ignored files do not cause a rebuild");
    fs.writeFileSync(path.join(dir, "ctx", "sub", "b.txt"), "changed");
    assert.notEqual(prepareBuildContext(dir, "ctx").hash, first.hash);
    // explicit dockerfile: relative to the program directory, may live outside the context
    fs.writeFileSync(path.join(dir, "Other.Dockerfile"), "FROM scratch\n");
    const outside = prepareBuildContext(dir, "ctx", "Other.Dockerfile");
    assert.equal(outside.relDockerfile, "../Other.Dockerfile");
    assert.match(outside.dockerfileInTar, /^\.dockerfile\.[0-9a-f]+$/);
    assert.throws(() => prepareBuildContext(dir, "ctx", "ctx/Missing"), /Dockerfile .* does not exist/);
    assert.throws(() => prepareBuildContext(dir, "nope"), /is not a directory/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("stack config: project defaults, stack overrides, JSON for structured values, secure refused", () => {
  const dir = tmp("cfg");
  try {
    fs.writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      [
        "name: proj",
        "runtime: nodejs",
        "config:",
        "  proj:a: { type: string, default: from-project }",
        "  b: { type: integer, default: 3 }",
        "  c: { type: string, description: no default }",
        "  docker:host: { value: unix:///var/run/docker.sock }",
        "  proj:list: { type: array, items: { type: string }, default: [x, y] }",
      ].join("\n"),
    );
    fs.writeFileSync(path.join(dir, "Pulumi.s.yaml"), "config:\n  proj:a: from-stack\n  proj:obj:\n    k: [1, true]\n  proj:flag: true\n");
    const cfg = loadStackConfig(dir, "s");
    assert.equal(cfg.project, "proj");
    assert.equal(cfg.main, path.join(dir, "index.ts"));
    assert.deepEqual(cfg.config, {
      "proj:a": "from-stack",
      "proj:b": "3",
      "docker:host": "unix:///var/run/docker.sock",
      "proj:list": '["x","y"]',
      "proj:obj": '{"k":[1,true]}',
      "proj:flag": "true",
    });
    fs.writeFileSync(path.join(dir, "Pulumi.enc.yaml"), "config:\n  proj:token:\n    secure: v1:abcd\n");
    assert.throws(() => loadStackConfig(dir, "enc"), /proj:token is encrypted \("secure:"\).*cannot decrypt it without the Pulumi CLI/s);
    assert.throws(() => loadStackConfig(dir, "absent"), /Pulumi\.absent\.yaml not found/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Resolves an output, failing fast when the mocks failed. */
function valueOf<T>(o: pulumi.Output<T>, mocks: DockerMocks): Promise<T> {
  return Promise.race([new Promise<T>((resolve) => o.apply(resolve)), mocks.failed, new Promise<T>((_, r) => setTimeout(() => r(new Error("unresolved")), 5000))]);
}

test("generated secrets are secret outputs and persist per resource until their inputs change", async () => {
  const dir = tmp("state");
  try {
    const run = async (length: number) => {
      const mocks = new DockerMocks({ stack: "unit", owner: "e2e-unit", projectDir: dir, log: () => undefined });
      await pulumi.runtime.setMocks(mocks, "proj", "unit", false);
      const pw = new random.RandomPassword("pw", { length, special: false });
      const bytes = new random.RandomBytes("bytes", { length: 16 });
      const result = { pw: await valueOf(pw.result, mocks), hash: await valueOf(pw.bcryptHash, mocks), hex: await valueOf(bytes.hex, mocks) };
      assert.ok(await pulumi.isSecret(pw.result));
      assert.ok(await pulumi.isSecret(pw.bcryptHash));
      assert.ok(await pulumi.isSecret(bytes.hex));
      assert.ok(await pulumi.isSecret(bytes.base64));
      await mocks.settled(5000);
      return { ...result, mocks };
    };
    const one = await run(20);
    assert.match(one.pw, /^[A-Za-z0-9]{20}$/);
    assert.ok(bcryptjs.compareSync(one.pw, one.hash));
    assert.match(one.hex, /^[0-9a-f]{32}$/);
    const file = path.join(dir, ".local-state", "e2e-unit.json");
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const two = await run(20);
    assert.equal(two.pw, one.pw, "same inputs: same password");
    assert.equal(two.hex, one.hex);
    assert.deepEqual(two.mocks.records.map((r) => r.action), ["kept", "kept"]);
    const three = await run(24);
    assert.notEqual(three.pw, one.pw, "changed inputs: a new password");
    assert.equal(three.pw.length, 24);
    assert.equal(three.hex, one.hex, "other resources keep theirs");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("unsupported types, inputs and invokes fail loudly, naming them", async () => {
  // Called directly: through the runtime, a failed registration also rejects each of the
  // resource's outputs unobserved, which node's test runner counts as a failure (the e2e
  // self-test covers that path in a child process).
  const dir = tmp("loud");
  try {
    const mocks = new DockerMocks({ stack: "unit", owner: "e2e-unit", projectDir: dir, log: () => undefined });
    const reg = (type: string, name: string, inputs: Record<string, unknown>) => mocks.newResource({ type, name, inputs, custom: true });
    await assert.rejects(reg("docker:index/container:Container", "c", { image: "x", gpus: "all" }), /docker:index\/container:Container "c": input "gpus" is not implemented by the docker harness/);
    await assert.rejects(
      reg("docker:index/container:Container", "n", { image: "x", uploads: [{ file: "/a", content: wrapSecret("b"), owner: "1000" }] }),
      /input "uploads\[0\]\.owner" is not implemented/,
    );
    await assert.rejects(reg("random:index/randomString:RandomString", "s", { length: 4 }), /random:index\/randomString:RandomString "s": resource type not implemented/);
    await assert.rejects(reg("docker:index/image:Image", "i", { imageName: "x:y", build: { context: "." } }), /skipPush must be true/);
    await assert.rejects(reg("docker:index/network:Network", "n2", { name: "x", ipamConfigs: [] }), /input "ipamConfigs" is not implemented/);
    assert.throws(() => mocks.call({ token: "docker:index/getNetwork:getNetwork", inputs: {} }), /invoke docker:index\/getNetwork:getNetwork is not implemented/);
    await assert.rejects(mocks.failed, /input "gpus" is not implemented/, "the first failure rejects the promise callers race against");
    assert.equal(mocks.failures.length, 6);
    const component = await mocks.newResource({ type: "jupyterhub:index:JupyterHub", name: "hub", inputs: {}, custom: false });
    assert.deepEqual(component, { id: undefined, state: {} }, "component resources pass through");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
