/**
 * Scenario 9: the README's deploy command works as written, for the dev stack and for the
 * production example once its secrets are set, in a fresh copy of the repository with its own
 * Pulumi home (the command logs in to a local file backend). The final `pulumi up` is replaced by
 * `pulumi preview`: the upstream images cannot be pulled here, everything before that runs as is.
 */
import assert from "node:assert/strict";
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { projectDir, stackSkip } from "./stack";

/** The deploy command of the README's "The two commands" section. */
function readmeDeployCommand(): string {
  const readme = fs.readFileSync(path.join(projectDir, "README.md"), "utf8");
  const command = readme.split("\n").find((l) => l.startsWith("npm install && ") && l.includes("pulumi stack select --create dev"));
  assert.ok(command, "README.md has the deploy command");
  assert.match(command, /&& pulumi up$/);
  return command;
}

function sh(cwd: string, env: NodeJS.ProcessEnv, script: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile("bash", ["-c", script], { cwd, env, timeout: 10 * 60_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, out: String(stdout) + String(stderr) });
    });
  });
}

describe("the README's deploy command", { skip: stackSkip }, () => {
  let work = "";
  let env: NodeJS.ProcessEnv = {};

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "gmap-readme-"));
    const copy = path.join(work, "project");
    for (const file of execFileSync("git", ["ls-files", "-z"], { cwd: projectDir, encoding: "utf8" }).split("\0").filter(Boolean)) {
      if (!fs.existsSync(path.join(projectDir, file))) continue;
      fs.mkdirSync(path.dirname(path.join(copy, file)), { recursive: true });
      fs.copyFileSync(path.join(projectDir, file), path.join(copy, file));
    }
    fs.symlinkSync(path.join(projectDir, "node_modules"), path.join(copy, "node_modules"));
    // its own Pulumi home (login, workspaces), with the plugins already installed on this machine
    const home = path.join(work, "pulumi-home");
    fs.mkdirSync(home);
    const plugins = path.join(process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi"), "plugins");
    if (fs.existsSync(plugins)) fs.symlinkSync(plugins, path.join(home, "plugins"));
    env = { ...process.env, PULUMI_HOME: home, PULUMI_SKIP_UPDATE_CHECK: "1" };
    delete env.PULUMI_BACKEND_URL;
    delete env.PULUMI_CONFIG_PASSPHRASE;
    work = copy;
  });

  after(() => {
    fs.rmSync(path.dirname(work), { recursive: true, force: true });
  });

  it("previews the dev stack (npm install already done)", async () => {
    const command = readmeDeployCommand()
      .replace(/^npm install && /, "")
      .replace(/pulumi up$/, "pulumi preview --non-interactive");
    const { code, out } = await sh(work, env, command);
    assert.equal(code, 0, out);
    assert.match(out, /\+ 2\d to create/);
    assert.match(out, /hubUrl\s*: "http:\/\/localhost:8000"/);
    assert.ok(
      fs.readFileSync(path.join(work, "Pulumi.dev.yaml"), "utf8").includes("encryptionsalt:"),
      "the stack file got its salt, as for any operator",
    );
  });

  it("previews the production example once its secrets are set, without showing them", async () => {
    const secrets = { github: "gh-secret-4d1c", gitlab: "gl-secret-93ab", smb: "smb-secret-77e0" };
    const { code, out } = await sh(
      work,
      {
        ...env,
        PATH: `${path.join(work, "node_modules", ".bin")}${path.delimiter}${env.PATH}`,
        PULUMI_CONFIG_PASSPHRASE: "a-strong-production-passphrase",
      },
      [
        `pulumi login "file://$PWD/.pulumi-state"`,
        "pulumi stack select --create production",
        `pulumi config set --secret githubClientSecret ${secrets.github}`,
        `pulumi config set --secret gitlabClientSecret ${secrets.gitlab}`,
        "pulumi config set --secret --path 'shareCredentials.shared-smb.username' gmap",
        `pulumi config set --secret --path 'shareCredentials.shared-smb.password' ${secrets.smb}`,
        "npm run -s check -- production",
        "pulumi preview --non-interactive --diff",
      ].join(" && "),
    );
    assert.equal(code, 0, out);
    assert.match(out, /Pulumi\.production\.yaml: ok \(secrets set, values not shown: /);
    // 20-odd resources, and the front proxy (network, volume, image, container) of its hub.tls acme
    assert.match(out, /\+ [23]\d to create/);
    for (const s of Object.values(secrets)) assert.ok(!out.includes(s), `${s} shown in the output`);
    const file = fs.readFileSync(path.join(work, "Pulumi.production.yaml"), "utf8");
    for (const s of Object.values(secrets)) assert.ok(!file.includes(s), `${s} in plain text in the stack file`);
  });
});
