/**
 * Scenario 26: reviewing a change before it lands. `npm run preview` (the command the CI examples in
 * ci-examples/ run) against the deployed stack with edited copies of its stack file: a new notebook
 * image (the hub replaced, servers keep running: exit 0), a change that replaces the network (every
 * server stopped: exit 0), a renamed storage volume (data loss: exit 1, then 0 with the
 * acknowledgement on the command line or in the pull request's text), the hub published on every
 * interface without TLS under the policy pack (a mandatory policy fails: exit 2); then the command
 * line of each CI example, as written there, with the stack file unchanged. Previews only: nothing is
 * applied.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { command, type Run, show } from "./commands";
import { pulumiEnv } from "./pulumi";
import { readStackFile } from "../../ops/stack-file";
import { reviewCommands } from "../unit/ci-examples";
import { editedStackFile, prefix, projectDir, stack, stackSkip } from "./stack";

/** The offline stand-ins of the notebook images (test/infra/standins.sh). */
const STANDINS = ["localhost/notebook-minimal:5.5.1", "localhost/notebook-gispy:5.5.1"];

/** `npm run preview -- <stack> --config-file <edited copy> [args]` as a CI job runs it (the test backend and passphrase). */
function reviewOf(edit: (config: Record<string, any>) => void, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const file = editedStackFile(edit);
  return command("npm", ["run", "-s", "preview", "--", stack!, "--config-file", file, ...args], 5 * 60_000, { ...pulumiEnv(), ...env });
}

/** The review's line about the change whose title contains `what`. */
const line = (r: Run, what: string) => r.stdout.split("\n").find((l) => l.startsWith("- **") && l.includes(what)) ?? "";

/** Swaps the first notebook image for the other stand-in (and that one, when listed, for the first). */
function otherImage(config: Record<string, any>): void {
  const images = config["jupyterhub:images"] as { image: string }[];
  const first = images[0]!.image;
  const other = STANDINS.find((i) => i !== first)!;
  const listed = images.find((i) => i.image === other);
  if (listed) listed.image = first;
  images[0]!.image = other;
}

/** Renames the first storage mount's volume (and where it is mounted). */
function renamedVolume(config: Record<string, any>): void {
  const mount = config["jupyterhub:storage"][0];
  mount.name = `${mount.name}-renamed`;
  mount.mountPath = `${mount.mountPath}-renamed`;
}

describe("reviewing a change with npm run preview", { skip: stackSkip }, () => {
  it("a new notebook image: the hub is replaced, logins fail for a while, servers keep running; exit 0", async () => {
    const r = await reviewOf(otherImage);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /\*\*May land\.\*\*/);
    const hub = line(r, `hub container \`${prefix()}-hub\``);
    assert.match(
      hub,
      /replaced because of `uploads` \(update-replace\): the old one is removed first, then the new one is created\./,
      show(r),
    );
    assert.match(hub, /fail for about \d+ s; running servers keep running/);
    assert.match(line(r, "notebook image"), /New servers start from `localhost\/notebook-/);
    assert.match(
      r.stdout,
      /\| delete-replaced, replace, create-replacement \| `docker:index\/container:Container` \| `jupyterhub-hub` \| `uploads` update-replace \|/,
    );
    assert.match(r.stdout, /\| `jupyterhub:images\[\w+\]\.image` \| changed \|/);
  });

  it("a change that replaces the network: every server is stopped; exit 0", async () => {
    const r = await reviewOf((c) => (c["jupyterhub:labels"] = { ...c["jupyterhub:labels"], "org.europlanet-gmap.review": "2" }));
    assert.equal(r.code, 0, show(r));
    assert.match(line(r, `network \`${prefix()}\``), /replaced because of `labels\[\d+\]`.*\*\*Every user server is stopped\*\*/, show(r));
    assert.match(line(r, "**user servers**"), /\*\*Every user server is stopped\*\* and removed first/);
  });

  const noStorage =
    stack && !readStackFile(projectDir, stack).config["jupyterhub:storage"] ? "the stack declares no storage volume" : false;

  it(
    "a renamed volume: data loss, exit 1; acknowledged on the command line or in the pull request, exit 0",
    { skip: noStorage },
    async () => {
      const r = await reviewOf(renamedVolume);
      assert.equal(r.code, 1, show(r));
      assert.match(r.stdout, /\*\*Needs acknowledgement: data loss\.\*\*/);
      assert.match(r.stdout, new RegExp(`\\*\\*Data loss for users\\*\\*: \`${prefix()}-[\\w-]+\` is no longer mounted`), show(r));
      assert.match(r.stdout, /\| delete \| `docker:index\/volume:Volume` \| `jupyterhub-storage-[\w-]+` \|/);
      assert.match(r.stdout, /\| `jupyterhub:storage\[[\w-]+\]\.name` \| removed \|/);

      const flag = await reviewOf(renamedVolume, ["--accept", "data-loss"]);
      assert.equal(flag.code, 0, show(flag));
      assert.match(flag.stdout, /\*\*May land: acknowledged data loss\.\*\*/);
      const pr = await reviewOf(renamedVolume, [], { PREVIEW_PR_BODY: "Renames the shared volume.\n\npreview-ack: data-loss\n" });
      assert.equal(pr.code, 0, show(pr));
    },
  );

  it("the policy pack refuses the hub on every interface without TLS: exit 2, the finding in the review", async () => {
    const r = await reviewOf((c) => (c["jupyterhub:hub"].bindAddress = "0.0.0.0"), ["--policy-pack", "policy"]);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stdout, /\*\*A mandatory policy fails\*\*/);
    assert.match(
      r.stdout,
      /- \*\*mandatory\*\* `gmap-jupyterhub\/no-plain-http-on-every-interface` on `jupyterhub-proxy`: .*published on every interface without TLS/,
    );
  });

  it("the command of each CI example, as written there, reviews the stack and writes the Markdown it posts", async () => {
    const markdown = path.join(projectDir, "review.md");
    const kept = fs.existsSync(markdown) ? fs.readFileSync(markdown) : undefined;
    try {
      for (const [ci, cmd] of Object.entries(reviewCommands())) {
        fs.rmSync(markdown, { force: true });
        // the target branch need not exist here: the config diff then says so
        const env = { ...pulumiEnv(), [cmd.stackVariable]: stack, [cmd.baseVariable]: "main", PREVIEW_PR_BODY: "" };
        const r = await command("bash", ["-c", cmd.line], 5 * 60_000, env);
        assert.equal(r.code, 0, `${ci}: ${show(r)}`);
        const written = fs.readFileSync(markdown, "utf8");
        assert.match(written, new RegExp(`^## Review of stack \`${stack}\`\n\n\\*\\*May land`), `${ci}: ${written}`);
        assert.ok(r.stdout.includes(written), `${ci}: review.md is what it printed`);
      }
    } finally {
      if (kept) fs.writeFileSync(markdown, kept);
      else fs.rmSync(markdown, { force: true });
    }
  });
});
