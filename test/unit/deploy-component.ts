/**
 * Deploys the JupyterHub component under the Pulumi mocks (import after installMocks) and records
 * the resource options a transformation sees (mocks do not receive options).
 */
import type * as pulumi from "@pulumi/pulumi";
import { parseConfig, type StackConfigInput } from "../../components/config";
import { JupyterHub } from "../../components/jupyterhub";
import { settle, valueOf } from "./mocks";

/** Resource options seen by a transformation on the component (mocks do not receive options), by type::name. */
export const options: Record<string, pulumi.CustomResourceOptions> = {};
export const optionsOf = (r: { type: string; name: string }) => options[`${r.type}::${r.name}`];

export async function deploy(name: string, input: StackConfigInput, hookFiles = {}) {
  const hub = new JupyterHub(
    name,
    { config: parseConfig(input as Record<string, unknown>), hookFiles, stack: "unit", hubContext: "hub-config" },
    {
      transformations: [
        (a) => {
          options[`${a.type}::${a.name}`] = a.opts as pulumi.CustomResourceOptions;
          return undefined;
        },
      ],
    },
  );
  await valueOf(hub.hubContainer);
  await settle();
  return hub;
}
