/**
 * `npm run preview`, its pure part: `pulumi preview --json` documents captured from this project
 * (test/fixtures/previews/, written by test/e2e/capture-previews.ts) -> the review's Markdown and
 * exit status; the config diff by key with secrets masked; the acknowledgements. The command line
 * itself where it runs without the Pulumi CLI (usage, a config that fails the check).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import YAML from "yaml";
import { acknowledgements } from "../../ops/review/acknowledge";
import { configDiff } from "../../ops/review/config-diff";
import { hubRestartSeconds } from "../../ops/review/effects";
import { plannedChanges, type PreviewDocument, readPreview } from "../../ops/review/plan";
import { review } from "../../ops/review/review";
import { editedStackFile } from "../../ops/stack-file";

const root = path.resolve(__dirname, "..", "..");
/** A copy of a stack file, changed by `edit`. */
const edited = (stack: string, edit: (config: Record<string, any>) => void) => editedStackFile(root, stack, edit);
/** A captured preview: `<name>.jsonl` (engine events, as `npm run preview` reads them) or `<name>.json` (the document). */
const fixture = (name: string): PreviewDocument => {
  const dir = path.join(root, "test", "fixtures", "previews");
  const file = fs.existsSync(path.join(dir, `${name}.jsonl`)) ? `${name}.jsonl` : `${name}.json`;
  return readPreview(fs.readFileSync(path.join(dir, file), "utf8"));
};

function reviewOf(name: string, accept: readonly string[] = [], prBody = "") {
  return review({
    stack: "e2e-backup",
    check: { ok: true, text: "Pulumi.e2e-backup.yaml: ok" },
    preview: fixture(name),
    config: { against: "`HEAD:Pulumi.e2e-backup.yaml`", changes: [] },
    acks: acknowledgements(accept, prBody),
    command: "npm run preview -- e2e-backup",
  });
}

/** The Markdown line of the change whose title contains `what`. */
const line = (markdown: string, what: string) => markdown.split("\n").find((l) => l.startsWith("- **") && l.includes(what)) ?? "";

const hubWords = new RegExp(`fail for about ${hubRestartSeconds} s; running servers keep running`);

describe("the review of a preview", () => {
  it("a quiet preview: nothing to change, exit 0", () => {
    const r = reviewOf("quiet");
    assert.equal(r.exitCode, 0);
    assert.deepEqual(r.effects, []);
    assert.match(r.markdown, /would change nothing \(26 unchanged\)/);
  });

  it("a new notebook image: the image pulled, the hub replaced (logins fail for a while, servers keep running), exit 0", () => {
    const r = reviewOf("image");
    assert.equal(r.exitCode, 0, r.markdown);
    assert.match(r.markdown, /`pulumi up` would replace 2; 24 unchanged/);
    const hub = line(r.markdown, "hub container `gmap-bak-hub`");
    assert.match(hub, /replaced because of `uploads` \(update-replace\): the old one is removed first, then the new one is created\./);
    assert.match(hub, hubWords);
    assert.match(
      line(r.markdown, "notebook image"),
      /New servers start from `localhost\/notebook-gispy:5.5.1` instead of `localhost\/notebook-minimal:5.5.1`/,
    );
    assert.match(
      r.markdown,
      /\| [a-z, -]*\breplace\b[a-z, -]* \| `docker:index\/container:Container` \| `jupyterhub-hub` \| `uploads` update-replace \|/,
    );
  });

  it("a replaced network: every server stopped (also through the user servers' remover), exit 0", () => {
    const r = reviewOf("network");
    assert.equal(r.exitCode, 0);
    assert.match(
      line(r.markdown, "network `gmap-bak`"),
      /replaced because of `labels\[0\]` \(add-replace\): the old one is removed first, then the new one is created\. \*\*Every user server is stopped\*\*/,
    );
    assert.match(line(r.markdown, "**user servers**"), /\*\*Every user server is stopped\*\* and removed first \(their files are kept\)/);
    assert.match(
      line(r.markdown, "proxy container"),
      /because an input comes from a replaced resource: the old one .*open notebooks reconnect/,
    );
    assert.match(line(r.markdown, "egress guard"), /not restricted/);
    assert.equal(r.effects.length, 5);
  });

  it("a renamed volume: data loss, exit 1 unless acknowledged (flag or pull request text)", () => {
    const r = reviewOf("volume-renamed");
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.unacknowledged, ["data-loss"]);
    assert.match(r.markdown, /\*\*Needs acknowledgement: data loss\.\*\* .*--accept data-loss.*preview-ack: data-loss/);
    assert.match(
      line(r.markdown, "`gmap-bak-shared`"),
      /dropped from the stack .*\*\*Data loss for users\*\*: `gmap-bak-shared` is no longer mounted/,
    );
    assert.match(line(r.markdown, "`gmap-bak-common`"), /created\. `gmap-bak-common` starts empty/);
    const flag = reviewOf("volume-renamed", ["data-loss"]);
    assert.equal(flag.exitCode, 0);
    assert.match(flag.markdown, /May land: acknowledged data loss/);
    assert.equal(reviewOf("volume-renamed", [], "Moves the share.\n\npreview-ack: data-loss\n").exitCode, 0);
    assert.equal(reviewOf("volume-renamed", ["logout"]).exitCode, 1, "another risk's acknowledgement does not count");
  });

  it("a regenerated cookie secret: everyone logged out, exit 1 unless acknowledged", () => {
    const r = reviewOf("cookie-secret");
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.risks, ["logout"]);
    assert.match(line(r.markdown, "cookie secret"), /regenerated\. \*\*Everyone is logged out\*\*/);
    assert.match(line(r.markdown, "hub container"), hubWords);
    assert.equal(reviewOf("cookie-secret", [], "> preview-ack: logout").exitCode, 0);
  });

  it("a regenerated service token: its clients need the new one, exit 1 unless acknowledged", () => {
    const r = reviewOf("service-token");
    assert.equal(r.exitCode, 1);
    assert.deepEqual(r.risks, ["secrets"]);
    assert.match(
      line(r.markdown, "token of API service `bak-admin-api`"),
      /regenerated\. Its clients are refused until they use the new token/,
    );
    assert.equal(reviewOf("service-token", ["data-loss,secrets"]).exitCode, 0);
  });

  it("a renamed service and admin: new secrets created, old ones deleted, nothing regenerated, exit 0", () => {
    const r = reviewOf("service-renamed");
    assert.equal(r.exitCode, 0, r.markdown);
    assert.match(line(r.markdown, "token of API service `backup-api`"), /created\. A token for a new service/);
    assert.match(line(r.markdown, "token of API service `bak-admin-api`"), /deleted\. The service's token stops working/);
    assert.match(line(r.markdown, "generated password of admin `hub-admin`"), /created/);
  });

  it("a replaced volume of the same name: Docker hands the same volume back, no data loss", () => {
    const r = reviewOf("hub-data-volume");
    assert.equal(r.exitCode, 0);
    assert.match(line(r.markdown, "hub data volume"), /hands back the existing volume of the same name: the files stay\./);
  });

  it("a new port: proxy and hub replaced", () => {
    const r = reviewOf("port");
    assert.equal(r.exitCode, 0);
    assert.match(line(r.markdown, "proxy container"), /because of `ports\[0\]\.external` \(update-replace\)/);
  });

  it("reads a replacement in its partial steps (delete-replaced, replace, create-replacement) as one replacement", () => {
    const hub = plannedChanges(fixture("image")).find((c) => c.name === "jupyterhub-hub")!;
    assert.equal(hub.operation, "replace");
    assert.deepEqual([...hub.ops].sort(), ["create-replacement", "delete-replaced", "replace"]);
  });

  it("the document form of `pulumi preview --json` plans the same changes as its stream of events", () => {
    const brief = (doc: PreviewDocument) =>
      plannedChanges(doc)
        .map((c) => `${c.operation} ${c.type} ${c.name} ${c.reasons.map((r) => `${r.property}:${r.kind}`).join(",")}`)
        .sort();
    assert.deepEqual(brief(fixture("digest-image")), brief(fixture("image")));
    assert.deepEqual(fixture("digest-image").changeSummary, fixture("image").changeSummary);
  });

  it("a mandatory policy that fails: its finding, the plan, exit 2", () => {
    const r = review({
      stack: "e2e-backup",
      check: { ok: true, text: "ok" },
      preview: fixture("policy-every-interface"),
      previewFailure: { code: 1, output: "" },
      config: { against: "x", changes: [] },
      acks: acknowledgements(["data-loss", "logout", "secrets"]),
      command: "npm run preview -- e2e-backup",
    });
    assert.equal(r.exitCode, 2);
    assert.match(r.markdown, /\*\*A mandatory policy fails\*\*/);
    assert.match(
      r.markdown,
      /- \*\*mandatory\*\* `gmap-jupyterhub\/no-plain-http-on-every-interface` on `jupyterhub-proxy`: .*port 18020 is published on every interface without TLS/,
    );
    assert.match(line(r.markdown, "proxy container"), /because of `ports\[0\]\.ip` \(update-replace\)/);
    assert.ok(!r.markdown.includes("### Preview output"), "no repeat of `preview failed`");
  });

  it("a failed check or preview exits 2 and says so", () => {
    const base = { stack: "dev", config: { against: "x", changes: [] }, acks: acknowledgements([]), command: "npm run preview -- dev" };
    const failedCheck = review({ ...base, check: { ok: false, text: "Pulumi.dev.yaml: Invalid stack config" } });
    assert.equal(failedCheck.exitCode, 2);
    assert.match(failedCheck.markdown, /The config check failed/);
    const failedPreview = review({ ...base, check: { ok: true, text: "ok" }, previewFailure: { code: 255, output: "error: boom" } });
    assert.equal(failedPreview.exitCode, 2);
    assert.match(failedPreview.markdown, /The preview failed[\s\S]*error: boom/);
  });
});

describe("the config diff", () => {
  const configOf = (file: string) => (YAML.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
  const production = configOf(path.join(root, "Pulumi.production.yaml"));

  it("lists changed keys by path, list items by name", () => {
    const after = configOf(
      edited("production", (c) => {
        c["jupyterhub:hub"].bindAddress = "127.0.0.1";
        c["jupyterhub:images"][0].image = "example.org/notebook:2";
        delete c["jupyterhub:prefix"];
      }),
    );
    const image = (production["jupyterhub:images"] as { name: string }[])[0]!.name;
    assert.deepEqual(
      configDiff(production, after).map((c) => [c.key, c.kind, c.before, c.after]),
      [
        ["jupyterhub:hub.bindAddress", "changed", "0.0.0.0", "127.0.0.1"],
        [
          `jupyterhub:images[${image}].image`,
          "changed",
          (production["jupyterhub:images"] as { image: string }[])[0]!.image,
          "example.org/notebook:2",
        ],
        ["jupyterhub:prefix", "removed", "gmap", undefined],
      ],
    );
  });

  it("never shows a secret: encrypted values and plain values under secret keys by key only", () => {
    const ciphertext = "v1:ZmFrZQ==:v1:ZmFrZQ==:c2VjcmV0";
    const after = configOf(
      edited("production", (c) => {
        c["jupyterhub:githubClientSecret"] = { secure: ciphertext };
        c["jupyterhub:shareCredentials"] = { "shared-smb": { username: "gmap", password: "plain-text-password" } };
      }),
    );
    const r = review({
      stack: "production",
      check: { ok: true, text: "ok" },
      preview: fixture("quiet"),
      config: { against: "`HEAD:Pulumi.production.yaml`", changes: configDiff(production, after) },
      acks: acknowledgements([]),
      command: "npm run preview -- production",
    });
    for (const value of [ciphertext, "plain-text-password", "gmap |"])
      assert.ok(!r.markdown.includes(value), `${value} leaked:\n${r.markdown}`);
    assert.match(r.markdown, /\| `jupyterhub:githubClientSecret` \| added \| {2}\| _secret, not shown_ \|/);
    assert.match(r.markdown, /\| `jupyterhub:shareCredentials\.shared-smb\.password` \| added \| {2}\| _secret, not shown_ \|/);
    const rotated = configDiff(
      { "jupyterhub:githubClientSecret": { secure: "v1:a" } },
      { "jupyterhub:githubClientSecret": { secure: "v1:b" } },
    );
    assert.deepEqual(rotated, [{ key: "jupyterhub:githubClientSecret", kind: "changed", secret: true }]);
  });
});

describe("acknowledgements", () => {
  it("reads --accept lists and preview-ack lines; other words are reported, not accepted", () => {
    const acks = acknowledgements(["data-loss"], "Fixes the share.\n\n- preview-ack: logout, secret\r\nnot preview-ack: secrets");
    assert.deepEqual([...acks.accepted].sort(), ["data-loss", "logout"]);
    assert.deepEqual(acks.unknown, ["secret"]);
  });
});

describe("npm run preview (no Pulumi CLI needed)", () => {
  const run = (...args: string[]) => {
    const res = spawnSync(process.execPath, ["--import", "tsx", "ops/preview.ts", ...args], { cwd: root, encoding: "utf8" });
    return { code: res.status, out: res.stdout, err: res.stderr };
  };

  it("explains its usage and refuses unknown acknowledgements", () => {
    assert.equal(run().code, 2);
    const bad = run("dev", "--accept", "dataloss");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /unknown risk dataloss \(known: data-loss, logout, secrets\)/);
  });

  it("stops at the config check: exit 2, the problems by key, the config diff, no preview", () => {
    const file = edited("dev", (c) => (c["jupyterhub:hub"].port = 0));
    const r = run("dev", "--config-file", file);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.out, /\*\*The config check failed\*\*: nothing was previewed/);
    assert.match(r.out, /jupyterhub:hub\.port/);
    assert.match(r.out, /Against `Pulumi\.dev\.yaml`/);
    assert.ok(!r.out.includes("pulumi up` would"), r.out);
  });
});
