/**
 * spawner.workVolume.quota: a size limit on every user's home, enforced by the file system the homes
 * live on (Btrfs: one subvolume per user with a qgroup limit), larger or smaller for members of
 * given groups. The hub checks the file system at its start, so `pulumi up` fails on one that cannot
 * enforce it (docs/storage.md). Its checks against the rest of the config: storage.ts.
 */
import { z } from "zod";
import { reportProblem } from "../rules";

/** Byte multipliers of the units a quota is given in. */
const byteUnits = { M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 } as const;

/** Btrfs counts a new subvolume's metadata against its qgroup: limits under 16 MiB leave no room for files. */
export const minQuotaBytes = 16 * byteUnits.M;

/** The least a size may be, and why (in messages). */
export interface DiskSizeFloor {
  readonly bytes: number;
  readonly why: string;
}
const quotaFloor: DiskSizeFloor = { bytes: minQuotaBytes, why: "16M, which Btrfs needs for a home's own records" };

/** Why a disk size would not do, e.g. "10g" or "2" (undefined: it is a size such as 10G). */
export function diskSizeProblem(value: string, key: string, floor: DiskSizeFloor = quotaFloor): string | undefined {
  const valid = /^(\d+)([MGT])$/.exec(value);
  if (!valid) {
    const near = /^(\d+)\s*([mgtMGT])[iI]?[bB]?$/.exec(value.trim());
    if (near) return `write "${near[1]}${near[2]!.toUpperCase()}" (${key}: a whole number and one of M, G, T)`;
    return `${key} looks like "10G": a whole number and one of the units M, G, T`;
  }
  if (Number(valid[1]) * byteUnits[valid[2] as "M" | "G" | "T"] < floor.bytes)
    return `"${value}" is below ${floor.why}: give more (${key})`;
  return undefined;
}

/** The bytes of a size that passed diskSizeProblem. */
export function diskBytes(value: string): number {
  const [, number, unit] = /^(\d+)([MGT])$/.exec(value)!;
  return Number(number) * byteUnits[unit as "M" | "G" | "T"];
}

/** A disk size such as 10G (units M, G, T), at least `floor`. */
export const diskSize = (key: string, floor: DiskSizeFloor = quotaFloor) =>
  z.string().superRefine(reportProblem((v) => diskSizeProblem(v, key, floor)));

export const homeQuotaFields = z
  .object({
    filesystem: z
      .literal("btrfs", { error: 'spawner.workVolume.quota.filesystem: "btrfs" is the quota this stack enforces (see docs/storage.md)' })
      .describe(
        "The quota mechanism of the file system the homes live on: btrfs (each home a subvolume with a qgroup limit; `btrfs quota enable` on that file system first). XFS and ext4 project quotas are not offered.",
      ),
    size: diskSize("spawner.workVolume.quota.size").describe(
      'The most each home may hold, e.g. "10G" (units M, G, T). Raising it is `pulumi up`: the hub applies it to every home at its start, data stays where it is.',
    ),
    groups: z
      .record(z.string(), diskSize("spawner.workVolume.quota.groups"))
      .default({})
      .describe("Other limits for members of these groups, e.g. {mission-team: 200G}; a member of several gets the largest."),
  })
  .strict()
  .optional()
  .describe(
    "A size limit on every home: a user past it gets `Disk quota exceeded` in their own server, the disk and everyone else unaffected. Needs the homes in a host directory (source type host) on a file system with that quota; the hub refuses to start otherwise.",
  );
export type HomeQuota = z.output<typeof homeQuotaFields>;
