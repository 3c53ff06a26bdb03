/**
 * The review of a change as Markdown (for a pull request's comment or a terminal) and its exit
 * status: 0 the change may land, 1 it carries a risk nobody acknowledged (data loss, everyone
 * logged out, regenerated secrets), 2 the config check or the preview failed. Pure: it takes the
 * check's result, the preview's JSON and the config diff, and runs nothing.
 */
import type { StackCheck } from "../check-stack";
import type { Acknowledgements } from "./acknowledge";
import type { ConfigChange } from "./config-diff";
import { type Effect, effectsOf, type Risk, risks } from "./effects";
import { plannedChanges, type PreviewDocument } from "./plan";

export interface ReviewInput {
  readonly stack: string;
  /** The offline config check (`npm run check`). */
  readonly check: StackCheck;
  /** The preview's JSON; absent when the check failed (the preview did not run) or its output was no JSON. */
  readonly preview?: PreviewDocument;
  /** When `pulumi preview` failed: its exit code and the end of its error output. */
  readonly previewFailure?: { readonly code: number; readonly output: string };
  /** The config diff and what it compares against, e.g. "`origin/main:Pulumi.dev.yaml`". */
  readonly config: { readonly against: string; readonly changes: readonly ConfigChange[] };
  readonly acks: Acknowledgements;
  /** The command that runs this review (for the acknowledgement hint), e.g. "npm run preview -- dev". */
  readonly command: string;
}

export interface Review {
  readonly markdown: string;
  /** 0 may land, 1 needs an acknowledgement, 2 the check or the preview failed. */
  readonly exitCode: 0 | 1 | 2;
  /** Risks of the change that nobody acknowledged. */
  readonly unacknowledged: readonly Risk[];
  /** Every risk of the change. */
  readonly risks: readonly Risk[];
  readonly effects: readonly Effect[];
}

const riskWords: Readonly<Record<Risk, string>> = {
  "data-loss": "data loss",
  logout: "everyone logged out",
  secrets: "regenerated secrets",
};

/** Text for a table cell: one line, `|` escaped, as code unless it holds a backtick. */
function cell(text: string | undefined, max = 80): string {
  if (text === undefined) return "";
  const line = text.replace(/\s+/g, " ");
  const short = line.length > max ? `${line.slice(0, max - 1)}…` : line;
  const safe = short.replace(/\|/g, "\\|");
  return safe.includes("`") ? safe.replace(/[<>]/g, (c) => (c === "<" ? "&lt;" : "&gt;")) : `\`${safe}\``;
}

function verdict(input: ReviewInput, effects: readonly Effect[], found: readonly Risk[], open: readonly Risk[]): string {
  if (!input.check.ok) return "**The config check failed**: nothing was previewed.";
  if (mandatory(input.preview).length) return "**A mandatory policy fails**: `pulumi up` would refuse this change (see Policies).";
  if (input.previewFailure) return `**The preview failed** (pulumi exited with ${input.previewFailure.code}).`;
  if (open.length) {
    const list = open.join(",");
    return (
      `**Needs acknowledgement: ${open.map((r) => riskWords[r]).join(", ")}.** Acknowledge with ` +
      `\`${input.command} --accept ${list}\`, or a line \`preview-ack: ${list}\` in the pull request's description.`
    );
  }
  if (found.length) return `**May land: acknowledged ${found.map((r) => riskWords[r]).join(", ")}.**`;
  return effects.length ? "**May land.**" : "**May land: `pulumi up` would change nothing.**";
}

function summaryLine(doc: PreviewDocument | undefined): string {
  const summary = doc?.changeSummary ?? {};
  const order = ["create", "update", "replace", "delete"];
  const parts = Object.entries(summary)
    .filter(([op, n]) => op !== "same" && n > 0)
    .sort(([a], [b]) => ((order.indexOf(a) + 99) % 99) - ((order.indexOf(b) + 99) % 99))
    .map(([op, n]) => `${op} ${n}`);
  const same = summary.same ?? 0;
  return parts.length
    ? `\`pulumi up\` would ${parts.join(", ")}; ${same} unchanged.`
    : `\`pulumi up\` would change nothing (${same} unchanged).`;
}

function effectLines(effects: readonly Effect[]): string[] {
  const rank = (e: Effect) => (e.risk ? 0 : e.warning ? 1 : e.meaning ? 2 : 3);
  return [...effects]
    .sort((a, b) => rank(a) - rank(b))
    .map((e) => {
      const reasons = [...new Set(e.changes.flatMap((c) => c.reasons.map((r) => `\`${r.property}\` (${r.kind})`)))];
      // `npm run preview` never asks for a replacement: one without a changed property follows another resource
      const replaced = e.changes.some((c) => c.operation === "replace" && !c.type.startsWith("random:"));
      const why = reasons.length ? ` because of ${reasons.join(", ")}` : replaced ? " because an input comes from a replaced resource" : "";
      const tag = e.risk ? ` _[${e.risk}]_` : e.warning ? " _[warning]_" : "";
      const [head, ...rest] = e.action.split(": ");
      const action = `${head}${why}${rest.length ? `: ${rest.join(": ")}` : ""}`;
      return `- **${e.what}**: ${action}.${e.meaning ? ` ${e.meaning}` : ""}${tag}`;
    });
}

function stepTable(effects: readonly Effect[]): string[] {
  const rows = effects.flatMap((e) =>
    e.changes.map(
      (c) =>
        `| ${c.ops.join(", ")} | ${cell(c.type)} | ${cell(c.name)} | ${c.reasons.map((r) => `${cell(r.property, 40)} ${r.kind}`).join(", ")} |`,
    ),
  );
  return rows.length ? ["| op | type | name | diff |", "|---|---|---|---|", ...rows] : [];
}

function configLines(config: ReviewInput["config"]): string[] {
  if (!config.changes.length) return [`No config change against ${config.against}.`];
  const value = (c: ConfigChange, side: "before" | "after") =>
    c.secret ? (c.kind === (side === "before" ? "added" : "removed") ? "" : "_secret, not shown_") : cell(c[side]);
  return [
    `Against ${config.against}:`,
    "",
    "| key | change | before | after |",
    "|---|---|---|---|",
    ...config.changes.map((c) => `| ${cell(c.key)} | ${c.kind} | ${value(c, "before")} | ${value(c, "after")} |`),
  ];
}

/** The findings of mandatory policies (they fail the preview, and `pulumi up`). */
const mandatory = (doc: PreviewDocument | undefined) => (doc?.policyViolations ?? []).filter((v) => v.enforcementLevel === "mandatory");

function policyLines(doc: PreviewDocument | undefined): string[] {
  return (doc?.policyViolations ?? []).map((v) => {
    const on = v.urn ? ` on ${cell(v.urn.split("::").slice(-1)[0])}` : "";
    return `- **${v.enforcementLevel}** \`${v.policyPack}/${v.policy}\`${on}: ${v.message.replace(/\s*\n\s*/g, " ")}`;
  });
}

/** Messages of the preview worth a reviewer's eye: warnings and errors. */
function messageLines(doc: PreviewDocument | undefined): string[] {
  return (doc?.diagnostics ?? [])
    .filter((d) => d.severity === "warning" || d.severity === "error")
    .map((d) => `- ${d.severity}: ${(d.message ?? "").trim().replace(/\s*\n\s*/g, " ")}`);
}

/** Builds the review of one stack's change. */
export function review(input: ReviewInput): Review {
  // a preview that failed on a policy still planned every change
  const planned = Boolean(input.preview && (!input.previewFailure || mandatory(input.preview).length));
  const effects = planned ? effectsOf(plannedChanges(input.preview!)) : [];
  const found = risks.filter((r) => effects.some((e) => e.risk === r));
  const open = found.filter((r) => !input.acks.accepted.has(r));
  const exitCode = !input.check.ok || input.previewFailure || mandatory(input.preview).length ? 2 : open.length ? 1 : 0;
  const out: string[] = [`## Review of stack \`${input.stack}\``, "", verdict(input, effects, found, open), ""];
  if (input.acks.unknown.length)
    out.push(`Ignored acknowledgements: ${input.acks.unknown.map((w) => cell(w, 40)).join(", ")} (known: ${risks.join(", ")}).`, "");
  const policies = policyLines(input.preview);
  if (policies.length) out.push("### Policies", "", ...policies, "");
  if (planned) {
    out.push(summaryLine(input.preview), "");
    if (effects.length)
      out.push(
        "### Changes",
        "",
        ...effectLines(effects),
        "",
        "<details><summary>Steps of the plan</summary>",
        "",
        ...stepTable(effects),
        "",
        "</details>",
        "",
      );
  }
  if (input.previewFailure?.output.trim()) out.push("### Preview output", "", "```", input.previewFailure.output.trim(), "```", "");
  out.push("### Config", "", ...configLines(input.config), "");
  out.push("### Config check", "", "```", input.check.text, "```", "");
  const messages = messageLines(input.preview);
  if (messages.length) out.push("### Messages", "", ...messages, "");
  return { markdown: out.join("\n"), exitCode, unacknowledged: open, risks: found, effects };
}
