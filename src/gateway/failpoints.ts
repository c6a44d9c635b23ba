/**
 * Failpoints: the gateway's deliberate defects, switched on only as negative controls (`TRAFFIC_COP_DEFECTS`), in
 * the manner of etcd's gofail and FreeBSD's fail(9). This file is the one list of them: each entry names the
 * failpoint, the promise it breaks and the unit where it acts. Production code never tests for a defect by itself;
 * it asks the {@link Failpoints} policy it was given, whose default ({@link NO_FAILPOINTS}) switches nothing on.
 */

/** Faults the gateway can be told to commit on purpose (`TRAFFIC_COP_DEFECTS`), for the harness's negative controls only. */
export type GatewayDefect =
  | "no-unregister"
  | "no-resume"
  | "no-tenant-check"
  | "drop-remote"
  | "no-heartbeat"
  | "drop-remote-1pct"
  | "echo-sender"
  | "ignore-nbf"
  | "ready-lies"
  | "no-fail-fast"
  | "welcome-before-write"
  | "no-tenant-check-ws-id"
  | "no-tenant-check-http-lookup"
  | "no-drain-notice"
  | "resume-new-id-after-expiry"
  | "pinned-primary"
  | "wall-clock-expiry"
  | "no-half-open-detect"
  | "unbounded-send-buffer";

/** One failpoint of the catalogue. */
export interface FailpointSpec {
  /** The name in `TRAFFIC_COP_DEFECTS`. */
  readonly name: GatewayDefect;
  /** What the gateway does wrong while it is on: the text of docs/protocol.md's "Negative controls" table. */
  readonly behaviour: string;
  /** The file under src/gateway whose unit asks for it (the only one). */
  readonly file: string;
  /** Where in that unit it acts, and what it changes there. */
  readonly actsIn: string;
  /** The harness check that must fail against it. */
  readonly mustFail: string;
}

/** Every failpoint, in documentation order. */
export const FAILPOINTS: readonly FailpointSpec[] = Object.freeze([
  {
    name: "no-unregister",
    behaviour: "never removes a record when its socket closes (or drains)",
    file: "registry-writer.ts",
    actsIn: "RegistryWriter.unregister: the removal is skipped",
    mustFail: "no-ghosts",
  },
  {
    name: "no-resume",
    behaviour: "ignores `websocket_id` and always issues a new id (`resumed:false`)",
    file: "upgrade-handler.ts",
    actsIn: "UpgradeHandler, before the resume: a resume request is treated as a new connection",
    mustFail: "restart-survival",
  },
  {
    name: "no-tenant-check",
    behaviour: "lookups and routes read the data's own tenant instead of the caller's (connect is still checked)",
    file: "router.ts",
    actsIn: "Router.lookupTenant, Router.findConnection, Router.lookupSessionConnections and the local target match of Router.route",
    mustFail: "tenant-isolation",
  },
  {
    name: "drop-remote",
    behaviour: "acknowledges routes to other instances as delivered but never sends them",
    file: "router.ts",
    actsIn: "Router's remote delivery: nothing is published, every target counts as delivered",
    mustFail: "delivery, cross-instance-lookup",
  },
  {
    name: "no-heartbeat",
    behaviour: "never refreshes record TTLs (pings, liveness and reaping go on)",
    file: "record-refresher.ts",
    actsIn: "RecordRefresher.tick and RecordRefresher.reconcile: no registry refresh",
    mustFail: "ttl-expiry",
  },
  {
    name: "drop-remote-1pct",
    behaviour: "silently drops about 1% of the routes it sends to other instances (a hash of the route id and holder picks them), counting their targets as delivered",
    file: "router.ts",
    actsIn: "Router's remote delivery: for the picked routes nothing is published, every target counts as delivered",
    mustFail: "delivery",
  },
  {
    name: "echo-sender",
    behaviour: "also delivers a WebSocket route back to the sender's own socket (and counts it)",
    file: "router.ts",
    actsIn: "Router.route: the sender's socket is added to the targets",
    mustFail: "delivery",
  },
  {
    name: "ignore-nbf",
    behaviour: "accepts tokens whose `nbf` lies in the future, at the upgrade and on the HTTP API",
    file: "gateway-server.ts",
    actsIn: "GatewayServer: the upgrade handler and the HTTP API are told to skip the `nbf` check of verifyJwt",
    mustFail: "gateway-protocol test (not-yet-valid tokens)",
  },
  {
    name: "ready-lies",
    behaviour: "`/readyz` answers 200 while Redis is unreachable (readiness ignores Redis)",
    file: "gateway-server.ts",
    actsIn: "GatewayServer.ready and the readiness the HTTP API reports: only the lifecycle state counts",
    mustFail: "protocol-conformance (readyz-reflects-redis)",
  },
  {
    name: "no-fail-fast",
    behaviour: "lookups and routes wait for Redis to come back (retrying every 100 ms for up to 30 s) instead of failing fast with `REGISTRY_UNAVAILABLE`",
    file: "router.ts",
    actsIn: "Router: every registry read of a lookup or route is retried while it fails with REGISTRY_UNAVAILABLE",
    mustFail: "protocol-conformance (registry-unavailable-fails-fast)",
  },
  {
    name: "welcome-before-write",
    behaviour: "sends the welcome before the registry write is confirmed, and writes the record 250 ms later (a write-behind)",
    file: "upgrade-handler.ts",
    actsIn: "UpgradeHandler, a new connection: the record is written in the background after a delay, the welcome goes at once",
    mustFail: "protocol-conformance (welcome-after-write)",
  },
  {
    name: "no-tenant-check-ws-id",
    behaviour: "a WebSocket route to a `websocket_id` reads the data's own tenant instead of the sender's (every other form is checked)",
    file: "router.ts",
    actsIn: "Router.route, `{websocket_id}` target with a WebSocket sender: local match and registry read ignore the sender's tenant",
    mustFail: "protocol-conformance (tenant-isolation), tenant-isolation",
  },
  {
    name: "no-tenant-check-http-lookup",
    behaviour: "the HTTP lookups (by `websocket_id` and by session) read the data's own tenant instead of the caller's (routes, state, connect are checked)",
    file: "router.ts",
    actsIn: "Router.findConnection and Router.lookupSessionConnections (the HTTP API's lookups only)",
    mustFail: "protocol-conformance (tenant-isolation), tenant-isolation",
  },
  {
    name: "no-drain-notice",
    behaviour: "a drain closes its sockets with 1012 without sending the reconnect notice first",
    file: "drain.ts",
    actsIn: "announceDrain: no `reconnect` frame is sent; the wait and the 1012 close go on",
    mustFail: "protocol-conformance (drain-notice)",
  },
  {
    name: "resume-new-id-after-expiry",
    behaviour: "a resume whose old record has expired or was removed (reaped, closed) gets a new `websocket_id` instead of keeping its own",
    file: "upgrade-handler.ts",
    actsIn: "UpgradeHandler, a resume: when the old record is missing the connection is registered as new",
    mustFail: "protocol-conformance (resume-keeps-id)",
  },
  {
    name: "pinned-primary",
    behaviour: "ignores `REDIS_SENTINELS` and stays on the node of `REDIS_URL` (the first primary), so it never follows a failover",
    file: "backend.ts",
    actsIn: "createGatewayBackend: the Redis clients are built without the sentinels",
    mustFail: "convergence (scenario sentinel)",
  },
  {
    name: "wall-clock-expiry",
    behaviour: "judges expiry by the instance's own wall clock (record `expires_at`, index scores, liveness deadlines) instead of Redis's",
    file: "backend.ts",
    actsIn: "createGatewayBackend: the registry and the bus get `Date.now` as their clock instead of the Redis-anchored RedisTimeClock",
    mustFail: "clock-skew",
  },
  {
    name: "no-half-open-detect",
    behaviour: "never terminates a socket that missed its pong (pings and TTL refreshes go on)",
    file: "record-refresher.ts",
    actsIn: "RecordRefresher.tick: a socket that did not answer the last ping is pinged again instead of terminated",
    mustFail: "half-open-cleanup",
  },
  {
    name: "unbounded-send-buffer",
    behaviour: "never sheds a slow consumer: frames for a socket that stopped reading are buffered without bound",
    file: "gateway-server.ts",
    actsIn: "GatewayServer: the connection table's send limits are built with `unbounded: true`, so sendFrame never sheds",
    mustFail: "slow-consumer",
  },
] satisfies FailpointSpec[]);

/** Every defect the gateway knows, in documentation order. */
export const GATEWAY_DEFECTS: readonly GatewayDefect[] = Object.freeze(FAILPOINTS.map((failpoint) => failpoint.name));

/** The policy production code asks: is this failpoint switched on? */
export interface Failpoints {
  /** Whether the named failpoint is on. Cheap enough for hot paths (one set lookup). */
  enabled(name: GatewayDefect): boolean;
}

/** The default policy: every failpoint off. */
export const NO_FAILPOINTS: Failpoints = Object.freeze({ enabled: () => false });

/**
 * Builds the policy that switches on exactly `defects` (already validated by `resolveGatewayOptions`, which
 * refuses unknown names). An empty list gives {@link NO_FAILPOINTS}.
 */
export function createFailpoints(defects: Iterable<GatewayDefect>): Failpoints {
  const on = new Set(defects);
  if (on.size === 0) return NO_FAILPOINTS;
  for (const name of on) {
    if (!GATEWAY_DEFECTS.includes(name)) throw new TypeError(`unknown failpoint ${JSON.stringify(name)}; known: ${GATEWAY_DEFECTS.join(", ")}`);
  }
  return Object.freeze({ enabled: (name: GatewayDefect) => on.has(name) });
}
