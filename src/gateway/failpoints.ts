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
  | "refuse-future-iat"
  | "accept-expired"
  | "accept-alg-none"
  | "no-session-pin"
  | "close-on-bad-frame"
  | "silent-rate-limit"
  | "no-half-open-detect"
  | "unbounded-send-buffer"
  | "dup-remote"
  | "ack-overcount"
  | "no-reconcile"
  | "no-tenant-check-session-state"
  | "no-reap"
  | "reap-without-grace"
  | "filter-one-field"
  | "no-unregister-on-terminate"
  | "keys-no-ttl"
  | "stale-index"
  | "no-rewake-reregister"
  | "short-pong-deadline"
  | "drop-sockets-on-redis-down"
  | "no-link-watchdog"
  | "gauge-counts-opens"
  | "uncounted-remote-routes"
  | "registrations-count-refusals";

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
  /**
   * The scenarios that catch it, cheapest and most certain first: `npm run gate` runs them in this order and stops at
   * the first that fails. Empty when no scenario can see it (a test elsewhere catches it; the gate reports it as
   * escaped). Scenarios named here but missing from scenarios/ are skipped; every other scenario follows.
   */
  readonly caughtBy: readonly string[];
}

/** Every failpoint, in documentation order. */
export const FAILPOINTS: readonly FailpointSpec[] = Object.freeze([
  {
    name: "no-unregister",
    behaviour: "never removes a record when its socket closes (or drains)",
    file: "registry-writer.ts",
    actsIn: "RegistryWriter.unregister: the removal is skipped",
    mustFail: "no-ghosts",
    caughtBy: ["flood", "lookup"],
  },
  {
    name: "no-resume",
    behaviour: "ignores `websocket_id` and always issues a new id (`resumed:false`)",
    file: "upgrade-handler.ts",
    actsIn: "UpgradeHandler, before the resume: a resume request is treated as a new connection",
    mustFail: "restart-survival",
    caughtBy: ["deploy", "restart"],
  },
  {
    name: "no-tenant-check",
    behaviour: "lookups and routes read the data's own tenant instead of the caller's (connect is still checked)",
    file: "router.ts",
    actsIn: "Router.lookupTenant, Router.findConnection, Router.lookupSessionConnections and the local target match of Router.route",
    mustFail: "tenant-isolation",
    caughtBy: ["tenants"],
  },
  {
    name: "drop-remote",
    behaviour: "acknowledges routes to other instances as delivered but never sends them",
    file: "router.ts",
    actsIn: "Router's remote delivery: nothing is published, every target counts as delivered",
    mustFail: "delivery, cross-instance-lookup",
    caughtBy: ["lookup", "tenants"],
  },
  {
    name: "no-heartbeat",
    behaviour: "never refreshes record TTLs (pings, liveness and reaping go on)",
    file: "record-refresher.ts",
    actsIn: "RecordRefresher.tick and RecordRefresher.reconcile: no registry refresh",
    mustFail: "ttl-expiry",
    caughtBy: ["ttl", "redis-restart"],
  },
  {
    name: "drop-remote-1pct",
    behaviour: "silently drops about 1% of the routes it sends to other instances (a hash of the route id and holder picks them), counting their targets as delivered",
    file: "router.ts",
    actsIn: "Router's remote delivery: for the picked routes nothing is published, every target counts as delivered",
    mustFail: "delivery",
    caughtBy: ["lookup", "deploy"],
  },
  {
    name: "echo-sender",
    behaviour: "also delivers a WebSocket route back to the sender's own socket (and counts it)",
    file: "router.ts",
    actsIn: "Router.route: the sender's socket is added to the targets",
    mustFail: "delivery",
    caughtBy: ["tenants", "lookup"],
  },
  {
    name: "ignore-nbf",
    behaviour: "accepts tokens whose `nbf` lies in the future, at the upgrade and on the HTTP API",
    file: "gateway-server.ts",
    actsIn: "GatewayServer: the upgrade handler and the HTTP API are told to skip the `nbf` check of verifyJwt",
    mustFail: "protocol-conformance (nbf-refused)",
    caughtBy: ["tenants"],
  },
  {
    name: "dup-remote",
    behaviour: "delivers about 1 in 20 routes it receives from other instances twice (a hash of the request id picks them), counting them once",
    file: "router.ts",
    actsIn: "Router's answer to a deliver request: the picked frames are sent to the local sockets a second time",
    mustFail: "delivery (duplicates)",
    caughtBy: ["lookup", "tenants"],
  },
  {
    name: "ack-overcount",
    behaviour: "counts the sender among the recipients when it matches its own session route's filter (it is still not sent the frame)",
    file: "router.ts",
    actsIn: "Router.route: `delivered` starts at the number of targets the sender filter removed",
    mustFail: "delivery (ack mismatches)",
    caughtBy: ["lookup", "tenants"],
  },
  {
    name: "no-reconcile",
    behaviour: "never re-registers its live connections whose records went missing (after a Redis restart or a partition), though it refreshes the TTLs of the others",
    file: "record-refresher.ts",
    actsIn: "RecordRefresher.reconcile resolves 0 at once, and the heartbeat leaves the records reported missing missing",
    mustFail: "no-ghosts, cross-instance-lookup",
    caughtBy: ["redis-restart"],
  },
  {
    name: "no-tenant-check-session-state",
    behaviour: "HTTP session state reads (`GET /v1/sessions/{S}/state`) return the session's state whatever the caller's tenant (writes, lookups and routes are still checked)",
    file: "http-api.ts",
    actsIn: "the HTTP API's `state` GET reads as the session's own tenant instead of the caller's",
    mustFail: "tenant-isolation",
    caughtBy: ["tenants"],
  },
  {
    name: "no-reap",
    behaviour: "never reaps the records of dead instances (its liveness key is still kept): they stay until their TTL",
    file: "reaper.ts",
    actsIn: "Reaper.tick: after the liveness refresh, no dead instance is claimed or reaped",
    mustFail: "ttl-expiry (killed instance's records outlive L + 2S + H)",
    caughtBy: ["ttl"],
  },
  {
    name: "reap-without-grace",
    behaviour: "reaps as soon as it has Redis again, without first having had it for L (after its start, a reconnect or a failed liveness refresh): an instance whose liveness lapsed while every instance was cut off is reaped by the first ones back",
    file: "reaper.ts",
    actsIn: "Reaper.reapDead: the wait of L since the reaper last (re)gained Redis is skipped",
    mustFail: "degraded-mode (records reaped after an outage every instance met)",
    caughtBy: ["partition"],
  },
  {
    name: "filter-one-field",
    behaviour: "matches a session route whose `to` names both `agent_type` and `pillar` on `agent_type` alone (also delivering to clients of another pillar)",
    file: "router.ts",
    actsIn: "Router.route: the session's connections are filtered by `agent_type` only",
    mustFail: "delivery (unexpected recipients)",
    caughtBy: ["lookup"],
  },
  {
    name: "ready-lies",
    behaviour: "`/readyz` answers 200 while Redis is unreachable (readiness ignores Redis)",
    file: "gateway-server.ts",
    actsIn: "GatewayServer.ready and the readiness the HTTP API reports: only the lifecycle state counts",
    mustFail: "protocol-conformance (readyz-reflects-redis)",
    caughtBy: ["partition"],
  },
  {
    name: "no-fail-fast",
    behaviour: "lookups and routes wait for Redis to come back (retrying every 100 ms for up to 30 s) instead of failing fast with `REGISTRY_UNAVAILABLE`",
    file: "router.ts",
    actsIn: "Router: every registry read of a lookup or route is retried while it fails with REGISTRY_UNAVAILABLE",
    mustFail: "protocol-conformance (registry-unavailable-fails-fast)",
    caughtBy: ["partition"],
  },
  {
    name: "welcome-before-write",
    behaviour: "sends the welcome before the registry write is confirmed, and writes the record 2 s later (a write-behind)",
    file: "upgrade-handler.ts",
    actsIn: "UpgradeHandler, a new connection: the record is written in the background after a delay, the welcome goes at once",
    mustFail: "protocol-conformance (welcome-after-write)",
    caughtBy: ["lookup"],
  },
  {
    name: "no-tenant-check-ws-id",
    behaviour: "a WebSocket route to a `websocket_id` reads the data's own tenant instead of the sender's (every other form is checked)",
    file: "router.ts",
    actsIn: "Router.route, `{websocket_id}` target with a WebSocket sender: local match and registry read ignore the sender's tenant",
    mustFail: "protocol-conformance (tenant-isolation), tenant-isolation",
    caughtBy: ["tenants"],
  },
  {
    name: "no-tenant-check-http-lookup",
    behaviour: "the HTTP lookups (by `websocket_id` and by session) read the data's own tenant instead of the caller's (routes, state, connect are checked)",
    file: "router.ts",
    actsIn: "Router.findConnection and Router.lookupSessionConnections (the HTTP API's lookups only)",
    mustFail: "protocol-conformance (tenant-isolation), tenant-isolation",
    caughtBy: ["tenants"],
  },
  {
    name: "no-drain-notice",
    behaviour: "a drain closes its sockets with 1012 without sending the reconnect notice first",
    file: "drain.ts",
    actsIn: "announceDrain: no `reconnect` frame is sent; the wait and the 1012 close go on",
    mustFail: "protocol-conformance (drain-notice)",
    caughtBy: ["deploy"],
  },
  {
    name: "resume-new-id-after-expiry",
    behaviour: "a resume whose old record has expired or was removed (reaped, closed) gets a new `websocket_id` instead of keeping its own",
    file: "upgrade-handler.ts",
    actsIn: "UpgradeHandler, a resume: when the old record is missing the connection is registered as new",
    mustFail: "protocol-conformance (resume-keeps-id)",
    caughtBy: ["lookup", "ttl"],
  },
  {
    name: "pinned-primary",
    behaviour: "ignores `REDIS_SENTINELS` and stays on the node of `REDIS_URL` (the first primary), so it never follows a failover",
    file: "backend.ts",
    actsIn: "createGatewayBackend: the Redis clients are built without the sentinels",
    mustFail: "convergence (scenario sentinel)",
    caughtBy: ["sentinel"],
  },
  {
    name: "wall-clock-expiry",
    behaviour: "judges expiry by the instance's own wall clock (record `expires_at`, index scores, liveness deadlines) instead of Redis's",
    file: "backend.ts",
    actsIn: "createGatewayBackend: the registry and the bus get `Date.now` as their clock instead of the Redis-anchored RedisTimeClock",
    mustFail: "clock-skew",
    caughtBy: ["clock-skew"],
  },
  {
    name: "refuse-future-iat",
    behaviour: "refuses tokens whose `iat` lies after its own wall clock, with no leeway, at the upgrade and on the HTTP API: an instance whose clock runs behind refuses every fresh token",
    file: "gateway-server.ts",
    actsIn: "GatewayServer: the upgrade handler and the HTTP API are told to refuse a future `iat` in verifyJwt",
    mustFail: "step: probe clock skew (a probe connection to the skewed instance refused)",
    caughtBy: ["clock-skew"],
  },
  {
    name: "accept-expired",
    behaviour: "accepts tokens whose `exp` has passed, at the upgrade and on the HTTP API",
    file: "gateway-server.ts",
    actsIn: "GatewayServer: the upgrade handler and the HTTP API are told to skip the `exp` check of verifyJwt",
    mustFail: "protocol-conformance (bad-tokens-refused)",
    caughtBy: ["tenants"],
  },
  {
    name: "accept-alg-none",
    behaviour: "accepts unsecured tokens (`alg: none`, no signature) as if signed, at the upgrade and on the HTTP API: anyone can forge any tenant's token",
    file: "gateway-server.ts",
    actsIn: "GatewayServer: the upgrade handler and the HTTP API are told to let verifyJwt trust an `alg: none` header",
    mustFail: "protocol-conformance (bad-tokens-refused)",
    caughtBy: ["tenants"],
  },
  {
    name: "no-session-pin",
    behaviour: "lets a token pinned to one session (`session_id` claim) connect to any session",
    file: "upgrade-handler.ts",
    actsIn: "UpgradeHandler, after the token check: the claim's session is not compared with the requested one",
    mustFail: "protocol-conformance (bad-tokens-refused)",
    caughtBy: ["tenants"],
  },
  {
    name: "close-on-bad-frame",
    behaviour: "closes a socket (1007) that sends a malformed frame (not JSON, binary, an unknown `type`) instead of answering `INVALID_MESSAGE` and keeping it open",
    file: "frame-handler.ts",
    actsIn: "FrameHandler.handle: a frame that fails to parse closes the socket instead of getting its error frame",
    mustFail: "protocol-conformance (bad-frames-answered)",
    caughtBy: ["tenants"],
  },
  {
    name: "silent-rate-limit",
    behaviour: "drops frames over a socket's rate limit without answering them, instead of answering each `RATE_LIMITED`",
    file: "frame-handler.ts",
    actsIn: "FrameHandler.handle: a frame without a token is dropped before its error frame",
    mustFail: "protocol-conformance (bad-frames-answered)",
    caughtBy: ["tenants"],
  },
  {
    name: "no-half-open-detect",
    behaviour: "never terminates a socket that missed its pong (pings and TTL refreshes go on)",
    file: "record-refresher.ts",
    actsIn: "RecordRefresher.tick: a socket that did not answer the last ping is pinged again instead of terminated",
    mustFail: "half-open-cleanup",
    caughtBy: ["client-path"],
  },
  {
    name: "unbounded-send-buffer",
    behaviour: "never sheds a slow consumer: frames for a socket that stopped reading are buffered without bound",
    file: "gateway-server.ts",
    actsIn: "GatewayServer: the connection table's send limits are built with `unbounded: true`, so sendFrame never sheds",
    mustFail: "slow-consumer",
    caughtBy: ["slow-consumers"],
  },
  {
    name: "no-unregister-on-terminate",
    behaviour: "keeps the record of a socket that closed without a close frame (client `terminate()`, process killed) until its TTL",
    file: "upgrade-handler.ts",
    actsIn: "UpgradeHandler's close listener: a close with code 1006 (no close frame) skips the unregister",
    mustFail: "prompt-cleanup, state-audit",
    caughtBy: ["cleanup"],
  },
  {
    name: "keys-no-ttl",
    behaviour: "writes the reverse index (`P:websocket:W:session`) without TTL",
    file: "backend.ts",
    actsIn: "createGatewayBackend: RedisConnectionRegistry gets negativeControls.reverseWithoutTtl (PERSIST after each write and refresh)",
    mustFail: "key-ttl",
    caughtBy: ["cleanup"],
  },
  {
    name: "stale-index",
    behaviour: "unregister removes the record but leaves the agent type index member",
    file: "backend.ts",
    actsIn: "createGatewayBackend: RedisConnectionRegistry gets negativeControls.keepAgentTypeMember (the unregister script skips that ZREM)",
    mustFail: "prompt-cleanup, state-audit",
    caughtBy: ["cleanup"],
  },
  {
    name: "no-rewake-reregister",
    behaviour: "after a stall longer than the connection TTL (a freeze, a long GC pause) keeps serving the sockets it held across it but never writes their expired or reaped records again",
    file: "record-refresher.ts",
    actsIn: "RecordRefresher.tick marks the connections held across the stall; the re-registration of missing records skips them",
    mustFail: "pause-recovery",
    caughtBy: ["pause"],
  },
  {
    name: "short-pong-deadline",
    behaviour: "terminates a socket whose pong is not back 100 ms after its ping (below TCP's 200 ms minimum retransmission timeout) instead of at the next heartbeat",
    file: "record-refresher.ts",
    actsIn: "RecordRefresher.tick: each ping arms a 100 ms timer that terminates the socket unless its pong came back",
    mustFail: "packet-faults",
    caughtBy: ["packet-loss"],
  },
  {
    name: "drop-sockets-on-redis-down",
    behaviour: "terminates every socket it holds when it loses Redis, instead of keeping them open in degraded mode",
    file: "gateway-server.ts",
    actsIn: "GatewayServer.start: the bus's onDown terminates every local connection",
    mustFail: "degraded-mode",
    caughtBy: ["partition"],
  },
  {
    name: "no-link-watchdog",
    behaviour: "keeps a Redis connection that has gone silent without a reset, instead of dropping it and connecting again: it stays unavailable until TCP gives up (minutes)",
    file: "backend.ts",
    actsIn: "createGatewayBackend: no RedisLinkWatchdog (no ClusterLinkWatchdog on Redis Cluster) is started on its connections",
    mustFail: "cross-instance-lookup (scenario packet-loss, its stale phase)",
    caughtBy: ["packet-loss"],
  },
  {
    name: "gauge-counts-opens",
    behaviour: "`traffic_cop_connections` counts every socket it ever welcomed, not the open ones: a close never lowers it",
    file: "gateway-server.ts",
    actsIn: "GatewayServer: its ConnectionTable counts the sockets added (countAdded), which countByTenant then reports instead of those held",
    mustFail: "metrics-agree",
    caughtBy: ["cleanup"],
  },
  {
    name: "uncounted-remote-routes",
    behaviour: "`traffic_cop_routes_total` counts only local deliveries: a route delivered through another instance is acknowledged but not counted",
    file: "router.ts",
    actsIn: "Router.#deliverRemote: the remote path's count is left out of the routes counter (the ack still says it)",
    mustFail: "metrics-agree",
    caughtBy: ["lookup"],
  },
  {
    name: "registrations-count-refusals",
    behaviour: "`traffic_cop_registrations_total{kind=\"new\"}` also counts every refused upgrade, as if counted when the upgrade arrived rather than once its record was written",
    file: "upgrade-handler.ts",
    actsIn: "UpgradeHandler.#refuse: a refusal adds one new registration to the counter as well",
    mustFail: "metrics-agree",
    caughtBy: ["lookup"],
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
