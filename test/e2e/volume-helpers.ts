/**
 * Helper containers on a Docker volume, for the backup scenario (15-backup.test.ts): what the
 * volume holds, compared before and after a backup and a restore (every path with its type, owner
 * and mode, and the checksum of every file), and a shell command that changes it.
 */
import assert from "node:assert/strict";
import { labelKeys } from "../../components/names";
import { demux, docker } from "./engine";

/** The image of the helper containers (a plain Debian with coreutils and findutils). */
export const FINGERPRINT_IMAGE = "localhost/gmap-debian:bookworm";

/**
 * What a volume holds: every path with its type, owner, mode (and size and mtime for non-directories),
 * and the SHA-256 of every file, read by a helper container with the volume mounted read-only.
 * Paths in `without` are left out. The helper carries the stack's prefix label `prefix`.
 */
export async function volumeFingerprint(volume: string, prefix: string, without: readonly string[] = []): Promise<string> {
  const script = `set -eu
cd /v
{
  stat -c '%n|%F|%u:%g|%a' .
  find . -mindepth 1 -type d -exec stat -c '%n|%F|%u:%g|%a' {} +
  find . -mindepth 1 ! -type d -exec stat -c '%n|%F|%u:%g|%a|%s|%Y' {} +
  find . -type f -exec sha256sum {} +
} | grep -v -F -f /tmp/without | LC_ALL=C sort
`;
  const container = await docker.createContainer({
    Image: FINGERPRINT_IMAGE,
    Entrypoint: [
      "sh",
      "-c",
      `printf '%s\\n' "$@" > /tmp/without; ${script}`,
      "fingerprint",
      ...(without.length ? without : ["\u0001none"]),
    ],
    Labels: { [labelKeys.prefix]: prefix, "org.europlanet-gmap.e2e": "fingerprint" },
    NetworkDisabled: true,
    HostConfig: { Mounts: [{ Type: "volume", Source: volume, Target: "/v", ReadOnly: true }] },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    const logs = (await container.logs({ stdout: true, stderr: true })) as unknown as Buffer;
    const text = demux(logs);
    assert.equal(StatusCode, 0, `fingerprint of ${volume}: ${text}`);
    return text;
  } finally {
    await container.remove({ force: true });
  }
}

/** Runs `sh -c script` in a helper container with the volume mounted read-write at /v (`purpose` labels it). */
export async function shellOnVolume(volume: string, prefix: string, purpose: string, script: string): Promise<void> {
  const container = await docker.createContainer({
    Image: FINGERPRINT_IMAGE,
    Cmd: ["sh", "-c", script],
    Labels: { [labelKeys.prefix]: prefix, "org.europlanet-gmap.e2e": purpose },
    HostConfig: { Mounts: [{ Type: "volume", Source: volume, Target: "/v" }] },
  });
  await container.start();
  await container.wait();
  await container.remove();
}
