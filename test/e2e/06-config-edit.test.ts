/**
 * Scenario 6: switching the notebook image is one config edit, reviewed with `pulumi preview` and
 * applied with `pulumi up`. The preview plans exactly the hub's replacement (plus the pull of an
 * image that is new); applying it replaces the hub only; new spawns use the new image; user data
 * is intact; the next preview is quiet.
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { docker, inspectContainer } from "./engine";
import { HubApi } from "./hub-api";
import { assertQuietPreview, preview, type Step, up } from "./pulumi";
import { editedStackFile, prefix, stackSkip } from "./stack";
import { uniqueName } from "./user-names";

const api = new HubApi();
const MINIMAL = "localhost/notebook-minimal:5.5.1";
const GISPY = "localhost/notebook-gispy:5.5.1";
/** An image the stack has not pulled yet: a new tag of the GISPy stand-in (the tests' own object). */
const ALIAS = { repo: "localhost/notebook-gispy", tag: "5.5.1-e2e-alias" };

async function snapshot() {
  const p = prefix();
  const volumes = await Promise.all(["hub-data", "shared", "archive"].map((v) => docker.getVolume(`${p}-${v}`).inspect()));
  const images = await Promise.all([MINIMAL, GISPY].map((i) => docker.getImage(i).inspect()));
  return {
    hub: (await inspectContainer(`${p}-hub`)).Id,
    proxy: (await inspectContainer(`${p}-proxy`)).Id,
    network: (await docker.getNetwork(p).inspect()).Id,
    // (a volume's CreatedAt is its directory's mtime: it moves when files are written)
    volumes: volumes.map((v) => `${v.Name}@${v.Mountpoint}`),
    images: images.map((i) => i.Id),
  };
}

const planned = (steps: Step[]) => [...new Set(steps.map((s) => `${s.type.split(":").pop()} ${s.name}`))].sort();

describe("switching the notebook image by config", { skip: stackSkip }, () => {
  const aliasTag = `${ALIAS.repo}:${ALIAS.tag}`;

  after(async () => {
    await docker
      .getImage(aliasTag)
      .remove()
      .catch(() => undefined);
    const restored = await up();
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    await assertQuietPreview("after restoring the e2e stack file");
  });

  it("the preview of a defaultImage edit plans exactly the hub's replacement", async () => {
    const p = await preview({ configFile: editedStackFile((c) => (c["jupyterhub:defaultImage"] = "gispy")) });
    assert.equal(p.code, 0, p.stdout + p.stderr);
    assert.deepEqual(planned(p.changes), ["Container jupyterhub-hub"]);
    assert.ok(
      p.changes.every((s) => /replace/.test(s.op)),
      p.changes.map((s) => s.op).join(", "),
    );
  });

  it("the preview of a new image reference plans its pull and the hub's replacement", async () => {
    await docker.getImage(GISPY).tag(ALIAS);
    const p = await preview({
      configFile: editedStackFile((c) => {
        c["jupyterhub:images"][1].image = aliasTag;
      }),
    });
    assert.equal(p.code, 0, p.stdout + p.stderr);
    assert.deepEqual(planned(p.changes), ["Container jupyterhub-hub", "RemoteImage jupyterhub-images-gispy"]);
  });

  it("applies the edit: hub replaced, new spawns use the new image, data and the rest untouched, next preview quiet", async () => {
    const name = uniqueName("switch");
    await api.createUser(name);
    await api.startServer(name);
    assert.equal((await api.runPython(name, "import os; print(os.environ['GMAP_IMAGE'])")).trim(), "minimal");
    assert.equal((await api.putFile(name, "work/notes.txt", "before the switch")).status, 201);
    assert.equal((await api.putFile(name, "root.txt", "at the root")).status, 201);
    await api.stopServer(name);

    const before = await snapshot();
    const file = editedStackFile((c) => (c["jupyterhub:defaultImage"] = "gispy"));
    const applied = await up({ configFile: file });
    assert.equal(applied.code, 0, applied.stdout + applied.stderr);
    const afterEdit = await snapshot();
    assert.notEqual(afterEdit.hub, before.hub, "the hub container was replaced");
    assert.deepEqual({ ...afterEdit, hub: "" }, { ...before, hub: "" }, "proxy, network, volumes and images untouched");
    const quiet = await preview({ configFile: file });
    assert.deepEqual(
      quiet.changes.map((s) => `${s.op} ${s.name}`),
      [],
      "the preview right after the switch is quiet",
    );

    const settings = await api.startServer(name);
    assert.equal(settings.ready, true);
    assert.equal(
      (await api.runPython(name, "import os; print(os.environ['GMAP_IMAGE'])")).trim(),
      "gispy",
      "a new spawn uses the new default",
    );
    assert.equal(await api.getFile(name, "work/notes.txt"), "before the switch", "the user's work is intact");
    assert.equal(await api.getFile(name, "root.txt"), "at the root", "the whole home is kept");
    await api.stopServer(name);
  });
});
