/** Removal of a test stack with everything it left on the engine, for a scenario's `before` and `after` and for deploy.ts. */
import { labelKeys } from "../../components/names";
import { docker } from "./engine";
import { destroy, pulumi } from "./pulumi";
import { prefix } from "./stack";

/**
 * Removes a test stack: `pulumi destroy`, then the stack from the backend, then whatever still
 * carries the stack's prefix label (objects of an interrupted run whose state is gone, containers
 * stopped before they are removed; the volumes the stack retained, the user volumes its hub
 * created). Returns the problems met.
 */
export async function removeStack(name: string): Promise<string[]> {
  const problems: string[] = [];
  const list = await pulumi(["stack", "ls", "--json"]);
  const known =
    list.code === 0 && (JSON.parse(list.stdout) as { name: string }[]).some((s) => s.name === name || s.name.endsWith(`/${name}`));
  if (known) {
    const d = await destroy({ stack: name });
    if (d.code !== 0) problems.push(`pulumi destroy ${name}: ${(d.stdout + d.stderr).slice(-3000)}`);
    const rm = await pulumi(["stack", "rm", "--yes", "--force", "--preserve-config", "--stack", name]);
    if (rm.code !== 0) problems.push(`pulumi stack rm ${name}: ${rm.stderr}`);
  }
  const ours = { filters: { label: [`${labelKeys.prefix}=${prefix(name)}`] } };
  const attempt = async (what: string, f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  // stopped first, as `pulumi destroy` does, so that the egress guard removes its firewall rules
  for (const c of await docker.listContainers({ all: true, ...ours })) {
    await attempt(`container ${c.Names[0]}`, async () => {
      await docker
        .getContainer(c.Id)
        .stop({ t: 10 })
        .catch(() => undefined);
      await docker.getContainer(c.Id).remove({ force: true });
    });
  }
  for (const n of await docker.listNetworks(ours)) await attempt(`network ${n.Name}`, () => docker.getNetwork(n.Id).remove());
  for (const v of (await docker.listVolumes(ours)).Volumes ?? [])
    await attempt(`volume ${v.Name}`, () => docker.getVolume(v.Name).remove());
  return problems;
}
