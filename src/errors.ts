/**
 * Stable codes of the reference system's errors. Tests, the gateway's protocol mapping and reports branch on
 * `code`, never on message text.
 */
export type TrafficCopErrorCode =
  /** An id, filter, TTL or record field is malformed (empty, too long, contains `:` or braces, non-positive TTL). */
  | "REGISTRY_ERR_INVALID_ARGUMENT"
  /** The session belongs to another tenant. */
  | "REGISTRY_ERR_FORBIDDEN"
  /** Redis could not be reached or did not answer within the command timeout. */
  | "REGISTRY_ERR_UNAVAILABLE"
  /** The registry was closed. */
  | "REGISTRY_ERR_CLOSED"
  /** Gateway configuration (environment) is invalid. */
  | "GATEWAY_ERR_INVALID_CONFIG"
  /** A gateway lifecycle call in the wrong state (e.g. `start()` twice). */
  | "GATEWAY_ERR_INVALID_STATE";

/** Base class of every error of the reference registry and gateway. */
export class TrafficCopError extends Error {
  override readonly name: string = "TrafficCopError";
  readonly code: TrafficCopErrorCode;

  constructor(code: TrafficCopErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Bad input to the registry: nothing was written. */
export class RegistryArgumentError extends TrafficCopError {
  override readonly name = "RegistryArgumentError";

  constructor(message: string, options?: ErrorOptions) {
    super("REGISTRY_ERR_INVALID_ARGUMENT", message, options);
  }
}

/** A session or connection of another tenant was addressed. */
export class RegistryForbiddenError extends TrafficCopError {
  override readonly name = "RegistryForbiddenError";
  /** What was refused: another tenant's session, or a websocket id live in another session. */
  readonly reason: "tenant" | "websocket_id";

  constructor(message: string, options?: ErrorOptions & { reason?: "tenant" | "websocket_id" }) {
    super("REGISTRY_ERR_FORBIDDEN", message, options);
    this.reason = options?.reason ?? "tenant";
  }
}

/** Redis is unreachable or too slow; the operation may or may not have been applied. */
export class RegistryUnavailableError extends TrafficCopError {
  override readonly name = "RegistryUnavailableError";

  constructor(message: string, options?: ErrorOptions) {
    super("REGISTRY_ERR_UNAVAILABLE", message, options);
  }
}

/** The registry was closed; create a new one to continue. */
export class RegistryClosedError extends TrafficCopError {
  override readonly name = "RegistryClosedError";

  constructor(message: string, options?: ErrorOptions) {
    super("REGISTRY_ERR_CLOSED", message, options);
  }
}
