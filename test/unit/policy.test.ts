/** The policy pack's rules (policy/rules.ts) on the inputs of the stack's containers; the pack itself runs in e2e/26-preview-review.test.ts. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { labelsFor } from "../../components/names";
import { componentLabel, portsInTheClear } from "../../policy/rules";

const labels = (component: string) => labelsFor({ prefix: "gmap", labels: {} }, "production", component);

describe("policy: no plain HTTP on every interface", () => {
  it("reads the component from the stack's own label key", () => {
    assert.ok(labels("proxy").some((l) => l.label === componentLabel));
  });

  it("refuses a port published on every interface by anything but the TLS front proxy", () => {
    for (const ip of [undefined, "", "0.0.0.0", "::"])
      assert.deepEqual(
        portsInTheClear({ ports: [{ internal: 8000, external: 8000, ...(ip === undefined ? {} : { ip }) }], labels: labels("proxy") }),
        ["port 8000 is published on every interface without TLS (component proxy)"],
      );
  });

  it("allows a port on one address, and the front proxy on every interface", () => {
    assert.deepEqual(portsInTheClear({ ports: [{ internal: 8000, external: 8000, ip: "127.0.0.1" }], labels: labels("proxy") }), []);
    assert.deepEqual(portsInTheClear({ ports: [{ internal: 443, external: 443, ip: "0.0.0.0" }], labels: labels("front-proxy") }), []);
    assert.deepEqual(portsInTheClear({ labels: labels("hub") }), []);
  });
});
