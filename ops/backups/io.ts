/**
 * Volume archives through helper containers: a volume (read-only) -> tar -> gzip -> a file of the
 * backup, and a file of the backup -> gunzip -> tar -> a volume (emptied first). Sizes and SHA-256
 * are measured on the way.
 */
import * as fs from "node:fs";
import { pipeline } from "node:stream/promises";
import { createGunzip, createGzip } from "node:zlib";
import type Docker from "dockerode";
import { type HelperRun, runHelper } from "./engine";
import { Meter } from "./streams";

/** Where helper containers see the volume they read or write. */
export const helperMountPoint = "/data";

/** What a helper wrote into a file of the backup. */
export interface Captured {
  readonly code: number;
  readonly stderr: string;
  /** Bytes the helper wrote (before compression). */
  readonly contentBytes: number;
  /** Bytes of the file, and its SHA-256. */
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * gzip level of the archives: 3 compresses text about three times as fast as zlib's default 6, for
 * archives about 10% larger; incompressible data (images, compressed formats) goes at the same
 * 40-50 MB/s per core with any level (measured), and bounds the backup of big volumes.
 */
export const gzipLevel = 3;

/** Mode of every file of a backup (password hashes, everyone's files): its owner's only. */
export const backupFileMode = 0o600;

/** Runs a helper and writes its stdout, gzip-compressed, into `file` (which must not exist). */
export async function captureToFile(
  docker: Docker,
  prefix: string,
  run: Omit<HelperRun, "stdout" | "stdin">,
  file: string,
): Promise<Captured> {
  const content = new Meter();
  const archive = new Meter();
  const written = pipeline(
    content,
    createGzip({ level: gzipLevel }),
    archive,
    fs.createWriteStream(file, { flags: "wx", mode: backupFileMode }),
  );
  written.catch(() => undefined); // awaited below
  const result = await runHelper(docker, prefix, { ...run, stdout: content });
  await written;
  return { ...result, contentBytes: content.bytes, bytes: archive.bytes, sha256: archive.sha256 };
}

/**
 * Runs a helper with `file` (gzip-compressed) on its stdin; throws when the file's SHA-256 is not
 * `sha256` (it was checked before, this catches a change meanwhile).
 */
export async function feedFromFile(docker: Docker, prefix: string, run: Omit<HelperRun, "stdout" | "stdin">, file: string, sha256: string) {
  const archive = new Meter();
  const gunzip = createGunzip();
  const reading = pipeline(fs.createReadStream(file), archive, gunzip);
  reading.catch(() => undefined); // a broken file shows as the helper's failure; the cause is rethrown below
  const result = await runHelper(docker, prefix, { ...run, stdin: gunzip });
  try {
    await reading;
  } catch (e) {
    throw new Error(`reading ${file}: ${(e as Error).message}`, { cause: e });
  }
  if (archive.sha256 !== sha256) throw new Error(`${file} changed since it was checked (SHA-256 ${archive.sha256}, expected ${sha256})`);
  return result;
}

/** Archives the whole volume (tar of its root, numeric owners), leaving out `excludes` (paths relative to the root). */
export const tarCreateScript = `set -eu
cd ${helperMountPoint}
exec tar --create --file=- --numeric-owner "$@" .
`;

/** Empties the volume, then extracts the tar on stdin into it with owners and modes. */
export const tarExtractScript = `set -eu
cd ${helperMountPoint}
find . -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +
exec tar --extract --file=- --numeric-owner --same-owner --same-permissions
`;

/** GNU tar's exit status 1: some files changed or vanished while they were read (the archive is complete otherwise). */
export const tarChangedWhileRead = 1;

/** `tar --exclude` arguments of paths relative to the volume root. */
export function excludeArgs(excludes: readonly string[]): string[] {
  return excludes.map((e) => `--exclude=./${e}`);
}

/** The lines of a helper's stderr worth showing (at most `max`, the last ones). */
export function lastLines(stderr: string, max = 15): string {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "");
  return lines.slice(-max).join("\n");
}
