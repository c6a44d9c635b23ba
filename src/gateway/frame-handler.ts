import type { RawData } from "ws";
import type { ConnectionRegistry } from "../registry/connection-registry.js";
import { sendFrame, type LocalConnection } from "./connection-table.js";
import { NO_FAILPOINTS, type Failpoints } from "./failpoints.js";
import type { GatewayMetrics } from "./metrics.js";
import {
  CLOSE_CODES,
  ProtocolError,
  ackFrame,
  errorFrame,
  parseClientFrame,
  pongFrame,
  sessionStateFrame,
  toProtocolError,
  type ClientFrame,
  type FrameId,
} from "./protocol.js";
import type { Router } from "./router.js";

/** What a {@link FrameHandler} needs. */
export interface FrameHandlerOptions {
  /** Largest accepted frame, in bytes (`MAX_MESSAGE_BYTES`). */
  maxMessageBytes: number;
  /** Sustained frames per second per socket. */
  rateLimitPerSec: number;
  /** Frames per socket in a burst above the sustained rate. */
  rateLimitBurst: number;
  registry: ConnectionRegistry;
  router: Pick<Router, "route">;
  metrics: GatewayMetrics;
  /** The negative-control policy (failpoints `close-on-bad-frame` and `silent-rate-limit` act here). @default every failpoint off */
  failpoints?: Failpoints;
}

/**
 * The client frames of an open socket (docs/protocol.md): size limit, token-bucket rate limit, parsing, then
 * `ping`, `route` and `session_state`. Every failure is answered with an error frame; none closes the socket except
 * an oversized frame (1009).
 */
export class FrameHandler {
  readonly #options: FrameHandlerOptions;
  readonly #failpoints: Failpoints;

  constructor(options: FrameHandlerOptions) {
    this.#options = options;
    this.#failpoints = options.failpoints ?? NO_FAILPOINTS;
  }

  /** Handles one frame received on `connection`. */
  handle(connection: LocalConnection, data: RawData, isBinary: boolean): void {
    const { maxMessageBytes, rateLimitBurst, rateLimitPerSec } = this.#options;
    connection.active = true;
    const size = Array.isArray(data) ? data.reduce((sum, part) => sum + part.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
    if (size > maxMessageBytes) {
      this.#sendError(connection, new ProtocolError("PAYLOAD_TOO_LARGE", `frame of ${size} bytes exceeds MAX_MESSAGE_BYTES (${maxMessageBytes})`));
      connection.ws.close(CLOSE_CODES.TOO_BIG, "PAYLOAD_TOO_LARGE");
      return;
    }
    const now = Date.now();
    connection.tokens = Math.min(rateLimitBurst, connection.tokens + ((now - connection.refilledAt) / 1000) * rateLimitPerSec);
    connection.refilledAt = now;
    const text = isBinary ? undefined : Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data as Buffer).toString("utf8");
    let frame: ClientFrame;
    try {
      if (connection.tokens < 1) {
        // Failpoint `silent-rate-limit`: a frame over the limit is dropped without its answer.
        if (this.#failpoints.enabled("silent-rate-limit")) return;
        let id: FrameId | undefined;
        try {
          const parsed = text === undefined ? undefined : (JSON.parse(text) as { id?: unknown });
          if (typeof parsed?.id === "string" || typeof parsed?.id === "number") id = parsed.id;
        } catch {
          // The id is only a courtesy here.
        }
        throw new ProtocolError("RATE_LIMITED", `more than ${rateLimitPerSec} frames/s (burst ${rateLimitBurst}); slow down`, id);
      }
      connection.tokens -= 1;
      if (text === undefined) throw new ProtocolError("INVALID_MESSAGE", "binary frames are not part of the protocol: send JSON text");
      frame = parseClientFrame(text);
    } catch (error) {
      const protocolError = toProtocolError(error);
      // Failpoint `close-on-bad-frame`: a malformed frame closes the socket (1007) instead of being answered.
      if (protocolError.code === "INVALID_MESSAGE" && this.#failpoints.enabled("close-on-bad-frame")) {
        connection.ws.close(1007, "invalid frame");
        return;
      }
      this.#sendError(connection, protocolError);
      return;
    }
    switch (frame.type) {
      case "ping":
        sendFrame(connection, pongFrame(frame.id));
        return;
      case "route": {
        const routeFrame = frame;
        this.#options.metrics.routeRequests.inc({ origin: "ws" });
        void this.#options.router
          .route(connection.record.tenant_id, routeFrame.session_id, routeFrame.to, routeFrame.payload, routeFrame.id, connection.record.websocket_id)
          .then(
            (result) => sendFrame(connection, ackFrame(routeFrame.id, result.delivered, result.partial)),
            (error: unknown) => this.#sendError(connection, toProtocolError(error, routeFrame.id)),
          );
        return;
      }
      case "session_state": {
        const stateFrame = frame;
        const { registry } = this.#options;
        const { tenant_id: tenantId, session_id: sessionId } = connection.record;
        void (async () => {
          if (stateFrame.set) await registry.updateSessionState(tenantId, sessionId, stateFrame.set);
          return registry.getSessionState(tenantId, sessionId);
        })().then(
          (state) => sendFrame(connection, sessionStateFrame(stateFrame.id, sessionId, state)),
          (error: unknown) => this.#sendError(connection, toProtocolError(error, stateFrame.id)),
        );
        return;
      }
    }
  }

  #sendError(connection: LocalConnection, error: ProtocolError): void {
    this.#options.metrics.errors.inc({ code: error.code });
    sendFrame(connection, errorFrame(error.code, error.message, error.id));
  }
}
