/**
 * Reference gateways for tests: real processes of `src/gateway/main.ts`, run by the harness's own
 * {@link GatewayProcess} (state machine, SIGTERM then SIGKILL, process-group cleanup, run tags for the sweep).
 */
import { onTestFinished } from "vitest";
import { findFreePort } from "../../harness/common/free-port.js";
import { GatewayProcess, type ProcessExit } from "../../harness/runtime/gateway-process.js";
import { REFERENCE_SUT, resolveSutDefinition } from "../../harness/runtime/sut.js";
import { signJwt } from "../../src/gateway/jwt.js";

const START_TIMEOUT_MS = 15_000;
/** How long a SIGTERMed gateway may drain before it is SIGKILLed, ms (longer than any drain a test configures). */
const SIGTERM_GRACE_MS = 33_000;
/** Output lines kept per gateway. */
const MAX_LINES = 5_000;
/** Starts on a port picked by the kernel that another process took before the gateway bound it are retried. */
const PORT_RETRIES = 3;

/** The shared secret of test gateways. */
export const TEST_AUTH_SECRET = "test-secret-do-not-use";

/** Signs a client token for the test gateways (`exp` one hour ahead unless given). */
export function token(tenantId: string, extra: Record<string, unknown> = {}, secret = TEST_AUTH_SECRET): string {
  return signJwt({ tenant_id: tenantId, exp: Math.floor(Date.now() / 1000) + 3_600, ...extra }, secret);
}

/** Options of {@link startGateway}: the gateway's environment variables, by name. */
export interface TestGatewayOptions {
  redisUrl: string;
  instanceId: string;
  /** @default a free port */
  port?: number;
  env?: Record<string, string>;
}

/** How a gateway process ended. */
export interface GatewayExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

function toGatewayExit(exit: ProcessExit): GatewayExit {
  return { code: exit.code, signal: exit.signal };
}

/** A gateway process started by a test. `stop()` is idempotent: SIGTERM, then SIGKILL after a grace. */
export class TestGateway implements AsyncDisposable {
  readonly exited: Promise<GatewayExit>;

  constructor(
    readonly process: GatewayProcess,
    /** Every line the process printed (the first {@link MAX_LINES}). */
    readonly lines: string[],
  ) {
    this.exited = process.exited.then(toGatewayExit);
  }

  get instanceId(): string {
    return this.process.instanceId;
  }

  get port(): number {
    return this.process.port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  get hasExited(): boolean {
    return this.process.exitInfo !== undefined;
  }

  /** Log lines parsed as JSON events. */
  events(): Array<Record<string, unknown>> {
    return this.lines.flatMap((line) => {
      try {
        const value = JSON.parse(line) as unknown;
        return typeof value === "object" && value !== null ? [value as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
  }

  /** Sends SIGTERM (a drain) and resolves with the exit (SIGKILL if it has not exited after a long grace). */
  sigterm(): Promise<GatewayExit> {
    return this.process.stop({ timeoutMs: SIGTERM_GRACE_MS }).then(toGatewayExit);
  }

  /** Kills with SIGKILL (a crash) and resolves with the exit. */
  kill9(): Promise<GatewayExit> {
    return this.process.kill().then(toGatewayExit);
  }

  /** Stops (SIGTERM, SIGKILL after a grace). Idempotent. */
  stop(): Promise<GatewayExit> {
    return this.sigterm();
  }

  /** Fetches a path of the gateway's HTTP API. */
  fetch(path: string, init?: RequestInit): Promise<Response> {
    return fetch(`${this.url}${path}`, init);
  }

  /** Reads one metric value from /metrics (sum over label sets matching `labels`). */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await this.fetch("/metrics")).text();
    let sum = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith(name)) continue;
      const match = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
      if (!match || match[1] !== name) continue;
      const set = match[2] ?? "";
      if (Object.entries(labels).every(([key, value]) => set.includes(`${key}="${value}"`))) sum += Number(match[3]);
    }
    return sum;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/**
 * Starts the reference gateway with the given environment and waits for /readyz 200. Without `manual`, the process
 * is killed when the test finishes, pass or fail.
 */
export async function startGateway(options: TestGatewayOptions, manual = false): Promise<TestGateway> {
  const sut = resolveSutDefinition({ ...REFERENCE_SUT, startupTimeoutMs: START_TIMEOUT_MS });
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort());
    const lines: string[] = [];
    const process = new GatewayProcess({
      instanceId: options.instanceId,
      sut,
      vars: {
        PORT: String(port),
        HOST: "127.0.0.1",
        REDIS_URL: options.redisUrl,
        INSTANCE_ID: options.instanceId,
        AUTH_SECRET: TEST_AUTH_SECRET,
        ...options.env,
      },
      runId: "test",
      host: "127.0.0.1",
      port,
      onOutput: (line) => {
        if (lines.length < MAX_LINES) lines.push(line);
      },
    });
    const gateway = new TestGateway(process, lines);
    if (!manual) onTestFinished(() => gateway.kill9().then(() => undefined));
    try {
      await process.start();
      return gateway;
    } catch (error) {
      await gateway.kill9();
      // Another process took the free port before the gateway bound it: pick another.
      if (options.port === undefined && attempt < PORT_RETRIES && /EADDRINUSE/.test(process.outputTail)) continue;
      throw error;
    }
  }
}

/** Starts `n` gateways (`gw-1` ... `gw-n`) on one Redis, in parallel; each is stopped when the test finishes. */
export function startGateways(n: number, redisUrl: string, env: Record<string, string> = {}): Promise<TestGateway[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => startGateway({ redisUrl, instanceId: `gw-${i + 1}`, env })));
}
