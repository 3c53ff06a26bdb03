/**
 * The CSV of a usage report (RFC 4180: CRLF line ends, a field with a comma, a double quote or a
 * line break in double quotes, its double quotes doubled), in long format: one row per user per day
 * with server time. Groups and images of a row are separated by ";".
 */
import type { UserDayUsage } from "./aggregate";

export const csvHeader = ["date", "user", "groups", "server_hours", "peak_memory_bytes", "images"] as const;

/** One field, quoted when it has to be. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Hours rounded to 4 decimals (a 15 s sample is 0.0042 h), without trailing zeros. */
export function csvHours(hours: number): string {
  return String(Math.round(hours * 1e4) / 1e4);
}

/** The whole CSV file, header first. */
export function usageCsv(rows: readonly UserDayUsage[]): string {
  const lines = [csvHeader.join(",")];
  for (const r of rows) {
    const fields = [
      r.date,
      r.user,
      r.groups.join(";"),
      csvHours(r.serverHours),
      r.peakMemoryBytes === null ? "" : String(r.peakMemoryBytes),
      r.images.join(";"),
    ];
    lines.push(fields.map(csvField).join(","));
  }
  return lines.map((l) => `${l}\r\n`).join("");
}
