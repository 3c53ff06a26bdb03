/**
 * Scenario 19: what one user's server can do to the host and the others (spawner.pidsLimit, logs;
 * the e2e stack sets 256 and 5m x 2). From inside a user server: the process cannot gain privileges
 * and holds only the start-up's capabilities in its bounding set; the pids cgroup's limit is the
 * stack's, and a bounded loop of processes stops there while the hub keeps answering; a flood of
 * output leaves at most maxSize x maxFiles of log on the Docker host; the hub and the proxy keep
 * bounded logs too.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { inspectContainer, userContainer } from "./engine";
import { BrowserSession } from "./browser-session";
import { HubApi } from "./hub-api";
import { assertProcessLoopStops } from "./process-limit";
import { hubEnv } from "./hub-env";
import { prefix, stackSkip } from "./stack";
import { uniqueName } from "./user-names";
import { escapeUserName } from "../../components/identity";

const api = new HubApi();
const PIDS_LIMIT = 256;
const LOG = { "max-size": "5m", "max-file": "2" };
const LOG_BOUND = 2 * 5 * 1024 * 1024;

/** Bytes of a container's json-file log on the host: the current file and the rotated ones. */
function logBytes(logPath: string): number {
  const dir = path.dirname(logPath);
  const base = path.basename(logPath);
  return fs
    .readdirSync(dir)
    .filter((f) => f === base || f.startsWith(`${base}.`))
    .reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

/** CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID, AUDIT_WRITE (components/server-security.ts). */
const CAPABILITY_BOUND = "00000000200000fb";

describe("what one user's server can do", { skip: stackSkip }, () => {
  const user = uniqueName("limits");

  before(async () => {
    await api.createUser(user);
    await api.startServer(user);
  });

  after(async () => {
    await api.stopServer(user).catch(() => undefined);
  });

  it("the server's processes cannot gain privileges and keep only the start-up's capabilities", async () => {
    const status = await api.runPython(user, 'print(open("/proc/self/status").read())');
    const field = (name: string) => new RegExp(`^${name}:\\s*(\\S+)$`, "m").exec(status)?.[1];
    assert.equal(field("NoNewPrivs"), "1");
    assert.equal(field("CapEff"), "0000000000000000");
    assert.equal(field("CapBnd"), CAPABILITY_BOUND);
    const uid = /^Uid:\s*(\d+)/m.exec(status)?.[1];
    assert.ok(uid !== undefined && uid !== "0", `the server runs as uid ${uid}`);
    const container = await userContainer(escapeUserName(user));
    assert.deepEqual(container?.HostConfig.SecurityOpt, ["no-new-privileges:true"]);
    assert.deepEqual(container?.HostConfig.CapDrop, ["ALL"]);
  });

  it("a loop of processes stops at the server's pids limit, and the hub answers meanwhile", async () => {
    await assertProcessLoopStops(api, user, PIDS_LIMIT, hubEnv().url);
  });

  it("a flood of output leaves at most maxSize x maxFiles of log on the host", async () => {
    const container = await userContainer(escapeUserName(user));
    assert.ok(container, "the user's container exists");
    assert.deepEqual(container.HostConfig.LogConfig, { Type: "json-file", Config: LOG });
    // 25 MB of lines into the container's output: the kernel's own stdout as the notebook server
    // started it (ipykernel keeps a copy of it while it captures fd 1 for the notebook); 25 writes
    const code = `
import os, sys
fd = getattr(sys.stdout, "_original_stdstream_copy", None) or 1
line = ("x" * 999 + "\\n").encode()
with open(fd, "wb", closefd=False) as out:
    for _ in range(25):
        out.write(line * 1000)
print("written")
`;
    assert.equal((await api.runPython(user, code, 120_000)).trim(), "written");
    const bytes = logBytes(container.LogPath);
    assert.ok(bytes <= LOG_BOUND + 64 * 1024, `the log takes ${bytes} bytes, more than ${LOG_BOUND}`);
    assert.ok(bytes > LOG_BOUND / 4, `the log takes ${bytes} bytes: did the flood reach it?`);
  });

  it("the login lockout holds against forged client addresses, from outside and from a user network", async () => {
    const name = uniqueName("lockout");
    const password = "correct-horse-battery-7";
    const admin = await BrowserSession.admin();
    await new BrowserSession().signUp(name, password);
    await admin.authorize(name);
    const forged = (i: number) => ({ "X-Real-IP": `198.51.100.${i}`, "X-Forwarded-For": `198.51.100.${i}` });
    // from outside: each guess names another address (Pulumi.e2e.yaml: 3 failures lock for 15 s)
    const guesser = new BrowserSession();
    for (let i = 0; i < 3; i++)
      assert.match((await guesser.login(name, "wrong-password-123", forged(i))).text, /Invalid username or password/);
    await guesser.login(name, password, forged(99));
    assert.equal(await guesser.whoami(), undefined, "the right password from a 'new address' is refused while locked");
    // from a user network straight to the hub's port, forging the headers the same way
    const code = `
import http.cookiejar, os, re, urllib.parse, urllib.request
hub = os.environ["JUPYTERHUB_API_URL"].rsplit("/api", 1)[0]
def attempt(password, i):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    forged = {"X-Real-IP": f"192.0.2.{i}", "X-Forwarded-For": f"192.0.2.{i}"}
    page = opener.open(urllib.request.Request(hub + "/login", headers=forged), timeout=20).read().decode()
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"_xsrf": xsrf, "username": ${JSON.stringify(name)}, "password": password}).encode()
    body = opener.open(urllib.request.Request(hub + "/login", data=form, headers=forged), timeout=20).read().decode()
    return "refused" if "Invalid username or password" in body else "in"
print(*[attempt("wrong-password-123", i) for i in range(3)], attempt(${JSON.stringify(password)}, 99))
`;
    assert.equal((await api.runPython(user, code, 120_000)).trim(), "refused refused refused refused");
  });

  it("the hub and the proxy keep bounded logs", async () => {
    for (const name of [`${prefix()}-hub`, `${prefix()}-proxy`]) {
      const info = await inspectContainer(name);
      assert.deepEqual(info.HostConfig.LogConfig, { Type: "json-file", Config: LOG }, name);
    }
  });
});
