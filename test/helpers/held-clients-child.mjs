/**
 * The child process of held-clients.ts: opens WebSocket clients when asked and holds them, answering the gateways'
 * pings (ws does; unless asked not to), until its parent goes. It does nothing else, so no work of the test process
 * delays a pong.
 *
 * In: `{ type: "connect", request, urls, autoPong }` (`autoPong: false`: clients that never answer a ping), answered
 * `{ type: "connected", request, ids }` (websocket ids from the welcomes, in the order of `urls`) or
 * `{ type: "failed", request, error }`; `{ type: "closed", request }`, answered
 * `{ type: "closed", request, closed: [{ websocket_id, code, t }] }`: every held client that closed so far;
 * `{ type: "pings", request }`, answered `{ type: "pings", request, pings }`: `[websocket_id, times]` per held
 * client, the times (`performance.now()` of this process, ms) at which its pings arrived, taken here so that a
 * stall of the test process does not bunch them.
 */
import { WebSocket } from "ws";

/** An open that has not been welcomed within this long fails (the same bound as wire-client.ts's welcome wait). */
const WELCOME_TIMEOUT_MS = 10_000;

const closed = [];
/** websocket id -> the arrival times of its pings. */
const pings = new Map();

function open(url, autoPong) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, handshakeTimeout: WELCOME_TIMEOUT_MS, autoPong });
    let id;
    const timer = setTimeout(() => {
      reject(new Error(`no welcome from ${url} within ${WELCOME_TIMEOUT_MS} ms`));
      ws.terminate();
    }, WELCOME_TIMEOUT_MS);
    ws.on("error", (error) => {
      clearTimeout(timer);
      if (id === undefined) reject(error);
    });
    ws.once("message", (data) => {
      clearTimeout(timer);
      const text = String(data);
      let frame;
      try {
        frame = JSON.parse(text);
      } catch {
        frame = undefined;
      }
      if (frame?.type !== "welcome" || typeof frame.websocket_id !== "string") {
        reject(new Error(`the first frame from ${url} is not a welcome: ${text.slice(0, 200)}`));
        ws.terminate();
        return;
      }
      id = frame.websocket_id;
      const times = [];
      ws.on("ping", () => times.push(performance.now()));
      pings.set(id, times);
      resolve(id);
    });
    ws.on("close", (code) => {
      clearTimeout(timer);
      if (id === undefined) reject(new Error(`${url} closed with ${code} before its welcome`));
      else closed.push({ websocket_id: id, code, t: Date.now() });
    });
  });
}

process.on("message", (message) => {
  if (message.type === "connect") {
    Promise.all(message.urls.map((url) => open(url, message.autoPong))).then(
      (ids) => process.send({ type: "connected", request: message.request, ids }),
      (error) => process.send({ type: "failed", request: message.request, error: String(error?.message ?? error) }),
    );
  } else if (message.type === "closed") {
    process.send({ type: "closed", request: message.request, closed });
  } else if (message.type === "pings") {
    process.send({ type: "pings", request: message.request, pings: [...pings] });
  }
});
// The test process went (finished, crashed or killed): so do its clients.
process.on("disconnect", () => process.exit(0));
process.send({ type: "ready" });
