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
  | "no-rewake-reregister";

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
    actsIn: "Router.lookupTenant, Router.findConnection and the local target match of Router.route",
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
    name: "no-rewake-reregister",
    behaviour: "after a stall longer than the connection TTL (a freeze, a long GC pause) keeps serving the sockets it held across it but never writes their expired or reaped records again",
    file: "record-refresher.ts",
    actsIn: "RecordRefresher.tick marks the connections held across the stall; the re-registration of missing records skips them",
    mustFail: "pause-recovery",
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
