/**
 * Images as operators ship them: pulled from a private registry with credentials, pinned by digest,
 * updated by a reviewed change, old versions pruned. Against the registry stand-in of
 * test/infra/registry.sh (https://10.216.0.2:5000, a test CA, basic auth), with its own stack
 * (Pulumi.e2e-registry.yaml, port 18050) whose every image comes from that registry:
 *
 * - the stack file's tags are pinned by `npm run pin` (requireDigests refuses them unpinned);
 * - the credentials pull every image, and `pulumi up` reports each pull; a wrong password fails
 *   `pulumi up` naming the registry's refusal;
 * - a tag that moves upstream changes nothing (preview quiet, new servers keep the pinned image;
 *   `npm run pin -- --check` says it moved); `npm run pin -- --update` writes the new digest, whose
 *   preview shows exactly the pull and the replacements; after `pulumi up` a running server keeps
 *   its image and a new one gets the new image;
 * - the password is in none of the state, the outputs, the containers' configuration, the logs;
 * - `npm run prune-images` keeps a version a container uses and then removes it, nothing else.
 *
 * Needs root (the registry runs in a network namespace). Skipped against a hub deployed elsewhere.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import YAML from "yaml";
import { command, show, type Run } from "./commands";
import { containerLogs, docker, dockerExec, inspectContainer, requireEngine } from "./engine";
import { HubApi } from "./hub-api";
import { ensureStack, preview, pulumiEnv, pulumiOk, stackHub, up } from "./pulumi";
import { forgetRegistryImages, push, REGISTRY, registryReferences, startRegistry, registrySh } from "./registry";
import { removeStack } from "./remove-stack";
import { editedStackFile, projectDir, stackSkip as skip } from "./stack";
import { waitForHub } from "./wait";

const STACK = "e2e-registry";
const PREFIX = "gmap-e2e-reg";
const NOTEBOOK = `${REGISTRY}/gmap/notebook`;
/** Two releases of the notebook image, made here so that no other scenario's container runs them. */
const RELEASES = { 1: "localhost/notebook-registry-test:1", 2: "localhost/notebook-registry-test:2" } as const;

/** `npm run <script> -- <args>` with the tests' Pulumi environment (backend, passphrase). */
const npm = (script: string, args: readonly string[]): Promise<Run> =>
  command("npm", ["run", "-s", script, "--", ...args], 10 * 60_000, pulumiEnv());

/** Builds a release of the notebook stand-in: a label of its own (a new image id and digest); release 2 a new layer too. */
function buildRelease(release: 1 | 2): string {
  execFileSync("docker", ["build", "-q", "-t", RELEASES[release], "-"], {
    // release 2 brings a layer of its own (20 MiB), which `pulumi up` downloads
    input:
      `FROM localhost/notebook-minimal:5.5.1\nLABEL org.europlanet-gmap.test-release="${release}"\n` +
      (release === 2 ? "RUN head -c 20971520 /dev/urandom > /tmp/release-2.bin\n" : ""),
    stdio: ["pipe", "pipe", "pipe"],
    timeout: 120_000,
  });
  return execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", RELEASES[release]], { encoding: "utf8" }).trim();
}

/** The lines of a run that tell of pulls. */
const pullLines = (run: Run) =>
  `${run.stdout}\n${run.stderr}`
    .split("\n")
    .filter((l) => /pull/i.test(l))
    .join("\n");

/** `pulumi config set --secret` of the registry's password, in a copy of the stack file. */
async function setPassword(file: string, value: string): Promise<void> {
  await pulumiOk([
    "config",
    "set",
    "--secret",
    "--path",
    `registryPasswords["${REGISTRY}"]`,
    value,
    "--stack",
    STACK,
    "--config-file",
    file,
  ]);
}

/** Sets a key of the copied stack file (YAML path under `config:`), comments kept. */
function setInCopy(file: string, keyPath: readonly (string | number)[], value: unknown): void {
  const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
  doc.setIn(["config", ...keyPath], value);
  fs.writeFileSync(file, doc.toString());
}

describe("images from a private registry: credentials, pinning, updates, pruning (own stack Pulumi.e2e-registry.yaml)", { skip }, () => {
  let configFile = "";
  let password = "";
  let api: HubApi;
  const ids: Record<1 | 2, string> = { 1: "", 2: "" };
  const digests: Record<1 | 2, string> = { 1: "", 2: "" };
  const outputs: string[] = [];
  /** This stack with the copy of its stack file that holds the registry's password. */
  const target = () => ({ stack: STACK, configFile });

  const serverImage = async (user: string) => (await inspectContainer(`${PREFIX}-user-${user}`)).Image;

  before(async () => {
    await requireEngine();
    assert.equal(process.getuid?.(), 0, "the registry stand-in runs in a network namespace: run as root");
    await removeStack(STACK);
    ({ password } = await startRegistry());
    await forgetRegistryImages(docker);
    ids[1] = buildRelease(1);
    ids[2] = buildRelease(2);
    await push("localhost/jupyterhub:5.5.1", "mirror/jupyterhub:5.5.1");
    await push("localhost/configurable-http-proxy:5.1.0", "mirror/configurable-http-proxy:5.1.0");
    digests[1] = await push(RELEASES[1], "gmap/notebook:stable");
    // the pushes leave digest references on the engine, and the release its local tag: without them,
    // everything is pulled and the registry's references are the only names of release 1
    await forgetRegistryImages(docker);
    await docker.getImage(RELEASES[1]).remove();
    await ensureStack(STACK);
    // a copy of the stack file as it is, comments included
    configFile = editedStackFile(() => undefined, STACK);
    fs.copyFileSync(path.join(projectDir, `Pulumi.${STACK}.yaml`), configFile);
    await setPassword(configFile, password);
  });

  after(async () => {
    const problems = await removeStack(STACK);
    await forgetRegistryImages(docker);
    for (const ref of Object.values(RELEASES))
      await docker
        .getImage(ref)
        .remove()
        .catch(() => undefined);
    await registrySh(["down"]).catch((e: Error) => problems.push(e.message));
    assert.deepEqual(problems, [], "cleaning up");
  });

  it("refuses the stack's tags when digests are required, then `npm run pin` pins each image in the stack file", async () => {
    setInCopy(configFile, ["jupyterhub:requireDigests"], true);
    const refused = await preview(target());
    assert.notEqual(refused.code, 0, "a preview with unpinned images must fail");
    for (const key of ["jupyterhub:hub.baseImage", "jupyterhub:proxy.image", "jupyterhub:images[0].image"]) {
      assert.match(refused.stdout + refused.stderr, new RegExp(`${key.replace(/[.[\]]/g, "\\$&")}: .*not pinned by digest`), key);
    }
    const pinned = await npm("pin", [STACK, "--config-file", configFile]);
    assert.equal(pinned.code, 0, show(pinned));
    assert.match(pinned.stdout, new RegExp(`images\\[0\\]\\.image: pinned ${NOTEBOOK}:stable@${digests[1]}`));
    assert.match(pinned.stdout, /hub\.baseImage: pinned 10\.216\.0\.2:5000\/mirror\/jupyterhub:5\.5\.1@sha256:/);
    assert.match(pinned.stdout, /proxy\.image: pinned .*@sha256:/);
    const text = fs.readFileSync(configFile, "utf8");
    assert.ok(text.startsWith("# Registry test stack"), "the stack file's comments are kept");
    assert.equal((text.match(/@sha256:[0-9a-f]{64}/g) ?? []).length, 3);
  });

  it("pulls every image with the credentials, reports each pull, and gives the hub its Docker client configuration", async () => {
    const run = await up(target());
    outputs.push(run.stdout, run.stderr);
    assert.equal(run.code, 0, `pulumi up failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
    for (const ref of [
      `${NOTEBOOK}:stable@${digests[1]}`,
      `${REGISTRY}/mirror/jupyterhub:5.5.1@`,
      `${REGISTRY}/mirror/configurable-http-proxy:5.1.0@`,
    ]) {
      // (with --diff the CLI prints the program's messages on its standard error)
      assert.ok(`${run.stdout}${run.stderr}`.includes(`pulled ${ref}`), `pulumi up reports the pull of ${ref}:\n${pullLines(run)}`);
    }
    assert.deepEqual(
      (await registryReferences(docker)).filter((r) => r.startsWith(NOTEBOOK)),
      [`${NOTEBOOK}@${digests[1]}`],
      "the notebook image pulled by its digest",
    );
    assert.equal((await docker.getImage(`${NOTEBOOK}@${digests[1]}`).inspect()).Id, ids[1]);
    const env = await stackHub({ stack: STACK });
    await waitForHub(env.url);
    api = new HubApi(env);
    // the hub's own Docker client (its pulls; in swarm mode, its services) reads the credentials
    // from the folder its settings name (the hub sets DOCKER_CONFIG to it at start: test_hub.py)
    const hub = `${PREFIX}-hub`;
    assert.equal((await dockerExec(hub, ["stat", "-c", "%a %U", "/srv/jupyterhub/docker/config.json"])).trim(), "600 root");
    const script = [
      "import json, os, docker",
      "os.environ['DOCKER_CONFIG'] = json.load(open('/srv/jupyterhub/settings.json'))['hub']['dockerConfigDir']",
      "print(sorted(docker.APIClient()._auth_configs.auths))",
    ].join("; ");
    assert.equal((await dockerExec(hub, ["python3", "-c", script])).trim(), `['${REGISTRY}']`);
  });

  it("starts a user's server from the pinned image", async () => {
    await api.createUser("ada");
    await api.startServer("ada");
    assert.equal(await serverImage("ada"), ids[1]);
  });

  it("does not pick up a tag that moved upstream: the preview is quiet, new servers keep the pinned image, pin --check says it moved", async () => {
    digests[2] = await push(RELEASES[2], "gmap/notebook:stable");
    // as if another machine had pushed it: no reference to it here, its own layer gone with it
    await docker
      .getImage(`${NOTEBOOK}@${digests[2]}`)
      .remove()
      .catch(() => undefined);
    await docker.getImage(RELEASES[2]).remove();
    await assert.rejects(docker.getImage(ids[2]).inspect(), "release 2 is not on the engine");
    assert.notEqual(digests[2], digests[1]);
    const p = await preview(target());
    assert.equal(p.code, 0, show(p));
    assert.deepEqual(
      p.changes.map((s) => `${s.op} ${s.name}`),
      [],
      "the preview after a tag moved upstream plans nothing",
    );
    const check = await npm("pin", [STACK, "--check", "--config-file", configFile]);
    assert.equal(check.code, 1, show(check));
    assert.match(check.stdout, new RegExp(`images\\[0\\]\\.image: its tag moved upstream to ${digests[2]}; the stack keeps ${digests[1]}`));
    await api.createUser("bea");
    await api.startServer("bea");
    assert.equal(await serverImage("bea"), ids[1], "a new server starts from the pinned image, not the moved tag");
    await api.stopServer("bea");
  });

  it("updates by a reviewed change: pin --update writes the new digest, whose preview shows the pull and the replacements it causes", async () => {
    const updated = await npm("pin", [STACK, "--update", "--config-file", configFile]);
    assert.equal(updated.code, 0, show(updated));
    assert.match(updated.stdout, new RegExp(`images\\[0\\]\\.image: updated to ${NOTEBOOK}:stable@${digests[2]}`));
    const p = await preview(target());
    assert.equal(p.code, 0, show(p));
    assert.deepEqual(p.changes.map((s) => `${s.op} ${s.type} ${s.name}`).sort(), [
      // the settings the hub reads name the new image: the hub container is replaced
      "replace docker:index/container:Container jupyterhub-hub",
      "replace docker:index/remoteImage:RemoteImage jupyterhub-images-notebook",
    ]);
    const review = await npm("preview", [STACK, "--config-file", configFile]);
    assert.ok(review.code === 0 || review.code === 1, show(review));
    assert.ok(
      review.stdout.includes(`New servers start from \`${NOTEBOOK}:stable@${digests[2]}\` instead of \`${NOTEBOOK}:stable@${digests[1]}\``),
      `the review names both digests:\n${review.stdout}`,
    );
  });

  it("fails the update's `pulumi up` with a wrong password, naming the registry's refusal, and changes nothing", async () => {
    // (the first pulls cannot show it: this engine pushed those images and Docker takes content it has by digest without asking)
    const hub = (await inspectContainer(`${PREFIX}-hub`)).Id;
    const wrong = editedStackFile(() => undefined, STACK);
    fs.copyFileSync(configFile, wrong);
    await setPassword(wrong, "not-the-password");
    const run = await up({ stack: STACK, configFile: wrong });
    assert.notEqual(run.code, 0, "pulumi up with a wrong password must fail");
    assert.match(
      run.stdout + run.stderr,
      new RegExp(`pulling ${NOTEBOOK}:stable@${digests[2]} failed: .*(unauthorized|authentication required|no basic auth)`, "i"),
    );
    assert.equal((await inspectContainer(`${PREFIX}-hub`)).Id, hub, "the hub was not touched");
    assert.equal((await inspectContainer(`${PREFIX}-user-ada`)).State.Running, true);
  });

  it("after `pulumi up` a running server keeps its image and a new server gets the new one; the next preview is quiet", async () => {
    const before = await inspectContainer(`${PREFIX}-user-ada`);
    const run = await up(target());
    outputs.push(run.stdout, run.stderr);
    assert.equal(run.code, 0, `pulumi up failed:\n${(run.stdout + run.stderr).slice(-6000)}`);
    const pulled = `${run.stdout}${run.stderr}`.match(new RegExp(`pulled ${NOTEBOOK}:stable@${digests[2]} \\(([0-9.]+) MiB downloaded\\)`));
    assert.ok(pulled, `pulumi up reports the update's pull and what it downloaded:\n${run.stderr.slice(-3000)}`);
    assert.ok(Number(pulled[1]) >= 19 && Number(pulled[1]) <= 30, `${pulled[1]} MiB downloaded for a 20 MiB layer`);
    await waitForHub(api.env.url);
    const after = await inspectContainer(`${PREFIX}-user-ada`);
    assert.equal(after.Id, before.Id, "ada's server was not restarted");
    assert.equal(after.Image, ids[1], "ada's server keeps its image");
    await api.createUser("cyd");
    await api.startServer("cyd");
    assert.equal(await serverImage("cyd"), ids[2], "a new server starts from the new image");
    const quiet = await preview(target());
    assert.equal(quiet.code, 0, show(quiet));
    assert.deepEqual(
      quiet.changes.map((s) => `${s.op} ${s.name}`),
      [],
    );
  });

  it("keeps the registry password out of the state, the outputs, the containers and the logs", async () => {
    const forms = [password, Buffer.from(`gmap-puller:${password}`).toString("base64")];
    const places: Record<string, string> = {
      "pulumi stack export": (await pulumiOk(["stack", "export", "--stack", STACK])).stdout,
      "pulumi stack output --show-secrets": (await pulumiOk(["stack", "output", "--json", "--show-secrets", "--stack", STACK])).stdout,
      "pulumi up output": outputs.join("\n"),
      "hub log": await containerLogs(`${PREFIX}-hub`),
    };
    for (const name of [`${PREFIX}-hub`, `${PREFIX}-proxy`, `${PREFIX}-user-ada`, `${PREFIX}-user-cyd`]) {
      places[`docker inspect ${name}`] = JSON.stringify(await inspectContainer(name));
    }
    for (const [place, text] of Object.entries(places)) {
      assert.ok(text.length > 0, `${place} is empty`);
      for (const form of forms) assert.ok(!text.includes(form), `the registry password appears in ${place}`);
    }
    // the state holds it only encrypted (the hub's client configuration among the hub's files); no provider holds it
    const resources = JSON.parse(places["pulumi stack export"]!).deployment.resources as { type: string; urn: string; inputs: any }[];
    const hub = resources.find((r) => r.type === "docker:index/container:Container" && r.urn.endsWith("::jupyterhub-hub"));
    assert.ok(hub?.inputs?.uploads?.ciphertext, "the hub's files are encrypted in the state");
    assert.deepEqual(
      resources
        .filter((r) => r.type === "pulumi:providers:docker")
        .map((r) => Object.keys(r.inputs ?? {}).filter((k) => /registry/i.test(k))),
      [[]],
      "the Docker provider holds no registry credentials",
    );
  });

  it("prunes old versions only: one a server runs is kept until it stops, nothing else is touched", async () => {
    const dry = await npm("prune-images", [STACK, "--dry-run", "--config-file", configFile]);
    assert.equal(dry.code, 0, show(dry));
    assert.match(dry.stdout, new RegExp(`kept ${NOTEBOOK}@${digests[1]}: a container uses it`));
    assert.doesNotMatch(dry.stdout, /would remove/);
    await api.stopServer("ada");
    const run = await npm("prune-images", [STACK, "--config-file", configFile]);
    assert.equal(run.code, 0, show(run));
    assert.deepEqual(
      run.stdout.split("\n").filter((l) => l.startsWith("removed")),
      [`removed ${NOTEBOOK}@${digests[1]}`],
    );
    await assert.rejects(docker.getImage(ids[1]).inspect(), "release 1 is gone (nothing else named it)");
    assert.equal((await docker.getImage(`${NOTEBOOK}@${digests[2]}`).inspect()).Id, ids[2], "the current version stays");
    await docker.getImage("localhost/notebook-minimal:5.5.1").inspect();
    for (const ref of [`${REGISTRY}/mirror/jupyterhub:5.5.1`, `${REGISTRY}/mirror/configurable-http-proxy:5.1.0`]) {
      assert.ok(
        (await registryReferences(docker)).some((r) => r.startsWith(ref.split(":5.")[0]!)),
        `${ref} stays`,
      );
    }
    // cyd's server still answers from the new image
    assert.equal(await serverImage("cyd"), ids[2]);
  });
});
