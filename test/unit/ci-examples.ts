/**
 * The worked CI examples (ci-examples/): the GitHub Actions workflow and the GitLab CI job that
 * review a change with `npm run preview`, parsed, and the command line each runs; shared by their
 * syntax check (ci-examples.test.ts) and the end-to-end scenario that runs that command line
 * (e2e/26-preview-review.test.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import YAML from "yaml";

const root = path.resolve(__dirname, "..", "..");

/** The GitHub Actions workflow. */
export const githubWorkflowFile = path.join(root, "ci-examples", "github", "preview.yml");
/** The GitLab CI job. */
export const gitlabJobFile = path.join(root, "ci-examples", "gitlab", "preview.gitlab-ci.yml");

/** Parses a YAML file strictly (duplicate keys and syntax errors throw). */
export function parseYaml(file: string): any {
  const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"), { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length) throw new Error(`${path.relative(root, file)}: ${doc.errors.map((e) => e.message).join("; ")}`);
  return doc.toJS();
}

/** A review command line of an example and the variables it reads. */
export interface ReviewCommand {
  /** The shell line, e.g. `npm run preview -- "$STACK" --base "origin/$BASE_REF" --output review.md`. */
  readonly line: string;
  /** The variable that names the stack. */
  readonly stackVariable: string;
  /** The variable that names the target branch. */
  readonly baseVariable: string;
}

const isReview = (line: string) => /^npm run preview -- /.test(line.trim());

/** The workflow's review step (the one that runs `npm run preview -- ...`). */
export function githubReviewStep(workflow: any): any {
  const steps = Object.values(workflow.jobs as Record<string, any>).flatMap((job) => job.steps ?? []);
  const found = steps.filter((s: any) => typeof s.run === "string" && isReview(s.run));
  if (found.length !== 1) throw new Error(`the workflow has ${found.length} review steps, expected 1`);
  return found[0];
}

/** The review command of each example, as written there. */
export function reviewCommands(): { readonly github: ReviewCommand; readonly gitlab: ReviewCommand } {
  const step = githubReviewStep(parseYaml(githubWorkflowFile));
  const job = parseYaml(gitlabJobFile).preview;
  const gitlabLines = (job.script as string[]).filter(isReview);
  if (gitlabLines.length !== 1) throw new Error(`the GitLab job has ${gitlabLines.length} review lines, expected 1`);
  return {
    github: { line: String(step.run).trim(), stackVariable: "STACK", baseVariable: "BASE_REF" },
    gitlab: { line: gitlabLines[0]!.trim(), stackVariable: "STACK", baseVariable: "CI_MERGE_REQUEST_TARGET_BRANCH_NAME" },
  };
}
