import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { labelsFor, names } from "../../components/names";

describe("names and labels", () => {
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
});
