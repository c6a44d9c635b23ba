/**
 * Types shared by the gateway's units and the modules around them (backend factory, HTTP API), kept apart from
 * {@link GatewayServer} so that none of them has to import the server.
 */
import type { ConnectionRegistry } from "../registry/connection-registry.js";
import type { ClusterBus } from "./cluster-bus.js";

/** Lifecycle states of a `GatewayServer`, as `/readyz` reports them in `state`. */
export type GatewayState = "idle" | "starting" | "accepting" | "draining" | "stopped";

/** A registry and a cluster bus: what a gateway needs besides its options. */
export interface GatewayBackend {
  registry: ConnectionRegistry;
  bus: ClusterBus;
  /** Aligns the backend's clock with the shared one (Redis `TIME`) before the first write; rejects when Redis does not answer. */
  sync?: () => Promise<void>;
  /** Releases what the backend holds besides the registry and bus (its clock's timer). */
  release?: () => void;
}

/** Result of routing one message. */
export interface RouteResult {
  /** Sockets confirmed to have been handed the message. */
  delivered: number;
  /**
   * `true` when `delivered` is only a lower bound: Redis was unavailable and only this instance's sockets were
   * reached, or a holding instance got the request but its count did not come back in time.
   */
  partial?: boolean;
}

/** The gateway's JSON log lines on stdout (`{"event":..., "time":..., ...fields}`). */
export type GatewayLog = (event: string, fields?: Record<string, unknown>) => void;

/** Writes one JSON event line on stdout. */
export const logEvent: GatewayLog = (event, fields = {}) => {
  process.stdout.write(`${JSON.stringify({ event, time: Date.now(), ...fields })}\n`);
};
