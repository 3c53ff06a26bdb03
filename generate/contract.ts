/**
 * Writes the generated side of the hub contract (components/contract.ts):
 *
 *   npm run contract
 *
 * - the JSON Schemas of settings.json and secrets.json into hub-config/gmap_hub/, where the hub
 *   validates its files against them at start;
 * - golden files test/fixtures/settings/<stack>.json: the settings and secrets (generated secrets
 *   replaced by fixed test values) each example stack file gives the hub, which the Python tests
 *   load through JupyterHub's real config loader. A change on either side fails a test.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { kindOf, loadConfig, projectFiles, withoutSecrets, type PublicConfig, type StorageSource } from "../components/config";
import { contractJsonSchemas } from "../components/contract";
import { shareMounts } from "../components/mounts";
import { oauthProviders } from "../components/providers";
import { clientSecretKey } from "../components/providers/provider";
import { hookPath, hubSecrets, hubSettings, stableJson } from "../components/settings";
import { readStackFile, secretPlaceholder } from "../ops/stack-file";

const root = path.join(__dirname, "..");
/** Where the schemas go. */
export const schemaDir = path.join(root, "hub-config", "gmap_hub");
/** Where the golden settings go. */
export const goldenDir = path.join(root, "test", "fixtures", "settings");
/** The version of every share's options in the golden settings (a deployment draws them at random). */
export function goldenShareVersions(config: PublicConfig): Record<string, string> {
  return Object.fromEntries(shareMounts(config).map((mount) => [mount, "5e7a1b0c"]));
}

/** The example stacks with golden settings. */
/** Every example stack of the project (Pulumi.<stack>.yaml). */
export const goldenStacks = fs
  .readdirSync(root)
  .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
  .filter((s): s is string => !!s)
  .sort();

/** What a stack file gives the hub: settings.json, secrets.json and where its hook files come from. */
export function golden(stack: string) {
  // the secrets an operator sets: test values (encrypted ones and those the example leaves unset)
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(readStackFile(root, stack).config)) {
    config[k] = v === secretPlaceholder ? `test-${k.split(":")[1]}` : v.replaceAll(JSON.stringify(secretPlaceholder), '"test-secret"');
  }
  for (const p of oauthProviders) config[`jupyterhub:${clientSecretKey(p)}`] ??= `test-${clientSecretKey(p)}`;
  const withCredentials = (JSON.parse(config["jupyterhub:storage"] ?? "[]") as { name: string; source: StorageSource }[]).filter(
    (m) => kindOf(m.source).credentials !== undefined,
  );
  config["jupyterhub:shareCredentials"] ??= JSON.stringify(
    Object.fromEntries(withCredentials.map((m) => [m.name, { username: "gmap", password: "test-secret" }])),
  );
  // every secret key here stands for an encrypted value of the stack file (a test value in its place)
  const loaded = loadConfig(config, projectFiles(root), () => true);
  const publicConfig = withoutSecrets(loaded.config);
  const admins = loaded.config.auth.providers.includes("native") ? loaded.config.auth.admins : [];
  const generated = {
    cookieSecret: "0123456789abcdef".repeat(4),
    proxyAuthToken: "test-proxy-token",
    cullerToken: "test-culler-token",
    serviceTokens: Object.fromEntries(loaded.config.services.map((s) => [s.name, `test-token-${s.name}`])),
    // bcrypt of "test-admin-password" (cost 4), as RandomPassword.bcryptHash writes it
    adminPasswordHashes: Object.fromEntries(admins.map((a) => [a, "$2a$04$zB/1eBu/00VkV2EQvO1RQOrj/isz4x896jqx8NRIfdt7tAcEfOSda"])),
    databasePassword: "test-database-password",
    monitoringTokens: { prometheus: "test-prometheus-token", exporter: "test-exporter-token" },
  };
  const hooks = loaded.config.hooks;
  return {
    settings: hubSettings(publicConfig, stack, loaded.hookFiles, goldenShareVersions(publicConfig)),
    secrets: hubSecrets(loaded.config, generated),
    // hook files as the hub container gets them, by path in the container -> file of the project
    hookSources: Object.fromEntries(
      (["postAuth", "preSpawn"] as const).filter((k) => hooks[k] !== undefined).map((k) => [hookPath(k), hooks[k]!]),
    ),
  };
}

/** The files as they must be, by path. */
export function contractFiles(): Record<string, string> {
  return {
    ...Object.fromEntries(Object.entries(contractJsonSchemas()).map(([file, schema]) => [path.join(schemaDir, file), stableJson(schema)])),
    ...Object.fromEntries(goldenStacks.map((stack) => [path.join(goldenDir, `${stack}.json`), stableJson(golden(stack))])),
  };
}

if (require.main === module) {
  fs.mkdirSync(goldenDir, { recursive: true });
  for (const [file, text] of Object.entries(contractFiles())) {
    fs.writeFileSync(file, text);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
  }
}
