/** Stable codes of the harness's errors. Tests and reports branch on these, never on message text. */
export type HarnessErrorCode =
  | "HARNESS_ERR_REDIS_SERVER_MISSING"
  | "HARNESS_ERR_REDIS_START_TIMEOUT"
  | "HARNESS_ERR_REDIS_CLUSTER_CREATE"
  /** A Redis Sentinel group did not form, or did not promote its replica in time. */
  | "HARNESS_ERR_REDIS_SENTINEL"
  | "HARNESS_ERR_PROCESS_EXITED"
  | "HARNESS_ERR_INVALID_STATE"
  /** A gateway instance did not answer its readiness probe before the deadline. */
  | "HARNESS_ERR_INSTANCE_START_TIMEOUT"
  /** A gateway instance did not exit as asked (e.g. a SIGTERM drain ended with a non-zero code). */
  | "HARNESS_ERR_INSTANCE_STOP_FAILED"
  /** An instance id that the topology does not have. */
  | "HARNESS_ERR_UNKNOWN_INSTANCE"
  /** The Toxiproxy API refused or failed a request (normalised from toxiproxy-node-client). */
  | "HARNESS_ERR_TOXIPROXY"
  /** A system-under-test definition (e.g. `--sut file.json`) is malformed. */
  | "HARNESS_ERR_INVALID_SUT"
  /** A scenario definition breaks a rule of defineScenario(). */
  | "HARNESS_ERR_INVALID_SCENARIO"
  /** Bad command-line flags or an unknown scenario name. */
  | "HARNESS_ERR_USAGE"
  /** The requested feature is not available (yet) in this runtime or topology. */
  | "HARNESS_ERR_UNSUPPORTED"
  /** Teardown did not finish before its watchdog fired. */
  | "HARNESS_ERR_TEARDOWN_TIMEOUT"
  /** The run was aborted (Ctrl-C, SIGTERM). */
  | "HARNESS_ERR_ABORTED"
  /** The Toxiproxy-compatible server could not bind its API address (port in use, bad host). */
  | "HARNESS_ERR_TOXIPROXY_LISTEN"
  /** Options of a harness part (fleet, load driver) break a rule; nothing was started. */
  | "HARNESS_ERR_INVALID_OPTIONS"
  /** The client fleet did not reach the wanted state (e.g. connected count) before the deadline. */
  | "HARNESS_ERR_FLEET_TIMEOUT"
  /** A fleet worker process failed to start or exited during the run. */
  | "HARNESS_ERR_FLEET_WORKER_FAILED"
  /** No Docker engine answers (`--runtime containers`); the message says how to install and start one. */
  | "HARNESS_ERR_DOCKER_UNAVAILABLE"
  /** A Docker operation (build, create, start, network) failed. */
  | "HARNESS_ERR_DOCKER"
  /** A probe of the harness could not do its work (its own thread or socket failed). */
  | "HARNESS_ERR_PROBE_FAILED"
  /**
   * A live instance of the system under test refused a probe's connection made with a valid token (an HTTP status,
   * a close or an error frame instead of the welcome): a failure of the system under test (exit 1), not of the harness.
   */
  | "HARNESS_ERR_PROBE_REFUSED"
  /** Network namespaces cannot be made here (not root, `ip`/`nft`/`tc` missing); the message says what is needed. */
  | "HARNESS_ERR_NETNS_UNAVAILABLE"
  /** An `ip`, `nft` or `tc` command of a run's network namespaces failed. */
  | "HARNESS_ERR_NETNS";

/** Base class of every error the harness throws. `code` is stable; `message` says what happened and how to fix it. */
export class HarnessError extends Error {
  override readonly name: string = "HarnessError";
  readonly code: HarnessErrorCode;

  constructor(code: HarnessErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Bad options to a harness part: a TypeError that carries a stable code (`HARNESS_ERR_INVALID_OPTIONS`). */
export class HarnessOptionsError extends TypeError {
  override readonly name: string = "HarnessOptionsError";
  readonly code = "HARNESS_ERR_INVALID_OPTIONS" as const;
}
