/**
 * The users a benchmark makes on a running hub: native accounts signed up through the form and
 * authorized by the admin (as a person and an admin would), and their removal at the end (servers
 * stopped, users deleted through the API, their volumes removed).
 */
import { escapeUserName } from "../components/identity";
import { docker } from "../test/e2e/engine";
import { BrowserSession } from "../test/e2e/browser-session";
import { type HubApi } from "../test/e2e/hub-api";
import { type HubStack } from "./hub-stack";

/** Signs up native accounts with `password` through the sign-up form and has the admin session authorize them, `parallel` at a time. */
export async function signUpAuthorized(users: readonly string[], password: string, admin: BrowserSession, parallel = 4): Promise<void> {
  for (let i = 0; i < users.length; i += parallel) {
    await Promise.all(
      users.slice(i, i + parallel).map(async (user) => {
        const page = await new BrowserSession(admin.env).signUp(user, password);
        if (page.status !== 200) throw new Error(`sign-up of ${user}: HTTP ${page.status}`);
        await admin.authorize(user);
      }),
    );
  }
}

/** Whether a volume of the stack holds one of `users`' data (`<prefix>-...-<escaped user>`). */
export function isUserVolume(stack: HubStack, users: readonly string[], volume: string): boolean {
  return volume.startsWith(`${stack.prefix}-`) && users.some((u) => volume.endsWith(`-${escapeUserName(u)}`));
}

/** Stops the users' servers, deletes the users and removes their volumes (each step bounded by the API's limits). */
export async function removeUsers(api: HubApi, stack: HubStack, users: readonly string[]): Promise<void> {
  for (let i = 0; i < users.length; i += 10) await Promise.allSettled(users.slice(i, i + 10).map((u) => api.stopServer(u, 120_000, 250)));
  for (const u of users) await api.hub(`/users/${encodeURIComponent(u)}`, { method: "DELETE" }, [204, 404]).catch(() => undefined);
  const volumes = (await docker.listVolumes({ filters: { name: [stack.prefix] } })).Volumes ?? [];
  for (const v of volumes.filter((v) => isUserVolume(stack, users, v.Name)))
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
}
