/**
 * Scenario 29: fair shares on one host (groups, sizes, spawner.maxServers, spawner.memoryBudget).
 * The e2e stack is given a group, three sizes (a small one for everyone; a large one and a GPU one
 * for the group) and a ceiling of 3 servers and 2G of memory limits. Through the spawn form and the
 * API: the member is offered and gets the large size (the container's limits prove it), the
 * non-member neither sees nor gets it; the GPU size fails on this GPU-less host with a clear reason;
 * the ceiling refuses the spawn past each limit with its message and admits it again once a server
 * stops; a group's project folder is mounted for its members only, and a curated area is written by
 * admins and read by users; a memory hog in a small server is killed inside it while the neighbours answer; admins see
 * the usage, users do not; the config's group cannot be edited through the API and follows the
 * config on the next `pulumi up`, whose preview plans the hub's replacement only.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { escapeUserName } from "../../components/identity";
import { BrowserSession } from "./browser-session";
import { docker, userContainer } from "./engine";
import { HubApi } from "./hub-api";
import { hubEnv } from "./hub-env";
import { assertQuietPreview, preview, up, upOk } from "./pulumi";
import { editedStackFile, prefix, stack, stackSkip } from "./stack";
import { uniqueName } from "./user-names";
import { waitFor, waitForHub } from "./wait";

const api = new HubApi();
const M = 2 ** 20;
const PASSWORD = "Fair-Shares-Passw0rd";
const GROUP = "processing-team";

const member = uniqueName("member");
const leaver = uniqueName("leaver");
const student = uniqueName("student");
const third = uniqueName("third");
const fourth = uniqueName("fourth");

const fairShares = (members: string[], largeMemory: string) =>
  editedStackFile((c) => {
    c["jupyterhub:groups"] = [{ name: GROUP, members }];
    c["jupyterhub:sizes"] = [
      { name: "small", memLimit: "384M", pidsLimit: 256 },
      { name: "large", memLimit: largeMemory, cpuLimit: 1, pidsLimit: 512, shmSize: "256M", groups: [GROUP], images: ["gispy"] },
      { name: "gpu", memLimit: "512M", gpus: { count: 1 }, groups: [GROUP] },
    ];
    c["jupyterhub:defaultSize"] = "small";
    c["jupyterhub:storage"] = [
      ...(c["jupyterhub:storage"] as unknown[]),
      {
        name: "project",
        source: { type: "volume" },
        mountPath: "/home/jovyan/project",
        groups: [GROUP],
        environment: { PROJECT_DATA: "/home/jovyan/project" },
      },
      { name: "curated", source: { type: "volume" }, mountPath: "/mnt/curated", readOnly: true, writers: { admins: true } },
    ];
    c["jupyterhub:spawner"] = { ...c["jupyterhub:spawner"], maxServers: 3, memoryBudget: "2G" };
  });

/** POST /users/:name/server with options; the status and the message. */
async function apiStart(name: string, options: Record<string, unknown>): Promise<{ status: number; message: string }> {
  const res = await api.request(`/hub/api/users/${encodeURIComponent(name)}/server`, { method: "POST", body: JSON.stringify(options) });
  const text = await res.text();
  return { status: res.status, message: text ? ((JSON.parse(text) as { message?: string }).message ?? text) : "" };
}

/** The last event of a spawn's progress stream (its outcome). */
async function spawnOutcome(name: string): Promise<{ failed?: boolean; ready?: boolean; message: string }> {
  const res = await api.request(`/hub/api/users/${encodeURIComponent(name)}/server/progress`, { headers: { Accept: "text/event-stream" } });
  const events = (await res.text())
    .split("\n")
    .filter((l) => l.startsWith("data:"))
    .map((l) => JSON.parse(l.slice(5)) as { failed?: boolean; ready?: boolean; message: string });
  return events.at(-1)!;
}

async function signedUp(admin: BrowserSession, name: string): Promise<BrowserSession> {
  const session = new BrowserSession();
  await session.signUp(name, PASSWORD);
  await admin.authorize(name);
  await session.login(name, PASSWORD);
  assert.equal(await session.whoami(), name);
  return session;
}

describe("fair shares: groups, sizes and the ceiling", { skip: stackSkip }, () => {
  let admin: BrowserSession;
  let memberBrowser: BrowserSession;
  let studentBrowser: BrowserSession;

  before(async () => {
    await upOk({ stack: stack!, configFile: fairShares([member, leaver], "1G") });
    await waitForHub(hubEnv().url);
    const usage = await api.hub("/usage");
    assert.equal(usage.servers, 0, `the scenario needs a hub without running servers: ${JSON.stringify(usage.running)}`);
    admin = await BrowserSession.admin();
    memberBrowser = await signedUp(admin, member);
    studentBrowser = await signedUp(admin, student);
    for (const name of [leaver, third, fourth]) await api.createUser(name);
  });

  after(async () => {
    for (const name of [member, leaver, student, third, fourth]) await api.stopServer(name).catch(() => undefined);
    const restored = await up();
    assert.equal(restored.code, 0, restored.stdout + restored.stderr);
    // retained on delete like every stack volume; the scenario's own
    for (const name of ["project", "curated"]) await docker.getVolume(`${prefix()}-${name}`).remove();
    await waitForHub(hubEnv().url);
    await assertQuietPreview("after restoring the e2e stack file");
  });

  it("the config's group is in the hub, and the API cannot change it", async () => {
    const group = await api.hub(`/groups/${GROUP}`);
    assert.deepEqual([...group.users].sort(), [member, leaver].sort());
    const add = await api.request(`/hub/api/groups/${GROUP}/users`, { method: "POST", body: JSON.stringify({ users: [student] }) });
    assert.equal(add.status, 403);
    assert.match(await add.text(), /kept by the stack config/);
    // a group made through the API stays editable there
    const own = uniqueName("adhoc");
    await api.hub(`/groups/${own}`, { method: "POST", body: "{}" }, [201]);
    await api.hub(`/groups/${own}/users`, { method: "POST", body: JSON.stringify({ users: [student] }) }, [200]);
    await api.hub(`/groups/${own}`, { method: "DELETE" }, [204]);
  });

  it("the member's form offers the large size; the student's form does not", async () => {
    const memberForm = await memberBrowser.get("/hub/spawn");
    assert.match(memberForm.text, /<select class="form-select" id="gmap-size" name="size"/);
    assert.match(memberForm.text, /<option value="large" data-images="gispy">large: 1G memory, 1 CPU<\/option>/);
    const studentForm = await studentBrowser.get("/hub/spawn");
    assert.equal(studentForm.status, 200);
    assert.match(studentForm.text, /name="image"/);
    assert.doesNotMatch(studentForm.text, /gmap-size|large/);
  });

  it("the GPU size fails on a host without GPUs, saying so", async () => {
    const start = await apiStart(member, { size: "gpu" });
    // the hub answers the request with the failure when it comes within its first seconds
    const message = start.status === 503 ? start.message : (await spawnOutcome(member)).message;
    assert.ok([201, 202, 503].includes(start.status), `${start.status} ${start.message}`);
    // Docker's answer names the device request the container was created with
    assert.match(message, /asks for GPUs, and this hub's Docker host has none.*capabilities: \[\[gpu\]\]/s);
    await waitFor("the failed server to be gone", async () => ((await api.user(member)).servers?.[""] ? undefined : true), 60_000);
  });

  it("the student is refused the large size through the form and the API, never given another", async () => {
    const page = await studentBrowser.submit("/hub/spawn", { image: "gispy", size: "large" });
    assert.equal(page.status, 400);
    assert.match(page.text, /The size (&#39;|')large(&#39;|') is not offered to you on this hub/);
    const byApi = await apiStart(student, { image: "gispy", size: "large" });
    assert.equal(byApi.status, 400);
    assert.match(byApi.message, /is not offered to you on this hub. Choose one of: small: 384M memory/);
    assert.equal((await api.user(student)).servers?.[""], undefined, "no server was started with another size");
  });

  it("the member gets the large size through the form, the student the small one through the API", async () => {
    const page = await memberBrowser.submit("/hub/spawn", { image: "gispy", size: "large" });
    assert.ok(page.status < 400, `${page.status} ${page.text.slice(0, 300)}`);
    await api.waitReady(member);
    const start = await apiStart(student, { image: "minimal" });
    assert.ok([201, 202].includes(start.status), `${start.status} ${start.message}`);
    await api.waitReady(student);
    const big = (await userContainer(escapeUserName(member)))!.HostConfig;
    assert.deepEqual([big.Memory, big.PidsLimit, big.ShmSize, big.CpuQuota! / big.CpuPeriod!], [1024 * M, 512, 256 * M, 1]);
    const small = (await userContainer(escapeUserName(student)))!.HostConfig;
    assert.deepEqual([small.Memory, small.PidsLimit], [384 * M, 256]);
  });

  it("the group's project folder is the members' only; admins write the curated area, users read it", async () => {
    const admin = process.env.E2E_ADMIN_USER ?? "e2e-admin";
    await api.startServer(admin, { size: "small" });
    try {
      assert.match(await api.runPython(member, "open('/home/jovyan/project/plan.txt', 'w').write('stereo'); print('written')"), /written/);
      assert.match(await api.runPython(student, "import os; print(os.path.exists('/home/jovyan/project'))"), /False/);
      // the folder's variables too: the members' only
      const projectData = "import os; print('PROJECT_DATA', os.environ.get('PROJECT_DATA'))";
      assert.match(await api.runPython(member, projectData), /PROJECT_DATA \/home\/jovyan\/project/);
      assert.match(await api.runPython(student, projectData), /PROJECT_DATA None/);
      assert.match(await api.runPython(admin, "open('/mnt/curated/readme.txt', 'w').write('curated'); print('written')"), /written/);
      const read = await api.runPython(
        student,
        [
          "import errno",
          "print(open('/mnt/curated/readme.txt').read())",
          "try:",
          "    open('/mnt/curated/mine.txt', 'w')",
          "except OSError as e:",
          "    print('refused', errno.errorcode[e.errno])",
        ].join("\n"),
      );
      assert.match(read, /curated\s+refused EROFS/);
    } finally {
      await api.stopServer(admin);
    }
  });

  it("a memory hog in the small server is killed inside it; its server and the neighbour keep answering", async () => {
    const out = await api.runPython(
      student,
      [
        "import subprocess, sys",
        "hog = subprocess.run([sys.executable, '-c', 'x = b\"x\" * (700 * 2**20); print(len(x))'], capture_output=True)",
        "print('hog exit', hog.returncode)",
      ].join("\n"),
      120_000,
    );
    assert.match(out, /hog exit -9/, "the kernel's OOM killer ends the hog in its own container");
    assert.match(await api.runPython(student, "print(6 * 7)"), /42/);
    assert.match(await api.runPython(member, "print(6 * 7)"), /42/);
  });

  it("past the memory budget a spawn is refused at once with its reason", async () => {
    // running: 1G + 384M of the 2G budget; the leaver's large server would need 1G more
    const refused = await apiStart(leaver, { image: "gispy", size: "large" });
    assert.equal(refused.status, 429);
    assert.match(
      refused.message,
      /no memory left for the size 'large: 1G memory, 1 CPU'.*of its 2G \(spawner.memoryBudget\).*Choose a smaller size/,
    );
    const usage = await api.hub("/usage");
    assert.deepEqual([usage.servers, usage.maxServers, usage.memoryBytes, usage.memoryBudgetBytes], [2, 3, 1408 * M, 2048 * M]);
    assert.equal((await api.user(leaver)).servers?.[""], undefined);
  });

  it("past the server limit a spawn is refused with its reason, and admitted after a server stops", async () => {
    await api.startServer(third, { size: "small" });
    const refused = await apiStart(fourth, {});
    assert.equal(refused.status, 429);
    assert.match(refused.message, /The hub is full: 3 servers are running, the most it runs at once \(spawner.maxServers\)/);
    await api.stopServer(third);
    await api.startServer(fourth, {});
  });

  it("the memory budget admits the large size once servers stop", async () => {
    await api.stopServer(student);
    await api.stopServer(fourth);
    const admitted = await apiStart(leaver, { image: "gispy", size: "large" });
    assert.ok([201, 202].includes(admitted.status), `${admitted.status} ${admitted.message}`);
    await api.waitReady(leaver);
    assert.equal((await api.hub("/usage")).memoryBytes, 2048 * M);
  });

  it("admins see the usage page; users do not", async () => {
    const page = await admin.get("/hub/usage");
    assert.equal(page.status, 200);
    assert.match(page.text, /Servers running or starting<\/th>\s*<td id="gmap-servers">2 of 3/);
    assert.match(page.text, new RegExp(`<td>${member}</td>\\s*<td>\\(default\\)</td>\\s*<td>large</td>`));
    assert.equal((await memberBrowser.get("/hub/usage")).status, 403);
    assert.equal((await memberBrowser.get("/hub/api/usage")).status, 403);
  });

  it("a size and membership change: the preview plans the hub's replacement only, and `up` makes the group so", async () => {
    const edited = fairShares([member], "1536M");
    const plan = await preview({ configFile: edited });
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.deepEqual([...new Set(plan.changes.map((s) => `${s.type.split(":").pop()} ${s.name}`))], ["Container jupyterhub-hub"]);
    await upOk({ stack: stack!, configFile: edited });
    await waitForHub(hubEnv().url);
    await waitFor("the group to follow the config", async () => {
      const group = await api.hub(`/groups/${GROUP}`).catch(() => undefined);
      return group && group.users.length === 1 ? group : undefined;
    });
    assert.deepEqual((await api.hub(`/groups/${GROUP}`)).users, [member]);
    // servers kept running through the hub's replacement are still counted
    assert.equal((await api.hub("/usage")).servers, 2);
  });
});
