/** Code run in a Jupyter kernel of a user's server, over the kernel's websocket channels (Jupyter messaging 5.3). */
import WebSocket from "ws";
import { fixedLookup, type HubEnv } from "./hub-env";
import { userUrlName } from "./user-names";

/** Sends `code` to the kernel `kernelId` of `name`'s server and resolves with what it printed on stdout. */
export function executeInKernel(env: HubEnv, name: string, kernelId: string, code: string, timeoutMs: number): Promise<string> {
  const wsUrl = `${env.url.replace(/^http/, "ws")}/user/${userUrlName(name)}/api/kernels/${kernelId}/channels`;
  const msgId = `e2e-${Date.now()}-${Math.random()}`;
  return new Promise((resolve, reject) => {
    const connect = env.connect;
    const ws = new WebSocket(wsUrl, {
      headers: { Authorization: `token ${env.token}` },
      ...(connect ? { ca: connect.ca, lookup: fixedLookup(connect.address) as never } : {}),
    });
    let stdout = "";
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`kernel execution timed out after ${timeoutMs} ms; output so far: ${stdout}`));
    }, timeoutMs);
    const done = (err?: Error) => {
      clearTimeout(timer);
      ws.close();
      if (err) reject(err);
      else resolve(stdout);
    };
    ws.on("error", (e) => done(e));
    ws.on("open", () => {
      ws.send(
        JSON.stringify({
          header: {
            msg_id: msgId,
            username: name,
            session: msgId,
            msg_type: "execute_request",
            version: "5.3",
            date: new Date().toISOString(),
          },
          parent_header: {},
          metadata: {},
          content: { code, silent: false, store_history: false, user_expressions: {}, allow_stdin: false, stop_on_error: true },
          channel: "shell",
          buffers: [],
        }),
      );
    });
    ws.on("message", (data) => {
      const msg = JSON.parse(data.toString());
      if (msg.parent_header?.msg_id !== msgId) return;
      if (msg.msg_type === "stream" && msg.content.name === "stdout") stdout += msg.content.text;
      if (msg.msg_type === "error") done(new Error(`${msg.content.ename}: ${msg.content.evalue}`));
      if (msg.msg_type === "execute_reply" && msg.content.status === "ok") {
        // stream messages arrive on iopub before the status goes idle; give them a moment
        setTimeout(() => done(), 300);
      }
    });
  });
}
