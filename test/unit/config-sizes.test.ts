/** groups, sizes, defaultSize and the ceiling (spawner.maxServers, spawner.memoryBudget): the rules and the hub's settings. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import YAML from "yaml";
import { parseConfig } from "../../components/config";
import { sizeSettings } from "../../components/settings";
import { problemsOf, refused } from "./config-problems";

const images = [
  { name: "minimal", displayName: "Minimal", image: "quay.io/jupyter/minimal-notebook:2025-03-14" },
  { name: "isis", displayName: "ISIS", image: "gmap/jupyter-isis-asp:2025.1" },
];
/** The worked example of docs/sizes.md: a summer school and a processing team on one 64G host. */
const example = {
  images,
  groups: [
    { name: "processing-team", members: ["ada", "bob"] },
    { name: "summer-school", members: ["student1", "student2"] },
  ],
  sizes: [
    { name: "class", memLimit: "2G", cpuLimit: 0.5 },
    { name: "standard", memLimit: "4G", cpuLimit: 1 },
    { name: "processing", memLimit: "24G", cpuLimit: 6, pidsLimit: 4096, shmSize: "2G", groups: ["processing-team"], images: ["isis"] },
  ],
  defaultSize: "class",
  spawner: { maxServers: 40, memoryBudget: "56G", pidsLimit: 512 },
};

describe("sizes", () => {
  it("accepts the worked example and gives the hub complete sizes", () => {
    const config = parseConfig(example);
    assert.equal(config.spawner.maxServers, 40);
    const { sizes, defaultSize } = sizeSettings(config);
    assert.equal(defaultSize, "class");
    assert.deepEqual(sizes![0], {
      name: "class",
      displayName: "class: 2G memory, 0.5 CPUs",
      memLimit: "2G",
      cpuLimit: 0.5,
      pidsLimit: 512,
      shmSize: null,
      gpus: null,
      groups: null,
      images: null,
    });
    assert.deepEqual(
      { ...sizes![2], displayName: undefined },
      {
        name: "processing",
        displayName: undefined,
        memLimit: "24G",
        cpuLimit: 6,
        pidsLimit: 4096,
        shmSize: "2G",
        gpus: null,
        groups: ["processing-team"],
        images: ["isis"],
      },
    );
  });

  it("takes the spawner's limits where a size gives none, and nothing without sizes", () => {
    const config = parseConfig({ images, sizes: [{ name: "one" }], spawner: { memLimit: "3G", cpuLimit: 2 } });
    const { sizes } = sizeSettings(config);
    assert.deepEqual(
      [sizes![0]!.memLimit, sizes![0]!.cpuLimit, sizes![0]!.pidsLimit, sizes![0]!.displayName],
      ["3G", 2, 1024, "one: 3G memory, 2 CPUs"],
    );
    assert.deepEqual(sizeSettings(parseConfig({})), {});
  });

  it("writes GPU requests as Docker's device requests", () => {
    const gpu = (gpus: Record<string, unknown>) =>
      sizeSettings(parseConfig({ sizes: [{ name: "cpu" }, { name: "gpu", memLimit: "8G", gpus }] })).sizes![1]!.gpus;
    assert.deepEqual(gpu({}), { driver: "", count: 1, deviceIds: [], capabilities: [["gpu"]] });
    assert.deepEqual(gpu({ count: "all", driver: "nvidia" }), { driver: "nvidia", count: -1, deviceIds: [], capabilities: [["gpu"]] });
    assert.deepEqual(gpu({ deviceIds: ["GPU-1"] })!.count, 0);
    refused({ sizes: [{ name: "gpu", gpus: { count: 1, deviceIds: ["0"] } }] }, "jupyterhub:sizes[0].gpus", /count or deviceIds, not both/);
  });

  it("refuses unknown groups and images, and twice-used names, by key", () => {
    const problems = problemsOf({
      images,
      groups: [{ name: "team" }, { name: "team" }],
      sizes: [{ name: "a" }, { name: "a" }, { name: "b", groups: ["nobody"], images: ["nothing"] }],
    });
    for (const expected of [
      /^jupyterhub:groups: group name "team" is used twice/,
      /^jupyterhub:sizes: size name "a" is used twice/,
      /^jupyterhub:sizes\[2\]\.groups\[0\]: "nobody" is not one of the groups \(team\)/,
      /^jupyterhub:sizes\[2\]\.images\[0\]: "nothing" is not one of the images \(minimal, isis\)/,
    ])
      assert.ok(
        problems.some((p) => expected.test(p)),
        `${expected} in:\n${problems.join("\n")}`,
      );
  });

  it("refuses a default size a default user cannot use", () => {
    const groups = [{ name: "team" }];
    refused({ groups, sizes: [{ name: "big", groups: ["team"] }] }, "jupyterhub:sizes", /no size is open to everyone/);
    refused(
      { groups, sizes: [{ name: "small" }, { name: "big", groups: ["team"] }], defaultSize: "big" },
      "jupyterhub:defaultSize",
      /open to team only: the default size must be open to everyone/,
    );
    refused(
      { images, sizes: [{ name: "isis-only", images: ["isis"] }] },
      "jupyterhub:defaultSize",
      /does not apply to the default image "minimal"/,
    );
    refused({ sizes: [{ name: "small" }], defaultSize: "huge" }, "jupyterhub:defaultSize", /"huge" is not one of the sizes \(small\)/);
    refused({ defaultSize: "small" }, "jupyterhub:defaultSize", /there are no sizes/);
  });

  it("refuses sizes over the memory budget, and sizes without a memory limit under a budget", () => {
    refused(
      { ...example, spawner: { memoryBudget: "16G" } },
      "jupyterhub:sizes[2].memLimit",
      /24G is more than the whole spawner.memoryBudget \(16G\)/,
    );
    refused({ sizes: [{ name: "open" }], spawner: { memoryBudget: "16G" } }, "jupyterhub:sizes[0].memLimit", /give this size a memLimit/);
    refused({ spawner: { memoryBudget: "16G" } }, "jupyterhub:spawner.memLimit", /give spawner.memLimit/);
    refused({ spawner: { memoryBudget: "16" } }, "jupyterhub:spawner.memoryBudget", /has no unit/);
    refused({ sizes: [{ name: "x", memLimit: "2g" }] }, "jupyterhub:sizes[0].memLimit", /write "2G"/);
    assert.equal(parseConfig({ spawner: { memoryBudget: "16G", memLimit: "2G" } }).spawner.memoryBudget, "16G");
  });

  it("refuses GPUs and shared-memory sizes in swarm mode", () => {
    const swarm = {
      engine: { mode: "swarm" },
      spawner: { workVolume: { source: { type: "nfs", server: "10.0.0.5", export: "/homes/{username}" } } },
    };
    const problems = problemsOf({ ...swarm, sizes: [{ name: "gpu", gpus: {}, shmSize: "1G" }] });
    assert.ok(
      problems.some((p) => /^jupyterhub:sizes\[0\]\.gpus: Swarm services cannot request devices/.test(p)),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => /^jupyterhub:sizes\[0\]\.shmSize: Swarm services take no shared-memory size/.test(p)),
      problems.join("\n"),
    );
  });

  it("refuses member names that do not match the providers", () => {
    refused(
      { groups: [{ name: "t", members: ["github:ada"] }] },
      "jupyterhub:groups[0].members[0]",
      /with one auth provider hub user names have no prefix: write "ada"/,
    );
    refused({ groups: [{ name: "t", members: ["Ada"] }] }, "jupyterhub:groups[0].members[0]", /members are hub user names/);
    refused({ groups: [{ name: "t", members: ["ada", "ada"] }] }, "jupyterhub:groups[0].members", /"ada" is listed twice/);
  });

  it("names the providers' groups in sizes when a provider manages groups, and refuses config groups then", () => {
    const auth = {
      providers: ["github", "gitlab"],
      github: { clientId: "id", allowAll: true, manageGroups: true },
      gitlab: { clientId: "id", allowAll: true, manageGroups: true },
    };
    const secrets = { githubClientSecret: "s", gitlabClientSecret: "s" };
    const sizes = [{ name: "small" }, { name: "team", groups: ["planetary-lab:imaging", "gmap/science"] }];
    assert.deepEqual(parseConfig({ auth, ...secrets, sizes }).sizes[1]!.groups, ["planetary-lab:imaging", "gmap/science"]);
    refused(
      { auth, ...secrets, sizes, groups: [{ name: "team", members: ["github:ada"] }] },
      "jupyterhub:groups",
      /auth.github.manageGroups or auth.gitlab.manageGroups the sign-in provider gives every user's groups: declare no groups/,
    );
    const githubOnly = { ...auth, providers: ["github"], gitlab: undefined };
    refused(
      { auth: githubOnly, githubClientSecret: "s", sizes: [{ name: "small" }, { name: "x", groups: ["gmap/science"] }] },
      "jupyterhub:sizes[1].groups[0]",
      /"gmap\/science" is no group name github gives \(GitHub: org:team-slug/,
    );
    refused({ sizes: [{ name: "small" }, { name: "x", groups: ["Team"] }] }, "jupyterhub:sizes[1].groups[0]", /group names are lower-case/);
  });

  it("refuses native group members when anyone may sign up", () => {
    refused(
      { auth: { native: { openSignup: true } }, groups: [{ name: "t", members: ["ada"] }] },
      "jupyterhub:groups[0].members[0]",
      /anyone could sign up as "ada"/,
    );
    assert.equal(parseConfig({ groups: [{ name: "t", members: ["ada"] }] }).groups[0]!.members[0], "ada");
  });

  it("refuses a negative server limit", () => {
    refused({ spawner: { maxServers: -1 } }, "jupyterhub:spawner.maxServers", /./);
  });
});

describe("the worked examples of README.md and docs/sizes.md", () => {
  it("are valid stack configs", () => {
    for (const file of ["README.md", "docs/sizes.md"]) {
      const text = fs.readFileSync(path.join(__dirname, "..", "..", file), "utf8");
      const block = /```yaml\n((?:(?!```)[\s\S])*jupyterhub:sizes:(?:(?!```)[\s\S])*)```/.exec(text)?.[1];
      assert.ok(block, `${file} has the worked example`);
      const parsed = YAML.parse(block.includes("config:") ? block : `config:\n${block}`) as { config: Record<string, unknown> };
      const config = Object.fromEntries(Object.entries(parsed.config).map(([k, v]) => [k.replace(/^jupyterhub:/, ""), v]));
      const images = config.images ?? [
        { name: "gispy", displayName: "GISPy", image: "gmap/jupyter-gispy:2025.1" },
        { name: "isis", displayName: "ISIS", image: "gmap/jupyter-isis-asp:2025.1" },
      ];
      const valid = parseConfig({ ...config, images });
      assert.equal(valid.sizes.length, 2, file);
      assert.equal(valid.spawner.memoryBudget, "56G", file);
    }
  });
});
