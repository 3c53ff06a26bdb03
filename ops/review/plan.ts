/**
 * The plan of `pulumi preview --json`, read as `pulumi up` would carry it out: one entry per
 * resource that changes, with its operation (the steps' `op`, a replacement's partial steps folded
 * into one), the properties that cause it (`detailedDiff`, else `diffReasons`) and its Docker
 * object. Pure: no CLI, no Docker.
 */

/** A resource's state as the preview shows it (only what the review reads). */
export interface StepState {
  readonly type?: string;
  readonly inputs?: Readonly<Record<string, unknown>>;
  readonly outputs?: Readonly<Record<string, unknown>>;
}

/** One step of `pulumi preview --json`. */
export interface PreviewStep {
  /** same, create, update, delete, replace, create-replacement, delete-replaced, read, ... */
  readonly op: string;
  readonly urn: string;
  readonly oldState?: StepState;
  readonly newState?: StepState;
  /** Properties that differ. */
  readonly diffReasons?: readonly string[];
  /** Properties whose change forces a replacement. */
  readonly replaceReasons?: readonly string[];
  /** Per property path: add, add-replace, update, update-replace, delete, delete-replace. */
  readonly detailedDiff?: Readonly<Record<string, { readonly kind: string; readonly inputDiff?: boolean }>>;
}

/** A message of the engine, the program or a provider. */
export interface PreviewDiagnostic {
  readonly urn?: string;
  readonly message?: string;
  /** debug, info, infoerr, warning, error */
  readonly severity?: string;
}

/** A policy pack's finding (`--policy-pack`). */
export interface PolicyViolation {
  readonly urn?: string;
  readonly policyPack: string;
  readonly policy: string;
  /** advisory, mandatory (a mandatory one fails the preview) */
  readonly enforcementLevel: string;
  readonly message: string;
}

/** The document `pulumi preview --json` prints (or the same, read from its stream of engine events). */
export interface PreviewDocument {
  /** The config the program saw (secrets as "[secret]"). */
  readonly config?: Readonly<Record<string, string>>;
  readonly steps?: readonly PreviewStep[];
  readonly diagnostics?: readonly PreviewDiagnostic[];
  /** Resources per operation, e.g. { same: 24, replace: 2 }. */
  readonly changeSummary?: Readonly<Record<string, number>>;
  /** Findings of the policy packs (only in the stream of events). */
  readonly policyViolations?: readonly PolicyViolation[];
}

/** The engine events of `pulumi preview --json` with PULUMI_ENABLE_STREAMING_JSON_PREVIEW set (only what the review reads). */
interface EngineEvent {
  readonly resourcePreEvent?: {
    readonly metadata: {
      readonly op: string;
      readonly urn: string;
      readonly old?: StepState | null;
      readonly new?: StepState | null;
      readonly keys?: readonly string[] | null;
      readonly diffs?: readonly string[] | null;
      readonly detailedDiff?: Readonly<Record<string, { readonly diffKind: string; readonly inputDiff?: boolean }>> | null;
    };
  };
  readonly diagnosticEvent?: { readonly urn?: string; readonly prefix?: string; readonly message?: string; readonly severity?: string };
  readonly summaryEvent?: { readonly resourceChanges?: Readonly<Record<string, number>> };
  readonly policyEvent?: {
    readonly resourceUrn?: string;
    readonly message?: string;
    readonly policyName?: string;
    readonly policyPackName?: string;
    readonly enforcementLevel?: string;
  };
}

/** The preview document of a stream of engine events (one JSON object per line). */
function fromEvents(events: readonly EngineEvent[]): PreviewDocument {
  const steps: PreviewStep[] = [];
  const diagnostics: PreviewDiagnostic[] = [];
  const policyViolations: PolicyViolation[] = [];
  let changeSummary: Readonly<Record<string, number>> | undefined;
  for (const e of events) {
    const m = e.resourcePreEvent?.metadata;
    if (m) {
      const detailed = Object.entries(m.detailedDiff ?? {}).map(
        ([k, d]) => [k, { kind: d.diffKind, inputDiff: d.inputDiff ?? false }] as const,
      );
      steps.push({
        op: m.op,
        urn: m.urn,
        ...(m.old ? { oldState: m.old } : {}),
        ...(m.new ? { newState: m.new } : {}),
        ...(m.diffs ? { diffReasons: m.diffs } : {}),
        ...(m.keys ? { replaceReasons: m.keys } : {}),
        ...(detailed.length ? { detailedDiff: Object.fromEntries(detailed) } : {}),
      });
    }
    const d = e.diagnosticEvent;
    if (d)
      diagnostics.push({
        ...(d.urn ? { urn: d.urn } : {}),
        message: `${d.prefix ?? ""}${d.message ?? ""}`,
        severity: d.severity ?? "info",
      });
    if (e.summaryEvent?.resourceChanges) changeSummary = e.summaryEvent.resourceChanges;
    const p = e.policyEvent;
    if (p)
      policyViolations.push({
        ...(p.resourceUrn ? { urn: p.resourceUrn } : {}),
        policyPack: p.policyPackName ?? "",
        policy: p.policyName ?? "",
        enforcementLevel: p.enforcementLevel ?? "",
        message: (p.message ?? "").trim(),
      });
  }
  return { steps, diagnostics, policyViolations, ...(changeSummary ? { changeSummary } : {}) };
}

/**
 * Reads what `pulumi preview --json` printed: one document, or (PULUMI_ENABLE_STREAMING_JSON_PREVIEW
 * set, the form that carries policy findings) one engine event per line. Throws when it is neither.
 */
export function readPreview(text: string): PreviewDocument {
  const lines = text.split("\n").filter((l) => l.trim());
  if (lines.length > 1 && lines.every((l) => l.trimStart().startsWith("{") && l.trimEnd().endsWith("}"))) {
    try {
      return fromEvents(lines.map((l) => JSON.parse(l) as EngineEvent));
    } catch {
      // a document printed over several lines: read below
    }
  }
  return JSON.parse(text) as PreviewDocument;
}

/** What `pulumi up` does to one resource. */
export type Operation = "create" | "update" | "replace" | "delete" | "other";

/** One resource that changes. */
export interface PlannedChange {
  readonly urn: string;
  /** The resource type, e.g. `docker:index/container:Container`. */
  readonly type: string;
  /** The component types it is declared in, outermost first, e.g. [`jupyterhub:index:JupyterHub`, `jupyterhub:docker:Hub`]. */
  readonly parents: readonly string[];
  /** The Pulumi resource name (last part of the URN). */
  readonly name: string;
  readonly operation: Operation;
  /** The steps' operations as the preview lists them, e.g. ["replace"]. */
  readonly ops: readonly string[];
  /** The properties that differ, with how (e.g. `uploads` -> `update-replace`). */
  readonly reasons: readonly { readonly property: string; readonly kind: string }[];
  /** Inputs before (absent for a create). */
  readonly before?: Readonly<Record<string, unknown>>;
  /** Inputs after (absent for a delete). */
  readonly after?: Readonly<Record<string, unknown>>;
}

/** Parses a URN: `urn:pulumi:<stack>::<project>::<parent$...$type>::<name>`. */
export function parseUrn(urn: string): { readonly type: string; readonly parents: string[]; readonly name: string } {
  const [, , typePath = "", ...rest] = urn.split("::");
  const types = typePath.split("$");
  return { type: types.pop() ?? "", parents: types.filter((t) => t !== "pulumi:pulumi:Stack"), name: rest.join("::") };
}

const operationOf: Readonly<Record<string, Operation>> = {
  create: "create",
  update: "update",
  delete: "delete",
  replace: "replace",
  "create-replacement": "replace",
  "delete-replaced": "replace",
  "discard-replaced": "replace",
  "import-replacement": "replace",
  "read-replacement": "replace",
};

/** Resources that are bookkeeping, not Docker objects: the stack, components, providers. */
function isBookkeeping(type: string): boolean {
  return type === "pulumi:pulumi:Stack" || type.startsWith("pulumi:providers:") || type.startsWith("jupyterhub:");
}

/** The changes of a preview, one per resource, in the preview's order (unchanged resources and bookkeeping left out). */
export function plannedChanges(doc: PreviewDocument): PlannedChange[] {
  const byUrn = new Map<string, PreviewStep[]>();
  for (const step of doc.steps ?? []) {
    if (step.op === "same" || step.op === "refresh") continue;
    byUrn.set(step.urn, [...(byUrn.get(step.urn) ?? []), step]);
  }
  const changes: PlannedChange[] = [];
  for (const [urn, steps] of byUrn) {
    const { type, parents, name } = parseUrn(urn);
    if (isBookkeeping(type)) continue;
    const ops = [...new Set(steps.map((s) => s.op))];
    const kinds = new Set(ops.map((op) => operationOf[op] ?? "other"));
    const operation: Operation = kinds.has("replace") ? "replace" : kinds.size === 1 ? [...kinds][0]! : "other";
    const reasons = new Map<string, string>();
    for (const s of steps) {
      for (const [property, d] of Object.entries(s.detailedDiff ?? {})) reasons.set(property, d.kind);
      for (const property of s.diffReasons ?? [])
        if (![...reasons.keys()].some((p) => p === property || p.startsWith(`${property}.`) || p.startsWith(`${property}[`)))
          reasons.set(property, (s.replaceReasons ?? []).includes(property) ? "update-replace" : "update");
    }
    const before = steps.find((s) => s.oldState?.inputs)?.oldState?.inputs;
    const after = steps.find((s) => s.newState?.inputs && s.op !== "delete" && s.op !== "delete-replaced")?.newState?.inputs;
    changes.push({
      urn,
      type,
      parents,
      name,
      operation,
      ops,
      reasons: [...reasons].map(([property, kind]) => ({ property, kind })),
      ...(before && operation !== "create" ? { before } : {}),
      ...(after && operation !== "delete" ? { after } : {}),
    });
  }
  return changes;
}

/** Resources per operation, from the preview's summary (e.g. { replace: 2, same: 24 }). */
export function summaryOf(doc: PreviewDocument): Readonly<Record<string, number>> {
  return doc.changeSummary ?? {};
}
