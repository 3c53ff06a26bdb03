/** The streams of helper containers (ops/backups/streams.ts): the attach stream's demultiplexer and the meter. */
import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describe, it } from "node:test";
import { Demux, Meter } from "../../ops/backups/streams";

/** One frame of Docker's multiplexed stream. */
function frame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("helper container streams", () => {
  it("splits stdout from stderr, with frames cut anywhere", async () => {
    const all = Buffer.concat([
      frame(1, "tar "),
      frame(2, "tar: ./x: file changed as we read it\n"),
      frame(1, "bytes"),
      frame(2, "done\n"),
    ]);
    for (const cut of [1, 3, 7, 8, 9, 13, all.length - 1]) {
      const demux = new Demux();
      const chunks: Buffer[] = [];
      await pipeline(Readable.from([all.subarray(0, cut), all.subarray(cut)]), demux, async function (source: AsyncIterable<Buffer>) {
        for await (const c of source) chunks.push(c);
      });
      assert.equal(Buffer.concat(chunks).toString(), "tar bytes", `cut at ${cut}`);
      assert.equal(demux.stderr, "tar: ./x: file changed as we read it\ndone\n");
    }
  });

  it("fails on a stream that ends inside a frame, and keeps only the end of a long stderr", async () => {
    await assert.rejects(
      pipeline(Readable.from([frame(1, "abc").subarray(0, 9)]), new Demux(), async function (s: AsyncIterable<Buffer>) {
        for await (const _ of s);
      }),
      /ended inside a frame/,
    );
    const demux = new Demux(100);
    await pipeline(
      Readable.from(Array.from({ length: 50 }, (_, i) => frame(2, `line ${i}\n`))),
      demux,
      async function (s: AsyncIterable<Buffer>) {
        for await (const _ of s);
      },
    );
    assert.ok(demux.stderr.endsWith("line 49\n") && !demux.stderr.includes("line 1\n"), demux.stderr);
  });

  it("measures size and SHA-256 on the way", async () => {
    const meter = new Meter();
    await pipeline(Readable.from([Buffer.from("ab"), Buffer.from("c")]), meter, async function (s: AsyncIterable<Buffer>) {
      for await (const _ of s);
    });
    assert.equal(meter.bytes, 3);
    assert.equal(meter.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});
