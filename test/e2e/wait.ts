/** Bounded waits of the end-to-end scenarios: polling a check, and a hub's API answering. */

/** Polls `check` until it returns a value other than undefined, at most `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 120_000, everyMs = 1000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; Date.now() < deadline && attempt < 10_000; attempt++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}

/** Waits (bounded) until the hub answers 200 on /hub/api. */
export async function waitForHub(url: string, seconds = 180): Promise<void> {
  const api = `${url}/hub/api`;
  let last = "no answer";
  for (let i = 0; i < seconds * 2; i++) {
    try {
      const res = await fetch(api, { signal: AbortSignal.timeout(5000), redirect: "manual" });
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${api} did not answer 200 within ${seconds}s (last: ${last})`);
}
