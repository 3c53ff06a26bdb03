/**
 * The worked CI examples (ci-examples/, docs/review.md) parse, and have the shape the review needs:
 * a job on a runner that reaches the Docker host, the shared backend and the passphrase from the
 * CI's secret store, the review command `npm run preview -- <stack>`, and a step that posts the
 * Markdown on the pull request even when the review fails. The command itself runs in
 * e2e/26-preview-review.test.ts.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { githubReviewStep, githubWorkflowFile, gitlabJobFile, parseYaml, reviewCommands } from "./ci-examples";

const root = path.resolve(__dirname, "..", "..");
/** The Pulumi CLI version the README says the project is tested with. */
const testedPulumi = /tested with (\d+\.\d+\.\d+)/.exec(fs.readFileSync(path.join(root, "README.md"), "utf8"))![1]!;

/** Shell syntax check (`bash -n`). */
function assertShell(script: string, where: string): void {
  const res = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
  assert.equal(res.status, 0, `${where}: ${res.stderr}`);
}

const stackExists = (stack: string) => fs.existsSync(path.join(root, `Pulumi.${stack}.yaml`));

describe("the GitHub Actions example", () => {
  const workflow = parseYaml(githubWorkflowFile);
  const job = workflow.jobs.preview;

  it("runs on pull requests (description edits too) with the rights to comment", () => {
    assert.deepEqual(Object.keys(workflow.on), ["pull_request"], "never pull_request_target: a fork's code with the secrets");
    assert.ok(workflow.on.pull_request.types.includes("edited"), "an acknowledgement in the description re-runs it");
    assert.equal(workflow.permissions["pull-requests"], "write");
  });

  it("one job on a runner at the Docker host, per stack of the repository", () => {
    assert.deepEqual(Object.keys(workflow.jobs), ["preview"]);
    assert.ok(job["runs-on"].includes("self-hosted"), JSON.stringify(job["runs-on"]));
    for (const stack of job.strategy.matrix.stack) assert.ok(stackExists(stack), `Pulumi.${stack}.yaml`);
  });

  it("the shared backend and the passphrase from the CI's variables and secrets", () => {
    assert.equal(job.env.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}");
    assert.match(job.env.PULUMI_BACKEND_URL, /^\$\{\{ vars\.\w+ \}\}$/);
  });

  it("steps: checkout with history, Node.js, the tested Pulumi CLI, npm ci, the review, the comment", () => {
    for (const step of job.steps) assert.equal(Number("uses" in step) + Number("run" in step), 1, JSON.stringify(step));
    const uses = job.steps.filter((s: any) => s.uses).map((s: any) => s.uses);
    for (const action of uses) assert.match(action, /^[\w-]+\/[\w-]+@v\d+$/, "actions pinned to a major version");
    assert.deepEqual(
      uses.map((u: string) => u.split("@")[0]),
      ["actions/checkout", "actions/setup-node", "pulumi/actions"],
    );
    assert.equal(job.steps[0].with["fetch-depth"], 0, "the base branch is there for the config diff");
    assert.equal(job.steps.find((s: any) => s.uses?.startsWith("pulumi/")).with["pulumi-version"], testedPulumi);
    const review = githubReviewStep(workflow);
    assert.match(review.run, /^npm run preview -- "\$STACK" .*--policy-pack policy /);
    assert.ok(
      job.steps.some((s: any) => /npm ci --prefix policy/.test(s.run ?? "")),
      "the policy pack's dependencies",
    );
    assert.equal(review.env.STACK, "${{ matrix.stack }}");
    assert.equal(review.env.PREVIEW_PR_BODY, "${{ github.event.pull_request.body }}");
    const post = job.steps[job.steps.indexOf(review) + 1];
    assert.match(post.if, /always\(\)/, "the review is posted when it fails too");
    assert.match(post.run, /review\.md/);
    assert.match(post.run, /gh pr comment/);
  });

  it("no expression inside a shell script (the pull request's text reaches the shell only as a variable)", () => {
    for (const step of job.steps.filter((s: any) => s.run)) {
      assert.ok(!step.run.includes("${{"), step.run);
      assertShell(step.run, step.name ?? step.run);
    }
  });
});

describe("the GitLab CI example", () => {
  const job = parseYaml(gitlabJobFile).preview;

  it("one job for merge requests, on a runner at the Docker host, per stack of the repository", () => {
    assert.ok(job, "a job named preview");
    assert.ok(job.rules.some((r: any) => /merge_request_event/.test(r.if)));
    assert.ok(job.tags.length > 0);
    for (const stack of job.parallel.matrix[0].STACK) assert.ok(stackExists(stack), `Pulumi.${stack}.yaml`);
  });

  it("the pull request's text as PREVIEW_PR_BODY; passphrase and backend left to the CI/CD variables", () => {
    assert.equal(job.variables.PREVIEW_PR_BODY, "$CI_MERGE_REQUEST_DESCRIPTION");
    for (const name of ["PULUMI_CONFIG_PASSPHRASE", "PULUMI_BACKEND_URL"])
      assert.ok(!(name in job.variables), `${name} is no value in the file`);
    assert.equal(job.variables.GIT_DEPTH, "0");
  });

  it("scripts: the tested Pulumi CLI, npm ci, the review, the note posted even when it fails", () => {
    assert.ok(job.before_script.some((l: string) => l.includes(`--version ${testedPulumi}`)));
    assert.ok(job.before_script.includes("npm ci --no-audit --no-fund"));
    assert.ok(job.before_script.includes("npm ci --prefix policy --no-audit --no-fund"), "the policy pack's dependencies");
    assert.deepEqual(job.script, [reviewCommands().gitlab.line]);
    assert.match(job.script[0], /^npm run preview -- "\$STACK" .*--policy-pack policy /);
    assert.match(job.after_script.join("\n"), /merge_requests\/\$CI_MERGE_REQUEST_IID\/notes/);
    assert.equal(job.artifacts.when, "always");
    for (const script of [...job.before_script, ...job.script, ...job.after_script]) assertShell(script, script);
  });
});
