/** The progress reports of long pulls (components/pull-progress.ts), from the engine's pull events. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bytes, PullTally } from "../../components/pull-progress";

describe("pull progress", () => {
  it("writes sizes as people read them", () => {
    assert.equal(bytes(512), "512 B");
    assert.equal(bytes(5 * 2 ** 20), "5.0 MiB");
    assert.equal(bytes(312 * 2 ** 20), "312 MiB");
    assert.equal(bytes(1.4 * 2 ** 30), "1.4 GiB");
  });

  it("sums the layers' bytes from the engine's events; layers already there count as done", () => {
    const tally = new PullTally();
    tally.add({ status: "Pulling from gmap/isis", id: "8.3" });
    tally.add({ status: "Already exists", id: "a" });
    tally.add({ status: "Pulling fs layer", id: "b" });
    tally.add({ status: "Pulling fs layer", id: "c" });
    tally.add({ status: "Downloading", id: "b", progressDetail: { current: 100 * 2 ** 20, total: 400 * 2 ** 20 } });
    tally.add({ status: "Downloading", id: "c", progressDetail: { current: 2 ** 20, total: 1024 * 2 ** 20 } });
    assert.equal(tally.summary(), "101 MiB of 1.4 GiB, 1 of 3 layers");
    tally.add({ status: "Download complete", id: "b" });
    tally.add({ status: "Extracting", id: "b", progressDetail: { current: 5, total: 10 } });
    tally.add({ status: "Pull complete", id: "b" });
    assert.equal(tally.summary(), "401 MiB of 1.4 GiB, 2 of 3 layers");
    tally.add({ status: "Digest: sha256:abc" });
    tally.add({ status: "Status: Downloaded newer image for x" });
    assert.equal(tally.downloaded(), 401 * 2 ** 20);
  });
});
