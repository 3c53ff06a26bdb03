/**
 * spawner.workVolume.quota and storage[].quota: a size limit on every user's home (or per-user
 * storage directory), enforced by the file system it lives on (Btrfs: one subvolume per user with a
 * qgroup limit), larger or smaller for members of given groups. The hub checks the file system at its start, so `pulumi up` fails on one that cannot
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

/**
 * A quota on per-user directories of the Docker host (the homes: spawner.workVolume.quota; per-user
 * storage: storage[].quota), `key` naming it in messages.
 */
export const quotaFields = (key: string, what: string) =>
  z
    .object({
      filesystem: z
        .literal("btrfs", { error: `${key}.filesystem: "btrfs" is the quota this stack enforces (see docs/storage.md)` })
        .describe(
          "The quota mechanism of the file system the directories live on: btrfs (each user's directory a subvolume with a qgroup limit; `btrfs quota enable` on that file system first). XFS and ext4 project quotas are not offered.",
        ),
      size: diskSize(`${key}.size`).describe(
        `The most each user's ${what} may hold, e.g. "10G" (units M, G, T). Raising it is \`pulumi up\`: the hub applies it to every user at its start, data stays where it is.`,
      ),
      groups: z
        .record(z.string(), diskSize(`${key}.groups`))
        .default({})
        .describe("Other limits for members of these groups, e.g. {mission-team: 200G}; a member of several gets the largest."),
    })
    .strict()
    .optional()
    .describe(
      `A size limit on each user's ${what}: a user past it gets \`Disk quota exceeded\` in their own server, the disk and everyone else unaffected. Needs a host directory per user (source type host, path with {username}) on a file system with that quota; the hub refuses to start otherwise.`,
    );
export type Quota = z.output<ReturnType<typeof quotaFields>>;
