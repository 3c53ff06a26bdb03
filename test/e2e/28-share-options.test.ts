/**
 * Scenario 28: a network share's options change (its server moves, its mount options or password
 * are rotated). The preview plans a new version of the share's options, a volume of a new name and
 * the hub's replacement; `pulumi up` applies exactly that: the new volume has the new options
 * (Docker would have handed back the old volume under an unchanged name), and the next preview is
 * quiet. The share is an NFS volume of Docker's local driver, which Docker creates without mounting
 * it: no traffic leaves the host, and no server is started while the share is configured. The
 * review of the change (`npm run preview`) says so and lets it land (exit 0: no data is lost).
 */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { labelKeys } from "../../components/names";
import { command, show } from "./commands";
import { docker } from "./engine";
import { assertQuietPreview, preview, pulumiEnv, up, upOk } from "./pulumi";
import { editedStackFile, prefix, stack, stackSkip } from "./stack";

const MOUNT = "rotated";
/** Documentation addresses (TEST-NET-1): never contacted, since nothing mounts the volume. */
const share = (server: string) => ({
  name: MOUNT,
  source: { type: "nfs", server, export: "/export/archive", options: ["nfsvers=4"] },
  mountPath: "/mnt/rotated",
  readOnly: true,
});
const withShare = (server: string) =>
  editedStackFile((c) => {
    c["jupyterhub:storage"] = [...(c["jupyterhub:storage"] as unknown[]), share(server)];
  });

/** The share's volumes on the engine: name -> its driver's `o` option. */
async function shareVolumes(): Promise<Record<string, string>> {
  const { Volumes } = await docker.listVolumes({
    filters: { label: [`${labelKeys.prefix}=${prefix()}`, `${labelKeys.component}=storage-${MOUNT}`] },
  });
  return Object.fromEntries((Volumes ?? []).map((v) => [v.Name, (v.Options ?? {}).o ?? ""]));
}

describe("rotating a network share's options", { skip: stackSkip }, () => {
  after(async () => {
    const restored = await up();
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    // retained on delete like every stack volume; these hold no data (an NFS server's export)
    for (const name of Object.keys(await shareVolumes())) await docker.getVolume(name).remove();
  });

  it("plans a volume of a new name, applies the new options and is quiet afterwards", async () => {
    const first = withShare("192.0.2.10");
    await upOk({ stack: stack!, configFile: first });
    const before = await shareVolumes();
    assert.equal(Object.keys(before).length, 1);
    const [oldName] = Object.keys(before);
    assert.match(oldName!, new RegExp(`^${prefix()}-${MOUNT}-[0-9a-f]{8}$`));
    assert.equal(before[oldName!], "addr=192.0.2.10,nfsvers=4,ro");

    const moved = withShare("192.0.2.20");
    const plan = await preview({ configFile: moved });
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    const planned = plan.changes.map((s) => `${s.op} ${s.type.split(":").pop()} ${s.name}`).sort();
    assert.deepEqual(
      planned.filter((s) => !/^(delete-replaced|create-replacement) /.test(s)),
      [
        `replace RandomId jupyterhub-share-versions-${MOUNT}`,
        "replace Container jupyterhub-hub",
        `replace Volume jupyterhub-storage-${MOUNT}`,
      ].sort(),
    );

    const review = await command("npm", ["run", "-s", "preview", "--", stack!, "--config-file", moved], 5 * 60_000, pulumiEnv());
    assert.equal(review.code, 0, show(review));
    assert.match(review.stdout, /version of the options of share `rotated`.*its volumes get a new name/, show(review));
    assert.match(
      review.stdout,
      /share volume.*with the new options; running servers keep theirs; the files stay on the share/,
      show(review),
    );
    assert.doesNotMatch(review.stdout, /Data loss/, show(review));

    await upOk({ stack: stack!, configFile: moved });
    const after = await shareVolumes();
    const [newName] = Object.keys(after).filter((n) => n !== oldName);
    assert.ok(newName, `a volume of a new name: ${JSON.stringify(after)}`);
    assert.equal(after[newName], "addr=192.0.2.20,nfsvers=4,ro", "the new volume has the new options");
    await assertQuietPreview("after the share's options changed", { configFile: moved });
  });
});
