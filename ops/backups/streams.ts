/**
 * The streams of helper containers and commands run in containers: the demultiplexer of their
 * attach stream, a meter of size and SHA-256, and a collector of a short output.
 */
import { createHash } from "node:crypto";
import { Transform, type TransformCallback, Writable } from "node:stream";

/**
 * Splits the multiplexed stream of a non-TTY container attach (frames of an 8-byte header: stream
 * 1 stdout / 2 stderr, then the big-endian payload length) into stdout, which it passes on with
 * backpressure, and stderr, whose last `stderrLimit` bytes it keeps.
 */
export class Demux extends Transform {
  private pending: Buffer = Buffer.alloc(0);
  private stderrChunks: Buffer[] = [];
  private stderrBytes = 0;

  constructor(private readonly stderrLimit = 64 * 1024) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 8) {
      const type = this.pending[0]!;
      const size = this.pending.readUInt32BE(4);
      if (this.pending.length < 8 + size) break;
      const payload = this.pending.subarray(8, 8 + size);
      this.pending = this.pending.subarray(8 + size);
      if (type === 1) this.push(payload);
      else if (type === 2) this.keepStderr(payload);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    done(
      this.pending.length ? new Error(`the container's output stream ended inside a frame (${this.pending.length} bytes left)`) : undefined,
    );
  }

  private keepStderr(payload: Buffer): void {
    this.stderrChunks.push(Buffer.from(payload));
    this.stderrBytes += payload.length;
    while (this.stderrBytes > this.stderrLimit && this.stderrChunks.length > 1) this.stderrBytes -= this.stderrChunks.shift()!.length;
  }

  /** What the container wrote to stderr (the last `stderrLimit` bytes or so). */
  get stderr(): string {
    return Buffer.concat(this.stderrChunks).toString("utf8");
  }
}

/** Counts the bytes and hashes (SHA-256) what passes through. */
export class Meter extends Transform {
  bytes = 0;
  private readonly hash = createHash("sha256");
  private hex?: string;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    done(null, chunk);
  }

  /** The SHA-256 (hex) of everything that passed; call after the stream finished. */
  get sha256(): string {
    this.hex ??= this.hash.digest("hex");
    return this.hex;
  }
}

/** A sink that keeps what it receives, for short outputs (a version line). */
export class Collector extends Writable {
  private readonly chunks: Buffer[] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (error?: Error | null) => void): void {
    this.chunks.push(chunk);
    done();
  }

  /** What it received, as UTF-8. */
  get text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}
